/**
 * The real-GLUE recipe: metrics on the real dev files (majority-class predictions, worked out by hand
 * from the label counts), the configs in data/real-glue, the SST-2 subsample and the results table.
 * The GLUE-dependent part is skipped, with a message, when ../shared/glue is absent.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/cli/config-load.ts';
import { checkAgainstTeacher } from '../../src/cli/config-schema.ts';
import { readSplit } from '../../src/data/reader.ts';
import { loadTask } from '../../src/data/tasks.ts';
import { computeTaskMetrics } from '../../src/metrics/metrics.ts';
import { readTeacherPlan } from '../../scripts/real-glue/train-teacher.ts';
import { subsampleRows } from '../../scripts/real-glue/subsample.ts';
import { percentOfTeacher, ratio, resultsTable, type TaskResult } from '../../scripts/real-glue/table.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const GLUE = path.resolve(HERE, '../../../shared/glue');
const CONFIGS = path.resolve(HERE, '../../data/real-glue');
const HAVE_GLUE = fs.existsSync(GLUE);
if (!HAVE_GLUE) console.warn(`real GLUE metric tests skipped: ${GLUE} is absent`);

describe.skipIf(!HAVE_GLUE)('task metrics on the real dev files (../shared/glue)', () => {
  const majority = (name: string, cls: number) => {
    const task = loadTask(name);
    const dev = readSplit(task, path.join(GLUE, task.displayName), 'dev');
    return computeTaskMetrics(task, dev.map(() => cls), dev.map((e) => e.label!));
  };
  it('SST-2 all-positive: accuracy 444/872', () => {
    expect(majority('sst2', 1).accuracy).toBeCloseTo(444 / 872, 12);
  });
  it('CoLA all-acceptable: MCC 0 (one predicted class)', () => {
    expect(majority('cola', 1).mcc).toBe(0);
  });
  it('MRPC all-paraphrase: F1 2·279/(2·279+129) = 0.8122, accuracy 279/408', () => {
    const m = majority('mrpc', 1);
    expect(m.f1).toBeCloseTo(558 / 687, 12);
    expect(m.accuracy).toBeCloseTo(279 / 408, 12);
  });
  it('MRPC all-non-paraphrase: F1 0 (no true positives), accuracy 129/408', () => {
    const m = majority('mrpc', 0);
    expect(m.f1).toBe(0);
    expect(m.accuracy).toBeCloseTo(129 / 408, 12);
  });
});

describe('data/real-glue configs', () => {
  const plan = readTeacherPlan(path.join(CONFIGS, 'teacher.json'));
  for (const task of ['sst2', 'cola', 'mrpc']) {
    it(`${task}: distilled and hard-label runs share student, seed, data and total steps, and fit the teacher`, () => {
      const d = loadConfig({ file: path.join(CONFIGS, `${task}-distill.json`), overrides: {} });
      const h = loadConfig({ file: path.join(CONFIGS, `${task}-hard.json`), overrides: {} });
      expect(d.task).toBe(task);
      expect(h.student).toEqual(d.student);
      expect([h.seed, h.data, h.distill.batchSize]).toEqual([d.seed, d.data, d.distill.batchSize]);
      const total = (c: typeof d) => c.distill.stages.reduce((a, s) => a + s.steps!, 0);
      expect(total(h)).toBe(total(d));
      expect(d.distill.stages.map((s) => s.losses.map((l) => l.name))).toEqual([['hidden_mse', 'attention_mse'], ['kd_ce']]);
      expect(h.distill.stages.flatMap((s) => s.losses.map((l) => l.name))).toEqual(['ce']);
      expect(plan.steps[task]).toBeGreaterThan(0);
      expect(d.data.maxLength).toBe(plan.maxLength);
      // Attention maps are compared head by head: the student keeps the teacher's head count.
      expect(d.student.numHeads).toBe(plan.shape.numHeads);
      expect(checkAgainstTeacher(d, {
        numLayers: plan.shape.numLayers, hiddenSize: plan.shape.hiddenSize, numHeads: plan.shape.numHeads, maxPositions: plan.maxLength,
      })).toEqual([]);
    });
  }
});

describe('subsampleRows', () => {
  it('keeps the requested number of distinct rows in file order, the same for the same seed', () => {
    const rows = Array.from({ length: 100 }, (_, i) => `row ${i}`);
    const a = subsampleRows(rows, 10, 5);
    expect(a).toHaveLength(10);
    expect(new Set(a).size).toBe(10);
    expect(a.map((r) => Number(r.slice(4)))).toEqual([...a.map((r) => Number(r.slice(4)))].sort((x, y) => x - y));
    expect(subsampleRows(rows, 10, 5)).toEqual(a);
    expect(subsampleRows(rows, 10, 6)).not.toEqual(a);
    expect(subsampleRows(rows, 500, 1)).toEqual(rows);
  });
});

describe('results table', () => {
  it('percent of teacher and speed-up ratios', () => {
    expect(percentOfTeacher(0.8, 0.85)).toBeCloseTo(94.1176, 3);
    expect(percentOfTeacher(0.1, 0)).toBeUndefined();
    expect(percentOfTeacher(0.1, -0.05)).toBeUndefined();
    expect(ratio(10, 4)).toBe('2.5x');
    expect(ratio(undefined, 4)).toBe('–');
  });
  it('one row per model with the official metrics, % of teacher and speed-up', () => {
    const row = (params: number, ms1: number, ms32: number, f1: number, accuracy: number) =>
      ({ name: 'x', params, sizeBytes: params * 4, latencyMs: { 1: ms1, 32: ms32 }, metrics: { f1, accuracy } });
    const summary = { steps: 10, seconds: 5 };
    const r: TaskResult = {
      task: 'mrpc', teacherTrain: summary, distilledTrain: summary, hardTrain: summary,
      eval: { teacher: row(4e6, 2, 40, 0.8, 0.7), distilled: row(2e6, 1, 10, 0.78, 0.63), 'hard-labels': row(2e6, 1, 10, 0.4, 0.5) },
    };
    const lines = resultsTable([r]).split('\n');
    expect(lines[2]).toBe('| MRPC | teacher | 4.00M | 16.0 | 2.00 | 40.00 | 1.0x / 1.0x | f1 80.0, accuracy 70.0 | 100 |');
    expect(lines[3]).toBe('| MRPC | distilled | 2.00M | 8.0 | 1.00 | 10.00 | 2.0x / 4.0x | f1 78.0, accuracy 63.0 | 97.5 / 90.0 |');
    expect(lines[4]).toBe('| MRPC | hard-labels | 2.00M | 8.0 | 1.00 | 10.00 | 2.0x / 4.0x | f1 40.0, accuracy 50.0 | 50.0 / 71.4 |');
  });
});
