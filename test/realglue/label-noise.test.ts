import { describe, expect, it } from 'vitest';
import { disagreements, originalRows } from '../../scripts/real-glue/label-noise.ts';

describe('real-GLUE label noise of augmented rows', () => {
  it('finds each source row in order; the rows after it are its variants', () => {
    expect(originalRows(['a', 'a1', 'a2', 'b', 'c', 'c1'], ['a', 'b', 'c'])).toEqual([true, false, false, true, true, false]);
    // A variant equal to the next source row's text is that source row (the file keeps originals first).
    expect(originalRows(['a', 'b', 'b'], ['a', 'b'])).toEqual([true, true, false]);
    expect(() => originalRows(['x', 'a'], ['a'])).toThrow(/before the first source row/);
    expect(() => originalRows(['a', 'c'], ['a', 'b'])).toThrow(/only 1 of 2 source rows/);
  });
  it('counts teacher-vs-label disagreement per group (original / variant × length)', () => {
    const d = disagreements([
      { original: true, words: 12, label: 1, teacher: 1 },
      { original: false, words: 12, label: 1, teacher: 0 },
      { original: false, words: 11, label: 0, teacher: 0 },
      { original: false, words: 3, label: 0, teacher: 1 },
    ], 10);
    expect(d).toEqual({
      'original, ≥ 10 words': { rows: 1, disagree: 0 },
      'variant, ≥ 10 words': { rows: 2, disagree: 1 },
      'variant, < 10 words': { rows: 1, disagree: 1 },
    });
  });
});
