/**
 * The teacher cache on disk.
 *
 *   <dir>/build.json          what is being built (fingerprint + layout), written first
 *   <dir>/index.bin           per example: shard u32, length u32, byte offset f64 (16 bytes, LE)
 *   <dir>/shards/shard-NNNNNN.bin   records of consecutive batches, each file written atomically
 *   <dir>/progress/part-I-of-N.json finished shards of one builder process, with their checksums
 *   <dir>/manifest.json       written last, when every shard is done: the cache is complete
 *
 * One record per example, only its real tokens: logits (float32 × numLabels) if stored, then each
 * stored hidden layer (length × hidden), then each stored layer's attention scores and then
 * probabilities (heads × length × length), then for each stored query/key/value layer its query, key and
 * value projections (3 × length × hidden), all in `dtype`, little-endian.
 *
 * The index and each shard carry a CRC-32 (`"crc32": "8 hex digits"`) in build.json, the progress files
 * and the manifest; caches written before carry a sha256 instead, and are verified with it.
 */
import { UserError } from '../util/errors.ts';
import type { ChecksumFields } from '../util/checksum.ts';
import { sha256 } from '../util/hash.ts';
import type { AttentionKind } from '../teacher/surgery.ts';

export const CACHE_FORMAT = 'distill-ts/teacher-cache';
export const CACHE_VERSION = 1;
export const INDEX_ENTRY_BYTES = 16;

export type CacheDtype = 'float16' | 'float32';

/** Everything that decides the cache's content; a resumed or reused cache must match it exactly. */
export interface CacheFingerprint {
  format: string;
  version: number;
  teacherSha256: string;
  task: string;
  split: string;
  dataSha256: string;
  tokenizerSha256: string;
  maxLength: number;
  numExamples: number;
  batchSize: number;
  dtype: CacheDtype;
  logits: boolean;
  hiddenLayers: number[];
  attentionLayers: number[];
  attention: AttentionKind;
  shardBytes: number;
  /** Teacher logit column of each task label, when not 0, 1, 2, … (labels matched by name). */
  labelOrder?: number[];
  /** Layers (1-based) whose query/key/value projections are stored; absent when none. */
  qkvLayers?: number[];
}

export interface CacheLayout {
  numLabels: number;
  hiddenSize: number;
  numHeads: number;
  numLayers: number;
  dtype: CacheDtype;
  logits: boolean;
  hiddenLayers: number[];
  attentionLayers: number[];
  scores: boolean;
  probs: boolean;
  /** Layers (1-based) whose query, key and value projections are stored (relation losses); absent: none. */
  qkvLayers?: number[];
}

/** With its checksum: crc32, or sha256 in caches written before. */
export interface ShardInfo extends ChecksumFields {
  file: string;
  examples: number;
  bytes: number;
}

export interface BuildInfo {
  fingerprint: CacheFingerprint;
  layout: CacheLayout;
  /** For people and tools reading the folder; not part of the fingerprint. */
  teacher: { dir: string; onnx: string; id2label?: Record<string, string>; attentionUnavailable?: string };
  data: { dir: string; file: string };
  tokenizer: { vocabSize: number; maxLength: number; lowercase?: unknown; clsId: number; sepId: number; padId: number };
  numShards: number;
  estimatedBytes: number;
  /** With its checksum: crc32, or sha256 in caches written before. */
  index: { file: string; entryBytes: number } & ChecksumFields;
}

export interface CacheManifest extends BuildInfo {
  complete: true;
  /** Execution providers that ran the teacher (one per builder process). */
  providers: string[];
  shards: ShardInfo[];
  totalBytes: number;
}

export interface ProgressFile {
  fingerprint: CacheFingerprint;
  part: number;
  parts: number;
  provider: string;
  /** Finished shards by number. */
  shards: Record<string, ShardInfo>;
}

export const shardFileName = (k: number) => `shards/shard-${String(k).padStart(6, '0')}.bin`;
export const progressFileName = (part: number, parts: number) => `progress/part-${part}-of-${parts}.json`;

export function bytesPerValue(dtype: CacheDtype): number {
  return dtype === 'float16' ? 2 : 4;
}

/** Byte offsets of the sections of one record of `length` tokens. */
export interface RecordSections {
  logits: number;
  hidden: number[];
  scores: number[];
  probs: number[];
  /** One per layout.qkvLayers entry: query, key, value (length × hidden each) back to back. */
  qkv: number[];
  total: number;
}

export function recordSections(layout: CacheLayout, length: number): RecordSections {
  const width = bytesPerValue(layout.dtype);
  let at = 0;
  const logits = at;
  if (layout.logits) at += 4 * layout.numLabels;
  const hidden = layout.hiddenLayers.map(() => {
    const start = at;
    at += width * length * layout.hiddenSize;
    return start;
  });
  const block = width * layout.numHeads * length * length;
  const attention = (on: boolean) =>
    on
      ? layout.attentionLayers.map(() => {
          const start = at;
          at += block;
          return start;
        })
      : [];
  const scores = attention(layout.scores);
  const probs = attention(layout.probs);
  // Q, K and V grow with length × hidden, like a hidden state, not with length² as attention does.
  const qkv = (layout.qkvLayers ?? []).map(() => {
    const start = at;
    at += 3 * width * length * layout.hiddenSize;
    return start;
  });
  return { logits, hidden, scores, probs, qkv, total: at };
}

export function recordBytes(layout: CacheLayout, length: number): number {
  return recordSections(layout, length).total;
}

/** Names the fields that differ between two fingerprints, e.g. "teacher model (sha256 1a2b… vs 3c4d…)". */
export function fingerprintDifferences(a: CacheFingerprint, b: CacheFingerprint): string[] {
  const labels: Partial<Record<keyof CacheFingerprint, string>> = {
    teacherSha256: 'teacher model',
    dataSha256: 'data file',
    tokenizerSha256: 'tokenizer',
  };
  const show = (v: unknown) => {
    const s = JSON.stringify(v);
    return typeof v === 'string' && v.length === 64 ? `sha256 ${v.slice(0, 10)}…` : s;
  };
  const out: string[] = [];
  for (const key of Object.keys(a) as (keyof CacheFingerprint)[]) {
    if (JSON.stringify(a[key]) !== JSON.stringify(b[key])) {
      out.push(`${labels[key] ?? key} (cache: ${show(a[key])}, now: ${show(b[key])})`);
    }
  }
  return out;
}

/** Throws a UserError naming every mismatching field; `expected` may hold just the fields the caller knows. */
export function assertCacheMatches(dir: string, actual: CacheFingerprint, expected: Partial<CacheFingerprint>): void {
  const diffs = fingerprintDifferences(actual, { ...actual, ...expected });
  if (diffs.length > 0) {
    throw new UserError(`the teacher cache in ${dir} was built for different inputs: ${diffs.join('; ')}. Rebuild it (with --force) or point to the right cache`);
  }
}

export function formatBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  return `${(n / 1e3).toFixed(1)} kB`;
}

/** The tokenizer's part of the fingerprint: its tokenizer.json and tokenizer config. */
export function tokenizerHash(json: Record<string, unknown>, config: Record<string, unknown>): string {
  return sha256(JSON.stringify(json) + '\n' + JSON.stringify(config));
}
