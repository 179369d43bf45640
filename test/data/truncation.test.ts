import { describe, expect, it } from 'vitest';
import { truncateLongestFirst } from '../../src/data/truncation.ts';

describe('truncateLongestFirst (HF tokenizers longest_first)', () => {
  // The table of tokenizers/src/utils/truncation.rs `truncate_encodings_longest_first`: max_length 7,
  // lengths empty 0, short 2, medium 4, long 8.
  const E = 0, S = 2, M = 4, L = 8;
  it.each([
    [E, E, 0, 0], [E, S, 0, 2], [E, M, 0, 4], [E, L, 0, 7],
    [S, E, 2, 0], [S, S, 2, 2], [S, M, 2, 4], [S, L, 2, 5],
    [M, E, 4, 0], [M, S, 4, 2], [M, M, 3, 4], [M, L, 3, 4],
    [L, E, 7, 0], [L, S, 5, 2], [L, M, 4, 3], [L, L, 3, 4],
  ])('(%i, %i) -> (%i, %i) with budget 7', (a, b, na, nb) => {
    expect(truncateLongestFirst(a, b, 7)).toEqual([na, nb]);
  });

  it('budget 0 empties both; single text is cut to the budget', () => {
    expect(truncateLongestFirst(4, 4, 0)).toEqual([0, 0]);
    expect(truncateLongestFirst(10, 0, 6)).toEqual([6, 0]);
  });

  it('never exceeds the budget nor the real lengths', () => {
    for (let a = 0; a < 12; a++)
      for (let b = 0; b < 12; b++)
        for (let k = 0; k < 14; k++) {
          const [na, nb] = truncateLongestFirst(a, b, k);
          expect(na + nb).toBe(Math.min(a + b, k));
          expect(na).toBeLessThanOrEqual(a);
          expect(nb).toBeLessThanOrEqual(b);
        }
  });
});
