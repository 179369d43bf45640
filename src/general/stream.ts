/**
 * Streamed training batches over a corpus too large to hold: windows are read in blocks of
 * `bufferBatches × batchSize`, each block shuffled and length-bucketed by the project's planBatches
 * (seeded by pass and block, so every pass is reproducible), then padded by collate. A batch's
 * indices are the windows' positions in the pass: the keys of the teacher's features.
 */
import { collate, planBatches } from '../data/batching.ts';
import type { Batch, Encoded } from '../data/types.ts';
import type { BatchSource } from '../train/train-options.ts';
import { UserError } from '../util/errors.ts';

export interface StreamOptions {
  batchSize: number;
  /** Batches per shuffle block (more: better mixing, more memory). */
  bufferBatches: number;
  seed: number;
  padId: number;
}

export function checkStreamOptions(o: StreamOptions): void {
  if (!Number.isInteger(o.batchSize) || o.batchSize < 1) throw new UserError(`batchSize must be a positive integer, got ${o.batchSize}`);
  if (!Number.isInteger(o.bufferBatches) || o.bufferBatches < 1) throw new UserError(`bufferBatches must be a positive integer, got ${o.bufferBatches}`);
}

/** The batches of pass `epoch` (0-based) over `windows`, in training order. */
export function* passBatches(windows: Iterable<Encoded>, opts: StreamOptions, epoch: number): Generator<Batch> {
  checkStreamOptions(opts);
  const blockSize = opts.batchSize * opts.bufferBatches;
  let block: Encoded[] = [];
  let base = 0;
  let blockNo = 0;
  function* flush(): Generator<Batch> {
    const seed = (opts.seed + Math.imul(epoch, 7919) + Math.imul(blockNo, 104729)) >>> 0;
    const plan = planBatches(block.map((w) => w.inputIds.length), { batchSize: opts.batchSize, shuffle: true, seed, bucketSize: opts.bufferBatches });
    for (const rows of plan) {
      const batch = collate(block, rows, undefined, opts.padId);
      batch.indices = rows.map((r) => base + r);
      yield batch;
    }
    base += block.length;
    blockNo += 1;
    block = [];
  }
  for (const w of windows) {
    block.push(w);
    if (block.length === blockSize) yield* flush();
  }
  if (block.length > 0) yield* flush();
}

/**
 * A trainer BatchSource over a re-readable corpus. `makeWindows` opens the corpus from its start (it
 * is called once per pass, and again to replay up to a resumed cursor). `onBatch` runs before a batch
 * is handed out (the online teacher computes its features there).
 */
export class StreamBatchSource implements BatchSource {
  private iter?: Iterator<Batch>;
  private epoch = -1;
  private cursor = 0;

  constructor(
    private readonly makeWindows: () => Iterable<Encoded>,
    private readonly opts: StreamOptions,
    readonly key: string,
    private readonly onBatch?: (batch: Batch) => Promise<void>,
  ) {
    checkStreamOptions(opts);
  }

  async next(epoch: number, cursor: number): Promise<Batch | undefined> {
    if (!this.iter || this.epoch !== epoch || this.cursor > cursor) {
      this.close();
      this.iter = passBatches(this.makeWindows(), this.opts, epoch);
      this.epoch = epoch;
      this.cursor = 0;
    }
    for (; this.cursor < cursor; this.cursor++) if (this.iter.next().done) return undefined;
    const r = this.iter.next();
    if (r.done) return undefined;
    this.cursor += 1;
    await this.onBatch?.(r.value);
    return r.value;
  }

  /** Closes the open pass (and with it the corpus files). */
  close(): void {
    this.iter?.return?.(undefined);
    this.iter = undefined;
  }
}
