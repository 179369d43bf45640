import * as tf from '@tensorflow/tfjs';
import type { Student } from '../student/model.ts';
import { sha256 } from '../util/hash.ts';
import { UserError } from '../util/errors.ts';
import type { AdamW } from './adamw.ts';
import type { Ema } from './ema.ts';
import type { Projections } from '../distill/projections.ts';
import { tensorsWithPrefix } from './checkpoint.ts';
import type { NamedTensor } from './tensor-file.ts';
import type { TrainOptions } from './train-options.ts';
import type { ObservedRange, Quantization } from '../quant/quantization.ts';

/**
 * How the trainer's tensors map to a checkpoint's: "student.<param>", "proj.<name>",
 * "opt.m.<name>" / "opt.v.<name>" (AdamW moments), "ema.<param>" (the EMA shadow), and for a
 * quantised student "quant.<dense layer>" = [min, max, observations] of its input's range (observed or learned;
 * learned ranges' AdamW moments are "opt.m.quant.<layer>.min" etc., as any trained variable's).
 */

const QUANT_PREFIX = 'quant.';

/** The observed ranges as tensors "quant.<layer>" ([min, max, observations]). */
export function quantTensors(q: Quantization | undefined): Map<string, NamedTensor> {
  const out = new Map<string, NamedTensor>();
  for (const [k, r] of q?.ranges() ?? []) out.set(`${QUANT_PREFIX}${k}`, { shape: [3], data: Float32Array.of(r.min, r.max, r.observations) });
  return out;
}

/** Restores observed ranges from "quant.<layer>" tensors (checkpoint or best weights). */
export function restoreQuant(q: Quantization, tensors: Map<string, NamedTensor>, dir: string): void {
  const ranges = new Map<string, ObservedRange>();
  for (const [k, t] of tensorsWithPrefix(tensors, QUANT_PREFIX)) {
    if (t.data.length !== 3) throw new UserError(`checkpoint ${dir}: quantisation tensor "${QUANT_PREFIX}${k}" has ${t.data.length} values, expected 3 (min, max, observations)`);
    ranges.set(k, { min: t.data[0], max: t.data[1], observations: t.data[2] });
  }
  q.setRanges(ranges, `checkpoint ${dir}`);
}

/** A student's parameters (and, when quantised, its observed ranges): what "best" keeps. */
export function weightsOf(student: Student): Map<string, NamedTensor> {
  const out = new Map([...student.params].map(([k, v]) => [k, { shape: [...v.shape], data: v.dataSync() as Float32Array }]));
  for (const [k, t] of quantTensors(student.quantization?.active ? student.quantization : undefined)) out.set(k, t);
  return out;
}

export function packTensors(student: Student, projections: Projections | undefined, optimizer: AdamW, ema: Ema | undefined): Map<string, NamedTensor> {
  const out = new Map<string, NamedTensor>();
  const shapes = new Map<string, number[]>();
  for (const [k, v] of student.params) {
    out.set(`student.${k}`, { shape: [...v.shape], data: v.dataSync() as Float32Array });
    shapes.set(k, [...v.shape]);
  }
  for (const [k, v] of projections?.variables ?? []) {
    out.set(`proj.${k}`, { shape: [...v.shape], data: v.dataSync() as Float32Array });
    shapes.set(k, [...v.shape]);
  }
  const opt = optimizer.getState();
  for (const [k, data] of opt.m) out.set(`opt.m.${k}`, { shape: shapes.get(k) ?? [data.length], data });
  for (const [k, data] of opt.v) out.set(`opt.v.${k}`, { shape: shapes.get(k) ?? [data.length], data });
  if (ema) for (const [k, data] of ema.getState().shadow) out.set(`ema.${k}`, { shape: shapes.get(k) ?? [data.length], data });
  for (const [k, t] of quantTensors(student.quantization)) out.set(k, t);
  return out;
}

function assignAll(target: Map<string, tf.Variable>, source: Map<string, NamedTensor>, what: string, dir: string): void {
  for (const [name, v] of target) {
    const t = source.get(name);
    if (!t) throw new UserError(`checkpoint ${dir}: no ${what} tensor "${name}"`);
    if (t.data.length !== v.size) throw new UserError(`checkpoint ${dir}: ${what} tensor "${name}" has ${t.data.length} values, the run expects ${v.size}`);
    tf.tidy(() => v.assign(tf.tensor(t.data, v.shape, 'float32')));
  }
}

/** Restores student, projections and EMA from a checkpoint; returns the tensors for the optimizer. */
export function unpackTensors(
  tensors: Map<string, NamedTensor>,
  student: Student,
  projections: Projections | undefined,
  ema: Ema | undefined,
  dir = 'checkpoint',
): Map<string, NamedTensor> {
  assignAll(student.params, tensorsWithPrefix(tensors, 'student.'), 'student', dir);
  if (projections) assignAll(projections.variables, tensorsWithPrefix(tensors, 'proj.'), 'projection', dir);
  if (ema) assignAll(ema.shadow, tensorsWithPrefix(tensors, 'ema.'), 'EMA', dir);
  if (student.quantization) restoreQuant(student.quantization, tensors, dir);
  return tensors;
}

/** Fields a resumed run cannot change at all: the checkpoint's tensors or data order depend on them. */
const STRUCTURAL = ['seed', 'batchSize', 'gradAccumulation', 'stages', 'teachers', 'ema', 'parameters', 'trainData'] as const;

/** Dotted paths of an object's leaves (arrays and objects below `depth` are kept whole). */
function flatten(prefix: string, v: unknown, out: Record<string, unknown>): void {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) if (typeof x !== 'function') flatten(`${prefix}.${k}`, x, out);
  } else {
    out[prefix] = v === undefined ? null : v;
  }
}

/**
 * What a resumed run must share with the run that wrote the checkpoint, as readable fields (so a
 * mismatch can be named) plus a hash of the training data's token ids. Besides the structural
 * fields it holds every setting that changes the numbers (learning rates, losses, temperatures,
 * clipping, weight decay, EMA, dropout...): changing one mid-run mixes two runs, so resume refuses
 * it unless allowed.
 */
export function runKeyOf(opts: TrainOptions, variables: Map<string, tf.Variable>, studentConfig?: Record<string, unknown>): string {
  const dataHash = opts.train
    ? sha256(JSON.stringify(opts.train.encoded.map((e) => [e.inputIds, e.tokenTypeIds])) + JSON.stringify(opts.train.labels ?? null))
    : sha256(`stream:${opts.batchSource?.key ?? ''}`);
  const key: Record<string, unknown> = {
    seed: opts.seed,
    batchSize: opts.batchSize,
    gradAccumulation: opts.gradAccumulation ?? 1,
    stages: opts.stages.map((s) => `${s.name}:${s.steps}`).join(','),
    teachers: opts.teachers?.length ?? 0,
    ema: opts.ema != null,
    parameters: [...variables.keys()].length,
    trainData: dataHash.slice(0, 16),
    // Only when set, so checkpoints of runs without them keep resuming.
    ...(opts.earlyStopping && { earlyStopping: opts.earlyStopping }),
    ...(opts.reduceLrOnPlateau && { reduceLrOnPlateau: opts.reduceLrOnPlateau }),
  };
  opts.stages.forEach((s, i) => {
    const at = `stages[${i}]`;
    key[`${at}.lr`] = s.lr;
    key[`${at}.lrSchedule`] = s.lrSchedule ?? null;
    key[`${at}.losses`] = s.matches;
    key[`${at}.temperature`] = s.temperature ?? null;
    key[`${at}.temperatureRule`] = s.temperatureRule ?? null;
    key[`${at}.weights`] = s.weights ?? null;
    key[`${at}.curriculum`] = s.curriculum ?? null;
    key[`${at}.momentum`] = s.momentum ?? null;
    key[`${at}.alpha`] = s.alpha ?? null;
    if (s.quantize) key[`${at}.quantize`] = true; // only when set, so earlier checkpoints keep resuming
    if (s.prune) key[`${at}.prune`] = s.prune;
  });
  if (opts.stages.some((s) => s.quantize)) {
    const { ranges, ...observer } = opts.quantization ?? {};
    flatten('quantization', { emaDecay: undefined, reduceRange: undefined, ...observer }, key);
    if (ranges === 'learned') key['quantization.ranges'] = ranges; // only when set, so earlier checkpoints keep resuming
  }
  key.maxGradNorm = opts.maxGradNorm ?? 1;
  flatten('optimizer', { weightDecay: undefined, beta1: undefined, beta2: undefined, epsilon: undefined, ...opts.optimizer }, key);
  if (opts.ema != null) flatten('ema', opts.ema, key);
  key.bucketSize = opts.bucketSize ?? null;
  key.sharedProjection = opts.sharedProjection ?? false;
  key.evalEvery = opts.evalEvery ?? 0;
  key.multiTeacherCombine = opts.multiTeacher?.combine ?? null;
  key.teacherWeights = opts.teachers?.map((t) => t.weight ?? 1) ?? null;
  if (studentConfig) {
    for (const k of ['hidden_dropout_prob', 'attention_probs_dropout_prob', 'hidden_act', 'layer_norm_eps', 'initializer_range']) {
      if (k in studentConfig) key[`student.${k}`] = studentConfig[k];
    }
  }
  return JSON.stringify(key);
}

export interface RunKeyCheck {
  /** Settings that differ and were allowed (with --allow-changed), each "key (old there, new now)". */
  changed: string[];
}

/**
 * Refuses to resume with different settings, naming each. `allowChanged` lets settings that only
 * change the numbers through (they are returned to be logged); structural ones are always refused.
 * Fields a checkpoint did not record (written by an older version) are not compared.
 */
export function checkRunKey(saved: string, current: string, dir: string, allowChanged = false): RunKeyCheck {
  if (saved === current) return { changed: [] };
  const a = JSON.parse(saved) as Record<string, unknown>;
  const b = JSON.parse(current) as Record<string, unknown>;
  const diffs = Object.keys(a).filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k] ?? null));
  const describe = (k: string) => `${k} (${JSON.stringify(a[k])} there, ${JSON.stringify(b[k] ?? null)} now)`;
  const structural = diffs.filter((k) => (STRUCTURAL as readonly string[]).includes(k));
  const tunable = diffs.filter((k) => !structural.includes(k));
  if (structural.length > 0) {
    throw new UserError(`cannot resume from ${dir}: it was written by a run with different ${structural.map(describe).join(', ')}; use another output folder, or start over with --force`);
  }
  if (tunable.length > 0 && !allowChanged) {
    throw new UserError(
      `cannot resume from ${dir}: settings changed since the checkpoint: ${tunable.map(describe).join(', ')}; ` +
        `restore them, start over with --force, or pass --allow-changed to continue with the new values`,
    );
  }
  return { changed: tunable.map(describe) };
}
