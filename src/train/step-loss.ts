import * as tf from '@tensorflow/tfjs';
import type { Batch } from '../data/types.ts';
import type { Student } from '../student/model.ts';
import type { Rng } from '../util/rng.ts';
import { UserError } from '../util/errors.ts';
import type { Features } from '../distill/features.ts';
import { computeDistillLoss, logitMse, matchKey, type Match, type MatchFeature } from '../distill/losses.ts';
import type { Projections } from '../distill/projections.ts';
import { curriculumWeights, lossWeight, scheduledValue } from './schedules.ts';
import {
  combineTeacherProbs,
  combineTeacherValues,
  mixTargets,
  momentumProbs,
  oneHotTargets,
  softTargetCrossEntropy,
  softTargetKl,
  type TeacherCombine,
  type Temperature,
} from '../distill/targets.ts';
import type { NeededFeatures } from '../distill/teacher-features.ts';
import type { TeacherSet } from '../distill/teachers.ts';
import { sampleTemperatures } from '../distill/temperature.ts';
import type { StageOptions } from './train-options.ts';

/** One micro-batch's loss and gradients: the part of the trainer that knows about losses and targets. */

/** What a step reads from its teachers: a cache set (TeacherSet) or an online teacher (the web page's). */
export type BatchTeachers = Pick<TeacherSet, 'count' | 'batchTargets'>;

export interface StepContext {
  student: Student;
  emaStudent?: Student;
  projections?: Projections;
  teachers?: BatchTeachers;
  combine: TeacherCombine;
  teacherWeights?: number[];
  stage: StageOptions;
  stageStep: number;
  lastDevScore?: number;
  regression: boolean;
  rng: Rng;
  /** Trainable variables and their parameter names. */
  variables: Map<string, tf.Variable>;
  /** Forward in training mode (dropout); default true. Pruning's importance pass runs without. */
  training?: boolean;
}

export interface MicroBatchResult {
  /** By parameter name; the caller disposes them. */
  grads: Map<string, tf.Tensor>;
  loss: number;
  /** Unweighted loss terms. */
  parts: Record<string, number>;
}

export function neededTeacherFeatures(matches: Match[]): NeededFeatures {
  const hidden = new Set<number>();
  const attention = new Set<number>();
  const qkv = new Set<number>();
  const pooled = new Set<number>();
  let logits = false;
  for (const m of matches) {
    if (m.feature === 'hidden') hidden.add(m.layerT);
    else if (m.feature === 'attention') attention.add(m.layerT);
    else if (m.feature === 'relation') qkv.add(m.layerT);
    else if (m.feature === 'pooled') pooled.add(m.layerT);
    else if (m.feature === 'logits') logits = true;
  }
  return { hidden: [...hidden], attention: [...attention], logits, ...(qkv.size > 0 && { qkv: [...qkv] }), ...(pooled.size > 0 && { pooled: [...pooled] }) };
}

/** Multiplier per feature at this step: the stage's weight schedules, its α mix and the curriculum's handover. */
export function featureScales(stage: StageOptions, stageStep: number, lastDevScore?: number): Record<MatchFeature, number> {
  const scales: Record<MatchFeature, number> = { hidden: 1, attention: 1, logits: 1, labels: 1, relation: 1, pooled: 1 };
  for (const f of Object.keys(scales) as MatchFeature[]) {
    const s = stage.weights?.[f];
    if (s) scales[f] = lossWeight(s, stageStep, stage.steps, lastDevScore);
  }
  if (stage.alpha !== undefined) {
    const a = typeof stage.alpha === 'number' ? stage.alpha : scheduledValue(stage.alpha, stageStep, stage.steps);
    scales.logits *= a;
    scales.labels *= 1 - a;
  }
  if (stage.curriculum) {
    const c = curriculumWeights(stage.curriculum, stageStep);
    scales.hidden *= c.intermediate;
    scales.attention *= c.intermediate;
    scales.relation *= c.intermediate;
    scales.pooled *= c.intermediate;
    scales.logits *= c.prediction;
    scales.labels *= c.prediction;
  }
  return scales;
}

export function stageTemperature(stage: StageOptions, stageStep: number): number | undefined {
  const t = stage.temperature;
  if (t === undefined) return undefined;
  return typeof t === 'number' ? t : scheduledValue(t, stageStep, stage.steps);
}

/** Prediction targets need our own path when they are more than one cached teacher at one temperature. */
function needsCustomPrediction(ctx: StepContext): boolean {
  const s = ctx.stage;
  return (ctx.teachers?.count ?? 0) !== 1 || !!s.momentum || (!!s.temperatureRule && s.temperatureRule.kind !== 'fixed');
}

/** The step's tensors before any read-back: the loss, its parts and the gradients by parameter name. */
interface MicroBatchTensors {
  value: tf.Scalar;
  kept: Record<string, tf.Scalar>;
  grads: Map<string, tf.Tensor>;
}

function microBatchTensors(ctx: StepContext, batch: Batch): MicroBatchTensors {
  const { stage } = ctx;
  const custom = needsCustomPrediction(ctx);
  const scales = featureScales(stage, ctx.stageStep, ctx.lastDevScore);
  const temperature = stageTemperature(stage, ctx.stageStep);
  const active = stage.matches.filter((m) => m.weight * scales[m.feature] !== 0);
  const mainMatches = custom ? active.filter((m) => m.feature !== 'logits') : active;
  const predictionMatches = custom ? active.filter((m) => m.feature === 'logits') : [];
  const varNames = new Map([...ctx.variables].map(([name, v]) => [v.name, name]));

  const out = tf.tidy(() => {
    const shape: [number, number] = [batch.size, batch.seqLen];
    const inputs = {
      inputIds: tf.tensor2d(batch.inputIds, shape, 'int32'),
      attentionMask: tf.tensor2d(batch.attentionMask, shape, 'int32'),
      tokenTypeIds: tf.tensor2d(batch.tokenTypeIds, shape, 'int32'),
    };
    const mask = tf.cast(inputs.attentionMask, 'float32') as tf.Tensor2D;
    const labels = batch.labels ? tf.tensor1d(batch.labels) : undefined;
    let teacherF: Features = { hidden: [], attentionScores: [], mask };
    let teacherLogits: tf.Tensor2D[] = [];
    if (ctx.teachers) {
      const t = ctx.teachers.batchTargets(batch, neededTeacherFeatures(active), mask);
      teacherF = t.features;
      teacherLogits = t.logits;
    }
    const emaLogits = stage.momentum && ctx.emaStudent && predictionMatches.length > 0 ? ctx.emaStudent.forward(inputs, { training: false }).logits : undefined;
    const alpha = stage.momentum ? (typeof stage.momentum.alpha === 'number' ? stage.momentum.alpha : scheduledValue(stage.momentum.alpha, ctx.stageStep, stage.steps)) : 0;

    const kept: Record<string, tf.Scalar> = {};
    const { value, grads } = tf.variableGrads(() => {
      const s = ctx.student.forward(inputs, { training: ctx.training ?? true, rng: ctx.rng });
      const { total, parts } = computeDistillLoss(mainMatches, { ...s, mask }, teacherF, ctx.projections, { scales, temperature, labels });
      let sum = total;
      for (const m of predictionMatches) {
        if (m.feature !== 'logits') continue;
        const T = temperature ?? m.temperature ?? 1;
        const part = predictionLoss(ctx, m, s.logits, teacherLogits, emaLogits, labels, T, alpha);
        parts[matchKey(m)] = part;
        sum = tf.add(sum, tf.mul(part, m.weight * scales.logits));
      }
      for (const [k, v] of Object.entries(parts)) kept[k] = tf.keep(v);
      return sum as tf.Scalar;
    }, [...ctx.variables.values()]);
    return { value, grads, kept };
  });

  const grads = new Map<string, tf.Tensor>();
  for (const [vName, g] of Object.entries(out.grads)) {
    const name = varNames.get(vName);
    if (name === undefined) g.dispose();
    else grads.set(name, g);
  }
  return { value: out.value, kept: out.kept, grads };
}

/** One micro-batch's loss and gradients (synchronous read-back: Node's backends). */
export function microBatchGrads(ctx: StepContext, batch: Batch): MicroBatchResult {
  const t = microBatchTensors(ctx, batch);
  const read = (x: tf.Scalar) => x.dataSync()[0];
  const loss = read(t.value);
  t.value.dispose();
  const parts: Record<string, number> = {};
  for (const [k, v] of Object.entries(t.kept)) {
    parts[k] = read(v);
    v.dispose();
  }
  return { grads: t.grads, loss, parts };
}

/**
 * The same step with asynchronous read-back, for GPU backends in a page (tfjs webgpu's synchronous read
 * is slow, and wrong on some adapters): the same tensors and numbers as microBatchGrads.
 */
export async function microBatchGradsAsync(ctx: StepContext, batch: Batch): Promise<MicroBatchResult> {
  const t = microBatchTensors(ctx, batch);
  const read = async (x: tf.Scalar) => (await x.data())[0];
  const loss = await read(t.value);
  t.value.dispose();
  const parts: Record<string, number> = {};
  for (const [k, v] of Object.entries(t.kept)) {
    parts[k] = await read(v);
    v.dispose();
  }
  return { grads: t.grads, loss, parts };
}


/**
 * A prediction loss against a built target: combined teachers (or, in self-distillation, gold labels),
 * optionally mixed with the EMA student's softened predictions, at a fixed or per-sample temperature.
 */
function predictionLoss(
  ctx: StepContext,
  m: Extract<Match, { feature: 'logits' }>,
  studentLogits: tf.Tensor2D,
  teacherLogits: tf.Tensor2D[],
  emaLogits: tf.Tensor2D | undefined,
  labels: tf.Tensor1D | undefined,
  T: number,
  alpha: number,
): tf.Scalar {
  const momentum = ctx.stage.momentum;
  const hasTeachers = teacherLogits.length > 0;
  if (!hasTeachers && !labels) throw new UserError(`prediction match "${m.loss}" without a teacher needs gold labels (self-distillation)`);
  if (ctx.regression || m.loss === 'kd_mse') {
    let target: tf.Tensor2D = hasTeachers
      ? combineTeacherValues(teacherLogits, ctx.combine === 'most_confident' && !ctx.regression ? 'mean' : ctx.combine, ctx.teacherWeights)
      : (tf.reshape(labels!, [-1, 1]) as tf.Tensor2D);
    if (momentum && emaLogits) target = mixTargets(target, emaLogits, alpha);
    return logitMse(studentLogits, target);
  }
  const rule = ctx.stage.temperatureRule ?? { kind: 'fixed' as const };
  const reference = hasTeachers ? (tf.addN(teacherLogits).div(teacherLogits.length) as tf.Tensor2D) : (emaLogits ?? studentLogits);
  const tau: Temperature = rule.kind === 'fixed' ? T : sampleTemperatures(rule, studentLogits, reference, T);
  let target = hasTeachers
    ? combineTeacherProbs(teacherLogits, tau, ctx.combine, ctx.teacherWeights)
    : oneHotTargets(labels!, studentLogits.shape[1]);
  if (momentum && emaLogits) target = mixTargets(target, momentumProbs(emaLogits, momentum.temperature), alpha);
  const scaleT2 = m.scaleT2 ?? false;
  return m.loss === 'kd_kl' ? softTargetKl(studentLogits, target, tau, scaleT2) : softTargetCrossEntropy(studentLogits, target, tau, scaleT2);
}
