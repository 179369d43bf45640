import * as tf from '@tensorflow/tfjs';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { computeDistillLoss, relationKl, relationScores, type LossContext, type Match } from '../../src/distill/losses.ts';
import { Student } from '../../src/student/model.ts';
import { readLog } from '../../src/train/log.ts';
import { train } from '../../src/train/trainer.ts';
import { cacheFromModel, tinyConfig, toyData, toyTask, useCpu } from './helpers.ts';

beforeAll(useCpu);

const ctx = (mask: number[][]): LossContext => ({ mask: tf.tensor2d(mask), temperature: 1, scaleT2: false });
const val = (x: tf.Scalar) => x.dataSync()[0];

/** Plain-number reference: KL(t ‖ s) of row-softmaxed relations of x [L][H], split into A heads; real rows / keys only. */
function referenceRelationKl(s: number[][], t: number[][], heads: number, realLen: number): number {
  const rel = (x: number[][], a: number) => {
    const d = x[0].length / heads;
    const rows: number[][] = [];
    for (let i = 0; i < realLen; i++) {
      const row: number[] = [];
      for (let j = 0; j < realLen; j++) {
        let dot = 0;
        for (let k = 0; k < d; k++) dot += x[i][a * d + k] * x[j][a * d + k];
        row.push(dot / Math.sqrt(d));
      }
      rows.push(row);
    }
    return rows;
  };
  const softmax = (r: number[]) => {
    const m = Math.max(...r);
    const e = r.map((v) => Math.exp(v - m));
    const z = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / z);
  };
  let sum = 0;
  for (let a = 0; a < heads; a++) {
    const rs = rel(s, a);
    const rt = rel(t, a);
    for (let i = 0; i < realLen; i++) {
      const ps = softmax(rs[i]);
      const pt = softmax(rt[i]);
      for (let j = 0; j < realLen; j++) sum += pt[j] * (Math.log(pt[j]) - Math.log(ps[j]));
    }
  }
  return sum / (heads * realLen);
}

describe('relation scores and relation_kl', () => {
  it('splits the width into relation heads: x_a x_aᵀ / √(H/A)', () => {
    // H = 2, A = 2 (d = 1): head 0 reads feature 0, head 1 feature 1.
    const x = tf.tensor3d([[[1, 0], [0, 2]]]);
    expect(Array.from(relationScores(x, 2).dataSync())).toEqual([1, 0, 0, 0, /* head 1 */ 0, 0, 0, 4]);
    // A = 1 (d = 2): one head over both features, divided by √2.
    const one = Array.from(relationScores(x, 1).dataSync());
    [1, 0, 0, 4].forEach((v, i) => expect(one[i]).toBeCloseTo(v / Math.SQRT2, 6));
    expect(() => relationScores(x, 3)).toThrow(/relationHeads 3 must divide the width 2/);
  });

  it('equals the hand computation: 2 heads, hand-picked rows', () => {
    // Head 0: s relations [[1,0],[0,0]], t [[1,1],[1,1]]; head 1: s [[0,0],[0,4]], t [[1,-1],[-1,1]].
    const s = [[1, 0], [0, 2]];
    const t = [[1, 1], [1, -1]];
    // Row by row: head 0 row 0: p_t = (½, ½), p_s = (e, 1)/(e+1) → ½ln(½(e+1)/e) + ½ln(½(e+1)); row 1: p_s = p_t = (½, ½) → 0.
    const e = Math.E;
    const h0 = 0.5 * Math.log((0.5 * (e + 1)) / e) + 0.5 * Math.log(0.5 * (e + 1));
    // Head 1 row 0: p_t = (e², 1)/(e²+1) vs p_s = (½, ½); row 1: p_t = (1, e²)/(1+e²) vs p_s = (1, e⁴)/(1+e⁴).
    const pt0 = [e ** 2 / (e ** 2 + 1), 1 / (e ** 2 + 1)];
    const h1r0 = pt0[0] * Math.log(pt0[0] / 0.5) + pt0[1] * Math.log(pt0[1] / 0.5);
    const pt1 = [1 / (1 + e ** 2), e ** 2 / (1 + e ** 2)];
    const ps1 = [1 / (1 + e ** 4), e ** 4 / (1 + e ** 4)];
    const h1r1 = pt1[0] * Math.log(pt1[0] / ps1[0]) + pt1[1] * Math.log(pt1[1] / ps1[1]);
    const hand = (h0 + h1r0 + h1r1) / (2 * 2); // mean over heads × real rows
    const got = val(relationKl(tf.tensor3d([s]), tf.tensor3d([t]), { ...ctx([[1, 1]]), relationHeads: 2 }));
    expect(got).toBeCloseTo(hand, 6);
    expect(referenceRelationKl(s, t, 2, 2)).toBeCloseTo(hand, 12);
  });

  it('teacher and student widths may differ; padding is ignored; zero when the relations agree', () => {
    const s = [[0.3, -1, 0.5, 2], [1, 0.2, -0.7, 0.1], [0.4, 0.4, -0.2, 1.5]]; // H = 4
    const t = [[1, 2, -1, 0, 0.5, 0.3], [0.1, -0.4, 2, 1, -1, 0.2], [0.6, 0.6, 0.1, -0.3, 0.2, 1]]; // H = 6
    const got = val(relationKl(tf.tensor3d([s]), tf.tensor3d([t]), { ...ctx([[1, 1, 1]]), relationHeads: 2 }));
    expect(got).toBeCloseTo(referenceRelationKl(s, t, 2, 3), 5);
    // The same example padded with a junk row: only the 3 real tokens count.
    const padded = val(relationKl(tf.tensor3d([[...s, [9, 9, 9, 9]]]), tf.tensor3d([[...t, [-5, 5, -5, 5, 5, 5]]]), { ...ctx([[1, 1, 1, 0]]), relationHeads: 2 }));
    expect(padded).toBeCloseTo(got, 5);
    // Relations depend on x xᵀ only: an orthogonal change of features (here a swap inside each head) gives the same relations.
    const swapped = s.map((r) => [r[1], r[0], r[3], r[2]]);
    expect(val(relationKl(tf.tensor3d([s]), tf.tensor3d([swapped]), { ...ctx([[1, 1, 1]]), relationHeads: 2 }))).toBeCloseTo(0, 6);
  });

  it('computeDistillLoss reads the Q, K or V of the named layers', () => {
    const q = tf.tensor3d([[[1, 0], [0, 2]]]);
    const k = tf.tensor3d([[[1, 1], [1, -1]]]);
    const qkvS = [{ query: q, key: q, value: k }];
    const qkvT = [{ query: k, key: q, value: k }];
    const mask = tf.tensor2d([[1, 1]]);
    const m = (relation: 'qq' | 'kk' | 'vv'): Match => ({ feature: 'relation', layerS: 0, layerT: 0, loss: 'relation_kl', weight: 1, relation, relationHeads: 2 });
    const r = computeDistillLoss([m('qq'), m('kk'), m('vv')], { hidden: [], attentionScores: [], mask, qkv: qkvS }, { hidden: [], attentionScores: [], mask, qkv: qkvT }, undefined);
    expect(Object.keys(r.parts)).toEqual(['relation_kl/qq/s0-t0', 'relation_kl/kk/s0-t0', 'relation_kl/vv/s0-t0']);
    expect(val(r.parts['relation_kl/qq/s0-t0'])).toBeCloseTo(referenceRelationKl([[1, 0], [0, 2]], [[1, 1], [1, -1]], 2, 2), 6);
    expect(val(r.parts['relation_kl/kk/s0-t0'])).toBeCloseTo(0, 7);
    expect(val(r.parts['relation_kl/vv/s0-t0'])).toBeCloseTo(0, 7);
  });
});

describe('student Q/K/V', () => {
  it('are the query/key/value projections of each layer: x·W + b of the layer input', () => {
    const student = Student.create(tinyConfig({ num_hidden_layers: 2 }), 5);
    tf.tidy(() => {
      const inputs = { inputIds: tf.tensor2d([[2, 5, 7, 3]], [1, 4], 'int32'), attentionMask: tf.tensor2d([[1, 1, 1, 1]], [1, 4], 'int32'), tokenTypeIds: tf.tensor2d([[0, 0, 0, 0]], [1, 4], 'int32') };
      const out = student.forward(inputs, { training: false });
      const H = student.config.hidden_size;
      expect(out.qkv).toHaveLength(student.config.num_hidden_layers);
      const x = tf.reshape(out.hidden[1], [4, H]) as tf.Tensor2D; // input of layer 2 (0-based 1)
      const p = (n: string) => student.params.get(`encoder.layer.1.attention.self.${n}`)!;
      const key = tf.add(tf.matMul(x, p('key.weight')), p('key.bias'));
      const got = out.qkv![1].key.reshape([4, H]);
      expect(tf.max(tf.abs(tf.sub(got, key))).dataSync()[0]).toBeLessThan(1e-5);
      expect(out.qkv![1].query.shape).toEqual([1, 4, H]);
    });
    student.dispose();
  });
});

describe('train with relation_kl', () => {
  it('a student with fewer heads and a narrower width learns the teacher\'s last-layer relations', async () => {
    const trainData = toyData(48, 1);
    const teacher = Student.create(tinyConfig({ hidden_size: 12, num_attention_heads: 3, num_hidden_layers: 2, intermediate_size: 24 }), 11);
    const cache = cacheFromModel(teacher, trainData.encoded);
    const logFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'relation-')), 'log.jsonl');
    const matches: Match[] = (['qq', 'kk', 'vv'] as const).map((relation) => ({ feature: 'relation', layerS: 0, layerT: 1, loss: 'relation_kl', weight: 1, relation, relationHeads: 2 }));
    const res = await train({
      task: toyTask,
      studentConfig: tinyConfig({ num_attention_heads: 2 }), // 1 layer, 8 wide, 2 heads vs the teacher's 2 layers, 12 wide, 3 heads
      train: trainData,
      teachers: [{ cache }],
      stages: [{ name: 'relations', steps: 40, lr: 1e-2, matches }],
      batchSize: 8,
      seed: 3,
      logFile,
    });
    expect(res.steps).toBe(40);
    const steps = readLog(logFile).filter((r) => r.type === 'step') as { loss: number; parts: Record<string, number> }[];
    expect(Object.keys(steps[0].parts).sort()).toEqual(['relation_kl/kk/s0-t1', 'relation_kl/qq/s0-t1', 'relation_kl/vv/s0-t1']);
    const mean = (xs: { loss: number }[]) => xs.reduce((a, s) => a + s.loss, 0) / xs.length;
    expect(mean(steps.slice(-5))).toBeLessThan(0.7 * mean(steps.slice(0, 5)));
    teacher.dispose();
    res.student.dispose();
  });
});
