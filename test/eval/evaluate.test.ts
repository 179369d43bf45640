import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TaskSpec } from '../../src/data/types.ts';
import { evaluateStudent, selectionMetric } from '../../src/eval/evaluate.ts';
import { Student } from '../../src/student/model.ts';
import { tinyConfig, toyData, toyTask, useCpu } from '../distill/helpers.ts';

beforeAll(useCpu);

/** Logits of each example run alone (no padding, no bucketing): the reference for the batched path. */
function aloneLogits(s: Student, ids: number[]): number[] {
  return tf.tidy(() => {
    const L = ids.length;
    const out = s.forward(
      {
        inputIds: tf.tensor2d([ids], [1, L], 'int32'),
        attentionMask: tf.tensor2d([ids.map(() => 1)], [1, L], 'int32'),
        tokenTypeIds: tf.tensor2d([ids.map(() => 0)], [1, L], 'int32'),
      },
      { training: false },
    );
    return Array.from(out.logits.dataSync());
  });
}

describe('evaluateStudent', () => {
  let s: Student; // made after useCpu: a tensor before any backend starts tfjs's default (and its Node banner)
  beforeAll(() => {
    s = Student.create(tinyConfig({ initializer_range: 0.5 }), 5);
  });
  const dev = toyData(13, 9);

  it('returns predictions in input order that match one-at-a-time forward passes, and the task metrics', () => {
    const r = evaluateStudent(s, dev.encoded, dev.labels, toyTask, 4);
    dev.encoded.forEach((e, i) => {
      const ref = aloneLogits(s, e.inputIds);
      expect(Array.from(r.logits[i])[0]).toBeCloseTo(ref[0], 4);
      expect(Array.from(r.logits[i])[1]).toBeCloseTo(ref[1], 4);
      expect(r.predictions[i]).toBe(ref[0] >= ref[1] ? 0 : 1);
    });
    const correct = r.predictions.filter((p, i) => p === dev.labels[i]).length;
    expect(r.metrics.accuracy).toBeCloseTo(correct / dev.labels.length, 10);
  });

  it('no labels: predictions only; regression: the raw output; bad inputs named', () => {
    expect(evaluateStudent(s, dev.encoded, undefined, toyTask, 8).metrics).toEqual({});
    const reg = Student.create(tinyConfig({ num_labels: 1, problem_type: 'regression', id2label: { 0: 'LABEL_0' }, label2id: { LABEL_0: 0 } }), 5);
    const stsb: TaskSpec = { ...toyTask, name: 'reg', labels: null, metrics: ['pearson', 'spearman'] };
    const r = evaluateStudent(reg, dev.encoded, dev.labels.map((l, i) => l + i / 10), stsb, 8);
    expect(r.predictions[0]).toBe(r.logits[0][0]);
    expect(Object.keys(r.metrics).sort()).toEqual(['pearson', 'spearman']);
    expect(selectionMetric(stsb)).toBe('pearson');
    expect(() => evaluateStudent(s, dev.encoded, [1, 0], toyTask)).toThrow(/13 encoded examples but 2 labels/);
    expect(() => evaluateStudent(s, dev.encoded, dev.labels, { ...toyTask, labels: ['a', 'b', 'c'] })).toThrow(/3 labels.*num_labels is 2/);
  });
});
