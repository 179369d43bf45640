import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { augmentTask, type AugmentOptions } from '../../src/augment/augment.ts';
import { basicTokenize, isEligibleWord } from '../../src/augment/words.ts';
import { readSplit } from '../../src/data/reader.ts';
import { loadTask } from '../../src/data/tasks.ts';
import type { Example } from '../../src/data/types.ts';
import { UserError } from '../../src/util/errors.ts';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures');
const TEACHER = path.join(FIXTURES, 'tiny-bert-opset14');
const MLM = path.join(FIXTURES, 'tiny-mlm');
const quiet = { provider: 'cpu' as const };

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'augment-'));
}

const SST2 = [
  'sentence\tlabel',
  'the movie was good and fun .\t1',
  'a boring , awful film !\t0',
  'this story is great , the acting is bad\t1',
  'i love it 2 much\t1',
  '',
].join('\n');

function sst2Dir(): string {
  const dir = tmp();
  fs.writeFileSync(path.join(dir, 'train.tsv'), SST2);
  return dir;
}

function run(over: Partial<AugmentOptions> & { dataDir: string }): ReturnType<typeof augmentTask> {
  return augmentTask({ task: 'sst2', outDir: path.join(tmp(), 'out'), teacher: TEACHER, n: 8, k: 5, seed: 3, ...quiet, ...over });
}

/** Groups output examples by the original row each one comes from (originals are verbatim copies). */
function groups(out: Example[], originals: Example[], key: (e: Example) => string): Example[][] {
  const result: Example[][] = [];
  let o = 0;
  for (const e of out) {
    if (o < originals.length && key(e) === key(originals[o])) result[o++] = [e];
    else result[o - 1].push(e);
  }
  expect(result.length).toBe(originals.length);
  return result;
}

describe('augmentTask', () => {
  it('is deterministic under a seed and writes a file the reader reads as the same task', async () => {
    const dataDir = sst2Dir();
    const a = await run({ dataDir });
    const b = await run({ dataDir });
    const c = await run({ dataDir, seed: 4 });
    const text = fs.readFileSync(a.file, 'utf8');
    expect(fs.readFileSync(b.file, 'utf8')).toBe(text);
    expect(fs.readFileSync(c.file, 'utf8')).not.toBe(text);
    expect(text.split('\n')[0]).toBe('sentence\tlabel');
    const out = readSplit(loadTask('sst2'), a.outDir, 'train');
    expect(out.length).toBe(a.rows);
    expect(a.rows).toBeGreaterThan(8);
    expect(a.candidateSource).toBe('embedding');
    expect(a.candidates.embedding).toBeGreaterThan(0);
    const manifest = JSON.parse(fs.readFileSync(path.join(a.outDir, 'augment.json'), 'utf8'));
    expect(manifest).toMatchObject({ task: 'sst2', split: 'train', n: 8, p: 0.4, k: 5, seed: 3, examples: 4, rows: a.rows });
  });

  it('keeps originals and labels, drops duplicates, replaces only eligible words', async () => {
    const dataDir = sst2Dir();
    const task = loadTask('sst2');
    const originals = readSplit(task, dataDir, 'train');
    for (const mlm of [undefined, MLM]) {
      const r = await run({ dataDir, mlm, n: 30, p: 0.6 });
      if (mlm) expect(r.candidates.mlm).toBeGreaterThan(0);
      const out = readSplit(task, r.outDir, 'train');
      groups(out, originals, (e) => e.textA).forEach((group, i) => {
        expect(group[0].textA).toBe(originals[i].textA);
        const words = basicTokenize(originals[i].textA);
        const texts = group.slice(1).map((e) => e.textA);
        expect(new Set([words.join(' '), ...texts]).size).toBe(texts.length + 1);
        expect(texts.length).toBeLessThanOrEqual(30);
        for (const e of group) expect(e.label).toBe(originals[i].label);
        for (const t of texts) {
          const v = t.split(' ');
          expect(v.length).toBe(words.length);
          words.forEach((w, j) => {
            if (!isEligibleWord(w)) expect(v[j]).toBe(w); // stop-words, punctuation, "2" stay
          });
        }
      });
      expect(out.some((e) => e.textA.startsWith('the ') && e.textA !== 'the movie was good and fun .')).toBe(true);
    }
  });

  it('varies only texts of at least minWords words; shorter rows are copied once, and with minWords 1 the output equals the default', async () => {
    const dataDir = sst2Dir();
    const task = loadTask('sst2');
    const originals = readSplit(task, dataDir, 'train');
    // Word counts (punctuation included): 7, 6, 9, 5.
    expect(originals.map((e) => basicTokenize(e.textA).length)).toEqual([7, 6, 9, 5]);
    const all = await run({ dataDir, n: 30, p: 0.6 });
    const long = await run({ dataDir, n: 30, p: 0.6, minWords: 7 });
    const same = await run({ dataDir, n: 30, p: 0.6, minWords: 1 });
    expect(fs.readFileSync(same.file, 'utf8')).toBe(fs.readFileSync(all.file, 'utf8'));
    const byAll = groups(readSplit(task, all.outDir, 'train'), originals, (e) => e.textA);
    const byLong = groups(readSplit(task, long.outDir, 'train'), originals, (e) => e.textA);
    byLong.forEach((group, i) => {
      if (basicTokenize(originals[i].textA).length < 7) expect(group.map((e) => e.textA)).toEqual([originals[i].textA]);
      // A long row's variants do not depend on which other rows were varied (per-sentence seeds).
      else expect(group.map((e) => e.textA)).toEqual(byAll[i].map((e) => e.textA));
    });
    expect(byLong[0].length).toBeGreaterThan(1);
    expect(JSON.parse(fs.readFileSync(path.join(long.outDir, 'augment.json'), 'utf8')).minWords).toBe(7);
    await expect(run({ dataDir, minWords: 0 })).rejects.toThrow(/minWords must be an integer >= 1/);
  });

  it('augments each column of a pair task on its own, keeping ids and the other column (MRPC layout, BOM)', async () => {
    const dataDir = tmp();
    fs.writeFileSync(
      path.join(dataDir, 'train.tsv'),
      '\ufeffQuality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t11\t12\tthe movie was good\tthe film was great\n0\t21\t22\tan awful story\ta boring plot\n',
    );
    const task = loadTask('mrpc');
    const r = await augmentTask({ task, dataDir, outDir: path.join(tmp(), 'mrpc'), teacher: TEACHER, n: 10, k: 5, seed: 1, ...quiet });
    const lines = fs.readFileSync(r.file, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('Quality\t#1 ID\t#2 ID\t#1 String\t#2 String');
    expect(lines[1]).toBe('1\t11\t12\tthe movie was good\tthe film was great');
    const rows = lines.slice(1).map((l) => l.split('\t'));
    const first = rows.filter((f) => f[1] === '11');
    const second = rows.filter((f) => f[1] === '21');
    expect(first.length + second.length).toBe(rows.length);
    for (const f of first) expect(f.slice(0, 3)).toEqual(['1', '11', '12']);
    for (const f of second) expect(f.slice(0, 3)).toEqual(['0', '21', '22']);
    // Every variant changes exactly one of the two texts.
    for (const f of first.slice(1)) expect((f[3] === 'the movie was good') !== (f[4] === 'the film was great')).toBe(true);
    expect(first.some((f) => f[3] !== 'the movie was good')).toBe(true);
    expect(first.some((f) => f[4] !== 'the film was great')).toBe(true);
    expect(readSplit(task, r.outDir, 'train').length).toBe(rows.length);
  });

  it('rejects bad options, an empty training file and an existing output folder', async () => {
    const dataDir = sst2Dir();
    await expect(run({ dataDir, p: 1.5 })).rejects.toThrow(/p must be within \[0, 1\]/);
    await expect(run({ dataDir, p: -0.1 })).rejects.toThrow(UserError);
    await expect(run({ dataDir, n: 0 })).rejects.toThrow(/n must be an integer >= 1/);
    await expect(run({ dataDir, k: 0 })).rejects.toThrow(/k must be an integer >= 1/);
    const empty = tmp();
    fs.writeFileSync(path.join(empty, 'train.tsv'), '');
    await expect(run({ dataDir: empty })).rejects.toThrow(/file is empty/);
    const outDir = path.join(tmp(), 'exists');
    fs.mkdirSync(outDir);
    await expect(run({ dataDir, outDir })).rejects.toThrow(/already exists/);
  });

  it('rejects a masked-LM model whose vocabulary does not match its tokenizer', async () => {
    const dataDir = sst2Dir();
    const copy = (edit: (dir: string) => void): string => {
      const dir = path.join(tmp(), 'mlm');
      fs.cpSync(MLM, dir, { recursive: true });
      edit(dir);
      return dir;
    };
    const declared = copy((dir) => {
      const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
      fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...config, vocab_size: config.vocab_size + 3 }));
    });
    await expect(run({ dataDir, mlm: declared })).rejects.toThrow(/masked-LM model: .*vocab_size/);
    // No vocab_size in config.json and a shorter vocab.txt: caught at the model's output.
    const shorter = copy((dir) => {
      const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
      delete config.vocab_size;
      fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
      const vocab = fs.readFileSync(path.join(dir, 'vocab.txt'), 'utf8').trim().split('\n');
      fs.writeFileSync(path.join(dir, 'vocab.txt'), vocab.slice(0, -4).join('\n') + '\n');
    });
    await expect(run({ dataDir, mlm: shorter })).rejects.toThrow(/vocabulary does not match its tokenizer/);
  });
});
