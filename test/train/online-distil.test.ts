import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { predictionMatches } from '../../src/distill/losses.ts';
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
