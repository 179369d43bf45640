import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/select.ts';
import { testBackends } from '../helpers/backends.ts';
import { Rng } from '../../src/util/rng.ts';
import { maxRelDiff, randomArray, runOn } from './helpers.ts';
import { DIMS, tinyLoss, tinyParams } from './tiny-bert.ts';

const BACKENDS = testBackends();

beforeAll(async () => {
  for (const b of BACKENDS) await initBackend(b, { threads: b === 'wasm' ? 1 : undefined });
  await initBackend(BACKENDS[0], { threads: BACKENDS[0] === 'wasm' ? 1 : undefined });
}, 600_000); // loading libtensorflow (~800 MB) takes minutes on a busy machine

describe.each(BACKENDS)('a BERT-shaped backward pass on %s', (backend) => {
  it('gives the same loss and gradients as the cpu backend', async () => {
    const { V, B, L, labels } = DIMS;
    const rng = new Rng(5);
    const params = tinyParams(1);
    const ids = Int32Array.from({ length: B * L }, () => rng.int(V));
    const mask = Float32Array.from({ length: B * L }, (_, i) => (i % L < L - 1 || i < L ? 1 : 0)); // some padding
    const target = randomArray(B * labels, rng);
    const names = Object.keys(params);
    const f = () => {
      const vars = Object.fromEntries(names.map((n) => [n, tf.tensor(params[n])]));
      const shaped = {
        ...vars,
        word: tf.reshape(vars.word, [V, DIMS.H]), pos: tf.reshape(vars.pos, [L, DIMS.H]),
        q: tf.reshape(vars.q, [DIMS.H, DIMS.H]), k: tf.reshape(vars.k, [DIMS.H, DIMS.H]),
        v: tf.reshape(vars.v, [DIMS.H, DIMS.H]), o: tf.reshape(vars.o, [DIMS.H, DIMS.H]),
        up: tf.reshape(vars.up, [DIMS.H, DIMS.I]), down: tf.reshape(vars.down, [DIMS.I, DIMS.H]),
        pool: tf.reshape(vars.pool, [DIMS.H, DIMS.H]), cls: tf.reshape(vars.cls, [DIMS.H, labels]),
      };
      const order = names.map((n) => shaped[n as keyof typeof shaped]);
      const { value, grads } = tf.valueAndGrads((...ts: tf.Tensor[]) =>
        tinyLoss(Object.fromEntries(names.map((n, i) => [n, ts[i]])), ids, mask, target),
      )(order);
      return [value, ...grads];
    };
    const got = await runOn(backend, f);
    const cpu = await runOn('cpu', f);
    expect(got[0][0]).toBeGreaterThan(0);
    expect(Math.abs(got[0][0] - cpu[0][0])).toBeLessThan(1e-5 * (1 + Math.abs(cpu[0][0])));
    for (let i = 1; i < cpu.length; i++) {
      expect(cpu[i].some((x) => x !== 0), `gradient of ${names[i - 1]} is all zero`).toBe(true);
      expect(maxRelDiff(got[i], cpu[i]), `gradient of ${names[i - 1]}`).toBeLessThan(1e-4);
    }
  });
});

describe('comparison ops on the tape', () => {
  // f(x) = Σ where(x ≤ 0, 0, x · (1 + [cmp(x, 99)])): piecewise linear, so by hand
  // f'(x) = 0 where x ≤ 0, else 1 + [cmp(x, 99)], i.e. 2 for <, ≤, ≠ and 1 for >, = (x ∈ {1, 3}).
  it('have zero gradients, so masks computed from taped tensors work', () => {
    const x = tf.tensor1d([-2, 0, 1, 3]);
    for (const cmp of [tf.lessEqual, tf.less, tf.greater, tf.equal, tf.notEqual]) {
      const g = tf.grad((v: tf.Tensor) => tf.sum(tf.where(tf.lessEqual(v, 0), tf.zerosLike(v), tf.mul(v, tf.cast(cmp(v, 99), 'float32').add(1)))))(x);
      const expected = cmp === tf.greater || cmp === tf.equal ? [0, 0, 1, 1] : [0, 0, 2, 2];
      expect(Array.from(g.dataSync())).toEqual(expected);
      g.dispose();
    }
    x.dispose();
  });
});
