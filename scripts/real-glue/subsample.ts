/**
 * A seeded random subset of a TSV split (header kept), written atomically, plus copies of other
 * splits, so a large training set (SST-2: 67k) fits the time budget. Written under runs/, never
 * into the repository.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../../src/util/atomic.ts';
import { UserError } from '../../src/util/errors.ts';
import { Rng } from '../../src/util/rng.ts';

/** Keeps `count` data rows chosen by a seeded shuffle, in their original order. */
export function subsampleRows(lines: string[], count: number, seed: number): string[] {
  const idx = lines.map((_, i) => i);
  const rng = new Rng(seed);
  for (let i = idx.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return idx.slice(0, Math.min(count, lines.length)).sort((x, y) => x - y).map((i) => lines[i]);
}

export function subsampleTsvFolder(opts: { from: string; to: string; file: string; count: number; seed: number; copy: string[] }): void {
  const src = path.join(opts.from, opts.file);
  if (!fs.existsSync(src)) throw new UserError(`subsample: ${src} does not exist`);
  const target = path.join(opts.to, opts.file);
  if (fs.existsSync(target) && opts.copy.every((f) => fs.existsSync(path.join(opts.to, f)))) return;
  fs.mkdirSync(opts.to, { recursive: true });
  const text = fs.readFileSync(src, 'utf8');
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const [header, ...rows] = lines;
  for (const f of opts.copy) writeFileAtomic(path.join(opts.to, f), fs.readFileSync(path.join(opts.from, f)));
  writeFileAtomic(target, [header, ...subsampleRows(rows, opts.count, opts.seed)].join('\n') + '\n');
}
