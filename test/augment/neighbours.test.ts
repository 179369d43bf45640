import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { nearestNeighbours, normalizeRows, type Matrix } from '../../src/augment/neighbours.ts';
import { EmbeddingCandidates, neighbourCacheFile } from '../../src/augment/embedding-candidates.ts';
import { onnxNeighbourSearch } from '../../src/augment/neighbours-onnx.ts';
import { Rng } from '../../src/util/rng.ts';

// A hand-made 3-d embedding with known cosine neighbours (worked out in the comments).
const vocab = ['[PAD]', '[UNK]', 'cat', 'dog', 'kitten', 'car', 'truck', '##s', '.', 'puppy'];
const rows = [
  [0, 0, 0], // [PAD]
  [1, 0, 0], // [UNK]: identical to cat, but special: never a candidate
  [1, 0, 0], // cat
  [0.7, 0.7, 0], // dog: cos(cat) = 0.7071, cos(kitten) = 0.7809, cos(puppy) = 0.98995
  [0.9, 0.1, 0], // kitten: cos(cat) = 0.9939
  [0, 0, 1], // car: cos(truck) = 0.9945, 0 with cat/dog/kitten/puppy
  [0, 0.1, 0.95], // truck
  [1, 0.01, 0], // ##s: continuation piece, never a candidate
  [1, 0, 0.01], // '.': not alphabetic, never a candidate
  [0.6, 0.8, 0], // puppy: cos(cat) = 0.6
];
const emb: Matrix = { data: Float32Array.from(rows.flat()), rows: rows.length, dim: 3 };
const id = (w: string) => vocab.indexOf(w);

describe('nearestNeighbours', () => {
  const normed = normalizeRows(emb);
  const allowed = Int32Array.from([2, 3, 4, 5, 6, 9]);

  it('normalizes rows to unit length and leaves zero rows at zero', () => {
    const r = Array.from(normed.data.slice(3 * 3, 4 * 3));
    expect(r[0]).toBeCloseTo(Math.SQRT1_2, 6);
    expect(r[1]).toBeCloseTo(Math.SQRT1_2, 6);
    expect(Array.from(normed.data.slice(0, 3))).toEqual([0, 0, 0]);
  });

  it('finds the hand-computed neighbours, best first, never the word itself', () => {
    const [cat, dog, car] = nearestNeighbours(normed, [id('cat'), id('dog'), id('car')], allowed, 3);
    expect(Array.from(cat).map((i) => vocab[i])).toEqual(['kitten', 'dog', 'puppy']);
    expect(Array.from(dog).map((i) => vocab[i])).toEqual(['puppy', 'kitten', 'cat']);
    // truck, then a tie at cosine 0 broken by the lower id: cat (2) before dog (3).
    expect(Array.from(car).map((i) => vocab[i])).toEqual(['truck', 'cat', 'dog']);
  });

  it('returns fewer than k when there are fewer candidates', () => {
    const [cat] = nearestNeighbours(normed, [id('cat')], Int32Array.from([2, 4]), 5);
    expect(Array.from(cat)).toEqual([id('kitten')]);
  });

  it('gives the same answer for any blocking, equal to brute force on a random matrix', () => {
    const rng = new Rng(5);
    const m: Matrix = { data: Float32Array.from({ length: 200 * 17 }, () => rng.normal()), rows: 200, dim: 17 };
    const n = normalizeRows(m);
    const cand = Int32Array.from({ length: 150 }, (_, i) => i * 1 + 30);
    const queries = [0, 5, 31, 77, 199];
    const a = nearestNeighbours(n, queries, cand, 7);
    const b = nearestNeighbours(n, queries, cand, 7, { queryBlock: 2, candidateBlock: 13 });
    expect(b).toEqual(a);
    queries.forEach((q, qi) => {
      const sims = Array.from(cand)
        .filter((c) => c !== q)
        .map((c) => {
          let s = 0;
          for (let j = 0; j < 17; j++) s += n.data[q * 17 + j] * n.data[c * 17 + j];
          return [c, s] as const;
        })
        .sort((x, y) => y[1] - x[1]);
      expect(Array.from(a[qi])).toEqual(sims.slice(0, 7).map((x) => x[0]));
    });
  });

  it('rejects a matrix whose size does not match its shape', () => {
    expect(() => normalizeRows({ data: new Float32Array(5), rows: 2, dim: 3 })).toThrow(/expected 2x3 = 6 values, got 5/);
  });
});

describe('EmbeddingCandidates', () => {
  it('gives whole-word neighbours, [] for words outside the vocabulary, and persists them by model hash', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nb-'));
    const file = neighbourCacheFile(dir, 'abc123');
    const src = new EmbeddingCandidates(emb, vocab, 'abc123', 2, file);
    const got = await src.candidatesFor(['cat', 'dog', 'zebra', 'cat']);
    expect(got.get('cat')).toEqual(['kitten', 'dog']);
    expect(got.get('dog')).toEqual(['puppy', 'kitten']);
    expect(got.get('zebra')).toEqual([]);
    src.save();
    const saved = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(saved).toEqual({ model: 'abc123', k: 2, neighbours: { [id('cat')]: [id('kitten'), id('dog')], [id('dog')]: [id('puppy'), id('kitten')] } });

    // A later run reads the file instead of computing (proved by a planted list), a smaller k slices it.
    saved.neighbours[id('cat')] = [id('truck'), id('car')];
    fs.writeFileSync(file, JSON.stringify(saved));
    const again = new EmbeddingCandidates(emb, vocab, 'abc123', 1, file);
    expect(again.size).toBe(2);
    expect((await again.candidatesFor(['cat'])).get('cat')).toEqual(['truck']);
    // Another model's hash, or a larger k than stored, ignores the file.
    expect((await new EmbeddingCandidates(emb, vocab, 'other', 2, file).candidatesFor(['cat'])).get('cat')).toEqual(['kitten', 'dog']);
    expect(new EmbeddingCandidates(emb, vocab, 'abc123', 3, file).size).toBe(0);
  });
});

describe('onnxNeighbourSearch', () => {
  it('finds the same neighbours as the JS search (hand-made ties included and a random matrix)', async () => {
    const normed = normalizeRows(emb);
    const allowed = Int32Array.from([2, 3, 4, 5, 6, 9]);
    const hand = await onnxNeighbourSearch(normed, allowed, 3, { provider: 'cpu' });
    const queries = [id('cat'), id('dog'), id('car'), id('##s')];
    expect(await hand.search(queries)).toEqual(nearestNeighbours(normed, queries, allowed, 3));
    await hand.release();

    const rng = new Rng(9);
    const m = normalizeRows({ data: Float32Array.from({ length: 300 * 24 }, () => rng.normal()), rows: 300, dim: 24 });
    const cand = Int32Array.from({ length: 250 }, (_, i) => i + 50);
    const q = Array.from({ length: 40 }, (_, i) => i * 7);
    const ort = await onnxNeighbourSearch(m, cand, 6, { provider: 'cpu', blockRows: 16 });
    expect(await ort.search(q)).toEqual(nearestNeighbours(m, q, cand, 6));
    await ort.release();
  });
});
