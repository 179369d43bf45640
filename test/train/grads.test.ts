import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/select.ts';
import { beforeAll, describe, expect, it } from 'vitest';
import { ADDN_MAX_INPUTS, clipByGlobalNorm, GradAccumulator, globalNorm, sumInOrder } from '../../src/train/grads.ts';

beforeAll(async () => {
  await initBackend('cpu'); // the project's backend start: no tfjs Node banner
});

describe('gradient clipping and accumulation', () => {
  it('global norm over all tensors; clipping scales to maxNorm', () => {
    const g = new Map([['a', tf.tensor1d([3, 0])], ['b', tf.tensor1d([0, 4])]]);
    expect(globalNorm(g)).toBeCloseTo(5);
    const { grads, norm } = clipByGlobalNorm(g, 1);
    expect(norm).toBeCloseTo(5);
    expect(Array.from(grads.get('a')!.dataSync())[0]).toBeCloseTo(0.6, 5);
    expect(Array.from(grads.get('b')!.dataSync())[1]).toBeCloseTo(0.8, 5);
    const unclipped = clipByGlobalNorm(g, 10).grads;
    expect(Array.from(unclipped.get('a')!.dataSync())).toEqual([3, 0]);
  });
  it('sumInOrder: the bits of one AddN over all inputs, in AddNs of at most 7 inputs (WebGPU binds 8 buffers per shader)', async () => {
    // Magnitudes spread over 12 orders so that any other summation order rounds differently.
    const xs = Array.from({ length: 42 }, (_, i) => tf.tensor1d([Math.sin(i + 1) * 10 ** ((i * 7) % 12 - 6), 1 / (i + 3)]));
    for (const n of [1, 2, 7, 8, 13, 14, 42]) {
      const part = xs.slice(0, n);
      const want = tf.tidy(() => tf.addN(part).dataSync());
      const got = tf.tidy(() => sumInOrder(part).dataSync());
      expect(Array.from(got), `${n} inputs`).toEqual(Array.from(want));
      // Left to right: the sum reversed differs in its last bits for 42 inputs, so the equality above can fail.
      if (n === 42) expect(tf.tidy(() => Array.from(sumInOrder([...part].reverse()).dataSync()))).not.toEqual(Array.from(want));
      const profile = await tf.profile(() => tf.tidy(() => sumInOrder(part)));
      const addNs = profile.kernels.filter((k) => k.name === 'AddN');
      expect(addNs.length, `${n} inputs`).toBe(n === 1 ? 0 : 1 + Math.ceil(Math.max(0, n - ADDN_MAX_INPUTS) / (ADDN_MAX_INPUTS - 1)));
      for (const k of addNs) expect(k.inputShapes.length).toBeLessThanOrEqual(ADDN_MAX_INPUTS);
      if (profile.result !== part[0]) (profile.result as tf.Tensor).dispose();
    }
    for (const x of xs) x.dispose();
  });
  it('the global norm of 42 tensors is the norm (WebGPU: was a stale read-back when one AddN took them all)', () => {
    const g = new Map(Array.from({ length: 42 }, (_, i) => [`p${i}`, tf.tensor1d([i, 1])] as [string, tf.Tensor]));
    let sq = 0;
    for (let i = 0; i < 42; i++) sq += i * i + 1;
    expect(globalNorm(g)).toBeCloseTo(Math.sqrt(sq), 3);
    for (const t of g.values()) t.dispose();
  });
  it('accumulator returns the mean and owns its tensors', () => {
    const acc = new GradAccumulator();
    const before = tf.memory().numTensors;
    const g1 = new Map([['a', tf.tensor1d([1, 2])]]);
    const g2 = new Map([['a', tf.tensor1d([3, 6])]]);
    acc.add(g1);
    acc.add(g2);
    g1.get('a')!.dispose();
    g2.get('a')!.dispose();
    const mean = acc.takeMean();
    expect(Array.from(mean.get('a')!.dataSync())).toEqual([2, 4]);
    mean.get('a')!.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(acc.count).toBe(0);
  });
});
