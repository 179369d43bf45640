/**
 * Cached teacher features for one student batch, padded to the batch's length: plain row-major
 * Float32Arrays the trainer turns into tensors (Features layout: hidden [B, L, H], attention
 * [B, heads, L, L]). Padding positions hold `fill` (default 0), so a masked loss sees zeros there.
 */
import type { Batch } from '../data/types.ts';
import { UserError } from '../util/errors.ts';
import type { TeacherCache } from './reader.ts';

export interface CachedBatch {
  /** [B × numLabels], when the cache stores logits. */
  logits?: Float32Array;
  /** One per manifest layout.hiddenLayers entry: [B, L, H]. */
  hidden: Float32Array[];
  /** One per layout.attentionLayers entry: [B, heads, L, L] pre-softmax scores. */
  attention: Float32Array[];
  attentionProbs?: Float32Array[];
}

export function collateCached(cache: TeacherCache, batch: Batch, fill = 0): CachedBatch {
  const { layout } = cache.manifest;
  const { size: B, seqLen: L } = batch;
  const H = layout.hiddenSize;
  const A = layout.numHeads;
  const alloc = (n: number) => {
    const a = new Float32Array(n);
    if (fill !== 0) a.fill(fill);
    return a;
  };
  const out: CachedBatch = {
    logits: layout.logits ? new Float32Array(B * layout.numLabels) : undefined,
    hidden: layout.hiddenLayers.map(() => alloc(B * L * H)),
    attention: layout.scores ? layout.attentionLayers.map(() => alloc(B * A * L * L)) : [],
    attentionProbs: layout.probs ? layout.attentionLayers.map(() => alloc(B * A * L * L)) : undefined,
  };
  const placeBlock = (dst: Float32Array, src: Float32Array, b: number, len: number) => {
    for (let h = 0; h < A; h++) for (let i = 0; i < len; i++) dst.set(src.subarray((h * len + i) * len, (h * len + i + 1) * len), ((b * A + h) * L + i) * L);
  };
  for (let b = 0; b < B; b++) {
    const ex = cache.readExample(batch.indices[b]);
    if (ex.length !== batch.lengths[b]) {
      throw new UserError(
        `teacher cache ${cache.dir}: example ${ex.index} has ${ex.length} tokens in the cache but ${batch.lengths[b]} in the batch ` +
          `(different tokenizer, max length or data than the cache was built with)`,
      );
    }
    if (out.logits && ex.logits) out.logits.set(ex.logits, b * layout.numLabels);
    ex.hidden.forEach((h, k) => out.hidden[k].set(h, b * L * H));
    ex.attention.forEach((a, k) => placeBlock(out.attention[k], a, b, ex.length));
    ex.attentionProbs?.forEach((a, k) => placeBlock(out.attentionProbs![k], a, b, ex.length));
  }
  return out;
}
