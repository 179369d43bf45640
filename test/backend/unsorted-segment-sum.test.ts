import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/select.ts';
import { Rng } from '../../src/util/rng.ts';
import { maxRelDiff, randomArray, runOn } from './helpers.ts';

beforeAll(async () => {
  await initBackend('wasm', { threads: 1 });
});

describe('UnsortedSegmentSum on wasm', () => {
  it('is registered by initBackend', () => {
    expect(tf.getBackend()).toBe('wasm');
    expect(tf.getKernel('UnsortedSegmentSum', 'wasm')).toBeDefined();
  });

  it('sums rows by id (hand-computed), skipping ids out of range', () => {
    const x = tf.tensor2d([[1, 2], [3, 4], [5, 6], [7, 8], [9, 10]]);
    const ids = tf.tensor1d([2, 0, 2, -1, 5], 'int32');
    const out = tf.unsortedSegmentSum(x, ids, 3);
    expect(out.shape).toEqual([3, 2]);
    expect(Array.from(out.dataSync())).toEqual([3, 4, 0, 0, 6, 8]);
    tf.dispose([x, ids, out]);
  });

  it('handles int32 values and multi-dimensional ids (reference computed in JS)', () => {
    // The cpu backend mis-broadcasts ids of rank > 1, so the reference is a plain loop.
    const rng = new Rng(3);
    const ids = Int32Array.from({ length: 12 }, () => rng.int(4));
    const vals = Int32Array.from({ length: 12 * 5 }, () => rng.int(100) - 50);
    const expected = new Array(4 * 5).fill(0);
    for (let i = 0; i < 12; i++) for (let j = 0; j < 5; j++) expected[ids[i] * 5 + j] += vals[i * 5 + j];
    const out = tf.unsortedSegmentSum(tf.tensor3d(vals, [3, 4, 5], 'int32'), tf.tensor2d(ids, [3, 4], 'int32') as unknown as tf.Tensor1D, 4); // the op's type says 1-D; the kernel takes any prefix
    expect(out.dtype).toBe('int32');
    expect(out.shape).toEqual([4, 5]);
    expect(Array.from(out.dataSync())).toEqual(expected);
    out.dispose();
  });

  it('gives gather the same gradient as the cpu backend, with repeated ids', async () => {
    const rng = new Rng(7);
    const table = randomArray(50 * 8, rng);
    const ids = Int32Array.from({ length: 64 }, () => rng.int(50));
    const upstream = randomArray(64 * 8, rng);
    const f = () => {
      const t = tf.tensor2d(table, [50, 8]);
      const g = tf.grad((w: tf.Tensor) => tf.sum(tf.mul(tf.gather(w, tf.tensor1d(ids, 'int32')), tf.tensor2d(upstream, [64, 8]))));
      return [g(t)];
    };
    const [wasm] = await runOn('wasm', f);
    const [cpu] = await runOn('cpu', f);
    expect(maxRelDiff(wasm, cpu)).toBeLessThan(1e-5);
  });

  it('leaves no tensors behind', () => {
    const before = tf.memory().numTensors;
    const dataIds = tf.backend().numDataIds();
    tf.tidy(() => {
      tf.unsortedSegmentSum(tf.ones([6, 3]), tf.tensor1d([0, 1, 0, 1, 2, 2], 'int32'), 3);
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(tf.backend().numDataIds()).toBe(dataIds);
  });
});
