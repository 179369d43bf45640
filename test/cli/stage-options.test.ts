import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/cli/config-load.ts';
import { BACKENDS, checkAgainstTeacher, LOSS_NAMES } from '../../src/cli/config-schema.ts';
import * as opt from '../../src/cli/stage-options.ts';
import { BACKEND_PREFERENCES } from '../../src/backend/select.ts';
import { LOSSES } from '../../src/distill/losses.ts';
import { loadTask } from '../../src/data/tasks.ts';
import { MINIMAL } from './helpers.ts';

const cfg = (extra: Record<string, unknown> = {}) => parseConfig({ ...MINIMAL, out: '/runs/a', ...extra }, 'test');

it('the schema lists exactly the trainer losses and the backends', () => {
  expect([...LOSS_NAMES].sort()).toEqual(Object.keys(LOSSES).sort());
  expect([...BACKENDS]).toEqual([...BACKEND_PREFERENCES]);
});

describe('stage lengths', () => {
  const stage = (o: object) => parseConfig({ ...MINIMAL, distill: { stages: [{ name: 's', losses: [{ name: 'ce' }], ...o }] } }, 't').distill.stages[0];
  it('steps are taken as given', () => {
    expect(opt.stageSteps(stage({ steps: 17 }), 1000, 32, 1)).toBe(17);
  });
  it('epochs count whole updates: ceil(examples / (batch × accumulation)) per epoch', () => {
    expect(opt.stageSteps(stage({ epochs: 1 }), 1000, 32, 1)).toBe(32); // ceil(1000/32) = 32
    expect(opt.stageSteps(stage({ epochs: 2 }), 1000, 32, 2)).toBe(32); // 2 × ceil(1000/64) = 2 × 16
    expect(opt.stageSteps(stage({ epochs: 0.5 }), 100, 10, 1)).toBe(5);
    expect(opt.stageSteps(stage({ epochs: 0.001 }), 100, 10, 1)).toBe(1); // never zero
  });
});

describe('loss matches', () => {
  const mapping = { hidden: [{ s: 0, t: 0 }, { s: 1, t: 2 }], attention: [{ s: 0, t: 1 }] };
  it('intermediate losses expand over the mapped pairs with the stage weight', () => {
    const c = cfg({ distill: { stages: [{ name: 'i', steps: 1, losses: [{ name: 'hidden_mse', weight: 2 }, { name: 'attention_kl', weight: 0.5 }] }] } });
    expect(opt.stageMatches(c.distill.stages[0], mapping, 'x')).toEqual([
      { feature: 'hidden', layerS: 0, layerT: 0, loss: 'hidden_mse', weight: 2 },
      { feature: 'hidden', layerS: 1, layerT: 2, loss: 'hidden_mse', weight: 2 },
      { feature: 'attention', layerS: 0, layerT: 1, loss: 'attention_kl', weight: 0.5 },
    ]);
  });
  it('prediction and gold-label losses; weight 0 drops a term', () => {
    const c = cfg({ distill: { stages: [{ name: 'p', steps: 1, losses: [{ name: 'kd_ce', weight: 0.7 }, { name: 'ce', weight: 0.3 }, { name: 'kd_mse', weight: 0 }] }] } });
    expect(opt.stageMatches(c.distill.stages[0], undefined, 'x')).toEqual([
      { feature: 'logits', loss: 'kd_ce', weight: 0.7 },
      { feature: 'labels', loss: 'ce', weight: 0.3 },
    ]);
  });
  it('an intermediate loss without a mapping names the stage and loss', () => {
    const c = cfg();
    expect(() => opt.stageMatches(c.distill.stages[0], undefined, 'distill.stages[0]')).toThrow('distill.stages[0].losses[0]: "hidden_mse" needs a layer mapping');
  });
  it('the uniform mapping resolves against the teacher depth (TinyBERT: attention i·k+k−1)', () => {
    const c = cfg({ student: { numLayers: 2 } });
    expect(opt.layerMapping(c, 4)).toEqual({ hidden: [{ s: 0, t: 0 }, { s: 1, t: 2 }, { s: 2, t: 4 }], attention: [{ s: 0, t: 1 }, { s: 1, t: 3 }] });
    expect(() => opt.layerMapping(cfg({ student: { numLayers: 3 } }), 4)).toThrow(/distill\.mapping: uniform mapping needs/);
  });
  it('no mapping is resolved when no stage compares layers', () => {
    const c = cfg({ distill: { stages: [{ name: 'p', steps: 1, losses: [{ name: 'kd_ce' }] }] } });
    expect(opt.layerMapping(c, 5)).toBeUndefined();
  });
});

describe('schedules and options', () => {
  it('warm-up is a fraction of the stage; temperature constant or scheduled', () => {
    const c = cfg({ distill: { stages: [{ name: 'p', steps: 200, warmup: 0.25, lrSchedule: 'cosine', losses: [{ name: 'kd_ce' }], temperature: { schedule: 'linear', from: 4, to: 1 } }] } });
    const s = c.distill.stages[0];
    expect(opt.lrSchedule(s, 200)).toEqual({ kind: 'cosine', warmupSteps: 50, minRatio: 0 });
    expect(opt.temperature(s)).toEqual({ kind: 'linear', from: 4, to: 1 });
    expect(opt.temperature(cfg().distill.stages[0])).toBe(1);
  });
  it('trainer stages carry the computed steps', () => {
    const c = cfg({ distill: { batchSize: 10, stages: [{ name: 'p', epochs: 2, lr: 0.01, losses: [{ name: 'kd_ce' }] }] } });
    const [s] = opt.trainerStages(c, 95, undefined);
    expect(s).toMatchObject({ name: 'p', steps: 20, lr: 0.01, lrSchedule: { kind: 'linear', warmupSteps: 2 }, temperature: 1 });
  });
  it('EMA options only when enabled, without the switch itself', () => {
    expect(opt.emaOptions(cfg())).toBeNull();
    expect(opt.emaOptions(cfg({ ema: { enabled: true, beta: 0.99 } }))).toEqual({ beta: 0.99, updateAfterStep: 100, updateEvery: 10, invGamma: 1, power: 2 / 3, minValue: 0, mode: 'warmup', biasCorrection: false, exclude: [] });
  });
  it('needsTeacher is false only for gold-label stages', () => {
    expect(opt.needsTeacher(cfg())).toBe(true);
    expect(opt.needsTeacher(cfg({ distill: { stages: [{ name: 'h', steps: 1, losses: [{ name: 'ce' }] }] } }))).toBe(false);
  });
  it('cache options: layers, logits-only, paths under out', () => {
    expect(opt.cacheOptions(cfg())).toMatchObject({ outDir: '/runs/a/cache', split: 'train', logitsOnly: false, layers: undefined, dtype: 'float16' });
    const c = cfg({ cache: { layers: [0, 2], dir: '/c' }, distill: { stages: [{ name: 'p', steps: 1, losses: [{ name: 'kd_ce' }] }] } });
    expect(opt.cacheOptions(c)).toMatchObject({ outDir: '/c', layers: [0, 2] });
    const l = cfg({ cache: { layers: 'logits' }, distill: { stages: [{ name: 'p', steps: 1, losses: [{ name: 'kd_ce' }] }] } });
    expect(opt.cacheOptions(l).logitsOnly).toBe(true);
  });
  it('augmentation moves the training split (not dev) to <out>/augmented', () => {
    const c = cfg({ augment: { enabled: true } });
    expect(opt.trainDataDir(c)).toBe('/runs/a/augmented');
    expect(opt.cacheOptions(c).dataDir).toBe('/runs/a/augmented');
  });
  it('the student config: shape from the run, labels from the task, vocabulary from the teacher', () => {
    const c = cfg({ student: { hiddenSize: 64, numLayers: 2, numHeads: 4, intermediateSize: 256, maxPositions: 128 } });
    const b = opt.studentBertConfig(c, loadTask('sst2'), 313);
    expect(b).toMatchObject({ hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 256, vocab_size: 313, num_labels: 2, problem_type: 'single_label_classification' });
    expect(b.id2label).toEqual({ 0: 'negative', 1: 'positive' });
    expect(b.label2id).toEqual({ negative: 0, positive: 1 });
    expect(opt.studentBertConfig(c, loadTask('rte'), 313).id2label).toEqual({ 0: 'entailment', 1: 'not_entailment' });
    expect(opt.studentBertConfig(c, loadTask('stsb'), 313)).toMatchObject({ num_labels: 1, problem_type: 'regression' });
  });
});

describe('majority-class baseline (the "is the teacher fine-tuned?" check)', async () => {
  const { majorityBaseline } = await import('../../src/cli/pipeline-eval.ts');
  const ex = (labels: number[]) => labels.map((label, index) => ({ index, textA: 'x', label, source: { file: 'f', line: index + 1 } }));
  it('accuracy of always predicting the most frequent label', async () => {
    expect(await majorityBaseline(loadTask('sst2'), ex([1, 1, 0, 1]))).toBe(0.75);
  });
  it('MCC of a constant prediction is 0 (CoLA)', async () => {
    expect(await majorityBaseline(loadTask('cola'), ex([1, 0, 1]))).toBe(0);
  });
  it('none for regression', async () => {
    expect(await majorityBaseline(loadTask('stsb'), ex([1, 2]))).toBeUndefined();
  });
});

describe('relation_kl from the config', () => {
  const rel = (loss: Record<string, unknown>, student: Record<string, unknown> = {}) =>
    cfg({ student: { hiddenSize: 32, numHeads: 2, numLayers: 2, ...student }, distill: { stages: [{ name: 'r', steps: 5, losses: [{ name: 'relation_kl', relationHeads: 4, ...loss }] }] } });

  it('one match per relation between the last layers by default; the cache stores the teacher layer\'s Q/K/V', () => {
    const c = rel({});
    expect(opt.stageMatches(c.distill.stages[0], undefined, 'x', { teacherLayers: 6, studentLayers: 2 })).toEqual(
      ['qq', 'kk', 'vv'].map((relation) => ({ feature: 'relation', layerS: 1, layerT: 5, loss: 'relation_kl', weight: 1, relation, relationHeads: 4 })),
    );
    expect(opt.cacheOptions(c).qkvLayers).toEqual(['last']);
    // No layer mapping is needed (no hidden / attention losses).
    expect(opt.layerMapping(c, 6)).toBeUndefined();
  });

  it('chosen relations and layers (1-based in the config, 0-based in matches)', () => {
    const c = rel({ relations: ['vv'], teacherLayer: 4, studentLayer: 1, weight: 2 });
    expect(opt.stageMatches(c.distill.stages[0], undefined, 'x', { teacherLayers: 6, studentLayers: 2 })).toEqual([
      { feature: 'relation', layerS: 0, layerT: 3, loss: 'relation_kl', weight: 2, relation: 'vv', relationHeads: 4 },
    ]);
    expect(opt.cacheOptions(c).qkvLayers).toEqual([4]);
    expect(opt.cacheOptions(cfg()).qkvLayers).toBeUndefined();
  });

  it('refuses a missing relationHeads, one that does not divide the width, relation keys on other losses', () => {
    expect(() => cfg({ distill: { stages: [{ name: 'r', steps: 5, losses: [{ name: 'relation_kl' }] }] } })).toThrow(/distill.stages\[0\].losses\[0\].relationHeads: required for relation_kl/);
    expect(() => rel({ relationHeads: 5 })).toThrow(/relationHeads: must divide student.hiddenSize \(32\); 5 does not/);
    expect(() => rel({ studentLayer: 3 })).toThrow(/studentLayer: 3 is out of range 1..2/);
    expect(() => cfg({ cache: { layers: 'logits' }, student: { hiddenSize: 32, numHeads: 2 }, distill: { stages: [{ name: 'r', steps: 5, losses: [{ name: 'relation_kl', relationHeads: 4 }] }] } })).toThrow(/"logits" stores no hidden states or attention \(nor query\/key\/value\)/);
    expect(() => cfg({ distill: { stages: [{ name: 'r', steps: 5, losses: [{ name: 'kd_ce', relationHeads: 2 }] }] } })).toThrow(/only relation_kl takes "relationHeads"/);
  });

  it('checks the teacher side once the teacher is known: teacherLayer in range, relationHeads divides its width', () => {
    const c = rel({ teacherLayer: 7, relationHeads: 8 });
    expect(checkAgainstTeacher(c, { numLayers: 6, hiddenSize: 60, numHeads: 6, maxPositions: 512 })).toEqual([
      'distill.stages[0].losses[0].teacherLayer: 7 is out of range 1..6 (the teacher has 6 layers)',
      "distill.stages[0].losses[0].relationHeads: 8 must divide the teacher's hidden_size (60)",
    ]);
    expect(checkAgainstTeacher(rel({}), { numLayers: 6, hiddenSize: 64, numHeads: 4, maxPositions: 512 })).toEqual([]);
  });
});
