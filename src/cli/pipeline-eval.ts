/**
 * Evaluation and report steps: score teacher and student folders on the dev split, time them, write
 * eval.json, then the HTML report from the training log, eval.json and the resolved config.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Example, TaskSpec } from '../data/types.ts';
import type { ModelRow } from '../report/html.ts';
import { writeJsonAtomic } from '../util/atomic.ts';
import { UserError } from '../util/errors.ts';
import type { Config } from './config-schema.ts';
import type { RunEnv } from './pipeline.ts';
import { runPaths } from './stage-options.ts';

export type FolderKind = 'onnx' | 'student';

/** An ONNX model folder (teacher or exported student) or a saved tfjs student folder. */
export function folderKind(dir: string): FolderKind {
  if (!fs.existsSync(dir)) throw new UserError(`model folder ${dir} does not exist`);
  if (fs.existsSync(path.join(dir, 'onnx', 'model.onnx')) || fs.existsSync(path.join(dir, 'model.onnx'))) return 'onnx';
  if (fs.existsSync(path.join(dir, 'model.safetensors'))) return 'student';
  throw new UserError(`${dir} is neither an ONNX model folder (onnx/model.onnx) nor a saved student (model.safetensors)`);
}

export interface EvaluateFolderOptions {
  task: TaskSpec;
  examples: Example[];
  maxLength: number;
  batchSize: number;
  /** Batch sizes to time (ONNX folders only); empty: no timing. */
  latencyBatchSizes: readonly number[];
  latencyRuns: number;
  provider?: 'auto' | 'cpu' | 'cuda';
  threads?: number;
}

/** Scores one folder on labeled examples; ONNX folders also get size, parameter count and latency. */
export async function evaluateFolder(name: string, dir: string, o: EvaluateFolderOptions): Promise<ModelRow> {
  if (folderKind(dir) === 'onnx') {
    const { openOnnxClassifier, onnxModelStats, scoreOnnx, latencyMs } = await import('../report/measure.ts');
    const model = await openOnnxClassifier(dir, { provider: o.provider, threads: o.threads });
    try {
      const { metrics } = await scoreOnnx(model, o.task, o.examples, o.maxLength, o.batchSize);
      const { encodeExamples } = await import('../data/batching.ts');
      const encoded = encodeExamples(model.folder.tokenizer, o.examples.slice(0, Math.max(0, ...o.latencyBatchSizes)), o.maxLength);
      const latency = o.latencyBatchSizes.length ? await latencyMs(model, encoded, o.latencyBatchSizes, o.latencyRuns) : undefined;
      const { params, sizeBytes } = onnxModelStats(dir);
      return { name, params, sizeBytes, latencyMs: latency, metrics };
    } finally {
      await model.dispose();
    }
  }
  const { loadStudentFolder } = await import('../student/folder.ts');
  const { loadTokenizer } = await import('../data/tokenizer.ts');
  const { evaluateStudent } = await import('../eval/evaluate.ts');
  const student = await loadStudentFolder(dir);
  try {
    const tok = await loadTokenizer(dir);
    const encoded = o.examples.map((e) => tok.encode(e.textA, e.textB, o.maxLength));
    const labels = o.examples.map((e) => e.label);
    const r = evaluateStudent(student, encoded, labels, o.task, o.batchSize);
    let params = 0;
    for (const v of student.params.values()) params += v.size;
    return { name, params, sizeBytes: fs.statSync(path.join(dir, 'model.safetensors')).size, metrics: r.metrics };
  } finally {
    student.dispose();
  }
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
  };
  const models: ModelRow[] = [await evaluateFolder('teacher', c.teacher.dir, common)];
  const studentDir = fs.existsSync(paths.exportDir) ? paths.exportDir : paths.studentDir;
  if (fs.existsSync(studentDir)) models.push(await evaluateFolder('student', studentDir, common));
  else env.io.err(`no student yet (${paths.studentDir}): evaluating the teacher only\n`);
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
  env.io.out(formatEvalTable(result));
  return result;
}

/** Plain-text summary of eval results for the terminal. */
export function formatEvalTable(r: EvalFile): string {
  const base = r.models[0]?.metrics?.[r.primaryMetric];
  const lines = r.models.map((m) => {
    const v = m.metrics?.[r.primaryMetric];
    const pct = v !== undefined && base ? ` (${((100 * v) / base).toFixed(1)}% of ${r.models[0].name})` : '';
    const lat = m.latencyMs ? ' latency ' + Object.entries(m.latencyMs).map(([b, ms]) => `b${b} ${ms.toFixed(2)} ms`).join(', ') : '';
    const metrics = Object.entries(m.metrics ?? {}).map(([k, x]) => `${k} ${x.toFixed(4)}`).join(', ');
    return `${m.name}: ${metrics}${pct}${lat}`;
  });
  return `${r.task} ${r.split}:\n  ${lines.join('\n  ')}\n`;
}

/** The HTML report from what the run left in its folder. */
export async function reportStep(c: Config, env: RunEnv): Promise<string> {
  const paths = runPaths(c);
  const { readLog } = await import('../train/log.ts');
  const { writeReport } = await import('../report/html.ts');
  const log = fs.existsSync(paths.logFile) ? readLog(paths.logFile) : [];
  const evalFile = fs.existsSync(paths.evalFile) ? (JSON.parse(fs.readFileSync(paths.evalFile, 'utf8')) as EvalFile) : undefined;
  const notes: string[] = [...(evalFile?.notes ?? [])];
  if (!evalFile) notes.push('No eval.json: run `distill eval` for the teacher-vs-student table.');
  const bytes = writeReport(paths.reportFile, {
    title: `distill-ts run: ${c.task} (${path.basename(paths.out)})`,
    createdAt: new Date().toISOString(),
    log,
    models: evalFile?.models ?? [],
    primaryMetric: evalFile?.primaryMetric,
    latencyBatchSizes: evalFile?.latencyBatchSizes ?? c.eval.latencyBatchSizes,
    config: c,
    notes,
  });
  env.io.err(`report written to ${paths.reportFile} (${(bytes / 1024).toFixed(0)} KiB)\n`);
  return paths.reportFile;
}
