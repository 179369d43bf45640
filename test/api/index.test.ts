/**
 * The public API (src/index.ts) in-process: config helpers, the stage wrappers' options, and the
 * building-block namespaces. The packed package is tested from an empty project in test/package.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as api from '../../src/index.ts';
import { initBackend } from '../../src/backend/select.ts';
import { LOSS_NAMES } from '../../src/cli/config-schema.ts';
import { tempDir, writeConfig } from '../cli/helpers.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const TEACHER = path.join(ROOT, 'test/fixtures/tiny-bert-opset17');
const SST2 = path.join(ROOT, 'test/fixtures/glue/SST-2');

beforeAll(async () => {
  await initBackend('cpu');
});

describe('config helpers', () => {
  it('resolveConfig fills defaults, resolves paths against baseDir, and passes a Config through unchanged', () => {
    const c = api.resolveConfig({ task: 'sst2', teacher: { dir: 'teacher' }, data: { dir: 'data' }, out: 'runs/x' }, '/base');
    expect(c.teacher.dir).toBe(path.resolve('/base/teacher'));
    expect(c.out).toBe(path.resolve('/base/runs/x'));
    expect(c.distill.stages.map((s) => s.name)).toEqual(['intermediate', 'prediction']);
    expect(api.resolveConfig(c, '/elsewhere')).toEqual(c);
  });

  it('resolveConfig rejects an unknown key with a UserError naming it', () => {
    const bad = { task: 'sst2', teacher: { dir: 't' }, data: { dir: 'd' }, ema: { momentum: 0.9 } } as unknown as api.ConfigInput;
    expect(() => api.resolveConfig(bad)).toThrow(api.UserError);
    expect(() => api.resolveConfig(bad)).toThrow(/ema\.momentum: unknown key/);
  });

  it('loadConfig applies dotted overrides like --set, on the default stages too', () => {
    const dir = tempDir('api-config-');
    const file = writeConfig(dir, { task: 'sst2', teacher: { dir: 'teacher' }, data: { dir: 'data' } });
    const c = api.loadConfig(file, { 'distill.stages.0.epochs': 7, 'ema.enabled': true });
    expect(c.distill.stages[0].epochs).toBe(7);
    expect(c.ema.enabled).toBe(true);
    expect(c.teacher.dir).toBe(path.join(dir, 'teacher'));
  });
});

describe('building blocks', () => {
  it('losses maps every config loss name to a function; schedules are plain functions of the step', () => {
    expect(Object.keys(api.losses.LOSSES).sort()).toEqual([...LOSS_NAMES].sort());
    for (const name of LOSS_NAMES) expect(typeof api.losses.LOSSES[name].fn).toBe('function');
    expect(api.schedules.lrFactor({ kind: 'linear', warmupSteps: 0 }, 50, 100)).toBeCloseTo(0.5, 12);
    expect(api.schedules.scheduledValue({ kind: 'linear', from: 4, to: 1 }, 2, 3)).toBe(1);
  });
});

describe('stage wrappers', () => {
  it('cacheTeacher builds the cache, returns its folder, and sends status lines to onMessage (no bars)', async () => {
    const out = tempDir('api-cache-');
    const lines: string[] = [];
    const config: api.ConfigInput = { task: 'sst2', teacher: { dir: TEACHER }, data: { dir: SST2, maxLength: 32 }, out, cache: { dtype: 'float32', batchSize: 2 } };
    const dir = await api.cacheTeacher(config, { progress: false, onMessage: (l) => lines.push(l) });
    expect(dir).toBe(path.join(out, 'cache'));
    expect(fs.existsSync(path.join(dir, 'manifest.json'))).toBe(true);
    expect(lines.some((l) => l.startsWith('teacher cache: complete'))).toBe(true);
    expect(lines.every((l) => !l.includes('\n'))).toBe(true);
    // A second call reuses the finished cache rather than refusing.
    await expect(api.cacheTeacher(config, { progress: false, onMessage: () => {} })).resolves.toBe(dir);
  });

  it('exportStudent takes explicit folders and refuses to replace an export without force', async () => {
    const { tinyStudentFolders } = await import('../helpers/tiny-models.ts');
    const dir = tempDir('api-export-');
    const { studentDir } = await tinyStudentFolders(dir, ['negative', 'positive']);
    const outDir = path.join(dir, 'again');
    await expect(api.exportStudent({ studentDir, outDir }, { onMessage: () => {} })).resolves.toBe(outDir);
    expect(fs.existsSync(path.join(outDir, 'onnx/model.onnx'))).toBe(true);
    await expect(api.exportStudent({ studentDir, outDir }, { onMessage: () => {} })).rejects.toThrow(api.UserError);
    await expect(api.exportStudent({ studentDir, outDir }, { force: true, onMessage: () => {} })).resolves.toBe(outDir);
    const [p] = await api.predict(outDir, ['a film']);
    expect(['negative', 'positive']).toContain(p.label);
  });
});
