/** Synthetic SST-2 style data over the tiny fixture vocabulary, and file comparisons. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sha256 } from '../../src/util/hash.ts';
import { Rng } from '../../src/util/rng.ts';

const WORDS = 'the movie film story plot acting good great bad awful fun boring love hate best worst very really so too more most one two some'.split(' ');

/** Writes <dir>/train.tsv with `n` sentences of 1..maxWords words (deterministic under `seed`). */
export function writeSst2(dir: string, n: number, seed = 1, maxWords = 20): string {
  fs.mkdirSync(dir, { recursive: true });
  const rng = new Rng(seed);
  const lines = ['sentence\tlabel'];
  for (let i = 0; i < n; i++) {
    const words = Array.from({ length: 1 + rng.int(maxWords) }, () => WORDS[rng.int(WORDS.length)]);
    lines.push(`${words.join(' ')}\t${rng.int(2)}`);
  }
  fs.writeFileSync(path.join(dir, 'train.tsv'), lines.join('\n') + '\n');
  return dir;
}

/** Relative paths and contents of every file under `dir` except the named ones. */
export function snapshot(dir: string, skip: string[] = []): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, e.name);
      const rel = path.relative(dir, full);
      if (skip.includes(rel)) continue;
      if (e.isDirectory()) walk(full);
      else out.set(rel, fs.readFileSync(full));
    }
  };
  walk(dir);
  return out;
}

/** Relative path → sha256 of every file under `dir` (cheap to compare with toEqual). */
export function digests(dir: string, skip: string[] = []): Record<string, string> {
  return Object.fromEntries([...snapshot(dir, skip)].map(([f, b]) => [f, sha256(b)]));
}
