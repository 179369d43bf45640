import * as tf from '@tensorflow/tfjs';
import type { Batch } from '../data/types.ts';
import { UserError } from '../util/errors.ts';
import type { Features } from './features.ts';
import { collateTeacherFeatures, collateTeacherLogits, type CachedExample, type NeededFeatures, type TeacherDims } from './teacher-features.ts';
import type { TeacherInput } from './train-options.ts';

/** What the trainer needs from a teacher cache (src/cache/reader.ts openCache returns one). */
export interface TeacherCacheLike {
  manifest?: object;
  numExamples: number;
  readExample(i: number): CachedExample;
}

/** What the run expects the caches to agree with. */
export interface CacheExpectations {
  numExamples: number;
  studentVocabSize: number;
  numLabels: number;
  trainDataHash?: string;
}

/** Reads the first present key among aliases (manifests use snake_case or camelCase). */
function field(manifest: object | undefined, ...keys: string[]): unknown {
  if (!manifest) return undefined;
  const rec = manifest as Record<string, unknown>;
  for (const k of keys) {
    if (rec[k] !== undefined) return rec[k];
    for (const nest of ['teacher', 'data', 'tokenizer', 'config']) {
      const inner = rec[nest];
      if (inner && typeof inner === 'object' && (inner as Record<string, unknown>)[k] !== undefined) return (inner as Record<string, unknown>)[k];
    }
  }
  return undefined;
}

/** The cached teachers of a run: one designated for intermediate matches, all for predictions. */
export class TeacherSet {
  private constructor(
    readonly caches: TeacherCacheLike[],
    readonly names: string[],
    readonly dims: TeacherDims[],
    readonly intermediate: number,
  ) {}

  static async open(inputs: TeacherInput[], intermediate: number, expect: CacheExpectations): Promise<TeacherSet> {
    const caches: TeacherCacheLike[] = [];
    const names: string[] = [];
    for (const [i, t] of inputs.entries()) {
      if (t.cache) {
        caches.push(t.cache);
        names.push(t.cacheDir ?? `teachers[${i}]`);
      } else if (t.cacheDir) {
        const { openCache } = await import('../cache/reader.ts');
        caches.push(openCache(t.cacheDir) as unknown as TeacherCacheLike);
        names.push(t.cacheDir);
      } else {
        throw new UserError(`teachers[${i}]: give cacheDir`);
      }
    }
    const dims = caches.map((c, i) => validateCache(c, names[i], expect));
    const tokenizers = caches.map((c) => field(c.manifest, 'tokenizerHash', 'tokenizer_hash', 'tokenizerSha256'));
    tokenizers.forEach((h, i) => {
      if (h !== undefined && tokenizers[0] !== undefined && h !== tokenizers[0]) {
        throw new UserError(`teacher caches ${names[0]} and ${names[i]} were made with different tokenizers (tokenizer hash ${tokenizers[0]} vs ${h}); multi-teacher needs one tokenizer`);
      }
    });
    return new TeacherSet(caches, names, dims, intermediate);
  }

  get count(): number {
    return this.caches.length;
  }

  /** Dims of the teacher whose intermediate features are matched. */
  get intermediateDims(): TeacherDims & { numLayers?: number } {
    return this.dims[this.intermediate];
  }

  /**
   * Teacher tensors for a batch: the designated teacher's Features (only the needed layers), and
   * every teacher's logits when predictions are matched. Call inside tf.tidy.
   */
  batchTargets(batch: Batch, need: NeededFeatures, mask: tf.Tensor2D): { features: Features; logits: tf.Tensor2D[] } {
    const rows = this.caches.map((c) => batch.indices.map((i) => c.readExample(i)));
    const mainNeed = { ...need, logits: false };
    const features = collateTeacherFeatures(rows[this.intermediate], batch.lengths, batch.indices, batch.seqLen, this.dims[this.intermediate], mainNeed, mask);
    const logits = need.logits ? rows.map((r, k) => collateTeacherLogits(r, batch.indices, this.dims[k].numLabels)) : [];
    if (logits.length > 0) features.logits = logits[this.intermediate];
    return { features, logits };
  }
}

/** Checks one cache against the run and works out its dimensions. */
function validateCache(c: TeacherCacheLike, name: string, expect: CacheExpectations): TeacherDims & { numLayers?: number } {
  if (c.numExamples !== expect.numExamples) {
    throw new UserError(
      `teacher cache ${name}: numExamples is ${c.numExamples} but the training data has ${expect.numExamples} examples ` +
        `(a cache of another task, split or augmentation?)`,
    );
  }
  const hash = field(c.manifest, 'dataHash', 'data_hash', 'trainDataHash', 'sha256');
  if (expect.trainDataHash && typeof hash === 'string' && hash !== expect.trainDataHash) {
    throw new UserError(`teacher cache ${name}: data hash ${hash} differs from the training data's ${expect.trainDataHash} (cache made from other data)`);
  }
  const vocab = field(c.manifest, 'vocabSize', 'vocab_size');
  if (typeof vocab === 'number' && vocab !== expect.studentVocabSize) {
    throw new UserError(
      `teacher cache ${name}: the teacher's tokenizer has vocab_size ${vocab}, the student's config vocab_size ${expect.studentVocabSize}; ` +
        `student and teacher must share one tokenizer`,
    );
  }
  const first = c.readExample(0);
  const L = first.length;
  const inferredH = first.hidden.length > 0 && L > 0 ? first.hidden[0].length / L : undefined;
  const inferredHeads = first.attention.length > 0 && L > 0 ? first.attention[0].length / (L * L) : undefined;
  const hiddenSize = Number(field(c.manifest, 'hiddenSize', 'hidden_size') ?? inferredH ?? 0);
  const numHeads = Number(field(c.manifest, 'numHeads', 'num_attention_heads', 'numAttentionHeads') ?? inferredHeads ?? 0);
  const numLabels = first.logits?.length;
  if (numLabels !== undefined && numLabels !== expect.numLabels) {
    throw new UserError(`teacher cache ${name}: the teacher has ${numLabels} outputs, the student's num_labels is ${expect.numLabels} (a teacher for another task?)`);
  }
  return { hiddenSize, numHeads, numLabels, numLayers: first.attention.length };
}
