import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/select.ts';
import { beforeAll, describe, expect, it } from 'vitest';
import { biasCorrectedDecay, Ema, warmupDecay } from '../../src/train/ema.ts';

beforeAll(async () => {
  await initBackend('cpu'); // the project's backend start: no tfjs Node banner
});

const defaults = { beta: 0.9999, updateAfterStep: 100, invGamma: 1, power: 2 / 3, minValue: 0 };

describe('warmupDecay', () => {
  it('is 0 up to update_after_step + 1, then 1 − (1 + e)^(−power), clamped to beta', () => {
    expect(warmupDecay(50, defaults)).toBe(0);
    expect(warmupDecay(101, defaults)).toBe(0);
    expect(warmupDecay(102, defaults)).toBeCloseTo(1 - Math.pow(2, -2 / 3), 10); // 0.37004
    expect(warmupDecay(102, defaults)).toBeCloseTo(0.370039, 5);
    expect(warmupDecay(1e9, defaults)).toBe(0.9999);
    expect(warmupDecay(102, { ...defaults, minValue: 0.5 })).toBe(0.5);
    expect(warmupDecay(111, { ...defaults, invGamma: 2, power: 1 })).toBeCloseTo(1 - 1 / (1 + 10 / 2), 10);
  });
});

function scalarSource(v: number) {
  return new Map([['w.weight', tf.variable(tf.scalar(v), true)]]);
}
const read = (e: Ema, name = 'w.weight') => e.shadow.get(name)!.dataSync()[0];

describe('Ema', () => {
  it('copies until update_after_step, then averages with the warm-up decay (hand values, power 1)', () => {
    const src = scalarSource(1);
    const ema = new Ema(src, { updateAfterStep: 2, updateEvery: 1, power: 1, invGamma: 1 });
    const xs = [1, 2, 3, 5, 7];
    const expected = [1, 2, 3, 4, 5]; // decay 1/2 at the 4th call, 2/3 at the 5th
    xs.forEach((x, i) => {
      src.get('w.weight')!.assign(tf.scalar(x));
      ema.update();
      expect(read(ema)).toBeCloseTo(expected[i], 5);
    });
  });

  it('moves only every update_every calls', () => {
    const src = scalarSource(0);
    const ema = new Ema(src, { updateAfterStep: 0, updateEvery: 2, power: 1, mode: 'constant', beta: 0.5 });
    const seen: number[] = [];
    for (const x of [2, 4, 6, 8]) {
      src.get('w.weight')!.assign(tf.scalar(x));
      ema.update();
      seen.push(read(ema));
    }
    // call 0 copies (2); call 1 skipped; call 2 averages 0.5·2 + 0.5·6 = 4; call 3 skipped
    expect(seen).toEqual([2, 2, 4, 4]);
  });

  it('bias-corrected constant decay equals the zero-initialised average divided by 1 − β^n', () => {
    expect(biasCorrectedDecay(0.9, 1)).toBe(0);
    const src = scalarSource(0);
    const ema = new Ema(src, { mode: 'constant', beta: 0.5, biasCorrection: true, updateAfterStep: -1, updateEvery: 1 });
    for (const x of [2, 4, 8]) {
      src.get('w.weight')!.assign(tf.scalar(x));
      ema.update();
    }
    // z1 = 1, z2 = 2.5, z3 = 5.25; 5.25 / (1 − 0.125) = 6
    expect(read(ema)).toBeCloseTo(6, 5);
  });

  it('excluded parameters follow the source; state round-trips', () => {
    const src = new Map([
      ['a.weight', tf.variable(tf.scalar(0), true)],
      ['frozen.weight', tf.variable(tf.scalar(0), true)],
    ]);
    const ema = new Ema(src, { mode: 'constant', beta: 0.5, updateAfterStep: 0, updateEvery: 1, exclude: ['frozen.'] });
    ema.update(); // copy
    src.get('a.weight')!.assign(tf.scalar(4));
    src.get('frozen.weight')!.assign(tf.scalar(4));
    ema.update();
    expect(read(ema, 'a.weight')).toBe(2);
    expect(read(ema, 'frozen.weight')).toBe(4);

    const other = new Ema(src, { mode: 'constant', beta: 0.5, updateAfterStep: 0, updateEvery: 1, exclude: ['frozen.'] });
    other.setState(ema.getState());
    ema.update();
    other.update();
    expect(read(other, 'a.weight')).toBe(read(ema, 'a.weight'));
    expect(other.step).toBe(3);
  });

  it('writes into a given shadow model and leaks no tensors', () => {
    const src = scalarSource(3);
    const shadow = new Map([['w.weight', tf.variable(tf.scalar(-1), true)]]);
    const ema = new Ema(src, { updateAfterStep: 0, updateEvery: 1 }, shadow);
    expect(shadow.get('w.weight')!.dataSync()[0]).toBe(3);
    ema.update();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 10; i++) ema.update();
    expect(tf.memory().numTensors).toBe(before);
    expect(() => new Ema(src, {}, new Map())).toThrow(/no parameter w.weight/);
  });
});
