/**
 * What general distillation needs to know about a corpus before training: a sample of its first
 * windows (for the cache-size estimate; an empty corpus is refused here), and keys that identify
 * the data for the cache fingerprint and the resume check without reading a huge corpus twice.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Encoded } from '../data/types.ts';
import { UserError } from '../util/errors.ts';
import type { CorpusOptions } from './corpus.ts';
import type { CorpusSample } from './mode.ts';
import type { CorpusWindow, WindowOptions } from './windows.ts';

/** Total size of the corpus files in bytes. */
export function corpusBytes(files: string[]): number {
  return files.reduce((s, f) => s + fs.statSync(f).size, 0);
}

/**
 * Reads up to `limit` windows (and one more, to know where they end in the corpus). `bytesRead`
 * counts from the corpus start to the line after the sample. Throws when the corpus has no text.
 */
export function sampleWindows(windows: Iterable<CorpusWindow>, files: string[], limit: number): CorpusSample & { first?: Encoded } {
  const fileStart = new Map<string, number>();
  let at = 0;
  for (const f of files) {
    if (!fileStart.has(f)) fileStart.set(f, at);
    at += fs.statSync(f).size;
  }
  const lengths: number[] = [];
  let first: Encoded | undefined;
  const it = windows[Symbol.iterator]();
  try {
    for (;;) {
      const r = it.next();
      if (r.done) {
        if (lengths.length === 0) throw new UserError(`the corpus is empty: ${files.join(', ')} hold${files.length === 1 ? 's' : ''} no text (only blank lines, or nothing the tokenizer keeps)`);
        return { windowLengths: lengths, bytesRead: at, exhausted: true, first };
      }
      if (lengths.length === limit) {
        return { windowLengths: lengths, bytesRead: fileStart.get(r.value.source.file)! + r.value.source.byteOffset, exhausted: false, first };
      }
      first ??= { inputIds: r.value.inputIds, tokenTypeIds: r.value.tokenTypeIds };
      lengths.push(r.value.inputIds.length);
    }
  } finally {
    it.return?.();
  }
}

/** Identifies a corpus cheaply: each file's name, size and the sha256 of its first MiB, plus the windowing. */
export function corpusKey(corpus: CorpusOptions, windows: WindowOptions): string {
  const h = createHash('sha256');
  const buf = Buffer.alloc(1 << 20);
  for (const f of corpus.files) {
    const fd = fs.openSync(f, 'r');
    try {
      const n = fs.readSync(fd, buf, 0, buf.length, 0);
      h.update(`${path.basename(f)}\0${fs.fstatSync(fd).size}\0`).update(buf.subarray(0, n));
    } finally {
      fs.closeSync(fd);
    }
  }
  h.update(JSON.stringify({ jsonlField: corpus.jsonlField ?? null, maxLength: windows.maxLength, pairs: windows.pairs }));
  return h.digest('hex');
}

/** sha256 of the windows' token ids and token types (exact; for the in-memory, cached mode). */
export function windowsSha256(windows: Encoded[]): string {
  const h = createHash('sha256');
  for (const w of windows) h.update(Int32Array.from(w.inputIds)).update(Int32Array.from(w.tokenTypeIds)).update('\n');
  return h.digest('hex');
}
