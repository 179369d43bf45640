import type { CacheFingerprint } from '../cache/format.ts';
import type { Batch, Encoded, TaskSpec } from '../data/types.ts';
import type { BertConfig } from '../student/config.ts';
import type { Student } from '../student/model.ts';
import { UserError } from '../util/errors.ts';
import type { AdamWOptions } from './adamw.ts';
import type { EmaOptions } from './ema.ts';
import type { EarlyStoppingOptions, ReduceLrOptions } from './plateau.ts';
import type { Match, MatchFeature } from '../distill/losses.ts';
import type { Curriculum, LrSchedule, ValueSchedule, WeightSchedule } from './schedules.ts';
import type { TeacherCombine } from '../distill/targets.ts';
import type { TemperatureRule } from '../distill/temperature.ts';
import type { TeacherInput } from '../distill/teachers.ts';
import type { QuantizationOptions } from '../quant/quantization.ts';

export type { TeacherInput };

/**
 * What train() takes. Every option is reachable from the run config: src/cli/stage-options.ts
 * derives these from it, and its TRAIN_OPTION_SOURCES table (checked complete by the compiler) names
 * the config key behind each; tests build options directly.
 */

export interface TrainData {
  encoded: Encoded[];
  /** Class ids or regression targets; position i is example i (also the teacher-cache key). */
  labels?: (number | undefined)[];
}

/**
 * Training batches from a stream (a corpus read from disk pass after pass) instead of in-memory
 * `train` data. Batch.indices are the keys the teacher (cache or online) is read by.
 */
export interface BatchSource {
  /**
   * Batch `cursor` (0-based) of pass `epoch`, or undefined when that pass has no more batches. The
   * trainer asks in order; a resumed run starts at the checkpoint's (epoch, cursor).
   */
  next(epoch: number, cursor: number): Promise<Batch | undefined>;
  /** Identifies the data for the resume check (e.g. corpus files, sizes and windowing options). */
  key: string;
  /** Whether batches carry gold labels. */
  labeled?: boolean;
}

export interface MomentumOptions {
  /** Weight of the EMA student's softened predictions in the target (e.g. 0.4), or a schedule of it. */
  alpha: number | ValueSchedule;
  /** Temperature that softens the EMA student's logits. */
  temperature: number;
}

export interface StageOptions {
  name: string;
  steps: number;
  /** Loss matches with their weights (src/distill/losses.ts; mapping.ts mappingMatches / predictionMatches build them). */
  matches: Match[];
  /** Peak learning rate. */
  lr: number;
  /** Default: linear decay after a warm-up of 10% of the stage. */
  lrSchedule?: LrSchedule;
  /** Softening temperature for prediction matches (overrides each match's own), fixed or scheduled. */
  temperature?: number | ValueSchedule;
  /** Per-sample temperature rule (TextBrewer flsw / cwsm) around the temperature above. */
  temperatureRule?: TemperatureRule;
  /** Extra multiplier per feature, scheduled (e.g. { logits: { kind: 'linear_growth', weight: 1 } }). */
  weights?: Partial<Record<MatchFeature, WeightSchedule>>;
  /** Hand over from intermediate (hidden, attention) to prediction (logits, labels) losses by schedule. */
  curriculum?: Curriculum;
  /** Momentum distillation: the EMA student as a second, moving teacher (needs ema). */
  momentum?: MomentumOptions;
  /**
   * Share α of the distillation (logits) losses against the gold-label losses: logits matches are
   * scaled by α, labels matches by 1 − α; fixed or scheduled (e.g. 0.9 → 0.1).
   */
  alpha?: number | ValueSchedule;
  /**
   * Quantisation-aware training: the encoder's dense layers run fake-int8 (per-column int8 weights,
   * uint8 inputs over EMA-observed ranges, straight-through gradients). Once a stage quantises, every
   * later one must too; only quantised evaluations then compete for the best model.
   */
  quantize?: boolean;
  /**
   * Structured pruning at the start of the stage (the stage's own training then recovers): importance of
   * every head and feed-forward unit from the stage's loss, then the least important are removed.
   */
  prune?: PruneOptions;
}

export interface PruneOptions {
  /** Heads kept: one count per layer, or a total over all layers (chosen by score across layers). Omitted: heads are not pruned. */
  heads?: number | number[];
  /** Feed-forward units kept: one width per layer, or a total over all layers. Omitted: not pruned. */
  ffn?: number | number[];
  /** Importance score: "gradient" = E|∂L/∂ξ| of a mask ξ on each head / unit (Michel et al. 2019). */
  score: 'gradient';
  /** Training batches the importance is averaged over (taken from the stage's data stream). */
  batches: number;
  /** Divide each layer's scores by their L2 norm (the paper's; makes a global total fair across layers). */
  normalize: boolean;
}

export interface ProgressInfo {
  stage: string;
  stageStep: number;
  stageSteps: number;
  loss: number;
  lr: number;
  epoch: number;
}

export interface TrainOptions {
  task: TaskSpec;
  /**
   * Exactly one of: a config for a fresh student, a student folder to start from (saveStudentFolder
   * layout), or an initialised Student (e.g. from the teacher's weights; train() updates it in place).
   */
  studentConfig?: BertConfig;
  initFolder?: string;
  initStudent?: Student;
  /** Exactly one of `train` (in memory) and `batchSource` (streamed). */
  train?: TrainData;
  batchSource?: BatchSource;
  dev?: TrainData;
  /** None: hard-label training. Several: multi-teacher (same task, same tokenizer). */
  teachers?: TeacherInput[];
  multiTeacher?: {
    combine: TeacherCombine;
    /** Index into `teachers` of the one whose hidden states and attention maps are matched (default 0). */
    intermediateTeacher?: number;
  };
  /**
   * Cache fingerprint fields this run knows (dataSha256 of the training file, tokenizerSha256,
   * maxLength...): every cache must match them. The task name and example count are always checked.
   */
  cacheFingerprint?: Partial<CacheFingerprint>;
  /**
   * The student has its own tokenizer (cross-tokenizer distillation): the caches hold the teacher's
   * tokenisation of the same examples, matched by example index, so only sequence-level matches
   * (logits, labels) are allowed and the teacher's vocabulary need not be the student's.
   */
  ownTokenizer?: boolean;
  /** Observer, range-mode and weight-range settings of the quantised stages (defaults: DEFAULT_QUANTIZATION). */
  quantization?: Partial<QuantizationOptions>;
  stages: StageOptions[];
  batchSize: number;
  /** Micro-batches per update (default 1). */
  gradAccumulation?: number;
  /** Global gradient-norm clipping (default 1; 0 turns it off). */
  maxGradNorm?: number;
  optimizer?: Partial<AdamWOptions>;
  seed: number;
  /** Batches are length-sorted in groups of this many batches (planBatches). */
  bucketSize?: number;
  /** Evaluate on dev every N updates (0: only at the end of each stage). */
  evalEvery?: number;
  evalBatchSize?: number;
  /** EMA of the student's weights; evaluated next to the raw student. Omit or null for none. */
  ema?: Partial<EmaOptions> | null;
  /**
   * Stop training (all remaining stages) after `patience` evaluations without an improvement of the
   * selection metric by more than minDelta. Needs dev labels; only evaluations that compete for the
   * best checkpoint count. The state is in the checkpoint, so a resumed run stops at the same update.
   */
  earlyStopping?: EarlyStoppingOptions;
  /** Multiply the learning rate by `factor` after `patience` evaluations without improvement (Keras' rules). */
  reduceLrOnPlateau?: ReduceLrOptions;
  /** Hidden projections: one per matched student layer (default) or one shared (TinyBERT's code). */
  sharedProjection?: boolean;
  checkpointDir?: string;
  /** Write the resume checkpoint every N updates (default: evalEvery, else 100) and at each stage end. */
  checkpointEvery?: number;
  /** Continue from checkpointDir's latest checkpoint when there is one. */
  resume?: boolean;
  /** On resume, accept settings that changed since the checkpoint (listed in the log) instead of refusing. */
  allowChanged?: boolean;
  /** Called once checks and any resume are done, before the first update (the run is really starting). */
  onStart?: (info: { resumedFrom?: string; step: number; changed: string[] }) => void;
  /**
   * Polled after every update: a signal name ("SIGINT") stops training there, after writing the
   * latest checkpoint; train() then throws an InterruptedError.
   */
  stopRequested?: () => string | undefined;
  logFile?: string;
  /** Step records every k updates (default 1). */
  logEvery?: number;
  onProgress?: (step: number, total: number, info: ProgressInfo) => void;
  /** Called right after a stage pruned the student, before its recovery updates (e.g. to keep the unrecovered model). */
  onPruned?: (student: Student, stage: string) => void | Promise<void>;
}

const isPositiveInt = (n: unknown) => Number.isInteger(n) && (n as number) > 0;

/** Checks the options before any work starts; errors name the option. */
export function validateTrainOptions(o: TrainOptions): void {
  const inits = [o.studentConfig, o.initFolder, o.initStudent].filter((x) => x !== undefined).length;
  if (inits !== 1) throw new UserError(`train: give exactly one of studentConfig, initFolder or initStudent (got ${inits})`);
  if (!isPositiveInt(o.batchSize)) throw new UserError(`batchSize must be a positive integer, got ${o.batchSize}`);
  if (o.gradAccumulation !== undefined && !isPositiveInt(o.gradAccumulation)) throw new UserError(`gradAccumulation must be a positive integer, got ${o.gradAccumulation}`);
  if (!o.train === !o.batchSource) throw new UserError('train: give exactly one of train (in-memory data) and batchSource (streamed data)');
  if (o.train && o.train.encoded.length === 0) throw new UserError('train: the training data is empty');
  if (o.train?.labels && o.train.labels.length !== o.train.encoded.length) {
    throw new UserError(`train: ${o.train.encoded.length} encoded examples but ${o.train.labels.length} labels`);
  }
  const hasLabels = o.train ? !!o.train.labels : !!o.batchSource?.labeled;
  if (o.stages.length === 0) throw new UserError('stages: at least one stage is needed');
  if (o.resume && !o.checkpointDir) throw new UserError('resume needs checkpointDir');
  const hasTeacher = (o.teachers?.length ?? 0) > 0;
  const names = new Set<string>();
  o.stages.forEach((s, i) => {
    const at = `stages[${i}] (${s.name})`;
    if (names.has(s.name)) throw new UserError(`${at}: duplicate stage name`);
    names.add(s.name);
    if (!isPositiveInt(s.steps)) throw new UserError(`${at}.steps must be a positive integer, got ${s.steps}`);
    if (!(s.lr > 0)) throw new UserError(`${at}.lr must be > 0, got ${s.lr}`);
    if (s.matches.length === 0) throw new UserError(`${at}.matches is empty: nothing to learn`);
    for (const m of s.matches) {
      if (m.feature !== 'labels' && !hasTeacher && !(m.feature === 'logits' && s.momentum)) {
        throw new UserError(`${at}: the "${m.loss}" loss needs a teacher cache (or, for prediction losses, momentum self-distillation); none was given`);
      }
      if (m.feature === 'labels' && !hasLabels) throw new UserError(`${at}: the "${m.loss}" loss needs training labels`);
      if (o.ownTokenizer && m.feature !== 'labels' && m.feature !== 'logits' && m.feature !== 'pooled') {
        throw new UserError(`${at}: the "${m.loss}" loss matches the teacher token by token, but the student has its own tokenizer (other tokens, another count); only sequence-level losses (kd_ce, kd_kl, kd_mse, pooled_mse, ce, mse) work across tokenizers`);
      }
    }
    if (typeof s.alpha === 'number' && !(s.alpha >= 0 && s.alpha <= 1)) throw new UserError(`${at}.alpha must be in [0, 1], got ${s.alpha}`);
    if (s.momentum && o.ema == null) throw new UserError(`${at}.momentum needs ema (the EMA student is the momentum teacher)`);
    if (s.momentum && !s.matches.some((m) => m.feature === 'logits')) throw new UserError(`${at}.momentum needs a prediction (logits) match to apply to`);
    if (s.momentum && !hasTeacher && !hasLabels) throw new UserError(`${at}: momentum self-distillation mixes the EMA teacher with gold labels; the training data has none`);
  });
  if (o.multiTeacher && o.multiTeacher.combine === 'weighted') {
    o.teachers?.forEach((t, i) => {
      if (!(typeof t.weight === 'number' && t.weight >= 0)) throw new UserError(`teachers[${i}].weight must be a number ≥ 0 for the "weighted" combination`);
    });
  }
  const firstQuantized = o.stages.findIndex((s) => s.quantize);
  if (firstQuantized >= 0) {
    o.stages.forEach((s, i) => {
      if (i > firstQuantized && !s.quantize) {
        throw new UserError(`stages[${i}] (${s.name}): quantize must be true, as stage ${o.stages[firstQuantized].name} quantises (a model stays quantised once trained so)`);
      }
    });
  }
  const firstPruned = o.stages.findIndex((s) => s.prune);
  o.stages.forEach((s, i) => {
    const at = `stages[${i}] (${s.name})`;
    if (s.prune) {
      if (s.prune.heads === undefined && s.prune.ffn === undefined) throw new UserError(`${at}.prune: give heads and/or ffn (what to keep)`);
      if (!isPositiveInt(s.prune.batches)) throw new UserError(`${at}.prune.batches must be a positive integer, got ${s.prune.batches}`);
      if (s.prune.score !== 'gradient') throw new UserError(`${at}.prune.score must be "gradient", got ${JSON.stringify(s.prune.score)}`);
    }
    // Attention maps and Q/K/V relations are matched head by head against the teacher: a pruned student has fewer.
    const perHead = s.matches.find((m) => m.feature === 'attention' || m.feature === 'relation');
    if (firstPruned >= 0 && i >= firstPruned && perHead) {
      throw new UserError(`${at}: the "${perHead.loss}" loss matches attention head by head, but stage ${o.stages[firstPruned].name} prunes heads; use hidden-state and prediction losses from the pruning stage on`);
    }
  });
  if (o.earlyStopping || o.reduceLrOnPlateau) {
    if (!o.dev?.labels) throw new UserError('earlyStopping / reduceLrOnPlateau watch the dev metric: give dev data with labels');
  }
  const es = o.earlyStopping;
  if (es) {
    if (!isPositiveInt(es.patience)) throw new UserError(`earlyStopping.patience must be a positive integer, got ${es.patience}`);
    if (!(es.minDelta >= 0)) throw new UserError(`earlyStopping.minDelta must be >= 0, got ${es.minDelta}`);
    if (es.mode !== 'max' && es.mode !== 'min') throw new UserError(`earlyStopping.mode must be "max" or "min", got ${String(es.mode)}`);
  }
  const rl = o.reduceLrOnPlateau;
  if (rl) {
    if (!isPositiveInt(rl.patience)) throw new UserError(`reduceLrOnPlateau.patience must be a positive integer, got ${rl.patience}`);
    if (!(rl.factor > 0 && rl.factor < 1)) throw new UserError(`reduceLrOnPlateau.factor must be in (0, 1), got ${rl.factor}`);
    if (!(rl.minDelta >= 0)) throw new UserError(`reduceLrOnPlateau.minDelta must be >= 0, got ${rl.minDelta}`);
    if (!(Number.isInteger(rl.cooldown) && rl.cooldown >= 0)) throw new UserError(`reduceLrOnPlateau.cooldown must be an integer >= 0, got ${rl.cooldown}`);
    if (!(rl.minLr >= 0)) throw new UserError(`reduceLrOnPlateau.minLr must be >= 0, got ${rl.minLr}`);
    if (rl.mode !== 'max' && rl.mode !== 'min') throw new UserError(`reduceLrOnPlateau.mode must be "max" or "min", got ${String(rl.mode)}`);
  }
  if (es && rl && es.mode !== rl.mode) throw new UserError(`earlyStopping.mode (${es.mode}) and reduceLrOnPlateau.mode (${rl.mode}) must agree`);
  const it = o.multiTeacher?.intermediateTeacher ?? 0;
  if (hasTeacher && !(Number.isInteger(it) && it >= 0 && it < o.teachers!.length)) {
    throw new UserError(`multiTeacher.intermediateTeacher must index teachers (0..${o.teachers!.length - 1}), got ${it}`);
  }
}
