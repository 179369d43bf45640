/**
 * Distillation losses: small pure functions over tensors, looked up by name in LOSSES, and
 * computeDistillLoss, which applies a list of matches to the student and teacher Features.
 *
 * Shapes: hidden [B, L, H]; attention [B, heads, L, L]; logits [B, C]; mask [B, L] (1 = real token);
 * labels [B]. Every reduction is named in the function's comment. Call inside tf.tidy / a gradient closure.
 */
import * as tf from '@tensorflow/tfjs';
import type { Features } from './features.ts';
import { mixHeads, projectHidden, type Projections } from './projections.ts';
import { withGradient } from '../util/custom-grad.ts';
import { UserError } from '../util/errors.ts';

/** TinyBERT's rule for attention scores: entries at or below this count as masked and are set to 0. */
export const MASKED_SCORE_THRESHOLD = -100;

export interface LossContext {
  /** [B, L], 1 for real tokens. */
  mask: tf.Tensor2D;
  /** Softening temperature for prediction losses. */
  temperature: number;
  /** Multiply soft prediction losses by T² (Hinton et al.) so gradients keep their scale as T grows. */
  scaleT2: boolean;
  /** Relation losses: the number of relation heads both sides are split into. */
  relationHeads?: number;
}

export type MatchFeature = 'hidden' | 'attention' | 'logits' | 'labels' | 'relation' | 'pooled';
/** Which self-attention relation: query–query, key–key or value–value (MiniLM-v2). */
export type RelationKind = 'qq' | 'kk' | 'vv';
export const RELATION_KINDS: readonly RelationKind[] = ['qq', 'kk', 'vv'];
export type LossFn = (s: tf.Tensor, t: tf.Tensor, ctx: LossContext) => tf.Scalar;
/** `input` says which attention tensor the loss reads: pre-softmax scores or probabilities. */
export interface LossEntry {
  feature: MatchFeature;
  fn: LossFn;
  input?: 'scores' | 'probs';
}

const square = (x: tf.Tensor) => tf.square(x);

/** mask [B, L] -> [B, 1, L, L] float: 1 where both query and key are real tokens. */
function pairMask(mask: tf.Tensor2D): tf.Tensor4D {
  const [B, L] = mask.shape;
  return tf.mul(tf.reshape(mask, [B, 1, L, 1]), tf.reshape(mask, [B, 1, 1, L]));
}

/**
 * Hidden-state / embedding MSE: Σ over real tokens and features of (s − t)², divided by
 * (number of real tokens × H). s and t must already have the same width (project first).
 */
export function hiddenMse(s: tf.Tensor, t: tf.Tensor, ctx: LossContext): tf.Scalar {
  const H = s.shape[2] as number;
  const [B, L] = ctx.mask.shape;
  const tokenMask = tf.reshape(ctx.mask, [B, L, 1]);
  const denominator = tf.mul(tf.sum(ctx.mask), H);
  // The gradient by hand (teacher states held as a constant, as for the attention loss): one saved tensor, the
  // masked difference, instead of autodiff's chain through the square, the mask product and the sums.
  const loss = withGradient(1, ([student], save) => {
    const diff = tf.mul(tf.sub(student, t), tokenMask); // mask ∈ {0, 1}: diff² · mask = (diff · mask)²
    save([diff, denominator]);
    return {
      value: tf.div(tf.sum(square(diff)), denominator),
      gradFunc: (dy, [d, denom]) => [tf.mul(d, tf.div(tf.mul(dy, 2), denom))],
    };
  });
  return loss(s) as tf.Scalar;
}

/**
 * Mean over real tokens of a hidden state: [B, L, H] with mask [B, L] -> [B, H]. A sequence-level
 * summary, so it can be compared across models that tokenize the same text differently.
 */
export function meanPool(h: tf.Tensor3D, mask: tf.Tensor2D): tf.Tensor2D {
  const [B, L] = mask.shape;
  const summed = tf.sum(tf.mul(h, tf.reshape(mask, [B, L, 1])), 1);
  return tf.div(summed, tf.maximum(tf.reshape(tf.sum(mask, 1), [B, 1]), 1)) as tf.Tensor2D;
}

/** Pooled hidden-state MSE: mean over the batch and features of (s − t)² between [B, H] pooled vectors. */
export function pooledMse(s: tf.Tensor, t: tf.Tensor): tf.Scalar {
  return tf.mean(square(tf.sub(s, t))) as tf.Scalar;
}

/**
 * Attention MSE on pre-softmax scores (TinyBERT): on both sides entries ≤ −100 (masked keys) and every
 * entry whose query or key is padding are set to 0; then Σ (s − t)² over real (query, key) pairs and
 * heads, divided by (heads × Σ_b length_b²). Zeroing before subtracting also makes −inf / float-min
 * masks (newer HF exports) harmless.
 */
export function attentionScoreMse(s: tf.Tensor, t: tf.Tensor, ctx: LossContext): tf.Scalar {
  const pair = pairMask(ctx.mask);
  const heads = s.shape[1] as number;
  const denominator = tf.mul(tf.sum(pair), heads);
  // The gradient by hand (tf.customGrad, teacher scores held as a constant): autodiff would keep the masks, selects and
  // differences of every [B, h, L, L] step alive for the backward pass; this keeps one tensor, 2·(s̃ − t̃)·[s > threshold].
  const loss = withGradient(1, ([student], save) => {
    const diff = tf.sub(cleanScores(student, pair), cleanScores(t, pair));
    save([tf.mul(tf.mul(diff, 2), tf.cast(tf.greater(student, MASKED_SCORE_THRESHOLD), 'float32')), denominator]);
    return {
      value: tf.div(tf.sum(square(diff)), denominator),
      gradFunc: (dy, [slope, denom]) => [tf.mul(slope, tf.div(dy, denom))],
    };
  });
  return loss(s) as tf.Scalar;
}

/** Scores at or below the masked threshold become 0 (TinyBERT's `where(x <= -1e2, 0, x)`), then only real pairs count. */
function cleanScores(x: tf.Tensor, pair: tf.Tensor): tf.Tensor {
  return tf.mul(tf.where(tf.greaterEqual(MASKED_SCORE_THRESHOLD, x), tf.zerosLike(x), x), pair);
}

/** Attention MSE on probabilities: Σ (s − t)² over real (query, key) pairs and heads / (heads × Σ_b length_b²). */
export function attentionProbMse(s: tf.Tensor, t: tf.Tensor, ctx: LossContext): tf.Scalar {
  const pair = pairMask(ctx.mask);
  const heads = s.shape[1] as number;
  return tf.div(tf.sum(tf.mul(square(tf.sub(s, t)), pair)), tf.mul(tf.sum(pair), heads)) as tf.Scalar;
}

/**
 * KL(teacher ‖ student) between attention distributions over real keys, from pre-softmax scores:
 * per (head, real query row) Σ_k p_t (log p_t − log p_s), mean over heads × real query rows.
 * Padded keys are forced to −10000 on both sides (whatever mask value the source used).
 */
export function attentionKl(s: tf.Tensor, t: tf.Tensor, ctx: LossContext): tf.Scalar {
  const [B, L] = ctx.mask.shape;
  const keyReal = tf.greater(tf.reshape(ctx.mask, [B, 1, 1, L]), 0);
  const logp = (x: tf.Tensor) => tf.logSoftmax(tf.where(keyReal, x, tf.fill(x.shape, -10000)));
  const logS = logp(s);
  const logT = logp(t);
  const rowKl = tf.sum(tf.mul(tf.exp(logT), tf.sub(logT, logS)), -1); // [B, heads, L]
  const heads = s.shape[1] as number;
  const weighted = tf.mul(rowKl, tf.reshape(ctx.mask, [B, 1, L]));
  return tf.div(tf.sum(weighted), tf.mul(tf.sum(ctx.mask), heads)) as tf.Scalar;
}

/**
 * Self-attention relation of one projection (MiniLM-v2): x [B, L, H] split into A relation heads of
 * H/A features, then softmax-ready scores x_a x_aᵀ / √(H/A) per head: [B, A, L, L]. A must divide H;
 * it need not equal the model's attention heads, so teacher and student may differ in heads and width.
 */
export function relationScores(x: tf.Tensor, heads: number): tf.Tensor4D {
  const [B, L, H] = x.shape as [number, number, number];
  if (!(Number.isInteger(heads) && heads > 0 && H % heads === 0)) {
    throw new UserError(`relationHeads ${heads} must divide the width ${H} of both models' query/key/value projections`);
  }
  const d = H / heads;
  const split = tf.transpose(tf.reshape(x, [B, L, heads, d]), [0, 2, 1, 3]); // [B, A, L, d]
  return tf.div(tf.matMul(split, split, false, true), Math.sqrt(d)) as tf.Tensor4D;
}

/**
 * MiniLM-v2 relation loss: KL(teacher ‖ student) between the row-softmaxed relations of one
 * projection (Q–Q, K–K or V–V), over real keys; mean over relation heads × real query rows (the same
 * reduction as attention_kl). s [B, L, Hs] and t [B, L, Ht] may have different widths.
 */
export function relationKl(s: tf.Tensor, t: tf.Tensor, ctx: LossContext): tf.Scalar {
  const heads = ctx.relationHeads;
  if (heads === undefined) throw new UserError('relation_kl needs relationHeads');
  return attentionKl(relationScores(s, heads), relationScores(t, heads), ctx);
}

const t2 = (loss: tf.Scalar, ctx: LossContext) => (ctx.scaleT2 ? tf.mul(loss, ctx.temperature ** 2) as tf.Scalar : loss);

/**
 * Soft cross-entropy (TinyBERT's prediction loss): −Σ_c softmax(t/T)_c · log_softmax(s/T)_c, summed over
 * classes, mean over the batch (TinyBERT's code took the mean over classes too, dividing by C). × T² if scaleT2.
 */
export function softCrossEntropy(s: tf.Tensor, t: tf.Tensor, ctx: LossContext): tf.Scalar {
  const T = ctx.temperature;
  const perRow = tf.neg(tf.sum(tf.mul(tf.softmax(tf.div(t, T)), tf.logSoftmax(tf.div(s, T))), -1));
  return t2(tf.mean(perRow) as tf.Scalar, ctx);
}

/** KL(softmax(t/T) ‖ softmax(s/T)), summed over classes, mean over the batch; × T² if scaleT2. */
export function softKl(s: tf.Tensor, t: tf.Tensor, ctx: LossContext): tf.Scalar {
  const T = ctx.temperature;
  const logT = tf.logSoftmax(tf.div(t, T));
  const perRow = tf.sum(tf.mul(tf.exp(logT), tf.sub(logT, tf.logSoftmax(tf.div(s, T)))), -1);
  return t2(tf.mean(perRow) as tf.Scalar, ctx);
}

/** MSE against the teacher's outputs (regression, or raw logits): mean over batch × outputs of (s − t)². */
export function logitMse(s: tf.Tensor, t: tf.Tensor): tf.Scalar {
  return tf.mean(square(tf.sub(s, t))) as tf.Scalar;
}

/** Hard-label cross-entropy: −log_softmax(s)[label], mean over the batch. labels [B] hold class ids. */
export function labelCrossEntropy(s: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  const C = s.shape[1] as number;
  const oneHot = tf.oneHot(tf.cast(labels, 'int32') as tf.Tensor1D, C);
  return tf.mean(tf.neg(tf.sum(tf.mul(oneHot, tf.logSoftmax(s)), -1))) as tf.Scalar;
}

/** Regression on gold targets: mean over the batch of (s[:, 0] − y)². */
export function labelMse(s: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  return tf.mean(square(tf.sub(tf.reshape(s, [-1]), tf.cast(labels, 'float32')))) as tf.Scalar;
}

export const LOSSES = {
  hidden_mse: { feature: 'hidden', fn: hiddenMse },
  attention_mse: { feature: 'attention', fn: attentionScoreMse, input: 'scores' },
  attention_probs_mse: { feature: 'attention', fn: attentionProbMse, input: 'probs' },
  attention_kl: { feature: 'attention', fn: attentionKl, input: 'scores' },
  relation_kl: { feature: 'relation', fn: relationKl },
  pooled_mse: { feature: 'pooled', fn: pooledMse },
  kd_ce: { feature: 'logits', fn: softCrossEntropy },
  kd_kl: { feature: 'logits', fn: softKl },
  kd_mse: { feature: 'logits', fn: logitMse },
  ce: { feature: 'labels', fn: labelCrossEntropy },
  mse: { feature: 'labels', fn: labelMse },
} as const satisfies Record<string, LossEntry>;

export type LossName = keyof typeof LOSSES;
type NamesFor<F extends MatchFeature> = { [K in LossName]: (typeof LOSSES)[K]['feature'] extends F ? K : never }[LossName];

/** Looks a loss up by name (from a config file), listing the valid names when it is unknown. */
export function lossByName(name: string, field = 'loss'): LossEntry & { name: LossName } {
  if (!Object.hasOwn(LOSSES, name)) {
    throw new UserError(`${field}: unknown loss "${name}"; valid losses: ${Object.keys(LOSSES).join(', ')}`);
  }
  return { name: name as LossName, ...LOSSES[name as LossName] };
}

/**
 * One comparison between student and teacher. Layer indices follow Features: for `hidden`, 0 is the
 * embedding output and i the output of layer i; for `attention`, i is the 0-based layer.
 */
export type Match =
  | { feature: 'hidden'; layerS: number; layerT: number; loss: NamesFor<'hidden'>; weight: number }
  | { feature: 'attention'; layerS: number; layerT: number; loss: NamesFor<'attention'>; weight: number }
  /** Layers 0-based as for attention; one match per relation kind. */
  | { feature: 'relation'; layerS: number; layerT: number; loss: NamesFor<'relation'>; weight: number; relation: RelationKind; relationHeads: number }
  /** Hidden indices as for `hidden`; each side mean-pooled over its own real tokens. */
  | { feature: 'pooled'; layerS: number; layerT: number; loss: NamesFor<'pooled'>; weight: number }
  | { feature: 'logits'; loss: NamesFor<'logits'>; weight: number; temperature?: number; scaleT2?: boolean }
  | { feature: 'labels'; loss: NamesFor<'labels'>; weight: number };

/**
 * The prediction-layer matches: a soft loss against the teacher (kd_ce for classification, kd_mse for
 * regression) at weight 1 − alpha, plus the hard-label loss (ce / mse) at weight alpha when alpha > 0.
 */
export function predictionMatches(opts: {
  regression: boolean;
  alpha?: number;
  temperature?: number;
  scaleT2?: boolean;
  soft?: 'kd_ce' | 'kd_kl' | 'kd_mse';
}): Match[] {
  const alpha = opts.alpha ?? 0;
  if (!(alpha >= 0 && alpha <= 1)) throw new UserError(`prediction alpha must be in [0, 1], got ${alpha}`);
  const soft = opts.soft ?? (opts.regression ? 'kd_mse' : 'kd_ce');
  const out: Match[] = [];
  if (alpha < 1) out.push({ feature: 'logits', loss: soft, weight: 1 - alpha, temperature: opts.temperature, scaleT2: opts.scaleT2 });
  if (alpha > 0) out.push({ feature: 'labels', loss: opts.regression ? 'mse' : 'ce', weight: alpha });
  return out;
}

/** A short stable key for a match, used for the logged parts: e.g. `hidden_mse/s2-t6`, `kd_ce`. */
export function matchKey(m: Match): string {
  if (m.feature === 'relation') return `${m.loss}/${m.relation}/s${m.layerS}-t${m.layerT}`;
  return m.feature === 'hidden' || m.feature === 'attention' || m.feature === 'pooled' ? `${m.loss}/s${m.layerS}-t${m.layerT}` : m.loss;
}

export interface DistillLossOptions {
  /** Multipliers per feature on top of each match's weight (for schedules), default 1. */
  scales?: Partial<Record<MatchFeature, number>>;
  /** Overrides every logits match's temperature (for a temperature schedule). */
  temperature?: number;
  /** [B] gold labels, needed by `labels` matches. */
  labels?: tf.Tensor1D;
}

export interface DistillLoss {
  total: tf.Scalar;
  /** Unweighted value of each match, by matchKey. */
  parts: Record<string, tf.Scalar>;
}

function pick<T>(list: T[] | undefined, i: number, what: string): T {
  if (!list || !Number.isInteger(i) || i < 0 || i >= list.length) {
    throw new UserError(`${what} index ${i} is out of range (have ${list?.length ?? 0})`);
  }
  return list[i];
}

/**
 * Applies every match and sums weight × scale × loss. Student hidden states are projected to the
 * teacher's width and student attention mixed to the teacher's head count through `projections`.
 * The student mask is used for both sides (they come from the same batch).
 */
export function computeDistillLoss(
  matches: Match[],
  s: Features,
  t: Features,
  projections: Projections | undefined,
  opts: DistillLossOptions = {},
): DistillLoss {
  const parts: Record<string, tf.Scalar> = {};
  let total: tf.Scalar = tf.scalar(0);
  for (const m of matches) {
    const entry = lossByName(m.loss);
    if (entry.feature !== m.feature) {
      throw new UserError(`loss "${m.loss}" applies to ${entry.feature} matches, not ${m.feature}`);
    }
    const ctx: LossContext = { mask: s.mask, temperature: 1, scaleT2: false };
    let value: tf.Scalar;
    if (m.feature === 'hidden') {
      let sh = pick(s.hidden, m.layerS, 'student hidden');
      const th = pick(t.hidden, m.layerT, 'teacher hidden');
      const proj = projections?.hidden(m.layerS);
      if (proj) sh = projectHidden(sh, proj);
      if (sh.shape[2] !== th.shape[2]) {
        throw new UserError(
          `hidden match s${m.layerS}-t${m.layerT}: student width ${sh.shape[2]} differs from teacher width ${th.shape[2]} and no projection exists for student layer ${m.layerS}`,
        );
      }
      value = entry.fn(sh, th, ctx);
    } else if (m.feature === 'attention') {
      const probs = entry.input === 'probs';
      let sa = probs ? pick(s.attentionProbs, m.layerS, 'student attention probs') : pick(s.attentionScores, m.layerS, 'student attention');
      const tScores = pick(t.attentionScores, m.layerT, 'teacher attention');
      const ta = probs ? (t.attentionProbs?.[m.layerT] ?? (tf.softmax(tScores) as tf.Tensor4D)) : tScores;
      if (sa.shape[1] !== ta.shape[1]) {
        if (!projections?.headMix) {
          throw new UserError(`attention match s${m.layerS}-t${m.layerT}: student has ${sa.shape[1]} heads, teacher ${ta.shape[1]}, and no head projection exists`);
        }
        sa = mixHeads(sa, projections.headMix);
      }
      value = entry.fn(sa, ta, ctx);
    } else if (m.feature === 'pooled') {
      // The teacher's vector was pooled over its own tokens (src/distill/teacher-features.ts); the student's over its own.
      const tp = t.pooled?.[m.layerT];
      if (!tp) throw new UserError(`pooled match s${m.layerS}-t${m.layerT}: the teacher's pooled hidden state ${m.layerT} was not built`);
      let sp = meanPool(pick(s.hidden, m.layerS, 'student hidden'), s.mask);
      const proj = projections?.hidden(m.layerS);
      if (proj) sp = tf.add(tf.matMul(sp, proj.kernel as tf.Tensor2D), proj.bias) as tf.Tensor2D;
      if (sp.shape[1] !== tp.shape[1]) {
        throw new UserError(`pooled match s${m.layerS}-t${m.layerT}: student width ${sp.shape[1]} differs from teacher width ${tp.shape[1]} and no projection exists for student layer ${m.layerS}`);
      }
      value = entry.fn(sp, tp, ctx);
    } else if (m.feature === 'relation') {
      const part = ({ qq: 'query', kk: 'key', vv: 'value' } as const)[m.relation];
      const sx = pick(s.qkv, m.layerS, 'student query/key/value')[part];
      const tx = pick(t.qkv, m.layerT, 'teacher query/key/value')[part];
      value = entry.fn(sx, tx, { ...ctx, relationHeads: m.relationHeads });
    } else if (m.feature === 'logits') {
      if (!s.logits) throw new UserError('prediction match: the student produced no logits');
      if (!t.logits) throw new UserError(`prediction match "${m.loss}": the teacher cache has no logits (encoder-only teacher); remove prediction matches`);
      ctx.temperature = opts.temperature ?? m.temperature ?? 1;
      ctx.scaleT2 = m.scaleT2 ?? false;
      if (!(ctx.temperature > 0)) throw new UserError(`prediction match "${m.loss}": temperature must be > 0, got ${ctx.temperature}`);
      value = entry.fn(s.logits, t.logits, ctx);
    } else {
      if (!s.logits) throw new UserError('label match: the student produced no logits');
      if (!opts.labels) throw new UserError(`label match "${m.loss}": the batch has no labels (unlabeled split?)`);
      value = entry.fn(s.logits, opts.labels, ctx);
    }
    const key = matchKey(m);
    if (key in parts) throw new UserError(`duplicate match ${key}`);
    parts[key] = value;
    total = tf.add(total, tf.mul(value, m.weight * (opts.scales?.[m.feature] ?? 1)));
  }
  return { total, parts };
}
