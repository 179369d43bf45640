import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/select.ts';
import { beforeAll, describe, expect, it } from 'vitest';
import { cwsmTemperature, flswTemperature, MIN_TEMPERATURE } from '../../src/distill/temperature.ts';

beforeAll(async () => {
  await initBackend('cpu'); // the project's backend start: no tfjs Node banner
});

describe('per-sample temperature rules (TextBrewer flsw / cwsm)', () => {
  it('flsw: τ = T + β(mean(w) − w), w = (1 − cos)^γ', () => {
    // row 0: student ∥ teacher → cos 1, w 0; row 1: orthogonal → cos 0, w 1. mean w = 0.5
    const s = tf.tensor2d([[1, 0], [1, 0]]);
    const t = tf.tensor2d([[2, 0], [0, 3]]);
    const tau = flswTemperature(s, t, 2, 1, 1).arraySync();
    expect(tau[0]).toBeCloseTo(2.5, 5);
    expect(tau[1]).toBeCloseTo(1.5, 5);
    // γ = 2 on an anti-parallel pair: w = 4
    const tau2 = flswTemperature(tf.tensor2d([[1, 0], [1, 0]]), tf.tensor2d([[-1, 0], [1, 0]]), 1, 0.1, 2).arraySync();
    expect(tau2[0]).toBeCloseTo(1 + 0.1 * (2 - 4), 5);
    expect(tau2[1]).toBeCloseTo(1 + 0.1 * 2, 5);
  });
  it('cwsm: w = 1/(max softmax + 1e-3)', () => {
    const s = tf.tensor2d([[0, 0], [Math.log(3), 0]]); // max probs 0.5 and 0.75
    const w = [1 / 0.501, 1 / 0.751];
    const mean = (w[0] + w[1]) / 2;
    const tau = cwsmTemperature(s, 1, 0.5).arraySync();
    expect(tau[0]).toBeCloseTo(1 + 0.5 * (mean - w[0]), 5);
    expect(tau[1]).toBeCloseTo(1 + 0.5 * (mean - w[1]), 5);
  });
  it('clamps to a positive floor', () => {
    const tau = flswTemperature(tf.tensor2d([[1, 0], [1, 0]]), tf.tensor2d([[-1, 0], [1, 0]]), 0.1, 10, 1).arraySync();
    expect(tau[0]).toBeCloseTo(MIN_TEMPERATURE, 6);
  });
});

describe('stopGradient', () => {
  it('passes values and blocks gradients', async () => {
    const { stopGradient } = await import('../../src/distill/temperature.ts');
    const x = tf.tensor1d([1, 2]);
    const g = tf.grad((v: tf.Tensor) => tf.sum(tf.add(tf.mul(v, 3), tf.square(stopGradient(v)))))(x);
    expect(Array.from(g.dataSync())).toEqual([3, 3]);
    expect(Array.from(stopGradient(x).dataSync())).toEqual([1, 2]);
  });
});
