import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, expect, it } from 'vitest';
import type { Batch } from '../../src/data/types.ts';
import { predictionMatches } from '../../src/distill/losses.ts';
import { mappingMatches, uniformMap } from '../../src/distill/mapping.ts';
import { batchRows } from '../../src/distill/teacher-features.ts';
import { Student } from '../../src/student/model.ts';
import { readLog } from '../../src/train/log.ts';
import { OnlineDistiller } from '../../src/train/online-distil.ts';
import { train } from '../../src/train/trainer.ts';
import { cacheFromModel, tinyConfig, toyData, toyTask, useCpu } from '../distill/helpers.ts';

beforeAll(useCpu);

/**
 * The web page's distillation loop is the trainer's prediction stage: against a teacher that gives the
 * logits a cache holds, its losses are train()'s, step for step (same seeds, batches, dropout, schedule).
 */
it('OnlineDistiller gives the losses of train() on a cache of the same teacher logits', async () => {
  const data = toyData(48, 1);
  const teacher = Student.create(tinyConfig({ hidden_size: 12, num_attention_heads: 3, intermediate_size: 24 }), 11);
  const cache = cacheFromModel(teacher, data.encoded);
  const steps = 20;
  const logFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'online-distil-')), 'log.jsonl');
  const res = await train({
    task: toyTask, studentConfig: tinyConfig(), train: data, batchSize: 8, seed: 3, evalEvery: 0, logFile,
    teachers: [{ cache }],
    stages: [{ name: 'prediction', steps, lr: 5e-3, matches: predictionMatches({ regression: false, temperature: 2 }) }],
  });
  const trainerLosses = (readLog(logFile).filter((r) => r.type === 'step') as { loss: number }[]).map((s) => s.loss);
  const d = new OnlineDistiller({
    studentConfig: tinyConfig(), seed: 3, train: data, batchSize: 8, steps, lr: 5e-3, temperature: 2,
    teacherLogits: async (batch) => {
      const C = 2;
      const out = new Float32Array(batch.size * C);
      batch.indices.forEach((i, b) => out.set(cache.readExample(i).logits!, b * C));
      return out;
    },
  });
  const online: number[] = [];
  while (!d.done) online.push((await d.trainStep()).loss);
  expect(online).toHaveLength(steps);
  expect(trainerLosses).toHaveLength(steps);
  for (let i = 0; i < steps; i++) expect(Math.abs(online[i] - trainerLosses[i]), `step ${i + 1}`).toBeLessThan(1e-6);
  // And the weights after the last update.
  for (const [name, v] of res.student.params) {
    const a = v.dataSync();
    const b = d.student.params.get(name)!.dataSync();
    for (let k = 0; k < a.length; k++) expect(Math.abs(a[k] - b[k])).toBeLessThan(1e-6);
  }
  d.dispose();
  res.student.dispose();
  teacher.dispose();
});

/** The teacher Student run on a padded batch, its outputs cut to real tokens by batchRows (what the page does with onnxruntime-web's). */
function teacherFeaturesOf(teacher: Student) {
  return async (batch: Batch, need: { hidden: number[]; attention: number[] }) => {
    const shape: [number, number] = [batch.size, batch.seqLen];
    const hidden = new Map<number, Float32Array>();
    const attention = new Map<number, Float32Array>();
    // Plain arrays come out; every tensor of the forward pass is freed by the tidy.
    tf.tidy(() => {
      const out = teacher.forward({
        inputIds: tf.tensor2d(batch.inputIds, shape, 'int32'),
        attentionMask: tf.tensor2d(batch.attentionMask, shape, 'int32'),
        tokenTypeIds: tf.tensor2d(batch.tokenTypeIds, shape, 'int32'),
      }, { training: false });
      for (const h of need.hidden) hidden.set(h, out.hidden[h].dataSync() as Float32Array);
      for (const a of need.attention) attention.set(a, out.attentionScores[a].dataSync() as Float32Array);
    });
    const c = teacher.config;
    return batchRows(batch, { hidden, attention }, { hiddenSize: c.hidden_size, numHeads: c.num_attention_heads });
  };
}

/**
 * With TinyBERT's intermediate stage first (hidden_mse through a learned 8 → 12 projection, attention_mse with
 * 2 → 3 head mixing, uniform mapping of 2 teacher layers onto 1), the page's loop is still train(): same losses,
 * same loss terms, same weights, against a teacher run per padded batch whose outputs batchRows cuts to real tokens.
 */
it('OnlineDistiller with an intermediate stage gives the losses of train() on a cache of the same teacher features', async () => {
  const data = toyData(48, 2);
  const teacherConfig = tinyConfig({ hidden_size: 12, num_attention_heads: 3, intermediate_size: 24, num_hidden_layers: 2 });
  const teacher = Student.create(teacherConfig, 13);
  const cache = cacheFromModel(teacher, data.encoded);
  const interSteps = 12;
  const predSteps = 8;
  const logFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'online-distil-')), 'log.jsonl');
  const res = await train({
    task: toyTask, studentConfig: tinyConfig(), train: data, batchSize: 8, seed: 5, evalEvery: 0, logFile,
    teachers: [{ cache }],
    stages: [
      { name: 'intermediate', steps: interSteps, lr: 1e-2, matches: mappingMatches(uniformMap(2, 1)) },
      { name: 'prediction', steps: predSteps, lr: 5e-3, matches: predictionMatches({ regression: false, temperature: 2 }) },
    ],
  });
  type StepLog = { stage: string; loss: number; parts: Record<string, number> };
  const trainerSteps = readLog(logFile).filter((r) => r.type === 'step') as unknown as StepLog[];
  const d = new OnlineDistiller({
    studentConfig: tinyConfig(), seed: 5, train: data, batchSize: 8, steps: predSteps, lr: 5e-3, temperature: 2,
    teacherLogits: async (batch) => {
      const out = new Float32Array(batch.size * 2);
      batch.indices.forEach((i, b) => out.set(cache.readExample(i).logits!, b * 2));
      return out;
    },
    intermediate: { steps: interSteps, lr: 1e-2, teacher: { numLayers: 2, hiddenSize: 12, numHeads: 3 }, features: teacherFeaturesOf(teacher) },
  });
  expect(d.stages.map((s) => [s.name, s.steps])).toEqual([['intermediate', interSteps], ['prediction', predSteps]]);
  const online = [];
  while (!d.done) online.push(await d.trainStep());
  expect(online.map((r) => r.stage)).toEqual(trainerSteps.map((r) => r.stage));
  expect(online.filter((r) => r.stage === 'intermediate')).toHaveLength(interSteps);
  // Uniform 2 → 1: embeddings 0 ↔ 0, output 1 ↔ 2, attention of layer 1 ↔ layer 2.
  expect(Object.keys(online[0].parts).sort()).toEqual(['attention_mse/s0-t1', 'hidden_mse/s0-t0', 'hidden_mse/s1-t2']);
  expect(Object.keys(online.at(-1)!.parts)).toEqual(['kd_ce']);
  for (let i = 0; i < online.length; i++) {
    expect(Math.abs(online[i].loss - trainerSteps[i].loss), `step ${i + 1}`).toBeLessThan(1e-6);
    for (const [k, v] of Object.entries(trainerSteps[i].parts)) expect(Math.abs(online[i].parts[k] - v), `step ${i + 1} ${k}`).toBeLessThan(1e-6);
  }
  // The intermediate stage learns: its loss falls.
  expect(online[interSteps - 1].loss).toBeLessThan(online[0].loss);
  for (const [name, v] of res.student.params) {
    const a = v.dataSync();
    const b = d.student.params.get(name)!.dataSync();
    for (let k = 0; k < a.length; k++) expect(Math.abs(a[k] - b[k]), name).toBeLessThan(1e-6);
  }
  d.dispose();
  res.student.dispose();
  teacher.dispose();
});

it('batchRows cuts padded teacher outputs to each example\'s real tokens', () => {
  // Batch of 2 padded to 3 tokens, lengths 3 and 2, width 2, 1 head; values = their flat index.
  const iota = (n: number) => Float32Array.from({ length: n }, (_, i) => i);
  const rows = batchRows({ size: 2, seqLen: 3, lengths: [3, 2] }, { logits: Float32Array.from([1, 2, 3, 4]), hidden: new Map([[1, iota(12)]]), attention: new Map([[0, iota(18)]]) }, { hiddenSize: 2, numHeads: 1, numLabels: 2 });
  expect(rows.map((r) => r.length)).toEqual([3, 2]);
  expect(Array.from(rows[1].logits!)).toEqual([3, 4]);
  expect(Array.from(rows[0].hidden[1])).toEqual([0, 1, 2, 3, 4, 5]);
  expect(Array.from(rows[1].hidden[1])).toEqual([6, 7, 8, 9]);
  expect(rows[1].hidden[0]).toBeUndefined();
  expect(Array.from(rows[0].attention[0])).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
  // Example 1 starts at 9: rows q = 0, 1 and keys 0, 1 of its 3 × 3 block.
  expect(Array.from(rows[1].attention[0])).toEqual([9, 10, 12, 13]);
  expect(() => batchRows({ size: 2, seqLen: 3, lengths: [3, 2] }, { hidden: new Map([[1, iota(10)]]), attention: new Map() }, { hiddenSize: 2, numHeads: 1 })).toThrow('teacher output hidden 1 has 10 values, expected [2, 3, 2] = 12');
});
