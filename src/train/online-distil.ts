/**
 * Prediction-layer distillation against an online teacher: the teacher's logits are asked for one batch
 * at a time (onnxruntime-web in the web page, onnxruntime-node in tests), and every update is the
 * trainer's (src/train/trainer.ts) for a single prediction stage — the same batch plan, seeds, dropout
 * stream, step loss (step-loss.ts with the kd_ce match), clipping, AdamW and learning-rate schedule — so a
 * run here gives the losses `train()` gives on a cache of the same logits. No file I/O: the page uses it.
 */
import * as tf from '@tensorflow/tfjs';
import { collate, planBatches } from '../data/batching.ts';
import type { Batch, Encoded } from '../data/types.ts';
import { predictionMatches } from '../distill/losses.ts';
import { collateTeacherLogits } from '../distill/teacher-features.ts';
import type { BertConfig } from '../student/config.ts';
import { Student } from '../student/model.ts';
import { UserError } from '../util/errors.ts';
import { Rng } from '../util/rng.ts';
import { AdamW } from './adamw.ts';
import { clipByGlobalNormAsync, disposeMap } from './grads.ts';
import { lrFactor } from './schedules.ts';
import { microBatchGradsAsync, type BatchTeachers, type StepContext } from './step-loss.ts';
import type { StageOptions } from './train-options.ts';

/** The teacher's logits for a batch: [batch.size × numLabels], row-major, in the batch's row order. */
export type TeacherLogitsFn = (batch: Batch) => Promise<Float32Array>;

export interface OnlineDistilOptions {
  studentConfig: BertConfig;
  seed: number;
  train: { encoded: Encoded[]; labels?: (number | undefined)[] };
  batchSize: number;
  steps: number;
  /** Peak learning rate; linear decay after a warm-up of 10% of the steps, as the trainer's default. */
  lr: number;
  /** kd_ce softening temperature (default 1). */
  temperature?: number;
  /** Global gradient-norm clipping (default 1, as the trainer's). */
  maxGradNorm?: number;
  bucketSize?: number;
  teacherLogits: TeacherLogitsFn;
}

export interface StepRecord {
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
  /** Seconds: the teacher's forward pass, and the student's update. */
  teacherSeconds: number;
  studentSeconds: number;
}

/** One batch's teacher logits handed to the step loss as a teacher set of one. */
function batchTeacher(logits: Float32Array, numLabels: number): BatchTeachers {
  return {
    count: 1,
    batchTargets(batch, _need, mask) {
      const rows = batch.indices.map((_, b) => ({ length: batch.lengths[b], logits: logits.subarray(b * numLabels, (b + 1) * numLabels), hidden: [], attention: [] }));
      const t = collateTeacherLogits(rows, batch.indices, numLabels);
      return { features: { hidden: [], attentionScores: [], mask, logits: t }, logits: [t] };
    },
  };
}

export class OnlineDistiller {
  readonly student: Student;
  step = 0;
  epoch = 0;
  private cursor = 0;
  private plan: number[][] = [];
  private planEpoch = -1;
  private readonly rng: Rng;
  private readonly optimizer: AdamW;
  private readonly stage: StageOptions;
  private readonly lengths: number[];

  constructor(readonly opts: OnlineDistilOptions) {
    if (!(opts.steps >= 1)) throw new UserError(`steps must be at least 1, got ${opts.steps}`);
    if (opts.train.encoded.length === 0) throw new UserError('the training data has no examples');
    if (opts.studentConfig.problem_type === 'regression') throw new UserError('online distillation here covers classification (kd_ce); regression is not supported');
    this.student = Student.create(opts.studentConfig, opts.seed);
    this.rng = new Rng((opts.seed ^ 0x7a31c) >>> 0);
    this.optimizer = new AdamW(this.student.params);
    this.stage = {
      name: 'prediction', steps: opts.steps, lr: opts.lr,
      matches: predictionMatches({ regression: false, temperature: opts.temperature ?? 1 }),
    };
    this.lengths = opts.train.encoded.map((e) => e.inputIds.length);
  }

  get done(): boolean {
    return this.step >= this.opts.steps;
  }

  /** The next training batch, in the trainer's order (a new shuffled, length-bucketed plan each epoch). */
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

  /** One update: the teacher's logits for the next batch, then the student's step. */
  async trainStep(): Promise<StepRecord> {
    if (this.done) throw new Error(`all ${this.opts.steps} steps are done`);
    const batch = this.nextBatch();
    const t0 = performance.now();
    const logits = await this.opts.teacherLogits(batch);
    const numLabels = this.student.config.num_labels;
    if (logits.length !== batch.size * numLabels) {
      throw new UserError(`the teacher gave ${logits.length} logits for a batch of ${batch.size} (expected ${batch.size} × ${numLabels}): a teacher for another task?`);
    }
    const t1 = performance.now();
    const ctx: StepContext = {
      student: this.student, teachers: batchTeacher(logits, numLabels), rng: this.rng, variables: this.student.params,
      stage: this.stage, regression: false, combine: 'mean', stageStep: this.step,
    };
    const r = await microBatchGradsAsync(ctx, batch);
    if (!Number.isFinite(r.loss)) {
      disposeMap(r.grads);
      throw new UserError(`the loss is ${r.loss} at step ${this.step + 1}: lower the learning rate`);
    }
    const { grads, norm } = await clipByGlobalNormAsync(r.grads, this.opts.maxGradNorm ?? 1);
    disposeMap(r.grads);
    const lr = this.opts.lr * lrFactor({ kind: 'linear', warmupSteps: Math.round(0.1 * this.opts.steps) }, this.step, this.opts.steps);
    this.optimizer.apply(grads, lr);
    disposeMap(grads);
    this.step += 1;
    return { step: this.step, loss: r.loss, lr, gradNorm: norm, teacherSeconds: (t1 - t0) / 1000, studentSeconds: (performance.now() - t1) / 1000 };
  }

  dispose(): void {
    this.optimizer.dispose();
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
