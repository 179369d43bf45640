/**
 * Masked-LM candidates (TinyBERT's _masked_language_model), batched: every (sentence, word) pair
 * becomes one input row "[CLS] sentence-with-[MASK] [SEP] sentence [SEP]" (segment ids 0 / 1, as
 * TinyBERT), the rows of all sentences are sorted by length and packed into large batches, and the
 * top-k whole-word pieces at the masked position are the word's candidates.
 */
import { UserError } from '../util/errors.ts';
import { isCandidatePiece } from './words.ts';

/** One padded batch of MLM input, row-major [rows, seqLen]. */
export interface MlmBatch {
  rows: number;
  seqLen: number;
  inputIds: BigInt64Array;
  attentionMask: BigInt64Array;
  tokenTypeIds: BigInt64Array;
}

/** Runs the MLM: logits [rows, seqLen, vocabSize], row-major. */
export type MlmRun = (batch: MlmBatch) => Promise<Float32Array>;

export interface MlmModel {
  /** Piece strings by id; its length is the logits' last dimension. */
  vocab: readonly string[];
  clsId: number;
  sepId: number;
  maskId: number;
  padId: number;
  /** Longest input row (the model's position limit). */
  maxLength: number;
  /** Full logits of every position (used when topAtMask is absent). */
  run: MlmRun;
  /**
   * Optional fast path (a graph rewritten by mlm-surgery.ts): the top pieces, allowed ones only,
   * at the given flat positions (b * seqLen + t) of the batch, as ids [R, topK] best first and
   * their scores (disallowed fill-ins score <= -1e29).
   */
  topAtMask?: (batch: MlmBatch, flatIndex: number[]) => Promise<{ ids: Float32Array; values: Float32Array; k: number }>;
}

/** Mask word `word` of a sentence given as its words' pieces. */
export interface MlmQuery {
  pieces: readonly (readonly number[])[];
  word: number;
}

export interface MlmOptions {
  k: number;
  /** Rows per batch at most; 1 gives the one-at-a-time loop. */
  maxBatchRows?: number;
  /** Cap on rows × seqLen × vocab per batch (memory of the full logits), default 2^26. */
  maxLogits?: number;
  /** Cap on rows × seqLen per batch (activations, attention maps), default 16384. */
  maxTokens?: number;
  /** Sort rows by length so batches carry little padding (default true). */
  sortByLength?: boolean;
  onProgress?: (done: number, total: number) => void;
}

interface Row {
  ids: number[];
  maskPos: number;
  typeStart: number;
}

/**
 * The MLM input row for one query, truncated to maxLength by shortening the unmasked copy first;
 * null when the word itself lies beyond maxLength or is not a single piece.
 */
export function buildMaskedRow(q: MlmQuery, m: Pick<MlmModel, 'clsId' | 'sepId' | 'maskId' | 'maxLength'>): Row | null {
  if (q.pieces[q.word]?.length !== 1) return null;
  const flat: number[] = [];
  let maskPos = -1;
  q.pieces.forEach((p, i) => {
    if (i === q.word) maskPos = flat.length + 1;
    flat.push(...p);
  });
  const a = [m.clsId, ...flat, m.sepId];
  a[maskPos] = m.maskId;
  if (maskPos >= m.maxLength - 1) return null;
  if (a.length > m.maxLength) {
    const ids = a.slice(0, m.maxLength - 1).concat(m.sepId);
    return { ids, maskPos, typeStart: ids.length };
  }
  const roomB = m.maxLength - a.length - 1;
  const ids = roomB > 0 ? a.concat(flat.slice(0, roomB), m.sepId) : a;
  return { ids, maskPos, typeStart: a.length };
}

/** Ids of pieces allowed as candidates (whole-word, alphabetic), ascending. */
export function candidatePieceIds(vocab: readonly string[]): Int32Array {
  const ids: number[] = [];
  vocab.forEach((piece, i) => {
    if (isCandidatePiece(piece)) ids.push(i);
  });
  return Int32Array.from(ids);
}

/** The k allowed ids with the highest score in scores[offset + id], best first (ties: lower id). */
export function topKAllowed(scores: Float32Array, offset: number, allowed: Int32Array, k: number): number[] {
  const ids: number[] = [];
  const vals: number[] = [];
  for (let a = 0; a < allowed.length; a++) {
    const id = allowed[a];
    const s = scores[offset + id];
    if (ids.length === k && !(s > vals[k - 1])) continue;
    let pos = ids.length < k ? ids.length : k - 1;
    if (ids.length < k) {
      ids.push(id);
      vals.push(s);
    }
    while (pos > 0 && s > vals[pos - 1]) {
      vals[pos] = vals[pos - 1];
      ids[pos] = ids[pos - 1];
      pos--;
    }
    vals[pos] = s;
    ids[pos] = id;
  }
  return ids;
}

/** Groups rows into batches: by ascending length, within row and logits-memory caps. */
export function planMlmBatches(lengths: readonly number[], vocabSize: number, opts: MlmOptions): number[][] {
  const maxRows = Math.max(1, opts.maxBatchRows ?? 256);
  const maxLogits = opts.maxLogits ?? 1 << 26;
  const maxTokens = opts.maxTokens ?? 16384;
  const order = lengths.map((_, i) => i);
  if (opts.sortByLength ?? true) order.sort((x, y) => lengths[x] - lengths[y] || x - y);
  const batches: number[][] = [];
  let cur: number[] = [];
  let curLen = 0;
  for (const i of order) {
    const len = Math.max(curLen, lengths[i]);
    if (cur.length > 0 && (cur.length >= maxRows || (cur.length + 1) * len * vocabSize > maxLogits || (cur.length + 1) * len > maxTokens)) {
      batches.push(cur);
      cur = [];
    }
    curLen = cur.length === 0 ? lengths[i] : len;
    cur.push(i);
  }
  if (cur.length > 0) batches.push(cur);
  return batches;
}

function packBatch(rows: Row[], padId: number): MlmBatch {
  const seqLen = Math.max(...rows.map((r) => r.ids.length));
  const n = rows.length * seqLen;
  const inputIds = new BigInt64Array(n).fill(BigInt(padId));
  const attentionMask = new BigInt64Array(n);
  const tokenTypeIds = new BigInt64Array(n);
  rows.forEach((r, b) => {
    for (let t = 0; t < r.ids.length; t++) {
      inputIds[b * seqLen + t] = BigInt(r.ids[t]);
      attentionMask[b * seqLen + t] = 1n;
      tokenTypeIds[b * seqLen + t] = t >= r.typeStart ? 1n : 0n;
    }
  });
  return { rows: rows.length, seqLen, inputIds, attentionMask, tokenTypeIds };
}

/**
 * Candidates for each query: the k best whole-word pieces at the masked position, or undefined
 * when the query cannot be asked of the MLM (word of several pieces, or beyond maxLength).
 * Identical rows (the same sentence and word met twice) run once.
 */
export async function mlmCandidates(queries: readonly MlmQuery[], model: MlmModel, opts: MlmOptions): Promise<(string[] | undefined)[]> {
  const allowed = candidatePieceIds(model.vocab);
  const V = model.vocab.length;
  const unique: Row[] = [];
  const keyToUnique = new Map<string, number>();
  const queryToUnique = queries.map((q) => {
    const row = buildMaskedRow(q, model);
    if (!row) return -1;
    const key = `${row.maskPos}:${row.ids.join(',')}`;
    let u = keyToUnique.get(key);
    if (u === undefined) {
      u = unique.length;
      unique.push(row);
      keyToUnique.set(key, u);
    }
    return u;
  });
  const found: string[][] = new Array(unique.length);
  // The fast path holds no [rows, seqLen, V] logits, so only the token cap limits its batches.
  const batches = planMlmBatches(unique.map((r) => r.ids.length), model.topAtMask ? 1 : V, opts);
  let done = 0;
  for (const batch of batches) {
    const rows = batch.map((i) => unique[i]);
    const packed = packBatch(rows, model.padId);
    if (model.topAtMask) {
      const top = await model.topAtMask(packed, rows.map((r, b) => b * packed.seqLen + r.maskPos));
      batch.forEach((u, b) => {
        const list: string[] = [];
        for (let j = 0; j < Math.min(top.k, opts.k); j++) {
          if (top.values[b * top.k + j] > -1e29) list.push(model.vocab[top.ids[b * top.k + j]]);
        }
        found[u] = list;
      });
      done += batch.length;
      opts.onProgress?.(done, unique.length);
      continue;
    }
    const logits = await model.run(packed);
    if (logits.length !== packed.rows * packed.seqLen * V) {
      throw new UserError(`masked-LM model returned ${logits.length} logits for a [${packed.rows}, ${packed.seqLen}] batch, but its tokenizer has ${V} pieces (${packed.rows * packed.seqLen * V} logits expected): the model's vocabulary does not match its tokenizer`);
    }
    batch.forEach((u, b) => {
      const offset = (b * packed.seqLen + unique[u].maskPos) * V;
      found[u] = topKAllowed(logits, offset, allowed, opts.k).map((id) => model.vocab[id]);
    });
    done += batch.length;
    opts.onProgress?.(done, unique.length);
  }
  return queryToUnique.map((u) => (u < 0 ? undefined : found[u]));
}
