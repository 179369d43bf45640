import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/select.ts';
import { dropout, gelu, geluPlain, layerNorm, layerNormPlain } from '../../src/student/layers.ts';

beforeAll(async () => {
  await initBackend('cpu');
});

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

/** Gradients of Σ w·f(inputs) with a fixed random weighting w, so every output position matters differently. */
function weightedGrads(f: (...xs: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[], seed: number): tf.Tensor[] {
  return tf.grads((...xs: tf.Tensor[]) => {
    const y = f(...xs);
    return tf.sum(tf.mul(y, tf.randomNormal(y.shape, 0, 1, 'float32', seed)));
  })(inputs);
}

describe('layers with hand-written gradients equal the plain formulas', () => {
  it('GELU: values and gradient (incl. large |x|), and the gradient by hand at 0 and 1', () => {
    const x = tf.concat([tf.randomNormal([200], 0, 2, 'float32', 1), tf.tensor1d([-9, -3, 0, 1, 3, 9])]);
    expect(maxAbsDiff(gelu(x), geluPlain(x))).toBe(0);
    const [a] = weightedGrads(gelu, [x], 7);
    const [b] = weightedGrads(geluPlain, [x], 7);
    expect(maxAbsDiff(a, b)).toBeLessThan(1e-5);
    // GELU'(0) = ½, GELU'(1) = Φ(1) + φ(1) = 0.841345 + 0.241971
    const g = tf.grad((t: tf.Tensor) => tf.sum(gelu(t)))(tf.tensor1d([0, 1])).dataSync();
    expect(g[0]).toBeCloseTo(0.5, 6);
    expect(g[1]).toBeCloseTo(0.841345 + 0.241971, 5);
  });

  it('LayerNorm: values and the gradients of input, scale and shift', () => {
    const x = tf.add(tf.mul(tf.randomNormal([37, 24], 0, 1, 'float32', 2), 3), 1.5) as tf.Tensor2D;
    const gamma = tf.randomNormal([24], 1, 0.2, 'float32', 3);
    const beta = tf.randomNormal([24], 0, 0.2, 'float32', 4);
    const fused = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => layerNorm(a as tf.Tensor2D, g, b, 1e-12);
    const plain = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => layerNormPlain(a as tf.Tensor2D, g, b, 1e-12);
    expect(maxAbsDiff(fused(x, gamma, beta), plain(x, gamma, beta))).toBeLessThan(1e-6);
    const a = weightedGrads(fused, [x, gamma, beta], 9);
    const b = weightedGrads(plain, [x, gamma, beta], 9);
    for (let i = 0; i < 3; i++) expect(maxAbsDiff(a[i], b[i]), `gradient ${i}`).toBeLessThan(2e-5);
    // Σ over a row of dx is 0 whatever dy is (shifting a row does not change its normalised values).
    expect(Math.max(...tf.sum(a[0], -1).dataSync().map(Math.abs))).toBeLessThan(1e-4);
  });

  it('dropout: tf.dropout\'s mask for the same seed, and the gradient is that scaled mask', () => {
    const x = tf.randomNormal([64, 32], 0, 1, 'float32', 5);
    expect(maxAbsDiff(dropout(x, 0.1, 1234), tf.dropout(x, 0.1, undefined, 1234))).toBe(0);
    const [g] = tf.grads((t: tf.Tensor) => tf.sum(dropout(t, 0.25, 99)))([x]);
    const kept = tf.dropout(tf.onesLike(x), 0.25, undefined, 99);
    expect(maxAbsDiff(g, kept)).toBe(0);
    const values = new Set(g.dataSync());
    expect([...values].sort()).toEqual([0, Math.fround(1 / 0.75)]);
  });

  it('keeps fewer tensors alive for the backward pass than the plain formulas', () => {
    const x = tf.randomNormal([16, 8], 0, 1, 'float32', 6) as tf.Tensor2D;
    const gamma = tf.ones([8]);
    const beta = tf.zeros([8]);
    const alive = (f: () => tf.Tensor) => {
      let n = 0;
      tf.grads(() => {
        const before = tf.memory().numTensors;
        const y = f();
        n = tf.memory().numTensors - before;
        return tf.sum(y);
      })([x]);
      return n;
    };
    const fused = alive(() => dropout(gelu(layerNorm(x, gamma, beta, 1e-12)), 0.1, 3));
    const plain = alive(() => tf.dropout(geluPlain(layerNormPlain(x, gamma, beta, 1e-12)), 0.1, undefined, 3));
    expect(fused).toBeLessThan(plain / 2);
  });
});
