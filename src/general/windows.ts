/**
 * Corpus lines → model inputs. A line longer than the model takes is split into consecutive windows
 * (nothing is dropped); with `pairs`, consecutive segments of one document become segment A and B
 * (token_type_ids 0 / 1, BERT pre-training style), a pair that is too long is truncated with the same
 * longest_first rule as task inputs, and a document's odd last segment stays single.
 */
import type { Encoded } from '../data/types.ts';
import { truncateLongestFirst } from '../data/truncation.ts';
import { UserError } from '../util/errors.ts';
import type { CorpusLine } from './corpus.ts';

/** What windowing needs of a tokenizer (src/data/tokenizer.ts BertTokenizer has it). */
export interface WindowTokenizer {
  tokenizeToIds(text: string): number[];
  clsId: number;
  sepId: number;
}

export interface WindowOptions {
  /** Tokens per window, special tokens included. */
  maxLength: number;
  pairs: boolean;
}

/** One model input, with the corpus line it starts at (for messages and size estimates). */
export interface CorpusWindow extends Encoded {
  source: CorpusLine;
}

export function checkWindowOptions(o: WindowOptions): void {
  const min = o.pairs ? 5 : 3;
  if (!Number.isInteger(o.maxLength) || o.maxLength < min) {
    throw new UserError(`maxLength must be an integer >= ${min} (room for the special tokens and some text), got ${o.maxLength}`);
  }
}

/** Splits ids into consecutive chunks of at most `size`. */
export function chunk(ids: number[], size: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < ids.length; i += size) out.push(ids.slice(i, i + size));
  return out;
}

export function singleWindow(tok: WindowTokenizer, a: number[]): Encoded {
  return { inputIds: [tok.clsId, ...a, tok.sepId], tokenTypeIds: new Array<number>(a.length + 2).fill(0) };
}

/** `[CLS] A [SEP] B [SEP]`, truncated longest-first to maxLength. */
export function pairWindow(tok: WindowTokenizer, a: number[], b: number[], maxLength: number): Encoded {
  const [na, nb] = truncateLongestFirst(a.length, b.length, maxLength - 3);
  return {
    inputIds: [tok.clsId, ...a.slice(0, na), tok.sepId, ...b.slice(0, nb), tok.sepId],
    tokenTypeIds: [...new Array<number>(na + 2).fill(0), ...new Array<number>(nb + 1).fill(1)],
  };
}

/** Model inputs of the corpus, in corpus order. Lines with no tokens at all are skipped. */
export function* corpusWindows(lines: Iterable<CorpusLine>, tok: WindowTokenizer, opts: WindowOptions): Generator<CorpusWindow> {
  checkWindowOptions(opts);
  const size = opts.maxLength - 2;
  let pending: { ids: number[]; source: CorpusLine } | undefined;
  for (const line of lines) {
    const ids = tok.tokenizeToIds(line.text);
    if (line.docStart && pending) {
      yield { ...singleWindow(tok, pending.ids), source: pending.source };
      pending = undefined;
    }
    for (const seg of chunk(ids, size)) {
      if (!opts.pairs) {
        yield { ...singleWindow(tok, seg), source: line };
      } else if (pending) {
        yield { ...pairWindow(tok, pending.ids, seg, opts.maxLength), source: pending.source };
        pending = undefined;
      } else {
        pending = { ids: seg, source: line };
      }
    }
  }
  if (pending) yield { ...singleWindow(tok, pending.ids), source: pending.source };
}
