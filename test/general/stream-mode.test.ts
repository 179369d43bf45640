import { describe, expect, it } from 'vitest';
import { recordBytes, type CacheLayout } from '../../src/cache/format.ts';
import type { Batch, Encoded } from '../../src/data/types.ts';
import { chooseMode, estimateCacheBytes } from '../../src/general/mode.ts';
import { passBatches, StreamBatchSource } from '../../src/general/stream.ts';
import { isUserError } from '../../src/util/errors.ts';

/** Window i has i % 5 + 2 tokens, all equal to i (so a batch row tells which window it holds). */
function windows(n: number): Encoded[] {
  return Array.from({ length: n }, (_, i) => ({ inputIds: new Array(2 + (i % 5)).fill(i), tokenTypeIds: new Array(2 + (i % 5)).fill(0) }));
}

const opts = { batchSize: 4, bufferBatches: 3, seed: 7, padId: 0 };

describe('passBatches', () => {
  it('covers every window once per pass, with its position as index', () => {
    const batches = [...passBatches(windows(30), opts, 0)];
    const seen = batches.flatMap((b) => b.indices).sort((a, b) => a - b);
    expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => i));
    for (const b of batches) {
      b.indices.forEach((idx, r) => {
        expect(b.inputIds[r * b.seqLen]).toBe(idx);
        expect(b.lengths[r]).toBe(2 + (idx % 5));
      });
    }
    // Blocks of 12 windows: the first three batches hold windows 0..11 only.
    expect(batches.slice(0, 3).flatMap((b) => b.indices).every((i) => i < 12)).toBe(true);
    expect(batches.map((b) => b.size)).toEqual([4, 4, 4, 4, 4, 4, 2, 4]);
  });

  it('is reproducible per pass and differs between passes', () => {
    const order = (epoch: number) => [...passBatches(windows(30), opts, epoch)].map((b) => b.indices.join(','));
    expect(order(1)).toEqual(order(1));
    expect(order(1)).not.toEqual(order(0));
  });
});

describe('StreamBatchSource', () => {
  it('hands out batches by (pass, cursor), replaying after a jump back, and runs onBatch first', async () => {
    const seen: number[][] = [];
    let opened = 0;
    const src = new StreamBatchSource(() => {
      opened++;
      return windows(30);
    }, opts, 'k', async (b: Batch) => {
      seen.push(b.indices);
    });
    const reference = [...passBatches(windows(30), opts, 0)];
    const b0 = await src.next(0, 0);
    const b1 = await src.next(0, 1);
    expect([b0!.indices, b1!.indices]).toEqual([reference[0].indices, reference[1].indices]);
    // A resumed run starts at its saved cursor: the source replays the pass up to it.
    const fresh = new StreamBatchSource(() => windows(30), opts, 'k');
    expect((await fresh.next(0, 5))!.indices).toEqual(reference[5].indices);
    expect(await fresh.next(0, 8)).toBeUndefined();
    expect((await src.next(0, 0))!.indices).toEqual(reference[0].indices);
    expect(opened).toBe(2);
    expect(seen.length).toBe(3);
    src.close();
  });
});

describe('cache size estimate and mode choice', () => {
  const layout: CacheLayout = {
    numLabels: 0, hiddenSize: 4, numHeads: 2, numLayers: 1, dtype: 'float16', logits: false,
    hiddenLayers: [0, 1], attentionLayers: [1], scores: true, probs: false,
  };

  it('counts record bytes: 2 hidden layers × L × H + heads × L² values of 2 bytes', () => {
    // L = 3: 2·(3·4) + 2·9 = 42 values = 84 bytes.
    expect(recordBytes(layout, 3)).toBe(84);
    expect(estimateCacheBytes({ windowLengths: [3, 3], bytesRead: 10, exhausted: true }, 10, layout)).toEqual({ bytes: 168, windows: 2, exact: true });
  });

  it('extrapolates a partial sample by corpus bytes', () => {
    // 168 bytes of cache from 10 of 1000 corpus bytes → ×100.
    expect(estimateCacheBytes({ windowLengths: [3, 3], bytesRead: 10, exhausted: false }, 1000, layout)).toEqual({ bytes: 16800, windows: 200, exact: false });
  });

  it('auto caches within the budget and goes online above it; explicit modes are kept or refused', () => {
    const small = { bytes: 1e6, windows: 100, exact: true };
    const big = { bytes: 9e9, windows: 1e6, exact: false };
    expect(chooseMode('auto', small, 5e9).mode).toBe('cached');
    const online = chooseMode('auto', big, 5e9);
    expect(online.mode).toBe('online');
    expect(online.reason).toMatch(/online mode \(auto\): estimated teacher cache 9\.00 GB .* above the budget of 5\.00 GB/);
    expect(chooseMode('online', small, 5e9).mode).toBe('online');
    expect(chooseMode('cached', small, 5e9).mode).toBe('cached');
    try {
      chooseMode('cached', big, 5e9);
      throw new Error('expected a UserError');
    } catch (e) {
      expect(isUserError(e)).toBe(true);
      expect((e as Error).message).toMatch(/above the budget.*--mode online/);
    }
  });
});
