import { layerHeadCount, layerIntermediateSize, type BertConfig } from '../student/config.ts';
import { DT, GraphBuilder } from './onnx-graph.ts';
import { quantizeKernelPerColumn } from './quantize.ts';
import { activationQParams, quantizeWeightColumns } from '../quant/qparams.ts';
import { validateWeights, type WeightMap } from './weights.ts';

/** Additive attention-mask value for padding keys; the student uses the same (BERT's) convention. */
export const MASK_VALUE = -10000;
export const EXPORT_OPSET = 17;
/** IR version 8 is what ONNX 1.12+ writes for opset 17 and what every onnxruntime ≥ 1.11 reads. */
export const EXPORT_IR_VERSION = 8;

export interface BuildOptions {
  /** Also output hidden_states.{0..N} [B,L,H], attention_scores.{i} (pre-softmax, masked) and attentions.{i}. */
  withIntermediates?: boolean;
  /**
   * 'int8': encoder MatMuls become DynamicQuantizeLinear + MatMulInteger with per-column int8 weights.
   * 'qat': the quantisation the student trained with (needs `qat`): QuantizeLinear → DequantizeLinear
   * (QDQ) on each encoder MatMul's input with the observed range, int8 weights → DequantizeLinear.
   */
  weightFormat?: 'fp32' | 'int8' | 'qat';
  /** The observed input ranges (by dense-layer prefix) and the weights' qmax of a quantisation-aware student. */
  qat?: { ranges: Map<string, { min: number; max: number }>; qmax: number };
  /** Quantize weights to 7 bits (see quantize.ts); default true. */
  reduceRange?: boolean;
  producerVersion?: string;
}

const B = 'batch_size';
const L = 'sequence_length';

/**
 * Builds BertForSequenceClassification as an ONNX model (opset 17) from tfjs-layout weights:
 * inputs input_ids / attention_mask / token_type_ids (int64 [batch, sequence]), output logits.
 * Training-only parameters in `weights` (projections) are ignored.
 */
export function buildOnnxModel(config: BertConfig, weights: WeightMap, opts: BuildOptions = {}): Uint8Array {
  validateWeights(config, weights);
  const g = new GraphBuilder('bert_sequence_classification');
  const H = config.hidden_size;
  const heads = config.num_attention_heads;
  const headDim = H / heads;
  const eps = config.layer_norm_eps;
  const int8 = opts.weightFormat === 'int8';
  const qat = opts.weightFormat === 'qat' ? opts.qat : undefined;
  if (opts.weightFormat === 'qat' && !qat) throw new Error('buildOnnxModel: weightFormat "qat" needs the observed ranges (opts.qat)');
  const reduceRange = opts.reduceRange ?? true;

  const param = (name: string): string => {
    const w = weights.get(name)!;
    return g.float(name, w.shape, w.data);
  };
  const consts = {
    zero: g.int64('const_zero', [], [0]),
    one: g.float('const_one', [], [1]),
    maskValue: g.float('const_mask_value', [], [MASK_VALUE]),
    attnScale: g.float('const_attention_scale', [], [1 / Math.sqrt(headDim)]),
    half: g.float('const_half', [], [0.5]),
    invSqrt2: g.float('const_inv_sqrt2', [], [Math.SQRT1_2]),
    maskAxes: g.int64('const_mask_axes', [2], [1, 2]),
  };
  // Reshape targets per head count: a pruned student's layers may keep different numbers of heads.
  const headShapes = new Map<number, { split: string; merge: string }>();
  const headShape = (n: number) => {
    let s = headShapes.get(n);
    if (!s) {
      const suffix = n === heads ? '' : `_${n}`;
      s = {
        split: g.int64(`const_split_heads_shape${suffix}`, [4], [0, 0, n, headDim]),
        merge: g.int64(`const_merge_heads_shape${suffix}`, [3], [0, 0, n * headDim]),
      };
      headShapes.set(n, s);
    }
    return s;
  };

  // One Quantize → Dequantize pair per (input, range): Q, K and V read the same input with the same range.
  const qdqInputs = new Map<string, string>();
  const qdqInput = (x: string, prefix: string): string => {
    const r = qat!.ranges.get(prefix);
    if (!r) throw new Error(`buildOnnxModel: no observed range for the input of ${prefix}`);
    const { scale, zeroPoint } = activationQParams(r.min, r.max);
    const key = `${x}|${scale}|${zeroPoint}`;
    const known = qdqInputs.get(key);
    if (known) return known;
    const s = g.float(`${prefix}.input_scale`, [], [scale]);
    const zp = g.uint8(`${prefix}.input_zero_point`, [], Uint8Array.of(zeroPoint));
    const out = g.op('DequantizeLinear', [g.op('QuantizeLinear', [x, s, zp]), s, zp]);
    qdqInputs.set(key, out);
    return out;
  };
  /** x [.., K] · W [K, N] + b, in float, through the dynamic int8 path, or with the trained quantisation (QDQ). */
  const linear = (x: string, prefix: string, quantize: boolean): string => {
    const kernel = weights.get(`${prefix}.weight`)!;
    const bias = param(`${prefix}.bias`);
    if (quantize && qat) {
      const [rows, cols] = kernel.shape;
      const { q, scales } = quantizeWeightColumns(kernel.data, rows, cols, qat.qmax);
      const wq = g.int8(`${prefix}.weight_quantized`, [rows, cols], q);
      const wScale = g.float(`${prefix}.weight_scale`, [cols], scales);
      const wZero = g.int8(`${prefix}.weight_zero_point`, [cols], new Int8Array(cols));
      const w = g.op('DequantizeLinear', [wq, wScale, wZero], { axis: 1 });
      return g.op('Add', [g.op('MatMul', [qdqInput(x, prefix), w]), bias]);
    }
    if (!quantize) return g.op('Add', [g.op('MatMul', [x, param(`${prefix}.weight`)]), bias]);
    const [rows, cols] = kernel.shape;
    const { q, scales } = quantizeKernelPerColumn(kernel.data, rows, cols, reduceRange);
    const wq = g.int8(`${prefix}.weight_quantized`, [rows, cols], q);
    const wScale = g.float(`${prefix}.weight_scale`, [cols], scales);
    const wZero = g.int8(`${prefix}.weight_zero_point`, [cols], new Int8Array(cols));
    const [xq, xScale, xZero] = g.opMulti('DynamicQuantizeLinear', [x], 3);
    const acc = g.op('MatMulInteger', [xq, wq, xZero, wZero]);
    const scale = g.op('Mul', [xScale, wScale]);
    const y = g.op('Mul', [g.op('Cast', [acc], { to: DT.FLOAT }), scale]);
    return g.op('Add', [y, bias]);
  };
  const layerNorm = (x: string, prefix: string, out?: string): string =>
    g.op('LayerNormalization', [x, param(`${prefix}.weight`), param(`${prefix}.bias`)], { axis: -1, epsilon: { float: eps } }, out);

  const inputIds = g.input('input_ids', DT.INT64, [B, L]);
  const attentionMask = g.input('attention_mask', DT.INT64, [B, L]);
  const tokenTypeIds = g.input('token_type_ids', DT.INT64, [B, L]);

  // Embeddings: word + position (0..L-1) + token type, then LayerNorm.
  const word = g.op('Gather', [param('embeddings.word_embeddings.weight'), inputIds], { axis: 0 });
  // Positions as a Gather over Range(0, L), the way HF exports do, so weight extraction (src/teacher)
  // recognises the table and an exported student can initialise the next one.
  const seqLen = g.op('Squeeze', [g.op('Shape', [inputIds], { start: 1, end: 2 }), g.int64('const_axis0', [1], [0])]);
  const positionIds = g.op('Range', [consts.zero, seqLen, g.int64('const_one_i64', [], [1])]);
  const position = g.op('Gather', [param('embeddings.position_embeddings.weight'), positionIds], { axis: 0 });
  const tokenType = g.op('Gather', [param('embeddings.token_type_embeddings.weight'), tokenTypeIds], { axis: 0 });
  const embSum = g.op('Add', [g.op('Add', [word, tokenType]), position]);
  const hidden: string[] = [layerNorm(embSum, 'embeddings.LayerNorm', opts.withIntermediates ? 'hidden_states.0' : undefined)];

  // Additive mask [B, 1, 1, L]: 0 for real tokens, MASK_VALUE for padding.
  const maskF = g.op('Cast', [attentionMask], { to: DT.FLOAT });
  const additiveMask = g.op('Unsqueeze', [g.op('Mul', [g.op('Sub', [consts.one, maskF]), consts.maskValue]), consts.maskAxes]);

  for (let i = 0; i < config.num_hidden_layers; i++) {
    const p = `encoder.layer.${i}.`;
    const x = hidden[hidden.length - 1];
    const shape = headShape(layerHeadCount(config, i));
    const heads4 = (t: string, perm: number[]) =>
      g.op('Transpose', [g.op('Reshape', [t, shape.split])], { perm });
    // 1/sqrt(d) is folded into q, as the student does, so both round the same way.
    const quant = int8 || !!qat;
    const q = heads4(g.op('Mul', [linear(x, `${p}attention.self.query`, quant), consts.attnScale]), [0, 2, 1, 3]); // [B, h, L, d]
    const kT = heads4(linear(x, `${p}attention.self.key`, quant), [0, 2, 3, 1]); // [B, h, d, L]
    const v = heads4(linear(x, `${p}attention.self.value`, quant), [0, 2, 1, 3]);
    const scores = g.op('Add', [g.op('MatMul', [q, kT]), additiveMask], {}, opts.withIntermediates ? `attention_scores.${i}` : undefined);
    const probs = g.op('Softmax', [scores], { axis: -1 }, opts.withIntermediates ? `attentions.${i}` : undefined);
    const ctx = g.op('Reshape', [g.op('Transpose', [g.op('MatMul', [probs, v])], { perm: [0, 2, 1, 3] }), shape.merge]);
    const attnOut = linear(ctx, `${p}attention.output.dense`, quant);
    const h1 = layerNorm(g.op('Add', [attnOut, x]), `${p}attention.output.LayerNorm`);
    const inter = linear(h1, `${p}intermediate.dense`, quant);
    // GELU, erf form: 0.5 · x · (1 + erf(x / √2)).
    const erf = g.op('Erf', [g.op('Mul', [inter, consts.invSqrt2])]);
    const gelu = g.op('Mul', [g.op('Mul', [inter, g.op('Add', [erf, consts.one])]), consts.half]);
    const ffnOut = linear(gelu, `${p}output.dense`, quant);
    hidden.push(
      layerNorm(g.op('Add', [ffnOut, h1]), `${p}output.LayerNorm`, opts.withIntermediates ? `hidden_states.${i + 1}` : undefined),
    );
  }

  // Pooler on [CLS] and classifier; small, so kept in float even in the int8 model.
  const cls = g.op('Gather', [hidden[hidden.length - 1], consts.zero], { axis: 1 });
  const pooled = g.op('Tanh', [linear(cls, 'pooler.dense', false)]);
  const logitsRaw = linear(pooled, 'classifier', false);
  g.op('Identity', [logitsRaw], {}, 'logits');
  g.output('logits', DT.FLOAT, [B, config.num_labels]);

  if (opts.withIntermediates) {
    for (let i = 0; i <= config.num_hidden_layers; i++) g.output(`hidden_states.${i}`, DT.FLOAT, [B, L, H]);
    for (let i = 0; i < config.num_hidden_layers; i++) g.output(`attention_scores.${i}`, DT.FLOAT, [B, layerHeadCount(config, i), L, L]);
    for (let i = 0; i < config.num_hidden_layers; i++) g.output(`attentions.${i}`, DT.FLOAT, [B, layerHeadCount(config, i), L, L]);
  }
  return g.encode({
    opset: EXPORT_OPSET,
    irVersion: EXPORT_IR_VERSION,
    producerName: 'distill-ts',
    producerVersion: opts.producerVersion ?? '0.1.0',
    docString: `BERT sequence classifier (${config.num_hidden_layers} layers, hidden ${H})${prunedDoc(config)}${int8 ? ', int8 dynamic quantization' : qat ? ', int8 quantization-aware (QDQ, trained ranges)' : ''}`,
  });
}

/** ", pruned: heads per layer [..], feed-forward widths [..]" for a structurally pruned student. */
function prunedDoc(c: BertConfig): string {
  const layers = [...Array(c.num_hidden_layers).keys()];
  const heads = layers.map((i) => layerHeadCount(c, i));
  const widths = layers.map((i) => layerIntermediateSize(c, i));
  if (heads.every((h) => h === c.num_attention_heads) && widths.every((w) => w === c.intermediate_size)) return '';
  return `, pruned: heads per layer [${heads}], feed-forward widths [${widths}]`;
}
