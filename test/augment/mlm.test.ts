import { describe, expect, it } from 'vitest';
import {
  buildMaskedRow,
  mlmCandidates,
  planMlmBatches,
  topKAllowed,
  type MlmBatch,
  type MlmModel,
  type MlmQuery,
} from '../../src/augment/mlm.ts';
import { UserError } from '../../src/util/errors.ts';

const ids = { clsId: 1, sepId: 2, maskId: 3, padId: 0 };

describe('buildMaskedRow', () => {
  const q = (word: number): MlmQuery => ({ pieces: [[5], [6, 7], [8]], word });
  it('masks the word in segment A and repeats the sentence as segment B (TinyBERT)', () => {
    expect(buildMaskedRow(q(0), { ...ids, maxLength: 64 })).toEqual({ ids: [1, 3, 6, 7, 8, 2, 5, 6, 7, 8, 2], maskPos: 1, typeStart: 6 });
    expect(buildMaskedRow(q(2), { ...ids, maxLength: 64 })!.maskPos).toBe(4);
  });
  it('refuses words of several pieces', () => {
    expect(buildMaskedRow(q(1), { ...ids, maxLength: 64 })).toBeNull();
  });
  it('truncates the unmasked copy first, then segment A, and refuses a mask beyond the limit', () => {
    expect(buildMaskedRow(q(0), { ...ids, maxLength: 8 })!.ids).toEqual([1, 3, 6, 7, 8, 2, 5, 2]);
    expect(buildMaskedRow(q(0), { ...ids, maxLength: 4 })).toEqual({ ids: [1, 3, 6, 2], maskPos: 1, typeStart: 4 });
    expect(buildMaskedRow(q(2), { ...ids, maxLength: 4 })).toBeNull();
  });
});

describe('topKAllowed', () => {
  it('takes the best allowed ids, best first, lower id on ties', () => {
    const s = Float32Array.from([9, 0.5, 3, 0.5, 7, 1, 8]);
    expect(topKAllowed(s, 0, Int32Array.from([1, 2, 3, 4, 5]), 3)).toEqual([4, 2, 5]);
    expect(topKAllowed(s, 0, Int32Array.from([1, 3, 5]), 3)).toEqual([5, 1, 3]);
    expect(topKAllowed(s, 2, Int32Array.from([0, 2]), 5)).toEqual([2, 0]);
  });
});

describe('planMlmBatches', () => {
  it('sorts by length and respects the row and logits caps', () => {
    expect(planMlmBatches([5, 3, 9, 3], 10, { k: 1, maxBatchRows: 2 })).toEqual([[1, 3], [0, 2]]);
    expect(planMlmBatches([5, 3, 9, 3], 10, { k: 1, maxLogits: 100 })).toEqual([[1, 3], [0], [2]]);
    expect(planMlmBatches([5, 3], 10, { k: 1, maxBatchRows: 1, sortByLength: false })).toEqual([[0], [1]]);
    expect(planMlmBatches([5, 3, 9, 3], 1, { k: 1, maxTokens: 10 })).toEqual([[1, 3], [0], [2]]);
  });
});

// A fake MLM whose logits at a position depend on the row's real tokens only (padding must not
// matter when the attention mask is honoured), so batched and single-row runs must agree.
const vocab = ['[PAD]', '[CLS]', '[SEP]', '[MASK]', '##x', 'alpha', 'beta', 'gamma', 'delta', 'eps', 'zeta', '42'];
function fakeRun(calls: number[]) {
  return async (b: MlmBatch): Promise<Float32Array> => {
    calls.push(b.rows);
    const V = vocab.length;
    const out = new Float32Array(b.rows * b.seqLen * V);
    for (let r = 0; r < b.rows; r++) {
      let ctx = 0;
      for (let t = 0; t < b.seqLen; t++) ctx += Number(b.inputIds[r * b.seqLen + t] * b.attentionMask[r * b.seqLen + t]) * (t + 1 + Number(b.tokenTypeIds[r * b.seqLen + t]));
      for (let t = 0; t < b.seqLen; t++) for (let v = 0; v < V; v++) out[(r * b.seqLen + t) * V + v] = Math.sin(v * 1.7 + ctx * 0.37 + t);
    }
    return out;
  };
}

describe('mlmCandidates', () => {
  const sentences = [[[5], [6], [7]], [[8], [9, 4]], [[10], [5], [6], [8], [9]], [[5], [6], [7]]];
  const queries: MlmQuery[] = sentences.flatMap((pieces) => pieces.map((_, word) => ({ pieces, word })));

  it('gives the same candidates batched as one row at a time, with fewer runs', async () => {
    const batchedCalls: number[] = [];
    const singleCalls: number[] = [];
    const model = (calls: number[]): MlmModel => ({ vocab, ...ids, maxLength: 32, run: fakeRun(calls) });
    const batched = await mlmCandidates(queries, model(batchedCalls), { k: 3 });
    const single = await mlmCandidates(queries, model(singleCalls), { k: 3, maxBatchRows: 1, sortByLength: false });
    expect(batched).toEqual(single);
    expect(batched[4]).toBeUndefined(); // word of two pieces
    for (const c of batched.filter((x) => x)) {
      expect(c!.length).toBe(3);
      for (const w of c!) expect(['alpha', 'beta', 'gamma', 'delta', 'eps', 'zeta']).toContain(w);
    }
    // The repeated sentence runs once: 3 + 1 + 5 unique rows.
    expect(singleCalls.length).toBe(9);
    expect(batchedCalls).toEqual([9]);
    expect(batched.slice(10)).toEqual(batched.slice(0, 3));
  });

  it('reports a model whose logits do not match the tokenizer vocabulary', async () => {
    const bad: MlmModel = { vocab: vocab.slice(0, 10), ...ids, maxLength: 32, run: fakeRun([]) };
    await expect(mlmCandidates(queries, bad, { k: 3 })).rejects.toThrow(UserError);
    await expect(mlmCandidates(queries, bad, { k: 3 })).rejects.toThrow(/vocabulary does not match/);
  });
});
