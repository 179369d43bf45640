import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCorpus, type CorpusLine } from '../../src/general/corpus.ts';
import { corpusKey, sampleWindows, windowsSha256 } from '../../src/general/corpus-info.ts';
import { chunk, corpusWindows, pairWindow, type WindowTokenizer } from '../../src/general/windows.ts';
import { isUserError } from '../../src/util/errors.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'general-corpus-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function write(name: string, content: string | Buffer): string {
  const f = path.join(tmp, name);
  fs.writeFileSync(f, content);
  return f;
}

/** Words are their own ids ("3 4 5" → [3, 4, 5]); [CLS] = 100, [SEP] = 101. */
const numTok: WindowTokenizer = {
  tokenizeToIds: (t) => t.split(/\s+/).filter(Boolean).map(Number),
  clsId: 100,
  sepId: 101,
};

function lines(texts: (string | null)[]): CorpusLine[] {
  // null marks a blank line (a document break) before the next text.
  const out: CorpusLine[] = [];
  let docStart = true;
  texts.forEach((t, i) => {
    if (t === null) docStart = true;
    else {
      out.push({ text: t, file: 'f', line: i + 1, byteOffset: 0, docStart });
      docStart = false;
    }
  });
  return out;
}

function expectUserError(fn: () => unknown, pattern: RegExp): void {
  try {
    fn();
  } catch (e) {
    expect(isUserError(e)).toBe(true);
    expect((e as Error).message).toMatch(pattern);
    return;
  }
  throw new Error('expected a UserError');
}

describe('readCorpus', () => {
  it('streams non-blank lines of several files, marking document starts', () => {
    const a = write('a.txt', 'one\r\ntwo\n\n  \nthree\n');
    const b = write('b.txt', 'four');
    const got = [...readCorpus({ files: [a, b] })].map((l) => [l.text, l.line, l.byteOffset, l.docStart, path.basename(l.file)]);
    expect(got).toEqual([
      ['one', 1, 0, true, 'a.txt'],
      ['two', 2, 5, false, 'a.txt'],
      ['three', 5, 13, true, 'a.txt'],
      ['four', 1, 0, true, 'b.txt'],
    ]);
  });

  it('reads a JSONL field, nested by a dotted path', () => {
    const f = write('c.jsonl', '{"text":"hello","meta":{"t":"x"}}\n{"text":"world","meta":{"t":"y"}}\n');
    expect([...readCorpus({ files: [f], jsonlField: 'text' })].map((l) => l.text)).toEqual(['hello', 'world']);
    expect([...readCorpus({ files: [f], jsonlField: 'meta.t' })].map((l) => l.text)).toEqual(['x', 'y']);
  });

  it('names file and line of a bad JSONL line or a missing field', () => {
    const f = write('bad.jsonl', '{"text":"ok"}\n{"body":"no text"}\n');
    expectUserError(() => [...readCorpus({ files: [f], jsonlField: 'text' })], /bad\.jsonl:2: the object has no field "text"/);
    const g = write('bad2.jsonl', '{"text":"ok"}\nnot json\n');
    expectUserError(() => [...readCorpus({ files: [g], jsonlField: 'text' })], /bad2\.jsonl:2: not valid JSON/);
    const h = write('bad3.jsonl', '{"text":7}\n');
    expectUserError(() => [...readCorpus({ files: [h], jsonlField: 'text' })], /bad3\.jsonl:1: field "text" is number, expected a string/);
  });

  it('reports non-UTF-8 bytes with line and byte offset', () => {
    // Line 2 starts at byte 4; its third byte (offset 6) is a lone 0xff.
    const f = write('latin1.txt', Buffer.concat([Buffer.from('abc\nde'), Buffer.from([0xff]), Buffer.from('f\n')]));
    expectUserError(() => [...readCorpus({ files: [f] })], /latin1\.txt:2: invalid UTF-8 at byte offset 6/);
  });

  it('refuses missing files and an empty list', () => {
    expectUserError(() => [...readCorpus({ files: [] })], /no input files/);
    expectUserError(() => [...readCorpus({ files: [path.join(tmp, 'nope.txt')] })], /corpus file not found/);
  });
});

describe('corpusWindows', () => {
  it('splits long lines into windows of maxLength tokens, nothing dropped', () => {
    const w = [...corpusWindows(lines(['1 2 3 4 5 6 7', '8']), numTok, { maxLength: 5, pairs: false })];
    expect(w.map((x) => x.inputIds)).toEqual([
      [100, 1, 2, 3, 101],
      [100, 4, 5, 6, 101],
      [100, 7, 101],
      [100, 8, 101],
    ]);
    expect(w.every((x) => x.tokenTypeIds.every((t) => t === 0))).toBe(true);
    expect(w.map((x) => x.source.text)).toEqual(['1 2 3 4 5 6 7', '1 2 3 4 5 6 7', '1 2 3 4 5 6 7', '8']);
  });

  it('pairs consecutive segments of a document as A / B with token types', () => {
    const w = [...corpusWindows(lines(['1 2', '3', '4 5', null, '6', '7 8 9']), numTok, { maxLength: 8, pairs: true })];
    expect(w.map((x) => [x.inputIds, x.tokenTypeIds])).toEqual([
      [[100, 1, 2, 101, 3, 101], [0, 0, 0, 0, 1, 1]],
      // "4 5" is the document's odd last segment: single.
      [[100, 4, 5, 101], [0, 0, 0, 0]],
      [[100, 6, 101, 7, 8, 9, 101], [0, 0, 0, 1, 1, 1, 1]],
    ]);
  });

  it('truncates a too-long pair longest-first and skips lines without tokens', () => {
    // budget 8 − 3 = 5: A has 2, B has 6 → B cut to 3.
    expect(pairWindow(numTok, [1, 2], [3, 4, 5, 6, 7, 8], 8).inputIds).toEqual([100, 1, 2, 101, 3, 4, 5, 101]);
    const w = [...corpusWindows(lines(['  ', '1']), numTok, { maxLength: 5, pairs: false })];
    expect(w.map((x) => x.inputIds)).toEqual([[100, 1, 101]]);
    expect(chunk([1, 2, 3], 2)).toEqual([[1, 2], [3]]);
  });

  it('refuses a maxLength without room for text', () => {
    expectUserError(() => [...corpusWindows(lines(['1']), numTok, { maxLength: 4, pairs: true })], /maxLength must be an integer >= 5/);
  });
});

describe('corpus sampling and keys', () => {
  it('samples the first windows and says where they end in the corpus', () => {
    const a = write('s1.txt', '1\n2\n'); // 4 bytes
    const b = write('s2.txt', '3\n4 5\n');
    const make = () => corpusWindows(readCorpus({ files: [a, b] }), numTok, { maxLength: 8, pairs: false });
    const part = sampleWindows(make(), [a, b], 3);
    expect(part).toMatchObject({ windowLengths: [3, 3, 3], exhausted: false, bytesRead: 4 + 2 });
    expect(part.first?.inputIds).toEqual([100, 1, 101]);
    const all = sampleWindows(make(), [a, b], 10);
    expect(all).toMatchObject({ windowLengths: [3, 3, 3, 4], exhausted: true, bytesRead: 4 + 6 });
  });

  it('refuses an empty corpus', () => {
    const e = write('empty.txt', '\n\n   \n');
    expectUserError(() => sampleWindows(corpusWindows(readCorpus({ files: [e] }), numTok, { maxLength: 8, pairs: false }), [e], 5), /corpus is empty/);
  });

  it('keys change with the content and the windowing, hashes with the ids', () => {
    const f = write('k.txt', 'a b\n');
    const k1 = corpusKey({ files: [f] }, { maxLength: 8, pairs: false });
    expect(corpusKey({ files: [f] }, { maxLength: 8, pairs: true })).not.toBe(k1);
    write('k.txt', 'a c\n');
    expect(corpusKey({ files: [f] }, { maxLength: 8, pairs: false })).not.toBe(k1);
    const w = { inputIds: [1, 2], tokenTypeIds: [0, 0] };
    expect(windowsSha256([w])).not.toBe(windowsSha256([{ ...w, tokenTypeIds: [0, 1] }]));
  });
});
