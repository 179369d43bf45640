/**
 * Distillation against an online teacher: the teacher's outputs are asked for one batch at a time
 * (onnxruntime-web in the web page, onnxruntime-node in tests), and every update is the trainer's
 * (src/train/trainer.ts) for TinyBERT's two stages — an optional intermediate stage (hidden_mse through the
 * learned projections, attention_mse with head mixing where head counts differ, uniform layer mapping) and
 * the prediction stage (kd_ce) — with the same batch plan, seeds, dropout stream, step loss (step-loss.ts),
 * projections, clipping, AdamW (a fresh one per stage) and learning-rate schedule, so a run here gives the
 * losses `train()` gives on a cache of the same teacher outputs. No file I/O: the page uses it.
 */
import * as tf from '@tensorflow/tfjs';
import { registerExtraKernels } from '../backend/register.ts';
import { collate, planBatches } from '../data/batching.ts';
import type { Batch, Encoded } from '../data/types.ts';
import { predictionMatches } from '../distill/losses.ts';
import { mappingMatches, uniformMap } from '../distill/mapping.ts';
import { projectionsForMatches, type Projections } from '../distill/projections.ts';
import { collateTeacherFeatures, collateTeacherLogits, type CachedExample, type NeededFeatures, type TeacherDims } from '../distill/teacher-features.ts';
import type { BertConfig } from '../student/config.ts';
import { Student } from '../student/model.ts';
import { UserError } from '../util/errors.ts';
import { Rng } from '../util/rng.ts';
import { AdamW } from './adamw.ts';
import { clipByGlobalNormAsync, disposeMap } from './grads.ts';
import { lrFactor } from './schedules.ts';
import { microBatchGradsAsync, neededTeacherFeatures, type BatchTeachers, type StepContext } from './step-loss.ts';
import type { StageOptions } from './train-options.ts';

/** The teacher's logits for a batch: [batch.size × numLabels], row-major, in the batch's row order. */
export type TeacherLogitsFn = (batch: Batch) => Promise<Float32Array>;

/**
 * The teacher's intermediate features for a batch: one row per example in batch order, real tokens only
 * (the cache's convention: src/distill/teacher-features.ts batchRows makes them from padded outputs), with
 * hidden[h] (length × H) for every hidden index in `need.hidden` and attention[a] (heads × length × length,
 * pre-softmax scores) for every 0-based layer in `need.attention`.
 */
export type TeacherFeaturesFn = (batch: Batch, need: NeededFeatures) => Promise<CachedExample[]>;

/** TinyBERT's intermediate stage, run before the prediction stage. */
export interface IntermediateStageOptions {
  steps: number;
  /** The teacher's depth (for the uniform layer mapping), width and heads (for the projections). */
  teacher: { numLayers: number; hiddenSize: number; numHeads: number };
  features: TeacherFeaturesFn;
  /** Peak learning rate (default: the prediction stage's). */
  lr?: number;
}

export interface OnlineDistilOptions {
  studentConfig: BertConfig;
  seed: number;
  train: { encoded: Encoded[]; labels?: (number | undefined)[] };
  batchSize: number;
  /** Updates of the prediction stage. */
  steps: number;
  /** Peak learning rate; linear decay after a warm-up of 10% of each stage's steps, as the trainer's default. */
  lr: number;
  /** kd_ce softening temperature (default 1). */
  temperature?: number;
  /** Global gradient-norm clipping (default 1, as the trainer's). */
  maxGradNorm?: number;
  bucketSize?: number;
  teacherLogits: TeacherLogitsFn;
  /** An intermediate stage first (omitted, or 0 steps: prediction only). */
  intermediate?: IntermediateStageOptions;
}

export interface StepRecord {
  step: number;
  /** "intermediate" or "prediction". */
  stage: string;
  loss: number;
  /** Unweighted loss terms (e.g. hidden_mse/s1-t2, attention_mse/s0-t1, kd_ce). */
  parts: Record<string, number>;
  lr: number;
  gradNorm: number;
  /** Seconds: the teacher's forward pass, and the student's update. */
  teacherSeconds: number;
  studentSeconds: number;
}

/** One batch's teacher rows handed to the step loss as a teacher set of one (what TeacherSet.batchTargets gives from a cache). */
function batchTeacher(rows: CachedExample[], dims: TeacherDims): BatchTeachers {
  return {
    count: 1,
    batchTargets(batch, need, mask) {
      const features = collateTeacherFeatures(rows, batch.lengths, batch.indices, batch.seqLen, dims, { ...need, logits: false }, mask);
      const logits = need.logits ? [collateTeacherLogits(rows, batch.indices, dims.numLabels)] : [];
      if (logits.length > 0) features.logits = logits[0];
      return { features, logits };
    },
  };
}

export class OnlineDistiller {
  readonly student: Student;
  /** The stages in order: the intermediate one (when asked for), then the prediction one. */
  readonly stages: StageOptions[];
  /** Updates done, over all stages. */
  step = 0;
  epoch = 0;
  private stageIndex = 0;
  private stageStep = 0;
  private cursor = 0;
  private plan: number[][] = [];
  private planEpoch = -1;
  private readonly rng: Rng;
  private optimizer: AdamW | undefined;
  private readonly projections: Projections | undefined;
  private readonly variables: Map<string, tf.Variable>;
  private readonly lengths: number[];
  private readonly teacherDims: TeacherDims;

  constructor(readonly opts: OnlineDistilOptions) {
    if (!(Number.isInteger(opts.steps) && opts.steps >= 1)) throw new UserError(`steps must be a positive integer, got ${opts.steps}`);
    if (opts.train.encoded.length === 0) throw new UserError('the training data has no examples');
    if (opts.studentConfig.problem_type === 'regression') throw new UserError('online distillation here covers classification (kd_ce); regression is not supported');
    const inter = opts.intermediate && opts.intermediate.steps > 0 ? opts.intermediate : undefined;
    if (opts.intermediate && !(Number.isInteger(opts.intermediate.steps) && opts.intermediate.steps >= 0)) {
      throw new UserError(`intermediate steps must be an integer ≥ 0, got ${opts.intermediate.steps}`);
    }
    registerExtraKernels(); // gradients of comparison ops (attention masking), as train() does; idempotent
    this.student = Student.create(opts.studentConfig, opts.seed);
    this.rng = new Rng((opts.seed ^ 0x7a31c) >>> 0);
    const c = opts.studentConfig;
    this.teacherDims = { hiddenSize: inter?.teacher.hiddenSize ?? c.hidden_size, numHeads: inter?.teacher.numHeads ?? c.num_attention_heads, numLabels: c.num_labels };
    this.stages = [];
    if (inter) {
      const matches = mappingMatches(uniformMap(inter.teacher.numLayers, c.num_hidden_layers, 'intermediate stage (teacher layers → student layers)'));
      this.stages.push({ name: 'intermediate', steps: inter.steps, lr: inter.lr ?? opts.lr, matches });
    }
    this.stages.push({ name: 'prediction', steps: opts.steps, lr: opts.lr, matches: predictionMatches({ regression: false, temperature: opts.temperature ?? 1 }) });
    this.projections = projectionsForMatches(this.stages.flatMap((s) => s.matches), c, this.teacherDims, { seed: opts.seed, shared: false });
    this.variables = new Map([...this.student.params, ...(this.projections?.variables ?? [])]);
    this.lengths = opts.train.encoded.map((e) => e.inputIds.length);
  }

  /** Updates over all stages. */
  get totalSteps(): number {
    return this.stages.reduce((a, s) => a + s.steps, 0);
  }

  get done(): boolean {
    return this.step >= this.totalSteps;
  }

  /** The stage the next update belongs to (the last one once done). */
  get stage(): StageOptions {
    return this.stages[Math.min(this.stageIndex, this.stages.length - 1)];
  }

  /** The next training batch, in the trainer's order (a new shuffled, length-bucketed plan each epoch; stages continue the stream). */
  nextBatch(): Batch {
    if (this.planEpoch !== this.epoch) {
      this.plan = planBatches(this.lengths, { batchSize: this.opts.batchSize, shuffle: true, seed: (this.opts.seed + this.epoch * 7919) >>> 0, bucketSize: this.opts.bucketSize });
      this.planEpoch = this.epoch;
    }
    const rows = this.plan[this.cursor];
    this.cursor += 1;
    if (this.cursor >= this.plan.length) {
      this.epoch += 1;
      this.cursor = 0;
    }
    return collate(this.opts.train.encoded, rows, this.opts.train.labels);
  }

  /** The teacher's rows for a batch: its intermediate features where the stage matches them, else its logits. */
  private async teacherRows(batch: Batch, stage: StageOptions): Promise<CachedExample[]> {
    const need = neededTeacherFeatures(stage.matches);
    if (need.hidden.length > 0 || need.attention.length > 0) {
      const rows = await this.opts.intermediate!.features(batch, need);
      if (rows.length !== batch.size) throw new UserError(`the teacher gave features for ${rows.length} examples, the batch has ${batch.size}`);
      return rows;
    }
    const logits = await this.opts.teacherLogits(batch);
    const C = this.student.config.num_labels;
    if (logits.length !== batch.size * C) {
      throw new UserError(`the teacher gave ${logits.length} logits for a batch of ${batch.size} (expected ${batch.size} × ${C}): a teacher for another task?`);
    }
    return batch.lengths.map((length, b) => ({ length, logits: logits.subarray(b * C, (b + 1) * C), hidden: [], attention: [] }));
  }

  /** One update: the teacher's outputs for the next batch, then the student's step. */
  async trainStep(): Promise<StepRecord> {
    if (this.done) throw new Error(`all ${this.totalSteps} steps are done`);
    const stage = this.stages[this.stageIndex];
    // A fresh optimizer per stage, as the trainer's.
    this.optimizer ??= new AdamW(this.variables);
    const batch = this.nextBatch();
    const t0 = performance.now();
    const rows = await this.teacherRows(batch, stage);
    const t1 = performance.now();
    const ctx: StepContext = {
      student: this.student, projections: this.projections, teachers: batchTeacher(rows, this.teacherDims), rng: this.rng, variables: this.variables,
      stage, regression: false, combine: 'mean', stageStep: this.stageStep,
    };
    const r = await microBatchGradsAsync(ctx, batch);
    if (!Number.isFinite(r.loss)) {
      disposeMap(r.grads);
      throw new UserError(`the loss is ${r.loss} at step ${this.step + 1} (stage ${stage.name}): lower the learning rate`);
    }
    const { grads, norm } = await clipByGlobalNormAsync(r.grads, this.opts.maxGradNorm ?? 1);
    disposeMap(r.grads);
    const lr = stage.lr * lrFactor({ kind: 'linear', warmupSteps: Math.round(0.1 * stage.steps) }, this.stageStep, stage.steps);
    this.optimizer.apply(grads, lr);
    disposeMap(grads);
    this.step += 1;
    this.stageStep += 1;
    if (this.stageStep === stage.steps) {
      this.optimizer.dispose();
      this.optimizer = undefined;
      this.stageIndex += 1;
      this.stageStep = 0;
    }
    return { step: this.step, stage: stage.name, loss: r.loss, parts: r.parts, lr, gradNorm: norm, teacherSeconds: (t1 - t0) / 1000, studentSeconds: (performance.now() - t1) / 1000 };
  }

  dispose(): void {
    this.optimizer?.dispose();
    this.projections?.dispose();
    this.student.dispose();
  }
}

/** The student's logits for encoded examples (inference, no dropout), [n × numLabels] in input order. */
export async function studentLogits(student: Student, encoded: Encoded[], batchSize = 64): Promise<Float32Array> {
  const C = student.config.num_labels;
  const out = new Float32Array(encoded.length * C);
  for (let start = 0; start < encoded.length; start += batchSize) {
    const rows = encoded.slice(start, start + batchSize).map((_, k) => start + k);
    const batch = collate(encoded, rows);
    const t = tf.tidy(() => {
      const shape: [number, number] = [batch.size, batch.seqLen];
      return student.forward({
        inputIds: tf.tensor2d(batch.inputIds, shape, 'int32'),
        attentionMask: tf.tensor2d(batch.attentionMask, shape, 'int32'),
        tokenTypeIds: tf.tensor2d(batch.tokenTypeIds, shape, 'int32'),
      }, { training: false }).logits;
    });
    // data(), not dataSync(): a GPU backend reads back without blocking the page.
    out.set((await t.data()) as Float32Array, start * C);
    t.dispose();
  }
  return out;
}
