import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/select.ts';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  attentionKl,
  attentionProbMse,
  attentionScoreMse,
  hiddenMse,
  labelCrossEntropy,
  labelMse,
  logitMse,
  lossByName,
  predictionMatches,
  softCrossEntropy,
  softKl,
  type LossContext,
} from '../../src/distill/losses.ts';

beforeAll(async () => {
  await initBackend('cpu'); // the project's backend start: no tfjs Node banner
});

const ctx = (mask: number[][], temperature = 1, scaleT2 = false): LossContext => ({
  mask: tf.tensor2d(mask),
  temperature,
  scaleT2,
});
const val = (x: tf.Scalar) => x.dataSync()[0];
const LN2 = Math.log(2);

describe('hidden MSE', () => {
  it('averages over real tokens × hidden only', () => {
    // row 0: only token 0 is real: (1−0)² + (2−2)² = 1; token 1 (padding) differs but must not count.
    // row 1: both real: (1−0)² + (1−0)² + (1−1)² + (1−3)² = 6.
    // mean over 3 real tokens × H=2: 7 / 6.
    const s = tf.tensor3d([[[1, 2], [3, 4]], [[1, 1], [1, 1]]]);
    const t = tf.tensor3d([[[0, 2], [3, 0]], [[0, 0], [1, 3]]]);
    expect(val(hiddenMse(s, t, ctx([[1, 0], [1, 1]])))).toBeCloseTo(7 / 6, 6);
  });
});

describe('attention MSE on scores', () => {
  it('zeroes entries ≤ −100 on both sides (TinyBERT rule)', () => {
    // All real. Cleaned s = [[1, 0], [0, 2]], t = [[0, 1], [0, 0]]: squares 1 + 1 + 0 + 4 = 6; mean over 4 pairs = 1.5.
    const s = tf.tensor4d([[[[1, -200], [0, 2]]]]);
    const t = tf.tensor4d([[[[0, 1], [0, -150]]]]);
    expect(val(attentionScoreMse(s, t, ctx([[1, 1]])))).toBeCloseTo(1.5, 6);
  });

  it('counts padding rows and columns as 0 and averages over real pairs × heads', () => {
    // Length 1 of 2, 2 heads: only pair (0,0) is real. head 0: (1−3)² = 4; head 1: (2−2)² = 0.
    // The padding query row holds large differences that must not count. Mean over 2 heads × 1 pair = 2.
    const s = tf.tensor4d([[[[1, -10000], [9, -10000]], [[2, -10000], [7, -10000]]]]);
    const t = tf.tensor4d([[[[3, -10000], [-9, -10000]], [[2, -10000], [0, -10000]]]]);
    expect(val(attentionScoreMse(s, t, ctx([[1, 0]])))).toBeCloseTo(2, 6);
  });

  it('stays finite when the teacher masks with -Infinity or float-min', () => {
    const s = tf.tensor4d([[[[1, -10000], [0, -10000]]]]);
    const t = tf.tensor4d([[[[3, -Infinity], [0, -3.4e38]]]]);
    // Both tokens real (4 pairs); the masked key column is zeroed on both sides, so only (0,0) differs:
    // (1−3)² = 4 over 4 pairs = 1, and no inf − inf.
    expect(val(attentionScoreMse(s, t, ctx([[1, 1]])))).toBeCloseTo(1, 6);
  });
});

describe('attention MSE on probabilities', () => {
  it('averages over real pairs of all rows', () => {
    // row 0 (all real): s [[.5,.5],[1,0]] vs t [[1,0],[.5,.5]]: 4 × .25 = 1 over 4 pairs.
    // row 1 (length 1): only (0,0): (.2 − .6)² = .16 over 1 pair. Mean (1 + .16) / 5 = .232.
    const s = tf.tensor4d([[[[0.5, 0.5], [1, 0]]], [[[0.2, 0.8], [0.3, 0.7]]]]);
    const t = tf.tensor4d([[[[1, 0], [0.5, 0.5]]], [[[0.6, 0.4], [0.9, 0.1]]]]);
    expect(val(attentionProbMse(s, t, ctx([[1, 1], [1, 0]])))).toBeCloseTo(0.232, 6);
  });
});

describe('attention KL', () => {
  // Student uniform over 2 keys; teacher row 0 = softmax([ln 3, 0]) = (.75, .25), row 1 uniform.
  // KL row 0 = .75 ln(.75/.5) + .25 ln(.25/.5) = 0.1308120; row 1 = 0; mean over 2 rows = 0.0654060.
  const expected = (0.75 * Math.log(1.5) + 0.25 * Math.log(0.5)) / 2;
  it('matches the hand value', () => {
    const s = tf.tensor4d([[[[0, 0], [0, 0]]]]);
    const t = tf.tensor4d([[[[Math.log(3), 0], [0, 0]]]]);
    expect(val(attentionKl(s, t, ctx([[1, 1]])))).toBeCloseTo(expected, 6);
  });
  it('ignores padded keys and padded query rows, whatever value the teacher put there', () => {
    const s = tf.tensor4d([[[[0, 0, -10000], [0, 0, -10000], [3, 1, -10000]]]]);
    const t = tf.tensor4d([[[[Math.log(3), 0, 5], [0, 0, 5], [-4, 2, 5]]]]);
    expect(val(attentionKl(s, t, ctx([[1, 1, 0]])))).toBeCloseTo(expected, 6);
  });
});

describe('prediction losses', () => {
  // row 0: s [0, 0] (log_softmax = ln .5 each), t [ln 3, 0] (p = .75, .25)
  // row 1: s [ln 4, 0] (log_softmax = ln .8, ln .2), t [0, 0] (p = .5, .5)
  const s = () => tf.tensor2d([[0, 0], [Math.log(4), 0]]);
  const t = () => tf.tensor2d([[Math.log(3), 0], [0, 0]]);

  it('soft cross-entropy sums over classes and averages over the batch', () => {
    // row 0: −(.75 + .25) ln .5 = ln 2 = 0.693147; row 1: −.5 (ln .8 + ln .2) = 0.916291; mean 0.804719.
    // (TinyBERT's mean over classes too would give half: 0.402359.)
    const expected = (LN2 - 0.5 * (Math.log(0.8) + Math.log(0.2))) / 2;
    expect(val(softCrossEntropy(s(), t(), ctx([[1]])))).toBeCloseTo(expected, 6);
    expect(expected).toBeCloseTo(0.804719, 5);
  });

  it('soft KL matches the hand value', () => {
    // row 0: .75 ln(.75/.5) + .25 ln(.25/.5) = 0.130812; row 1: .5 ln(.5/.8) + .5 ln(.5/.2) = 0.223144.
    const expected = (0.75 * Math.log(1.5) + 0.25 * Math.log(0.5) + 0.5 * Math.log(0.625) + 0.5 * Math.log(2.5)) / 2;
    expect(val(softKl(s(), t(), ctx([[1]])))).toBeCloseTo(expected, 6);
  });

  it('applies the temperature before softmax and T² only when asked', () => {
    // T = 2: t/T = [ln 3, 0] -> (.75, .25); s/T = [0, 0] -> uniform. KL = 0.130812, × 4 with scaleT2.
    const sT = tf.tensor2d([[0, 0]]);
    const tT = tf.tensor2d([[2 * Math.log(3), 0]]);
    const kl = 0.75 * Math.log(1.5) + 0.25 * Math.log(0.5);
    expect(val(softKl(sT, tT, ctx([[1]], 2, false)))).toBeCloseTo(kl, 6);
    expect(val(softKl(sT, tT, ctx([[1]], 2, true)))).toBeCloseTo(4 * kl, 6);
    // Soft CE with a uniform student is ln 2 regardless of the teacher; × T² = 4 ln 2.
    expect(val(softCrossEntropy(sT, tT, ctx([[1]], 2, true)))).toBeCloseTo(4 * LN2, 6);
  });

  it('logit MSE and hard-label losses', () => {
    // (1−0)² and (2−4)²: mean (1 + 4) / 2 = 2.5
    expect(val(logitMse(tf.tensor2d([[1], [2]]), tf.tensor2d([[0], [4]])))).toBeCloseTo(2.5, 6);
    expect(val(labelMse(tf.tensor2d([[1], [2]]), tf.tensor1d([0, 4])))).toBeCloseTo(2.5, 6);
    // row 0 label 1: −ln .5 = 0.693147; row 1 label 0: −ln .8 = 0.223144; mean 0.458145
    expect(val(labelCrossEntropy(s(), tf.tensor1d([1, 0], 'int32')))).toBeCloseTo((LN2 - Math.log(0.8)) / 2, 6);
  });
});

describe('name table and prediction matches', () => {
  it('unknown names throw listing the valid ones', () => {
    expect(() => lossByName('kd_cee', 'distill.prediction.loss')).toThrow(/distill\.prediction\.loss: unknown loss "kd_cee"; valid losses: .*kd_ce/);
    expect(lossByName('attention_mse').feature).toBe('attention');
  });
  it('mixes soft and hard losses by alpha', () => {
    expect(predictionMatches({ regression: false, alpha: 0.25, temperature: 2 })).toEqual([
      { feature: 'logits', loss: 'kd_ce', weight: 0.75, temperature: 2, scaleT2: undefined },
      { feature: 'labels', loss: 'ce', weight: 0.25 },
    ]);
    expect(predictionMatches({ regression: true }).map((m) => m.loss)).toEqual(['kd_mse']);
    expect(predictionMatches({ regression: true, alpha: 1 }).map((m) => m.loss)).toEqual(['mse']);
    expect(() => predictionMatches({ regression: false, alpha: 1.5 })).toThrow(/alpha/);
  });
});

describe('hiddenMse gradient (hand-written) equals autodiff of the plain formula', () => {
  it('with padded tokens, whose teacher states differ and must get no gradient', () => {
    const B = 3, L = 5, H = 4;
    const mask = tf.tensor2d([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 1, 0, 0, 0]], [B, L]);
    const s = tf.randomNormal([B, L, H], 0, 1, 'float32', 3);
    const t = tf.randomNormal([B, L, H], 0, 2, 'float32', 4);
    const c = { mask, temperature: 1, scaleT2: false };
    const plain = (x: tf.Tensor) => tf.div(tf.sum(tf.mul(tf.square(tf.sub(x, t)), tf.reshape(mask, [B, L, 1]))), tf.mul(tf.sum(mask), H));
    expect(hiddenMse(s, t, c).dataSync()[0]).toBeCloseTo(plain(s).dataSync()[0], 5);
    const weight = 0.37;
    const [a] = tf.grads((x: tf.Tensor) => tf.mul(hiddenMse(x, t, c), weight))([s]);
    const [b] = tf.grads((x: tf.Tensor) => tf.mul(plain(x), weight))([s]);
    expect(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]).toBeLessThan(1e-6);
    // Padding (row 2, tokens 2..4) gets exactly zero; real tokens do not.
    expect(Array.from(tf.slice(a, [2, 2, 0], [1, 3, H]).dataSync()).every((g) => g === 0)).toBe(true);
    expect(tf.sum(tf.abs(tf.slice(a, [0, 0, 0], [1, L, H]))).dataSync()[0]).toBeGreaterThan(0);
  });
});

describe('attentionScoreMse gradient (hand-written) equals autodiff of the plain formula', () => {
  it('over padded pairs and scores at or below the masked threshold on both sides', () => {
    const B = 3, h = 2, L = 5;
    const mask = tf.tensor2d([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 1, 0, 0, 0]], [B, L], 'int32');
    // Scores with some entries masked the teacher's way (−10000, −1e4 + noise) and some exactly at the threshold.
    const noise = (seed: number) => tf.randomNormal([B, h, L, L], 0, 3, 'float32', seed);
    const masked = tf.tensor4d(Array.from({ length: B * h * L * L }, (_, i) => (i % 7 === 0 ? -10000 : i % 11 === 0 ? -100 : 0)), [B, h, L, L]);
    const s = tf.add(noise(1), masked);
    const t = tf.add(noise(2), tf.reverse(masked, 3));
    const c = { mask: tf.cast(mask, 'float32') as tf.Tensor2D, temperature: 1, scaleT2: false };
    const plain = (x: tf.Tensor) => {
      const pair = tf.mul(tf.reshape(c.mask, [B, 1, L, 1]), tf.reshape(c.mask, [B, 1, 1, L]));
      const clean = (y: tf.Tensor) => tf.mul(tf.where(tf.greaterEqual(tf.scalar(-100), y), tf.zerosLike(y), y), pair);
      return tf.div(tf.sum(tf.square(tf.sub(clean(x), clean(t)))), tf.mul(tf.sum(pair), h));
    };
    expect(attentionScoreMse(s, t, c).dataSync()[0]).toBeCloseTo(plain(s).dataSync()[0], 4);
    const weight = 0.37; // a non-unit upstream gradient
    const [a] = tf.grads((x: tf.Tensor) => tf.mul(attentionScoreMse(x, t, c), weight))([s]);
    const [b] = tf.grads((x: tf.Tensor) => tf.mul(plain(x), weight))([s]);
    expect(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]).toBeLessThan(1e-6);
    expect(tf.sum(tf.abs(a)).dataSync()[0]).toBeGreaterThan(0);
  });
});
