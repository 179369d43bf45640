/**
 * Every shipped config (docs/recipes, data/demo, data/real-glue) parses, and every recipe runs for a
 * few steps through `distill run` on the tiny fixture teacher: the features the README lists are each
 * used by one of them (multi-teacher mean / weighted / most confident, momentum and self-distillation,
 * flsw / cwsm, scheduled and adaptive weights, the α mix, curriculum, explicit layer pairs,
 * augmentation (embedding and masked-LM candidates), general-student and teacher init, kd_mse on a
 * regression task, a teacher-assistant chain).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/cli/config-load.ts';
import { loadTask } from '../../src/data/tasks.ts';
import { tinyStudentFolders } from '../helpers/tiny-models.ts';
import { runCli, tempDir } from './helpers.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const RECIPES = path.join(ROOT, 'docs/recipes');
const recipes = fs.readdirSync(RECIPES).filter((f) => f.endsWith('.json')).sort();
const shipped = [
  ...recipes.map((f) => path.join(RECIPES, f)),
  path.join(ROOT, 'data/demo/config.json'),
  // The main real-GLUE configs, every recipe folder's (data/real-glue/<name>/) and the few-labels experiment's.
  ...['data/real-glue', ...fs.readdirSync(path.join(ROOT, 'data/real-glue'), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => `data/real-glue/${e.name}`), 'data/few-labels']
    .flatMap((d) => fs.readdirSync(path.join(ROOT, d)).filter((f) => f.endsWith('.json') && !['teacher.json', 'plan.json'].includes(f)).map((f) => path.join(ROOT, d, f))),
];

it.each(shipped.map((f) => [path.relative(ROOT, f), f]))('%s parses', (_, file) => {
  expect(() => loadConfig({ file })).not.toThrow();
});

const FIXTURE_TEACHER = path.join(ROOT, 'test/fixtures/tiny-bert-opset17');

/**
 * Shrinks a recipe onto the tiny fixture teacher and data: same features, a few steps. A regression
 * task gets `regressionTeacher` (the fixture teacher is a classifier) and the fixture STS-B rows.
 */
function tinyArgs(file: string, out: string, regressionTeacher?: string): string[] {
  const c = loadConfig({ file });
  const regression = loadTask(c.task).labels === null;
  const teacher = regression ? regressionTeacher : FIXTURE_TEACHER;
  const set: Record<string, unknown> = {
    'teacher.dir': teacher,
    'data.dir': path.join(ROOT, 'test/fixtures/glue', regression ? 'STS-B' : 'SST-2'),
    'data.maxLength': 32,
    out,
    backend: 'cpu',
    'cache.dtype': 'float32',
    'cache.batchSize': 2,
    'student.hiddenSize': 16,
    'student.numLayers': 1,
    'student.numHeads': 4,
    'student.intermediateSize': 32,
    'student.maxPositions': 40,
    'distill.batchSize': 2,
    'distill.evalEvery': 2,
    'eval.latencyBatchSizes': [1],
    'eval.latencyRuns': 1,
    'export.enabled': false,
    'report.enabled': false,
  };
  // Initialising from the teacher copies its layers: the student takes the fixture teacher's widths.
  if (c.student.init === 'teacher') Object.assign(set, { 'student.hiddenSize': 32, 'student.intermediateSize': 64 });
  c.distill.stages.forEach((_, i) => (set[`distill.stages.${i}.steps`] = 3));
  // Teacher assistants sit between the fixture teacher (3 layers × 32) and the tiny student.
  c.assistants.forEach((a, i) => {
    Object.assign(set, { [`assistants.${i}.hiddenSize`]: 24, [`assistants.${i}.numLayers`]: 3, [`assistants.${i}.numHeads`]: 4, [`assistants.${i}.intermediateSize`]: 48, [`assistants.${i}.maxPositions`]: 40 });
    a.distill?.stages?.forEach((_, j) => (set[`assistants.${i}.distill.stages.${j}.steps`] = 3));
  });
  c.multiTeacher.teachers.forEach((t, i) => t.dir && (set[`multiTeacher.teachers.${i}.dir`] = teacher));
  if (c.augment.enabled) (set['augment.perExample'] = 1), (set['augment.candidates'] = 3);
  if (c.augment.method === 'mlm') set['augment.mlmDir'] = path.join(ROOT, 'test/fixtures/tiny-mlm');
  return ['run', '--config', file, '--quiet', ...Object.entries(set).flatMap(([k, v]) => ['--set', `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`])];
}

describe('every recipe runs a few steps', () => {
  const root = tempDir('recipes-');
  let firstStudent: string | undefined;
  let regressionTeacher: string | undefined;
  for (const f of recipes) {
    it(f, async () => {
      const file = path.join(RECIPES, f);
      const out = path.join(root, f.replace('.json', ''));
      if (loadTask(loadConfig({ file }).task).labels === null) {
        // An untrained regression model exported to ONNX (the demo tokenizer) serves as the teacher.
        regressionTeacher ??= (await tinyStudentFolders(path.join(root, 'regression-teacher'), null)).onnxDir;
      }
      const args = tinyArgs(file, out, regressionTeacher);
      if (loadConfig({ file }).student.initFolder) {
        expect(firstStudent, 'a recipe before this one saved a student').toBeDefined();
        args.push('--set', `student.initFolder=${firstStudent}`);
      }
      const r = await runCli(args);
      expect(r.err).not.toContain('internal error');
      expect(r.code, r.err).toBe(0);
      const c = loadConfig({ file });
      if (c.student.init === 'teacher') expect(r.err).toContain('student initialised from teacher layers');
      if (c.augment.enabled) expect(r.err).toContain(`(${c.augment.method} candidates)`);
      if (c.assistants.length) expect(r.err).toContain('exported with hidden states and attention');
      const log = fs.readFileSync(path.join(out, 'train-log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      expect(log.filter((x) => x.type === 'step').length).toBeGreaterThanOrEqual(3);
      for (const x of log.filter((y) => y.type === 'step')) expect(Number.isFinite(x.loss)).toBe(true);
      firstStudent ??= path.join(out, 'student');
    }, 300_000);
  }
});
