import * as tf from '@tensorflow/tfjs';
import type { CacheFingerprint, CacheLayout } from '../cache/format.ts';
import { assertCacheMatches } from '../cache/format.ts';
import type { Batch } from '../data/types.ts';
import { UserError } from '../util/errors.ts';
import type { Features } from './features.ts';
import { collateTeacherFeatures, collateTeacherLogits, type CachedExample, type NeededFeatures, type TeacherDims } from './teacher-features.ts';

/**
 * What the trainer needs from a teacher cache; src/cache/reader.ts openCache returns one. Tests pass
 * in-memory caches. Cached examples list only the stored layers, in layout.hiddenLayers /
 * layout.attentionLayers order; without a layout, position k is layer k.
 */
export interface TeacherCacheLike {
  manifest?: {
    fingerprint?: Partial<CacheFingerprint>;
    layout?: Partial<CacheLayout>;
    tokenizer?: { vocabSize?: number };
    /** attentionUnavailable: why the teacher gave no attention (e.g. fused into onnxruntime Attention ops). */
    teacher?: { attentionUnavailable?: string };
  };
  numExamples: number;
  readExample(i: number): CachedExample;
  close?(): void;
}

export interface TeacherInput {
  /** A cache folder written by the teacher stage (src/cache). */
  cacheDir?: string;
  /** An opened cache (a caller that already has one, or tests). */
  cache?: TeacherCacheLike;
  /** Its weight when the multi-teacher combination is "weighted". */
  weight?: number;
  /** Fingerprint fields of this teacher alone (its model's sha256), checked over the run's common ones. */
  fingerprint?: Partial<CacheFingerprint>;
}

/** Opens a cache folder; src/cache/reader.ts's openCache does it in Node. */
export type OpenCacheDir = (dir: string) => TeacherCacheLike;

/** What the run expects the caches to agree with. */
export interface CacheExpectations {
  /** Undefined for streamed training data (the batch source and the teacher come as one). */
  numExamples?: number;
  studentVocabSize: number;
  numLabels: number;
  task: string;
  /** Fingerprint fields the caller knows (data file sha256, tokenizer sha256, max length...). */
  fingerprint?: Partial<CacheFingerprint>;
  /**
   * The student reads the texts with its own tokenizer: the caches' tokenizer is the teacher's
   * (fingerprint.tokenizerSha256 names it), its vocabulary need not be the student's, and only
   * logits may be read (cached rows are matched by example, not by token).
   */
  ownTokenizer?: boolean;
}

interface OpenedTeacher {
  cache: TeacherCacheLike;
  name: string;
  /** Opened here from a folder (so closed here). */
  owned: boolean;
  dims: TeacherDims & { numLayers: number };
  /** Layer number → position in the cached record. */
  hiddenPos: Map<number, number>;
  attentionPos: Map<number, number>;
  /** 0-based layer → position among the cached query/key/value blocks. */
  qkvPos: Map<number, number>;
}

/** The cached teachers of a run: one designated for intermediate matches, all for predictions. */
export class TeacherSet {
  private constructor(
    private readonly teachers: OpenedTeacher[],
    readonly intermediate: number,
  ) {}

  /**
   * Opens and checks the caches. `need` is what the stages will read (checked against the
   * designated teacher's stored layers now, not at step 5000). `openDir` opens a cache folder (the
   * trainer passes src/cache/reader.ts's; this module does no file I/O, so the web page can use it).
   */
  static open(inputs: TeacherInput[], intermediate: number, expect: CacheExpectations, need: NeededFeatures, openDir?: OpenCacheDir): TeacherSet {
    if (expect.ownTokenizer && (need.hidden.length > 0 || need.attention.length > 0 || (need.qkv?.length ?? 0) > 0)) {
      throw new UserError("the student has its own tokenizer, so the teacher's hidden states, attention and query/key/value (one per teacher token) cannot be matched; only its logits and pooled hidden states can");
    }
    const opened: OpenedTeacher[] = [];
    for (const [i, t] of inputs.entries()) {
      let cache = t.cache;
      let name = t.cacheDir ?? `teachers[${i}]`;
      const owned = !cache;
      if (!cache) {
        if (!t.cacheDir) throw new UserError(`teachers[${i}]: give cacheDir`);
        if (!openDir) throw new Error(`teachers[${i}]: a cache folder was given but no way to open one (pass openDir)`);
        cache = openDir(t.cacheDir);
        name = t.cacheDir;
      }
      try {
        opened.push({ ...describe(cache, name, t.fingerprint ? { ...expect, fingerprint: { ...expect.fingerprint, ...t.fingerprint } } : expect), owned });
      } catch (e) {
        if (owned) cache.close?.();
        for (const o of opened) if (o.owned) o.cache.close?.();
        throw e;
      }
    }
    try {
      checkAgreement(opened, intermediate, need);
    } catch (e) {
      for (const o of opened) if (o.owned) o.cache.close?.();
      throw e;
    }
    return new TeacherSet(opened, intermediate);
  }

  /** Closes the caches this set opened from folders (not the ones passed in open). */
  close(): void {
    for (const t of this.teachers) if (t.owned) t.cache.close?.();
  }

  get count(): number {
    return this.teachers.length;
  }

  /** Dims of the teacher whose intermediate features are matched. */
  get intermediateDims(): TeacherDims & { numLayers: number } {
    return this.teachers[this.intermediate].dims;
  }

  /**
   * Teacher tensors for a batch: the designated teacher's Features (only the needed layers), and
   * every teacher's logits when predictions are matched. Call inside tf.tidy.
   */
  batchTargets(batch: Batch, need: NeededFeatures, mask: tf.Tensor2D): { features: Features; logits: tf.Tensor2D[] } {
    const main = this.teachers[this.intermediate];
    const mainRows = batch.indices.map((i) => byLayer(main, main.cache.readExample(i), need));
    const features = collateTeacherFeatures(mainRows, batch.lengths, batch.indices, batch.seqLen, main.dims, { ...need, logits: false }, mask);
    const logits = need.logits
      ? this.teachers.map((t, k) => collateTeacherLogits(k === this.intermediate ? mainRows : batch.indices.map((i) => t.cache.readExample(i)), batch.indices, t.dims.numLabels))
      : [];
    if (logits.length > 0) features.logits = logits[this.intermediate];
    return { features, logits };
  }
}

/** Every cache shares tokenizer and data; the designated one stores what the matches read. */
function checkAgreement(opened: OpenedTeacher[], intermediate: number, need: NeededFeatures): void {
    const fp = opened.map((o) => o.cache.manifest?.fingerprint);
    for (const key of ['tokenizerSha256', 'dataSha256'] as const) {
      opened.forEach((o, i) => {
        const a = fp[0]?.[key];
        const b = fp[i]?.[key];
        if (a !== undefined && b !== undefined && a !== b) {
          throw new UserError(`teacher caches ${opened[0].name} and ${o.name} differ in ${key} (${a.slice(0, 10)}… vs ${b.slice(0, 10)}…); every teacher must use the same tokenizer and training data`);
        }
      });
    }
    const main = opened[intermediate];
    for (const layer of [...need.hidden, ...(need.pooled ?? [])]) {
      if (!main.hiddenPos.has(layer)) throw new UserError(`teacher cache ${main.name} does not store hidden layer ${layer} (stored: ${[...main.hiddenPos.keys()].join(', ') || 'none'}); rebuild it with that layer or change the layer mapping`);
    }
    for (const layer of need.attention) {
      if (!main.attentionPos.has(layer)) {
        const stored = [...main.attentionPos.keys()].map((l) => l + 1).join(', ') || 'none';
        const fused = main.cache.manifest?.teacher?.attentionUnavailable;
        if (fused) throw new UserError(`teacher cache ${main.name} holds no attention: the teacher's attention is ${fused}; remove the attention losses (hidden-state and logit losses work)`);
        throw new UserError(`teacher cache ${main.name} does not store the attention of encoder layer ${layer + 1} (0-based match layerT ${layer}; stored layers: ${stored}); rebuild it with that layer or change the layer mapping`);
      }
    }
    for (const layer of need.qkv ?? []) {
      if (!main.qkvPos.has(layer)) {
        const stored = [...main.qkvPos.keys()].map((l) => l + 1).join(', ') || 'none';
        const fused = main.cache.manifest?.teacher?.attentionUnavailable;
        if (fused) throw new UserError(`teacher cache ${main.name} holds no query/key/value: the teacher's attention is ${fused}; remove the relation losses`);
        throw new UserError(`teacher cache ${main.name} does not store the query/key/value projections of encoder layer ${layer + 1} (stored layers: ${stored}); rebuild it with that layer (cache.qkvLayers) or change the relation loss's teacherLayer`);
      }
    }
    if (need.logits) {
      for (const o of opened) if (o.cache.manifest?.layout?.logits === false) throw new UserError(`teacher cache ${o.name} stores no logits (encoder-only teacher); remove prediction losses or use a classifier teacher`);
    }
}

/** Re-indexes a cached record so that hidden[layer] / attention[layer] hold those layers. */
function byLayer(t: OpenedTeacher, e: CachedExample, need: NeededFeatures): CachedExample {
  const hidden: Float32Array[] = [];
  const attention: Float32Array[] = [];
  for (const layer of [...need.hidden, ...(need.pooled ?? [])]) hidden[layer] = e.hidden[t.hiddenPos.get(layer)!];
  for (const layer of need.attention) attention[layer] = e.attention[t.attentionPos.get(layer)!];
  const qkv: Float32Array[] = [];
  for (const layer of need.qkv ?? []) qkv[layer] = e.qkv?.[t.qkvPos.get(layer)!] as Float32Array;
  return { length: e.length, logits: e.logits, hidden, attention, qkv };
}

/** Checks one cache against the run and works out its dimensions and stored layers. */
function describe(c: TeacherCacheLike, name: string, expect: CacheExpectations): Omit<OpenedTeacher, 'owned'> {
  const fp = c.manifest?.fingerprint;
  const layout = c.manifest?.layout;
  if (expect.numExamples !== undefined && c.numExamples !== expect.numExamples) {
    throw new UserError(
      `teacher cache ${name}: numExamples is ${c.numExamples} but the training data has ${expect.numExamples} examples ` +
        `(a cache of another task, split or augmentation?)`,
    );
  }
  if (fp?.task !== undefined && fp.task !== expect.task) {
    throw new UserError(`teacher cache ${name} was built for task "${fp.task}", this run trains task "${expect.task}"`);
  }
  if (fp && expect.fingerprint) assertCacheMatches(name, fp as CacheFingerprint, expect.fingerprint);
  const vocab = c.manifest?.tokenizer?.vocabSize;
  if (vocab !== undefined && vocab !== expect.studentVocabSize && !expect.ownTokenizer) {
    throw new UserError(
      `teacher cache ${name}: the teacher's tokenizer has vocab_size ${vocab}, the student's config vocab_size ${expect.studentVocabSize}; ` +
        `student and teacher must share one tokenizer (or give the student its own with student.tokenizer, for logit losses only)`,
    );
  }
  const first = c.readExample(0);
  const L = first.length;
  const hiddenSize = layout?.hiddenSize ?? (first.hidden.length > 0 ? first.hidden[0].length / L : 0);
  const numHeads = layout?.numHeads ?? (first.attention.length > 0 ? first.attention[0].length / (L * L) : 0);
  const numLayers = layout?.numLayers ?? first.attention.length;
  const hiddenLayers = layout?.hiddenLayers ?? first.hidden.map((_, k) => k);
  // The cache numbers attention layers from 1 (layer 1 = the first encoder layer); matches and
  // Features from 0. Without a layout, record position k is 0-based layer k.
  const attentionLayers = layout?.attentionLayers ? layout.attentionLayers.map((l) => l - 1) : first.attention.map((_, k) => k);
  const numLabels = layout?.logits === false ? undefined : (layout?.numLabels ?? first.logits?.length);
  if (numLabels !== undefined && numLabels !== expect.numLabels) {
    throw new UserError(`teacher cache ${name}: the teacher has ${numLabels} outputs, the student's num_labels is ${expect.numLabels} (a teacher for another task?)`);
  }
  return {
    cache: c,
    name,
    dims: { hiddenSize, numHeads, numLabels, numLayers },
    hiddenPos: new Map(hiddenLayers.map((layer, k) => [layer, k])),
    attentionPos: new Map(attentionLayers.map((layer, k) => [layer, k])),
    // Without a layout (in-memory caches), qkv position k is 0-based layer k, as for attention.
    qkvPos: new Map((layout ? (layout.qkvLayers ?? []).map((l) => l - 1) : (first.qkv ?? []).map((_, k) => k)).map((layer, k) => [layer, k])),
  };
}
