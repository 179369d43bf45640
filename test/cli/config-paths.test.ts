/** Relative paths in a config file resolve against the file's folder, list entries included. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/cli/config-load.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'config-paths-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('config paths', () => {
  it('multiTeacher.teachers[].dir and .cache resolve against the config file, like teacher.dir', () => {
    const sub = path.join(dir, 'configs');
    fs.mkdirSync(sub, { recursive: true });
    const file = path.join(sub, 'run.json');
    fs.writeFileSync(file, JSON.stringify({
      task: 'sst2', teacher: { dir: '../models/t1' }, data: { dir: '../data' }, out: '../runs/x',
      multiTeacher: { teachers: [{ dir: '../models/t2' }, { cache: 'caches/t3' }, { dir: '/abs/t4' }] },
    }));
    const c = loadConfig({ file, overrides: {} });
    expect(c.teacher.dir).toBe(path.join(dir, 'models/t1'));
    expect(c.multiTeacher.teachers.map((t) => t.dir ?? t.cache)).toEqual([path.join(dir, 'models/t2'), path.join(sub, 'caches/t3'), '/abs/t4']);
  });
});
