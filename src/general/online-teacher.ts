/**
 * The teacher in the training loop (online mode): for each batch, onnxruntime runs the encoder
 * (on CUDA when available) and its hidden states and attention scores are handed to the trainer
 * through the same interface as a cache (TeacherCacheLike), encoded and decoded by the cache's own
 * record code, so online and cached features are the same values. Only the current batch is held.
 */
import type { CacheLayout } from '../cache/format.ts';
import { recordSections } from '../cache/format.ts';
import { decodeRecord, encodeBatchRecords, type CachedExample } from '../cache/records.ts';
import type { Batch } from '../data/types.ts';
import type { TeacherCacheLike } from '../distill/teachers.ts';
import type { TeacherFolder } from '../teacher/folder.ts';
import type { ProviderPreference } from '../teacher/session.ts';
import { Teacher } from '../teacher/teacher.ts';
import { UserError } from '../util/errors.ts';

export interface OnlineTeacherOptions {
  /** Hidden states to produce (0 = embedding output). */
  hiddenLayers: number[];
  /** Attention layers, 1-based (cache convention). */
  attentionLayers: number[];
  /** Where the teacher graph with the extra outputs is written. */
  workDir: string;
  provider?: ProviderPreference;
  intraOpThreads?: number;
  notice?: (message: string) => void;
}

/** The encoder-only cache layout of a teacher: no logits, pre-softmax scores, float32. */
export function encoderLayout(folder: TeacherFolder, hiddenLayers: number[], attentionLayers: number[]): CacheLayout {
  const c = folder.config;
  return {
    numLabels: 0,
    hiddenSize: c.hidden_size,
    numHeads: c.num_attention_heads,
    numLayers: c.num_hidden_layers,
    dtype: 'float32',
    logits: false,
    hiddenLayers: [...hiddenLayers].sort((a, b) => a - b),
    attentionLayers: [...attentionLayers].sort((a, b) => a - b),
    scores: true,
    probs: false,
  };
}

export class OnlineTeacher implements TeacherCacheLike {
  readonly manifest: TeacherCacheLike['manifest'] & { layout: CacheLayout };
  /** Unknown for a stream; the trainer does not check it for streamed data. */
  readonly numExamples = Number.POSITIVE_INFINITY;
  private rows = new Map<number, CachedExample>();
  /** Examples the teacher has run on, and the seconds it took (for throughput notes). */
  examples = 0;
  seconds = 0;

  private constructor(
    private readonly teacher: Teacher,
    layout: CacheLayout,
  ) {
    this.manifest = { layout, tokenizer: { vocabSize: teacher.folder.tokenizer.vocabSize }, fingerprint: { task: 'general' } };
  }

  /**
   * Opens the teacher with its encoder outputs exposed (graph surgery; a graph without a BERT
   * encoder is refused there) and runs it once on `probe`, which checks every expected output and
   * its shape before training starts, and leaves the probe's rows readable (the trainer reads one).
   */
  static async start(folder: TeacherFolder, probe: Batch, opts: OnlineTeacherOptions): Promise<OnlineTeacher> {
    const layout = encoderLayout(folder, opts.hiddenLayers, opts.attentionLayers);
    const teacher = await Teacher.fromFolder(folder, {
      hiddenLayers: layout.hiddenLayers,
      attentionLayers: layout.attentionLayers,
      attention: 'scores',
      workDir: opts.workDir,
      provider: opts.provider,
      intraOpThreads: opts.intraOpThreads,
      notice: opts.notice,
    });
    const online = new OnlineTeacher(teacher, layout);
    try {
      await online.load(probe);
    } catch (e) {
      await teacher.dispose();
      if (e instanceof UserError) throw new UserError(`teacher ${folder.onnxPath} does not give the expected encoder outputs: ${e.message}`);
      throw e;
    }
    return online;
  }

  get provider(): string {
    return this.teacher.provider;
  }

  /** Runs the teacher on `batch`; its rows replace the previous batch's. */
  async load(batch: Batch): Promise<void> {
    const started = performance.now();
    const out = await this.teacher.run(batch);
    const bytes = encodeBatchRecords(out, batch, this.manifest.layout);
    const rows = new Map<number, CachedExample>();
    let at = 0;
    batch.lengths.forEach((len, b) => {
      const total = recordSections(this.manifest.layout, len).total;
      rows.set(batch.indices[b], decodeRecord(bytes.subarray(at, at + total), this.manifest.layout, batch.indices[b], len));
      at += total;
    });
    this.rows = rows;
    this.examples += batch.size;
    this.seconds += (performance.now() - started) / 1000;
  }

  readExample(i: number): CachedExample {
    const row = this.rows.get(i);
    if (!row) throw new Error(`internal: online teacher has no features for window ${i} (not in the current batch)`);
    return row;
  }

  async dispose(): Promise<void> {
    this.rows.clear();
    await this.teacher.dispose();
  }
}
