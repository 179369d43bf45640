import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/select.ts';
import { registerExtraKernels } from '../../src/backend/register.ts';
import { Rng } from '../../src/util/rng.ts';
import { maxRelDiff, randomArray, runOn } from './helpers.ts';

beforeAll(async () => {
  await initBackend('wasm', { threads: 1 });
});

const cases: { a: number[]; b: number[]; ta: boolean; tb: boolean }[] = [
  { a: [5, 3], b: [3, 4], ta: false, tb: false },
  { a: [5, 3], b: [4, 3], ta: false, tb: true },
  { a: [3, 5], b: [3, 4], ta: true, tb: false },
  { a: [3, 5], b: [4, 3], ta: true, tb: true },
  { a: [2, 3, 7, 5], b: [2, 3, 6, 5], ta: false, tb: true }, // attention scores q·kᵀ
  { a: [2, 3, 7, 6], b: [2, 3, 7, 5], ta: true, tb: false }, // their gradient
  { a: [4, 7, 5], b: [5, 6], ta: false, tb: false }, // broadcast b over the batch
  { a: [4, 5, 7], b: [6, 5], ta: true, tb: true },
  // batched products, run slice by slice through the XNNPACK path
  { a: [1, 7, 5], b: [1, 5, 3], ta: false, tb: false }, // batch 1
  { a: [1, 1, 5, 3], b: [1, 1, 4, 3], ta: false, tb: true },
  { a: [3, 7, 5], b: [3, 5, 9], ta: false, tb: false },
  { a: [3, 5, 7], b: [3, 9, 5], ta: true, tb: true },
  { a: [2, 5, 1, 3], b: [2, 5, 3, 1], ta: false, tb: false }, // 1x1 outputs
  { a: [2, 3, 9, 11], b: [2, 3, 11, 13], ta: false, tb: false }, // odd sizes
  { a: [2, 3, 11, 9], b: [2, 3, 11, 13], ta: true, tb: false },
  { a: [3, 1, 4], b: [3, 1, 6], ta: true, tb: false }, // inner size 1
  { a: [5, 4, 3], b: [1, 3, 2], ta: false, tb: false }, // b broadcast, batch 1 kept
  { a: [1, 4, 3], b: [5, 2, 3], ta: false, tb: true }, // a broadcast
  { a: [6, 2, 3], b: [3, 2], ta: false, tb: false }, // b rank 2: one stacked product
];

const gradCases: { a: number[]; b: number[]; ta: boolean; tb: boolean }[] = [
  { a: [2, 3, 7, 5], b: [2, 3, 6, 5], ta: false, tb: true }, // q·kᵀ
  { a: [2, 3, 7, 7], b: [2, 3, 7, 5], ta: false, tb: false }, // p·v
  { a: [1, 5, 3], b: [1, 3, 4], ta: false, tb: false },
  { a: [3, 5, 4], b: [3, 6, 5], ta: true, tb: true },
  { a: [2, 9, 11], b: [2, 9, 13], ta: true, tb: false }, // odd sizes
];

describe('BatchMatMul on wasm (transposes done first, batches slice by slice)', () => {
  it('is our wrapper, installed once', () => {
    expect(registerExtraKernels()).toEqual([]); // initBackend already did it
  });

  it.each(cases)('matches the cpu backend for a=$a b=$b transposeA=$ta transposeB=$tb', async ({ a, b, ta, tb }) => {
    const rng = new Rng(11);
    const av = randomArray(a.reduce((x, y) => x * y), rng);
    const bv = randomArray(b.reduce((x, y) => x * y), rng);
    const f = () => [tf.matMul(tf.tensor(av, a), tf.tensor(bv, b), ta, tb)];
    const [wasm] = await runOn('wasm', f);
    const [cpu] = await runOn('cpu', f);
    expect(maxRelDiff(wasm, cpu)).toBeLessThan(1e-5);
  });

  it.each(gradCases)('gives the gradients of the cpu backend for a=$a b=$b transposeA=$ta transposeB=$tb', async ({ a, b, ta, tb }) => {
    const rng = new Rng(5);
    const av = randomArray(a.reduce((x, y) => x * y), rng);
    const bv = randomArray(b.reduce((x, y) => x * y), rng);
    const f = () => {
      const at = tf.tensor(av, a);
      const bt = tf.tensor(bv, b);
      const outShape = tf.matMul(at, bt, ta, tb).shape;
      const w = tf.tensor(randomArray(outShape.reduce((x, y) => x * y), new Rng(9)), outShape);
      const { value, grads } = tf.valueAndGrads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, y, ta, tb), w)))([at, bt]);
      return [value, ...grads];
    };
    const wasm = await runOn('wasm', f);
    const cpu = await runOn('cpu', f);
    for (let i = 0; i < cpu.length; i++) expect(maxRelDiff(wasm[i], cpu[i]), `output ${i}`).toBeLessThan(1e-4);
  });

  it('gives the hand-computed product of a batch of two 2x2', () => {
    const a = tf.tensor3d([[[1, 2], [3, 4]], [[0, 1], [1, 0]]]);
    const b = tf.tensor3d([[[5, 6], [7, 8]], [[2, 3], [4, 5]]]);
    // slice 0: [[19,22],[43,50]]; slice 1 swaps b's rows: [[4,5],[2,3]]
    expect(Array.from(tf.matMul(a, b).dataSync())).toEqual([19, 22, 43, 50, 4, 5, 2, 3]);
    // a fresh b under a reused heap address must not be served from a cached operator
    const b2 = tf.tensor3d([[[1, 0], [0, 1]], [[1, 1], [1, 1]]]);
    expect(Array.from(tf.matMul(a, b2).dataSync())).toEqual([1, 2, 3, 4, 1, 1, 1, 1]);
  });

  it('gives the hand-computed product of a transposed 2x2', () => {
    const out = tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[5, 6], [7, 8]]), true, true);
    // [[1,3],[2,4]] · [[5,7],[6,8]]
    expect(Array.from(out.dataSync())).toEqual([23, 31, 34, 46]);
  });

  it('frees its temporary transposes', () => {
    const a = tf.randomNormal([3, 8, 4]);
    const b = tf.randomNormal([3, 5, 4]);
    const c = tf.randomNormal([3, 8, 5]);
    const ids = tf.backend().numDataIds();
    tf.tidy(() => {
      tf.matMul(a, b, false, true);
      tf.matMul(a, c, true, false);
      tf.matMul(a, tf.randomNormal([4, 2]));
    });
    expect(tf.backend().numDataIds()).toBe(ids);
    tf.dispose([a, b, c]);
  });
});
