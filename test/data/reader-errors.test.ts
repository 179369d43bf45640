import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readLines } from '../../src/data/lines.ts';
import { readSplit } from '../../src/data/reader.ts';
import { loadTask } from '../../src/data/tasks.ts';
import type { TaskSpec } from '../../src/data/types.ts';
import { UserError } from '../../src/util/errors.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'reader-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

let n = 0;
/** Writes `content` as <fresh dir>/<file> and returns the dir. */
function dataDir(file: string, content: string | Uint8Array): string {
  const d = path.join(tmp, String(n++));
  fs.mkdirSync(d);
  fs.writeFileSync(path.join(d, file), content);
  return d;
}

function userError(f: () => unknown): UserError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    return e as UserError;
  }
  throw new Error('expected a UserError');
}

const sst2 = loadTask('sst2');
const cola = loadTask('cola');

describe('reader bad input', () => {
  it('missing file names the task, split and path', () => {
    const e = userError(() => readSplit(sst2, path.join(tmp, 'nowhere'), 'dev'));
    expect(e.message).toMatch(/SST-2 dev file not found: .*nowhere.dev\.tsv/);
  });

  it('unknown split lists the task splits', () => {
    expect(userError(() => readSplit(sst2, tmp, 'validation')).message).toMatch(/no split "validation".*train, dev, test/);
  });

  it('empty file', () => {
    const d = dataDir('dev.tsv', '');
    expect(userError(() => readSplit(sst2, d, 'dev')).message).toMatch(/dev\.tsv: file is empty/);
  });

  it('header without rows', () => {
    const d = dataDir('dev.tsv', 'sentence\tlabel\n');
    expect(userError(() => readSplit(sst2, d, 'dev')).message).toMatch(/has a header but no data rows/);
  });

  it('row with the wrong column count names file and line', () => {
    const d = dataDir('dev.tsv', 'sentence\tlabel\ngood\t1\nbad row without label\n');
    expect(userError(() => readSplit(sst2, d, 'dev')).message).toMatch(/dev\.tsv:3: malformed row: 1 tab-separated fields, expected 2/);
  });

  it('headerless row with too few columns (CoLA)', () => {
    const d = dataDir('train.tsv', 'gj04\t1\t\tok.\ngj04\t1\tshort\n');
    expect(userError(() => readSplit(cola, d, 'train')).message).toMatch(/train\.tsv:2: malformed row: 3 .*expected at least 4/);
  });

  it('unknown label lists the allowed ones', () => {
    const d = dataDir('dev.tsv', 'sentence\tlabel\ngood\t1\nmeh\tpositive\n');
    expect(userError(() => readSplit(sst2, d, 'dev')).message).toMatch(/dev\.tsv:3: unknown label "positive"; expected one of: 0, 1/);
  });

  it('non-numeric regression score', () => {
    const stsb = loadTask('stsb');
    const head = 'index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n';
    const d = dataDir('dev.tsv', head + '0\tg\tf\ty\to\ts\ts\ta\tb\thigh\n');
    expect(userError(() => readSplit(stsb, d, 'dev')).message).toMatch(/dev\.tsv:2: label "high" is not a number/);
  });

  it('missing header column lists the columns present', () => {
    const d = dataDir('dev.tsv', 'text\tlabel\ngood\t1\n');
    expect(userError(() => readSplit(sst2, d, 'dev')).message).toMatch(/header has no column "sentence"; columns are: "text", "label"/);
  });

  it('non-UTF-8 bytes report line and byte offset', () => {
    const bytes = Buffer.concat([Buffer.from('sentence\tlabel\nfine\t1\ncaf'), Buffer.from([0xe9]), Buffer.from('\t0\n')]);
    const d = dataDir('dev.tsv', bytes);
    // "sentence\tlabel\n" is 15 bytes, "fine\t1\n" 7, "caf" 3: the bad byte is at offset 25.
    expect(userError(() => readSplit(sst2, d, 'dev')).message).toMatch(/dev\.tsv:3: invalid UTF-8 at byte offset 25 \(byte 3 of the line, value 0xe9\)/);
  });

  it('an empty line inside the data is an error, trailing ones are not', () => {
    const inside = dataDir('dev.tsv', 'sentence\tlabel\na\t1\n\nb\t0\n');
    expect(userError(() => readSplit(sst2, inside, 'dev')).message).toMatch(/dev\.tsv:3: empty line inside the data/);
    const trailing = dataDir('dev.tsv', 'sentence\tlabel\r\na\t1\r\nb\t0\r\n\r\n\n');
    expect(readSplit(sst2, trailing, 'dev').map((e) => [e.textA, e.label])).toEqual([['a', 1], ['b', 0]]);
  });
});

describe('line reader', () => {
  it('splits across block boundaries and reports byte offsets', () => {
    const text = 'alpha\r\nβeta\n\ngamma-long-line-here\nlast';
    const file = path.join(dataDir('x.txt', '\ufeff' + text), 'x.txt');
    for (const block of [4, 5, 7, 64]) {
      const lines = [...readLines(file, block)];
      expect(lines.map((l) => l.text)).toEqual(['alpha', 'βeta', '', 'gamma-long-line-here', 'last']);
      expect(lines.map((l) => l.byteOffset)).toEqual([3, 10, 16, 17, 38]);
    }
  });
});

describe('user tasks: CSV and JSONL', () => {
  const base = { name: 'reviews', displayName: 'reviews', labels: ['neg', 'pos'], metrics: ['accuracy'] as const, devSplit: 'dev' };
  const csvTask: TaskSpec = {
    ...base,
    metrics: ['accuracy'],
    format: 'csv',
    splits: { dev: { file: 'dev.csv', header: true, textA: 'text', textB: 'context', label: 'label' } },
  };

  it('CSV with quoting, doubled quotes, commas and a field spanning lines', () => {
    const d = dataDir('dev.csv', 'label,text,context\npos,"good, really","she said ""wow"""\r\nneg,"two\nlines",\n');
    const ex = readSplit(csvTask, d, 'dev');
    expect(ex.map((e) => [e.label, e.textA, e.textB, e.source.line])).toEqual([
      [1, 'good, really', 'she said "wow"', 2],
      [0, 'two\nlines', '', 3],
    ]);
  });

  it('CSV errors: unclosed quote, quote in an unquoted field, junk after a closing quote', () => {
    expect(userError(() => readSplit(csvTask, dataDir('dev.csv', 'label,text,context\npos,"open,x\n'), 'dev')).message).toMatch(
      /dev\.csv:2: quoted field opened here is never closed/,
    );
    expect(userError(() => readSplit(csvTask, dataDir('dev.csv', 'label,text,context\npos,a"b,c\n'), 'dev')).message).toMatch(
      /dev\.csv:2: quote character at column 6 inside an unquoted field/,
    );
    expect(userError(() => readSplit(csvTask, dataDir('dev.csv', 'label,text,context\npos,"a"b,c\n'), 'dev')).message).toMatch(
      /dev\.csv:2: unexpected character "b" after a closing quote at column 8/,
    );
  });

  it('JSONL rows by key; numeric labels match label names; blank lines skipped', () => {
    const task: TaskSpec = {
      ...base,
      metrics: ['accuracy'],
      labels: ['0', '1'],
      format: 'jsonl',
      splits: { dev: { file: 'dev.jsonl', header: false, textA: 'text', label: 'label' } },
    };
    const d = dataDir('dev.jsonl', '{"text":"fine","label":1}\n\n{"text":"bad","label":"0"}\n');
    expect(readSplit(task, d, 'dev').map((e) => [e.textA, e.label, e.source.line])).toEqual([
      ['fine', 1, 1],
      ['bad', 0, 3],
    ]);
    expect(userError(() => readSplit(task, dataDir('dev.jsonl', '{"text":"x","label":1}\n{"text": 3,"label":1}\n'), 'dev')).message).toMatch(
      /dev\.jsonl:2: text "text" must be a string, got number/,
    );
    expect(userError(() => readSplit(task, dataDir('dev.jsonl', '{"text":"x"'), 'dev')).message).toMatch(/dev\.jsonl:1: invalid JSON/);
    expect(userError(() => readSplit(task, dataDir('dev.jsonl', '{"label":1}\n'), 'dev')).message).toMatch(/dev\.jsonl:1: missing text column "text"/);
  });
});
