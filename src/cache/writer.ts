/**
 * Builds the teacher cache: tokenizes the split, plans length-sorted batches and shards, refuses
 * caches over the disk budget, then runs the teacher shard by shard. Each shard is written to a
 * temp file and renamed; a progress file records it with its checksum, so a killed run resumes at
 * the last complete shard and produces the same bytes. `shard: {index, count}` lets several
 * processes share the work; the last to finish writes the manifest (see merge.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { collate, encodeExamples } from '../data/batching.ts';
import { readSplit } from '../data/reader.ts';
import { loadTask } from '../data/tasks.ts';
import type { Batch, Encoded, TaskSpec } from '../data/types.ts';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic.ts';
import { UserError } from '../util/errors.ts';
import { readTextLimited } from '../util/limits.ts';
import { sha256File } from '../util/hash.ts';
import { checksumOf, type Checksum } from '../util/checksum.ts';
import { Teacher, type TeacherOutputs } from '../teacher/teacher.ts';
import type { AttentionKind } from '../teacher/surgery.ts';
import { loadTeacherFolder, readTeacherConfig } from '../teacher/folder.ts';
import { externalDataIn, loadModelProto } from '../onnx/proto.ts';
import { GraphIndex } from '../onnx/graph.ts';
import { findBertStructure } from '../teacher/structure.ts';
import { findLogitsOutput } from '../teacher/inputs.ts';
import { parseLabelMap, teacherLabelOrder } from '../teacher/labels.ts';
import * as format from './format.ts';
import { type BuildInfo, type CacheDtype, type CacheFingerprint, type CacheLayout, type ProgressFile } from './format.ts';
import { mergeCache, readProgressFiles, verifyCache } from './merge.ts';
import { checkFiles, rememberFiles, STAMP_FILE } from './integrity.ts';
import { acquireLock, isLockFile } from '../util/lock.ts';
import { removeIfNoFiles, removeStaleTemps } from '../util/stale.ts';
import { withPath } from '../util/system-errors.ts';
import { encodeIndex, planCache } from './plan.ts';
import { BackgroundCrc32 } from './background-crc.ts';
import { batchRecordBytes, encodeBatchRecords } from './records.ts';

export interface BuildCacheOptions {
  teacherDir: string;
  /** Task name ("sst2") or a task JSON path, or a loaded TaskSpec. */
  task: string | TaskSpec;
  dataDir: string;
  split: string;
  outDir: string;
  /** Tokens per example, special tokens included (default 128). */
  maxLength?: number;
  batchSize?: number;
  dtype?: CacheDtype;
  /** Store logits only (no hidden states or attention). */
  logitsOnly?: boolean;
  /**
   * Already tokenized inputs instead of reading and encoding the split (general distillation's corpus
   * windows): the split's file is then not read, `dataSha256` identifies the data.
   */
  encoded?: { examples: Encoded[]; dataSha256: string };
  /** Teacher label name → task label name (see src/teacher/labels.ts). */
  labelMap?: string | Record<string, string>;
  /** Store no logits even when the graph has them (encoder-only distillation). */
  noLogits?: boolean;
  /** Layers for both hidden states (0 = embeddings) and attention (1-based; 0 is skipped). Default: all. */
  layers?: number[];
  hiddenLayers?: number[];
  attentionLayers?: number[];
  /** 'scores' (pre-softmax, default), 'probs', 'both' or 'none'. */
  attention?: AttentionKind;
  /** Layers (1-based, or "last") whose query / key / value projections to store, for relation losses. Default none. */
  qkvLayers?: (number | 'last')[];
  /** Refuse when the estimated size is above this (default 20). */
  maxCacheGb?: number;
  /**
   * Replace an existing cache in outDir: one built from other inputs (else refused), or, for a
   * single builder, a matching one too (rebuilt from scratch). Parts (--shard) never wipe each other.
   */
  force?: boolean;
  /** This process builds shards k with k % count === index. Also accepts "i/n". */
  shard?: { index: number; count: number } | string;
  /** Target shard file size in bytes (default 256 MB). */
  shardBytes?: number;
  provider?: 'auto' | 'cuda' | 'cpu';
  intraOpThreads?: number;
  onProgress?: (p: { done: number; total: number; shard: number }) => void;
  /** One-line messages (estimate, provider, resume); default stderr. */
  notice?: (message: string) => void;
}

export interface BuildCacheResult {
  dir: string;
  /** True when this call wrote the manifest (the cache is complete). */
  complete: boolean;
  estimatedBytes: number;
  shardsWritten: number;
  shardsSkipped: number;
  provider: string;
  examplesPerSecond: number;
}

export function parseShardOption(shard: BuildCacheOptions['shard']): { index: number; count: number } {
  if (shard === undefined) return { index: 0, count: 1 };
  const s = typeof shard === 'string' ? (() => {
    const m = /^(\d+)\/(\d+)$/.exec(shard.trim());
    if (!m) throw new UserError(`--shard must look like i/n (e.g. 0/4), got "${shard}"`);
    return { index: Number(m[1]), count: Number(m[2]) };
  })() : shard;
  if (!Number.isInteger(s.count) || s.count < 1 || !Number.isInteger(s.index) || s.index < 0 || s.index >= s.count) {
    throw new UserError(`--shard ${s.index}/${s.count}: expected 0 <= i < n`);
  }
  return s;
}

/** The manifest of a finished cache in `dir` built from exactly these inputs, if there is one. */
function completeCache(dir: string, fingerprint: CacheFingerprint): format.CacheManifest | undefined {
  try {
    const m = JSON.parse(readTextLimited(path.join(dir, 'manifest.json'), 'cacheManifest')) as format.CacheManifest;
    return m.complete && format.fingerprintDifferences(m.fingerprint, fingerprint).length === 0 ? m : undefined;
  } catch {
    return undefined;
  }
}

/** Names a cache folder holds while it is being built: its own folders, files and their temporaries. */
function isCacheEntry(name: string): boolean {
  return (
    ['shards', 'progress', 'build.json', 'manifest.json', 'index.bin', STAMP_FILE].includes(name) ||
    isLockFile(name) ||
    /^(build|manifest|verified)\.json\.\d+\.\d+\.tmp$|^index\.bin\.\d+\.\d+\.tmp$/.test(name)
  );
}

/** Refuses a build.json from other inputs (unless force: then the old cache is removed). */
function prepareDir(dir: string, info: BuildInfo, force: boolean, soleBuilder: boolean): void {
  const buildFile = path.join(dir, 'build.json');
  if (fs.existsSync(buildFile)) {
    let old: BuildInfo | undefined;
    try {
      old = JSON.parse(readTextLimited(buildFile, 'cacheManifest'));
    } catch {
      old = undefined;
    }
    const diffs = old?.fingerprint ? format.fingerprintDifferences(old.fingerprint, info.fingerprint) : ['build.json unreadable'];
    // force rebuilds a matching cache too, but only for a sole builder: parts must not wipe each other.
    if (diffs.length > 0 || (force && soleBuilder)) {
      if (!force) throw new UserError(`${dir} holds a teacher cache built from other inputs: ${diffs.join('; ')}. Use --force to replace it, or another output folder`);
      for (const f of ['manifest.json', 'build.json', 'index.bin', 'shards', 'progress', STAMP_FILE]) fs.rmSync(path.join(dir, f), { recursive: true, force: true });
    }
  } else if (fs.existsSync(dir) && !force) {
    // Parts started together race here: another part may have made shards/ and progress/ but not yet build.json.
    const foreign = fs.readdirSync(dir).filter((f) => !isCacheEntry(f));
    if (foreign.length > 0) {
      throw new UserError(`${dir} exists and is not a teacher cache (it holds ${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', …' : ''}); choose an empty or new folder (or --force)`);
    }
  }
  fs.mkdirSync(path.join(dir, 'shards'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'progress'), { recursive: true });
  // Temp files of a killed run; with several builders they may belong to a live process, so keep them.
  if (soleBuilder) {
    for (const f of fs.readdirSync(path.join(dir, 'shards'))) if (f.endsWith('.tmp')) fs.rmSync(path.join(dir, 'shards', f), { force: true });
  }
}

/**
 * One builder per part: a whole-cache builder locks `cache.lock` (and refuses while any part is
 * being built), a part builder `cache.lock.part-i-of-n` (and refuses while a whole-cache build runs).
 */
export async function buildCache(opts: BuildCacheOptions): Promise<BuildCacheResult> {
  const part = parseShardOption(opts.shard);
  const freshDir = !fs.existsSync(opts.outDir);
  const sole = part.count === 1;
  const lock = acquireLock(opts.outDir, sole ? 'cache.lock' : `cache.lock.part-${part.index}-of-${part.count}`, 'teacher cache', (other) =>
    sole ? other.startsWith('cache.lock.part-') : other === 'cache.lock',
  );
  try {
    // With the lock held, temporaries of dead processes are stale (parts on other hosts: see prepareDir).
    if (sole) for (const d of ['', 'progress']) removeStaleTemps(path.join(opts.outDir, d));
    return await buildLocked(opts, part, freshDir);
  } catch (e) {
    lock.release();
    if (freshDir) removeIfNoFiles(opts.outDir);
    throw e;
  } finally {
    lock.release();
  }
}

async function buildLocked(opts: BuildCacheOptions, part: { index: number; count: number }, freshDir: boolean): Promise<BuildCacheResult> {
  const notice = opts.notice ?? ((m: string) => process.stderr.write(m + '\n'));
  const maxLength = opts.maxLength ?? 128;
  const batchSize = opts.batchSize ?? 32;
  const dtype = opts.dtype ?? 'float16';
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new UserError(`batchSize must be a positive integer, got ${batchSize}`);
  if (dtype !== 'float16' && dtype !== 'float32') throw new UserError(`cache dtype must be float16 or float32, got ${dtype}`);

  const config = readTeacherConfig(path.join(opts.teacherDir, 'config.json'));
  const n = config.num_hidden_layers;
  if (maxLength > config.max_position_embeddings) {
    throw new UserError(`maxLength ${maxLength} is longer than the teacher's max_position_embeddings ${config.max_position_embeddings}`);
  }
  const all = Array.from({ length: n + 1 }, (_, i) => i);
  let attention: AttentionKind = opts.logitsOnly ? 'none' : (opts.attention ?? 'scores');
  const hiddenLayers = opts.logitsOnly ? [] : [...new Set(opts.hiddenLayers ?? opts.layers ?? all)].sort((a, b) => a - b);
  let attentionLayers = attention === 'none' ? [] : [...new Set(opts.attentionLayers ?? (opts.layers ?? all).filter((l) => l > 0))].sort((a, b) => a - b);

  let qkvLayers = [...new Set((opts.logitsOnly ? [] : (opts.qkvLayers ?? [])).map((l) => (l === 'last' ? n : l)))].sort((a, b) => a - b);
  for (const l of qkvLayers) {
    if (!Number.isInteger(l) || l < 1 || l > n) throw new UserError(`query/key/value layer ${l} does not exist in teacher ${opts.teacherDir}: valid are 1 to ${n} (or "last")`);
  }

  const task = typeof opts.task === 'string' ? loadTask(opts.task) : opts.task;
  const spec = task.splits[opts.split];
  if (!spec) throw new UserError(`task ${task.name} has no split "${opts.split}"; expected one of: ${Object.keys(task.splits).join(', ')}`);
  const dataFile = path.join(opts.dataDir, spec.file);
  const examples = opts.encoded ? undefined : readSplit(task, opts.dataDir, opts.split);

  const folder = await loadTeacherFolder(opts.teacherDir);
  const proto = loadModelProto(folder.onnxPath);
  // onnxruntime-optimised graphs may hold attention inside one fused op per layer: distil what remains.
  const fusedAttention = attention === 'none' && qkvLayers.length === 0 ? undefined : findBertStructure(new GraphIndex(proto.graph!, externalDataIn(path.dirname(folder.onnxPath))), `teacher model ${folder.onnxPath}`).fusedAttention;
  if (fusedAttention) {
    notice(`teacher cache: attention is fused into onnxruntime ${fusedAttention} ops, so only hidden states and logits are cached; attention losses will be refused`);
    attention = 'none';
    attentionLayers = [];
    if (qkvLayers.length > 0) notice('teacher cache: query/key/value projections are inside the fused ops too; relation losses will be refused');
    qkvLayers = [];
  }
  const hasLogits = !opts.noLogits && findLogitsOutput(proto.graph!, config.num_labels).name !== undefined;
  const tok = folder.tokenizer;
  const encoded = opts.encoded?.examples ?? encodeExamples(tok, examples!, maxLength);
  const lengths = encoded.map((e) => e.inputIds.length);
  const layout: CacheLayout = {
    numLabels: hasLogits ? (config.num_labels ?? 0) : 0,
    hiddenSize: config.hidden_size,
    numHeads: config.num_attention_heads,
    numLayers: n,
    dtype,
    logits: hasLogits,
    hiddenLayers,
    attentionLayers,
    scores: attention === 'scores' || attention === 'both',
    probs: attention === 'probs' || attention === 'both',
    ...(qkvLayers.length > 0 && { qkvLayers }),
  };
  const labels = layout.logits && layout.numLabels > 0
    ? teacherLabelOrder(task.labels, config.id2label, layout.numLabels, typeof opts.labelMap === 'string' ? parseLabelMap(opts.labelMap) : opts.labelMap, `teacher ${opts.teacherDir}`, task.labelNames)
    : undefined;
  if (labels && !labels.identity) notice(`teacher labels matched ${labels.how}`);
  if (layout.logits && layout.numLabels === 0) throw new UserError(`${opts.teacherDir}/config.json: num_labels or id2label is needed to cache logits`);
  if (opts.logitsOnly && !hasLogits) throw new UserError(`teacher model ${folder.onnxPath} has no "logits" output, so a logits-only cache is empty`);
  const fingerprint: CacheFingerprint = {
    format: format.CACHE_FORMAT,
    version: format.CACHE_VERSION,
    teacherSha256: sha256File(folder.onnxPath),
    task: task.name,
    split: opts.split,
    dataSha256: opts.encoded?.dataSha256 ?? sha256File(dataFile),
    tokenizerSha256: format.tokenizerHash(tok.tokenizerJson, tok.tokenizerConfig),
    maxLength,
    numExamples: encoded.length,
    batchSize,
    dtype,
    logits: layout.logits,
    hiddenLayers,
    attentionLayers,
    attention,
    shardBytes: opts.shardBytes ?? 256e6,
    ...(labels && !labels.identity && { labelOrder: labels.order }),
    ...(qkvLayers.length > 0 && { qkvLayers }),
  };
  const plan = planCache(lengths, batchSize, layout, fingerprint.shardBytes);
  const gb = plan.totalBytes / 1e9;
  const budget = opts.maxCacheGb ?? 20;
  notice(`teacher cache: ${encoded.length} examples, estimated ${format.formatBytes(plan.totalBytes)} on disk (${plan.shards.length} shards, ${dtype}) in ${opts.outDir}`);
  if (gb > budget) {
    throw new UserError(
      `the teacher cache would take ${gb.toFixed(2)} GB, above --max-cache-gb ${budget}. Attention grows with heads × length² per layer: ` +
        `store fewer layers (e.g. --set cache.layers=[0,4], or --set cache.layers=logits for logits only), keep float16, lower --max-length, or raise --max-cache-gb`,
    );
  }
  const index = encodeIndex(plan, lengths);
  const info: BuildInfo = {
    fingerprint,
    layout,
    teacher: { dir: opts.teacherDir, onnx: folder.onnxPath, id2label: config.id2label, ...(fusedAttention && { attentionUnavailable: `fused into onnxruntime ${fusedAttention} ops` }) },
    data: { dir: opts.dataDir, file: spec.file },
    tokenizer: { vocabSize: tok.vocabSize, maxLength, lowercase: tok.tokenizerConfig.do_lower_case, clsId: tok.clsId, sepId: tok.sepId, padId: tok.padId },
    numShards: plan.shards.length,
    estimatedBytes: plan.totalBytes,
    index: { file: 'index.bin', ...checksumOf(index), entryBytes: format.INDEX_ENTRY_BYTES },
  };
  const done = completeCache(opts.outDir, fingerprint);
  if (done && !(opts.force && part.count === 1)) {
    // "Complete" is a claim about bytes on disk: check them (remembered, so cheap when unchanged).
    const check = verifyCache(opts.outDir, { remembered: true });
    if (check.ok) {
      notice(`teacher cache: ${opts.outDir} is already complete for these inputs (${done.shards.length} shards verified)`);
      return { dir: opts.outDir, complete: true, estimatedBytes: plan.totalBytes, shardsWritten: 0, shardsSkipped: plan.shards.length, provider: done.providers.join(','), examplesPerSecond: 0 };
    }
    notice(`teacher cache: ${opts.outDir} is damaged, rebuilding what is: ${check.problems.join('; ')}`);
    for (const f of check.bad) fs.rmSync(path.join(opts.outDir, f), { force: true });
    fs.rmSync(path.join(opts.outDir, 'manifest.json'), { force: true });
  }
  let teacher: Teacher;
  try {
    prepareDir(opts.outDir, info, !!opts.force, part.count === 1);
    writeJsonAtomic(path.join(opts.outDir, 'build.json'), info);
    writeFileAtomic(path.join(opts.outDir, 'index.bin'), index);
    teacher = await Teacher.fromFolder(
      folder,
      { hiddenLayers, attentionLayers, attention, qkvLayers, float16: dtype === 'float16', labelOrder: fingerprint.labelOrder, workDir: opts.outDir, provider: opts.provider, intraOpThreads: opts.intraOpThreads, notice },
      proto,
    );
    if (maxLength > teacher.maxPositions) {
      await teacher.dispose();
      throw new UserError(`maxLength ${maxLength} is longer than teacher ${opts.teacherDir} takes: at most ${teacher.maxPositions} tokens (its position table has ${teacher.positions.rows ?? config.max_position_embeddings} rows${teacher.positions.offset ? `, of which the first ${teacher.positions.offset} are skipped (padding_idx + 1)` : ''}); lower --max-length`);
    }
  } catch (e) {
    // A teacher that cannot run (unrecognised graph, vocabulary mismatch) leaves no half-made cache behind.
    if (freshDir) fs.rmSync(opts.outDir, { recursive: true, force: true });
    throw e;
  }
  try {
    // Shards finished by any earlier run (of any part split) are kept when their size is right.
    // Their checksums are checked too (remembered: a shard verified before is not read again).
    const finished = new Map<number, format.ShardInfo>();
    for (const p of readProgressFiles(opts.outDir, fingerprint)) {
      for (const [k, s] of Object.entries(p.shards)) {
        const file = path.join(opts.outDir, s.file);
        if (!finished.has(Number(k)) && fs.existsSync(file) && fs.statSync(file).size === s.bytes) finished.set(Number(k), s);
      }
    }
    const damaged = checkFiles(opts.outDir, [...finished.values()]).bad;
    if (damaged.length > 0) notice(`teacher cache: ${damaged.length} finished shard(s) fail their checksum and are rebuilt: ${damaged.slice(0, 3).join(', ')}${damaged.length > 3 ? ', …' : ''}`);
    for (const [k, s] of finished) {
      if (damaged.includes(s.file)) {
        finished.delete(k);
        fs.rmSync(path.join(opts.outDir, s.file), { force: true });
      }
    }
    const progressFile = path.join(opts.outDir, format.progressFileName(part.index, part.count));
    const progress: ProgressFile = { fingerprint, part: part.index, parts: part.count, provider: teacher.provider, shards: {} };
    const mine = plan.shards.map((_, k) => k).filter((k) => k % part.count === part.index);
    for (const k of mine) if (finished.has(k)) progress.shards[k] = finished.get(k)!;
    const todo = mine.filter((k) => !finished.has(k));
    if (todo.length < mine.length) notice(`teacher cache: resuming, ${mine.length - todo.length} of ${mine.length} shards already done`);
    writeJsonAtomic(progressFile, progress);

    const totalExamples = mine.reduce((s, k) => s + plan.shards[k].examples, 0);
    let doneExamples = totalExamples - todo.reduce((s, k) => s + plan.shards[k].examples, 0);
    const started = performance.now();
    let ranExamples = 0;
    const written: { file: string; checksum: Checksum }[] = [];
    for (const k of todo) {
      const shard = plan.shards[k];
      const rel = format.shardFileName(k);
      const final = path.join(opts.outDir, rel);
      const tmp = `${final}.${process.pid}.tmp`;
      const batches = shard.batches.map((b) => collate(encoded, b, undefined, tok.padId));
      const crc32 = await writeShardFile(tmp, batches, (batch) => teacher.run(batch), layout, (size) => {
        doneExamples += size;
        ranExamples += size;
        opts.onProgress?.({ done: doneExamples, total: totalExamples, shard: k });
      });
      const bytes = fs.statSync(tmp).size;
      if (bytes !== shard.bytes) throw new Error(`internal: shard ${k} has ${bytes} bytes, planned ${shard.bytes}`);
      fs.renameSync(tmp, final);
      progress.shards[k] = { file: rel, examples: shard.examples, bytes, crc32 };
      writeJsonAtomic(progressFile, progress);
      written.push({ file: rel, checksum: { algorithm: 'crc32', value: crc32 } });
    }
    rememberFiles(opts.outDir, written); // checksummed while writing: the first open need not re-read them
    const seconds = (performance.now() - started) / 1000;
    const complete = mergeCache(opts.outDir, { quiet: part.count > 1 }) !== undefined;
    if (!complete) notice(`teacher cache: part ${part.index}/${part.count} done; the manifest is written when every part has finished (or run the merge step)`);
    return {
      dir: opts.outDir,
      complete,
      estimatedBytes: plan.totalBytes,
      shardsWritten: todo.length,
      shardsSkipped: mine.length - todo.length,
      provider: teacher.provider,
      examplesPerSecond: seconds > 0 ? ranExamples / seconds : 0,
    };
  } finally {
    await teacher.dispose();
  }
}

/** Batches of records being written and checksummed while the teacher computes the next one. */
const IN_FLIGHT = 4;

/**
 * Runs the teacher over one shard's batches, writes their records to `file` (then fsync) and returns
 * the file's CRC-32. onnxruntime-node runs a session synchronously on the main thread, so writes are
 * issued asynchronously at known offsets and the checksum runs on a worker: the thread pool writes
 * and the worker checksums batch j while the teacher computes j+1.
 */
async function writeShardFile(
  file: string,
  batches: Batch[],
  run: (b: Batch) => Promise<TeacherOutputs>,
  layout: CacheLayout,
  onBatch: (size: number) => void,
): Promise<string> {
  const fh = await fs.promises.open(file, 'w');
  const crc = new BackgroundCrc32();
  const writes: Promise<unknown>[] = [];
  // At most IN_FLIGHT batches are being written and checksummed, so IN_FLIGHT + 1 shared buffers of the
  // shard's largest batch serve every batch: each returns to the pool when both are done with it.
  const largest = Math.max(0, ...batches.map((b) => batchRecordBytes(b, layout)));
  const free: Uint8Array[] = [];
  let digest: string;
  try {
    let position = 0;
    for (const batch of batches) {
      const into = free.pop() ?? new Uint8Array(new SharedArrayBuffer(largest));
      const bytes = encodeBatchRecords(await run(batch), batch, layout, into);
      const written = fh.write(bytes, 0, bytes.length, position);
      writes.push(Promise.all([written, crc.update(into.buffer as SharedArrayBuffer, bytes.length)]).then(() => free.push(into)));
      if (writes.length > IN_FLIGHT) await writes.shift(); // bound the bytes in flight
      position += bytes.length;
      onBatch(batch.size);
    }
    await Promise.all(writes);
    digest = await crc.digest();
    await fh.sync();
  } catch (e) {
    await Promise.allSettled(writes);
    await fh.close();
    await crc.close();
    fs.rmSync(file, { force: true });
    // Writes through a file handle fail without a path: name the shard (a full disk says where).
    throw withPath(e, file);
  }
  await fh.close();
  await crc.close();
  return digest;
}
