import * as tf from '@tensorflow/tfjs';
import { UserError } from '../util/errors.ts';

/**
 * Prediction targets built from several sources: several cached teachers (multi-teacher), the EMA
 * student (momentum distillation) and gold labels (self-distillation). Classification targets are
 * probability rows [B, C]; regression targets are values [B, 1]. Call inside tf.tidy.
 */

/** How several teachers' predictions become one target. */
export type TeacherCombine = 'mean' | 'weighted' | 'most_confident';

/** Temperature: one for the batch, or one per example ([B], from the flsw / cwsm rules). */
export type Temperature = number | tf.Tensor1D;

function soften(logits: tf.Tensor2D, t: Temperature): tf.Tensor2D {
  const scaled = typeof t === 'number' ? tf.div(logits, t) : tf.div(logits, tf.expandDims(t, 1));
  return scaled as tf.Tensor2D;
}

function normalisedWeights(n: number, weights: number[] | undefined, combine: TeacherCombine): number[] {
  if (combine !== 'weighted') return new Array(n).fill(1 / n);
  if (!weights || weights.length !== n) throw new UserError(`teacher weights: expected ${n} weights (one per teacher cache), got ${weights?.length ?? 0}`);
  const sum = weights.reduce((a, b) => a + b, 0);
  if (!(sum > 0) || weights.some((w) => !(w >= 0))) throw new UserError(`teacher weights must be ≥ 0 with a positive sum, got [${weights.join(', ')}]`);
  return weights.map((w) => w / sum);
}

/**
 * Softened teacher distributions combined into one [B, C] target: their (weighted) mean, or per
 * example the distribution of the teacher most confident about it (highest max probability).
 */
export function combineTeacherProbs(logits: tf.Tensor2D[], temperature: Temperature, combine: TeacherCombine, weights?: number[]): tf.Tensor2D {
  if (logits.length === 0) throw new Error('combineTeacherProbs: no teacher logits');
  const probs = logits.map((l) => tf.softmax(soften(l, temperature), -1) as tf.Tensor2D);
  if (combine === 'most_confident') {
    const stacked = tf.stack(probs, 1) as tf.Tensor3D; // [B, K, C]
    const choice = tf.argMax(tf.max(stacked, -1), 1); // [B]
    const pickMask = tf.expandDims(tf.oneHot(choice, probs.length), 2); // [B, K, 1]
    return tf.sum(tf.mul(stacked, pickMask), 1) as tf.Tensor2D;
  }
  const w = normalisedWeights(probs.length, weights, combine);
  return tf.addN(probs.map((p, k) => tf.mul(p, w[k]))) as tf.Tensor2D;
}

/** Regression teachers: the (weighted) mean of their outputs [B, 1]. */
export function combineTeacherValues(outputs: tf.Tensor2D[], combine: TeacherCombine, weights?: number[]): tf.Tensor2D {
  if (combine === 'most_confident') throw new UserError('multi-teacher combine "most_confident" needs class probabilities; use "mean" or "weighted" for a regression task');
  const w = normalisedWeights(outputs.length, weights, combine);
  return tf.addN(outputs.map((o, k) => tf.mul(o, w[k]))) as tf.Tensor2D;
}

/** (1 − alpha)·a + alpha·b: mixes a target with the momentum (EMA) teacher's. */
export function mixTargets(a: tf.Tensor2D, b: tf.Tensor2D, alpha: number): tf.Tensor2D {
  if (!(alpha >= 0 && alpha <= 1)) throw new UserError(`momentum alpha must be in [0, 1], got ${alpha}`);
  return tf.add(tf.mul(a, 1 - alpha), tf.mul(b, alpha)) as tf.Tensor2D;
}

/** Softened probabilities of the EMA student at its own temperature. */
export function momentumProbs(emaLogits: tf.Tensor2D, temperature: number): tf.Tensor2D {
  return tf.softmax(soften(emaLogits, temperature), -1) as tf.Tensor2D;
}

/** Gold labels [B] as one-hot rows [B, C] (the fixed target in self-distillation). */
export function oneHotTargets(labels: tf.Tensor1D, numClasses: number): tf.Tensor2D {
  return tf.oneHot(tf.cast(labels, 'int32') as tf.Tensor1D, numClasses).toFloat() as tf.Tensor2D;
}

/**
 * Soft cross-entropy against given target probabilities: per row −Σ_c p_c · log_softmax(s/τ)_c,
 * × τ² per row when scaleT2, then the mean over the batch. With p = softmax(t/τ) and a scalar τ this
 * is exactly losses.ts softCrossEntropy.
 */
export function softTargetCrossEntropy(studentLogits: tf.Tensor2D, target: tf.Tensor2D, temperature: Temperature, scaleT2: boolean): tf.Scalar {
  let perRow = tf.neg(tf.sum(tf.mul(target, tf.logSoftmax(soften(studentLogits, temperature), -1)), -1));
  if (scaleT2) perRow = tf.mul(perRow, typeof temperature === 'number' ? temperature ** 2 : tf.square(temperature));
  return tf.mean(perRow) as tf.Scalar;
}

/** KL(p ‖ softmax(s/τ)) per row (0·log 0 = 0), × τ² when scaleT2, mean over the batch. */
export function softTargetKl(studentLogits: tf.Tensor2D, target: tf.Tensor2D, temperature: Temperature, scaleT2: boolean): tf.Scalar {
  const logP = tf.log(tf.maximum(target, 1e-30));
  const logQ = tf.logSoftmax(soften(studentLogits, temperature), -1);
  let perRow = tf.sum(tf.mul(target, tf.sub(logP, logQ)), -1);
  if (scaleT2) perRow = tf.mul(perRow, typeof temperature === 'number' ? temperature ** 2 : tf.square(temperature));
  return tf.mean(perRow) as tf.Scalar;
}
