/**
 * Reading a finished teacher cache in any order without loading it: index.bin gives each
 * example's shard, length and offset; records are read with fs.readSync at that offset. A few shard
 * files stay open (small LRU of file descriptors).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { resolveConfined } from '../io/confine.ts';
import { UserError } from '../util/errors.ts';
import { readTextLimited } from '../util/limits.ts';
import { CACHE_FORMAT, CACHE_VERSION, INDEX_ENTRY_BYTES, recordBytes, type CacheLayout, type CacheManifest } from './format.ts';
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
   * Compare every shard's checksum with the manifest first: true re-reads them all; 'remembered'
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
    manifest = JSON.parse(readTextLimited(manifestFile, 'cacheManifest'));
  } catch (e) {
    throw new UserError(`${manifestFile} is unreadable: ${(e as Error).message}`);
  }
  if (!manifest || typeof manifest !== 'object') throw new UserError(`${manifestFile} is not a JSON object (damaged manifest: rebuild the cache)`);
  if (manifest.fingerprint?.format !== CACHE_FORMAT || manifest.fingerprint.version !== CACHE_VERSION || manifest.complete !== true) {
    throw new UserError(`${manifestFile} is not a complete ${CACHE_FORMAT} v${CACHE_VERSION} manifest`);
  }
  if (opts.verify) {
    const report = verifyCache(dir, { remembered: opts.verify === 'remembered' });
    if (!report.ok) throw new UserError(`teacher cache ${dir} is damaged: ${report.problems.join('; ')}. Rerun the same \`distill cache\` command to rebuild the damaged shards`);
  }
  const n = manifest.fingerprint.numExamples;
  if (!Number.isSafeInteger(n) || n < 0 || !Array.isArray(manifest.shards) || typeof manifest.index?.file !== 'string') {
    throw new UserError(`${manifestFile}: damaged manifest (numExamples, shards or index missing or of the wrong type); rebuild the cache`);
  }
  checkLayout(manifest.layout, manifestFile);
  // The files a manifest names stay inside the cache folder.
  const inside = (file: unknown) => {
    const refuse = (why: string) => new UserError(`${manifestFile}: file "${String(file)}" ${why}; a cache may only refer to files inside ${dir}`);
    if (typeof file !== 'string' || file === '') throw refuse('is not a file name');
    return resolveConfined(dir, file, refuse) ?? path.join(dir, file);
  };
  const indexFile = inside(manifest.index.file);
  // Size checked before reading: the index is read whole.
  const indexSize = fs.existsSync(indexFile) ? fs.statSync(indexFile).size : -1;
  if (indexSize !== n * INDEX_ENTRY_BYTES) {
    throw new UserError(`${indexFile}: ${indexSize >= 0 ? `${indexSize} bytes, expected ${n * INDEX_ENTRY_BYTES}` : 'missing'} (rebuild the cache)`);
  }
  const index = fs.readFileSync(indexFile);
  for (const s of manifest.shards) {
    const f = inside(s?.file);
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
      // Checked before allocating: a damaged index must not ask for more than its shard holds.
      const info = manifest.shards[shard];
      if (!info || !Number.isSafeInteger(offset) || offset < 0 || !(offset + size <= info.bytes)) {
        throw new UserError(`teacher cache index entry ${i} (shard ${shard}, offset ${offset}, ${length} tokens) lies outside its shard (corrupt cache: rebuild it)`);
      }
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

/** The record layout a manifest states, checked before any record size is computed from it. */
function checkLayout(layout: unknown, file: string): asserts layout is CacheLayout {
  const bad = (why: string): never => {
    throw new UserError(`${file}: damaged manifest: layout ${why}; rebuild the cache`);
  };
  if (!layout || typeof layout !== 'object') bad('is missing');
  const l = layout as Record<string, unknown>;
  // Sizes bounded so that record sizes stay exact integers (a damaged value cannot overflow them).
  const size = (k: string, min: number) => {
    const v = l[k];
    if (!Number.isSafeInteger(v) || (v as number) < min || (v as number) > 1 << 20) bad(`${k} ${JSON.stringify(v)} is not an integer from ${min} to ${1 << 20}`);
  };
  size('numLabels', 0);
  size('hiddenSize', 1);
  size('numHeads', 1);
  size('numLayers', 0);
  if (l.dtype !== 'float16' && l.dtype !== 'float32') bad(`dtype ${JSON.stringify(l.dtype)} is not float16 or float32`);
  for (const k of ['logits', 'scores', 'probs']) if (typeof l[k] !== 'boolean') bad(`${k} is not true or false`);
  for (const k of ['hiddenLayers', 'attentionLayers', 'qkvLayers']) {
    const v = l[k];
    if (v === undefined && k === 'qkvLayers') continue;
    if (!Array.isArray(v) || v.length > 1024 || !v.every((x) => Number.isSafeInteger(x) && x >= 0 && x <= 1024)) bad(`${k} is not a list of layer numbers`);
  }
}
