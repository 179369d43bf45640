import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../src/util/rng.ts';
import { randomArray } from './helpers.ts';

/**
 * A 1-layer BERT-shaped model written with the ops a student's backward pass goes through
 * (gather embeddings, moments LayerNorm, erf GELU, masked softmax attention with 4-D products and
 * transposes, dropout, tanh pooler on a slice, log-softmax, MSE, a mask computed from the scores
 * themselves as TinyBERT's attention loss does), for gradient cross-checks.
 */
export const DIMS = { V: 30, H: 8, heads: 2, I: 16, B: 3, L: 5, labels: 3 };

export function tinyParams(seed: number): Record<string, Float32Array> {
  const { V, H, I, L, labels } = DIMS;
  const rng = new Rng(seed);
  const shapes: Record<string, number> = {
    word: V * H, pos: L * H, q: H * H, k: H * H, v: H * H, o: H * H, up: H * I, down: I * H,
    ln: H, pool: H * H, cls: H * labels,
  };
  return Object.fromEntries(Object.entries(shapes).map(([k, n]) => [k, randomArray(n, rng, 0.3)]));
}

export function tinyLoss(p: Record<string, tf.Tensor>, ids: Int32Array, mask: Float32Array, target: Float32Array): tf.Scalar {
  const { H, heads, B, L, labels } = DIMS;
  const d = H / heads;
  const ln = (x: tf.Tensor2D) => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-12))), p.ln), 0.1);
  };
  const words = tf.gather(p.word, tf.tensor1d(ids, 'int32'));
  const x = ln(tf.reshape(tf.add(tf.reshape(words, [B, L, H]), p.pos), [B * L, H]) as tf.Tensor2D);
  const split = (t: tf.Tensor) => tf.transpose(tf.reshape(t, [B, L, heads, d]), [0, 2, 1, 3]);
  const q = split(tf.matMul(x, p.q));
  const k = split(tf.matMul(x, p.k));
  const v = split(tf.matMul(x, p.v));
  const keyBias = tf.reshape(tf.mul(tf.sub(1, tf.tensor2d(mask, [B, L])), -10000), [B, 1, 1, L]);
  const scores = tf.add(tf.div(tf.matMul(q, k, false, true), Math.sqrt(d)), keyBias);
  const probs = tf.dropout(tf.softmax(scores), 0.2, undefined, 42);
  const ctx = tf.reshape(tf.transpose(tf.matMul(probs, v), [0, 2, 1, 3]), [B * L, H]);
  const h = ln(tf.add(tf.matMul(ctx, p.o), x) as tf.Tensor2D);
  const up = tf.matMul(h, p.up);
  const gelu = tf.mul(tf.mul(up, 0.5), tf.add(1, tf.erf(tf.mul(up, Math.SQRT1_2))));
  const out = ln(tf.add(tf.matMul(gelu, p.down), h) as tf.Tensor2D);
  const first = tf.reshape(tf.slice(tf.reshape(out, [B, L, H]), [0, 0, 0], [B, 1, H]), [B, H]);
  const logits = tf.matMul(tf.tanh(tf.matMul(first, p.pool)), p.cls);
  const soft = tf.neg(tf.mean(tf.sum(tf.mul(tf.softmax(tf.tensor2d(target, [B, labels])), tf.logSoftmax(logits)), -1)));
  const hiddenMse = tf.mean(tf.squaredDifference(out, tf.zerosLike(out)));
  const attnMse = tf.mean(tf.square(tf.where(tf.lessEqual(scores, -100), tf.zerosLike(scores), scores)));
  return tf.addN([soft, hiddenMse, attnMse]) as tf.Scalar;
}
