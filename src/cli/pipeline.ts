/**
 * The run's stages as the CLI drives them: cache → train → export → eval → report. Each step maps
 * the config onto one stage's API (stage-options.ts) and wires progress; the work is in the stages.
 * Heavy modules (tfjs, onnxruntime) are imported inside the steps so `--help` stays instant.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TaskSpec } from '../data/types.ts';
import type { BertTokenizer } from '../data/tokenizer.ts';
import type { TrainData } from '../train/train-options.ts';
import type { Student } from '../student/model.ts';
import { sha256File } from '../util/hash.ts';
import { UserError } from '../util/errors.ts';
import { writeJsonAtomic } from '../util/atomic.ts';
import { createProgress, type Progress } from '../util/progress.ts';
import type { Io } from './args.ts';
import { checkAgainstTeacher, type Config } from './config-schema.ts';
import { saveResolvedConfig } from './config-load.ts';
import * as opt from './stage-options.ts';
import type { StopSignals } from './signals.ts';
import { checkpointFolders, hasCheckpoint } from '../train/checkpoint.ts';
import { acquireLock } from '../util/lock.ts';
import { removeIfNoFiles, removeStaleTemps } from '../util/stale.ts';

export interface RunEnv {
  io: Io;
  quiet: boolean;
  force: boolean;
  resume: boolean;
  /** --allow-changed: resume with changed settings (listed in the log). */
  allowChanged?: boolean;
  signals?: StopSignals;
}

/** One progress bar per label, replaced when the label changes (a new training stage). */
export function progressBars(env: RunEnv): { update(label: string, done: number, total: number, info?: Record<string, number | string>): void; stop(): void } {
  let current: { label: string; bar: Progress } | undefined;
  return {
    update(label, done, total, info) {
      if (current?.label !== label) {
        current?.bar.stop();
        current = { label, bar: createProgress(label, total, { quiet: env.quiet, stream: env.io.progressStream }) };
      }
      current.bar.update(done, info);
    },
    stop() {
      current?.bar.stop();
      current = undefined;
    },
  };
}

/**
 * Reads the teacher's config.json and checks the run config against it (mapping, lengths, init).
 * The cache depends on the teacher and the data only, so `cache` checks the length alone: the
 * student's depth is not its business.
 */
async function checkTeacher(c: Config, scope: 'cache' | 'train' = 'train') {
  const { readTeacherConfig } = await import('../teacher/folder.ts');
  const t = readTeacherConfig(path.join(c.teacher.dir, 'config.json'));
  if (scope === 'cache') {
    if (c.data.maxLength > t.max_position_embeddings) {
      throw new UserError(`config does not fit the teacher in ${c.teacher.dir}:\n  data.maxLength: ${c.data.maxLength} exceeds the teacher's max_position_embeddings (${t.max_position_embeddings})`);
    }
    return t;
  }
  const errs = checkAgainstTeacher(c, {
    numLayers: t.num_hidden_layers,
    hiddenSize: t.hidden_size,
    numHeads: t.num_attention_heads,
    maxPositions: t.max_position_embeddings,
  });
  if (errs.length) throw new UserError(`config does not fit the teacher in ${c.teacher.dir}:\n  ${errs.join('\n  ')}`);
  return t;
}

/** Stages that take one teacher refuse a chain's config: its links are run configs of their own. */
function refuseChain(c: Config, command: string): void {
  if (c.assistants.length > 0) {
    throw new UserError(
      `assistants: the config chains ${c.assistants.length} teacher assistant(s); \`distill run\` distils the chain ` +
        `(each assistant in <out>/assistant-<i>, then the student); \`distill ${command}\` takes one teacher`,
    );
  }
}

/** Builds (or resumes) the teacher cache; `shard` "i/n" builds one part of n. */
export async function cacheStep(c: Config, env: RunEnv, shard?: string): Promise<void> {
  refuseChain(c, 'cache');
  const teacherConfig = await checkTeacher(c, 'cache');
  const { buildCache } = await import('../cache/writer.ts');
  const bars = progressBars(env);
  const cacheStarted = Date.now();
  const r = await buildCache({
    ...opt.cacheOptions(c, teacherConfig.num_hidden_layers),
    force: env.force,
    shard,
    notice: (m) => env.io.err(m + '\n'),
    onProgress: (p) => bars.update('cache', p.done, p.total),
  }).finally(() => bars.stop());
  const { recordStage } = await import('../report/stages.ts');
  recordStage(path.join(opt.runPaths(c).out, 'stages.json'), {
    stage: shard ? `cache (part ${shard})` : 'cache',
    runtime: `onnxruntime ${r.provider}`,
    threads: c.teacher.threads || undefined,
    seconds: (Date.now() - cacheStarted) / 1000,
  });
  env.io.err(`teacher cache: ${r.complete ? 'complete' : 'part done'} in ${r.dir} (${r.shardsWritten} shards written, ${r.shardsSkipped} reused, ${r.examplesPerSecond.toFixed(0)} examples/s on ${r.provider})\n`);
  // Extra teachers given as folders: their caches sit next to the main one. Only the teacher whose
  // intermediates are matched stores layers; the others store logits.
  for (const [i, t] of c.multiTeacher.teachers.entries()) {
    if (!t.dir) continue;
    const intermediate = c.multiTeacher.intermediate === i + 1;
    const extra = await buildCache({
      ...opt.cacheOptions(c),
      teacherDir: t.dir,
      outDir: opt.extraTeacherCacheDir(c, i),
      ...(!intermediate && { logitsOnly: true, layers: undefined }),
      force: env.force,
      shard,
      notice: (m) => env.io.err(m + '\n'),
      onProgress: (p) => bars.update(`cache:teacher${i + 1}`, p.done, p.total),
    }).finally(() => bars.stop());
    env.io.err(`teacher ${i + 1} cache: ${extra.complete ? 'complete' : 'part done'} in ${extra.dir}\n`);
  }
}

export interface RunData {
  task: TaskSpec;
  /** The student's tokenizer: student.tokenizer when given, else the teacher's. */
  tokenizer: BertTokenizer;
  /** The teacher's tokenizer, which its cache was built on (the cache fingerprint names it). */
  teacherTokenizer: BertTokenizer;
  train: TrainData;
  dev: TrainData;
  trainFile: string;
}

/** Task, the student's and the teacher's tokenizers, and the train and dev splits encoded for the student. */
export async function loadRunData(c: Config): Promise<RunData> {
  const { loadTask } = await import('../data/tasks.ts');
  const { readSplit } = await import('../data/reader.ts');
  const { loadTeacherFolder } = await import('../teacher/folder.ts');
  const { loadTokenizer } = await import('../data/tokenizer.ts');
  const task = loadTask(c.task);
  const teacherTokenizer = (await loadTeacherFolder(c.teacher.dir)).tokenizer;
  // Cross-tokenizer distillation: the student reads the same texts with its own tokenizer.
  const tokenizer = c.student.tokenizer !== undefined ? await loadTokenizer(c.student.tokenizer) : teacherTokenizer;
  const encode = (split: string, dir: string): TrainData => {
    const ex = readSplit(task, dir, split);
    return { encoded: ex.map((e) => tokenizer.encode(e.textA, e.textB, c.data.maxLength)), labels: ex.map((e) => e.label) };
  };
  const spec = task.splits[c.data.trainSplit];
  if (!spec) throw new UserError(`data.trainSplit: task ${task.name} has no split "${c.data.trainSplit}" (splits: ${Object.keys(task.splits).join(', ')})`);
  const trainDir = opt.trainDataDir(c);
  return {
    task,
    tokenizer,
    teacherTokenizer,
    train: encode(c.data.trainSplit, trainDir),
    dev: encode(c.data.devSplit ?? task.devSplit, c.data.dir),
    trainFile: path.join(trainDir, spec.file),
  };
}

export interface TrainSummary {
  steps: number;
  finalLoss: number;
  best?: { step: number; stage: string; model: 'raw' | 'ema'; metric: string; score: number; metrics: Record<string, number> };
  seconds: number;
}

/**
 * What --resume / --force mean for the run folder: continue the checkpoint, start over, or refuse.
 * `--resume` never restarts silently over an earlier run: with no usable checkpoint it is an error
 * unless the folder holds no trace of training at all (a first `npm start`).
 */
function prepareRunFolder(paths: ReturnType<typeof opt.runPaths>, env: RunEnv): { wipe: boolean } {
  const ckpt = paths.checkpointDir;
  const pointer = hasCheckpoint(ckpt);
  // --force removes the old run only once the new one has passed its checks (onStart), so a
  // refused command leaves it intact.
  if (pointer && !env.resume) {
    if (!env.force) throw new UserError(`${ckpt} holds a training run; use --resume to continue it or --force to start over`);
    return { wipe: true };
  }
  if (pointer) {
    env.io.err(`resuming the training run in ${ckpt} (a finished one is only saved and evaluated again; --force starts over)\n`);
    return { wipe: false };
  }
  if (!env.resume) return { wipe: false };
  const folders = checkpointFolders(ckpt);
  const logged = fs.existsSync(paths.logFile) && fs.statSync(paths.logFile).size > 0;
  if (env.force) return { wipe: true };
  if (folders.length > 0) {
    throw new UserError(`--resume: ${path.join(ckpt, 'latest.json')} is missing but ${ckpt} holds ${folders.join(', ')}; restore latest.json (e.g. {"folder": "${folders[folders.length - 1]}"}) or start over with --force`);
  }
  if (logged) {
    throw new UserError(`--resume: ${paths.logFile} records an earlier run but ${ckpt} holds no checkpoint to continue from (it stopped before its first checkpoint); start over with --force`);
  }
  env.io.err(`--resume: no earlier training run in ${paths.out}; starting a new one\n`);
  return { wipe: false };
}

/** Distils (or, with only gold-label losses, trains) the student and saves the best one as a student folder. */
export async function trainStep(c: Config, env: RunEnv): Promise<TrainSummary> {
  refuseChain(c, 'train');
  const teacherConfig = await checkTeacher(c);
  const paths = opt.runPaths(c);
  const freshOut = !fs.existsSync(paths.out);
  const lock = acquireLock(paths.out, 'train.lock', 'training run');
  try {
    removeStaleTemps(paths.out);
    removeStaleTemps(paths.checkpointDir);
    const { wipe } = prepareRunFolder(paths, env);
    return await trainLocked(c, wipe ? { ...env, resume: false } : env, teacherConfig, paths, wipe);
  } catch (e) {
    lock.release();
    if (freshOut) removeIfNoFiles(paths.out);
    throw e;
  } finally {
    lock.release();
  }
}

async function trainLocked(c: Config, env: RunEnv, teacherConfig: Awaited<ReturnType<typeof checkTeacher>>, paths: ReturnType<typeof opt.runPaths>, wipe: boolean): Promise<TrainSummary> {
  const { initBackend, describeBackend } = await import('../backend/select.ts');
  const backend = await initBackend(c.backend, { threads: c.threads });
  env.io.err(`tfjs backend: ${describeBackend(backend)}\n`);
  const data = await loadRunData(c);
  if (c.student.tokenizer !== undefined) env.io.err(`student tokenizer: ${c.student.tokenizer} (${data.tokenizer.vocabSize} tokens; the teacher's has ${data.teacherTokenizer.vocabSize}); sequence-level losses only (predictions, pooled hidden states)\n`);
  const { train } = await import('../train/trainer.ts');
  const studentConfig = opt.studentBertConfig(c, data.task, data.tokenizer.vocabSize);
  let initStudent: Student | undefined;
  if (c.student.init === 'teacher') {
    const { Student } = await import('../student/model.ts');
    const { extractBertWeights } = await import('../teacher/weights.ts');
    const { findOnnxFile } = await import('../teacher/folder.ts');
    const { initFromTeacher } = await import('../student/init-from-teacher.ts');
    initStudent = Student.create(studentConfig, c.seed);
    const { readTeacherConfig } = await import('../teacher/folder.ts');
    const extracted = extractBertWeights(findOnnxFile(c.teacher.dir), readTeacherConfig(path.join(c.teacher.dir, 'config.json')));
    for (const note of extracted.notes) env.io.err(`teacher init: ${note}\n`);
    const report = initFromTeacher(initStudent, extracted.weights);
    env.io.err(`student initialised from teacher layers [${report.layerMap.join(', ')}]\n`);
  } else if (c.student.initFolder) {
    const { studentFromInitFolder } = await import('../general/init.ts');
    initStudent = await studentFromInitFolder(c.student.initFolder, studentConfig, data.tokenizer.tokenizerJson, c.seed);
    env.io.err(`student initialised from ${c.student.initFolder} (encoder and pooler; fresh classifier)\n`);
  }
  // Which teacher (and tokenizer) the caches must come from: a cache of another model is refused.
  const { findOnnxFile } = await import('../teacher/folder.ts');
  const { tokenizerHash } = await import('../cache/format.ts');
  const teacherSha256 = [c.teacher.dir, ...c.multiTeacher.teachers.map((t) => t.dir)].map((d) => (d ? sha256File(findOnnxFile(d)) : undefined));
  const bars = progressBars(env);
  const started = Date.now();
  const options = opt.trainOptions(
    c,
    {
      task: data.task,
      train: data.train,
      dev: data.dev,
      teacherLayers: teacherConfig.num_hidden_layers,
      studentConfig,
      initStudent,
      cacheFingerprint: {
        dataSha256: sha256File(data.trainFile),
        maxLength: c.data.maxLength,
        split: c.data.trainSplit,
        // The cache holds the teacher's tokenisation: checked against the teacher's tokenizer, whichever the student reads with.
        tokenizerSha256: tokenizerHash(data.teacherTokenizer.tokenizerJson, data.teacherTokenizer.tokenizerConfig),
      },
      teacherSha256,
    },
    {
      resume: env.resume,
      allowChanged: env.allowChanged,
      // The config describes the run only once the checks passed (a refused resume leaves it as it was).
      onStart: () => {
        if (wipe) fs.rmSync(paths.checkpointDir, { recursive: true, force: true });
        saveResolvedConfig(c, paths.out);
        env.signals?.setTraining(true);
      },
      stopRequested: env.signals?.requested,
      onProgress: (_step, _total, info) => bars.update(`train:${info.stage}`, info.stageStep, info.stageSteps, { loss: info.loss, lr: info.lr }),
    },
  );
  const res = await train(options).finally(() => {
    bars.stop();
    env.signals?.setTraining(false);
  });
  const chosen = res.best?.student ?? res.student;
  const { saveStudentFolder } = await import('../student/folder.ts');
  await saveStudentFolder(chosen, data.tokenizer, paths.studentDir, { force: true });
  const best = res.best ? { step: res.best.step, stage: res.best.stage, model: res.best.model, metric: res.best.metric, score: res.best.score, metrics: res.best.metrics } : undefined;
  const summary: TrainSummary = { steps: res.steps, finalLoss: res.finalLoss, best, seconds: (Date.now() - started) / 1000 };
  writeJsonAtomic(path.join(paths.out, 'train-summary.json'), summary);
  const { recordStage } = await import('../report/stages.ts');
  recordStage(path.join(paths.out, 'stages.json'), { stage: 'train', runtime: `tfjs ${describeBackend(backend)}`, threads: backend.threads, seconds: summary.seconds });
  env.io.err(
    `trained ${res.steps} steps in ${summary.seconds.toFixed(0)} s; ` +
      (best ? `best dev ${best.metric} ${best.score.toFixed(4)} (${best.model}, step ${best.step})` : 'no dev evaluation') +
      `; student saved to ${paths.studentDir}\n`,
  );
  return summary;
}

/** Augments the training split into <out>/augmented (TinyBERT's word replacement). */
export async function augmentStep(c: Config, env: RunEnv, overrides: { outDir?: string; force?: boolean } = {}): Promise<string> {
  const { augmentTask } = await import('../augment/augment.ts');
  const bars = progressBars(env);
  const r = await augmentTask({
    task: c.task,
    dataDir: c.data.dir,
    split: c.data.trainSplit,
    outDir: overrides.outDir ?? opt.runPaths(c).augmentDir,
    teacher: c.teacher.dir,
    mlm: c.augment.method === 'mlm' ? c.augment.mlmDir : undefined,
    n: c.augment.perExample,
    p: c.augment.replaceProb,
    k: c.augment.candidates,
    minWords: c.augment.minWords,
    seed: c.seed,
    maxLength: c.data.maxLength,
    force: overrides.force ?? env.force,
    provider: c.teacher.provider,
    onProgress: (p) => bars.update(`augment:${p.phase}`, p.done, p.total),
  }).finally(() => bars.stop());
  env.io.err(`augmented ${r.examples} examples into ${r.rows} rows (${r.candidateSource} candidates) in ${r.file}, ${r.seconds.toFixed(0)} s\n`);
  return r.outDir;
}

export interface ExportStepOptions {
  studentDir: string;
  outDir: string;
  quantize: boolean;
  withIntermediates: boolean;
  force: boolean;
}

/** The export options of a run: its best student, its export folder (replaced: it derives from the run). */
export function runExportOptions(c: Config): ExportStepOptions {
  const paths = opt.runPaths(c);
  return { studentDir: paths.studentDir, outDir: paths.exportDir, quantize: c.export.quantize, withIntermediates: c.export.withIntermediates, force: true };
}

/** Exports a saved student to the Hugging Face ONNX layout. */
export async function exportStep(o: ExportStepOptions, env: RunEnv): Promise<string> {
  const { exportStudent } = await import('../export/export.ts');
  // A student saved by a run sits in <run>/student: its run files describe it in README.md.
  const runDir = path.dirname(path.resolve(o.studentDir));
  const fromRun = fs.existsSync(path.join(runDir, 'resolved-config.json'));
  const exportStarted = Date.now();
  const r = await exportStudent({
    studentFolder: o.studentDir,
    outDir: o.outDir,
    force: o.force,
    quantize: o.quantize,
    withIntermediates: o.withIntermediates,
    ...(fromRun && { runDir }),
  });
  if (fromRun) {
    const { recordStage } = await import('../report/stages.ts');
    recordStage(path.join(runDir, 'stages.json'), { stage: 'export', runtime: 'ONNX builder (TypeScript)', seconds: (Date.now() - exportStarted) / 1000 });
  }
  const total = Object.values(r.sizes).reduce((a, b) => a + b, 0);
  env.io.err(`exported ${r.files.length} files (${(total / 1e6).toFixed(2)} MB) to ${o.outDir}\n`);
  return o.outDir;
}
