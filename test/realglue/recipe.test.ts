/**
 * The real-GLUE recipe (scripts/real-glue.ts, docs/real-glue.md): metrics on the real dev files
 * (majority-class predictions, worked out by hand from the label counts), the per-task configs and the
 * baselines derived from them, and the statistics and targets of the results table. The GLUE-dependent
 * part is skipped, with a message, when ../shared/glue is absent.
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
import { baselineStages, mean, metricOf, renderTables, std, targets, taskEntry, type Plan, type TaskOutcome } from '../../scripts/real-glue/results.ts';

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
  it('RTE all-not-entailment (class 1): accuracy 131/277', () => {
    expect(majority('rte', 1).accuracy).toBeCloseTo(131 / 277, 12);
  });
});

// The main recipe (data/real-glue/plan.json) and each other one (data/real-glue/<name>/plan.json).
const RECIPES = [CONFIGS, ...fs.readdirSync(CONFIGS, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => path.join(CONFIGS, d.name))];

describe.each(RECIPES.map((dir) => [path.relative(path.dirname(CONFIGS), dir), dir]))('%s configs', (_name, CONFIGS) => {
  const plan = JSON.parse(fs.readFileSync(path.join(CONFIGS, 'plan.json'), 'utf8')) as Plan;
  for (const task of Object.keys(plan.tasks)) {
    it(`${task}: TinyBERT's two stages on a student smaller than the teacher, the baselines derived from them`, () => {
      const c = loadConfig({ file: path.join(CONFIGS, `${task}.json`), overrides: {} });
      expect(c.task).toBe(task);
      const regression = task === 'stsb';
      expect(c.distill.stages.map((s) => s.losses.map((l) => l.name))).toEqual([['hidden_mse', 'attention_mse'], [regression ? 'kd_mse' : 'kd_ce']]);
      expect(c.student.hiddenSize).toBeLessThan(plan.teacher.hidden);
      expect(c.student.numLayers).toBeLessThanOrEqual(plan.teacher.layers);
      expect(c.data.maxLength).toBe(plan.teacher.maxLength);
      expect(c.augment.method).toBe('embedding');
      expect(checkAgainstTeacher(c, {
        numLayers: plan.teacher.layers, hiddenSize: plan.teacher.hidden, numHeads: plan.teacher.heads, maxPositions: plan.teacher.maxLength,
      })).toEqual([]);
      const b = baselineStages(c.distill.stages as { name: string; steps: number; lr: number; losses: { name: string }[] }[], regression);
      const total = c.distill.stages.reduce((a, s) => a + s.steps!, 0);
      for (const [variant, loss] of [['hard', regression ? 'mse' : 'ce'], ['predonly', regression ? 'kd_mse' : 'kd_ce']] as const) {
        expect(b[variant]).toHaveLength(1);
        expect(b[variant][0].steps).toBe(total);
        expect(b[variant][0].lr).toBe(c.distill.stages[1].lr);
        expect(b[variant][0].losses).toEqual([{ name: loss }]);
        // The stage list is what `--set distill.stages=<json>` gives the CLI: it must pass the same schema.
        const o = loadConfig({ file: path.join(CONFIGS, `${task}.json`), overrides: { 'distill.stages': JSON.parse(JSON.stringify(b[variant])) } });
        expect(o.distill.stages[0].losses[0].name).toBe(loss);
      }
      expect(metricOf(task)).toBeDefined();
      // An ensemble in the plan is the config's multiTeacher, folder for folder (teacher2, teacher3, ...), mean of predictions.
      const members = plan.tasks[task].teacher.ensemble ?? [];
      expect(c.multiTeacher.teachers.map((t) => path.basename(t.dir!))).toEqual(members.map((_, i) => `teacher${i + 2}`));
      if (members.length) expect(c.multiTeacher.combine).toBe('mean');
    });
  }
});

describe('results statistics and targets', () => {
  it('mean and sample standard deviation, by hand', () => {
    expect(mean([0.8, 0.82, 0.84])).toBeCloseTo(0.82, 12);
    // deviations −0.02, 0, 0.02 → (0.0004 + 0.0004) / 2 = 0.0004 → 0.02
    expect(std([0.8, 0.82, 0.84])).toBeCloseTo(0.02, 12);
    expect(std([0.5])).toBeNaN(); // one seed has no spread
  });
  it('targets: ≥ 97% of the teacher; ≥ 1 point over hard labels with non-overlapping one-std intervals', () => {
    const e = { metric: 'accuracy', baseline: 0.5, teacher: 0.82, distilled: [0.80, 0.81, 0.80], hard: [0.78, 0.785, 0.78], prediction_only: [0.79] };
    expect(targets(e)).toEqual({ teacherBeatsBaseline: true, ofTeacher: true, beatsHard: true });
    expect(targets({ ...e, teacher: 0.84 }).ofTeacher).toBe(false); // 0.8033 < 0.8148
    expect(targets({ ...e, hard: [0.79, 0.80, 0.79] }).beatsHard).toBe(false); // gap 0.67 points
    expect(targets({ ...e, hard: [0.75, 0.80, 0.78] }).beatsHard).toBe(false); // gap 1.3 points but the intervals overlap
    expect(targets({ ...e, baseline: 0.9 }).teacherBeatsBaseline).toBe(false);
  });
  it('with an ensemble, the teacher of the table is the ensemble (its mean prediction), not the first member', () => {
    const row = (accuracy: number) => ({ name: 'x', metrics: { accuracy } }) as unknown as TaskOutcome['teacherRow'];
    const o = {
      task: 'sst2', teacherSummary: { dev: 0.81, baseline: 0.509 } as TaskOutcome['teacherSummary'], teacherRow: row(0.81),
      students: [{ variant: 'distilled', seed: 1, row: row(0.8), summary: { steps: 1, seconds: 1 } }],
    } as TaskOutcome;
    expect(taskEntry(o).teacher).toBe(0.81);
    expect(taskEntry({ ...o, ensemble: { dev: 0.83, members: [{ dir: 't', dev: 0.81 }, { dir: 't2', dev: 0.815 }] } }).teacher).toBe(0.83);
    expect(taskEntry(o).distilled).toEqual([0.8]);
  });
  it('the hard-label control before augmentation: its own results key and table line, the distilled gap to it', () => {
    const row = (accuracy: number) => ({ name: 'x', metrics: { accuracy } }) as unknown as TaskOutcome['teacherRow'];
    const student = (variant: string, seed: number, accuracy: number) => ({ variant, seed, row: row(accuracy), summary: { steps: 1, seconds: 1 } });
    const o = {
      task: 'sst2', teacherSummary: { dev: 0.82, baseline: 0.509, chosen_step: 1, steps: 1, init: 'random' } as TaskOutcome['teacherSummary'], teacherRow: row(0.82),
      students: [student('distilled', 1, 0.81), student('distilled', 2, 0.82), student('hard', 1, 0.8), student('hardorig', 2, 0.795), student('hardorig', 1, 0.785)],
    } as TaskOutcome;
    expect(taskEntry(o).hard_original).toEqual([0.785, 0.795]); // by seed
    expect(taskEntry(o).hard).toEqual([0.8]);
    expect(taskEntry({ ...o, students: o.students.slice(0, 3) }).hard_original).toBeUndefined();
    // Without augmentation results.json says so (pooled.ts then takes the hard row as the clean control).
    expect(taskEntry({ ...o, augmented: false }).augmented).toBe(false);
    expect('augmented' in taskEntry(o)).toBe(false);
    // distilled 81.5 ± 0.71, hard before augmentation 79.0 ± 0.71: +2.5, 80.79 > 79.71.
    expect(renderTables([o], { timings: {}, wallSeconds: 1, jobs: 2, seeds: [1, 2] }).markdown)
      .toContain('- SST-2: 79.0 ± 0.7 (2 seeds) (distilled − this: 2.5; outside one std: yes)');
  });
  it('quantisation rows: each int8 model against the float model of its own run, mean ± std over seeds', () => {
    const row = (accuracy: number, extra: object = {}) => ({ name: 'x', metrics: { accuracy }, sizeBytes: 8.7e6, ...extra }) as TaskOutcome['teacherRow'];
    const o = {
      task: 'sst2', teacherSummary: { dev: 0.81, baseline: 0.509, chosen_step: 1, steps: 1, init: 'random' } as TaskOutcome['teacherSummary'], teacherRow: row(0.81),
      students: [{ variant: 'distilled', seed: 1, row: row(0.8), summary: { steps: 1, seconds: 1 } }],
      quantized: [
        { seed: 1, fp32: row(0.80, { latencyMs: { 1: 0.3, 32: 11 } }), ptq: row(0.79, { agreement: 0.97 }), qatFloat: row(0.805), qat: row(0.80, { agreement: 0.99 }) },
        { seed: 2, fp32: row(0.81), ptq: row(0.80, { agreement: 0.95 }), qatFloat: row(0.81), qat: row(0.81, { agreement: 1 }) },
      ],
    } as TaskOutcome;
    const md = renderTables([o], { timings: {}, wallSeconds: 1, jobs: 2, seeds: [1, 2] }).markdown;
    // fp32 0.80 / 0.81 → 80.5 ± 0.7; PTQ −1 point both seeds → −1.00 ± 0.00, agreement (97 + 95) / 2;
    // QAT −0.5 and 0 points against its own float weights → −0.25 ± 0.35.
    expect(md).toContain('| SST-2 | fp32 | 80.5 ± 0.7 (2 seeds) |  |  | 8.7 | 0.30 | 11.00 |');
    expect(md).toContain('| SST-2 | int8, post-training dynamic | 79.5 ± 0.7 (2 seeds) | −1.00 ± 0.00 | 96.0% |');
    expect(md).toContain('| SST-2 | int8, quantisation-aware (QDQ) | 80.5 ± 0.7 (2 seeds) | −0.25 ± 0.35 | 99.5% |');
  });
});
