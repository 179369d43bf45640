/**
 * Stitching and checking a cache: `mergeCache` writes manifest.json once every shard of the plan is
 * recorded in some progress file (one per builder process); `verifyCache` re-reads every shard and
 * compares its checksum, naming any corrupt or missing file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeJsonAtomic } from '../util/atomic.ts';
import { UserError } from '../util/errors.ts';
import { readTextLimited } from '../util/limits.ts';
import { fileChecksum, recordedChecksum } from '../util/checksum.ts';
import { checkFiles } from './integrity.ts';
import {
  CACHE_FORMAT,
  CACHE_VERSION,
  fingerprintDifferences,
  type BuildInfo,
  type CacheFingerprint,
  type CacheManifest,
  type ProgressFile,
  type ShardInfo,
} from './format.ts';

function readJson<T>(file: string, what: string): T {
  let value: unknown;
  try {
    value = JSON.parse(readTextLimited(file, 'cacheManifest'));
  } catch (e) {
    throw new UserError(`${what} ${file} is unreadable: ${(e as Error).message}`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new UserError(`${what} ${file} is not a JSON object (damaged)`);
  return value as T;
}

export function readBuildInfo(dir: string): BuildInfo {
  const file = path.join(dir, 'build.json');
  if (!fs.existsSync(file)) throw new UserError(`${dir} is not a teacher cache (no build.json)`);
  const info = readJson<BuildInfo>(file, 'cache build file');
  if (info.fingerprint?.format !== CACHE_FORMAT || info.fingerprint.version !== CACHE_VERSION) {
    throw new UserError(`${file}: not a ${CACHE_FORMAT} v${CACHE_VERSION} cache`);
  }
  return info;
}

/** Progress files in `dir` that belong to a build with this fingerprint (others are ignored). */
export function readProgressFiles(dir: string, fingerprint: CacheFingerprint): ProgressFile[] {
  const pdir = path.join(dir, 'progress');
  if (!fs.existsSync(pdir)) return [];
  const out: ProgressFile[] = [];
  for (const f of fs.readdirSync(pdir).sort()) {
    if (!f.endsWith('.json')) continue;
    const p = readJson<ProgressFile>(path.join(pdir, f), 'cache progress file');
    if (p.fingerprint && fingerprintDifferences(p.fingerprint, fingerprint).length === 0) out.push(p);
  }
  return out;
}

/**
 * Writes manifest.json when all shards are done and returns it; returns undefined (and, unless
 * quiet, says which shards are missing) when some are not.
 */
export function mergeCache(dir: string, opts: { quiet?: boolean } = {}): CacheManifest | undefined {
  const info = readBuildInfo(dir);
  const shards: (ShardInfo | undefined)[] = new Array(info.numShards).fill(undefined);
  const providers = new Set<string>();
  for (const p of readProgressFiles(dir, info.fingerprint)) {
    for (const [k, s] of Object.entries(p.shards)) {
      const file = path.join(dir, s.file);
      if (!shards[Number(k)] && fs.existsSync(file) && fs.statSync(file).size === s.bytes) shards[Number(k)] = s;
    }
    if (Object.keys(p.shards).length > 0) providers.add(p.provider);
  }
  const missing = shards.flatMap((s, k) => (s ? [] : [k]));
  if (missing.length > 0) {
    if (!opts.quiet) {
      const list = missing.slice(0, 10).join(', ') + (missing.length > 10 ? `, … (${missing.length} in all)` : '');
      process.stderr.write(`teacher cache ${dir}: shards not finished yet: ${list}\n`);
    }
    return undefined;
  }
  const indexChecksum = recordedChecksum(info.index);
  if (!indexChecksum || fileChecksum(path.join(dir, info.index.file), indexChecksum.algorithm) !== indexChecksum.value) {
    throw new UserError(`${path.join(dir, info.index.file)} is corrupt (checksum differs from build.json); rebuild the cache`);
  }
  const done = shards as ShardInfo[];
  const manifest: CacheManifest = {
    ...info,
    complete: true,
    providers: [...providers].sort(),
    shards: done,
    totalBytes: done.reduce((s, x) => s + x.bytes, 0),
  };
  writeJsonAtomic(path.join(dir, 'manifest.json'), manifest);
  return manifest;
}

export interface VerifyReport {
  ok: boolean;
  /** One line per problem, each naming the file. */
  problems: string[];
  shards: number;
  bytes: number;
}

/**
 * Compares the index and every shard with the manifest's sizes and checksums (crc32, or sha256 in
 * caches written before). `remembered` skips
 * files unchanged since their last successful check (see integrity.ts); without it all are re-read.
 */
export function verifyCache(dir: string, opts: { remembered?: boolean } = {}): VerifyReport & { bad: string[]; hashedBytes: number } {
  const file = path.join(dir, 'manifest.json');
  if (!fs.existsSync(file)) {
    const hint = fs.existsSync(path.join(dir, 'build.json')) ? ' (the build has not finished: rerun it, or run the merge step after all parts)' : '';
    throw new UserError(`${dir} has no manifest.json${hint}`);
  }
  const m = readJson<CacheManifest>(file, 'cache manifest');
  if (m.fingerprint?.format !== CACHE_FORMAT || !m.complete) throw new UserError(`${file} is not a complete ${CACHE_FORMAT} manifest`);
  const r = checkFiles(
    dir,
    [{ ...m.index, bytes: m.fingerprint.numExamples * m.index.entryBytes }, ...m.shards],
    { remembered: opts.remembered ?? false },
  );
  return { ok: r.problems.length === 0, problems: r.problems, bad: r.bad, hashedBytes: r.hashedBytes, shards: m.shards.length, bytes: m.totalBytes };
}
