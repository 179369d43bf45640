import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GLUE_TASKS, glueTaskKey, loadTask } from '../../src/data/tasks.ts';
import { UserError } from '../../src/util/errors.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tasks-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function writeTask(value: unknown): string {
  const file = path.join(tmp, `t${Math.random().toString(36).slice(2)}.json`);
  fs.writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));
  return file;
}

function errorOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    return (e as Error).message;
  }
  throw new Error('expected a UserError');
}

const EXPECTED_METRICS: Record<string, string[]> = {
  cola: ['mcc'], sst2: ['accuracy'], mrpc: ['f1', 'accuracy'], stsb: ['pearson', 'spearman'], qqp: ['f1', 'accuracy'],
  mnli: ['accuracy'], qnli: ['accuracy'], rte: ['accuracy'], wnli: ['accuracy'],
};

describe('loadTask', () => {
  it.each(GLUE_TASKS)('%s loads with its metrics and a dev split', (name) => {
    const t = loadTask(name);
    expect(t.name).toBe(name);
    expect(t.metrics).toEqual(EXPECTED_METRICS[name]);
    expect(t.splits[t.devSplit]).toBeDefined();
    expect(t.labels === null).toBe(name === 'stsb');
  });

  it('accepts official spellings case-insensitively', () => {
    expect(loadTask('SST-2').name).toBe('sst2');
    expect(loadTask('sst-2').name).toBe('sst2');
    expect(loadTask('STS-B').name).toBe('stsb');
    expect(loadTask('MNLI').displayName).toBe('MNLI');
    expect(glueTaskKey('imdb')).toBeUndefined();
  });

  it('unknown names list the GLUE tasks', () => {
    expect(errorOf(() => loadTask('imdb'))).toMatch(/unknown task "imdb".*cola, sst2, mrpc/);
  });

  it('reads a user task JSON with defaults', () => {
    const file = writeTask({
      name: 'reviews', format: 'csv', labels: ['neg', 'pos'], metrics: ['accuracy', 'f1'],
      splits: { train: { file: 'train.csv', header: true, textA: 'text', label: 'label' }, dev: { file: 'dev.csv', header: true, textA: 'text', label: 'label' } },
    });
    const t = loadTask(file);
    expect(t.devSplit).toBe('dev');
    expect(t.displayName).toBe('reviews');
  });

  it('validation errors name the file, the key path and the allowed values', () => {
    const file = writeTask({
      name: 'reviews', format: 'xlsx', labels: ['neg', 'pos'], metrics: ['acc'], devSplit: 'validation',
      splits: { dev: { file: 'dev.tsv', header: false, textA: 'text', lable: 'label' } },
    });
    const msg = errorOf(() => loadTask(file));
    expect(msg).toContain(file);
    expect(msg).toMatch(/format: .*"tsv"\|"csv"\|"jsonl"/);
    expect(msg).toMatch(/metrics\.0: .*"accuracy"/);
    expect(msg).toMatch(/splits\.dev: .*lable/);
  });

  it('cross-field checks: metric kind, devSplit, named columns without a header, f1 on 3 classes', () => {
    const file = writeTask({
      name: 'x', format: 'tsv', labels: ['a', 'b', 'c'], metrics: ['pearson', 'f1'], devSplit: 'validation',
      splits: { dev: { file: 'dev.tsv', header: false, textA: 'text' } },
    });
    const msg = errorOf(() => loadTask(file));
    expect(msg).toMatch(/metrics\.0: "pearson" does not fit a classification task/);
    expect(msg).toMatch(/metrics: f1 .* needs exactly 2 labels/);
    expect(msg).toMatch(/devSplit: "validation" is not one of the splits \(dev\)/);
    expect(msg).toMatch(/splits\.dev\.textA: column "text" is named but the file has no header/);
  });

  it('invalid JSON is a UserError naming the file', () => {
    const file = writeTask('{ "name": ');
    expect(errorOf(() => loadTask(file))).toMatch(/cannot read task declaration .*\.json/);
  });
});
