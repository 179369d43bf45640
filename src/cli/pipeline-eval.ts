/**
 * Evaluation and report steps: score teacher and student folders on the dev split, time them, write
 * eval.json, then the HTML report from the training log, eval.json and the resolved config.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Encoded, Example, TaskSpec } from '../data/types.ts';
import { QUANTIZED_FILE, type Classifier, type ClassifierOptions } from '../eval/classifier.ts';
import type { ModelRow } from '../report/html.ts';
import { writeJsonAtomic } from '../util/atomic.ts';
import { UserError } from '../util/errors.ts';
import type { Config } from './config-schema.ts';
import type { RunEnv, TrainSummary } from './pipeline.ts';
import { runPaths } from './stage-options.ts';

export { folderKind, type FolderKind } from '../eval/classifier.ts';

export interface EvaluateFolderOptions {
  task: TaskSpec;
  examples: Example[];
  /** Tokens per example; default (and maximum) the model's max_position_embeddings. */
  maxLength?: number;
  batchSize: number;
  /** Batch sizes to time (ONNX folders only); empty: no timing. */
  latencyBatchSizes: readonly number[];
  latencyRuns: number;
  provider?: 'auto' | 'cpu' | 'cuda';
  threads?: number;
  /** Score onnx/model_quantized.onnx instead of onnx/model.onnx. */
  quantized?: boolean;
  /** tfjs backend for a saved student folder (default auto). */
  backend?: ClassifierOptions['backend'];
  /** Model label → task label, when the model's id2label names differ from the task's (--label-map). */
  labelMap?: string | Record<string, string>;
  /** One line when the model's classes are put in the task's order. */
  notice?: (message: string) => void;
}

/** A scored folder: the table row and the per-example predictions (for agreement, not written to eval.json). */
export interface ScoredFolder {
  row: ModelRow;
  predictions: number[];
}

/** Scores one folder (ONNX fp32/int8 or saved student) on the examples; ONNX folders also get size, parameters and latency. */
export async function scoreFolder(name: string, dir: string, o: EvaluateFolderOptions): Promise<ScoredFolder> {
  const { openClassifier, resolveMaxLength, argmax, taskLabelOrder } = await import('../eval/classifier.ts');
  const { reorderLogits } = await import('../teacher/labels.ts');
  const { confusionMatrix, regressionSample } = await import('../eval/analysis.ts');
  const started = performance.now();
  const model = await openClassifier(dir, { quantized: o.quantized, provider: o.provider, threads: o.threads, backend: o.backend });
  try {
    const maxLength = resolveMaxLength(model, o.maxLength);
    if (!o.task.labels !== model.regression || (o.task.labels && o.task.labels.length !== model.numOutputs)) {
      throw new UserError(
        `${dir}: the model has ${model.regression ? 'a regression head' : `${model.numOutputs} classes`} but task ${o.task.name} ` +
          (o.task.labels ? `has ${o.task.labels.length} labels` : 'is a regression task'),
      );
    }
    // The model's class i is not assumed to be the task's label i: its id2label is matched by name.
    const labelOrder = taskLabelOrder(model, o.task, o.labelMap);
    if (!labelOrder.identity) o.notice?.(`${name}: labels matched ${labelOrder.how}`);
    const encoded = o.examples.map((e) => model.tokenizer.encode(e.textA, e.textB, maxLength));
    const raw = await model.logits(encoded, o.batchSize);
    const logits = labelOrder.identity ? raw : reorderLogits(raw, labelOrder.order);
    const n = model.numOutputs;
    const predictions = o.examples.map((_, i) => (model.regression ? logits[i] : argmax(logits.subarray(i * n, (i + 1) * n))));
    const labels = o.examples.map((e) => e.label);
    const labeled = labels.length > 0 && labels.every((l) => l !== undefined);
    const { computeTaskMetrics } = await import('../metrics/metrics.ts');
    const row: ModelRow = { name, runtime: model.runtime, maxLength, precision: o.quantized ? 'int8' : 'fp32' };
    if (labeled) {
      row.metrics = computeTaskMetrics(o.task, predictions, labels as number[]);
      if (o.task.labels) row.confusion = confusionMatrix(predictions, labels as number[], o.task.labels.length);
      else row.scatter = regressionSample(predictions, labels as number[], 2000);
    }
    if (model.kind === 'onnx') {
      const { onnxModelStats } = await import('../report/measure.ts');
      const { params, sizeBytes } = onnxModelStats(dir, model.file);
      Object.assign(row, { params, sizeBytes });
      if (o.latencyBatchSizes.length) row.latencyMs = await latencyMs(model, encoded, o.latencyBatchSizes, o.latencyRuns);
    } else {
      row.sizeBytes = fs.statSync(model.file).size;
      const { readSafetensors } = await import('../io/safetensors.ts');
      let params = 0;
      for (const t of readSafetensors(model.file).tensors.values()) params += t.shape.reduce((a, b) => a * b, 1);
      row.params = params;
    }
    row.wallSeconds = (performance.now() - started) / 1000;
    return { row, predictions };
  } finally {
    await model.dispose();
  }
}

/** Scores one folder; see scoreFolder. */
export async function evaluateFolder(name: string, dir: string, o: EvaluateFolderOptions): Promise<ModelRow> {
  return (await scoreFolder(name, dir, o)).row;
}

/** Median wall time (ms) of one forward pass at each batch size, over the first examples (cycled), after two warm-up runs. */
async function latencyMs(model: Classifier, encoded: Encoded[], batchSizes: readonly number[], runs: number): Promise<Record<number, number>> {
  const { median } = await import('../report/measure.ts');
  const out: Record<number, number> = {};
  for (const b of batchSizes) out[b] = median(await latencySamples(model, encoded, b, runs));
  return out;
}

/** Wall times (ms) of `runs` forward passes of a batch of `batchSize` rows (the examples cycled), after two warm-up passes. */
export async function latencySamples(model: Pick<Classifier, 'logits'>, encoded: Encoded[], batchSize: number, runs: number): Promise<number[]> {
  if (encoded.length === 0) throw new UserError('latency: no examples to time');
  const rows = Array.from({ length: batchSize }, (_, i) => encoded[i % encoded.length]);
  const times: number[] = [];
  for (let r = 0; r < runs + 2; r++) {
    const t0 = performance.now();
    await model.logits(rows, batchSize);
    if (r >= 2) times.push(performance.now() - t0);
  }
  return times;
}

/** Share of examples on which two prediction lists agree (regression: within 1% of the gold range, here |Δ| < 0.05). */
export function agreement(a: readonly number[], b: readonly number[], regression: boolean): number {
  if (a.length !== b.length || a.length === 0) return Number.NaN;
  let same = 0;
  for (let i = 0; i < a.length; i++) if (regression ? Math.abs(a[i] - b[i]) < 0.05 : a[i] === b[i]) same++;
  return same / a.length;
}

export interface EvalFile {
  task: string;
  split: string;
  primaryMetric: string;
  latencyBatchSizes: number[];
  models: ModelRow[];
  /** Warnings worth showing in the report (e.g. a teacher no better than the majority class). */
  notes?: string[];
}

/**
 * The primary metric of always predicting the most frequent dev label (classification only): a
 * teacher near it was probably not fine-tuned on the task, and its students will be poor too.
 */
export async function majorityBaseline(task: TaskSpec, examples: Example[]): Promise<number | undefined> {
  if (!task.labels) return undefined;
  const labels = examples.map((e) => e.label).filter((l): l is number => l !== undefined);
  if (labels.length === 0) return undefined;
  const counts = new Map<number, number>();
  for (const l of labels) counts.set(l, (counts.get(l) ?? 0) + 1);
  const majority = [...counts].sort((a, b) => b[1] - a[1])[0][0];
  const { computeTaskMetrics } = await import('../metrics/metrics.ts');
  return computeTaskMetrics(task, labels.map(() => majority), labels)[task.metrics[0]];
}

/** Teacher and (exported, else saved) student on the dev split → eval.json; returns its content. */
export async function evalStep(c: Config, env: RunEnv): Promise<EvalFile> {
  const { loadTask } = await import('../data/tasks.ts');
  const { readSplit } = await import('../data/reader.ts');
  const task = loadTask(c.task);
  const split = c.eval.split ?? c.data.devSplit ?? task.devSplit;
  const examples = readSplit(task, c.data.dir, split);
  const paths = runPaths(c);
  const common: EvaluateFolderOptions = {
    task,
    examples,
    maxLength: c.data.maxLength,
    batchSize: c.eval.batchSize,
    latencyBatchSizes: c.eval.latencyBatchSizes,
    latencyRuns: c.eval.latencyRuns,
    provider: c.teacher.provider,
    threads: c.teacher.threads || undefined,
    backend: c.backend,
  };
  const evalStarted = Date.now();
  const models: ModelRow[] = [await evaluateFolder('teacher', c.teacher.dir, { ...common, labelMap: c.teacher.labelMap, notice: (m) => env.io.err(m + '\n') })];
  // A chain's assistants between the two, each scored against the run's teacher like the student.
  const { assistantExportDir } = await import('./chain.ts');
  for (let i = 0; i < c.assistants.length; i++) {
    const dir = assistantExportDir(c, i);
    if (fs.existsSync(dir)) models.push(await evaluateFolder(`assistant ${i + 1}`, dir, common));
    else env.io.err(`no export of assistants[${i}] yet (${dir}): not evaluated\n`);
  }
  const studentDir = fs.existsSync(paths.exportDir) ? paths.exportDir : paths.studentDir;
  if (fs.existsSync(studentDir)) {
    const fp32 = await scoreFolder('student', studentDir, common);
    models.push(fp32.row);
    // The int8 file the export wrote beside the fp32 one: same table, plus how often it agrees with fp32.
    if (fs.existsSync(path.join(studentDir, QUANTIZED_FILE))) {
      const int8 = await scoreFolder('student int8', studentDir, { ...common, quantized: true });
      int8.row.params = fp32.row.params;
      int8.row.agreement = agreement(int8.predictions, fp32.predictions, task.labels === null);
      models.push(int8.row);
    }
  } else env.io.err(`no student yet (${paths.studentDir}): evaluating the teacher only\n`);
  const primaryMetric = task.metrics[0];
  const notes: string[] = [];
  const baseline = await majorityBaseline(task, examples);
  const teacherScore = models[0].metrics?.[primaryMetric];
  if (baseline !== undefined && teacherScore !== undefined && teacherScore <= baseline + 0.02) {
    notes.push(
      `The teacher's dev ${primaryMetric} (${teacherScore.toFixed(4)}) is no better than always predicting the most frequent label ` +
        `(${baseline.toFixed(4)}): is it fine-tuned on ${task.name}? A student cannot learn more than its teacher knows.`,
    );
  }
  for (const n of notes) env.io.err(`warning: ${n}\n`);
  const result: EvalFile = { task: task.name, split, primaryMetric, latencyBatchSizes: c.eval.latencyBatchSizes, models, notes };
  fs.mkdirSync(paths.out, { recursive: true });
  writeJsonAtomic(paths.evalFile, result);
  const { recordStage } = await import('../report/stages.ts');
  recordStage(path.join(paths.out, 'stages.json'), {
    stage: 'eval',
    runtime: [...new Set(models.map((m) => m.runtime).filter(Boolean))].join(', '),
    threads: c.teacher.threads || undefined,
    seconds: (Date.now() - evalStarted) / 1000,
  });
  if (studentDir === paths.exportDir) {
    // The export's model card gets the measured results now that they exist.
    const { writeModelCard } = await import('../export/model-card.ts');
    writeModelCard(paths.exportDir, paths.out);
  }
  env.io.out(formatEvalTable(result));
  return result;
}

/** Plain-text summary of eval results for the terminal. "% of teacher" only when a teacher was scored. */
export function formatEvalTable(r: EvalFile): string {
  const teacher = r.models.find((m) => m.name === 'teacher');
  const base = teacher?.metrics?.[r.primaryMetric];
  const lines = r.models.map((m) => {
    const v = m.metrics?.[r.primaryMetric];
    const parts: string[] = [];
    if (m !== teacher && v !== undefined && base) parts.push(`${((100 * v) / base).toFixed(1)}% of teacher`);
    if (m.agreement !== undefined) parts.push(`same prediction as fp32 on ${(100 * m.agreement).toFixed(1)}%`);
    const pct = parts.length ? ` (${parts.join('; ')})` : '';
    const lat = m.latencyMs ? ' latency ' + Object.entries(m.latencyMs).map(([b, ms]) => `b${b} ${ms.toFixed(2)} ms`).join(', ') : '';
    const metrics = Object.entries(m.metrics ?? {}).map(([k, x]) => `${k} ${x.toFixed(4)}`).join(', ');
    return `${m.name}: ${metrics}${pct}${lat}`;
  });
  return `${r.task} ${r.split}:\n  ${lines.join('\n  ')}\n`;
}

/** The HTML report from what the run left in its folder. */
export async function reportStep(c: Config, env: RunEnv): Promise<string> {
  const reportStarted = Date.now();
  const paths = runPaths(c);
  const { readLog } = await import('../train/log.ts');
  const { writeReport } = await import('../report/html.ts');
  const log = fs.existsSync(paths.logFile) ? readLog(paths.logFile) : [];
  const evalFile = fs.existsSync(paths.evalFile) ? (JSON.parse(fs.readFileSync(paths.evalFile, 'utf8')) as EvalFile) : undefined;
  const notes: string[] = [...(evalFile?.notes ?? [])];
  if (!evalFile) notes.push('No eval.json: run `distill eval` for the teacher-vs-student table.');
  const summaryFile = path.join(paths.out, 'train-summary.json');
  const kept = fs.existsSync(summaryFile) ? (JSON.parse(fs.readFileSync(summaryFile, 'utf8')) as TrainSummary).best : undefined;
  const { readStages, recordStage } = await import('../report/stages.ts');
  const { loadTask } = await import('../data/tasks.ts');
  const task = loadTask(c.task);
  const bytes = writeReport(paths.reportFile, {
    title: `distill-ts run: ${c.task} (${path.basename(paths.out)})`,
    createdAt: new Date().toISOString(),
    log,
    models: evalFile?.models ?? [],
    primaryMetric: evalFile?.primaryMetric,
    latencyBatchSizes: evalFile?.latencyBatchSizes ?? c.eval.latencyBatchSizes,
    config: c,
    notes,
    kept,
    stages: readStages(path.join(paths.out, 'stages.json')),
    labelNames: task.labelNames ?? task.labels ?? undefined,
  });
  recordStage(path.join(paths.out, 'stages.json'), { stage: 'report', seconds: (Date.now() - reportStarted) / 1000 });
  env.io.err(`report written to ${paths.reportFile} (${(bytes / 1024).toFixed(0)} KiB)\n`);
  return paths.reportFile;
}
