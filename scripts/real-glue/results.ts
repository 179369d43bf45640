/**
 * The real-GLUE results (scripts/real-glue.ts): the baselines' stages derived from a task's distillation
 * config, mean ± std over seeds, the targets, and the tables of docs/real-glue.md.
 */
import { loadTask } from '../../src/data/tasks.ts';
import { fixed, mean, sampleStd as std } from '../stats.ts';
import type { ModelRow } from '../../src/report/html.ts';

/**
 * distilled: the full recipe (with plan `general`: TinyBERT's general distillation, then the config's stages);
 * hard / predonly: the baselines; taskonly (only with `general`): the config's stages from random weights;
 * hardorig (only with `hardOriginal`): the hard baseline on the training split before augmentation.
 */
export const VARIANTS = ['distilled', 'hard', 'predonly', 'taskonly', 'hardorig'] as const;
export type Variant = (typeof VARIANTS)[number];

export interface Plan {
  teacher: { layers: number; hidden: number; heads: number; ffn: number; maxLength: number; batch: number; seed: number };
  /** Masked-LM pre-training of the teachers' encoder (absent: teachers start from random weights). */
  pretrain?: { steps: number; batch: number; lr: number };
  tasks: Record<string, {
    holdout: number;
    teacher: { steps: number; lr: number; evalEvery: number; ensemble?: EnsembleMember[] };
    /** TinyBERT's general distillation (`distill general` on the task's training sentences, labels unused) before the distilled run. */
    general?: { steps: number; lr: number };
    /** Quantisation-aware distillation vs post-training int8: further prediction-stage updates from each distilled student. */
    qat?: { steps: number; lr: number };
    /**
     * A second hard-label control: the same stage on the training split as it was before augmentation (the
     * augmented rows' inherited labels may help or hurt labels-only training; this row shows which).
     */
    hardOriginal?: boolean;
    /** false: no augmentation; every row trains on the held-out split's training rows as they are. */
    augment?: boolean;
  }>;
}

/**
 * Teachers besides the first whose mean prediction is the target (the config's multiTeacher, combine
 * "mean"): each fine-tuned with its own seed, from the pre-trained encoder or from random weights.
 */
export interface EnsembleMember {
  seed: number;
  lr: number;
  init: 'pretrained' | 'random';
}

/** The dev metric reported per task: the task's first official one (MRPC F1, STS-B Pearson). */
export const metricOf = (task: string): string => loadTask(task).metrics[0];
const displayName = (task: string): string => loadTask(task).displayName;

interface StageLike {
  name: string;
  steps: number;
  lr?: number;
  warmup?: number;
  losses: { name: string; weight?: number }[];
}

/**
 * The baselines' single stage: as many updates as all distillation stages together, at the learning rate
 * and warm-up of the last (prediction) stage; gold labels (`hard`) or the teacher's logits (`predonly`).
 */
export function baselineStages(stages: StageLike[], regression: boolean): Record<'hard' | 'predonly', StageLike[]> {
  if (stages.some((s) => !Number.isInteger(s.steps))) throw new Error('real-GLUE configs give each stage "steps" (the baselines match the total)');
  const steps = stages.reduce((a, s) => a + s.steps, 0);
  const last = stages[stages.length - 1];
  const stage = (name: string, loss: string): StageLike[] => [
    { name, steps, ...(last.lr !== undefined ? { lr: last.lr } : {}), ...(last.warmup !== undefined ? { warmup: last.warmup } : {}), losses: [{ name: loss }] },
  ];
  return { hard: stage('hard', regression ? 'mse' : 'ce'), predonly: stage('prediction', regression ? 'kd_mse' : 'kd_ce') };
}

export { mean, std };

export interface TaskEntry {
  metric: string;
  baseline: number;
  teacher: number;
  distilled: number[];
  hard: number[];
  prediction_only: number[];
  /** Present when the distilled row starts from general distillation: the same stages from random weights. */
  task_only?: number[];
  /** Present with plan `hardOriginal`: the hard-label student on the training split without augmentation. */
  hard_original?: number[];
  /** false when nothing was augmented (plan `augment: false`): the hard row then trained on the split as it is. */
  augmented?: false;
}

export interface Targets {
  teacherBeatsBaseline: boolean;
  /** Distilled mean ≥ 97% of the teacher. */
  ofTeacher: boolean;
  /** Distilled mean − hard mean ≥ 1 point, and the one-std intervals do not overlap. */
  beatsHard: boolean;
}

/** Whether a's one-std interval lies wholly above b's. */
const intervalAbove = (a: number[], b: number[]) => mean(a) - std(a) > mean(b) + std(b);

export function targets(e: TaskEntry): Targets {
  const d = mean(e.distilled);
  const h = mean(e.hard);
  return {
    teacherBeatsBaseline: e.teacher > e.baseline,
    ofTeacher: d >= 0.97 * e.teacher,
    beatsHard: d - h >= 0.01 && intervalAbove(e.distilled, e.hard),
  };
}

export interface StudentOutcome {
  variant: Variant;
  seed: number;
  row: ModelRow;
  summary: { steps: number; seconds: number; best?: { step: number; score: number; model?: string } } & Record<string, unknown>;
}

export interface TaskOutcome {
  task: string;
  teacherSummary: { dev: number; baseline: number; selection: number; chosen_step: number; steps: number; params: number; init: string; shape: Record<string, number> };
  teacherRow: ModelRow;
  /** Set when the task distils from several teachers: their mean prediction's dev metric, and each one's. */
  ensemble?: { dev: number; members: { dir: string; dev: number }[] };
  students: StudentOutcome[];
  /** false with plan `augment: false`: every row trained on the split as it is, so the hard row is itself the clean control. */
  augmented?: boolean;
  /** Plan `qat`, per seed: the float continuation (fp32, post-training int8) and the quantisation-aware one (its float and int8 models). */
  quantized?: QuantizedOutcome[];
}

export interface QuantizedOutcome {
  seed: number;
  fp32: ModelRow;
  ptq: ModelRow;
  qatFloat: ModelRow;
  qat: ModelRow;
}

const pct = (x: number) => fixed(100 * x, 1);
/** mean ± std, with the number of seeds when fewer than three finished. */
const pm = (xs: number[]) => (xs.length ? `${pct(mean(xs))} ± ${pct(std(xs))}${xs.length < 3 ? ` (${xs.length} seed${xs.length > 1 ? 's' : ''})` : ''}` : 'not run');
const yes = (b: boolean) => (b ? 'yes' : '**no**');

/** A model row's value of the task's reported metric. */
function scoreOf(task: string, row: ModelRow): number {
  const metric = metricOf(task);
  const v = row.metrics?.[metric];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${task}: ${row.name} has no finite "${metric}" in its eval`);
  return v;
}

export function taskEntry(o: TaskOutcome): TaskEntry {
  const metric = metricOf(o.task);
  const score = (row: ModelRow) => scoreOf(o.task, row);
  const of = (v: Variant) => o.students.filter((s) => s.variant === v).sort((a, b) => a.seed - b.seed).map((s) => score(s.row));
  return {
    metric,
    baseline: o.teacherSummary.baseline,
    teacher: o.ensemble ? o.ensemble.dev : score(o.teacherRow),
    distilled: of('distilled'),
    hard: of('hard'),
    prediction_only: of('predonly'),
    ...(o.students.some((s) => s.variant === 'taskonly') && { task_only: of('taskonly') }),
    ...(o.students.some((s) => s.variant === 'hardorig') && { hard_original: of('hardorig') }),
    ...(o.augmented === false && { augmented: false as const }),
  };
}

export function renderTables(outcomes: TaskOutcome[], run: { timings: Record<string, number>; wallSeconds: number; jobs: number; seeds: number[] }) {
  const results: Record<string, TaskEntry> = {};
  for (const o of outcomes) results[o.task] = taskEntry(o);
  const lines = [
    `| task | metric | majority / constant | teacher | distilled | % of teacher | hard labels | prediction-only | distilled − hard | ≥ 97% of teacher | beats hard by ≥ 1 (outside 1 std) |`,
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const o of outcomes) {
    const e = results[o.task];
    const t = targets(e);
    const applies = t.teacherBeatsBaseline ? '' : ' (teacher ≤ baseline: n/a)';
    if (e.distilled.length === 0) {
      // Below its baseline there is nothing to distil; above it, the students were left out (--teachers-only).
      const why = t.teacherBeatsBaseline ? '**not run** (students not trained in this run)' : 'n/a (teacher ≤ baseline)';
      lines.push(`| ${displayName(o.task)} | ${e.metric} | ${pct(e.baseline)} | ${pct(e.teacher)} | not run | – | not run | not run | – | ${why} | ${why} |`);
      continue;
    }
    lines.push(`| ${displayName(o.task)} | ${e.metric} | ${pct(e.baseline)} | ${pct(e.teacher)} | ${pm(e.distilled)} | ${(100 * mean(e.distilled) / e.teacher).toFixed(1)} | ` +
      `${pm(e.hard)} | ${pm(e.prediction_only)} | ${(100 * (mean(e.distilled) - mean(e.hard))).toFixed(1)} | ${yes(t.ofTeacher)}${applies} | ${yes(t.beatsHard)}${applies} |`);
  }
  const taskOnly = outcomes.filter((o) => results[o.task].task_only?.length);
  if (taskOnly.length) {
    lines.push('', 'Distilled = general distillation, then the two task stages. The two task stages alone, from random weights (same seeds):', '');
    for (const o of taskOnly) lines.push(`- ${displayName(o.task)}: ${pm(results[o.task].task_only!)} (distilled − task-only: ${(100 * (mean(results[o.task].distilled) - mean(results[o.task].task_only!))).toFixed(1)})`);
  }
  const hardOriginal = outcomes.filter((o) => results[o.task].hard_original?.length);
  if (hardOriginal.length) {
    lines.push('', 'Hard labels on the training split before augmentation (same stage, updates, batch and seeds; the second hard-label control):', '');
    for (const o of hardOriginal) {
      const e = results[o.task];
      lines.push(`- ${displayName(o.task)}: ${pm(e.hard_original!)} (distilled − this: ${(100 * (mean(e.distilled) - mean(e.hard_original!))).toFixed(1)}; ` +
        `outside one std: ${intervalAbove(e.distilled, e.hard_original!) ? 'yes' : 'no'})`);
    }
  }
  const sizes = ['', '| task | model | params | ONNX MB | latency b=1 (ms) | latency b=32 (ms) | speed-up b=1 / b=32 |', '|---|---|---|---|---|---|---|'];
  for (const o of outcomes) {
    const s = o.students.find((x) => x.variant === 'distilled' && x.row.latencyMs);
    for (const [name, row] of [['teacher', o.teacherRow], ['student', s?.row]] as const) {
      if (!row) continue;
      const r = (a?: number, b?: number) => (a && b ? `${(a / b).toFixed(1)}×` : '–');
      sizes.push(`| ${displayName(o.task)} | ${name} | ${((row.params ?? 0) / 1e6).toFixed(2)}M | ${((row.sizeBytes ?? 0) / 1e6).toFixed(1)} | ` +
        `${row.latencyMs?.[1]?.toFixed(2) ?? '–'} | ${row.latencyMs?.[32]?.toFixed(2) ?? '–'} | ` +
        `${name === 'teacher' ? '1.0× / 1.0×' : `${r(o.teacherRow.latencyMs?.[1], row.latencyMs?.[1])} / ${r(o.teacherRow.latencyMs?.[32], row.latencyMs?.[32])}`} |`);
    }
  }
  // A resumed or --report-only invocation takes minutes or nothing: the recorded step times tell the cost.
  const recorded = Object.values(run.timings).reduce((a, b) => a + b, 0);
  const costs = ['', `Recorded step time, summed over every invocation: ${(recorded / 60).toFixed(1)} min (--jobs ${run.jobs} runs two at a time; seeds ${run.seeds.join(',')}). ` +
    'Cost of each step (wall seconds, as last run; concurrent steps overlap):', ''];
  const byStage: Record<string, number[]> = {};
  for (const [key, s] of Object.entries(run.timings)) {
    const stage = key.split('/')[1].replace(/-s\d+$/, '').replace(/^(train|export|eval)-(distilled|hardorig|hard|predonly|teacher).*$/, '$1-$2');
    (byStage[`${key.split('/')[0]} ${stage}`] ??= []).push(s);
  }
  for (const [k, v] of Object.entries(byStage)) costs.push(`- ${k}: ${v.length} × ${mean(v).toFixed(0)} s`);
  const ensembles = outcomes.filter((o) => o.ensemble);
  const teams = ensembles.length ? ['', 'Teacher ensembles (the "teacher" column is their mean prediction; each member alone on dev):', '',
    ...ensembles.map((o) => `- ${displayName(o.task)}: ${pct(o.ensemble!.dev)} from ${o.ensemble!.members.map((m) => `${m.dir.split('/').pop()} ${pct(m.dev)}`).join(', ')}; ` +
      'sizes and latency above are one member\'s (the ensemble costs that many times more)')] : [];
  const quantization = quantizationTable(outcomes);
  const chosen = ['', 'Checkpoints chosen on the held-out slice (update, of the run\'s total):', ''];
  for (const o of outcomes) {
    chosen.push(`- ${displayName(o.task)} teacher: update ${o.teacherSummary.chosen_step} of ${o.teacherSummary.steps} (${o.teacherSummary.init} init); ` +
      o.students.map((s) => `${s.variant}-s${s.seed} ${s.summary.best?.step ?? '?'}${s.summary.best?.model ? ` (${s.summary.best.model})` : ''}`).join(', '));
  }
  const details = Object.fromEntries(outcomes.map((o) => [o.task, {
    teacher: { ...o.teacherSummary, history: undefined, eval: o.teacherRow, ...(o.ensemble && { ensemble: o.ensemble }) },
    students: o.students.map((s) => ({ variant: s.variant, seed: s.seed, eval: s.row, chosen: s.summary.best, steps: s.summary.steps, seconds: s.summary.seconds })),
    ...(o.quantized && { quantized: o.quantized }),
  }]));
  return { results, details: { ...details, timings: run.timings, wallSeconds: run.wallSeconds }, markdown: [...lines, ...sizes, ...quantization, ...teams, ...costs, ...chosen, ''].join('\n') };
}

/**
 * Plan `qat`: fp32 vs post-training dynamic int8 vs quantisation-aware int8, mean ± std over seeds of the
 * dev metric and of each int8 model's change from the fp32 model it was compared with.
 */
function quantizationTable(outcomes: TaskOutcome[]): string[] {
  const withQat = outcomes.filter((o) => o.quantized?.length);
  if (!withQat.length) return [];
  const lines = ['', 'Quantisation (plan `qat`: from each distilled student, the same further prediction-stage updates in float and ' +
    'quantisation-aware; every row an exported ONNX model on onnxruntime CPU, dev metric mean ± std over the seeds; Δ per seed against ' +
    'the float model of the same run — the QAT int8 model against its own float weights):', '',
    '| task | model | dev | Δ vs fp32 (points) | same prediction as fp32 | ONNX MB | latency b=1 (ms) | latency b=32 (ms) |', '|---|---|---|---|---|---|---|---|'];
  const signed = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(2)}`;
  for (const o of withQat) {
    const q = o.quantized!;
    const score = (row: ModelRow) => scoreOf(o.task, row);
    const timed = q.find((x) => x.fp32.latencyMs) ?? q[0];
    const rows: [string, (x: QuantizedOutcome) => ModelRow, ((x: QuantizedOutcome) => ModelRow) | undefined][] = [
      ['fp32', (x) => x.fp32, undefined],
      ['int8, post-training dynamic', (x) => x.ptq, (x) => x.fp32],
      ['int8, quantisation-aware (QDQ)', (x) => x.qat, (x) => x.qatFloat],
    ];
    for (const [name, pick, against] of rows) {
      const r = pick(timed);
      const delta = against ? q.map((x) => 100 * (score(pick(x)) - score(against(x)))) : [];
      const agree = against ? `${(100 * mean(q.map((x) => pick(x).agreement ?? NaN))).toFixed(1)}%` : '';
      lines.push(`| ${displayName(o.task)} | ${name} | ${pm(q.map((x) => score(pick(x))))} | ${against ? `${signed(mean(delta))} ± ${fixed(std(delta), 2)}` : ''} | ${agree} | ` +
        `${((r.sizeBytes ?? 0) / 1e6).toFixed(1)} | ${r.latencyMs?.[1]?.toFixed(2) ?? '–'} | ${r.latencyMs?.[32]?.toFixed(2) ?? '–'} |`);
    }
  }
  return lines;
}
