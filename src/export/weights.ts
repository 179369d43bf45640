import type { BertConfig } from '../student/config.ts';
import { allParamNames } from '../student/param-names.ts';
import { UserError } from '../util/errors.ts';

/** One parameter in tfjs layout (dense kernels [in, out]). */
export interface WeightTensor {
  shape: number[];
  data: Float32Array;
}

export type WeightMap = Map<string, WeightTensor>;

/** The shape every exported parameter must have under `config` (tfjs layout). */
export function expectedShapes(config: BertConfig): Map<string, number[]> {
  const H = config.hidden_size;
  const I = config.intermediate_size;
  const shapes = new Map<string, number[]>();
  for (const name of allParamNames(config.num_hidden_layers)) {
    let shape: number[];
    if (name === 'embeddings.word_embeddings.weight') shape = [config.vocab_size, H];
    else if (name === 'embeddings.position_embeddings.weight') shape = [config.max_position_embeddings, H];
    else if (name === 'embeddings.token_type_embeddings.weight') shape = [config.type_vocab_size, H];
    else if (name === 'classifier.weight') shape = [H, config.num_labels];
    else if (name === 'classifier.bias') shape = [config.num_labels];
    else if (name.endsWith('intermediate.dense.weight')) shape = [H, I];
    else if (name.endsWith('intermediate.dense.bias')) shape = [I];
    else if (name.endsWith('output.dense.weight') && !name.includes('attention')) shape = [I, H];
    else if (name.endsWith('.weight') && !name.includes('LayerNorm')) shape = [H, H];
    else shape = [H];
    shapes.set(name, shape);
  }
  return shapes;
}

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
