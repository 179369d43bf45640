/**
 * `augmentTask`: TinyBERT data augmentation of one split of a task, end to end. Reads the split,
 * finds candidates for every eligible word (masked LM when given, else the teacher's embedding
 * neighbours), samples N variants per text column, and writes <outDir>/<split file> in the task's
 * own layout (original row first, then its variants, labels kept), plus augment.json describing the
 * run. The output folder is built aside and renamed into place.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readSplit } from '../data/reader.ts';
import { loadTask } from '../data/tasks.ts';
import type { Example, TaskSpec } from '../data/types.ts';
import { loadTeacherFolder, type TeacherFolder } from '../teacher/folder.ts';
import type { ProviderPreference } from '../teacher/session.ts';
import { writeFolderAtomic, writeJsonAtomic } from '../util/atomic.ts';
import { UserError } from '../util/errors.ts';
import { sha256File } from '../util/hash.ts';
import { Rng } from '../util/rng.ts';
import { candidatesForSentences, type CandidateCounts, type MlmSource } from './candidates.ts';
import { DEFAULT_K, DEFAULT_P, defaultDraws } from './defaults.ts';
import { EmbeddingCandidates, neighbourCacheFile } from './embedding-candidates.ts';
import { openMlmFolder } from './mlm-folder.ts';
import { readRawSplit, replaceColumns } from './rows.ts';
import { sampleVariants, sentenceSeed, validateSampling } from './sample.ts';
import { onnxNeighbourSearch, type NeighbourSearch } from './neighbours-onnx.ts';
import { readWordEmbedding } from './word-embedding.ts';
import { basicTokenize } from './words.ts';

export interface AugmentProgress {
  phase: 'augment' | 'cache';
  done: number;
  total: number;
}

export interface AugmentOptions {
  /** Task key ("sst2"), task JSON path, or a loaded TaskSpec. */
  task: string | TaskSpec;
  dataDir: string;
  /** Split to augment (default "train"). */
  split?: string;
  outDir: string;
  /** Teacher folder: its embeddings give the offline candidates, and it fills the teacher cache. */
  teacher: string;
  /** Optional masked-LM folder (config.json, tokenizer, onnx/model.onnx with output `logits`). */
  mlm?: string;
  /** Draws per sentence (default per task, TinyBERT's N). */
  n?: number;
  /** Replacement probability per eligible word (default 0.4). */
  p?: number;
  /** Candidates per word (default 15). */
  k?: number;
  /**
   * Texts with fewer words (basic-tokenized, punctuation included) are kept but not varied (default 1:
   * every text). SST-2's train split is mostly short phrases while its dev split is whole sentences.
   */
  minWords?: number;
  seed?: number;
  /** Token limit for the teacher cache (default: the teacher's). */
  maxLength?: number;
  /** Replace an existing outDir. */
  force?: boolean;
  /** onnxruntime provider for the MLM (default auto: CUDA when installed). */
  provider?: ProviderPreference;
  /** MLM rows per batch (default 256). */
  mlmBatchRows?: number;
  /** Examples handled together (MLM batches are formed within a chunk). Default 2048. */
  chunkSize?: number;
  /** Where embedding-neighbour lists persist (default: <outDir>/../.augment-cache). */
  neighbourCacheDir?: string;
  /**
   * Builds the teacher cache for the written split (the cache stage's builder, given by the caller;
   * skipped when absent).
   */
  buildTeacherCache?: (args: { task: TaskSpec; dataDir: string; split: string; cacheDir: string; teacher: TeacherFolder; maxLength?: number; onProgress: (done: number, total: number) => void }) => Promise<void>;
  onProgress?: (p: AugmentProgress) => void;
}

export interface AugmentResult {
  outDir: string;
  file: string;
  examples: number;
  rows: number;
  candidates: CandidateCounts;
  candidateSource: 'mlm' | 'embedding';
  mlmProvider?: string;
  seconds: number;
}

interface ResolvedOptions {
  task: TaskSpec;
  split: string;
  n: number;
  p: number;
  k: number;
  minWords: number;
  seed: number;
}

function resolveOptions(opts: AugmentOptions): ResolvedOptions {
  const task = typeof opts.task === 'string' ? loadTask(opts.task) : opts.task;
  const split = opts.split ?? 'train';
  const n = opts.n ?? defaultDraws(task.name);
  const p = opts.p ?? DEFAULT_P;
  const k = opts.k ?? DEFAULT_K;
  validateSampling({ n, p });
  if (!Number.isInteger(k) || k < 1) throw new UserError(`augment: k must be an integer >= 1 (got ${k})`);
  const minWords = opts.minWords ?? 1;
  if (!Number.isInteger(minWords) || minWords < 1) throw new UserError(`augment: minWords must be an integer >= 1 (got ${minWords})`);
  if (!task.splits[split]) throw new UserError(`task ${task.name} has no split "${split}"; expected one of: ${Object.keys(task.splits).join(', ')}`);
  return { task, split, n, p, k, minWords, seed: opts.seed ?? 42 };
}

/** Neighbours in the teacher's word embeddings, searched by onnxruntime, cached by model hash. */
async function teacherEmbedding(
  teacher: TeacherFolder,
  k: number,
  cacheDir: string,
  provider: ProviderPreference | undefined,
): Promise<{ embedding: EmbeddingCandidates; release: () => Promise<void> }> {
  const tok = teacher.tokenizer;
  const vocab: string[] = [];
  for (let i = 0; i < tok.vocabSize; i++) vocab.push(tok.idToToken(i) ?? '');
  const hash = sha256File(teacher.onnxPath);
  const embedding = new EmbeddingCandidates(readWordEmbedding(teacher.onnxPath, tok.vocabSize), vocab, hash, k, neighbourCacheFile(cacheDir, hash));
  let search: NeighbourSearch | undefined;
  // The session (which holds a copy of the candidate matrix) opens only if a word is missing.
  embedding.useSearch(async (queries) => {
    search ??= await onnxNeighbourSearch(embedding.normed, embedding.candidateIds, k, { provider, notice: () => {} });
    return search.search(queries);
  });
  return { embedding, release: async () => search?.release() };
}

export async function augmentTask(opts: AugmentOptions): Promise<AugmentResult> {
  const started = Date.now();
  const { task, split, n, p, k, minWords, seed } = resolveOptions(opts);
  const spec = task.splits[split];
  const sourceFile = path.join(opts.dataDir, spec.file);
  if (fs.existsSync(opts.outDir) && !opts.force) throw new UserError(`output folder ${opts.outDir} already exists (use --force to replace it)`);
  const examples = readSplit(task, opts.dataDir, split);
  const raw = readRawSplit(task, spec, sourceFile);
  const teacher = await loadTeacherFolder(opts.teacher);
  const lowerCase = teacher.tokenizer.tokenizerConfig.do_lower_case !== false;
  const cacheDir = opts.neighbourCacheDir ?? path.join(path.dirname(path.resolve(opts.outDir)), '.augment-cache');
  const { embedding, release: releaseSearch } = await teacherEmbedding(teacher, k, cacheDir, opts.provider);
  const mlm = opts.mlm ? await openMlmFolder(opts.mlm, { k, provider: opts.provider, maxBatchRows: opts.mlmBatchRows }) : undefined;
  const counts: CandidateCounts = { mlm: 0, embedding: 0, none: 0 };
  const fileName = path.basename(spec.file);
  let rows = 0;
  try {
    await writeFolderAtomic(opts.outDir, opts.force ?? false, async (tmp) => {
      const fd = fs.openSync(path.join(tmp, fileName), 'w');
      try {
        if (raw.header !== undefined) fs.writeSync(fd, raw.header + '\n');
        const chunkSize = opts.chunkSize ?? 2048;
        for (let c0 = 0; c0 < examples.length; c0 += chunkSize) {
          const chunk = examples.slice(c0, c0 + chunkSize);
          const out = await augmentChunk(chunk, task, raw, { n, p, minWords, seed, lowerCase }, embedding, mlm?.source, counts);
          fs.writeSync(fd, out.join('\n') + '\n');
          rows += out.length;
          opts.onProgress?.({ phase: 'augment', done: Math.min(c0 + chunkSize, examples.length), total: examples.length });
        }
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      embedding.save();
      writeJsonAtomic(path.join(tmp, 'augment.json'), {
        task: task.name,
        split,
        source: path.resolve(sourceFile),
        sourceSha256: sha256File(sourceFile),
        teacher: path.resolve(opts.teacher),
        mlm: opts.mlm ? path.resolve(opts.mlm) : null,
        n,
        p,
        k,
        minWords,
        seed,
        examples: examples.length,
        rows,
        candidates: counts,
      });
      if (opts.buildTeacherCache) {
        await opts.buildTeacherCache({
          task,
          dataDir: tmp,
          split,
          cacheDir: path.join(tmp, 'cache'),
          teacher,
          maxLength: opts.maxLength,
          onProgress: (done, total) => opts.onProgress?.({ phase: 'cache', done, total }),
        });
      }
    });
  } finally {
    await mlm?.session.release();
    await releaseSearch();
  }
  return {
    outDir: opts.outDir,
    file: path.join(opts.outDir, fileName),
    examples: examples.length,
    rows,
    candidates: counts,
    candidateSource: mlm ? 'mlm' : 'embedding',
    mlmProvider: mlm?.session.provider,
    seconds: (Date.now() - started) / 1000,
  };
}

/** The output lines for a chunk of examples: each original row, then its variants. */
async function augmentChunk(
  chunk: readonly Example[],
  task: TaskSpec,
  raw: ReturnType<typeof readRawSplit>,
  o: { n: number; p: number; minWords: number; seed: number; lowerCase: boolean },
  embedding: EmbeddingCandidates,
  mlm: MlmSource | undefined,
  counts: CandidateCounts,
): Promise<string[]> {
  const columns: { column: number | string; text: (e: Example) => string | undefined }[] = [{ column: raw.columnA, text: (e) => e.textA }];
  if (raw.columnB !== undefined) columns.push({ column: raw.columnB, text: (e) => e.textB });
  const sentences: string[][] = [];
  for (const e of chunk) for (const c of columns) sentences.push(basicTokenize(c.text(e) ?? '', o.lowerCase));
  // Candidates (a masked-LM pass, with --method mlm) only for the texts that will be varied.
  const varied = sentences.flatMap((words, i) => (words.length >= o.minWords ? [i] : []));
  const found = await candidatesForSentences(varied.map((i) => sentences[i]), embedding, mlm, counts);
  const candidates: (typeof found)[number][] = new Array(sentences.length);
  varied.forEach((i, j) => (candidates[i] = found[j]));
  const out: string[] = [];
  let s = 0;
  for (const e of chunk) {
    const line = raw.lines.get(e.source.line);
    if (line === undefined) throw new Error(`internal: ${e.source.file}:${e.source.line} missing from the raw rows`);
    out.push(line);
    columns.forEach((c, ci) => {
      const rng = new Rng(sentenceSeed(o.seed, e.index, ci));
      const variants = candidates[s] ? sampleVariants(sentences[s], candidates[s], o, rng) : [];
      for (const v of variants.slice(1)) out.push(replaceColumns(task.format, line, [[c.column, v]]));
      s++;
    });
  }
  return out;
}
