import * as tf from '@tensorflow/tfjs';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { predictionMatches } from '../../src/distill/losses.ts';
import { readLog } from '../../src/train/log.ts';
import { train, type TrainOptions } from '../../src/train/trainer.ts';
import { Student } from '../../src/student/model.ts';
import { cacheFromModel, tinyConfig, toyData, toyTask, useCpu } from '../distill/helpers.ts';

beforeAll(useCpu);

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'trainer-'));
const trainData = toyData(48, 1);
const devData = toyData(32, 2);

function hardLabelOptions(over: Partial<TrainOptions> = {}): TrainOptions {
  return {
    task: toyTask,
    studentConfig: tinyConfig(),
    train: trainData,
    dev: devData,
    stages: [{ name: 'hard', steps: 60, lr: 5e-3, matches: [{ feature: 'labels', loss: 'ce', weight: 1 }] }],
    batchSize: 8,
    seed: 3,
    evalEvery: 20,
    ...over,
  };
}

describe('train: hard labels', () => {
  it('learns the toy rule, logs steps and evals, keeps the best checkpoint', async () => {
    const dir = tmp();
    const logFile = path.join(dir, 'log.jsonl');
    const res = await train(hardLabelOptions({ stages: [{ name: 'hard', steps: 150, lr: 1e-2, matches: [{ feature: 'labels', loss: 'ce', weight: 1 }] }], logFile, checkpointDir: path.join(dir, 'ckpt') }));
    expect(res.steps).toBe(150);
    const records = readLog(logFile);
    const steps = records.filter((r) => r.type === 'step');
    expect(steps).toHaveLength(150);
    expect(steps[0]).toMatchObject({ type: 'step', stage: 'hard', step: 1 });
    expect(Object.keys((steps[0] as { parts: object }).parts)).toEqual(['ce']);
    const evals = records.filter((r) => r.type === 'eval');
    expect(evals.map((e) => e.step)).toEqual([20, 40, 60, 80, 100, 120, 140, 150]);
    const firstLoss = (steps.slice(0, 10) as { loss: number }[]).reduce((a, s) => a + s.loss, 0) / 10;
    const lastLoss = (steps.slice(-10) as { loss: number }[]).reduce((a, s) => a + s.loss, 0) / 10;
    expect(lastLoss).toBeLessThan(firstLoss * 0.8);
    expect(res.best!.score).toBeGreaterThan(0.75); // chance is 0.5
    expect(res.best!.model).toBe('raw');
    expect(fs.existsSync(path.join(dir, 'ckpt', 'best.json'))).toBe(true);
    expect(fs.existsSync(path.join(dir, 'ckpt', 'latest.json'))).toBe(true);
  });

  it('keeps the tensor count flat: the same after step 10 and step 200', async () => {
    const counts = new Map<number, number>();
    await train(
      hardLabelOptions({
        dev: undefined,
        evalEvery: 0,
        gradAccumulation: 2,
        batchSize: 4,
        ema: { updateAfterStep: 5, updateEvery: 2 },
        stages: [{ name: 'hard', steps: 200, lr: 1e-3, matches: [{ feature: 'labels', loss: 'ce', weight: 1 }] }],
        onProgress: (step) => {
          if (step === 10 || step === 200) counts.set(step, tf.memory().numTensors);
        },
      }),
    );
    expect(counts.get(10)).toBeGreaterThan(0);
    expect(counts.get(200)).toBe(counts.get(10));
  });
});

describe('train: distillation from a cache', () => {
  const teacherConfig = tinyConfig({ hidden_size: 12, num_attention_heads: 3, num_hidden_layers: 2, intermediate_size: 24, hidden_dropout_prob: 0 });

  it('two stages (intermediate, then prediction) reduce their losses; projections bridge 8→12 wide and 2→3 heads', async () => {
    const teacher = Student.create(teacherConfig, 11);
    const cache = cacheFromModel(teacher, trainData.encoded);
    const logFile = path.join(tmp(), 'log.jsonl');
    const res = await train({
      ...hardLabelOptions({ dev: undefined, evalEvery: 0, logFile }),
      teachers: [{ cache }],
      stages: [
        {
          name: 'intermediate',
          steps: 40,
          lr: 1e-2,
          matches: [
            { feature: 'hidden', layerS: 0, layerT: 0, loss: 'hidden_mse', weight: 1 },
            { feature: 'hidden', layerS: 1, layerT: 2, loss: 'hidden_mse', weight: 1 },
            { feature: 'attention', layerS: 0, layerT: 1, loss: 'attention_mse', weight: 1 },
          ],
        },
        { name: 'prediction', steps: 40, lr: 1e-2, matches: predictionMatches({ regression: false }) },
      ],
    });
    expect(res.steps).toBe(80);
    const steps = readLog(logFile).filter((r) => r.type === 'step') as { stage: string; loss: number; parts: Record<string, number> }[];
    const stage1 = steps.filter((s) => s.stage === 'intermediate');
    const stage2 = steps.filter((s) => s.stage === 'prediction');
    expect(Object.keys(stage1[0].parts).sort()).toEqual(['attention_mse/s0-t1', 'hidden_mse/s0-t0', 'hidden_mse/s1-t2']);
    expect(Object.keys(stage2[0].parts)).toEqual(['kd_ce']);
    const mean = (xs: { loss: number }[]) => xs.reduce((a, s) => a + s.loss, 0) / xs.length;
    expect(mean(stage1.slice(-5))).toBeLessThan(mean(stage1.slice(0, 5)));
    expect(mean(stage2.slice(-5))).toBeLessThan(mean(stage2.slice(0, 5)));
    teacher.dispose();
  });

  it('picks the best model only among evaluations of stages that train the classifier head', async () => {
    const teacher = Student.create(teacherConfig, 11);
    const cache = cacheFromModel(teacher, trainData.encoded);
    const logFile = path.join(tmp(), 'log.jsonl');
    const res = await train({
      ...hardLabelOptions({ evalEvery: 5, logFile }),
      teachers: [{ cache }],
      stages: [
        { name: 'intermediate', steps: 10, lr: 1e-2, matches: [{ feature: 'hidden', layerS: 0, layerT: 0, loss: 'hidden_mse', weight: 1 }] },
        // A vanishing lr: the prediction stage scores as the end of stage 1 did, and a tie keeps the earlier eval.
        { name: 'prediction', steps: 10, lr: 1e-12, matches: predictionMatches({ regression: false }) },
      ],
    });
    const evals = readLog(logFile).filter((r) => r.type === 'eval') as { stage: string; best?: boolean }[];
    expect(evals.filter((e) => e.stage === 'intermediate').length).toBeGreaterThan(0); // still logged
    expect(evals.filter((e) => e.stage === 'intermediate' && e.best)).toHaveLength(0);
    expect(res.best!.stage).toBe('prediction');
    teacher.dispose();
  });

  it('opens no teacher cache when every loss reads gold labels: a mismatched cache is not refused and changes nothing', async () => {
    const teacher = Student.create(teacherConfig, 11);
    const short = cacheFromModel(teacher, trainData.encoded.slice(0, 10));
    const opts = hardLabelOptions({ dev: undefined, stages: [{ name: 'hard', steps: 5, lr: 1e-2, matches: [{ feature: 'labels', loss: 'ce', weight: 1 }] }] });
    const withCache = await train({ ...opts, teachers: [{ cache: short }] });
    const without = await train(opts);
    for (const [name, p] of without.student.params) expect(Array.from(withCache.student.params.get(name)!.dataSync())).toEqual(Array.from(p.dataSync()));
    // As soon as a loss reads the teacher, the same cache is checked and refused.
    await expect(train({ ...opts, teachers: [{ cache: short }], stages: [{ name: 'p', steps: 1, lr: 1e-3, matches: predictionMatches({ regression: false }) }] })).rejects.toThrow(/numExamples is 10/);
    teacher.dispose();
  });

  it('refuses a cache of another size or vocabulary, naming the field', async () => {
    const teacher = Student.create(teacherConfig, 11);
    const short = cacheFromModel(teacher, trainData.encoded.slice(0, 10));
    const opts = { ...hardLabelOptions({ dev: undefined }), stages: [{ name: 'p', steps: 1, lr: 1e-3, matches: predictionMatches({ regression: false }) }] };
    await expect(train({ ...opts, teachers: [{ cache: short }] })).rejects.toThrow(/numExamples is 10 but the training data has 48/);
    const cache = cacheFromModel(teacher, trainData.encoded);
    const otherVocab = { ...cache, manifest: { ...cache.manifest, tokenizer: { vocabSize: 30522 } } };
    await expect(train({ ...opts, teachers: [{ cache: otherVocab }] })).rejects.toThrow(/vocab_size 30522.*vocab_size 24/);
    teacher.dispose();
  });

  it('refuses a cache of another task or one missing a needed layer; reads sparse layer layouts by layer number', async () => {
    const teacher = Student.create(teacherConfig, 11);
    const full = cacheFromModel(teacher, trainData.encoded);
    const hidden2 = [{ feature: 'hidden' as const, layerS: 1, layerT: 2, loss: 'hidden_mse' as const, weight: 1 }];
    const opts = { ...hardLabelOptions({ dev: undefined }), stages: [{ name: 'i', steps: 2, lr: 1e-3, matches: hidden2 }] };
    const otherTask = { ...full, manifest: { ...full.manifest, fingerprint: { task: 'sst2', numExamples: 48 } } };
    await expect(train({ ...opts, teachers: [{ cache: otherTask }] })).rejects.toThrow(/built for task "sst2", this run trains task "toy"/);
    // A cache storing only hidden layers [0, 2] (positions 0, 1) and no attention.
    const sparse = {
      ...full,
      manifest: { ...full.manifest, layout: { ...full.manifest!.layout, hiddenLayers: [0, 2], attentionLayers: [] } },
      readExample: (i: number) => {
        const e = full.readExample(i);
        return { ...e, hidden: [e.hidden[0], e.hidden[2]], attention: [] };
      },
    };
    const a = await train({ ...opts, teachers: [{ cache: full }] });
    const b = await train({ ...opts, teachers: [{ cache: sparse }] });
    expect(Array.from(b.student.params.get('classifier.bias')!.dataSync())).toEqual(Array.from(a.student.params.get('classifier.bias')!.dataSync()));
    expect(Array.from(b.student.params.get('encoder.layer.0.output.dense.weight')!.dataSync())).toEqual(
      Array.from(a.student.params.get('encoder.layer.0.output.dense.weight')!.dataSync()),
    );
    const hidden1 = [{ feature: 'hidden' as const, layerS: 1, layerT: 1, loss: 'hidden_mse' as const, weight: 1 }];
    await expect(train({ ...opts, stages: [{ name: 'i', steps: 1, lr: 1e-3, matches: hidden1 }], teachers: [{ cache: sparse }] })).rejects.toThrow(
      /does not store hidden layer 1 \(stored: 0, 2\)/,
    );
    teacher.dispose();
  });

  it('stops on a NaN loss naming the term and the step, keeping the last good checkpoint', async () => {
    const teacher = Student.create(teacherConfig, 11);
    const cache = cacheFromModel(teacher, trainData.encoded);
    let poison = false;
    const poisoned = { ...cache, readExample: (i: number) => {
      const e = cache.readExample(i);
      return poison ? { ...e, logits: Float32Array.from([NaN, 0]) } : e;
    } };
    const dir = tmp();
    const run = train({
      ...hardLabelOptions({ dev: undefined, checkpointDir: dir, checkpointEvery: 2, onProgress: (step) => { poison = step >= 4; } }),
      teachers: [{ cache: poisoned, cacheDir: '/runs/x/cache' }],
      stages: [{ name: 'p', steps: 20, lr: 1e-3, matches: predictionMatches({ regression: false }) }],
    });
    await expect(run).rejects.toThrow(/loss term kd_ce is NaN at step 5 \(stage p\).*last good checkpoint.*teacher's outputs in \/runs\/x\/cache/);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'latest.json'), 'utf8')).step).toBe(4);
    teacher.dispose();
  });
});
