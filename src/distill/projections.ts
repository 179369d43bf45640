/**
 * Training-only maps that make student features comparable with the teacher's:
 *  - hidden projection: a linear map student width -> teacher width (TinyBERT's `fit_dense`), either one
 *    per mapped student hidden index or one shared by all of them (as TinyBERT's code does);
 *  - head mixing: when the head counts differ, a learned [hS, hT] matrix M so that teacher head t is
 *    compared with Σ_s M[s,t] · student head s.
 * They live apart from the student's parameters: checkpoints save them, exports never see them.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng.ts';
import { newVariable } from '../student/model.ts';
import { UserError } from '../util/errors.ts';
import type { BertConfig } from '../student/config.ts';
import type { Match } from './losses.ts';
import type { TeacherDims } from './teacher-features.ts';

export interface ProjectionOptions {
  studentHidden: number;
  teacherHidden: number;
  studentHeads: number;
  teacherHeads: number;
  /** Student hidden indices that are matched (0 = embedding output); each gets its own map unless `shared`. */
  hiddenLayers: number[];
  /** One projection for every hidden match (TinyBERT's code) instead of one per student layer. */
  shared: boolean;
  seed: number;
  /** Std of the normal initialisation of projection kernels (BERT's initializer_range). */
  initializerRange?: number;
}

export interface HiddenProjection {
  /** [Hs, Ht] */
  kernel: tf.Variable;
  /** [Ht] */
  bias: tf.Variable;
}

/**
 * The even-grouping start for head mixing, [hS, hT] row-major: M[s,t] is the overlap of head s's share
 * [s/hS, (s+1)/hS) with head t's share [t/hT, (t+1)/hT), each column normalised to sum 1.
 * When hT = g·hS each student head is copied to its g teacher heads (M = 1 inside the group); when
 * hS = g·hT each teacher head is compared with the mean of its g student heads (M = 1/g). Counts that
 * do not divide get the proportional blend (e.g. 2 -> 3: [[1, .5, 0], [0, .5, 1]]).
 */
export function headMixInit(hS: number, hT: number): Float32Array {
  const m = new Float32Array(hS * hT);
  for (let t = 0; t < hT; t++) {
    for (let s = 0; s < hS; s++) {
      const overlap = Math.min((s + 1) / hS, (t + 1) / hT) - Math.max(s / hS, t / hT);
      // Column t's overlaps sum to 1/hT, so dividing by that normalises the column.
      if (overlap > 1e-12) m[s * hT + t] = overlap * hT;
    }
  }
  return m;
}

export class Projections {
  /** All trainable projection variables by checkpoint name (`proj.hidden.<i|shared>.weight`, `proj.heads.weight`). */
  readonly variables = new Map<string, tf.Variable>();
  private readonly hiddenByLayer = new Map<number, HiddenProjection>();
  readonly headMix: tf.Variable | undefined;

  private constructor(opts: ProjectionOptions) {
    const { studentHidden: hs, teacherHidden: ht, studentHeads: nS, teacherHeads: nT } = opts;
    for (const [key, v] of Object.entries({ studentHidden: hs, teacherHidden: ht, studentHeads: nS, teacherHeads: nT })) {
      if (!Number.isInteger(v) || v < 1) throw new UserError(`projections: ${key} must be a positive integer, got ${v}`);
    }
    const rng = new Rng(opts.seed);
    const std = opts.initializerRange ?? 0.02;
    if (hs !== ht) {
      const make = (tag: string): HiddenProjection => {
        const init = new Float32Array(hs * ht);
        for (let i = 0; i < init.length; i++) init[i] = rng.normal() * std;
        const kernel = newVariable(init, [hs, ht]);
        const bias = newVariable(new Float32Array(ht), [ht]);
        this.variables.set(`proj.hidden.${tag}.weight`, kernel);
        this.variables.set(`proj.hidden.${tag}.bias`, bias);
        return { kernel, bias };
      };
      const layers = [...new Set(opts.hiddenLayers)].sort((a, b) => a - b);
      const shared = opts.shared && layers.length > 0 ? make('shared') : undefined;
      for (const layer of layers) this.hiddenByLayer.set(layer, shared ?? make(String(layer)));
    }
    if (nS !== nT) {
      this.headMix = newVariable(headMixInit(nS, nT), [nS, nT]);
      this.variables.set('proj.heads.weight', this.headMix);
    }
  }

  static create(opts: ProjectionOptions): Projections {
    return new Projections(opts);
  }

  /** The projection for student hidden index `layerS`, or undefined when widths already match. */
  hidden(layerS: number): HiddenProjection | undefined {
    return this.hiddenByLayer.get(layerS);
  }

  dispose(): void {
    for (const v of this.variables.values()) v.dispose();
    this.variables.clear();
    this.hiddenByLayer.clear();
  }
}

/** [B, L, Hs] -> [B, L, Ht] through x·kernel + bias. */
export function projectHidden(x: tf.Tensor3D, proj: HiddenProjection): tf.Tensor3D {
  const [B, L, hs] = x.shape;
  const out = tf.add(tf.matMul(tf.reshape(x, [B * L, hs]), proj.kernel as tf.Tensor2D), proj.bias);
  return tf.reshape(out, [B, L, proj.kernel.shape[1] as number]);
}

/** [B, hS, L, L] -> [B, hT, L, L]: out[b,t] = Σ_s mix[s,t] · x[b,s]. */
export function mixHeads(x: tf.Tensor4D, mix: tf.Tensor): tf.Tensor4D {
  const [B, hS, L] = x.shape;
  const hT = mix.shape[1] as number;
  // One batched product [B, hT, hS] × [B, hS, L·L]; the mix is tiled because tfjs's broadcast
  // matMul gradient returns the un-reduced shape.
  const mixT = tf.tile(tf.reshape(tf.transpose(mix), [1, hT, hS]), [B, 1, 1]);
  return tf.reshape(tf.matMul(mixT, tf.reshape(x, [B, hS, L * L])), [B, hT, L, L]);
}

/**
 * The projections a run's matches need (the trainer's and the web page's): a hidden map for every matched
 * student hidden index (pooled matches project through their layer's), head mixing when attention is
 * matched; undefined when no match compares intermediate features. Seeded from the run's seed.
 */
export function projectionsForMatches(matches: Match[], student: BertConfig, teacher: TeacherDims, opts: { seed: number; shared: boolean }): Projections | undefined {
  const hiddenLayers = matches.flatMap((m) => (m.feature === 'hidden' || m.feature === 'pooled' ? [m.layerS] : []));
  const usesAttention = matches.some((m) => m.feature === 'attention');
  if (hiddenLayers.length === 0 && !usesAttention) return undefined;
  return Projections.create({
    studentHidden: student.hidden_size,
    teacherHidden: hiddenLayers.length > 0 ? teacher.hiddenSize : student.hidden_size,
    studentHeads: student.num_attention_heads,
    teacherHeads: usesAttention ? teacher.numHeads : student.num_attention_heads,
    hiddenLayers,
    shared: opts.shared,
    seed: (opts.seed + 17) >>> 0,
    initializerRange: student.initializer_range,
  });
}
