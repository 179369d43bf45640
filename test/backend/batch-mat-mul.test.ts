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
];

describe('BatchMatMul on wasm (transposes done before the product)', () => {
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
    });
    expect(tf.backend().numDataIds()).toBe(ids);
    tf.dispose([a, b, c]);
  });
});
