/**
 * The student: a BERT encoder written directly with tfjs ops and tf.Variables (no tf.layers), so the
 * whole forward pass is one readable function that returns the distillation Features.
 *
 * Shape of the model (HF BertForSequenceClassification, post-LayerNorm):
 *   embeddings  = LN(word[ids] + position[0..L) + tokenType[types]) -> dropout
 *   each layer  = LN(x + dropout(attnOut(selfAttention(x))));  LN(h + dropout(out(gelu(inter(h)))))
 *   pooler      = tanh(dense(hidden[:, 0]));  logits = classifier(dropout(pooler))
 * Parameter names are those of param-names.ts; dense kernels are stored [in, out].
 */
import * as tf from '@tensorflow/tfjs';
import { layerHeadCount, type BertConfig } from './config.ts';
import { dropout, gelu, layerNorm } from './layers.ts';
import { paramShapes } from './param-names.ts';

export { paramShapes };
import type { Features } from '../distill/features.ts';
import { Rng } from '../util/rng.ts';
import { UserError } from '../util/errors.ts';
import type { Quantization } from '../quant/quantization.ts';

/** Additive mask for padded keys, as HF BERT (a finite value keeps scores usable for distillation). */
export const MASKED_SCORE = -10000;

export interface StudentInputs {
  /** int32 [B, L] */
  inputIds: tf.Tensor2D;
  /** int32 [B, L], 1 = real token, 0 = padding */
  attentionMask: tf.Tensor2D;
  /** int32 [B, L] */
  tokenTypeIds: tf.Tensor2D;
}

export interface ForwardOptions {
  training: boolean;
  /** Seeds the dropout masks; required for reproducible training. Without it, a model-owned Rng is used. */
  rng?: Rng;
}

export type StudentOutput = Features & { logits: tf.Tensor2D; attentionProbs: tf.Tensor4D[] };

/** Checks the fields the model depends on, naming the config key that is wrong. */
export function validateConfig(c: BertConfig): void {
  const positive = [
    'vocab_size', 'hidden_size', 'num_hidden_layers', 'num_attention_heads', 'intermediate_size',
    'max_position_embeddings', 'type_vocab_size', 'num_labels',
  ] as const;
  for (const key of positive) {
    if (!Number.isInteger(c[key]) || c[key] < 1) {
      throw new UserError(`student config: ${key} must be a positive integer, got ${JSON.stringify(c[key])}`);
    }
  }
  if (c.hidden_size % c.num_attention_heads !== 0) {
    throw new UserError(
      `student config: hidden_size ${c.hidden_size} must be divisible by num_attention_heads ${c.num_attention_heads}`,
    );
  }
  for (const key of ['hidden_dropout_prob', 'attention_probs_dropout_prob'] as const) {
    if (!(c[key] >= 0 && c[key] < 1)) throw new UserError(`student config: ${key} must be in [0, 1), got ${c[key]}`);
  }
  validatePerLayerShapes(c);
  if (c.hidden_act !== 'gelu') throw new UserError(`student config: hidden_act must be "gelu", got "${c.hidden_act}"`);
  if (c.problem_type === 'regression' && c.num_labels !== 1) {
    throw new UserError(`student config: num_labels must be 1 for problem_type "regression", got ${c.num_labels}`);
  }
}

/** pruned_heads / layer_intermediate_sizes: each layer keeps at least one head and one feed-forward unit. */
function validatePerLayerShapes(c: BertConfig): void {
  if (c.pruned_heads !== undefined) {
    if (!c.pruned_heads || typeof c.pruned_heads !== 'object' || Array.isArray(c.pruned_heads)) {
      throw new UserError(`student config: pruned_heads must map layer indices to lists of head ids, e.g. {"0": [1, 3]}, got ${JSON.stringify(c.pruned_heads)}`);
    }
    for (const [layer, ids] of Object.entries(c.pruned_heads)) {
      const i = Number(layer);
      if (!Number.isInteger(i) || i < 0 || i >= c.num_hidden_layers || String(i) !== layer) {
        throw new UserError(`student config: pruned_heads key "${layer}" must be a layer index in 0..${c.num_hidden_layers - 1}`);
      }
      if (!Array.isArray(ids) || ids.some((h) => !Number.isInteger(h) || h < 0 || h >= c.num_attention_heads) || new Set(ids).size !== ids.length) {
        throw new UserError(`student config: pruned_heads["${layer}"] must list distinct head ids in 0..${c.num_attention_heads - 1}, got ${JSON.stringify(ids)}`);
      }
      if (ids.length >= c.num_attention_heads) throw new UserError(`student config: pruned_heads["${layer}"] removes every head of layer ${layer}; keep at least one`);
    }
  }
  const sizes = c.layer_intermediate_sizes;
  if (sizes !== undefined) {
    if (!Array.isArray(sizes) || sizes.length !== c.num_hidden_layers || sizes.some((n) => !Number.isInteger(n) || n < 1)) {
      throw new UserError(`student config: layer_intermediate_sizes must list ${c.num_hidden_layers} positive integers (one per layer), got ${JSON.stringify(sizes)}`);
    }
  }
}

/**
 * Multipliers on each head's context output ([heads of layer i]) and on each feed-forward unit's
 * activation ([width of layer i]): 1 leaves the model unchanged; their gradients are the importance
 * scores of structured pruning (Michel et al. 2019), and 0 removes a head or unit.
 */
export interface PruningMasks {
  heads: tf.Tensor1D[];
  ffn: tf.Tensor1D[];
}

/** BERT initialisation: normal(0, initializer_range) for matrices, zeros for biases, ones for LN gains. */
function initialValue(name: string, shape: number[], c: BertConfig, rng: Rng): Float32Array {
  const size = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(size);
  if (name.includes('LayerNorm')) {
    if (name.endsWith('.weight')) data.fill(1);
    return data;
  }
  if (name.endsWith('.bias')) return data;
  const std = c.initializer_range;
  for (let i = 0; i < size; i++) data[i] = rng.normal() * std;
  if (name === 'embeddings.word_embeddings.weight' && c.pad_token_id >= 0 && c.pad_token_id < c.vocab_size) {
    data.fill(0, c.pad_token_id * shape[1], (c.pad_token_id + 1) * shape[1]); // HF zeros the padding row
  }
  return data;
}

/** A trainable variable holding a copy of `data` (the staging tensor is released at once). */
export function newVariable(data: Float32Array, shape: number[]): tf.Variable {
  const staging = tf.tensor(data, shape, 'float32');
  const v = tf.variable(staging, true);
  staging.dispose();
  return v;
}

export class Student {
  private readonly dropoutRng: Rng;
  /** Fake-int8 state (quantisation-aware training); undefined for a float student. */
  quantization?: Quantization;
  private ownsQuantization = false;

  /** Attaches fake-int8 state; a shared one (the EMA student uses the raw student's ranges) is not disposed with this student. */
  attachQuantization(q: Quantization, opts: { shared?: boolean } = {}): void {
    if (this.ownsQuantization && this.quantization !== q) this.quantization?.dispose();
    this.quantization = q;
    this.ownsQuantization = !opts.shared;
  }

  /** Set while importance scores are measured (and by tests); forward passes multiply by them. */
  masks?: PruningMasks;

  private constructor(
    /** Replaced (with the weights) when the student is pruned. */
    public config: BertConfig,
    readonly params: Map<string, tf.Variable>,
    seed: number,
  ) {
    this.dropoutRng = new Rng(seed ^ 0x5eed);
  }

  /** A freshly initialised student (BERT's initialisation, reproducible from `seed`). */
  static create(config: BertConfig, seed: number): Student {
    validateConfig(config);
    const rng = new Rng(seed);
    const params = new Map<string, tf.Variable>();
    for (const [name, shape] of paramShapes(config)) {
      params.set(name, newVariable(initialValue(name, shape, config, rng), shape));
    }
    return new Student(config, params, seed);
  }

  /** A student holding the given values (tfjs layout); every parameter must be present with its config shape. */
  static fromWeights(config: BertConfig, weights: Map<string, { shape: number[]; data: Float32Array }>, seed = 0): Student {
    validateConfig(config);
    const params = new Map<string, tf.Variable>();
    try {
      for (const [name, shape] of paramShapes(config)) {
        const w = weights.get(name);
        if (!w) throw new UserError(`student weights: missing tensor "${name}" (expected shape [${shape}])`);
        if (w.shape.length !== shape.length || w.shape.some((d, i) => d !== shape[i])) {
          throw new UserError(`student weights: tensor "${name}" has shape [${w.shape}], config expects [${shape}]`);
        }
        params.set(name, newVariable(w.data, shape));
      }
    } catch (e) {
      for (const v of params.values()) v.dispose();
      throw e;
    }
    return new Student(config, params, seed);
  }

  /**
   * Swaps in weights of another shape (structured pruning): the parameter map keeps its identity, so
   * whoever holds it (the EMA, the trainer's variable list) sees the new variables.
   */
  replaceWeights(config: BertConfig, weights: Map<string, { shape: number[]; data: Float32Array }>): void {
    validateConfig(config);
    const next = Student.fromWeights(config, weights);
    for (const v of this.params.values()) v.dispose();
    this.params.clear();
    for (const [k, v] of next.params) this.params.set(k, v);
    this.config = config;
  }

  numParams(): number {
    let n = 0;
    for (const v of this.params.values()) n += v.size;
    return n;
  }

  private p(name: string): tf.Variable {
    const v = this.params.get(name);
    if (!v) throw new Error(`student has no parameter "${name}"`);
    return v;
  }

  /** x [N, in] · kernel [in, out] + bias; input and kernel fake-quantised when quantisation is active for this layer. */
  private dense(x: tf.Tensor2D, prefix: string, training = false): tf.Tensor2D {
    const q = this.quantization;
    if (q?.active && q.covers(prefix)) {
      const kernel = q.weight(this.p(`${prefix}.weight`) as tf.Tensor2D);
      return tf.add(tf.matMul(q.activation(prefix, x, training), kernel), this.p(`${prefix}.bias`));
    }
    return tf.add(tf.matMul(x, this.p(`${prefix}.weight`)), this.p(`${prefix}.bias`));
  }

  private layerNorm(x: tf.Tensor2D, prefix: string): tf.Tensor2D {
    return layerNorm(x, this.p(`${prefix}.weight`), this.p(`${prefix}.bias`), this.config.layer_norm_eps);
  }

  private dropout<T extends tf.Tensor>(x: T, rate: number, rng: Rng | undefined): T {
    if (!rng || rate <= 0) return x;
    return dropout(x, rate, rng.int(2 ** 31));
  }

  /**
   * One forward pass. All intermediate tensors are flattened to [B·L, H] between the attention
   * products so each dense layer is one plain 2-D matMul. Call inside tf.tidy (or tf.variableGrads).
   */
  forward(inputs: StudentInputs, opts: ForwardOptions): StudentOutput {
    const c = this.config;
    const [B, L] = inputs.inputIds.shape;
    if (L > c.max_position_embeddings) {
      throw new UserError(`sequence length ${L} exceeds the student's max_position_embeddings ${c.max_position_embeddings}`);
    }
    const H = c.hidden_size;
    const d = H / c.num_attention_heads;
    const rng = opts.training ? (opts.rng ?? this.dropoutRng) : undefined;
    const pHidden = c.hidden_dropout_prob;
    const pAttn = c.attention_probs_dropout_prob;

    const mask = tf.cast(inputs.attentionMask, 'float32') as tf.Tensor2D;
    // [B, 1, 1, L]: 0 for real keys, MASKED_SCORE for padded ones (added to every query row).
    const keyBias = tf.reshape(tf.mul(tf.sub(1, mask), MASKED_SCORE), [B, 1, 1, L]);

    // Embeddings
    const ids = tf.reshape(inputs.inputIds, [B * L]);
    const types = tf.reshape(inputs.tokenTypeIds, [B * L]);
    const words = tf.gather(this.p('embeddings.word_embeddings.weight'), ids); // [B·L, H]
    const positions = tf.gather(this.p('embeddings.position_embeddings.weight'), tf.range(0, L, 1, 'int32')); // [L, H]
    const typeEmb = tf.gather(this.p('embeddings.token_type_embeddings.weight'), types);
    const summed = tf.add(tf.reshape(tf.add(words, typeEmb), [B, L, H]), positions);
    let x = this.layerNorm(tf.reshape(summed, [B * L, H]), 'embeddings.LayerNorm');
    x = this.dropout(x, pHidden, rng);

    const hidden: tf.Tensor3D[] = [tf.reshape(x, [B, L, H])];
    const attentionScores: tf.Tensor4D[] = [];
    const attentionProbs: tf.Tensor4D[] = [];
    const qkv: NonNullable<Features['qkv']> = [];
    const scale = 1 / Math.sqrt(d);

    for (let i = 0; i < c.num_hidden_layers; i++) {
      const pre = `encoder.layer.${i}.`;
      const heads = layerHeadCount(c, i);
      const A = heads * d; // attention width: H unless heads were pruned
      // Self-attention. The 1/sqrt(d) scale is folded into q ([B,h,L,d], smaller than the scores);
      // k is laid out [B,h,d,L] by its one transpose so the score product needs no transpose flag.
      const qProj = this.dense(x, `${pre}attention.self.query`, opts.training);
      const kProj = this.dense(x, `${pre}attention.self.key`, opts.training);
      const vProj = this.dense(x, `${pre}attention.self.value`, opts.training);
      qkv.push({ query: tf.reshape(qProj, [B, L, A]), key: tf.reshape(kProj, [B, L, A]), value: tf.reshape(vProj, [B, L, A]) });
      const q = tf.transpose(tf.reshape(tf.mul(qProj, scale), [B, L, heads, d]), [0, 2, 1, 3]);
      const k = tf.transpose(tf.reshape(kProj, [B, L, heads, d]), [0, 2, 3, 1]);
      const v = tf.transpose(tf.reshape(vProj, [B, L, heads, d]), [0, 2, 1, 3]);
      const scores = tf.add(tf.matMul(q, k), keyBias) as tf.Tensor4D; // [B, h, L, L]
      const probs = tf.softmax(scores) as tf.Tensor4D;
      attentionScores.push(scores);
      attentionProbs.push(probs);
      let context = tf.matMul(this.dropout(probs, pAttn, rng), v); // [B, h, L, d]
      if (this.masks) context = tf.mul(context, tf.reshape(this.masks.heads[i], [1, heads, 1, 1]));
      const merged = tf.reshape(tf.transpose(context, [0, 2, 1, 3]), [B * L, A]) as tf.Tensor2D;
      const attnOut = this.dropout(this.dense(merged, `${pre}attention.output.dense`, opts.training), pHidden, rng);
      const h = this.layerNorm(tf.add(attnOut, x), `${pre}attention.output.LayerNorm`);
      // Feed-forward with erf GELU, as BERT.
      let inter = gelu(this.dense(h, `${pre}intermediate.dense`, opts.training));
      if (this.masks) inter = tf.mul(inter, this.masks.ffn[i]);
      const ffOut = this.dropout(this.dense(inter, `${pre}output.dense`, opts.training), pHidden, rng);
      x = this.layerNorm(tf.add(ffOut, h), `${pre}output.LayerNorm`);
      hidden.push(tf.reshape(x, [B, L, H]));
    }

    // Pooler on the first ([CLS]) token, then the head.
    const first = tf.reshape(tf.slice(hidden[hidden.length - 1], [0, 0, 0], [B, 1, H]), [B, H]);
    const pooled = tf.tanh(this.dense(first as tf.Tensor2D, 'pooler.dense'));
    const logits = this.dense(this.dropout(pooled, pHidden, rng), 'classifier');
    return { logits, hidden, attentionScores, attentionProbs, mask, qkv };
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
    this.params.clear();
    if (this.ownsQuantization) this.quantization?.dispose();
    this.quantization = undefined;
  }
}

