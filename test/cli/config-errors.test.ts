import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig, RESOLVED_CONFIG_FILE, saveResolvedConfig } from '../../src/cli/config-load.ts';
import { BACKENDS, checkAgainstTeacher, LOSS_NAMES } from '../../src/cli/config-schema.ts';
import { MINIMAL, runCli, tempDir, writeConfig } from './helpers.ts';

/** Runs `distill train --config <file>` on the given config; it must fail while parsing, exit 1. */
async function trainWith(config: unknown, name?: string) {
  const dir = tempDir('cli-config-');
  const r = await runCli(['train', '--config', writeConfig(dir, config, name)]);
  expect(r.code).toBe(1);
  expect(r.err).not.toMatch(/\n\s+at /); // a user error: message only, no stack
  return r.err;
}

describe('config errors through the CLI (exit 1, key path and what is allowed)', () => {
  it('unknown key: names the path and lists the allowed keys', async () => {
    const err = await trainWith({ ...MINIMAL, student: { hiddenSize: 64, numHeads: 4, hiden: 1 } });
    expect(err).toContain('student.hiden: unknown key "hiden"');
    expect(err).toContain('allowed keys: hiddenSize, numLayers, numHeads, intermediateSize, maxPositions, dropout, attentionDropout, init');
  });

  it('unknown key inside an array element', async () => {
    const err = await trainWith({ ...MINIMAL, distill: { stages: [{ name: 'a', steps: 5, losses: [{ name: 'kd_ce', wieght: 2 }] }] } });
    expect(err).toContain('distill.stages[0].losses[0].wieght: unknown key "wieght" (allowed keys: name, weight, temperature, scaleT2, relationHeads, relations, teacherLayer, studentLayer)');
  });

  it('wrong type: names the expected type and the value given', async () => {
    const err = await trainWith({ ...MINIMAL, seed: 'abc' });
    expect(err).toContain('seed: expected number, got "abc"');
  });

  it('out-of-range value: names the bound', async () => {
    const err = await trainWith({ ...MINIMAL, distill: { stages: [{ name: 'a', steps: 0, losses: [{ name: 'kd_ce' }] }] } });
    expect(err).toContain('distill.stages[0].steps: must be >= 1, got 0');
    const err2 = await trainWith({ ...MINIMAL, student: { dropout: 1.5 } });
    expect(err2).toContain('student.dropout: must be <= 1, got 1.5');
  });

  it('bad enum value: lists the allowed values', async () => {
    const err = await trainWith({ ...MINIMAL, backend: 'gpu' });
    expect(err).toContain(`backend: got "gpu"; allowed values: ${BACKENDS.map((b) => `"${b}"`).join(', ')}`);
    const err2 = await trainWith({ ...MINIMAL, distill: { stages: [{ name: 'a', steps: 1, losses: [{ name: 'kd' }] }] } });
    expect(err2).toContain(`distill.stages[0].losses[0].name: got "kd"; allowed values: ${LOSS_NAMES.map((b) => `"${b}"`).join(', ')}`);
  });

  it('a union (the layer mapping) lists its forms', async () => {
    const err = await trainWith({ ...MINIMAL, distill: { mapping: 'even' } });
    expect(err).toContain('distill.mapping: got "even"; allowed: "uniform", "last", or an object {hidden, attention}');
  });

  it('missing required keys', async () => {
    const err = await trainWith({ task: 'sst2' });
    expect(err).toContain('teacher: required (object) but missing');
    expect(err).toContain('data: required (object) but missing');
  });

  it('dependent fields: heads must divide hidden, lengths fit positions, steps xor epochs', async () => {
    const err = await trainWith({
      ...MINIMAL,
      student: { hiddenSize: 100, numHeads: 12, maxPositions: 64 },
      data: { dir: 'd', maxLength: 128 },
      distill: { stages: [{ name: 'a', steps: 3, epochs: 1, losses: [{ name: 'kd_ce' }] }] },
    });
    expect(err).toContain('student.numHeads: must divide student.hiddenSize (100); 12 does not');
    expect(err).toContain('data.maxLength: 128 exceeds student.maxPositions (64)');
    expect(err).toContain('distill.stages[0]: give exactly one of "steps" and "epochs"');
  });

  it('explicit mapping pairs must fit the student depth', async () => {
    const err = await trainWith({ ...MINIMAL, student: { numLayers: 2 }, distill: { mapping: { hidden: [[0, 0], [3, 6]] } } });
    expect(err).toContain('distill.mapping.hidden[1][0]: student index 3 is out of range 0..2');
  });

  it('intermediate losses need cached layers', async () => {
    const err = await trainWith({ ...MINIMAL, cache: { layers: 'logits' } });
    expect(err).toContain('cache.layers: "logits" stores no hidden states or attention');
  });

  it('YAML configs are read too, and their syntax errors name the file', async () => {
    const err = await trainWith('task: sst2\nteacher:\n  dir: t\ndata:\n  dir: d\nseed: [1\n', 'run.yaml');
    expect(err).toMatch(/run\.yaml is not valid YAML/);
    const err2 = await trainWith('task: sst2\nteacher: {dir: t}\ndata: {dir: d}\nema: {enabeld: true}\n', 'run.yml');
    expect(err2).toContain('ema.enabeld: unknown key "enabeld"');
  });

  it('a missing config file and a non-object config are user errors', async () => {
    const r = await runCli(['train', '--config', '/nonexistent/run.json']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('config file /nonexistent/run.json does not exist');
    expect(await trainWith('[1, 2]')).toContain('expected an object at the top level');
  });

  it('a bad --set override is reported like a file error', async () => {
    const dir = tempDir('cli-config-');
    const r = await runCli(['train', '--config', writeConfig(dir, MINIMAL), '--set', 'distill.batchSize=0']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('distill.batchSize: must be >= 1, got 0');
  });
});

describe('loading', () => {
  it('fills defaults, including inside the default stages', () => {
    const c = parseConfig(MINIMAL, 'x');
    expect(c.student.hiddenSize).toBe(312);
    expect(c.distill.stages.map((s) => s.name)).toEqual(['intermediate', 'prediction']);
    expect(c.distill.stages[0].warmup).toBe(0.1);
    expect(c.distill.stages[1].temperature).toBe(1);
  });

  it('resolves paths against the config file, flag paths against the cwd, and flags win', () => {
    const dir = tempDir('cli-paths-');
    const file = writeConfig(dir, { ...MINIMAL, task: 'tasks/mine.json', out: 'runs/x' });
    const c = loadConfig({ file, overrides: { seed: 7, 'data.dir': 'here' }, cwd: '/work' });
    expect(c.teacher.dir).toBe(path.join(dir, 'teacher'));
    expect(c.task).toBe(path.join(dir, 'tasks/mine.json'));
    expect(c.out).toBe(path.join(dir, 'runs/x'));
    expect(c.data.dir).toBe('/work/here');
    expect(c.seed).toBe(7);
    // a built-in task name is not a path
    expect(loadConfig({ file: writeConfig(dir, MINIMAL) }).task).toBe('sst2');
  });

  it('--set reaches into arrays by index and parses JSON values', () => {
    const dir = tempDir('cli-set-');
    const c = loadConfig({ file: writeConfig(dir, MINIMAL), overrides: { 'distill.stages': [{ name: 'only', steps: 3, losses: [{ name: 'ce' }] }], 'ema.enabled': true } });
    expect(c.distill.stages).toHaveLength(1);
    expect(c.ema.enabled).toBe(true);
  });

  it('saves the resolved config next to the outputs', () => {
    const dir = tempDir('cli-save-');
    const c = parseConfig(MINIMAL, 'x');
    const file = saveResolvedConfig(c, dir);
    expect(path.basename(file)).toBe(RESOLVED_CONFIG_FILE);
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual(JSON.parse(JSON.stringify(c)));
  });
});

describe('checks against the teacher', () => {
  const teacher = { numLayers: 6, hiddenSize: 128, numHeads: 4, maxPositions: 64 };
  it('uniform mapping needs a divisor depth', () => {
    const c = parseConfig({ ...MINIMAL, student: { numLayers: 4 }, data: { dir: 'd', maxLength: 64 } }, 'x');
    expect(checkAgainstTeacher(c, teacher)).toEqual([
      expect.stringContaining('distill.mapping: "uniform" needs the teacher\'s 6 layers to be a multiple of student.numLayers (4)'),
    ]);
  });
  it('explicit pairs, sequence length and teacher initialisation', () => {
    const c = parseConfig(
      { ...MINIMAL, student: { numLayers: 2, hiddenSize: 64, numHeads: 4, init: 'teacher' }, distill: { mapping: { hidden: [[2, 7]], attention: [[1, 6]] } } },
      'x',
    );
    const errs = checkAgainstTeacher(c, teacher);
    expect(errs).toContain('distill.mapping.hidden[0][1]: teacher index 7 is out of range 0..6 (the teacher has 6 layers)');
    expect(errs).toContain('distill.mapping.attention[0][1]: teacher index 6 is out of range 0..5 (the teacher has 6 layers)');
    expect(errs).toContain("data.maxLength: 128 exceeds the teacher's max_position_embeddings (64)");
    expect(errs.some((e) => e.startsWith('student.init: "teacher" needs student.hiddenSize = teacher hidden_size (128)'))).toBe(true);
  });
  it('a fitting config has no complaints', () => {
    const c = parseConfig({ ...MINIMAL, student: { numLayers: 3 }, data: { dir: 'd', maxLength: 64 } }, 'x');
    expect(checkAgainstTeacher(c, teacher)).toEqual([]);
  });
});

it('the shipped demo config is valid and fits the shipped demo teacher', async () => {
  const root = path.resolve(import.meta.dirname, '../..');
  const c = loadConfig({ file: path.join(root, 'data/demo/config.json') });
  expect(c.teacher.dir).toBe(path.join(root, 'data/demo/teacher'));
  expect(c.out).toBe(path.join(root, 'runs/demo'));
  const t = JSON.parse(fs.readFileSync(path.join(c.teacher.dir, 'config.json'), 'utf8'));
  expect(
    checkAgainstTeacher(c, { numLayers: t.num_hidden_layers, hiddenSize: t.hidden_size, numHeads: t.num_attention_heads, maxPositions: t.max_position_embeddings }),
  ).toEqual([]);
});

it('setPath creates arrays under index keys and objects elsewhere', async () => {
  const { setPath } = await import('../../src/cli/config-load.ts');
  const o: Record<string, unknown> = {};
  setPath(o, 'distill.stages.0.steps', 5);
  expect(o).toEqual({ distill: { stages: [{ steps: 5 }] } });
  expect(Array.isArray((o.distill as { stages: unknown }).stages)).toBe(true);
  expect(() => setPath({ seed: 1 }, 'seed.x', 2)).toThrow('override seed.x: "seed" is not an object in the config');
});

it('--set distill.stages.N.steps on the default stages replaces their epochs (and epochs replaces steps)', () => {
  const base = { task: 'sst2', 'teacher.dir': '/t', 'data.dir': '/d', out: '/o' };
  const c = loadConfig({ overrides: { ...base, 'distill.stages.0.steps': 50 } });
  expect(c.distill.stages[0]).toMatchObject({ name: 'intermediate', steps: 50 });
  expect(c.distill.stages[0].epochs).toBeUndefined();
  expect(c.distill.stages[1]).toMatchObject({ name: 'prediction', epochs: 1 });
  const e = loadConfig({ overrides: { ...base, 'distill.stages': [{ name: 'p', steps: 9, losses: [{ name: 'ce' }] }], 'distill.stages.0.epochs': 2 } });
  expect(e.distill.stages[0]).toMatchObject({ epochs: 2 });
  expect(e.distill.stages[0].steps).toBeUndefined();
});
