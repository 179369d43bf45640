/**
 * Every trainer option is reachable from a config file: for each key of TrainOptions and StageOptions
 * (the tables below must list them all or this file does not compile), a config file sets it to a
 * non-default value and the derived trainer options carry that value.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../../src/cli/config-load.ts';
import * as opt from '../../src/cli/stage-options.ts';
import { loadTask } from '../../src/data/tasks.ts';
import { DEFAULT_EMA, type EmaOptions } from '../../src/train/ema.ts';
import type { AdamWOptions } from '../../src/train/adamw.ts';
import type { MomentumOptions, StageOptions, TrainOptions } from '../../src/train/train-options.ts';
import { MINIMAL, tempDir, writeConfig } from './helpers.ts';

type Patch = Record<string, unknown>;
interface Case {
  /** Config keys (dotted) and values written into the file on top of MINIMAL. */
  set: Patch;
  /** What the trainer option must then be. */
  check: (o: TrainOptions, inputs: opt.TrainInputs) => void;
}
/** Options that come from the run's inputs rather than a config value; the reason says which. */
type Runtime = { runtime: string };

const task = loadTask('sst2');
const inputs: opt.TrainInputs = {
  task,
  train: { encoded: Array.from({ length: 10 }, () => ({ inputIds: [101, 102], tokenTypeIds: [0, 0] })) as never, labels: new Array(10).fill(0) },
  dev: { encoded: [], labels: [] },
  teacherLayers: 4,
  studentConfig: opt.studentBertConfig(parseConfig(MINIMAL, 'test'), task, 100),
};

/** Writes MINIMAL + patch as a JSON file, loads it like the CLI does, derives the trainer options. */
function fromFile(patch: Patch): TrainOptions {
  const raw: Record<string, unknown> = structuredClone({ ...MINIMAL, out: 'out' });
  for (const [k, v] of Object.entries(patch)) {
    const keys = k.split('.');
    let node = raw as Record<string, unknown>;
    keys.slice(0, -1).forEach((key, i) => {
      node[key] ??= /^\d+$/.test(keys[i + 1]) ? [] : {};
      node = node[key] as Record<string, unknown>;
    });
    node[keys[keys.length - 1]] = v;
  }
  const dir = tempDir('trainer-options-');
  const c = loadConfig({ file: writeConfig(dir, raw) });
  return opt.trainOptions(c, inputs);
}

const pStage = (extra: Patch) => ({ 'distill.stages': [{ name: 'p', steps: 10, losses: [{ name: 'kd_ce' }, { name: 'ce' }], ...extra }] });
const stage0 = (o: TrainOptions): StageOptions => o.stages[0];

const TRAIN_CASES: Record<keyof TrainOptions, Case | Runtime> = {
  task: { runtime: 'the config key task, loaded into a TaskSpec by the pipeline (loadTask)' },
  studentConfig: { runtime: 'built from student.* by studentBertConfig (tested in stage-options.test.ts)' },
  initFolder: { runtime: 'student.initFolder: the pipeline loads it into initStudent (fresh head)' },
  initStudent: { runtime: 'student.init "teacher" or student.initFolder (pipeline)' },
  train: { runtime: 'data.dir / data.trainSplit, read and encoded by the pipeline' },
  batchSource: { runtime: 'the streamed corpus of `distill general`' },
  dev: { runtime: 'data.devSplit, read and encoded by the pipeline' },
  teachers: {
    set: { 'multiTeacher.teachers': [{ cache: 'c2', weight: 0.25 }, { dir: 't3' }], 'multiTeacher.weight': 2, 'cache.dir': '/shared/sst2/cache' },
    check: (o) => {
      expect(o.teachers?.map((t) => [path.basename(t.cacheDir!), t.weight])).toEqual([['cache', 2], ['c2', 0.25], ['cache-teacher2', 1]]);
      // A folder teacher's cache sits next to the main cache, so runs with their own `out` share it.
      expect(o.teachers?.[2].cacheDir).toBe(path.resolve('/shared/sst2/cache-teacher2'));
    },
  },
  multiTeacher: {
    set: { 'multiTeacher.teachers': [{ cache: 'c2' }], 'multiTeacher.combine': 'most_confident', 'multiTeacher.intermediate': 1 },
    check: (o) => expect(o.multiTeacher).toEqual({ combine: 'most_confident', intermediateTeacher: 1 }),
  },
  cacheFingerprint: { runtime: 'checksum of the training file, data.maxLength and data.trainSplit (pipeline)' },
  ownTokenizer: { set: { 'student.tokenizer': 'student-vocab.txt', ...pStage({}) }, check: (o) => expect(o.ownTokenizer).toBe(true) },
  stages: { set: pStage({}), check: (o) => expect(o.stages.map((s) => s.name)).toEqual(['p']) },
  batchSize: { set: { 'distill.batchSize': 7 }, check: (o) => expect(o.batchSize).toBe(7) },
  gradAccumulation: { set: { 'distill.gradAccum': 3 }, check: (o) => expect(o.gradAccumulation).toBe(3) },
  maxGradNorm: { set: { 'distill.gradClip': 0 }, check: (o) => expect(o.maxGradNorm).toBe(0) },
  optimizer: {
    set: { 'distill.weightDecay': 0.2, 'distill.optimizer': { beta1: 0.8, beta2: 0.98, epsilon: 1e-8 } },
    check: (o) => {
      const want: Required<Omit<AdamWOptions, 'noDecay'>> = { weightDecay: 0.2, beta1: 0.8, beta2: 0.98, epsilon: 1e-8 };
      expect(o.optimizer).toEqual(want);
    },
  },
  seed: { set: { seed: 9 }, check: (o) => expect(o.seed).toBe(9) },
  bucketSize: { set: { 'distill.bucketSize': 5 }, check: (o) => expect(o.bucketSize).toBe(5) },
  evalEvery: { set: { 'distill.evalEvery': 3 }, check: (o) => expect(o.evalEvery).toBe(3) },
  evalBatchSize: { set: { 'eval.batchSize': 5 }, check: (o) => expect(o.evalBatchSize).toBe(5) },
  ema: { set: { 'ema.enabled': true }, check: (o) => expect(o.ema).not.toBeNull() },
  sharedProjection: { set: { 'distill.sharedProjection': true }, check: (o) => expect(o.sharedProjection).toBe(true) },
  checkpointDir: { set: { out: 'elsewhere' }, check: (o) => expect(o.checkpointDir).toMatch(/elsewhere[\\/]checkpoints$/) },
  checkpointEvery: { set: { 'distill.checkpointEvery': 4 }, check: (o) => expect(o.checkpointEvery).toBe(4) },
  resume: { runtime: 'the --resume flag (or the second `npm start`)' },
  allowChanged: { runtime: 'the --allow-changed flag' },
  onStart: { runtime: 'the pipeline writes resolved-config.json there' },
  stopRequested: { runtime: 'SIGINT / SIGTERM handlers of the CLI' },
  logFile: { set: { out: 'elsewhere' }, check: (o) => expect(o.logFile).toMatch(/elsewhere[\\/]train-log\.jsonl$/) },
  logEvery: { set: { 'distill.logEvery': 6 }, check: (o) => expect(o.logEvery).toBe(6) },
  onProgress: { runtime: 'the CLI progress bars' },
  onPruned: { runtime: 'scripts: the pruned model before recovery' },
  earlyStopping: {
    set: { 'distill.earlyStopping': { patience: 3, minDelta: 0.01, mode: 'min' } },
    check: (o) => expect(o.earlyStopping).toEqual({ patience: 3, minDelta: 0.01, mode: 'min' }),
  },
  reduceLrOnPlateau: {
    set: { 'distill.reduceLrOnPlateau': { patience: 2, factor: 0.3, minDelta: 0.001, cooldown: 1, minLr: 1e-6 } },
    check: (o) => expect(o.reduceLrOnPlateau).toEqual({ patience: 2, factor: 0.3, minDelta: 0.001, mode: 'max', cooldown: 1, minLr: 1e-6 }),
  },
  quantization: {
    set: { ...pStage({ quantize: true }), 'distill.quantization': { emaDecay: 0.9, reduceRange: true, ranges: 'learned' } },
    check: (o) => expect(o.quantization).toEqual({ emaDecay: 0.9, reduceRange: true, ranges: 'learned' }),
  },
};

const schedule = { schedule: 'linear', from: 0.9, to: 0.1 };
const STAGE_CASES: Record<keyof StageOptions, Case> = {
  name: { set: pStage({ name: 'q' }), check: (o) => expect(stage0(o).name).toBe('q') },
  steps: { set: pStage({ steps: 13 }), check: (o) => expect(stage0(o).steps).toBe(13) },
  matches: {
    set: pStage({ losses: [{ name: 'kd_kl', weight: 0.5, temperature: 3, scaleT2: true }] }),
    check: (o) => expect(stage0(o).matches).toEqual([{ feature: 'logits', loss: 'kd_kl', weight: 0.5, temperature: 3, scaleT2: true }]),
  },
  lr: { set: pStage({ lr: 0.003 }), check: (o) => expect(stage0(o).lr).toBe(0.003) },
  lrSchedule: {
    set: pStage({ lrSchedule: 'cosine', warmup: 0.2, lrMinRatio: 0.1 }),
    check: (o) => expect(stage0(o).lrSchedule).toEqual({ kind: 'cosine', warmupSteps: 2, minRatio: 0.1 }),
  },
  temperature: {
    set: pStage({ temperature: { schedule: 'cosine', from: 4, to: 1, startStep: 2, endStep: 8 } }),
    check: (o) => expect(stage0(o).temperature).toEqual({ kind: 'cosine', from: 4, to: 1, startStep: 2, endStep: 8 }),
  },
  temperatureRule: {
    set: pStage({ temperatureRule: { kind: 'flsw', beta: 2, gamma: 3 } }),
    check: (o) => expect(stage0(o).temperatureRule).toEqual({ kind: 'flsw', beta: 2, gamma: 3 }),
  },
  weights: {
    set: pStage({ weights: { logits: { kind: 'adaptive', teacherScore: 0.9, margin: 0.1 }, labels: { kind: 'linear_growth', weight: 2, endStep: 5 } } }),
    check: (o) =>
      expect(stage0(o).weights).toEqual({ logits: { kind: 'adaptive', weight: 1, teacherScore: 0.9, margin: 0.1 }, labels: { kind: 'linear_growth', weight: 2, endStep: 5 } }),
  },
  curriculum: {
    set: pStage({ curriculum: { kind: 'cosine', startStep: 2, endStep: 6 } }),
    check: (o) => expect(stage0(o).curriculum).toEqual({ kind: 'cosine', startStep: 2, endStep: 6 }),
  },
  momentum: {
    set: { ...pStage({ momentum: { alpha: schedule, temperature: 2 } }), 'ema.enabled': true },
    check: (o) => {
      const want: MomentumOptions = { alpha: { kind: 'linear', from: 0.9, to: 0.1 }, temperature: 2 };
      expect(stage0(o).momentum).toEqual(want);
    },
  },
  alpha: { set: pStage({ alpha: schedule }), check: (o) => expect(stage0(o).alpha).toEqual({ kind: 'linear', from: 0.9, to: 0.1 }) },
  quantize: { set: pStage({ quantize: true }), check: (o) => expect(stage0(o).quantize).toBe(true) },
  prune: {
    set: pStage({ prune: { heads: [2, 1], ffn: 40, batches: 4 } }),
    check: (o) => expect(stage0(o).prune).toEqual({ heads: [2, 1], ffn: 40, score: 'gradient', batches: 4, normalize: true }),
  },
};

const EMA_CASES: Record<keyof EmaOptions, unknown> = {
  beta: 0.99,
  updateAfterStep: 3,
  updateEvery: 2,
  invGamma: 2,
  power: 0.5,
  minValue: 0.1,
  mode: 'constant',
  biasCorrection: true,
  exclude: ['classifier.'],
};

describe('every trainer option is settable from a config file', () => {
  for (const [key, c] of Object.entries(TRAIN_CASES)) {
    if ('runtime' in c) {
      it(`${key}: a run input (${c.runtime}); listed in TRAIN_OPTION_SOURCES`, () => {
        expect(opt.TRAIN_OPTION_SOURCES[key as keyof TrainOptions]).toBeTruthy();
      });
      continue;
    }
    it(`${key} ← ${opt.TRAIN_OPTION_SOURCES[key as keyof TrainOptions]}`, () => {
      const defaults = fromFile({});
      const o = fromFile(c.set);
      c.check(o, inputs);
      // The value differs from what the defaults give, so the key really moved it.
      expect(JSON.stringify((o as unknown as Record<string, unknown>)[key])).not.toBe(JSON.stringify((defaults as unknown as Record<string, unknown>)[key]));
    });
  }
  for (const [key, c] of Object.entries(STAGE_CASES)) {
    it(`stages[].${key} ← ${opt.STAGE_OPTION_SOURCES[key as keyof StageOptions]}`, () => {
      c.check(fromFile(c.set), inputs);
    });
  }
  it('every EMA option (ema.*)', () => {
    const o = fromFile({ 'ema.enabled': true, ...Object.fromEntries(Object.entries(EMA_CASES).map(([k, v]) => [`ema.${k}`, v])) });
    expect(o.ema).toEqual(EMA_CASES);
    for (const [k, v] of Object.entries(EMA_CASES)) expect(v).not.toEqual(DEFAULT_EMA[k as keyof EmaOptions]);
  });
  it('self-distillation: no teacher cache is read', () => {
    const o = fromFile({ 'distill.selfDistillation': true, 'ema.enabled': true, ...pStage({ momentum: { alpha: 0.5 } }) });
    expect(o.teachers).toBeUndefined();
    expect(stage0(o).momentum).toEqual({ alpha: 0.5, temperature: 1 });
  });
});
