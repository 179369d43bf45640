/**
 * The cache's deterministic plan: batches of similar length (sorted over the whole split, so
 * padding is minimal), grouped into shards of about `shardBytes`, and each example's place on disk.
 * Every builder process (and every resumed run) computes the same plan from the same inputs.
 */
import { planBatches } from '../data/batching.ts';
import { INDEX_ENTRY_BYTES, recordBytes, type CacheLayout } from './format.ts';

export interface ShardPlan {
  /** Batches (lists of example indices) written into this shard, in order. */
  batches: number[][];
  examples: number;
  bytes: number;
}

export interface CachePlan {
  shards: ShardPlan[];
  /** Per example: shard number, length, byte offset inside the shard. */
  shardOf: Uint32Array;
  offsetOf: Float64Array;
  totalBytes: number;
}

export function planCache(lengths: number[], batchSize: number, layout: CacheLayout, shardBytes: number): CachePlan {
  const n = lengths.length;
  const batches = n === 0 ? [] : planBatches(lengths, { batchSize, shuffle: false, seed: 0, bucketSize: Math.ceil(n / batchSize) });
  const shards: ShardPlan[] = [];
  const shardOf = new Uint32Array(n);
  const offsetOf = new Float64Array(n);
  let current: ShardPlan | undefined;
  let totalBytes = 0;
  for (const batch of batches) {
    const size = batch.reduce((s, i) => s + recordBytes(layout, lengths[i]), 0);
    if (!current || (current.bytes > 0 && current.bytes + size > shardBytes)) {
      current = { batches: [], examples: 0, bytes: 0 };
      shards.push(current);
    }
    for (const i of batch) {
      shardOf[i] = shards.length - 1;
      offsetOf[i] = current.bytes;
      current.bytes += recordBytes(layout, lengths[i]);
    }
    current.batches.push(batch);
    current.examples += batch.length;
    totalBytes += size;
  }
  return { shards, shardOf, offsetOf, totalBytes };
}

/** index.bin: shard u32, length u32, offset f64 per example, little-endian. */
export function encodeIndex(plan: CachePlan, lengths: number[]): Uint8Array {
  const buf = new Uint8Array(lengths.length * INDEX_ENTRY_BYTES);
  const view = new DataView(buf.buffer);
  for (let i = 0; i < lengths.length; i++) {
    view.setUint32(i * INDEX_ENTRY_BYTES, plan.shardOf[i], true);
    view.setUint32(i * INDEX_ENTRY_BYTES + 4, lengths[i], true);
    view.setFloat64(i * INDEX_ENTRY_BYTES + 8, plan.offsetOf[i], true);
  }
  return buf;
}
