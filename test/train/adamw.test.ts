import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/select.ts';
import { beforeAll, describe, expect, it } from 'vitest';
import { AdamW } from '../../src/train/adamw.ts';

beforeAll(async () => {
  await initBackend('cpu'); // the project's backend start: no tfjs Node banner
});

/** Scalar AdamW written out independently (torch.optim.AdamW's order: decay, moments, step). */
function referenceAdamW(p0: number, grads: number[], lr: number, wd: number, b1 = 0.9, b2 = 0.999, eps = 1e-6): number {
  let p = p0, m = 0, v = 0;
  grads.forEach((g, i) => {
    const t = i + 1;
    p *= 1 - lr * wd;
    m = b1 * m + (1 - b1) * g;
    v = b2 * v + (1 - b2) * g * g;
    p -= (lr * (m / (1 - b1 ** t))) / (Math.sqrt(v / (1 - b2 ** t)) + eps);
  });
  return p;
}

describe('AdamW', () => {
  it('first update matches the hand value: p·(1−lr·wd) − lr·g/(|g|+eps)', () => {
    const w = tf.variable(tf.tensor1d([1, -2]), true, 'layer.weight');
    const opt = new AdamW(new Map([['layer.weight', w]]), { weightDecay: 0.01, epsilon: 1e-8 });
    opt.apply(new Map([['layer.weight', tf.tensor1d([0.5, -3])]]), 0.1);
    const [a, b] = w.dataSync();
    expect(a).toBeCloseTo(1 * 0.999 - 0.1, 6); // 0.899
    expect(b).toBeCloseTo(-2 * 0.999 + 0.1, 6); // -1.898
    opt.dispose();
  });

  it('matches the scalar reference over several steps, no decay on biases and LayerNorm', () => {
    const names = ['a.weight', 'a.bias', 'embeddings.LayerNorm.weight'];
    const vars = new Map(names.map((n) => [n, tf.variable(tf.scalar(0.7), true, n)]));
    const opt = new AdamW(vars, { weightDecay: 0.1 });
    const gs = [0.3, -1.2, 0.05, 2.0, -0.4];
    for (const g of gs) opt.apply(new Map(names.map((n) => [n, tf.scalar(g)])), 0.05);
    expect(vars.get('a.weight')!.dataSync()[0]).toBeCloseTo(referenceAdamW(0.7, gs, 0.05, 0.1), 5);
    expect(vars.get('a.bias')!.dataSync()[0]).toBeCloseTo(referenceAdamW(0.7, gs, 0.05, 0), 5);
    expect(vars.get('embeddings.LayerNorm.weight')!.dataSync()[0]).toBeCloseTo(referenceAdamW(0.7, gs, 0.05, 0), 5);
    expect(referenceAdamW(0.7, gs, 0.05, 0.1)).not.toBeCloseTo(referenceAdamW(0.7, gs, 0.05, 0), 4);
    opt.dispose();
  });

  it('state round-trips: a restored optimizer continues exactly like the original', () => {
    const mk = () => new Map([['w.weight', tf.variable(tf.tensor1d([0.1, 0.2, 0.3]), true)]]);
    const g = () => new Map([['w.weight', tf.tensor1d([0.5, -0.25, 1])]]);
    const pa = mk(), pb = mk();
    const a = new AdamW(pa);
    for (let i = 0; i < 3; i++) a.apply(g(), 0.01);
    const b = new AdamW(pb);
    pb.get('w.weight')!.assign(pa.get('w.weight')!);
    b.setState(a.getState());
    a.apply(g(), 0.01);
    b.apply(g(), 0.01);
    expect(Array.from(pb.get('w.weight')!.dataSync())).toEqual(Array.from(pa.get('w.weight')!.dataSync()));
    expect(b.step).toBe(4);
  });

  it('leaks no tensors per update', () => {
    const vars = new Map([['x.weight', tf.variable(tf.ones([4, 4]), true)]]);
    const opt = new AdamW(vars);
    const grads = new Map([['x.weight', tf.ones([4, 4])]]);
    opt.apply(grads, 0.1);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) opt.apply(grads, 0.1);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('AdamW construction', () => {
  it('creates exactly two state tensors per parameter and frees them on dispose', () => {
    const before = tf.memory().numTensors;
    const vars = new Map([['q.weight', tf.variable(tf.ones([2, 2]), true)]]);
    const afterVars = tf.memory().numTensors;
    const opt = new AdamW(vars);
    expect(tf.memory().numTensors - afterVars).toBe(2);
    opt.dispose();
    expect(tf.memory().numTensors).toBe(afterVars);
    expect(afterVars).toBeGreaterThan(before);
  });
});
