import * as tf from '@tensorflow/tfjs';
import type { Features } from './features.ts';
import { UserError } from '../util/errors.ts';

/**
 * Turns cached teacher outputs (real tokens only, one example at a time) into padded Features for a
 * batch. Padded positions are 0; the losses mask them out. Only the layers the matches read are
 * built (the other array slots stay empty), so unused layers cost nothing.
 */

/** One cached example, as src/cache/reader.ts readExample returns it. */
export interface CachedExample {
  length: number;
  logits?: Float32Array;
  /** numLayers + 1 arrays of length × H (index 0: embedding output). */
  hidden: Float32Array[];
  /** numLayers arrays of heads × length × length (pre-softmax scores). */
  attention: Float32Array[];
  /** By 0-based layer: query, key, value projections back to back, 3 × length × H. */
  qkv?: Float32Array[];
}

export interface TeacherDims {
  hiddenSize: number;
  numHeads: number;
  numLabels?: number;
}

export interface NeededFeatures {
  hidden: number[];
  attention: number[];
  logits: boolean;
  /** 0-based layers whose query / key / value projections are read (relation losses). */
  qkv?: number[];
  /** Hidden indices whose mean over each example's real tokens is read (pooled losses). */
  pooled?: number[];
}

/**
 * @param examples cached rows in batch order
 * @param lengths the batch's real lengths (must equal the cached ones)
 * @param indices example indices, for error messages
 * @param seqLen the batch's padded length
 * @param mask [B, seqLen] the batch mask (shared with the student)
 */
export function collateTeacherFeatures(
  examples: CachedExample[],
  lengths: number[],
  indices: number[],
  seqLen: number,
  dims: TeacherDims,
  need: NeededFeatures,
  mask: tf.Tensor2D,
): Features {
  const B = examples.length;
  const H = dims.hiddenSize;
  const nh = dims.numHeads;
  // Token counts matter only where tokens are matched: logits are one row per example, whatever the
  // student's tokenizer (cross-tokenizer distillation reads them with other token counts).
  const tokenLevel = need.hidden.length > 0 || need.attention.length > 0 || (need.qkv?.length ?? 0) > 0;
  examples.forEach((e, b) => {
    if (tokenLevel && e.length !== lengths[b]) {
      throw new UserError(
        `teacher cache: example ${indices[b]} has ${e.length} tokens in the cache but ${lengths[b]} in the training data ` +
          `(was the cache made with another tokenizer, max_length or data file?)`,
      );
    }
  });
  const hidden: tf.Tensor3D[] = [];
  for (const layer of need.hidden) {
    const out = new Float32Array(B * seqLen * H);
    examples.forEach((e, b) => {
      const src = e.hidden[layer];
      if (!src) throw new UserError(`teacher cache: example ${indices[b]} has no hidden state ${layer} (cache holds ${e.hidden.length})`);
      if (src.length !== e.length * H) throw new UserError(`teacher cache: example ${indices[b]} hidden ${layer} has ${src.length} values, expected ${e.length}×${H}`);
      out.set(src, b * seqLen * H);
    });
    hidden[layer] = tf.tensor3d(out, [B, seqLen, H]);
  }
  const attentionScores: tf.Tensor4D[] = [];
  for (const layer of need.attention) {
    const out = new Float32Array(B * nh * seqLen * seqLen);
    examples.forEach((e, b) => {
      const src = e.attention[layer];
      const L = e.length;
      if (!src) throw new UserError(`teacher cache: example ${indices[b]} has no attention map ${layer} (cache holds ${e.attention.length})`);
      if (src.length !== nh * L * L) throw new UserError(`teacher cache: example ${indices[b]} attention ${layer} has ${src.length} values, expected ${nh}×${L}×${L}`);
      for (let h = 0; h < nh; h++) {
        for (let q = 0; q < L; q++) {
          const from = (h * L + q) * L;
          out.set(src.subarray(from, from + L), ((b * nh + h) * seqLen + q) * seqLen);
        }
      }
    });
    attentionScores[layer] = tf.tensor4d(out, [B, nh, seqLen, seqLen]);
  }
  const qkv: Features['qkv'] = [];
  for (const layer of need.qkv ?? []) {
    const parts = [new Float32Array(B * seqLen * H), new Float32Array(B * seqLen * H), new Float32Array(B * seqLen * H)];
    examples.forEach((e, b) => {
      const src = e.qkv?.[layer];
      const n = e.length * H;
      if (!src) throw new UserError(`teacher cache: example ${indices[b]} has no query/key/value of layer ${layer + 1}`);
      if (src.length !== 3 * n) throw new UserError(`teacher cache: example ${indices[b]} query/key/value of layer ${layer + 1} has ${src.length} values, expected 3×${e.length}×${H}`);
      parts.forEach((dst, j) => dst.set(src.subarray(j * n, (j + 1) * n), b * seqLen * H));
    });
    const [query, key, value] = parts.map((d) => tf.tensor3d(d, [B, seqLen, H]));
    qkv[layer] = { query, key, value };
  }
  const pooled: tf.Tensor2D[] = [];
  for (const layer of need.pooled ?? []) {
    const out = new Float32Array(B * H);
    examples.forEach((e, b) => {
      const src = e.hidden[layer];
      if (!src) throw new UserError(`teacher cache: example ${indices[b]} has no hidden state ${layer} (cache holds ${e.hidden.length})`);
      if (src.length !== e.length * H) throw new UserError(`teacher cache: example ${indices[b]} hidden ${layer} has ${src.length} values, expected ${e.length}×${H}`);
      // Over the teacher's own tokens: its count need not be the student's.
      for (let i = 0; i < e.length; i++) for (let h = 0; h < H; h++) out[b * H + h] += src[i * H + h];
      for (let h = 0; h < H; h++) out[b * H + h] /= Math.max(e.length, 1);
    });
    pooled[layer] = tf.tensor2d(out, [B, H]);
  }
  const features: Features = { hidden, attentionScores, mask, ...(need.qkv?.length && { qkv }), ...(need.pooled?.length && { pooled }) };
  if (need.logits) features.logits = collateTeacherLogits(examples, indices, dims.numLabels);
  return features;
}

/** [B, C] teacher logits from cached rows. */
export function collateTeacherLogits(examples: CachedExample[], indices: number[], numLabels?: number): tf.Tensor2D {
  const C = numLabels ?? examples[0]?.logits?.length ?? 0;
  const out = new Float32Array(examples.length * C);
  examples.forEach((e, b) => {
    if (!e.logits) throw new UserError(`teacher cache: example ${indices[b]} has no logits (encoder-only teacher?); remove prediction losses`);
    if (e.logits.length !== C) throw new UserError(`teacher cache: example ${indices[b]} has ${e.logits.length} logits, expected ${C}`);
    out.set(e.logits, b * C);
  });
  return tf.tensor2d(out, [examples.length, C]);
}

/** One batch of teacher outputs as the model gives them: padded to the batch's length, by Features index. */
export interface BatchOutputs {
  /** [B × numLabels] */
  logits?: Float32Array;
  /** By hidden index (0 = embedding output): [B, seqLen, H]. */
  hidden: Map<number, Float32Array>;
  /** By 0-based layer: pre-softmax scores [B, heads, seqLen, seqLen]. */
  attention: Map<number, Float32Array>;
}

/**
 * A batch's padded teacher outputs as one row per example with real tokens only (the cache's
 * convention), so an online teacher's features go through collateTeacherFeatures as cached ones do.
 */
export function batchRows(batch: { size: number; seqLen: number; lengths: number[] }, out: BatchOutputs, dims: TeacherDims): CachedExample[] {
  const { size: B, seqLen: L } = batch;
  const H = dims.hiddenSize;
  const A = dims.numHeads;
  const C = dims.numLabels ?? 0;
  const check = (what: string, data: Float32Array, shape: number[]) => {
    const n = shape.reduce((a, b) => a * b, 1);
    if (data.length !== n) throw new UserError(`teacher output ${what} has ${data.length} values, expected [${shape.join(', ')}] = ${n} (check hidden_size / num_attention_heads in the teacher's config.json)`);
  };
  if (out.logits) check('logits', out.logits, [B, C]);
  for (const [l, d] of out.hidden) check(`hidden ${l}`, d, [B, L, H]);
  for (const [l, d] of out.attention) check(`attention scores of layer ${l + 1}`, d, [B, A, L, L]);
  return batch.lengths.map((len, b) => {
    const hidden: Float32Array[] = [];
    for (const [l, d] of out.hidden) hidden[l] = d.slice(b * L * H, b * L * H + len * H);
    const attention: Float32Array[] = [];
    for (const [l, d] of out.attention) {
      // The real len × len block of each head, row by row.
      const block = new Float32Array(A * len * len);
      for (let h = 0; h < A; h++) for (let q = 0; q < len; q++) {
        const from = ((b * A + h) * L + q) * L;
        block.set(d.subarray(from, from + len), (h * len + q) * len);
      }
      attention[l] = block;
    }
    return { length: len, ...(out.logits && { logits: out.logits.slice(b * C, (b + 1) * C) }), hidden, attention };
  });
}
