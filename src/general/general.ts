/**
 * General (task-agnostic) distillation, TinyBERT's first stage: the student learns the teacher's
 * embedding output, hidden states and attention scores on unlabeled text, with the very losses and
 * trainer of task distillation (intermediate matches only; no head, no labels). The teacher's
 * features come from a cache (built once, when it fits the budget) or from the teacher running in
 * the loop (online). The result is a student folder that `distill train --init` starts from.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { collate } from '../data/batching.ts';
import type { Encoded, TaskSpec } from '../data/types.ts';
import { resolveMapping, mappingMatches, type IntermediateLossOptions, type MappingSpec } from '../distill/mapping.ts';
import type { ProgressInfo, TrainOptions } from '../train/train-options.ts';
import type { TrainResult } from '../train/trainer.ts';
import { DEFAULT_BERT_CONFIG, type BertConfig } from '../student/config.ts';
import { loadTeacherFolder, type TeacherFolder } from '../teacher/folder.ts';
import type { ProviderPreference } from '../teacher/session.ts';
import { writeJsonAtomic } from '../util/atomic.ts';
import { UserError } from '../util/errors.ts';
import { readCorpus, checkCorpusFiles, type CorpusOptions } from './corpus.ts';
import { corpusBytes, corpusKey, sampleWindows, windowsSha256 } from './corpus-info.ts';
import { chooseMode, estimateCacheBytes, type GeneralMode, type ModeChoice } from './mode.ts';
import { encoderLayout, OnlineTeacher } from './online-teacher.ts';
import { StreamBatchSource } from './stream.ts';
import { corpusWindows, type WindowOptions } from './windows.ts';

/** Student shape keys a caller may set; the vocabulary is always the teacher's. */
export type StudentShape = Partial<Pick<BertConfig, 'hidden_size' | 'num_hidden_layers' | 'num_attention_heads' | 'intermediate_size' | 'max_position_embeddings' | 'hidden_dropout_prob' | 'attention_probs_dropout_prob'>>;

export interface GeneralOptions {
  teacherDir: string;
  corpus: CorpusOptions;
  /** Consecutive segments of a document as sentence pairs (default false: one segment per window). */
  pairs?: boolean;
  /** Tokens per window, special tokens included (default 128, at most the teacher's positions). */
  maxLength?: number;
  /** <out>/student (the result), <out>/checkpoints, <out>/general-log.jsonl, <out>/cache (cached mode). */
  outDir: string;
  student?: StudentShape;
  steps: number;
  batchSize?: number;
  /** Peak learning rate (default 1e-4), linear decay after 10% warm-up. */
  lr?: number;
  seed?: number;
  mapping?: MappingSpec;
  losses?: IntermediateLossOptions;
  mode?: GeneralMode;
  /** Budget for the cache in GB (default 5): auto mode runs online above it. */
  maxCacheGb?: number;
  /** Batches per shuffle block when streaming (default 64). */
  bufferBatches?: number;
  /** Teacher batch size when building the cache (default 32). */
  cacheBatchSize?: number;
  provider?: ProviderPreference;
  intraOpThreads?: number;
  checkpointEvery?: number;
  logEvery?: number;
  resume?: boolean;
  /** Start over when <out> holds a run (else refused). */
  force?: boolean;
  onProgress?: (step: number, total: number, info: ProgressInfo) => void;
  onCacheProgress?: (done: number, total: number) => void;
  notice?: (message: string) => void;
}

export interface GeneralResult {
  studentDir: string;
  mode: ModeChoice['mode'];
  reason: string;
  steps: number;
  finalLoss: number;
  seconds: number;
  /** Execution provider of the teacher (online mode or the cache build). */
  provider?: string;
}

/** Paths inside a general-distillation output folder. */
export function generalPaths(outDir: string) {
  return {
    studentDir: path.join(outDir, 'student'),
    checkpointDir: path.join(outDir, 'checkpoints'),
    logFile: path.join(outDir, 'general-log.jsonl'),
    cacheDir: path.join(outDir, 'cache'),
    workDir: path.join(outDir, 'teacher-work'),
    summaryFile: path.join(outDir, 'general-summary.json'),
  };
}

/** The task the trainer sees: a name for caches and logs, no labels, no dev split. */
export function generalTask(corpusFile: string): TaskSpec {
  return {
    name: 'general',
    displayName: 'general distillation',
    format: 'tsv',
    labels: ['LABEL_0', 'LABEL_1'],
    metrics: ['accuracy'],
    devSplit: 'none',
    splits: { corpus: { file: path.basename(corpusFile), header: false, textA: 0 } },
  };
}

/** The student's config: the caller's shape over TinyBERT4's defaults, the teacher's vocabulary. */
export function generalStudentConfig(shape: StudentShape, vocabSize: number): BertConfig {
  const given = Object.fromEntries(Object.entries(shape).filter(([, v]) => v !== undefined));
  return {
    ...DEFAULT_BERT_CONFIG,
    ...given,
    vocab_size: vocabSize,
    num_labels: 2,
    problem_type: 'single_label_classification',
    id2label: { 0: 'LABEL_0', 1: 'LABEL_1' },
    label2id: { LABEL_0: 0, LABEL_1: 1 },
  };
}

function checkOptions(o: GeneralOptions, teacher: TeacherFolder, maxLength: number): void {
  if (!Number.isInteger(o.steps) || o.steps < 1) throw new UserError(`steps must be a positive integer, got ${o.steps}`);
  if (maxLength > teacher.config.max_position_embeddings) {
    throw new UserError(`maxLength ${maxLength} is longer than the teacher's max_position_embeddings ${teacher.config.max_position_embeddings}`);
  }
  const positions = o.student?.max_position_embeddings ?? DEFAULT_BERT_CONFIG.max_position_embeddings;
  if (maxLength > positions) throw new UserError(`maxLength ${maxLength} is longer than the student's max_position_embeddings ${positions}`);
}

export async function generalDistill(o: GeneralOptions): Promise<GeneralResult> {
  const started = Date.now();
  const notice = o.notice ?? ((m: string) => process.stderr.write(m + '\n'));
  const maxLength = o.maxLength ?? 128;
  const paths = generalPaths(o.outDir);
  checkCorpusFiles(o.corpus);
  const folder = await loadTeacherFolder(o.teacherDir);
  checkOptions(o, folder, maxLength);
  const hasRun = fs.existsSync(path.join(paths.checkpointDir, 'latest.json'));
  if (hasRun && !o.resume) {
    if (!o.force) throw new UserError(`${paths.checkpointDir} holds a general-distillation run; resume it or start over with force`);
    fs.rmSync(paths.checkpointDir, { recursive: true, force: true });
  }

  const tok = folder.tokenizer;
  const config = generalStudentConfig(o.student ?? {}, tok.vocabSize);
  const mapping = resolveMapping(o.mapping ?? { kind: 'uniform' }, folder.config.num_hidden_layers, config.num_hidden_layers);
  const matches = mappingMatches(mapping, o.losses);
  if (matches.length === 0) throw new UserError('general distillation needs at least one hidden or attention loss (both weights are 0)');
  const hiddenLayers = [...new Set(matches.flatMap((m) => (m.feature === 'hidden' ? [m.layerT] : [])))];
  const attentionLayers = [...new Set(matches.flatMap((m) => (m.feature === 'attention' ? [m.layerT + 1] : [])))];

  const windowOpts: WindowOptions = { maxLength, pairs: o.pairs ?? false };
  const makeWindows = () => corpusWindows(readCorpus(o.corpus), tok, windowOpts);
  const sample = sampleWindows(makeWindows(), o.corpus.files, 2000);
  const estimate = estimateCacheBytes(sample, corpusBytes(o.corpus.files), { ...encoderLayout(folder, hiddenLayers, attentionLayers), dtype: 'float16' });
  const budget = (o.maxCacheGb ?? 5) * 1e9;
  const choice = chooseMode(o.mode ?? 'auto', estimate, budget);
  notice(`general distillation: ${choice.reason}`);

  const task = generalTask(o.corpus.files[0]);
  const batchSize = o.batchSize ?? 32;
  const seed = o.seed ?? 42;
  const lr = o.lr ?? 1e-4;
  const base: Omit<TrainOptions, 'train' | 'batchSource' | 'teachers'> = {
    task,
    studentConfig: config,
    stages: [{ name: 'general', steps: o.steps, matches, lr }],
    batchSize,
    seed,
    checkpointDir: paths.checkpointDir,
    checkpointEvery: o.checkpointEvery,
    resume: o.resume && hasRun,
    logFile: paths.logFile,
    logEvery: o.logEvery,
    onProgress: o.onProgress,
  };
  const { train } = await import('../train/trainer.ts');
  let res: TrainResult;
  let provider: string | undefined;
  if (choice.mode === 'cached') {
    const windows: Encoded[] = [];
    for (const w of makeWindows()) windows.push({ inputIds: w.inputIds, tokenTypeIds: w.tokenTypeIds });
    const dataSha256 = windowsSha256(windows);
    const { buildCache } = await import('../cache/writer.ts');
    const built = await buildCache({
      teacherDir: o.teacherDir,
      task,
      dataDir: path.dirname(o.corpus.files[0]),
      split: 'corpus',
      outDir: paths.cacheDir,
      maxLength,
      batchSize: o.cacheBatchSize ?? 32,
      dtype: 'float16',
      hiddenLayers,
      attentionLayers,
      attention: 'scores',
      maxCacheGb: budget / 1e9,
      encoded: { examples: windows, dataSha256 },
      noLogits: true,
      force: o.force,
      provider: o.provider,
      intraOpThreads: o.intraOpThreads,
      notice,
      onProgress: o.onCacheProgress ? (p) => o.onCacheProgress!(p.done, p.total) : undefined,
    });
    provider = built.provider;
    res = await train({ ...base, train: { encoded: windows }, teachers: [{ cacheDir: paths.cacheDir }], cacheFingerprint: { dataSha256, maxLength } });
  } else {
    const probe = collate([sample.first!], [0], undefined, tok.padId);
    const online = await OnlineTeacher.start(folder, probe, { hiddenLayers, attentionLayers, workDir: paths.workDir, provider: o.provider, intraOpThreads: o.intraOpThreads, notice });
    provider = online.provider;
    const key = corpusKey(o.corpus, windowOpts) + `:${o.bufferBatches ?? 64}`;
    const source = new StreamBatchSource(makeWindows, { batchSize, bufferBatches: o.bufferBatches ?? 64, seed, padId: tok.padId }, key, (b) => online.load(b));
    try {
      res = await train({ ...base, batchSource: source, teachers: [{ cache: online }] });
    } finally {
      source.close();
      await online.dispose();
    }
    if (online.seconds > 0) notice(`general distillation: the teacher ran ${online.examples} windows online on ${online.provider}, ${(online.examples / online.seconds).toFixed(0)} windows/s`);
  }

  try {
    const { saveStudentFolder } = await import('../student/folder.ts');
    await saveStudentFolder(res.student, tok, paths.studentDir, { force: true });
  } finally {
    res.student.dispose();
    res.best?.student.dispose();
    res.emaStudent?.dispose();
  }
  const result: GeneralResult = {
    studentDir: paths.studentDir,
    mode: choice.mode,
    reason: choice.reason,
    steps: res.steps,
    finalLoss: res.finalLoss,
    seconds: (Date.now() - started) / 1000,
    provider,
  };
  writeJsonAtomic(paths.summaryFile, result);
  return result;
}
