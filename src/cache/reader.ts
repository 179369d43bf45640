/**
 * Reading a finished teacher cache in any order without loading it: index.bin gives each
 * example's shard, length and offset; records are read with fs.readSync at that offset. A few shard
 * files stay open (small LRU of file descriptors).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../util/errors.ts';
import { CACHE_FORMAT, CACHE_VERSION, INDEX_ENTRY_BYTES, recordBytes, type CacheManifest } from './format.ts';
import { verifyCache } from './merge.ts';
import { decodeRecord, type CachedExample } from './records.ts';

export type { CachedExample } from './records.ts';

export interface TeacherCache {
  dir: string;
  manifest: CacheManifest;
  numExamples: number;
  /** Real token count of example i (no file access). */
  lengthOf(i: number): number;
  /** Example i by its index in the split (Example.index / Batch.indices). */
  readExample(i: number): CachedExample;
  close(): void;
}

export interface OpenCacheOptions {
  /**
   * Compare every shard's sha256 with the manifest first: true re-reads them all; 'remembered'
   * re-reads only files changed since their last successful check (integrity.ts).
   */
  verify?: boolean | 'remembered';
  /** Open shard files kept at once. */
  maxOpenFiles?: number;
}

export function openCache(dir: string, opts: OpenCacheOptions = {}): TeacherCache {
  const manifestFile = path.join(dir, 'manifest.json');
  if (!fs.existsSync(manifestFile)) {
    const partial = fs.existsSync(path.join(dir, 'build.json'));
    throw new UserError(`${dir} is not a finished teacher cache: no manifest.json${partial ? ' (the build was interrupted or parts are missing: rerun the same cache command to resume)' : ''}`);
  }
  let manifest: CacheManifest;
  try {
    manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8'));
  } catch (e) {
    throw new UserError(`${manifestFile} is unreadable: ${(e as Error).message}`);
  }
  if (manifest.fingerprint?.format !== CACHE_FORMAT || manifest.fingerprint.version !== CACHE_VERSION || manifest.complete !== true) {
    throw new UserError(`${manifestFile} is not a complete ${CACHE_FORMAT} v${CACHE_VERSION} manifest`);
  }
  if (opts.verify) {
    const report = verifyCache(dir, { remembered: opts.verify === 'remembered' });
    if (!report.ok) throw new UserError(`teacher cache ${dir} is damaged: ${report.problems.join('; ')}. Rerun the same \`distill cache\` command to rebuild the damaged shards`);
  }
  const n = manifest.fingerprint.numExamples;
  const indexFile = path.join(dir, manifest.index.file);
  const index = fs.existsSync(indexFile) ? fs.readFileSync(indexFile) : undefined;
  if (!index || index.length !== n * INDEX_ENTRY_BYTES) {
    throw new UserError(`${indexFile}: ${index ? `${index.length} bytes, expected ${n * INDEX_ENTRY_BYTES}` : 'missing'} (rebuild the cache)`);
  }
  for (const s of manifest.shards) {
    const f = path.join(dir, s.file);
    const size = fs.existsSync(f) ? fs.statSync(f).size : -1;
    if (size !== s.bytes) throw new UserError(`teacher cache shard ${f} is ${size < 0 ? 'missing' : `${size} bytes, expected ${s.bytes}`} (corrupt cache: rebuild it)`);
  }
  const view = new DataView(index.buffer, index.byteOffset, index.byteLength);
  const layout = manifest.layout;
  const maxOpen = opts.maxOpenFiles ?? 8;
  const fds = new Map<number, number>(); // shard → fd, in least-recently-used order

  const fdFor = (shard: number): number => {
    let fd = fds.get(shard);
    if (fd !== undefined) {
      fds.delete(shard);
    } else {
      if (fds.size >= maxOpen) {
        const [oldest, oldFd] = fds.entries().next().value as [number, number];
        fs.closeSync(oldFd);
        fds.delete(oldest);
      }
      fd = fs.openSync(path.join(dir, manifest.shards[shard].file), 'r');
    }
    fds.set(shard, fd);
    return fd;
  };
  const lengthOf = (i: number) => {
    if (!Number.isInteger(i) || i < 0 || i >= n) throw new RangeError(`example ${i} is outside the cache's ${n} examples`);
    return view.getUint32(i * INDEX_ENTRY_BYTES + 4, true);
  };

  return {
    dir,
    manifest,
    numExamples: n,
    lengthOf,
    readExample(i: number): CachedExample {
      const length = lengthOf(i);
      const shard = view.getUint32(i * INDEX_ENTRY_BYTES, true);
      const offset = view.getFloat64(i * INDEX_ENTRY_BYTES + 8, true);
      const size = recordBytes(layout, length);
      const buf = new Uint8Array(size);
      const got = fs.readSync(fdFor(shard), buf, 0, size, offset);
      if (got !== size) throw new UserError(`teacher cache shard ${manifest.shards[shard].file}: short read for example ${i} (corrupt cache)`);
      return decodeRecord(buf, layout, i, length);
    },
    close() {
      for (const fd of fds.values()) fs.closeSync(fd);
      fds.clear();
    },
  };
}
