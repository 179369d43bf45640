/**
 * Offline candidates: a word's nearest neighbours in a word-embedding matrix (the teacher's),
 * computed once per vocabulary entry and kept in a JSON file keyed by the model's hash, so later
 * runs (more data, other tasks, the same teacher) only compute the words they have not seen.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeJsonAtomic } from '../util/atomic.ts';
import { isCandidatePiece } from './words.ts';
import { nearestNeighbours, normalizeRows, type Matrix } from './neighbours.ts';

interface CacheFile {
  model: string;
  k: number;
  /** token id → neighbour token ids, best first. */
  neighbours: Record<string, number[]>;
}

export class EmbeddingCandidates {
  /** Unit-length embedding rows. */
  readonly normed: Matrix;
  private readonly idOf = new Map<string, number>();
  /** Token ids allowed as neighbours (whole-word alphabetic pieces), ascending. */
  readonly candidateIds: Int32Array;
  /** The search for missing words; nearestNeighbours in JS unless replaced (useSearch). */
  private search: (queryIds: readonly number[]) => Promise<Int32Array[]> = async (q) =>
    nearestNeighbours(this.normed, q, this.candidateIds, this.k);
  private readonly known = new Map<number, number[]>();
  private dirty = false;

  /**
   * @param embedding [V, H] word embeddings (row i = token id i)
   * @param vocab token strings by id (length <= V)
   * @param modelHash identifies the embedding (sha256 of the model file); keys the cache file
   * @param cacheFile where neighbour lists persist; undefined keeps them in memory only
   */
  constructor(
    embedding: Matrix,
    private readonly vocab: readonly string[],
    private readonly modelHash: string,
    readonly k: number,
    private readonly cacheFile?: string,
  ) {
    this.normed = normalizeRows(embedding);
    const ids: number[] = [];
    const rows = Math.min(vocab.length, embedding.rows);
    for (let i = 0; i < rows; i++) {
      this.idOf.set(vocab[i], i);
      if (isCandidatePiece(vocab[i])) ids.push(i);
    }
    this.candidateIds = Int32Array.from(ids);
    if (cacheFile && fs.existsSync(cacheFile)) this.load(cacheFile);
  }

  private load(file: string): void {
    let parsed: CacheFile;
    try {
      parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as CacheFile;
    } catch {
      return; // an unreadable cache is only lost time: recompute
    }
    if (parsed.model !== this.modelHash || parsed.k < this.k) return;
    for (const [id, list] of Object.entries(parsed.neighbours)) this.known.set(Number(id), list.slice(0, this.k));
  }

  /** Replaces the search, e.g. by onnxNeighbourSearch (same results, native speed). */
  useSearch(search: (queryIds: readonly number[]) => Promise<Int32Array[]>): void {
    this.search = search;
  }

  /** Number of words whose neighbours are known (computed or loaded). */
  get size(): number {
    return this.known.size;
  }

  /**
   * Candidates for each word: its k nearest whole-word vocabulary neighbours, or [] when the word
   * is not one vocabulary piece. Missing words are computed together in one blocked pass.
   */
  async candidatesFor(words: Iterable<string>): Promise<Map<string, string[]>> {
    const missing = new Set<number>();
    const wanted: [string, number | undefined][] = [];
    for (const w of words) {
      const id = this.idOf.get(w);
      wanted.push([w, id]);
      if (id !== undefined && !this.known.has(id)) missing.add(id);
    }
    if (missing.size > 0) {
      const queries = [...missing].sort((a, b) => a - b);
      const found = await this.search(queries);
      queries.forEach((q, i) => this.known.set(q, Array.from(found[i])));
      this.dirty = true;
    }
    const out = new Map<string, string[]>();
    for (const [w, id] of wanted) out.set(w, id === undefined ? [] : this.known.get(id)!.map((n) => this.vocab[n]));
    return out;
  }

  /** Writes the cache file (atomically) when new neighbours were computed. */
  save(): void {
    if (!this.cacheFile || !this.dirty) return;
    const neighbours: Record<string, number[]> = {};
    for (const [id, list] of [...this.known].sort((a, b) => a[0] - b[0])) neighbours[id] = list;
    fs.mkdirSync(path.dirname(this.cacheFile), { recursive: true });
    writeJsonAtomic(this.cacheFile, { model: this.modelHash, k: this.k, neighbours } satisfies CacheFile);
    this.dirty = false;
  }
}

/** Cache file name for a model hash: one file per embedding, shared by runs and tasks. */
export function neighbourCacheFile(dir: string, modelHash: string): string {
  return path.join(dir, `neighbours-${modelHash.slice(0, 16)}.json`);
}
