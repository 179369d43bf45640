import type { ObservedRange, QuantizationOptions } from '../quant/quantization.ts';
import type { BertConfig } from '../student/config.ts';
import { paramShapes } from '../student/param-names.ts';
import { UserError } from '../util/errors.ts';

/** One parameter in tfjs layout (dense kernels [in, out]). */
export interface WeightTensor {
  shape: number[];
  data: Float32Array;
}

export type WeightMap = Map<string, WeightTensor>;

/** The shape every exported parameter must have under `config` (tfjs layout). */
export const expectedShapes = paramShapes;

/**
 * Checks that `weights` holds every parameter the exported graph needs with the shape `config`
 * implies, and that the values are finite. Extra entries (training-only projections) are ignored.
 */
export function validateWeights(config: BertConfig, weights: WeightMap, source = 'student'): void {
  if (config.hidden_size % config.num_attention_heads !== 0) {
    throw new UserError(
      `config: hidden_size ${config.hidden_size} is not divisible by num_attention_heads ${config.num_attention_heads}`,
    );
  }
  for (const [name, shape] of expectedShapes(config)) {
    const w = weights.get(name);
    if (!w) throw new UserError(`${source}: parameter ${name} is missing (expected shape [${shape.join(', ')}])`);
    if (w.shape.length !== shape.length || w.shape.some((d, i) => d !== shape[i])) {
      throw new UserError(
        `${source}: parameter ${name} has shape [${w.shape.join(', ')}] but config.json implies [${shape.join(', ')}]`,
      );
    }
    const n = shape.reduce((a, b) => a * b, 1);
    if (w.data.length !== n) throw new UserError(`${source}: parameter ${name} holds ${w.data.length} values, expected ${n}`);
    for (let i = 0; i < n; i++) {
      if (!Number.isFinite(w.data[i])) throw new UserError(`${source}: parameter ${name} has a non-finite value at index ${i}`);
    }
  }
}

/** What the exporter needs of a student: the Student class (tf.Variables) satisfies it. */
export interface StudentLike {
  config: BertConfig;
  params: Map<string, { shape: number[]; dataSync(): ArrayLike<number> }>;
  /** Present (and active) when the student was trained quantisation-aware: its observed ranges. */
  quantization?: { active: boolean; options: Pick<QuantizationOptions, 'reduceRange'>; ranges(): Map<string, ObservedRange> };
}

/** Copies a student's parameters out of tfjs (tfjs layout, float32). */
export function studentWeights(student: StudentLike): WeightMap {
  const weights: WeightMap = new Map();
  for (const [name, v] of student.params) weights.set(name, { shape: [...v.shape], data: Float32Array.from(v.dataSync()) });
  return weights;
}

/** studentWeights with asynchronous reads (a GPU backend in a page). */
export async function studentWeightsAsync(student: { config: BertConfig; params: Map<string, { shape: number[]; data(): Promise<ArrayLike<number>> }> }): Promise<WeightMap> {
  const weights: WeightMap = new Map();
  for (const [name, v] of student.params) weights.set(name, { shape: [...v.shape], data: Float32Array.from(await v.data()) });
  return weights;
}
