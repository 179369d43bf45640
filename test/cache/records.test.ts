import { describe, expect, it } from 'vitest';
import type { Batch } from '../../src/data/types.ts';
import type { CacheLayout } from '../../src/cache/format.ts';
import { batchRecordBytes, decodeRecord, encodeBatchRecords } from '../../src/cache/records.ts';
import type { OutputTensor } from '../../src/teacher/session.ts';
import type { TeacherOutputs } from '../../src/teacher/teacher.ts';
import { recordSections } from '../../src/cache/format.ts';

const H = 4;
const A = 2;
const layout = (dtype: 'float16' | 'float32'): CacheLayout => ({
  numLabels: 2, hiddenSize: H, numHeads: A, numLayers: 1, dtype, logits: true,
  hiddenLayers: [0, 1], attentionLayers: [1], scores: true, probs: true,
});

/** A batch of the given real lengths padded to the longest, with outputs whose values name their place. */
function fixture(lengths: number[], salt: number): { batch: Batch; out: TeacherOutputs } {
  const B = lengths.length;
  const L = Math.max(...lengths);
  const batch: Batch = {
    size: B, seqLen: L, inputIds: new Int32Array(B * L), attentionMask: new Int32Array(B * L), tokenTypeIds: new Int32Array(B * L),
    lengths, indices: lengths.map((_, i) => i),
  };
  const tensor = (dims: number[], k: number): OutputTensor => {
    const n = dims.reduce((a, b) => a * b, 1);
    // Values exact in float16: small multiples of 1/8.
    return { dims, data: Float32Array.from({ length: n }, (_, i) => ((i * 7 + k * 13 + salt) % 97) / 8 - 6) };
  };
  const out: TeacherOutputs = {
    logits: tensor([B, 2], 1),
    hidden: new Map([[0, tensor([B, L, H], 2)], [1, tensor([B, L, H], 3)]]),
    scores: new Map([[1, tensor([B, A, L, L], 4)]]),
    probs: new Map([[1, tensor([B, A, L, L], 5)]]),
    query: new Map(), key: new Map(), value: new Map(),
  };
  return { batch, out };
}

describe('encodeBatchRecords into a reused buffer', () => {
  for (const dtype of ['float16', 'float32'] as const) {
    it(`${dtype}: the bytes equal a fresh encoding, whatever the buffer held before`, () => {
      const big = fixture([5, 3, 5], 1);
      const small = fixture([2, 4], 2);
      const reused = new Uint8Array(batchRecordBytes(big.batch, layout(dtype)));
      expect(encodeBatchRecords(big.out, big.batch, layout(dtype), reused).length).toBe(reused.length);
      const fresh = encodeBatchRecords(small.out, small.batch, layout(dtype));
      const again = encodeBatchRecords(small.out, small.batch, layout(dtype), reused);
      expect(again.buffer).toBe(reused.buffer);
      expect(again.length).toBe(batchRecordBytes(small.batch, layout(dtype)));
      expect(Buffer.from(again).equals(Buffer.from(fresh))).toBe(true);
    });
  }

  it('decodes back to the real tokens of each row (hidden rows, the len × len attention block)', () => {
    const { batch, out } = fixture([3, 2], 3);
    const l = layout('float32');
    const bytes = encodeBatchRecords(out, batch, l, new Uint8Array(4096).fill(255));
    const second = recordSections(l, 3).total;
    const ex = decodeRecord(bytes.slice(second), l, 1, 2);
    const L = 3;
    const hidden1 = out.hidden.get(1)!.data;
    expect([...ex.hidden[1]]).toEqual([...hidden1.subarray(L * H, L * H + 2 * H)]);
    const scores = out.scores.get(1)!.data;
    // Row 1, head 1, query 1, keys 0..1: element ((1 * A + 1) * L + 1) * L.
    const at = ((1 * A + 1) * L + 1) * L;
    expect([...ex.attention[0].subarray(2 * 2 + 2, 2 * 2 + 4)]).toEqual([scores[at], scores[at + 1]]);
    expect([...ex.logits!]).toEqual([...out.logits!.data.subarray(2, 4)]);
  });

  it('a buffer too small, or a view into the middle of one, is not used', () => {
    const { batch, out } = fixture([4], 4);
    const l = layout('float16');
    const need = batchRecordBytes(batch, l);
    expect(encodeBatchRecords(out, batch, l, new Uint8Array(need - 2)).buffer.byteLength).toBe(need);
    const middle = new Uint8Array(need + 8).subarray(8);
    expect(encodeBatchRecords(out, batch, l, middle).buffer).not.toBe(middle.buffer);
  });
});
