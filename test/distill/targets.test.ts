import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/select.ts';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  combineTeacherProbs,
  combineTeacherValues,
  mixTargets,
  oneHotTargets,
  softTargetCrossEntropy,
  softTargetKl,
} from '../../src/distill/targets.ts';

beforeAll(async () => {
  await initBackend('cpu'); // the project's backend start: no tfjs Node banner
});

const arr = (t: tf.Tensor) => t.arraySync() as number[][];

describe('multi-teacher targets', () => {
  // teacher A: row0 probs [0.5, 0.5], row1 [0.8, 0.2]; teacher B: row0 [0.9, 0.1], row1 [0.6, 0.4]
  const a = () => tf.tensor2d([[0, 0], [Math.log(4), 0]]);
  const b = () => tf.tensor2d([[Math.log(9), 0], [Math.log(1.5), 0]]);

  it('mean and weighted mean of softened distributions', () => {
    const mean = arr(combineTeacherProbs([a(), b()], 1, 'mean'));
    expect(mean[0][0]).toBeCloseTo(0.7, 5);
    expect(mean[1][0]).toBeCloseTo(0.7, 5);
    const w = arr(combineTeacherProbs([a(), b()], 1, 'weighted', [3, 1]));
    expect(w[0][0]).toBeCloseTo(0.75 * 0.5 + 0.25 * 0.9, 5);
    expect(() => combineTeacherProbs([a(), b()], 1, 'weighted', [1])).toThrow(/expected 2 weights/);
  });
  it('temperature softens before combining', () => {
    const t2 = arr(combineTeacherProbs([tf.tensor2d([[Math.log(9), 0]])], 2, 'mean'));
    expect(t2[0][0]).toBeCloseTo(0.75, 5); // softmax([log 9, 0] / 2) = [3, 1] / 4
  });
  it('most_confident picks per example the teacher with the highest max probability', () => {
    const p = arr(combineTeacherProbs([a(), b()], 1, 'most_confident'));
    expect(p[0][0]).toBeCloseTo(0.9, 5); // B is surer on row 0
    expect(p[1][0]).toBeCloseTo(0.8, 5); // A is surer on row 1
  });
  it('regression: weighted mean of values; most_confident refused', () => {
    const v = arr(combineTeacherValues([tf.tensor2d([[1], [2]]), tf.tensor2d([[3], [6]])], 'weighted', [1, 3]));
    expect(v[0][0]).toBeCloseTo(2.5, 5);
    expect(v[1][0]).toBeCloseTo(5, 5);
    expect(() => combineTeacherValues([tf.tensor2d([[1]])], 'most_confident')).toThrow(/regression/);
  });
});

describe('momentum mixing and soft-target losses', () => {
  it('mixTargets and one-hot labels', () => {
    const m = arr(mixTargets(oneHotTargets(tf.tensor1d([1]), 2), tf.tensor2d([[0.6, 0.4]]), 0.4));
    expect(m[0][0]).toBeCloseTo(0.24, 6);
    expect(m[0][1]).toBeCloseTo(0.76, 6);
    expect(() => mixTargets(tf.zeros([1, 2]), tf.zeros([1, 2]), 1.5)).toThrow(/alpha/);
  });
  it('soft cross-entropy: hand value, per-row temperature and T² scaling', () => {
    // student logits [log 3, 0] → log_softmax = [log .75, log .25]; target [0.5, 0.5]
    const s = tf.tensor2d([[Math.log(3), 0]]);
    const p = tf.tensor2d([[0.5, 0.5]]);
    const expected = -(0.5 * Math.log(0.75) + 0.5 * Math.log(0.25));
    expect(softTargetCrossEntropy(s, p, 1, false).dataSync()[0]).toBeCloseTo(expected, 5);
    // τ = 2 on [log 9, 0] gives the same student distribution; scaled by 4
    const s2 = tf.tensor2d([[Math.log(9), 0]]);
    expect(softTargetCrossEntropy(s2, p, 2, true).dataSync()[0]).toBeCloseTo(4 * expected, 5);
    const perRow = softTargetCrossEntropy(tf.tensor2d([[Math.log(3), 0], [Math.log(9), 0]]), tf.tensor2d([[0.5, 0.5], [0.5, 0.5]]), tf.tensor1d([1, 2]), false);
    expect(perRow.dataSync()[0]).toBeCloseTo(expected, 5);
  });
  it('KL is cross-entropy minus the target entropy, 0 against itself', () => {
    const s = tf.tensor2d([[Math.log(3), 0]]);
    const p = tf.tensor2d([[0.5, 0.5]]);
    const ce = softTargetCrossEntropy(s, p, 1, false).dataSync()[0];
    expect(softTargetKl(s, p, 1, false).dataSync()[0]).toBeCloseTo(ce - Math.log(2), 5);
    expect(softTargetKl(s, tf.tensor2d([[0.75, 0.25]]), 1, false).dataSync()[0]).toBeCloseTo(0, 6);
    expect(softTargetKl(tf.tensor2d([[5, 0]]), tf.tensor2d([[1, 0]]), 1, false).dataSync()[0]).toBeGreaterThan(0);
  });
});
