import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openMlmFolder, type OpenMlm } from '../../src/augment/mlm-folder.ts';
import { mlmCandidates, topKAllowed, type MlmQuery } from '../../src/augment/mlm.ts';
import { Rng } from '../../src/util/rng.ts';

const FIXTURE = path.resolve(import.meta.dirname, '../fixtures/tiny-mlm');
const reference = JSON.parse(fs.readFileSync(path.join(FIXTURE, 'reference.json'), 'utf8')) as {
  rows: { inputIds: number[]; tokenTypeIds: number[]; maskPos: number; top10: number[]; top10Logits: number[] }[];
};

describe('masked-LM fixture through onnxruntime', () => {
  let mlm: OpenMlm;
  beforeAll(async () => {
    mlm = await openMlmFolder(FIXTURE, { k: 5, provider: 'cpu' });
  });
  afterAll(async () => {
    await mlm?.session.release();
  });

  it("matches torch's logits at the masked position", async () => {
    const V = mlm.source.model.vocab.length;
    const all = Int32Array.from({ length: V }, (_, i) => i);
    for (const r of reference.rows) {
      const n = r.inputIds.length;
      const logits = await mlm.source.model.run({
        rows: 1,
        seqLen: n,
        inputIds: BigInt64Array.from(r.inputIds.map(BigInt)),
        attentionMask: new BigInt64Array(n).fill(1n),
        tokenTypeIds: BigInt64Array.from(r.tokenTypeIds.map(BigInt)),
      });
      expect(topKAllowed(logits, r.maskPos * V, all, 10)).toEqual(r.top10);
      r.top10.forEach((id, i) => expect(logits[r.maskPos * V + id]).toBeCloseTo(r.top10Logits[i], 4));
    }
  });

  it('gives the same candidates batched (length-bucketed, padded) as one sentence row at a time', async () => {
    const { model, pieces } = mlm.source;
    const words = model.vocab.filter((w) => /^[a-z]{2,}$/.test(w));
    const rng = new Rng(11);
    const queries: MlmQuery[] = [];
    for (let s = 0; s < 12; s++) {
      const sentence = Array.from({ length: 2 + rng.int(9) }, () => words[rng.int(words.length)]);
      const p = sentence.map((w) => pieces(w));
      p.forEach((_, word) => queries.push({ pieces: p, word }));
    }
    const runs: number[] = [];
    const counting = { ...model, topAtMask: (b: Parameters<typeof model.run>[0], idx: number[]) => (runs.push(b.rows), model.topAtMask!(b, idx)) };
    const batched = await mlmCandidates(queries, counting, { k: 5, maxBatchRows: 32 });
    const batchedRuns = runs.length;
    const single = await mlmCandidates(queries, counting, { k: 5, maxBatchRows: 1, sortByLength: false });
    expect(batched).toEqual(single);
    expect(batched.every((c) => c && c.length === 5)).toBe(true);
    expect(batchedRuns).toBeLessThan(runs.length - batchedRuns);
    expect(batchedRuns).toBe(Math.ceil((runs.length - batchedRuns) / 32));
  });

  it('scores only the masked positions in the rewritten graph, with the same candidates as full logits', async () => {
    expect(mlm.source.model.topAtMask).toBeDefined();
    const full = await openMlmFolder(FIXTURE, { k: 5, provider: 'cpu', fastPath: false });
    try {
      expect(full.source.model.topAtMask).toBeUndefined();
      const { pieces } = mlm.source;
      const sentences = ['the movie was good and fun', 'a boring film', 'this story is great but the acting is bad'];
      const queries: MlmQuery[] = sentences.flatMap((s) => {
        const p = s.split(' ').map((w) => pieces(w));
        return p.map((_, word) => ({ pieces: p, word }));
      });
      const fast = await mlmCandidates(queries, mlm.source.model, { k: 5 });
      expect(await mlmCandidates(queries, full.source.model, { k: 5 })).toEqual(fast);
      // k above the graph's baked-in k is capped; below it, a prefix.
      const three = await mlmCandidates(queries, mlm.source.model, { k: 3 });
      three.forEach((c, i) => expect(c).toEqual(fast[i]?.slice(0, 3)));
    } finally {
      await full.session.release();
    }
  });
});
