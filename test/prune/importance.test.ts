/**
 * Head / unit importance (Michel et al. 2019): |∂L/∂ξ| at ξ = 1 checked against central finite
 * differences of the loss in each mask entry, averaged over batches; the per-layer L2 normalisation
 * by hand.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { collate } from '../../src/data/batching.ts';
import { measureImportance, normalizePerLayer } from '../../src/prune/importance.ts';
import { Student } from '../../src/student/model.ts';
import { tinyConfig, toyData, useCpu } from '../distill/helpers.ts';

beforeAll(useCpu);

const config = tinyConfig({ hidden_size: 8, num_attention_heads: 2, num_hidden_layers: 2, intermediate_size: 6 });
const data = toyData(8, 9);
const batches = [[0, 1, 2, 3], [4, 5, 6, 7]];

function lossOn(s: Student, rows: number[]): tf.Scalar {
  const b = collate(data.encoded, rows, data.labels);
  const t = (a: Int32Array) => tf.tensor2d(a, [b.size, b.seqLen], 'int32');
  const out = s.forward({ inputIds: t(b.inputIds), attentionMask: t(b.attentionMask), tokenTypeIds: t(b.tokenTypeIds) }, { training: false });
  return tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(b.labels!, 'int32'), 2), out.logits) as tf.Scalar;
}

describe('measureImportance', () => {
  it('equals the mean over batches of |finite-difference dL/dξ| for every head and unit', async () => {
    const s = Student.create(config, 21);
    for (const v of s.params.values()) tf.tidy(() => v.assign(tf.mul(v, v.shape.length === 2 ? 25 : 1)));
    let k = 0;
    const imp = await measureImportance(s, 2, (variables) => {
      const rows = batches[k++];
      const { grads } = tf.variableGrads(() => lossOn(s, rows), [...variables.values()]);
      const byVar = new Map([...variables].map(([name, v]) => [v.name, name]));
      return new Map(Object.entries(grads).map(([vn, g]) => [byVar.get(vn)!, g]));
    });
    expect(s.masks).toBeUndefined();

    const eps = 1e-2;
    const fd = (kind: 'heads' | 'ffn', layer: number, j: number): number => {
      let sum = 0;
      for (const rows of batches) {
        const at = (delta: number) => {
          const mk = (n: number, isTarget: boolean) => tf.tensor1d(Array.from({ length: n }, (_, x) => (isTarget && x === j ? 1 + delta : 1)));
          s.masks = {
            heads: [0, 1].map((i) => mk(2, kind === 'heads' && i === layer) as tf.Tensor1D),
            ffn: [0, 1].map((i) => mk(6, kind === 'ffn' && i === layer) as tf.Tensor1D),
          };
          const v = tf.tidy(() => lossOn(s, rows).dataSync()[0]);
          for (const m of [...s.masks.heads, ...s.masks.ffn]) m.dispose();
          s.masks = undefined;
          return v;
        };
        sum += Math.abs((at(eps) - at(-eps)) / (2 * eps));
      }
      return sum / batches.length;
    };
    let largest = 0;
    for (const kind of ['heads', 'ffn'] as const) {
      for (let i = 0; i < 2; i++) {
        imp[kind][i].forEach((score, j) => {
          const ref = fd(kind, i, j);
          largest = Math.max(largest, ref);
          expect(Math.abs(score - ref)).toBeLessThan(2e-3 * Math.max(1, ref));
        });
      }
    }
    expect(largest).toBeGreaterThan(1e-3); // the loss really depends on the masks
    expect(imp.heads.map((l) => l.length)).toEqual([2, 2]);
    expect(imp.ffn.map((l) => l.length)).toEqual([6, 6]);
    s.dispose();
  });

  it('normalises each layer by its L2 norm (hand values); an all-zero layer stays zero', () => {
    const n = normalizePerLayer([[3, 4], [0, 0], [2]]);
    expect(n[0][0]).toBeCloseTo(0.6, 12);
    expect(n[0][1]).toBeCloseTo(0.8, 12);
    expect(n[1]).toEqual([0, 0]);
    expect(n[2][0]).toBeCloseTo(1, 12);
  });
});
