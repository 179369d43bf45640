/**
 * Structured pruning's pure parts: slicing the weights gives exactly the unpruned model with the removed
 * heads' and units' masks at zero; the config records pruned_heads in the original numbering (as
 * Hugging Face does, across successive prunings); the selection follows the scores and targets.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { collate } from '../../src/data/batching.ts';
import { studentWeights } from '../../src/export/weights.ts';
import { pruneWeights, prunedConfig } from '../../src/prune/prune-weights.ts';
import { selectKept } from '../../src/prune/select.ts';
import { isPruned, keptHeadIds, layerHeadCount, layerIntermediateSize } from '../../src/student/config.ts';
import { Student } from '../../src/student/model.ts';
import { paramShapes } from '../../src/student/param-names.ts';
import { tinyConfig, toyData, useCpu } from '../distill/helpers.ts';

beforeAll(useCpu);

const config = tinyConfig({ hidden_size: 12, num_attention_heads: 3, num_hidden_layers: 2, intermediate_size: 10 });
const dev = toyData(6, 4);

function inputs() {
  const b = collate(dev.encoded, [0, 1, 2, 3, 4, 5]);
  const t = (a: Int32Array) => tf.tensor2d(a, [b.size, b.seqLen], 'int32');
  return { inputIds: t(b.inputIds), attentionMask: t(b.attentionMask), tokenTypeIds: t(b.tokenTypeIds) };
}

/** Mask vectors: 1 for kept indices, 0 for the others. */
const maskOf = (n: number, kept: number[]) => tf.tensor1d(Array.from({ length: n }, (_, j) => (kept.includes(j) ? 1 : 0)));

function logits(s: Student): Float32Array {
  return tf.tidy(() => s.forward(inputs(), { training: false }).logits.dataSync() as Float32Array);
}

describe('pruneWeights', () => {
  it('pruned model = unpruned model with the pruned heads and units masked to zero (logits to 1e-6)', () => {
    const s = Student.create(config, 11);
    // Larger weights than BERT's 0.02 init so every head and unit moves the logits measurably.
    for (const v of s.params.values()) tf.tidy(() => v.assign(tf.mul(v, v.shape.length === 2 ? 20 : 1)));
    const plan = { heads: [[0, 2], [1]], ffn: [[1, 2, 5, 9], [0, 3, 4, 6, 7, 8]] };
    s.masks = { heads: [maskOf(3, plan.heads[0]), maskOf(3, plan.heads[1])], ffn: [maskOf(10, plan.ffn[0]), maskOf(10, plan.ffn[1])] };
    const masked = logits(s);
    s.masks = undefined;
    const full = logits(s);
    const { config: pc, weights } = pruneWeights(config, studentWeights(s), plan);
    const pruned = Student.fromWeights(pc, weights);
    const out = logits(pruned);
    let diff = 0;
    let moved = 0;
    for (let i = 0; i < out.length; i++) {
      diff = Math.max(diff, Math.abs(out[i] - masked[i]));
      moved = Math.max(moved, Math.abs(full[i] - masked[i]));
    }
    expect(diff).toBeLessThan(1e-6);
    expect(moved).toBeGreaterThan(1e-3); // the masks (and so the pruning) change the output
    expect(pc.pruned_heads).toEqual({ '0': [1], '1': [0, 2] });
    expect(pc.layer_intermediate_sizes).toEqual([4, 6]);
    expect(pruned.params.get('encoder.layer.1.attention.self.query.weight')!.shape).toEqual([12, 4]);
    expect(pruned.params.get('encoder.layer.1.attention.output.dense.weight')!.shape).toEqual([4, 12]);
    expect(pruned.params.get('encoder.layer.0.output.dense.weight')!.shape).toEqual([4, 12]);
    expect(pruned.numParams()).toBeLessThan(s.numParams());
    s.dispose();
    pruned.dispose();
  });

  it('slices the right columns and rows (hand-built 2-head layer)', () => {
    const c = tinyConfig({ hidden_size: 4, num_attention_heads: 2, num_hidden_layers: 1, intermediate_size: 3 });
    const weights = new Map([...paramShapes(c)].map(([k, shape]) => {
      const n = shape.reduce((a, b) => a * b, 1);
      return [k, { shape, data: Float32Array.from({ length: n }, (_, i) => i) }];
    }));
    const { weights: w } = pruneWeights(c, weights, { heads: [[1]], ffn: [[0, 2]] });
    // query [4, 4]: head 1 is columns 2..3 of each row.
    expect(Array.from(w.get('encoder.layer.0.attention.self.query.weight')!.data)).toEqual([2, 3, 6, 7, 10, 11, 14, 15]);
    expect(Array.from(w.get('encoder.layer.0.attention.self.value.bias')!.data)).toEqual([2, 3]);
    // attention output [4, 4]: rows 2..3.
    expect(Array.from(w.get('encoder.layer.0.attention.output.dense.weight')!.data)).toEqual([8, 9, 10, 11, 12, 13, 14, 15]);
    // intermediate [4, 3]: columns 0 and 2; bias [3]: 0 and 2; output [3, 4]: rows 0 and 2.
    expect(Array.from(w.get('encoder.layer.0.intermediate.dense.weight')!.data)).toEqual([0, 2, 3, 5, 6, 8, 9, 11]);
    expect(Array.from(w.get('encoder.layer.0.intermediate.dense.bias')!.data)).toEqual([0, 2]);
    expect(Array.from(w.get('encoder.layer.0.output.dense.weight')!.data)).toEqual([0, 1, 2, 3, 8, 9, 10, 11]);
    expect(w.get('encoder.layer.0.output.dense.bias')).toBe(weights.get('encoder.layer.0.output.dense.bias'));
  });

  it('keeps pruned_heads in the original numbering across two prunings', () => {
    const c4 = tinyConfig({ hidden_size: 8, num_attention_heads: 4, num_hidden_layers: 1 });
    const once = prunedConfig(c4, { heads: [[0, 2, 3]] }); // removes original head 1
    expect(keptHeadIds(once, 0)).toEqual([0, 2, 3]);
    const twice = prunedConfig(once, { heads: [[1, 2]] }); // current 1, 2 = original 2, 3: removes original 0
    expect(twice.pruned_heads).toEqual({ '0': [0, 1] });
    expect(layerHeadCount(twice, 0)).toBe(2);
    expect(layerIntermediateSize(twice, 0)).toBe(16);
    expect(isPruned(twice)).toBe(true);
    expect(isPruned(c4)).toBe(false);
    expect(prunedConfig(c4, {})).toEqual(c4); // nothing removed: the uniform config, no extra keys
  });

  it('refuses plans that empty a layer, go out of range or are not ascending, naming the layer', () => {
    const w = studentWeights(Student.create(config, 1));
    expect(() => pruneWeights(config, w, { heads: [[], [0]] })).toThrow(/layer 0 heads would keep nothing/);
    expect(() => pruneWeights(config, w, { heads: [[0], [3]] })).toThrow(/layer 1 heads: index 3 is outside 0\.\.2/);
    expect(() => pruneWeights(config, w, { ffn: [[2, 1], [0]] })).toThrow(/layer 0 feed-forward units: kept indices must be strictly ascending/);
    expect(() => pruneWeights(config, w, { heads: [[0]] })).toThrow(/the heads plan has 1 layers, the student 2/);
  });

  it('the student refuses a config whose pruned_heads removes a whole layer or has the wrong length of widths', () => {
    expect(() => Student.create({ ...config, pruned_heads: { '0': [0, 1, 2] } }, 1)).toThrow(/removes every head of layer 0/);
    expect(() => Student.create({ ...config, pruned_heads: { '2': [0] } }, 1)).toThrow(/pruned_heads key "2" must be a layer index in 0\.\.1/);
    expect(() => Student.create({ ...config, layer_intermediate_sizes: [4] }, 1)).toThrow(/layer_intermediate_sizes must list 2 positive integers/);
  });
});

describe('selectKept', () => {
  const scores = [
    [0.1, 0.9, 0.5],
    [0.8, 0.2, 0.3],
  ];
  it('per layer: the top-k of each layer, ascending', () => {
    expect(selectKept(scores, [2, 1], 'heads')).toEqual([[1, 2], [0]]);
  });
  it('global total: by score across layers, each layer keeping at least one', () => {
    expect(selectKept(scores, 3, 'heads')).toEqual([[1, 2], [0]]);
    expect(selectKept([[5, 4], [0.1, 0.2]], 3, 'ffn')).toEqual([[0, 1], [1]]);
    expect(selectKept(scores, 2, 'heads')).toEqual([[1], [0]]);
  });
  it('ties go to the lower index', () => {
    expect(selectKept([[1, 1, 1]], [2], 'heads')).toEqual([[0, 1]]);
  });
  it('refuses impossible targets, naming the key', () => {
    expect(() => selectKept(scores, 1, 'heads')).toThrow(/prune\.heads: a total must be an integer in 2\.\.6/);
    expect(() => selectKept(scores, [4, 1], 'heads')).toThrow(/prune\.heads\[0\]: must be an integer in 1\.\.3/);
    expect(() => selectKept(scores, [1], 'ffn')).toThrow(/prune\.ffn: 1 per-layer counts given, the student has 2 layers/);
  });
});
