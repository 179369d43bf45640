/**
 * GELU, LayerNorm and dropout with hand-written gradients (tf.customGrad). Autodiff of the plain formulas keeps
 * every intermediate of the forward pass alive until the backward pass ends (tfjs's tape holds them all); these keep
 * only what their gradient needs — GELU its input, LayerNorm the normalised input and 1/σ, dropout its scaled mask —
 * and their backward passes are a few fused expressions instead of the chain of each elementary op's gradient.
 * Forward values are the same operations as the plain formulas (tested against them, with the gradients).
 */
import * as tf from '@tensorflow/tfjs';
import { withGradient } from '../util/custom-grad.ts';

const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/** GELU, erf form (BERT's): x · ½(1 + erf(x/√2)). */
export function geluPlain<T extends tf.Tensor>(x: T): T {
  return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2)))) as T;
}

const geluGrad = withGradient(1, ([x], save) => {
  save([x]);
  return {
    value: geluPlain(x),
    // d/dx x·Φ(x) = Φ(x) + x·φ(x)
    gradFunc: (dy, [saved]) => {
      const cdf = tf.mul(0.5, tf.add(1, tf.erf(tf.mul(saved, Math.SQRT1_2))));
      const pdf = tf.mul(INV_SQRT_2PI, tf.exp(tf.mul(tf.square(saved), -0.5)));
      return [tf.mul(dy, tf.add(cdf, tf.mul(saved, pdf)))];
    },
  };
});

export function gelu<T extends tf.Tensor>(x: T): T {
  return geluGrad(x) as T;
}

/** LayerNorm over the last axis of [N, H]: (x − μ)/√(σ² + eps) · γ + β, the plain formula. */
export function layerNormPlain(x: tf.Tensor2D, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor2D {
  const { mean, variance } = tf.moments(x, -1, true);
  const normed = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
  return tf.add(tf.mul(normed, gamma), beta) as tf.Tensor2D;
}

/** LayerNorm with its closed-form gradient: dx = (g − mean(g) − x̂·mean(g·x̂)) / σ with g = dy·γ. */
export function layerNorm(x: tf.Tensor2D, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor2D {
  const op = withGradient(3, ([xIn, g, b], save) => {
    const { mean, variance } = tf.moments(xIn, -1, true);
    const invStd = tf.rsqrt(tf.add(variance, eps));
    const normed = tf.mul(tf.sub(xIn, mean), invStd);
    save([normed, invStd, g]);
    return {
      value: tf.add(tf.mul(normed, g), b),
      gradFunc: (dy, [xHat, inv, gammaSaved]) => {
        const gy = tf.mul(dy, gammaSaved);
        const centred = tf.sub(gy, tf.mean(gy, -1, true));
        const dx = tf.mul(tf.sub(centred, tf.mul(xHat, tf.mean(tf.mul(gy, xHat), -1, true))), inv);
        return [dx, tf.sum(tf.mul(dy, xHat), 0), tf.sum(dy, 0)];
      },
    };
  });
  return op(x, gamma, beta) as tf.Tensor2D;
}

/**
 * Inverted dropout with tf.dropout's mask (same seed, same keep decisions, same scaling), keeping only the scaled
 * mask for the backward pass.
 */
export function dropout<T extends tf.Tensor>(x: T, rate: number, seed: number): T {
  const op = withGradient(1, ([xIn], save) => {
    const keep = 1 - rate;
    const multiplier = tf.div(tf.floor(tf.add(tf.randomUniform(xIn.shape, 0, 1, 'float32', seed), keep)), keep);
    save([multiplier]);
    return { value: tf.mul(xIn, multiplier), gradFunc: (dy, [m]) => [tf.mul(dy, m)] };
  });
  return op(x) as T;
}
