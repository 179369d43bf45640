import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadTask } from '../../src/data/tasks.ts';
import { accuracy, averageRanks, computeTaskMetrics, f1, glueScore, mcc, METRICS, pearson, spearman } from '../../src/metrics/metrics.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const ref = JSON.parse(fs.readFileSync(path.join(ROOT, 'test/fixtures/metrics-reference.json'), 'utf8')) as {
  cases: { name: string; predictions: number[]; labels: number[]; expected: Record<keyof typeof METRICS, number> }[];
};

describe('metrics against scikit-learn / SciPy (scripts/metrics_reference.py)', () => {
  it('has reference cases', () => expect(ref.cases.length).toBeGreaterThanOrEqual(10));
  for (const c of ref.cases) {
    it(c.name, () => {
      for (const [name, expected] of Object.entries(c.expected)) {
        const got = METRICS[name as keyof typeof METRICS](c.predictions, c.labels);
        expect({ name, got }).toEqual({ name, got: expect.closeTo(expected, 12) });
      }
    });
  }
});

describe('metrics by hand', () => {
  it('accuracy, f1 and mcc on a small confusion matrix (tp 2, fp 1, fn 1, tn 2)', () => {
    const p = [1, 1, 1, 0, 0, 0];
    const l = [1, 1, 0, 1, 0, 0];
    expect(accuracy(p, l)).toBeCloseTo(4 / 6, 12);
    expect(f1(p, l)).toBeCloseTo(2 / 3, 12); // precision 2/3, recall 2/3
    expect(mcc(p, l)).toBeCloseTo((2 * 2 - 1 * 1) / Math.sqrt(3 * 3 * 3 * 3), 12); // 1/3
  });

  it('MCC is 0, not NaN, when everything is one class', () => {
    expect(mcc([1, 1, 1], [1, 1, 1])).toBe(0);
    expect(mcc([0, 0, 0, 0], [0, 1, 0, 1])).toBe(0);
  });

  it('pearson of a constant side is 0 (documented choice; SciPy says NaN)', () => {
    expect(pearson([2, 2, 2], [1, 2, 3])).toBe(0);
    expect(spearman([1, 2, 3], [7, 7, 7])).toBe(0);
  });

  it('average ranks for ties', () => {
    expect([...averageRanks([10, 20, 20, 5, 20])]).toEqual([2, 4, 4, 1, 4]);
  });

  it('empty input and length mismatch are clear errors', () => {
    expect(() => accuracy([], [])).toThrow(/accuracy: no examples to score \(empty input\)/);
    expect(() => spearman([1], [1, 2])).toThrow(/spearman: predictions \(1\) and labels \(2\) differ in length/);
  });
});

describe('computeTaskMetrics', () => {
  it('uses the metrics the task declares', () => {
    expect(computeTaskMetrics(loadTask('mrpc'), [1, 0, 1, 1], [1, 0, 0, 1])).toEqual({ f1: 0.8, accuracy: 0.75 });
    expect(Object.keys(computeTaskMetrics(loadTask('cola'), [1, 0], [1, 0]))).toEqual(['mcc']);
    const sts = computeTaskMetrics(loadTask('stsb'), [0.5, 2.5, 4.0], [1, 2, 5]);
    expect(sts.spearman).toBeCloseTo(1, 12);
    expect(sts.pearson).toBeCloseTo(pearson([0.5, 2.5, 4.0], [1, 2, 5]), 12);
  });

  it('rejects class ids outside the task labels', () => {
    expect(() => computeTaskMetrics(loadTask('sst2'), [0, 2], [0, 1])).toThrow(/sst2: prediction 2 at row 1 is not a class id in \[0, 2\)/);
    expect(() => computeTaskMetrics(loadTask('mnli'), [0, 1], [0, 0.5])).toThrow(/label 0.5 at row 1/);
  });
});

describe('glueScore', () => {
  it('averages metrics within a task, then over tasks', () => {
    expect(glueScore({ mrpc: { f1: 0.9, accuracy: 0.8 }, sst2: { accuracy: 0.95 } })).toBeCloseTo(0.9, 12);
  });

  it("reproduces TinyBERT4's 77.0 GLUE test average from its table (MNLI-m and -mm as two columns, no WNLI)", () => {
    const table = { 'mnli-m': 82.5, 'mnli-mm': 81.8, qqp: 71.3, qnli: 87.7, sst2: 92.6, cola: 44.1, stsb: 80.4, mrpc: 86.4, rte: 66.6 };
    const results = Object.fromEntries(Object.entries(table).map(([k, v]) => [k, { score: v }]));
    expect(glueScore(results)).toBeCloseTo(77.04, 2);
  });

  it('rejects empty results', () => {
    expect(() => glueScore({})).toThrow(/no task results/);
    expect(() => glueScore({ cola: {} })).toThrow(/task cola has no metrics/);
  });
});
