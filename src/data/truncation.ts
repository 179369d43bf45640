/**
 * Hugging Face tokenizers' `longest_first` truncation (tokenizers/src/utils/truncation.rs,
 * `truncate_encodings`), as a pure function of the two lengths. `budget` excludes special tokens
 * (the library subtracts them first: 2 for a single text, 3 for a pair in BERT).
 *
 * With n1 the shorter and n2 the longer length:
 *  - n1 + n2 <= budget: nothing is cut;
 *  - else if the shorter fits in half the budget: only the longer is cut, to budget - n1;
 *  - else both are cut: the shorter to floor(budget / 2), the longer to ceil(budget / 2).
 * On equal lengths the FIRST sequence counts as the shorter, so an odd budget gives the extra token
 * to the second text. (Python's slow tokenizers and Google's `_truncate_seq_pair`, which pop one
 * token at a time from the longer text and from the second on ties, differ only in that tie case.)
 * Tokens are always removed from the end (truncation side "right").
 */
export function truncateLongestFirst(lengthA: number, lengthB: number, budget: number): [number, number] {
  if (budget < 0) throw new Error(`truncateLongestFirst: negative budget ${budget}`);
  if (lengthA + lengthB <= budget) return [lengthA, lengthB];
  if (lengthB === 0) return [budget, 0];
  if (lengthA === 0) return [0, budget];
  const swap = lengthA > lengthB;
  let n1 = swap ? lengthB : lengthA;
  let n2: number;
  n2 = n1 > budget ? n1 : Math.max(n1, budget - n1);
  if (n1 + n2 > budget) {
    n1 = Math.floor(budget / 2);
    n2 = n1 + (budget % 2);
  }
  return swap ? [n2, n1] : [n1, n2];
}
