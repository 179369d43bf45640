/**
 * Where replacement words come from, per sentence and word: the masked LM for words that are one
 * piece of its vocabulary (batched over all sentences of a chunk), the teacher's embedding
 * neighbours otherwise (and for every word when no MLM is given). Ineligible words get none.
 */
import type { EmbeddingCandidates } from './embedding-candidates.ts';
import { mlmCandidates, type MlmModel, type MlmOptions, type MlmQuery } from './mlm.ts';
import { isEligibleWord } from './words.ts';

export interface CandidateCounts {
  /** Eligible words whose candidates came from the masked LM. */
  mlm: number;
  /** ... from embedding neighbours. */
  embedding: number;
  /** Eligible words left without candidates (unknown to both). */
  none: number;
}

export interface MlmSource {
  model: MlmModel;
  /** The word's pieces in the MLM's vocabulary. */
  pieces: (word: string) => readonly number[];
  options: MlmOptions;
}

/** Candidates for every word of every sentence (undefined: the word stays as it is). */
export async function candidatesForSentences(
  sentences: readonly (readonly string[])[],
  embedding: EmbeddingCandidates,
  mlm: MlmSource | undefined,
  counts: CandidateCounts,
): Promise<(string[] | undefined)[][]> {
  const out = sentences.map((words) => new Array<string[] | undefined>(words.length));
  const queries: MlmQuery[] = [];
  const querySlots: [number, number][] = [];
  const embeddingSlots: [number, number][] = [];
  sentences.forEach((words, s) => {
    const pieces = mlm ? words.map((w) => mlm.pieces(w)) : undefined;
    words.forEach((w, i) => {
      if (!isEligibleWord(w)) return;
      if (pieces && pieces[i].length === 1) {
        queries.push({ pieces, word: i });
        querySlots.push([s, i]);
      } else embeddingSlots.push([s, i]);
    });
  });
  if (mlm && queries.length > 0) {
    const found = await mlmCandidates(queries, mlm.model, mlm.options);
    found.forEach((c, q) => {
      const [s, i] = querySlots[q];
      if (c && c.length > 0) {
        out[s][i] = c;
        counts.mlm++;
      } else embeddingSlots.push([s, i]); // beyond the MLM's length limit
    });
  }
  const neighbours = await embedding.candidatesFor(embeddingSlots.map(([s, i]) => sentences[s][i]));
  for (const [s, i] of embeddingSlots) {
    const c = neighbours.get(sentences[s][i])!;
    if (c.length > 0) {
      out[s][i] = c;
      counts.embedding++;
    } else counts.none++;
  }
  return out;
}
