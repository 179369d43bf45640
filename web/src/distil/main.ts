/**
 * The in-page distillation: a teacher folder run by onnxruntime-web gives each batch's outputs; the
 * student (src/student) trains on them with the trainer's stages (src/train/online-distil.ts): TinyBERT's
 * intermediate stage first when asked for (hidden_mse and attention_mse against the teacher's hidden states
 * and attention scores, which the toolkit's graph surgery exposes: teacher-features.ts), then the prediction
 * stage (kd_ce), with AdamW, clipping and the linear schedule, on tfjs webgpu / wasm / cpu; the dev accuracy is
 * measured every few updates; the student is exported with the CLI's ONNX graph builder and downloaded as a zip.
 */
import { runAction } from '../action.ts';
import { encodeExamples } from '../../../src/data/batching.ts';
import type { Encoded, Example } from '../../../src/data/types.ts';
import { DEFAULT_BERT_CONFIG, type BertConfig } from '../../../src/student/config.ts';
import { computeTaskMetrics } from '../../../src/metrics/metrics.ts';
import { OnlineDistiller, studentLogits, type StepRecord } from '../../../src/train/online-distil.ts';
import { pickedFolder, readText, has, type PickedFolder } from '../folder.ts';
import { openBrowserModel, type BrowserModel } from '../model.ts';
import { chooseRuntime } from '../runtime.ts';
import { startTrainBackend, type TrainBackend, type TrainBackendChoice } from './backend.ts';
import { drawLossChart } from './chart.ts';
import { demoData, droppedData, type PageData } from './data.ts';
import { exportZip } from './export.ts';
import { openTeacherFeatures, type TeacherFeatures } from './teacher-features.ts';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const el = {
  backend: $('backend'), teacherFolder: $<HTMLInputElement>('teacher-folder'), teacherInfo: $('teacher-info'),
  dataFiles: $<HTMLInputElement>('data-files'), dataInfo: $('data-info'), trainBackend: $<HTMLSelectElement>('train-backend'),
  threads: $<HTMLInputElement>('threads'), intermediateSteps: $<HTMLInputElement>('intermediate-steps'), steps: $<HTMLInputElement>('steps'), batch: $<HTMLInputElement>('batch'),
  lr: $<HTMLInputElement>('lr'), temperature: $<HTMLInputElement>('temperature'), seed: $<HTMLInputElement>('seed'),
  evalEvery: $<HTMLInputElement>('eval-every'), start: $<HTMLButtonElement>('start'), stop: $<HTMLButtonElement>('stop'),
  export: $<HTMLButtonElement>('export'), status: $('status'), error: $('error'), studentInfo: $('student-info'),
  progress: $('progress'), chart: document.getElementById('loss-chart') as unknown as SVGSVGElement, evals: $<HTMLTableElement>('evals'),
};

/** The demo student's shape (data/demo/config.json): 2 layers, width 64, 4 heads, 64 positions. */
const DEMO_STUDENT = { hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 256, max_position_embeddings: 64 };
const MAX_LENGTH = 64;

interface EvalRow { step: number; accuracy: number }

const state: {
  teacherFolder?: PickedFolder;
  teacher?: BrowserModel;
  /** The teacher with its hidden states and attention scores exposed, opened for the first intermediate stage. */
  teacherFeatures?: TeacherFeatures;
  backend?: TrainBackend;
  data?: PageData;
  distiller?: OnlineDistiller;
  dev?: { encoded: Encoded[]; labels: number[] };
  losses: number[];
  steps: StepRecord[];
  evals: EvalRow[];
  majority?: number;
  teacherAccuracy?: number;
  stopRequested: boolean;
} = { losses: [], steps: [], evals: [], stopRequested: false };

function action(what: string, fn: () => Promise<void>): Promise<void> {
  return runAction(el, what, fn, () => {
    el.start.disabled = !state.teacher || !!state.distiller && !state.distiller.done && !state.stopRequested && el.status.dataset.state === 'busy';
    el.stop.disabled = true;
    el.export.disabled = !state.distiller;
  });
}

const dataChoice = () => (document.querySelector('input[name="data"]:checked') as HTMLInputElement).value;

async function loadTeacher(): Promise<void> {
  await state.teacher?.release();
  await state.teacherFeatures?.release();
  state.teacher = undefined;
  state.teacherFeatures = undefined;
  const runtime = await chooseRuntime('wasm');
  state.teacher = await openBrowserModel(state.teacherFolder!, 'fp32', runtime);
  const t = state.teacher;
  if (t.regression) throw new Error(`${state.teacherFolder!.name}: a regression teacher; the page distils classifiers (kd_ce)`);
  el.teacherInfo.textContent = `${t.file} · ${t.labelNames.length} labels [${t.labelNames.join(', ')}] · vocabulary ${t.tokenizer.vocabSize} · ${t.runtime.description}`;
}

const argmax = (row: ArrayLike<number>) => {
  let best = 0;
  for (let c = 1; c < row.length; c++) if (row[c] > row[best]) best = c;
  return best;
};

function encode(examples: Example[]): Encoded[] {
  return encodeExamples(state.teacher!.tokenizer, examples, MAX_LENGTH);
}

async function devAccuracy(logits: Float32Array, C: number): Promise<number> {
  const preds = state.dev!.labels.map((_, i) => argmax(logits.subarray(i * C, (i + 1) * C)));
  return computeTaskMetrics(state.data!.task, preds, state.dev!.labels).accuracy;
}

function showEval(row: EvalRow): void {
  const tr = document.createElement('tr');
  tr.dataset.step = String(row.step);
  tr.dataset.accuracy = String(row.accuracy);
  for (const v of [String(row.step), row.accuracy.toFixed(4), state.majority!.toFixed(4), state.teacherAccuracy?.toFixed(4) ?? '']) {
    const td = document.createElement('td');
    td.textContent = v;
    tr.append(td);
  }
  el.evals.tBodies[0].append(tr);
}

async function evaluate(): Promise<void> {
  const d = state.distiller!;
  const C = d.student.config.num_labels;
  const row = { step: d.step, accuracy: await devAccuracy(await studentLogits(d.student, state.dev!.encoded), C) };
  state.evals.push(row);
  showEval(row);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
}

async function start(): Promise<void> {
  const teacher = state.teacher;
  if (!teacher) throw new Error('pick a teacher folder first');
  const threads = Number(el.threads.value) || undefined;
  state.backend = await startTrainBackend(el.trainBackend.value as TrainBackendChoice, threads);
  el.backend.textContent = `student backend: ${state.backend.description}${state.backend.note ? ` (${state.backend.note})` : ''}`;
  el.backend.dataset.backend = state.backend.name;
  state.data = dataChoice() === 'demo' ? demoData(teacher.labelNames) : await droppedData([...(el.dataFiles.files ?? [])], teacher.labelNames);
  const { train, dev } = state.data;
  el.dataInfo.textContent = `${state.data.name}: ${train.length} train, ${dev.length} dev examples`;
  const trainEncoded = encode(train);
  state.dev = { encoded: encode(dev), labels: dev.map((e) => e.label!) };
  const counts = new Map<number, number>();
  for (const l of state.dev.labels) counts.set(l, (counts.get(l) ?? 0) + 1);
  state.majority = Math.max(...counts.values()) / state.dev.labels.length;
  const C = teacher.numOutputs;
  state.teacherAccuracy = await devAccuracy(await teacher.logits(state.dev.encoded), C);
  const id2label = Object.fromEntries(teacher.labelNames.map((n, i) => [String(i), n]));
  const config: BertConfig = {
    ...DEFAULT_BERT_CONFIG, ...DEMO_STUDENT, vocab_size: teacher.tokenizer.vocabSize, pad_token_id: teacher.tokenizer.padId,
    num_labels: C, problem_type: 'single_label_classification', id2label, label2id: Object.fromEntries(teacher.labelNames.map((n, i) => [n, i])),
  };
  state.distiller?.dispose();
  state.losses = [];
  state.steps = [];
  state.evals = [];
  el.evals.tBodies[0].replaceChildren();
  state.stopRequested = false;
  const intermediateSteps = Number(el.intermediateSteps.value);
  if (intermediateSteps > 0 && !state.teacherFeatures) {
    try {
      state.teacherFeatures = await openTeacherFeatures(state.teacherFolder!);
    } catch (e) {
      throw new Error(`the intermediate stage needs the teacher's hidden states and attention: ${(e as Error).message}. Set intermediate steps to 0 to distil its predictions only`);
    }
  }
  const features = state.teacherFeatures;
  state.distiller = new OnlineDistiller({
    studentConfig: config, seed: Number(el.seed.value), train: { encoded: trainEncoded, labels: train.map((e) => e.label) },
    batchSize: Number(el.batch.value), steps: Number(el.steps.value), lr: Number(el.lr.value), temperature: Number(el.temperature.value),
    teacherLogits: (batch) => teacher.logits(batch.indices.map((i) => trainEncoded[i]), batch.size),
    ...(intermediateSteps > 0 && features && { intermediate: { steps: intermediateSteps, teacher: features.shape, features: (batch, need) => features.features(batch, need) } }),
  });
  const d = state.distiller;
  const steps = d.totalSteps;
  const stages = d.stages.map((s) => ({ name: s.name, steps: s.steps }));
  el.studentInfo.textContent = `student: ${config.num_hidden_layers} layers, width ${config.hidden_size}, ${config.num_attention_heads} heads · ${d.student.numParams().toLocaleString('en')} parameters`;
  el.stop.disabled = false;
  el.export.disabled = true;
  const evalEvery = Number(el.evalEvery.value);
  el.status.dataset.state = 'training';
  while (!d.done && !state.stopRequested) {
    const r = await d.trainStep();
    state.steps.push(r);
    state.losses.push(r.loss);
    if (d.step % 5 === 0 || d.done) {
      drawLossChart(el.chart, state.losses, stages);
      const ms = median(state.steps.slice(-20).map((s) => s.studentSeconds * 1000));
      el.progress.textContent = `step ${d.step} / ${steps} (${r.stage}) · loss ${r.loss.toFixed(4)} · lr ${r.lr.toExponential(2)} · student step ${ms.toFixed(1)} ms (median of the last 20) · teacher ${(r.teacherSeconds * 1000).toFixed(1)} ms`;
    }
    // dev every N > 0 updates and at the end; 0: only at the end; negative: never (timing runs).
    if ((evalEvery > 0 && d.step % evalEvery === 0) || (d.done && evalEvery >= 0)) await evaluate();
    // One turn of the event loop: the page repaints and the Stop button is heard.
    await new Promise<void>((resolve) => setTimeout(resolve, 0));
  }
  if (state.stopRequested && evalEvery >= 0 && state.evals.at(-1)?.step !== d.step) await evaluate();
  el.progress.dataset.done = 'true';
}

function download(bytes: Uint8Array, name: string): void {
  const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type: 'application/zip' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

async function exportStudent(): Promise<void> {
  const d = state.distiller;
  if (!d) throw new Error('distil first');
  const folder = state.teacherFolder!;
  const tokenizerConfig = has(folder, 'tokenizer_config.json') ? (JSON.parse(await readText(folder, 'tokenizer_config.json')) as Record<string, unknown>) : undefined;
  download(await exportZip(d.student, { tokenizerJson: await readText(folder, 'tokenizer.json'), tokenizerConfig }, 'distilled-student'), 'distilled-student.zip');
}

el.teacherFolder.addEventListener('change', () => {
  if (!el.teacherFolder.files?.length) return;
  state.teacherFolder = pickedFolder(el.teacherFolder.files);
  void action('loading the teacher', loadTeacher);
});
el.start.addEventListener('click', () => void action('distilling', start));
el.stop.addEventListener('click', () => {
  state.stopRequested = true;
});
el.export.addEventListener('click', () => void action('exporting', exportStudent));

/** For automation (the browser tests) and for measuring: what the page computed, and its student's labels. */
(window as unknown as { distil: unknown }).distil = {
  get losses() { return state.losses; },
  /** The stage of each update ("intermediate" or "prediction"), and its unweighted loss terms. */
  get stages() { return state.steps.map((s) => s.stage); },
  get parts() { return state.steps.map((s) => s.parts); },
  get evals() { return state.evals; },
  get majority() { return state.majority; },
  get teacherAccuracy() { return state.teacherAccuracy; },
  get backend() { return state.backend; },
  get stepSeconds() { return state.steps.map((s) => s.studentSeconds); },
  get gradNorms() { return state.steps.map((s) => s.gradNorm); },
  async predict(texts: string[]): Promise<{ labels: string[]; logits: number[][] }> {
    const d = state.distiller!;
    const encoded = texts.map((t) => state.teacher!.tokenizer.encode(t, undefined, MAX_LENGTH));
    const C = d.student.config.num_labels;
    const logits = await studentLogits(d.student, encoded);
    const rows = texts.map((_, i) => Array.from(logits.subarray(i * C, (i + 1) * C)));
    return { labels: rows.map((r) => state.teacher!.labelNames[argmax(r)]), logits: rows };
  },
};

el.status.dataset.state = 'ready';
