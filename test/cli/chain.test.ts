import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { assistantRunConfig, studentRunConfig } from '../../src/cli/chain.ts';
import { parseConfig } from '../../src/cli/config-load.ts';
import { checkChainAgainstTeacher } from '../../src/cli/config-schema.ts';
import { changedSettings } from '../../src/cli/pipeline-chain.ts';
import { MINIMAL } from './helpers.ts';

const STAGES = [
  { name: 'intermediate', steps: 2, losses: [{ name: 'hidden_mse' }] },
  { name: 'prediction', steps: 3, losses: [{ name: 'kd_ce' }] },
];

/** teacher (12 × 768) → 6 × 384 → 3 × 256 → student 1 × 128. */
const CHAIN = {
  ...MINIMAL,
  out: '/runs/ta',
  teacher: { dir: '/models/bert', labelMap: 'negative=0,positive=1', provider: 'cpu', threads: 2 },
  cache: { dir: '/caches/bert', dtype: 'float32' },
  student: { hiddenSize: 128, numLayers: 1, numHeads: 4, intermediateSize: 512 },
  assistants: [
    { hiddenSize: 384, numLayers: 6, numHeads: 6, intermediateSize: 1536, distill: { batchSize: 16, stages: [{ name: 'only', steps: 7, losses: [{ name: 'kd_ce' }] }] } },
    { hiddenSize: 256, numLayers: 3, numHeads: 4, intermediateSize: 1024 },
  ],
  distill: { batchSize: 8, evalEvery: 5, stages: STAGES },
  export: { quantize: true },
};
const BERT_BASE = { numLayers: 12, hiddenSize: 768, numHeads: 12, maxPositions: 512 };

const parse = (raw: unknown) => parseConfig(raw, '(test)');
const errorOf = (raw: unknown): string => {
  try {
    parse(raw);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected the config to be refused');
};

describe('teacher-assistant chain: one run config per link', () => {
  const c = parse(CHAIN);

  it('the first assistant learns from the teacher, in <out>/assistant-1, with the teacher cache the config names', () => {
    const a = assistantRunConfig(c, 0);
    expect(a.teacher).toEqual(c.teacher);
    expect(a.out).toBe(path.join('/runs/ta', 'assistant-1'));
    expect(a.cache.dir).toBe('/caches/bert');
    expect(a.student).toEqual({ ...c.student, hiddenSize: 384, numLayers: 6, numHeads: 6, intermediateSize: 1536 });
    expect(a.assistants).toEqual([]);
    expect(a.export).toMatchObject({ enabled: true, withIntermediates: true, quantize: false, dir: undefined });
    expect(a.report.enabled).toBe(false);
    // overrides replace the run's keys whole; the rest is the run's
    expect(a.distill.batchSize).toBe(16);
    expect(a.distill.stages.map((s) => s.name)).toEqual(['only']);
    expect(a.distill.evalEvery).toBe(5);
  });

  it('later links learn from the export before them and cache it in their own folder', () => {
    const a = assistantRunConfig(c, 1);
    expect(a.teacher).toEqual({ dir: path.join('/runs/ta', 'assistant-1', 'student-onnx'), provider: 'cpu', threads: 2 });
    expect(a.cache.dir).toBeUndefined();
    expect(a.out).toBe(path.join('/runs/ta', 'assistant-2'));
    expect(a.distill).toEqual(c.distill);
    const s = studentRunConfig(c);
    expect(s.teacher.dir).toBe(path.join('/runs/ta', 'assistant-2', 'student-onnx'));
    expect(s.cache.dir).toBeUndefined(); // <out>/cache
    expect(s.out).toBe('/runs/ta');
    expect(s.student).toEqual(c.student);
    expect(s.export.quantize).toBe(true);
    expect(studentRunConfig(parse(MINIMAL))).toEqual(parse(MINIMAL));
  });

  it('assistant key errors name assistants[i] and the allowed keys', () => {
    expect(errorOf({ ...CHAIN, assistants: [{ ...CHAIN.assistants[1], hiddenSzie: 3 }] })).toContain('assistants[0].hiddenSzie: unknown key "hiddenSzie" (allowed keys: hiddenSize, numLayers, numHeads, intermediateSize, maxPositions, dropout, attentionDropout, init, initFolder, distill)');
    expect(errorOf({ ...CHAIN, assistants: [{ ...CHAIN.assistants[1], distill: { batchSzie: 3 } }] })).toContain('assistants[0].distill.batchSzie: unknown key "batchSzie"');
    expect(errorOf({ ...CHAIN, assistants: [{ ...CHAIN.assistants[1], numHeads: 5 }] })).toContain('assistants[0].numHeads: must divide assistants[0].hiddenSize (256); 5 does not');
    expect(errorOf({ ...CHAIN, data: { dir: 'd', maxLength: 256 }, assistants: [{ ...CHAIN.assistants[1], maxPositions: 128 }] })).toContain('data.maxLength: 256 exceeds assistants[0].maxPositions (128) (in the run of assistants[0])');
    const stages = [{ name: 'x', steps: 1, losses: [{ name: 'relation_kl', relationHeads: 3 }] }];
    expect(errorOf({ ...CHAIN, distill: { stages: [{ name: 'x', steps: 1, losses: [{ name: 'relation_kl', relationHeads: 4 }] }] }, assistants: [{ ...CHAIN.assistants[1], distill: { stages } }] })).toContain(
      'assistants[0].distill.stages[0].losses[0].relationHeads: must divide assistants[0].hiddenSize (256); 3 does not',
    );
  });

  it('each model is at most as wide and deep as the one it learns from', () => {
    const wider = errorOf({ ...CHAIN, assistants: [CHAIN.assistants[1], CHAIN.assistants[0]] });
    expect(wider).toContain('assistants[1].hiddenSize: 384 makes assistants[1] wider than assistants[0] it learns from (hiddenSize 256)');
    expect(wider).toContain('assistants[1].numLayers: 6 makes assistants[1] deeper than assistants[0] it learns from (numLayers 3)');
    expect(errorOf({ ...CHAIN, student: { ...CHAIN.student, hiddenSize: 512, numHeads: 4 } })).toContain('student.hiddenSize: 512 makes the student wider than assistants[1] it learns from (hiddenSize 256)');
    const errs = checkChainAgainstTeacher(c, { ...BERT_BASE, hiddenSize: 256 });
    expect(errs).toContain('assistants[0].hiddenSize: 384 makes the first assistant wider than the teacher it learns from (hidden_size 256); a chain goes from larger to smaller models');
    expect(checkChainAgainstTeacher(c, BERT_BASE)).toEqual([]);
  });

  it('teacher-dependent checks run on every link with that link\'s teacher', () => {
    // uniform mapping with hidden_mse: 6 | 12, 3 | 6, 1 | 3; then 5 ∤ 6 and 2 ∤ 5
    const errs = checkChainAgainstTeacher(c, BERT_BASE);
    expect(errs).toEqual([]);
    const odd = parse({ ...CHAIN, assistants: [CHAIN.assistants[0], { ...CHAIN.assistants[1], numLayers: 5, distill: { stages: STAGES } }], student: { ...CHAIN.student, numLayers: 2 } });
    expect(checkChainAgainstTeacher(odd, BERT_BASE)).toEqual([
      'assistants[1], learning from assistants[0]: distill.mapping: "uniform" needs the teacher\'s 6 layers to be a multiple of assistants[1].numLayers (5); choose a divisor, "last", or explicit {hidden, attention} pairs',
      'the student, learning from assistants[1]: distill.mapping: "uniform" needs the teacher\'s 5 layers to be a multiple of student.numLayers (2); choose a divisor, "last", or explicit {hidden, attention} pairs',
    ]);
  });

  it('combinations a chain does not support are refused', () => {
    expect(errorOf({ ...CHAIN, augment: { enabled: true } })).toContain('assistants: teacher assistants are not combined with augment.enabled');
    expect(errorOf({ ...CHAIN, multiTeacher: { teachers: [{ dir: 't2' }] } })).toContain('assistants: teacher assistants are not combined with multiTeacher.teachers');
  });

  it('changed settings are listed by key', () => {
    expect(changedSettings({ a: { b: 1, c: [1, 2] } }, { a: { b: 1, c: [1, 3] } })).toEqual(['a.c.1: 2 → 3']);
    expect(changedSettings({ a: 1 }, { a: 1, b: 'x' })).toEqual(['b: unset → "x"']);
    expect(changedSettings({ a: 1 }, { a: 1 })).toEqual([]);
  });
});
