import * as path from 'node:path';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { beforeAll, describe, expect, it } from 'vitest';
import { predictionMatches, type Match } from '../../src/distill/losses.ts';
import { readLog, type EvalRecord, type StepRecord } from '../../src/train/log.ts';
import { train, type TrainOptions } from '../../src/train/trainer.ts';
import { Student } from '../../src/student/model.ts';
import { cacheFromModel, tinyConfig, toyData, toyTask, useCpu } from './helpers.ts';

beforeAll(useCpu);

const data = toyData(32, 1);
const dev = toyData(24, 2);
// Wide initialisations so logits are far from uniform (near-uniform student logits make every soft target cost ln 2).
const studentConfig = tinyConfig({ hidden_dropout_prob: 0, initializer_range: 0.4 });
const teacherA = () => Student.create(tinyConfig({ hidden_size: 12, num_attention_heads: 3, num_hidden_layers: 2, intermediate_size: 16, hidden_dropout_prob: 0, initializer_range: 0.6 }), 31);
const kd = predictionMatches({ regression: false });

async function run(over: Partial<TrainOptions>): Promise<{ steps: StepRecord[]; evals: EvalRecord[]; res: Awaited<ReturnType<typeof train>> }> {
  const logFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tech-')), 'log.jsonl');
  const res = await train({
    task: toyTask,
    studentConfig,
    train: data,
    batchSize: 8,
    seed: 4,
    stages: [{ name: 'p', steps: 4, lr: 1e-2, matches: kd }],
    logFile,
    ...over,
  });
  const records = readLog(logFile);
  return { steps: records.filter((r): r is StepRecord => r.type === 'step'), evals: records.filter((r): r is EvalRecord => r.type === 'eval'), res };
}

describe('EMA next to the raw student', () => {
  it('evaluates both at every evaluation and keeps the better one as best', async () => {
    const { evals, res } = await run({
      dev,
      evalEvery: 10,
      ema: { updateAfterStep: 5, updateEvery: 1, power: 0.75 },
      stages: [{ name: 'hard', steps: 60, lr: 1e-2, matches: [{ feature: 'labels', loss: 'ce', weight: 1 }] }],
    });
    expect(evals.map((e) => `${e.step}:${e.model}`)).toEqual([10, 20, 30, 40, 50, 60].flatMap((s) => [`${s}:raw`, `${s}:ema`]));
    const top = Math.max(...evals.map((e) => e.metrics.accuracy));
    const first = evals.find((e) => e.metrics.accuracy === top)!;
    expect(res.best!.score).toBe(top);
    expect(res.best!.model).toBe(first.model);
    expect(res.best!.step).toBe(first.step);
    expect(first.best).toBe(true);
    // the EMA lags the raw weights
    const raw = res.student.params.get('classifier.weight')!.dataSync();
    const ema = res.emaStudent!.params.get('classifier.weight')!.dataSync();
    expect(Array.from(raw)).not.toEqual(Array.from(ema));
  });
});

describe('multi-teacher', () => {
  it('two identical caches averaged give the single-teacher losses (own target path = losses.ts kd_ce)', async () => {
    const t = teacherA();
    const cache = cacheFromModel(t, data.encoded);
    const one = await run({ teachers: [{ cache }] });
    const two = await run({ teachers: [{ cache }, { cache }], multiTeacher: { combine: 'mean' } });
    one.steps.forEach((s, i) => expect(two.steps[i].loss).toBeCloseTo(s.loss, 5));
    t.dispose();
  });

  it('most_confident and weighted combinations train; weights are validated', async () => {
    const a = teacherA();
    const b = Student.create(tinyConfig({ hidden_dropout_prob: 0, initializer_range: 0.6 }), 77);
    const caches = [{ cache: cacheFromModel(a, data.encoded), weight: 1 }, { cache: cacheFromModel(b, data.encoded), weight: 3 }];
    const conf = await run({ teachers: caches, multiTeacher: { combine: 'most_confident' } });
    const weighted = await run({ teachers: caches, multiTeacher: { combine: 'weighted' } });
    expect(conf.steps[0].loss).not.toBeCloseTo(weighted.steps[0].loss, 5);
    for (const s of [...conf.steps, ...weighted.steps]) expect(Number.isFinite(s.loss)).toBe(true);
    await expect(run({ teachers: [caches[0], { cache: caches[1].cache }], multiTeacher: { combine: 'weighted' } })).rejects.toThrow(/teachers\[1\]\.weight/);
    a.dispose();
    b.dispose();
  });

  it('intermediate losses come from the designated teacher', async () => {
    // teacher B is the student's own initialisation: its hidden states equal the student's at step 1.
    const a = teacherA();
    const b = Student.create(studentConfig, 4);
    const caches = [{ cache: cacheFromModel(a, data.encoded) }, { cache: cacheFromModel(b, data.encoded) }];
    const hidden: Match[] = [{ feature: 'hidden', layerS: 1, layerT: 1, loss: 'hidden_mse', weight: 1 }];
    const fromB = await run({ teachers: caches, multiTeacher: { combine: 'mean', intermediateTeacher: 1 }, stages: [{ name: 'i', steps: 1, lr: 1e-3, matches: hidden }] });
    expect(fromB.steps[0].parts['hidden_mse/s1-t1']).toBeLessThan(1e-10);
    const fromA = await run({ teachers: caches, multiTeacher: { combine: 'mean', intermediateTeacher: 0 }, stages: [{ name: 'i', steps: 1, lr: 1e-3, matches: hidden }] });
    expect(fromA.steps[0].parts['hidden_mse/s1-t1']).toBeGreaterThan(0.01);
    a.dispose();
    b.dispose();
  });
});

describe('momentum distillation', () => {
  it('alpha 0 equals plain distillation; alpha > 0 changes the target', async () => {
    const t = teacherA();
    const cache = cacheFromModel(t, data.encoded);
    const ema = { updateAfterStep: 0, updateEvery: 1 };
    const plain = await run({ teachers: [{ cache }], ema });
    const zero = await run({ teachers: [{ cache }], ema, stages: [{ name: 'p', steps: 4, lr: 1e-2, matches: kd, momentum: { alpha: 0, temperature: 2 } }] });
    const mixed = await run({ teachers: [{ cache }], ema, stages: [{ name: 'p', steps: 4, lr: 1e-2, matches: kd, momentum: { alpha: 0.4, temperature: 2 } }] });
    plain.steps.forEach((s, i) => expect(zero.steps[i].loss).toBeCloseTo(s.loss, 5));
    expect(mixed.steps[0].loss).not.toBeCloseTo(plain.steps[0].loss, 3);
    t.dispose();
  });

  it('self-distillation: no teacher cache, the EMA student mixed with gold labels', async () => {
    const { steps } = await run({
      ema: { updateAfterStep: 2, updateEvery: 1 },
      stages: [{ name: 'self', steps: 30, lr: 1e-2, matches: [{ feature: 'logits', loss: 'kd_ce', weight: 1 }], momentum: { alpha: 0.4, temperature: 1 } }],
    });
    expect(Object.keys(steps[0].parts)).toEqual(['kd_ce']);
    const mean = (xs: StepRecord[]) => xs.reduce((a, s) => a + s.loss, 0) / xs.length;
    expect(mean(steps.slice(-5))).toBeLessThan(mean(steps.slice(0, 5)));
  });

  it('momentum without ema is refused', async () => {
    await expect(run({ stages: [{ name: 's', steps: 1, lr: 1e-3, matches: kd, momentum: { alpha: 0.4, temperature: 1 } }] })).rejects.toThrow(/momentum needs ema/);
  });
});

describe('schedules inside the trainer', () => {
  it('curriculum: intermediate losses only at the start, prediction loss only at the end', async () => {
    const t = teacherA();
    const cache = cacheFromModel(t, data.encoded);
    const matches: Match[] = [{ feature: 'hidden', layerS: 1, layerT: 2, loss: 'hidden_mse', weight: 1 }, ...kd];
    const { steps } = await run({ teachers: [{ cache }], stages: [{ name: 'c', steps: 10, lr: 1e-2, matches, curriculum: { kind: 'linear', startStep: 2, endStep: 7 } }] });
    expect(steps[0].loss).toBeCloseTo(steps[0].parts['hidden_mse/s1-t2'], 5);
    expect(steps[0].parts.kd_ce).toBeUndefined(); // weight 0: not even computed
    expect(steps[9].loss).toBeCloseTo(steps[9].parts.kd_ce, 5);
    const mid = steps[4]; // stage step 4: p = (4 − 2)/5 = 0.4
    expect(mid.loss).toBeCloseTo(0.6 * mid.parts['hidden_mse/s1-t2'] + 0.4 * mid.parts.kd_ce, 4);
    t.dispose();
  });

  it('linear temperature and per-sample rules (flsw, cwsm) change the prediction loss', async () => {
    const t = teacherA();
    const cache = cacheFromModel(t, data.encoded);
    const stage = { name: 'p', steps: 3, lr: 1e-2, matches: kd };
    const fixed = await run({ teachers: [{ cache }], stages: [{ ...stage, temperature: 4 }] });
    const linear = await run({ teachers: [{ cache }], stages: [{ ...stage, temperature: { kind: 'linear', from: 4, to: 1 } }] });
    expect(linear.steps[0].loss).toBeCloseTo(fixed.steps[0].loss, 5); // same T at step 0
    expect(linear.steps[2].loss).not.toBeCloseTo(fixed.steps[2].loss, 3);
    const flsw = await run({ teachers: [{ cache }], stages: [{ ...stage, temperature: 4, temperatureRule: { kind: 'flsw', beta: 1, gamma: 1 } }] });
    const cwsm = await run({ teachers: [{ cache }], stages: [{ ...stage, temperature: 4, temperatureRule: { kind: 'cwsm', beta: 1 } }] });
    for (const r of [flsw, cwsm]) {
      expect(Number.isFinite(r.steps[0].loss)).toBe(true);
      expect(r.steps[0].loss).not.toBeCloseTo(fixed.steps[0].loss, 6);
    }
    t.dispose();
  });
});
