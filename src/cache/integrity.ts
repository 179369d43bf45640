/**
 * Checksums of cache files, verified once and remembered: `verified.json` in the cache folder
 * records, per file, the checksum it was found to have together with its size, mtime, ctime and
 * inode. A file whose stat still matches is not read again, so opening a large cache a second time
 * costs a few stat calls; a file that was rewritten, copied or touched is read again. Each file is
 * checked with the algorithm its record names (crc32, or sha256 in caches written before).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeJsonAtomic } from '../util/atomic.ts';
import { checksumFields, fileChecksum, recordedChecksum, type Checksum, type ChecksumFields } from '../util/checksum.ts';

export const STAMP_FILE = 'verified.json';

export interface FileExpectation extends ChecksumFields {
  /** Path relative to the cache folder. */
  file: string;
  /** Expected size, when known. */
  bytes?: number;
}

interface StampEntry extends ChecksumFields {
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

function entryOf(st: fs.Stats, checksum: Checksum): StampEntry {
  return { ...checksumFields(checksum), bytes: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino };
}

const sameChecksum = (a: Checksum | undefined, b: Checksum) => a?.algorithm === b.algorithm && a.value === b.value;

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
 * Checks files against their recorded checksums; `remembered` (default true) skips files whose stat
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
    const expected = recordedChecksum(f);
    const known = stamp.files[f.file];
    if (!expected) {
      problems.push(`${abs}: the manifest records no valid crc32 or sha256 for it (damaged manifest)`);
      bad.push(f.file);
      if (known) changed = delete stamp.files[f.file];
      continue;
    }
    if (remembered && sameStat(known, st) && sameChecksum(recordedChecksum(known), expected)) continue;
    hashedBytes += st.size;
    if (fileChecksum(abs, expected.algorithm) !== expected.value) {
      problems.push(`${abs}: checksum differs from the manifest (damaged file)`);
      bad.push(f.file);
      if (known) changed = delete stamp.files[f.file];
      continue;
    }
    stamp.files[f.file] = entryOf(st, expected);
    changed = true;
  }
  if (changed) writeStamp(dir, stamp);
  return { problems, bad, hashedBytes };
}

/** Records files just written with a checksum computed while writing them (no re-read needed). */
export function rememberFiles(dir: string, files: { file: string; checksum: Checksum }[]): void {
  if (files.length === 0) return;
  const stamp = readStamp(dir);
  for (const f of files) {
    try {
      stamp.files[f.file] = entryOf(fs.statSync(path.join(dir, f.file)), f.checksum);
    } catch {
      delete stamp.files[f.file];
    }
  }
  writeStamp(dir, stamp);
}
