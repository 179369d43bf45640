/**
 * Fake quantisation in tfjs: values go to the int8 / uint8 grid and back in float32, so the forward pass
 * sees the rounding the int8 model will have, while gradients pass straight through (tf.customGrad).
 * The formulas are those of qparams.ts (and of ONNX QuantizeLinear), op for op in float32.
 */
import * as tf from '@tensorflow/tfjs';
import { withGradient } from '../util/custom-grad.ts';

/**
 * Symmetric per-column fake quantisation of a [in, out] kernel: scale = max|w| / qmax per column
 * (1 for an all-zero column). Straight-through gradient: every weight lies inside its own column's
 * range, so the gradient is passed unchanged (the scale is treated as a constant).
 */
export function fakeQuantWeight(kernel: tf.Tensor2D, qmax: number): tf.Tensor2D {
  const op = withGradient(1, ([w]) => {
    const maxAbs = tf.max(tf.abs(w), 0);
    const scale = tf.where(tf.greater(maxAbs, 0), tf.div(maxAbs, qmax), tf.onesLike(maxAbs));
    const q = tf.clipByValue(tf.round(tf.div(w, scale)), -qmax, qmax);
    return { value: tf.mul(q, scale), gradFunc: (dy) => dy };
  });
  return op(kernel) as tf.Tensor2D;
}

/** uint8 scale and zero point (float32 scalars) of a range, as activationQParams in qparams.ts. */
export function activationQParamsTensor(min: tf.Tensor, max: tf.Tensor): { scale: tf.Scalar; zeroPoint: tf.Scalar } {
  const lo = tf.minimum(min, 0);
  const hi = tf.maximum(max, 0);
  const span = tf.sub(hi, lo);
  const scale = tf.where(tf.greater(span, 0), tf.div(span, 255), tf.onesLike(span)) as tf.Scalar;
  const zeroPoint = tf.clipByValue(tf.round(tf.div(tf.neg(lo), scale)), 0, 255) as tf.Scalar;
  return { scale, zeroPoint };
}

/**
 * Per-tensor uint8 fake quantisation: q = clip(round(x / scale) + zp, 0, 255), x̂ = (q − zp) · scale.
 * Straight-through gradient inside the range, zero where x was clipped (the usual clipped STE); the
 * scale and zero point get none (their range comes from the observer).
 */
export function fakeQuantActivation<T extends tf.Tensor>(x: T, scale: tf.Scalar, zeroPoint: tf.Scalar): T {
  const op = withGradient(3, ([input, s, zp], save) => {
    const shifted = tf.add(tf.round(tf.div(input, s)), zp);
    const inside = tf.logicalAnd(tf.greaterEqual(shifted, 0), tf.lessEqual(shifted, 255));
    save([inside]);
    const q = tf.clipByValue(shifted, 0, 255);
    return {
      value: tf.mul(tf.sub(q, zp), s),
      // Only saved tensors outlive the forward pass (tf.grad tidies it): the zeros are built from shapes.
      gradFunc: (dy, saved) => [tf.where(saved[0], dy, tf.zerosLike(dy)), tf.zeros(s.shape), tf.zeros(zp.shape)],
    };
  });
  return op(x, scale, zeroPoint) as T;
}

/**
 * Per-tensor uint8 fake quantisation over a trainable range [min, max] (LSQ+, Bhalgat et al. 2020, with
 * PACT's clipping gradient): the forward pass is fakeQuantActivation's, on the qparams of the range
 * widened to hold 0. Gradients, with s = (hi − lo) / 255 and v = x / s:
 *   x     straight through inside the range, zero where clipped (as fakeQuantActivation)
 *   lo    1 below the range; −(round(v) − v) / 255 inside; 0 above
 *   hi    1 above the range;  (round(v) − v) / 255 inside; 0 below
 * which is LSQ+'s gradient for scale and offset (x̂ = s · clip(round((x − lo) / s), 0, 255) + lo) written
 * for lo and hi; both scaled by LSQ's 1 / sqrt(N · 255) (N = elements of x) so the range moves at a
 * pace comparable to the weights. Rounding of the zero point is passed straight through.
 */
export function fakeQuantActivationLearned<T extends tf.Tensor>(x: T, min: tf.Tensor, max: tf.Tensor): T {
  const gradScale = 1 / Math.sqrt(x.size * 255);
  const op = withGradient(3, ([input, lo, hi], save) => {
    const { scale, zeroPoint } = activationQParamsTensor(lo, hi);
    const v = tf.div(input, scale);
    const rounded = tf.round(v);
    const shifted = tf.add(rounded, zeroPoint);
    const below = tf.less(shifted, 0);
    const above = tf.greater(shifted, 255);
    save([below, above, tf.sub(rounded, v)]);
    const q = tf.clipByValue(shifted, 0, 255);
    return {
      value: tf.mul(tf.sub(q, zeroPoint), scale),
      gradFunc: (dy, saved) => {
        const [isBelow, isAbove, roundingError] = saved;
        const inside = tf.logicalNot(tf.logicalOr(isBelow, isAbove));
        const zeros = tf.zerosLike(dy);
        const sumWhere = (mask: tf.Tensor, t: tf.Tensor) => tf.sum(tf.where(mask, t, zeros));
        const insideTerm = tf.div(sumWhere(inside, tf.mul(dy, roundingError)), 255);
        return [
          tf.where(inside, dy, zeros),
          tf.mul(tf.sub(sumWhere(isBelow, dy), insideTerm), gradScale),
          tf.mul(tf.add(sumWhere(isAbove, dy), insideTerm), gradScale),
        ];
      },
    };
  });
  // Widening outside the custom op: a min above 0 (or a max below 0) is not used, so it gets no gradient.
  return op(x, tf.minimum(min, 0), tf.maximum(max, 0)) as T;
}
