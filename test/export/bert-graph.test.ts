import { describe, expect, it } from 'vitest';
import onnxProto from 'onnx-proto';
import { buildOnnxModel, EXPORT_OPSET } from '../../src/export/bert-graph.ts';
import { UserError } from '../../src/util/errors.ts';
import { argmaxRows, maxAbsDiff, runOnnx } from './helpers.ts';
import { randomWeights, referenceForward, tinyConfig } from './reference-bert.ts';

const { onnx } = onnxProto;
const graphOf = (m: onnxProto.onnx.ModelProto) => m.graph as onnxProto.onnx.GraphProto;

// Two rows, the second padded: exercises the mask, token types and the dynamic axes.
const ids = [[2, 9, 17, 30, 3, 25, 3], [2, 11, 12, 3, 0, 0, 0]];
const mask = [[1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0, 0]];
const types = [[0, 0, 0, 0, 0, 1, 1], [0, 0, 0, 0, 0, 0, 0]];

describe('buildOnnxModel (fp32)', () => {
  const config = tinyConfig();
  const weights = randomWeights(config, 7);
  const ref = referenceForward(config, weights, ids, mask, types);

  it('declares opset 17, int64 inputs with dynamic axes and a logits output', () => {
    const model = onnx.ModelProto.decode(buildOnnxModel(config, weights));
    expect(Number(model.opsetImport[0].version)).toBe(EXPORT_OPSET);
    expect(graphOf(model).input.map((i) => i.name)).toEqual(['input_ids', 'attention_mask', 'token_type_ids']);
    for (const i of graphOf(model).input) {
      expect(i.type!.tensorType!.elemType).toBe(onnx.TensorProto.DataType.INT64);
      expect((i.type!.tensorType!.shape!.dim ?? []).map((d) => d.dimParam)).toEqual(['batch_size', 'sequence_length']);
    }
    expect(graphOf(model).output.map((o) => o.name)).toEqual(['logits']);
    const ops = new Set(graphOf(model).node.map((n) => n.opType));
    for (const op of ['Gather', 'MatMul', 'LayerNormalization', 'Softmax', 'Erf', 'Tanh']) expect(ops.has(op)).toBe(true);
  });

  it('matches the reference BERT equations: logits, every hidden state and masked scores', async () => {
    const out = await runOnnx(buildOnnxModel(config, weights, { withIntermediates: true }), ids, mask, types);
    expect(out.logits.dims).toEqual([2, 2]);
    expect(maxAbsDiff(out.logits.data, ref.logits.flat())).toBeLessThan(1e-4);
    for (let i = 0; i <= config.num_hidden_layers; i++) {
      expect(out[`hidden_states.${i}`].dims).toEqual([2, 7, 16]);
      expect(maxAbsDiff(out[`hidden_states.${i}`].data, ref.hidden[i].flat(2))).toBeLessThan(1e-4);
    }
    for (let i = 0; i < config.num_hidden_layers; i++) {
      const scores = out[`attention_scores.${i}`];
      expect(scores.dims).toEqual([2, 4, 7, 7]);
      expect(maxAbsDiff(scores.data, ref.scores[i].flat(3))).toBeLessThan(1e-3); // values up to -1e4 on padding
      const probs = out[`attentions.${i}`].data;
      expect(probs[(1 * 4 * 7 + 0) * 7 + 5]).toBeLessThan(1e-6); // row 1 never attends to its padding
    }
  });

  it('handles another batch size and sequence length with the same model', async () => {
    const model = buildOnnxModel(config, weights);
    const one = await runOnnx(model, [[2, 20, 3]], [[1, 1, 1]], [[0, 0, 0]]);
    const oneRef = referenceForward(config, weights, [[2, 20, 3]], [[1, 1, 1]], [[0, 0, 0]]);
    expect(one.logits.dims).toEqual([1, 2]);
    expect(maxAbsDiff(one.logits.data, oneRef.logits.flat())).toBeLessThan(1e-4);
  });

  it('exports a regression head (num_labels 1) as logits [B, 1]', async () => {
    const reg = tinyConfig({ num_labels: 1, problem_type: 'regression', id2label: { 0: 'LABEL_0' }, label2id: { LABEL_0: 0 } });
    const w = randomWeights(reg, 3);
    const out = await runOnnx(buildOnnxModel(reg, w), ids, mask, types);
    expect(out.logits.dims).toEqual([2, 1]);
    expect(maxAbsDiff(out.logits.data, referenceForward(reg, w, ids, mask, types).logits.flat())).toBeLessThan(1e-4);
  });
});

describe('buildOnnxModel (int8)', () => {
  // Student-like scale (BERT init std 0.02 ... trained weights ~0.05): quantization error stays small.
  const config = tinyConfig({ hidden_size: 32, intermediate_size: 64 });
  const weights = randomWeights(config, 11, 0.2);

  it('uses DynamicQuantizeLinear + MatMulInteger with int8 weights and stays close to fp32', async () => {
    const bytes = buildOnnxModel(config, weights, { weightFormat: 'int8' });
    const model = onnx.ModelProto.decode(bytes);
    const count = (op: string) => graphOf(model).node.filter((n) => n.opType === op).length;
    expect(count('MatMulInteger')).toBe(6 * config.num_hidden_layers);
    expect(count('DynamicQuantizeLinear')).toBe(6 * config.num_hidden_layers);
    const q = graphOf(model).initializer.find((t) => t.name === 'encoder.layer.0.attention.self.query.weight_quantized')!;
    expect(q.dataType).toBe(onnx.TensorProto.DataType.INT8);
    expect(graphOf(model).initializer.some((t) => t.name === 'encoder.layer.0.attention.self.query.weight')).toBe(false);

    const fp = await runOnnx(buildOnnxModel(config, weights), ids, mask, types);
    const i8 = await runOnnx(bytes, ids, mask, types);
    const diff = maxAbsDiff(fp.logits.data, i8.logits.data);
    const range = Math.max(...Array.from(fp.logits.data).map(Math.abs));
    expect(diff).toBeGreaterThan(0); // really quantized
    expect(diff).toBeLessThan(0.1 * range);
  });

  it('writes 8-bit weights when reduceRange is off', () => {
    const model = onnx.ModelProto.decode(buildOnnxModel(config, weights, { weightFormat: 'int8', reduceRange: false }));
    const q = graphOf(model).initializer.find((t) => t.name === 'encoder.layer.0.output.dense.weight_quantized')!;
    const values = new Int8Array(q.rawData!.buffer, q.rawData!.byteOffset, q.rawData!.byteLength);
    expect(Math.max(...Array.from(values).map(Math.abs))).toBe(127);
  });
});

describe('buildOnnxModel input checks', () => {
  const config = tinyConfig();

  it('names a missing parameter', () => {
    const w = randomWeights(config, 1);
    w.delete('encoder.layer.1.intermediate.dense.bias');
    expect(() => buildOnnxModel(config, w)).toThrow(UserError);
    expect(() => buildOnnxModel(config, w)).toThrow(/encoder\.layer\.1\.intermediate\.dense\.bias is missing \(expected shape \[24\]\)/);
  });

  it('names a parameter whose shape does not match the config', () => {
    const w = randomWeights(tinyConfig({ intermediate_size: 20 }), 1);
    expect(() => buildOnnxModel(config, w)).toThrow(/encoder\.layer\.0\.intermediate\.dense\.weight has shape \[16, 20\] but config\.json implies \[16, 24\]/);
  });

  it('rejects non-finite weights and an indivisible head count', () => {
    const w = randomWeights(config, 1);
    w.get('classifier.bias')!.data[1] = NaN;
    expect(() => buildOnnxModel(config, w)).toThrow(/classifier\.bias has a non-finite value at index 1/);
    expect(() => buildOnnxModel(tinyConfig({ num_attention_heads: 3 }), randomWeights(config, 1))).toThrow(/not divisible/);
  });

  it('ignores training-only extras such as projections', async () => {
    const w = randomWeights(config, 2);
    w.set('proj.hidden.0.weight', { shape: [16, 64], data: new Float32Array(16 * 64) });
    const out = await runOnnx(buildOnnxModel(config, w), ids, mask, types);
    expect(argmaxRows(out.logits.data, 2)).toEqual(
      argmaxRows(referenceForward(config, w, ids, mask, types).logits.flat(), 2),
    );
  });
});
