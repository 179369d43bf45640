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

/**
 * How the trainer's tensors map to a checkpoint's: "student.<param>", "proj.<name>",
 * "opt.m.<name>" / "opt.v.<name>" (AdamW moments), "ema.<param>" (the EMA shadow).
 */

export function weightsOf(student: Student): Map<string, NamedTensor> {
  return new Map([...student.params].map(([k, v]) => [k, { shape: [...v.shape], data: v.dataSync() as Float32Array }]));
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
  return tensors;
}

/**
 * What a resumed run must share with the run that wrote the checkpoint, as readable fields (so a
 * mismatch can be named) plus a hash of the training data's token ids.
 */
export function runKeyOf(opts: TrainOptions, variables: Map<string, tf.Variable>): string {
  const dataHash = opts.train
    ? sha256(JSON.stringify(opts.train.encoded.map((e) => [e.inputIds, e.tokenTypeIds])) + JSON.stringify(opts.train.labels ?? null))
    : sha256(`stream:${opts.batchSource?.key ?? ''}`);
  return JSON.stringify({
    seed: opts.seed,
    batchSize: opts.batchSize,
    gradAccumulation: opts.gradAccumulation ?? 1,
    stages: opts.stages.map((s) => `${s.name}:${s.steps}`).join(','),
    teachers: opts.teachers?.length ?? 0,
    ema: opts.ema != null,
    parameters: [...variables.keys()].length,
    trainData: dataHash.slice(0, 16),
  });
}

export function checkRunKey(saved: string, current: string, dir: string): void {
  if (saved === current) return;
  const a = JSON.parse(saved) as Record<string, unknown>;
  const b = JSON.parse(current) as Record<string, unknown>;
  const diffs = Object.keys({ ...a, ...b }).filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
  throw new UserError(
    `cannot resume from ${dir}: it was written by a run with different ${diffs.map((k) => `${k} (${JSON.stringify(a[k])} there, ${JSON.stringify(b[k])} now)`).join(', ')}; ` +
      `use another checkpoint folder or drop resume`,
  );
}
