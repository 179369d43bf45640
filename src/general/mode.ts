/**
 * Cached or online teacher: a cache is read many times for the price of one teacher pass, but its
 * size grows with layers × (hidden × length + heads × length²) per window. The size is estimated
 * from the first windows of the corpus (cache bytes per corpus byte, scaled to the corpus size);
 * `auto` caches when the estimate fits the budget and runs the teacher online otherwise.
 */
import { formatBytes, recordBytes, type CacheLayout } from '../cache/format.ts';
import { UserError } from '../util/errors.ts';

export const GENERAL_MODES = ['auto', 'cached', 'online'] as const;
export type GeneralMode = (typeof GENERAL_MODES)[number];

export interface CorpusSample {
  /** Token count (special tokens included) of each sampled window. */
  windowLengths: number[];
  /** Corpus bytes those windows came from. */
  bytesRead: number;
  /** The sample is the whole corpus (so the estimate is exact). */
  exhausted: boolean;
}

export interface CacheEstimate {
  bytes: number;
  windows: number;
  exact: boolean;
}

/** Cache size of the whole corpus, extrapolated from a sample of its first windows. */
export function estimateCacheBytes(sample: CorpusSample, corpusBytes: number, layout: CacheLayout): CacheEstimate {
  const sampleBytes = sample.windowLengths.reduce((s, len) => s + recordBytes(layout, len), 0);
  if (sample.exhausted || sample.bytesRead >= corpusBytes) return { bytes: sampleBytes, windows: sample.windowLengths.length, exact: sample.exhausted };
  if (sample.bytesRead <= 0) throw new Error('estimateCacheBytes: an unfinished sample must have read some bytes');
  const scale = corpusBytes / sample.bytesRead;
  return { bytes: Math.round(sampleBytes * scale), windows: Math.round(sample.windowLengths.length * scale), exact: false };
}

export interface ModeChoice {
  mode: 'cached' | 'online';
  /** One line for the user: which mode and why. */
  reason: string;
}

export function chooseMode(requested: GeneralMode, estimate: CacheEstimate, budgetBytes: number): ModeChoice {
  if (!GENERAL_MODES.includes(requested)) throw new UserError(`mode must be one of ${GENERAL_MODES.join(', ')}, got "${requested}"`);
  if (!(budgetBytes > 0)) throw new UserError(`the cache budget must be > 0, got ${budgetBytes}`);
  const size = `${estimate.exact ? '' : 'estimated '}teacher cache ${formatBytes(estimate.bytes)} for ${estimate.exact ? '' : '~'}${estimate.windows} windows`;
  const budget = formatBytes(budgetBytes);
  if (requested === 'online') return { mode: 'online', reason: `online mode (requested): teacher runs in the training loop; ${size}` };
  if (requested === 'cached') {
    if (estimate.bytes > budgetBytes) {
      throw new UserError(`--mode cached: the ${size} is above the budget of ${budget}; raise --max-cache-gb, lower --max-length, or use --mode online (or auto)`);
    }
    return { mode: 'cached', reason: `cached mode (requested): ${size}, within the budget of ${budget}` };
  }
  return estimate.bytes <= budgetBytes
    ? { mode: 'cached', reason: `cached mode (auto): ${size} fits the budget of ${budget}` }
    : { mode: 'online', reason: `online mode (auto): ${size} is above the budget of ${budget}, so the teacher runs in the training loop` };
}
