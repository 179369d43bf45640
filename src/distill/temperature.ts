import * as tf from '@tensorflow/tfjs';
import { withGradient } from '../util/custom-grad.ts';

/**
 * Per-sample temperatures (TextBrewer's flsw / cwsm schedulers, after arXiv:1911.07471). Both
 * return a [B] temperature around the base: samples that are "harder" than the batch mean get a
 * lower temperature (sharper targets), easier ones a higher one. Gradients never flow through them.
 */
/** Identity whose gradient is zero (tfjs has no stop_gradient op). */
export const stopGradient = withGradient(1, ([x]) => ({
  value: x.clone(),
  gradFunc: (dy) => tf.zerosLike(dy),
})) as <T extends tf.Tensor>(x: T) => T;

export type TemperatureRule =
  | { kind: 'fixed' }
  | { kind: 'flsw'; beta: number; gamma: number }
  | { kind: 'cwsm'; beta: number };

/** Temperatures below this would blow the logits up; the rules are clamped to it. */
export const MIN_TEMPERATURE = 0.05;

/**
 * flsw: w = (1 − cos(s, t))^γ, the cosine between student and teacher logits;
 * τ = T + β·(mean(w) − w).
 * @param studentLogits [B, C]
 * @param teacherLogits [B, C]
 * @returns [B]
 */
export function flswTemperature(studentLogits: tf.Tensor2D, teacherLogits: tf.Tensor2D, base: number, beta: number, gamma: number): tf.Tensor1D {
  return tf.tidy(() => {
    const s = stopGradient(studentLogits);
    const t = stopGradient(teacherLogits);
    const sn = tf.div(s, tf.maximum(tf.norm(s, 'euclidean', -1, true), 1e-12));
    const tn = tf.div(t, tf.maximum(tf.norm(t, 'euclidean', -1, true), 1e-12));
    // 1 − cos is in [0, 2]; clamp tiny negatives from rounding so pow stays real.
    const w = tf.pow(tf.relu(tf.sub(1, tf.sum(tf.mul(sn, tn), -1))), gamma);
    return spread(w, base, beta);
  });
}

/**
 * cwsm: w = 1 / (max softmax(s) + 1e-3), the student's inverse confidence; τ = T + β·(mean(w) − w).
 * @param studentLogits [B, C]
 * @returns [B]
 */
export function cwsmTemperature(studentLogits: tf.Tensor2D, base: number, beta: number): tf.Tensor1D {
  return tf.tidy(() => {
    const p = tf.softmax(stopGradient(studentLogits), -1);
    const w = tf.div(1, tf.add(tf.max(p, -1), 1e-3));
    return spread(w, base, beta);
  });
}

function spread(w: tf.Tensor, base: number, beta: number): tf.Tensor1D {
  const tau = tf.add(base, tf.mul(beta, tf.sub(tf.mean(w), w)));
  return tf.maximum(tau, MIN_TEMPERATURE) as tf.Tensor1D;
}

/** The [B] temperature a rule gives (a constant vector for 'fixed'). */
export function sampleTemperatures(
  rule: TemperatureRule,
  studentLogits: tf.Tensor2D,
  teacherLogits: tf.Tensor2D,
  base: number,
): tf.Tensor1D {
  switch (rule.kind) {
    case 'fixed':
      return tf.fill([studentLogits.shape[0]], base) as tf.Tensor1D;
    case 'flsw':
      return flswTemperature(studentLogits, teacherLogits, base, rule.beta, rule.gamma);
    case 'cwsm':
      return cwsmTemperature(studentLogits, base, rule.beta);
  }
}
