/**
 * Sampling of sentence variants (TinyBERT's DataAugmentor.augment): N draws, each replacing every
 * word that has candidates with probability p by one of them chosen uniformly; the original comes
 * first, duplicates (and draws equal to the original) are dropped, so at most N + 1 sentences.
 */
import { Rng } from '../util/rng.ts';
import { UserError } from '../util/errors.ts';

export interface SamplingOptions {
  /** Draws per sentence (TinyBERT's N). */
  n: number;
  /** Replacement probability per eligible word. */
  p: number;
}

export function validateSampling(opts: SamplingOptions): void {
  if (!Number.isInteger(opts.n) || opts.n < 1) throw new UserError(`augment: n must be an integer >= 1 (got ${opts.n})`);
  if (!(opts.p >= 0 && opts.p <= 1)) throw new UserError(`augment: p must be within [0, 1] (got ${opts.p})`);
}

/**
 * @param words the sentence's words (basic-tokenized)
 * @param candidates per word: replacement words, or undefined / empty when the word stays
 * @returns the original (words joined by spaces) followed by the distinct variants
 */
export function sampleVariants(
  words: readonly string[],
  candidates: ReadonlyArray<readonly string[] | undefined>,
  opts: SamplingOptions,
  rng: Rng,
): string[] {
  const original = words.join(' ');
  const seen = new Set([original]);
  const out = [original];
  const slots: number[] = [];
  for (let i = 0; i < words.length; i++) if (candidates[i] && candidates[i]!.length > 0) slots.push(i);
  if (slots.length === 0 || opts.p === 0) return out;
  for (let draw = 0; draw < opts.n; draw++) {
    const variant = words.slice();
    for (const i of slots) {
      if (rng.next() < opts.p) {
        const list = candidates[i]!;
        variant[i] = list[rng.int(list.length)];
      }
    }
    const text = variant.join(' ');
    if (!seen.has(text)) {
      seen.add(text);
      out.push(text);
    }
  }
  return out;
}

/**
 * A per-sentence seed from the run's seed, the example's index and the text column, so a sentence's
 * variants do not depend on which other sentences were processed or in which order.
 */
export function sentenceSeed(seed: number, exampleIndex: number, column: number): number {
  let h = Math.imul((seed >>> 0) ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ exampleIndex, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16) ^ Math.imul(column + 1, 0x27d4eb2f), 0x165667b1);
  return (h ^ (h >>> 15)) >>> 0;
}
