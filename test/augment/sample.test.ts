import { describe, expect, it } from 'vitest';
import { sampleVariants, sentenceSeed, validateSampling } from '../../src/augment/sample.ts';
import { Rng } from '../../src/util/rng.ts';
import { UserError } from '../../src/util/errors.ts';

const words = ['the', 'movie', 'was', 'great', '.'];
const cands = [undefined, ['film', 'picture'], undefined, ['good', 'fine', 'superb'], undefined];

describe('sampleVariants', () => {
  it('is deterministic under a seed and differs across seeds', () => {
    const a = sampleVariants(words, cands, { n: 20, p: 0.4 }, new Rng(7));
    const b = sampleVariants(words, cands, { n: 20, p: 0.4 }, new Rng(7));
    const c = sampleVariants(words, cands, { n: 20, p: 0.4 }, new Rng(8));
    expect(a).toEqual(b);
    expect(c).not.toEqual(a);
  });

  it('keeps the original first, drops duplicates, changes only words with candidates', () => {
    const out = sampleVariants(words, cands, { n: 200, p: 0.5 }, new Rng(1));
    expect(out[0]).toBe('the movie was great .');
    expect(new Set(out).size).toBe(out.length);
    // 3 choices for "movie" x 4 for "great" = 12 distinct sentences, all reached in 200 draws.
    expect(out.length).toBe(12);
    for (const s of out) {
      const w = s.split(' ');
      expect([w[0], w[2], w[4]]).toEqual(['the', 'was', '.']);
      expect(['movie', 'film', 'picture']).toContain(w[1]);
      expect(['great', 'good', 'fine', 'superb']).toContain(w[3]);
    }
  });

  it('makes at most n variants, none with p = 0, and replaces every slot with p = 1', () => {
    expect(sampleVariants(words, cands, { n: 3, p: 0.5 }, new Rng(2)).length).toBeLessThanOrEqual(4);
    expect(sampleVariants(words, cands, { n: 10, p: 0 }, new Rng(2))).toEqual(['the movie was great .']);
    const all = sampleVariants(words, cands, { n: 30, p: 1 }, new Rng(3)).slice(1);
    for (const s of all) expect(s.split(' ')[1]).not.toBe('movie');
    expect(sampleVariants(['.', 'the'], [undefined, []], { n: 5, p: 1 }, new Rng(3))).toEqual(['. the']);
  });

  it('rejects p outside [0, 1] and n < 1', () => {
    expect(() => validateSampling({ n: 0, p: 0.4 })).toThrow(UserError);
    expect(() => validateSampling({ n: 2.5, p: 0.4 })).toThrow(/n must be an integer/);
    expect(() => validateSampling({ n: 5, p: 1.2 })).toThrow(/p must be within \[0, 1\]/);
    expect(() => validateSampling({ n: 5, p: Number.NaN })).toThrow(UserError);
    expect(() => validateSampling({ n: 1, p: 1 })).not.toThrow();
  });
});

describe('sentenceSeed', () => {
  it('depends on seed, example and column', () => {
    const s = sentenceSeed(42, 3, 0);
    expect(sentenceSeed(42, 3, 0)).toBe(s);
    expect(new Set([s, sentenceSeed(43, 3, 0), sentenceSeed(42, 4, 0), sentenceSeed(42, 3, 1)]).size).toBe(4);
  });
});
