import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/select.ts';
import { beforeAll, describe, expect, it } from 'vitest';
import { clipByGlobalNorm, GradAccumulator, globalNorm } from '../../src/train/grads.ts';

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
