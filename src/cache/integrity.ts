/**
 * Checksums of cache files, verified once and remembered: `verified.json` in the cache folder
 * records, per file, the sha256 it was found to have together with its size, mtime, ctime and
 * inode. A file whose stat still matches is not read again, so opening a large cache a second time
 * costs a few stat calls; a file that was rewritten, copied or touched is hashed again.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeJsonAtomic } from '../util/atomic.ts';
import { sha256File } from '../util/hash.ts';

export const STAMP_FILE = 'verified.json';

export interface FileExpectation {
  /** Path relative to the cache folder. */
  file: string;
  /** Expected size, when known. */
  bytes?: number;
  sha256: string;
}

interface StampEntry {
  sha256: string;
  bytes: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
}

interface StampFile {
  version: 1;
  files: Record<string, StampEntry>;
}

export interface IntegrityReport {
  /** One line per damaged or missing file, naming it. */
  problems: string[];
  /** Relative paths of the damaged or missing files. */
  bad: string[];
  /** Bytes read to hash (0 when every file was remembered). */
  hashedBytes: number;
}

function readStamp(dir: string): StampFile {
  try {
    const s = JSON.parse(fs.readFileSync(path.join(dir, STAMP_FILE), 'utf8')) as StampFile;
    if (s?.version === 1 && s.files && typeof s.files === 'object') return s;
  } catch {
    // missing or unreadable: everything is hashed again
  }
  return { version: 1, files: {} };
}

function entryOf(st: fs.Stats, sha256: string): StampEntry {
  return { sha256, bytes: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino };
}

function sameStat(e: StampEntry | undefined, st: fs.Stats): boolean {
  return !!e && e.bytes === st.size && e.mtimeMs === st.mtimeMs && e.ctimeMs === st.ctimeMs && e.ino === st.ino;
}

/** Best effort: a read-only cache (shared, another user's) is still verified, just not remembered. */
function writeStamp(dir: string, stamp: StampFile): void {
  try {
    writeJsonAtomic(path.join(dir, STAMP_FILE), stamp);
  } catch {
    // not writable: verification is repeated next time
  }
}

/**
 * Checks files against their expected sha256; `remembered` (default true) skips files whose stat
 * matches the last successful check. Good files are remembered, damaged ones forgotten.
 */
export function checkFiles(dir: string, files: FileExpectation[], opts: { remembered?: boolean } = {}): IntegrityReport {
  const remembered = opts.remembered ?? true;
  const stamp = readStamp(dir);
  const problems: string[] = [];
  const bad: string[] = [];
  let hashedBytes = 0;
  let changed = false;
  for (const f of files) {
    const abs = path.join(dir, f.file);
    let st: fs.Stats;
    try {
      st = fs.statSync(abs);
    } catch {
      problems.push(`${abs}: missing`);
      bad.push(f.file);
      continue;
    }
    if (f.bytes !== undefined && st.size !== f.bytes) {
      problems.push(`${abs}: ${st.size} bytes, expected ${f.bytes}`);
      bad.push(f.file);
      if (stamp.files[f.file]) changed = delete stamp.files[f.file];
      continue;
    }
    const known = stamp.files[f.file];
    if (remembered && sameStat(known, st) && known!.sha256 === f.sha256) continue;
    hashedBytes += st.size;
    const sha = sha256File(abs);
    if (sha !== f.sha256) {
      problems.push(`${abs}: checksum differs from the manifest (damaged file)`);
      bad.push(f.file);
      if (known) changed = delete stamp.files[f.file];
      continue;
    }
    stamp.files[f.file] = entryOf(st, sha);
    changed = true;
  }
  if (changed) writeStamp(dir, stamp);
  return { problems, bad, hashedBytes };
}

/** Records files just written with a checksum computed while writing them (no re-read needed). */
export function rememberFiles(dir: string, files: { file: string; sha256: string }[]): void {
  if (files.length === 0) return;
  const stamp = readStamp(dir);
  for (const f of files) {
    try {
      stamp.files[f.file] = entryOf(fs.statSync(path.join(dir, f.file)), f.sha256);
    } catch {
      delete stamp.files[f.file];
    }
  }
  writeStamp(dir, stamp);
}
