/**
 * Fake quantisation against hand computations, against the plain-number qparams (what the exporter
 * writes) and against onnxruntime's QuantizeLinear → DequantizeLinear on the same values.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { DT, GraphBuilder } from '../../src/export/onnx-graph.ts';
import { activationQParamsTensor, fakeQuantActivation, fakeQuantActivationLearned, fakeQuantWeight } from '../../src/quant/fake-quant.ts';
import { activationQParams, fakeQuantValue, quantizeWeightColumns, roundHalfEven } from '../../src/quant/qparams.ts';
import { useCpu } from '../student/helpers.ts';

beforeAll(useCpu);

const arr = (t: tf.Tensor) => Array.from(t.dataSync());
const f32 = Math.fround;

describe('roundHalfEven', () => {
  it('rounds halves to the even neighbour (ONNX QuantizeLinear, tf.round), others to nearest', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4999, 2.5001, 126.5].map(roundHalfEven)).toEqual([0, 2, 2, -0, -2, -2, 2, 3, 126]);
  });
});

describe('weights: symmetric per-column int8', () => {
  // [3, 2] kernel. Column 0: max|w| = 2.54 → scale = 2.54/127 = 0.02; column 1: max|w| = 127 → scale 1, so
  // its values 2.5 and -3.5 sit exactly on halves: half-to-even gives 2 and -4 (Math.round would give 3).
  const w = Float32Array.from([1.0, 2.5, -2.54, -3.5, 0.011, 127]);

  it('quantizeWeightColumns equals the hand computation', () => {
    const { q, scales } = quantizeWeightColumns(w, 3, 2, 127);
    expect(scales[0]).toBe(f32(f32(2.54) / 127));
    expect(scales[1]).toBe(1);
    expect(Array.from(q)).toEqual([50, 2, -127, -4, 1, 127]); // 0.011 / 0.02 = 0.55 → 1
  });

  it('fakeQuantWeight gives q · scale of the same grid, and 63 levels with qmax 63', () => {
    const { q, scales } = quantizeWeightColumns(w, 3, 2, 127);
    const out = arr(fakeQuantWeight(tf.tensor2d(w, [3, 2]), 127));
    expect(out).toEqual(Array.from(q, (v, i) => f32(v * scales[i % 2])));
    expect(out[1]).toBe(2);
    expect(out[3]).toBe(-4);
    const q7 = quantizeWeightColumns(w, 3, 2, 63);
    expect(Math.max(...Array.from(q7.q, Math.abs))).toBe(63);
    expect(arr(fakeQuantWeight(tf.tensor2d(w, [3, 2]), 63))).toEqual(Array.from(q7.q, (v, i) => f32(v * q7.scales[i % 2])));
  });

  it('keeps an all-zero column at zero (scale 1)', () => {
    expect(arr(fakeQuantWeight(tf.tensor2d([0, 1, 0, -1], [2, 2]), 127))).toEqual([0, 1, 0, -1]);
  });

  it('passes the gradient straight through', () => {
    const x = tf.tensor2d(w, [3, 2]);
    const c = tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2]);
    const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(fakeQuantWeight(v as tf.Tensor2D, 127), c)))(x);
    expect(arr(g)).toEqual([1, 2, 3, 4, 5, 6]);
  });
});

describe('activations: per-tensor uint8', () => {
  it('derives scale and zero point from the range (widened to hold 0), as the tensor version does', () => {
    expect(activationQParams(-64, 191)).toEqual({ scale: 1, zeroPoint: 64 });
    expect(activationQParams(2, 255)).toEqual({ scale: 1, zeroPoint: 0 }); // min widened to 0
    expect(activationQParams(-1, 3)).toEqual({ scale: f32(4 / 255), zeroPoint: 64 }); // 1 / (4/255) = 63.75 → 64
    expect(activationQParams(0, 0)).toEqual({ scale: 1, zeroPoint: 0 });
    for (const [lo, hi] of [[-1, 3], [-0.37, 5.9], [0.2, 1.1], [-7, -2], [-1e-3, 2e-3]]) {
      const t = activationQParamsTensor(tf.scalar(lo), tf.scalar(hi));
      expect({ scale: t.scale.dataSync()[0], zeroPoint: t.zeroPoint.dataSync()[0] + 0 }) // + 0: -0 → 0.toEqual(activationQParams(lo, hi));
    }
  });

  it('fake-quantises by hand: half to even, saturating at 0 and 255', () => {
    // Range [-64, 191]: scale 1, zero point 64.
    const x = [-0.5, -1.5, 2.5, 3.5, -70, 200, 0];
    const out = arr(fakeQuantActivation(tf.tensor1d(x), tf.scalar(1), tf.scalar(64)));
    expect(out).toEqual([0, -2, 2, 4, -64, 191, 0]);
    const p = activationQParams(-1, 3);
    const y = [-1.2, -0.3, 0.01, 1.23456, 2.9, 3.3];
    expect(arr(fakeQuantActivation(tf.tensor1d(y), tf.scalar(p.scale), tf.scalar(p.zeroPoint)))).toEqual(y.map((v) => fakeQuantValue(v, p)));
  });

  it('passes the gradient inside the range and blocks it where the value was clipped', () => {
    const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(fakeQuantActivation(v, tf.scalar(1), tf.scalar(64)), tf.tensor1d([1, 2, 3, 4]))));
    expect(arr(g(tf.tensor1d([-70, -3, 100, 300])))).toEqual([0, 2, 3, 0]);
  });
});

describe('activations: learned range (LSQ+)', () => {
  it('fake-quantises as the fixed-range op does with the same range', () => {
    // Range [-64, 191]: scale 1, zero point 64, by hand.
    const x = [-0.5, -1.5, 2.5, 3.5, -70, 200, 0];
    expect(arr(fakeQuantActivationLearned(tf.tensor1d(x), tf.scalar(-64), tf.scalar(191)))).toEqual([0, -2, 2, 4, -64, 191, 0]);
    const p = activationQParams(-1, 3);
    const y = [-1.2, -0.3, 0.01, 1.23456, 2.9, 3.3];
    expect(arr(fakeQuantActivationLearned(tf.tensor1d(y), tf.scalar(-1), tf.scalar(3)))).toEqual(y.map((v) => fakeQuantValue(v, p)));
  });

  it('gives the LSQ+ gradients for the input, min and max (values below, inside and above the range)', () => {
    // Range [-1, 3]: s = 4/255, zero point 64, so the grid spans [-64 s, 191 s] ≈ [-1.004, 2.996].
    // x = -2 is below (round(-127.5) + 64 < 0), 5 above; inside, x / s = 31.875 and 63.75 round to
    // 32 and 64: rounding errors 0.125 and 0.25. Loss Σ c·x̂ with c = [1, 2, 3, 4].
    const x = tf.tensor1d([-2, 0.5, 1.0, 5]);
    const c = tf.tensor1d([1, 2, 3, 4]);
    const loss = (v: tf.Tensor, lo: tf.Tensor, hi: tf.Tensor) => tf.sum(tf.mul(fakeQuantActivationLearned(v, lo, hi), c));
    const [dx, dMin, dMax] = tf.grads(loss)([x, tf.scalar(-1), tf.scalar(3)]);
    const gradScale = 1 / Math.sqrt(4 * 255); // LSQ: 1 / sqrt(N · Qp)
    const inside = (2 * 0.125 + 3 * 0.25) / 255; // Σ c · (round(v) − v) / 255 = 1 / 255
    expect(arr(dx)).toEqual([0, 2, 3, 0]);
    expect(dMin.dataSync()[0]).toBeCloseTo((1 - inside) * gradScale, 6); // c of the value below, less the rounding term
    expect(dMax.dataSync()[0]).toBeCloseTo((4 + inside) * gradScale, 6); // c of the value above, plus the rounding term
    // A min above 0 is widened to 0, so it is not used and gets no gradient.
    const [, dUnused] = tf.grads(loss)([x, tf.scalar(0.5), tf.scalar(3)]);
    expect(dUnused.dataSync()[0]).toBe(0);
  });
});

describe('agreement with onnxruntime QuantizeLinear → DequantizeLinear', () => {
  it('gives the same values, halves and saturation included', async () => {
    const ort = await import('onnxruntime-node');
    const p = activationQParams(-1, 3);
    const g = new GraphBuilder('qdq');
    const x = g.input('x', DT.FLOAT, [12]);
    const s = g.float('s', [], [p.scale]);
    const zp = g.uint8('zp', [], Uint8Array.of(p.zeroPoint));
    g.op('DequantizeLinear', [g.op('QuantizeLinear', [x, s, zp]), s, zp], {}, 'y');
    g.output('y', DT.FLOAT, [12]);
    const bytes = g.encode({ opset: 17, irVersion: 8, producerName: 'test', producerVersion: '0' });
    const session = await ort.InferenceSession.create(bytes);
    // Multiples of half a step land exactly on the rounding ties.
    const values = Float32Array.from([-2, -1.2, -0.3, 0, 0.01, 1.23456, 2.9, 3.3, 10, 0.5 * p.scale, 1.5 * p.scale, -2.5 * p.scale]);
    const onnx = (await session.run({ x: new ort.Tensor('float32', values, [12]) })).y.data as Float32Array;
    const tfjs = arr(fakeQuantActivation(tf.tensor1d(values), tf.scalar(p.scale), tf.scalar(p.zeroPoint)));
    expect(tfjs).toEqual(Array.from(onnx));
    expect(Array.from(values, (v) => fakeQuantValue(v, p))).toEqual(Array.from(onnx));
  });
});
