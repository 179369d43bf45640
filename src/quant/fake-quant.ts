/**
 * Fake quantisation in tfjs: values go to the int8 / uint8 grid and back in float32, so the forward pass
 * sees the rounding the int8 model will have, while gradients pass straight through (tf.customGrad).
 * The formulas are those of qparams.ts (and of ONNX QuantizeLinear), op for op in float32.
 */
import * as tf from '@tensorflow/tfjs';

/** tf.customGrad's declared parameter type mixes tensors and the save function; the calls below are typed by hand. */
type CustomGradFn = Parameters<typeof tf.customGrad>[0];

/**
 * Symmetric per-column fake quantisation of a [in, out] kernel: scale = max|w| / qmax per column
 * (1 for an all-zero column). Straight-through gradient: every weight lies inside its own column's
 * range, so the gradient is passed unchanged (the scale is treated as a constant).
 */
export function fakeQuantWeight(kernel: tf.Tensor2D, qmax: number): tf.Tensor2D {
  const op = tf.customGrad(((w: tf.Tensor) => {
    const maxAbs = tf.max(tf.abs(w), 0);
    const scale = tf.where(tf.greater(maxAbs, 0), tf.div(maxAbs, qmax), tf.onesLike(maxAbs));
    const q = tf.clipByValue(tf.round(tf.div(w, scale)), -qmax, qmax);
    return { value: tf.mul(q, scale), gradFunc: (dy: tf.Tensor) => dy };
  }) as unknown as CustomGradFn);
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
  const op = tf.customGrad(((input: tf.Tensor, s: tf.Tensor, zp: tf.Tensor, save: tf.GradSaveFunc) => {
    const shifted = tf.add(tf.round(tf.div(input, s)), zp);
    const inside = tf.logicalAnd(tf.greaterEqual(shifted, 0), tf.lessEqual(shifted, 255));
    save([inside]);
    const q = tf.clipByValue(shifted, 0, 255);
    return {
      value: tf.mul(tf.sub(q, zp), s),
      // Only saved tensors outlive the forward pass (tf.grad tidies it): the zeros are built from shapes.
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [tf.where(saved[0], dy, tf.zerosLike(dy)), tf.zeros(s.shape), tf.zeros(zp.shape)],
    };
  }) as unknown as CustomGradFn);
  return op(x, scale, zeroPoint) as T;
}
