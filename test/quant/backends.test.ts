/**
 * The straight-through gradients inside tf.variableGrads (the trainer's path) on the backends the
 * parity tests use. tf.grad tidies the forward pass, so a gradient function may only use saved
 * tensors: the cpu backend's ZerosLike never reads its input and hid such a use; tfjs-node's does.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/select.ts';
import { activationQParamsTensor, fakeQuantActivation, fakeQuantWeight } from '../../src/quant/fake-quant.ts';
import { testBackends } from '../helpers/backends.ts';

describe.each(testBackends())('fake-quant gradients on %s', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  }, 600_000);

  it('reach the kernel and the input through both fake-quant ops', () => {
    const w = tf.variable(tf.tensor2d([0.5, -1, 0.25, 2], [2, 2]));
    const x = tf.variable(tf.tensor2d([1, -3, 10, 0.5], [2, 2]));
    const lo = tf.variable(tf.scalar(-2), false);
    const hi = tf.variable(tf.scalar(4), false);
    const { value, grads } = tf.variableGrads(() => {
      const { scale, zeroPoint } = activationQParamsTensor(lo, hi);
      return tf.sum(tf.matMul(fakeQuantActivation(x, scale, zeroPoint), fakeQuantWeight(w, 127))) as tf.Scalar;
    }, [w, x]);
    expect(Number.isFinite(value.dataSync()[0])).toBe(true);
    // d sum(x̂ ŵ) / dx[i, k] = Σ_j ŵ[k, j] where x is inside [-2, 4], else 0 (−3 and 10 are clipped).
    const wq = Array.from(fakeQuantWeight(w, 127).dataSync());
    const rowSums = [wq[0] + wq[1], wq[2] + wq[3]];
    const gx = Array.from(grads[x.name].dataSync());
    expect(gx[0]).toBeCloseTo(rowSums[0], 6);
    expect(gx.slice(1, 3)).toEqual([0, 0]);
    expect(gx[3]).toBeCloseTo(rowSums[1], 6);
    expect(grads[w.name].shape).toEqual([2, 2]);
  });
});
