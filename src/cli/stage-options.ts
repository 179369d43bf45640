/**
 * Pure derivation of each stage's options from the validated run config: cache builder, trainer
 * (loss matches over the layer mapping, schedules, EMA, teachers), student shape, output paths.
 * No I/O here, so every rule is unit-tested. TRAIN_OPTION_SOURCES / STAGE_OPTION_SOURCES name the
 * config key behind every trainer option; the compiler refuses a trainer option missing from them,
 * and test/cli/trainer-options.test.ts sets each one from a config file.
 */
import * as path from 'node:path';
import type { BuildCacheOptions } from '../cache/writer.ts';
import type { TaskSpec } from '../data/types.ts';
import type { EmaOptions } from '../train/ema.ts';
import type { Match } from '../distill/losses.ts';
import { resolveMapping, type LayerMapping, type MappingSpec } from '../distill/mapping.ts';
import type { LrSchedule, ValueSchedule } from '../train/schedules.ts';
import type { StageOptions, TrainData, TrainOptions } from '../train/train-options.ts';
import type { CacheFingerprint } from '../cache/format.ts';
import type { AdamWOptions } from '../train/adamw.ts';
import { DEFAULT_BERT_CONFIG, type BertConfig } from '../student/config.ts';
import { UserError } from '../util/errors.ts';
import { INTERMEDIATE_LOSSES, POOLED_LOSSES, RELATION_LOSSES, type Config, type StageConfig, type ValueScheduleConfig } from './config-schema.ts';

/** Where a run keeps each output, all under config.out unless the config says otherwise. */
export interface RunPaths {
  out: string;
  cacheDir: string;
  checkpointDir: string;
  logFile: string;
  /** The best student (raw or EMA) as a saved student folder. */
  studentDir: string;
  exportDir: string;
  /** Teacher and student scores, sizes, latencies. */
  evalFile: string;
  reportFile: string;
  /** Scratch space (the teacher's modified graph for evaluation). */
  workDir: string;
  /** Augmented training data (when augment.enabled). */
  augmentDir: string;
}

export function runPaths(c: Config): RunPaths {
  const out = c.out;
  return {
    out,
    cacheDir: c.cache.dir ?? path.join(out, 'cache'),
    checkpointDir: path.join(out, 'checkpoints'),
    logFile: path.join(out, 'train-log.jsonl'),
    studentDir: path.join(out, 'student'),
    exportDir: c.export.dir ?? path.join(out, 'student-onnx'),
    evalFile: path.join(out, 'eval.json'),
    reportFile: path.resolve(out, c.report.file),
    workDir: path.join(out, 'work'),
    augmentDir: path.join(out, 'augmented'),
  };
}

/** Folder of the training split: the augmented copy when augmentation is on (dev always comes from data.dir). */
export function trainDataDir(c: Config): string {
  return c.augment.enabled ? runPaths(c).augmentDir : c.data.dir;
}

/** Whether any stage matches pooled hidden states (pooled_mse). */
export function usesPooledLosses(c: Config): boolean {
  return c.distill.stages.some((s) => s.losses.some((l) => POOLED_LOSSES.includes(l.name) && l.weight > 0));
}

/**
 * What a student with its own tokenizer can use from the teacher: logits, and the last hidden state
 * when pooled_mse reads it (cache.layers, when a list, chooses the layers instead); never attention.
 */
function crossTokenizerLayers(c: Config, teacherLayers?: number): Pick<BuildCacheOptions, 'logitsOnly' | 'layers' | 'hiddenLayers' | 'attention'> {
  if (!usesPooledLosses(c)) return { logitsOnly: true, layers: undefined };
  const layers = c.cache.layers;
  return { logitsOnly: false, attention: 'none', layers: Array.isArray(layers) ? layers : undefined, ...(!Array.isArray(layers) && teacherLayers !== undefined && { hiddenLayers: [teacherLayers] }) };
}

/** The teacher cache of the training split; `teacherLayers` (its depth) narrows a cross-tokenizer cache to the last hidden state. */
export function cacheOptions(c: Config, teacherLayers?: number): Omit<BuildCacheOptions, 'onProgress' | 'notice'> {
  const layers = c.cache.layers;
  return {
    teacherDir: c.teacher.dir,
    task: c.task,
    dataDir: trainDataDir(c),
    split: c.data.trainSplit,
    outDir: runPaths(c).cacheDir,
    maxLength: c.data.maxLength,
    batchSize: c.cache.batchSize,
    dtype: c.cache.dtype,
    logitsOnly: layers === 'logits',
    layers: Array.isArray(layers) ? layers : undefined,
    attention: c.cache.attention,
    // A student with its own tokenizer matches no token-level features: none are stored.
    ...(c.student.tokenizer !== undefined && crossTokenizerLayers(c, teacherLayers)),
    ...(relationTeacherLayers(c).length > 0 && { qkvLayers: relationTeacherLayers(c) }),
    maxCacheGb: c.cache.maxCacheGb,
    shardBytes: Math.round(c.cache.shardMb * 1e6),
    provider: c.teacher.provider,
    intraOpThreads: c.teacher.threads || undefined,
    labelMap: c.teacher.labelMap,
  };
}

/** Teacher layers (1-based, or "last") whose query/key/value the relation losses read: what the cache stores. */
export function relationTeacherLayers(c: Config): (number | 'last')[] {
  const out = new Set<number | 'last'>();
  for (const s of c.distill.stages) for (const l of s.losses) if (RELATION_LOSSES.includes(l.name) && l.weight > 0) out.add(l.teacherLayer ?? 'last');
  return [...out];
}

export function mappingSpec(m: Config['distill']['mapping']): MappingSpec {
  return typeof m === 'string' ? { kind: m } : { kind: 'pairs', hidden: m.hidden, attention: m.attention };
}

/** Whether any stage compares hidden states or attention (needs a layer mapping and those cached layers). */
export function usesIntermediateLosses(c: Config): boolean {
  return c.distill.stages.some((s) => s.losses.some((l) => INTERMEDIATE_LOSSES.includes(l.name)));
}

/** The layer mapping for a teacher of `teacherLayers` layers, or undefined when no stage needs one. */
export function layerMapping(c: Config, teacherLayers: number): LayerMapping | undefined {
  if (!usesIntermediateLosses(c)) return undefined;
  return resolveMapping(mappingSpec(c.distill.mapping), teacherLayers, c.student.numLayers, 'distill.mapping');
}

/** Updates in a stage: its steps, or its epochs over the training data in whole updates. */
export function stageSteps(stage: StageConfig, numTrain: number, batchSize: number, gradAccum: number): number {
  if (stage.steps !== undefined) return stage.steps;
  const perEpoch = Math.ceil(numTrain / (batchSize * gradAccum));
  return Math.max(1, Math.round((stage.epochs ?? 1) * perEpoch));
}

/** Depths the relation losses resolve their default layers ("last") against. */
export interface Depths {
  teacherLayers: number;
  studentLayers: number;
}

/**
 * A stage's loss list as trainer matches: intermediate losses expand over the mapped layer pairs;
 * relation_kl gives one match per relation between its student and teacher layer (default: the last ones).
 */
export function stageMatches(stage: StageConfig, mapping: LayerMapping | undefined, where: string, depths?: Depths): Match[] {
  const out: Match[] = [];
  stage.losses.forEach((l, i) => {
    const w = l.weight;
    switch (l.name) {
      case 'hidden_mse':
        if (!mapping) throw new UserError(`${where}.losses[${i}]: "${l.name}" needs a layer mapping`);
        for (const p of mapping.hidden) out.push({ feature: 'hidden', layerS: p.s, layerT: p.t, loss: l.name, weight: w });
        break;
      case 'attention_mse':
      case 'attention_probs_mse':
      case 'attention_kl':
        if (!mapping) throw new UserError(`${where}.losses[${i}]: "${l.name}" needs a layer mapping`);
        for (const p of mapping.attention) out.push({ feature: 'attention', layerS: p.s, layerT: p.t, loss: l.name, weight: w });
        break;
      case 'relation_kl': {
        if (!depths) throw new UserError(`${where}.losses[${i}]: "${l.name}" needs the teacher's and student's depths`);
        const layerT = (l.teacherLayer ?? depths.teacherLayers) - 1;
        const layerS = (l.studentLayer ?? depths.studentLayers) - 1;
        for (const relation of l.relations ?? ['qq', 'kk', 'vv']) {
          out.push({ feature: 'relation', layerS, layerT, loss: l.name, weight: w, relation, relationHeads: l.relationHeads! });
        }
        break;
      }
      case 'pooled_mse':
        // The last hidden state of each (hidden index = depth), mean-pooled over its own tokens.
        if (!depths) throw new UserError(`${where}.losses[${i}]: "${l.name}" needs the teacher's and student's depths`);
        out.push({ feature: 'pooled', layerS: depths.studentLayers, layerT: depths.teacherLayers, loss: l.name, weight: w });
        break;
      case 'kd_ce':
      case 'kd_kl':
      case 'kd_mse':
        out.push({ feature: 'logits', loss: l.name, weight: w, ...(l.temperature !== undefined && { temperature: l.temperature }), ...(l.scaleT2 !== undefined && { scaleT2: l.scaleT2 }) });
        break;
      case 'ce':
      case 'mse':
        out.push({ feature: 'labels', loss: l.name, weight: w });
        break;
    }
  });
  return out.filter((m) => m.weight > 0);
}

export function lrSchedule(stage: StageConfig, steps: number): LrSchedule {
  const warmupSteps = Math.round(stage.warmup * steps);
  return stage.lrSchedule === 'cosine' ? { kind: 'cosine', warmupSteps, minRatio: stage.lrMinRatio } : { kind: stage.lrSchedule, warmupSteps };
}

/** A config value schedule ({schedule, from, to, startStep?, endStep?}) as the trainer's ValueSchedule. */
export function valueSchedule(v: number | ValueScheduleConfig): number | ValueSchedule {
  if (typeof v === 'number') return v;
  return { kind: v.schedule, from: v.from, to: v.to, ...(v.startStep !== undefined && { startStep: v.startStep }), ...(v.endStep !== undefined && { endStep: v.endStep }) };
}

export function temperature(stage: StageConfig): number | ValueSchedule {
  const t = stage.temperature;
  if (typeof t === 'number') return t;
  if (t.schedule === 'constant' || t.to === undefined) return t.from;
  return valueSchedule({ schedule: t.schedule, from: t.from, to: t.to, startStep: t.startStep, endStep: t.endStep });
}

export function trainerStages(c: Config, numTrain: number, mapping: LayerMapping | undefined, teacherLayers?: number): StageOptions[] {
  const depths = teacherLayers === undefined ? undefined : { teacherLayers, studentLayers: c.student.numLayers };
  return c.distill.stages.map((s, i) => {
    const steps = stageSteps(s, numTrain, c.distill.batchSize, c.distill.gradAccum);
    const stage: StageOptions = {
      name: s.name,
      steps,
      matches: stageMatches(s, mapping, `distill.stages[${i}]`, depths),
      lr: s.lr,
      lrSchedule: lrSchedule(s, steps),
      temperature: temperature(s),
    };
    if (s.temperatureRule) stage.temperatureRule = s.temperatureRule;
    if (s.alpha !== undefined) stage.alpha = valueSchedule(s.alpha);
    if (s.weights) stage.weights = s.weights;
    if (s.curriculum) stage.curriculum = s.curriculum;
    if (s.momentum) stage.momentum = { alpha: valueSchedule(s.momentum.alpha), temperature: s.momentum.temperature };
    if (s.quantize) stage.quantize = true;
    if (s.prune) stage.prune = s.prune;
    return stage;
  });
}

/** Cache folder of extra teacher i (0-based in multiTeacher.teachers). */
export function extraTeacherCacheDir(c: Config, i: number): string {
  const t = c.multiTeacher.teachers[i];
  // Next to the main cache (shared by every run that shares it, e.g. seeds with their own `out`).
  return t.cache ?? path.join(path.dirname(runPaths(c).cacheDir), `cache-teacher${i + 1}`);
}

/** What the run knows besides the config: the task, its encoded data, the student it starts from. */
export interface TrainInputs {
  task: TaskSpec;
  train: TrainData;
  dev: TrainData;
  /** The teacher's depth (for the layer mapping). */
  teacherLayers: number;
  /** The student's config (a fresh student), unless initStudent is given. */
  studentConfig: BertConfig;
  initStudent?: TrainOptions['initStudent'];
  /** Fingerprint fields of the training data the caches must match. */
  cacheFingerprint?: Partial<CacheFingerprint>;
  /**
   * sha256 of each teacher's ONNX file (the main teacher, then multiTeacher.teachers in order;
   * undefined where only a cache is given): each cache must come from that model.
   */
  teacherSha256?: (string | undefined)[];
}

/** The trainer's options for a run: everything from the config, the data and student from `inputs`. */
export function trainOptions(c: Config, inputs: TrainInputs, runtime: Pick<TrainOptions, 'resume' | 'onProgress' | 'allowChanged' | 'onStart' | 'stopRequested'> = {}): TrainOptions {
  const paths = runPaths(c);
  const mapping = layerMapping(c, inputs.teacherLayers);
  const teachers = needsTeacher(c)
    ? [{ cacheDir: paths.cacheDir, weight: c.multiTeacher.weight }, ...c.multiTeacher.teachers.map((t, i) => ({ cacheDir: extraTeacherCacheDir(c, i), weight: t.weight }))].map((t, i) => {
        const sha = inputs.teacherSha256?.[i];
        return sha ? { ...t, fingerprint: { teacherSha256: sha } } : t;
      })
    : undefined;
  const optimizer: Partial<AdamWOptions> = { weightDecay: c.distill.weightDecay, ...c.distill.optimizer };
  return {
    task: inputs.task,
    ...(inputs.initStudent ? { initStudent: inputs.initStudent } : { studentConfig: inputs.studentConfig }),
    train: inputs.train,
    dev: inputs.dev,
    teachers,
    multiTeacher: teachers ? { combine: c.multiTeacher.combine, intermediateTeacher: c.multiTeacher.intermediate } : undefined,
    cacheFingerprint: inputs.cacheFingerprint,
    ...(c.student.tokenizer !== undefined && { ownTokenizer: true }),
    stages: trainerStages(c, inputs.train.encoded.length, mapping, inputs.teacherLayers),
    batchSize: c.distill.batchSize,
    gradAccumulation: c.distill.gradAccum,
    maxGradNorm: c.distill.gradClip,
    optimizer,
    seed: c.seed,
    ...(c.distill.bucketSize !== undefined && { bucketSize: c.distill.bucketSize }),
    evalEvery: c.distill.evalEvery,
    evalBatchSize: c.eval.batchSize,
    ema: emaOptions(c),
    sharedProjection: c.distill.sharedProjection,
    checkpointDir: paths.checkpointDir,
    checkpointEvery: c.distill.checkpointEvery || undefined,
    resume: runtime.resume ?? false,
    logFile: paths.logFile,
    logEvery: c.distill.logEvery,
    ...(c.distill.stages.some((s) => s.quantize) && { quantization: c.distill.quantization }),
    ...(c.distill.earlyStopping && { earlyStopping: c.distill.earlyStopping }),
    ...(c.distill.reduceLrOnPlateau && { reduceLrOnPlateau: c.distill.reduceLrOnPlateau }),
    ...(runtime.onProgress && { onProgress: runtime.onProgress }),
    ...(runtime.allowChanged && { allowChanged: true }),
    ...(runtime.onStart && { onStart: runtime.onStart }),
    ...(runtime.stopRequested && { stopRequested: runtime.stopRequested }),
  };
}

/**
 * The config key (or run input) behind every trainer option. `satisfies Record<keyof …>` makes a new
 * trainer option without an entry a compile error; the test sets each configurable one from a file.
 */
export const TRAIN_OPTION_SOURCES = {
  task: 'task',
  studentConfig: 'student.{hiddenSize,numLayers,numHeads,intermediateSize,maxPositions,dropout,attentionDropout}',
  initFolder: 'student.initFolder',
  initStudent: 'student.init ("teacher") or student.initFolder',
  train: 'data.dir + data.trainSplit (or the augmented copy when augment.enabled)',
  batchSource: 'run input: streamed corpus of `distill general` (docs/general.md)',
  dev: 'data.devSplit',
  teachers: 'teacher (its cache) + multiTeacher.teachers[].{dir,cache,weight} + multiTeacher.weight',
  multiTeacher: 'multiTeacher.{combine,intermediate}',
  cacheFingerprint: 'run input: checksums of the training file, teacher model and tokenizer, data.maxLength, data.trainSplit',
  ownTokenizer: 'student.tokenizer',
  stages: 'distill.stages',
  batchSize: 'distill.batchSize',
  gradAccumulation: 'distill.gradAccum',
  maxGradNorm: 'distill.gradClip',
  optimizer: 'distill.weightDecay + distill.optimizer.{beta1,beta2,epsilon}',
  seed: 'seed',
  bucketSize: 'distill.bucketSize',
  evalEvery: 'distill.evalEvery',
  evalBatchSize: 'eval.batchSize',
  ema: 'ema',
  sharedProjection: 'distill.sharedProjection',
  checkpointDir: 'out (<out>/checkpoints)',
  checkpointEvery: 'distill.checkpointEvery',
  resume: 'run input: --resume',
  allowChanged: 'run input: --allow-changed',
  onStart: 'run input: writes resolved-config.json once the run really starts',
  stopRequested: 'run input: SIGINT / SIGTERM',
  logFile: 'out (<out>/train-log.jsonl)',
  logEvery: 'distill.logEvery',
  earlyStopping: 'distill.earlyStopping.{patience,minDelta,mode}',
  reduceLrOnPlateau: 'distill.reduceLrOnPlateau.{patience,factor,minDelta,mode,cooldown,minLr}',
  quantization: 'distill.quantization.{emaDecay,reduceRange,ranges} (when a stage quantizes)',
  onProgress: 'run input: the progress bars',
  onPruned: 'run input: scripts (scripts/compare-pruning.ts keeps the unrecovered pruned model)',
} as const satisfies Record<keyof TrainOptions, string>;

export const STAGE_OPTION_SOURCES = {
  name: 'distill.stages[].name',
  steps: 'distill.stages[].steps or .epochs',
  matches: 'distill.stages[].losses (relation_kl: .relationHeads, .relations, .teacherLayer, .studentLayer) + distill.mapping',
  lr: 'distill.stages[].lr',
  lrSchedule: 'distill.stages[].{lrSchedule,warmup,lrMinRatio}',
  temperature: 'distill.stages[].temperature',
  temperatureRule: 'distill.stages[].temperatureRule',
  weights: 'distill.stages[].weights',
  curriculum: 'distill.stages[].curriculum',
  momentum: 'distill.stages[].momentum',
  alpha: 'distill.stages[].alpha',
  quantize: 'distill.stages[].quantize',
  prune: 'distill.stages[].prune.{heads,ffn,score,batches,normalize}',
} as const satisfies Record<keyof StageOptions, string>;

/** Whether any stage needs the teacher cache (anything but gold-label losses). */
export function needsTeacher(c: Config): boolean {
  if (c.distill.selfDistillation) return false;
  return c.distill.stages.some((s) => s.losses.some((l) => l.name !== 'ce' && l.name !== 'mse'));
}

export function emaOptions(c: Config): Partial<EmaOptions> | null {
  if (!c.ema.enabled) return null;
  const { enabled: _, ...rest } = c.ema;
  return rest;
}

/** The student's Hugging Face config: shape from the run config, vocabulary from its tokenizer (the teacher's unless student.tokenizer), labels from the task. */
export function studentBertConfig(c: Config, task: TaskSpec, vocabSize: number): BertConfig {
  // Readable names ("negative", "positive") where the data's labels are codes ("0", "1"); ids keep the task's order.
  const labels = task.labelNames ?? task.labels ?? ['score'];
  const s = c.student;
  return {
    ...DEFAULT_BERT_CONFIG,
    hidden_size: s.hiddenSize,
    num_hidden_layers: s.numLayers,
    num_attention_heads: s.numHeads,
    intermediate_size: s.intermediateSize,
    max_position_embeddings: s.maxPositions,
    hidden_dropout_prob: s.dropout,
    attention_probs_dropout_prob: s.attentionDropout,
    vocab_size: vocabSize,
    num_labels: labels.length,
    problem_type: task.labels ? 'single_label_classification' : 'regression',
    id2label: Object.fromEntries(labels.map((l, i) => [String(i), l])),
    label2id: Object.fromEntries(labels.map((l, i) => [l, i])),
    ...perLayerShape(s),
  };
}

/** student.layerHeads / layerIntermediateSizes as config.json keys: layer i keeps heads 0..n−1 (pruned_heads lists the others). */
function perLayerShape(s: Config['student']): Pick<BertConfig, 'pruned_heads' | 'layer_intermediate_sizes'> {
  const out: Pick<BertConfig, 'pruned_heads' | 'layer_intermediate_sizes'> = {};
  const pruned = Object.fromEntries((s.layerHeads ?? []).flatMap((n, i) => (n < s.numHeads ? [[String(i), Array.from({ length: s.numHeads - n }, (_, k) => n + k)]] : [])));
  if (Object.keys(pruned).length > 0) out.pruned_heads = pruned;
  if (s.layerIntermediateSizes?.some((n) => n !== s.intermediateSize)) out.layer_intermediate_sizes = s.layerIntermediateSizes;
  return out;
}
