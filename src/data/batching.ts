/**
 * Batching: length-bucketed batch plans (less padding, still random) and collation into padded
 * row-major arrays. Plans are deterministic under a seed, so a resumed run sees the same batches.
 */
import { Rng } from '../util/rng.ts';
import type { Batch, Encoded, Example } from './types.ts';
import type { BertTokenizer } from './tokenizer.ts';

export interface BatchPlanOptions {
  batchSize: number;
  /** Randomize which examples go together and the batch order (training). */
  shuffle: boolean;
  seed: number;
  /**
   * Sort by length within groups of this many batches. Default 50 when shuffling; when not
   * shuffling, no sorting unless given (then batches stay in group order: handy for fast eval).
   */
  bucketSize?: number;
}

/** Returns batches as lists of positions into `lengths`; every position appears exactly once. */
export function planBatches(lengths: number[], opts: BatchPlanOptions): number[][] {
  const { batchSize, shuffle, seed } = opts;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`planBatches: batchSize must be a positive integer, got ${batchSize}`);
  const bucketSize = opts.bucketSize ?? (shuffle ? 50 : 0);
  if (!Number.isInteger(bucketSize) || bucketSize < 0) throw new Error(`planBatches: bucketSize must be an integer >= 0, got ${bucketSize}`);
  const rng = new Rng(seed);
  const order = lengths.map((_, i) => i);
  if (shuffle) rng.shuffle(order);
  if (bucketSize > 0) {
    const group = bucketSize * batchSize;
    for (let start = 0; start < order.length; start += group) {
      const sorted = order.slice(start, start + group).sort((a, b) => lengths[a] - lengths[b] || a - b);
      // Copied back element by element: spreading a group of 100k+ rows into splice overflows the stack.
      for (let i = 0; i < sorted.length; i++) order[start + i] = sorted[i];
    }
  }
  const batches: number[][] = [];
  for (let start = 0; start < order.length; start += batchSize) batches.push(order.slice(start, start + batchSize));
  if (shuffle) rng.shuffle(batches);
  return batches;
}

/**
 * Pads the chosen rows to the longest among them (padding id 0 on the right, mask 0).
 * `indices` are positions into `encoded` (and `labels`), which are also the Example indices.
 */
export function collate(encoded: Encoded[], indices: number[], labels?: (number | undefined)[], padId = 0): Batch {
  if (indices.length === 0) throw new Error('collate: empty batch');
  const rows = indices.map((i) => {
    const e = encoded[i];
    if (!e) throw new Error(`collate: index ${i} is outside the ${encoded.length} encoded examples`);
    return e;
  });
  const lengths = rows.map((r) => r.inputIds.length);
  const seqLen = Math.max(...lengths);
  const size = rows.length;
  const inputIds = new Int32Array(size * seqLen).fill(padId);
  const attentionMask = new Int32Array(size * seqLen);
  const tokenTypeIds = new Int32Array(size * seqLen);
  rows.forEach((r, b) => {
    inputIds.set(r.inputIds, b * seqLen);
    tokenTypeIds.set(r.tokenTypeIds, b * seqLen);
    attentionMask.fill(1, b * seqLen, b * seqLen + r.inputIds.length);
  });
  const batch: Batch = { size, seqLen, inputIds, attentionMask, tokenTypeIds, lengths, indices: [...indices] };
  if (labels) {
    const picked = indices.map((i) => labels[i]);
    const missing = picked.filter((l) => l === undefined).length;
    if (missing === 0) batch.labels = Float32Array.from(picked as number[]);
    else if (missing < picked.length) throw new Error('collate: some rows of the batch have labels and some do not');
  }
  return batch;
}

export function encodeExamples(tokenizer: BertTokenizer, examples: Example[], maxLength: number): Encoded[] {
  return examples.map((e) => tokenizer.encode(e.textA, e.textB, maxLength));
}
