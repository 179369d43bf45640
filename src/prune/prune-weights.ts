/**
 * Structured pruning of a BERT student's weights: keep some attention heads and some feed-forward units
 * per layer, slicing the matrices that read or write them. Pure (typed arrays in, typed arrays out).
 *
 * Heads: query / key / value kernels [H, A] and biases [A] keep the head's d columns; the attention
 * output kernel [A, H] keeps its d rows. Feed-forward: the intermediate kernel [H, I] and bias [I]
 * keep the unit's column, the output kernel [I, H] its row. Nothing else changes, so the pruned model
 * computes exactly what the unpruned one computes with the removed heads' / units' outputs zeroed.
 */
import { keptHeadIds, layerHeadCount, layerIntermediateSize, type BertConfig } from '../student/config.ts';
import { UserError } from '../util/errors.ts';
import type { WeightMap, WeightTensor } from '../export/weights.ts';

/** What each layer keeps, as indices in the current (already pruned) numbering; omitted: keep all. */
export interface KeepPlan {
  heads?: number[][];
  ffn?: number[][];
}

/** Columns `cols` (each a [start, width] block) of a row-major [rows, n] matrix. */
function keepColumns(t: WeightTensor, blocks: [number, number][]): WeightTensor {
  const [rows, n] = t.shape.length === 2 ? t.shape : [1, t.shape[0]];
  const width = blocks.reduce((a, [, w]) => a + w, 0);
  const out = new Float32Array(rows * width);
  for (let r = 0; r < rows; r++) {
    let o = r * width;
    for (const [start, w] of blocks) {
      out.set(t.data.subarray(r * n + start, r * n + start + w), o);
      o += w;
    }
  }
  return { shape: t.shape.length === 2 ? [rows, width] : [width], data: out };
}

/** Rows (blocks [start, height]) of a row-major [n, cols] matrix. */
function keepRows(t: WeightTensor, blocks: [number, number][]): WeightTensor {
  const cols = t.shape[1];
  const height = blocks.reduce((a, [, h]) => a + h, 0);
  const out = new Float32Array(height * cols);
  let o = 0;
  for (const [start, h] of blocks) {
    out.set(t.data.subarray(start * cols, (start + h) * cols), o);
    o += h * cols;
  }
  return { shape: [height, cols], data: out };
}

function checkKept(kept: number[], count: number, what: string): void {
  if (kept.length === 0) throw new UserError(`pruning: ${what} would keep nothing; keep at least one`);
  for (let j = 0; j < kept.length; j++) {
    const k = kept[j];
    if (!Number.isInteger(k) || k < 0 || k >= count) throw new UserError(`pruning: ${what}: index ${k} is outside 0..${count - 1}`);
    if (j > 0 && k <= kept[j - 1]) throw new UserError(`pruning: ${what}: kept indices must be strictly ascending, got ${JSON.stringify(kept)}`);
  }
}

/** The config after pruning: pruned_heads in the original numbering (as HF records it), per-layer widths. */
export function prunedConfig(config: BertConfig, plan: KeepPlan): BertConfig {
  const L = config.num_hidden_layers;
  const prunedHeads: Record<string, number[]> = {};
  const sizes: number[] = [];
  for (let i = 0; i < L; i++) {
    const original = keptHeadIds(config, i);
    const kept = plan.heads ? plan.heads[i].map((k) => original[k]) : original;
    const keptSet = new Set(kept);
    const removed: number[] = [];
    for (let h = 0; h < config.num_attention_heads; h++) if (!keptSet.has(h)) removed.push(h);
    if (removed.length > 0) prunedHeads[String(i)] = removed;
    sizes.push(plan.ffn ? plan.ffn[i].length : layerIntermediateSize(config, i));
  }
  const { pruned_heads: _h, layer_intermediate_sizes: _s, ...rest } = config;
  return {
    ...rest,
    ...(Object.keys(prunedHeads).length > 0 && { pruned_heads: prunedHeads }),
    ...(sizes.some((n) => n !== config.intermediate_size) && { layer_intermediate_sizes: sizes }),
  };
}

/**
 * Slices `weights` (tfjs layout, shapes of `config`) to the heads and feed-forward units `plan` keeps.
 * Returns the new config and a new weight map (tensors that do not change are shared, not copied).
 */
export function pruneWeights(config: BertConfig, weights: WeightMap, plan: KeepPlan): { config: BertConfig; weights: WeightMap } {
  const L = config.num_hidden_layers;
  for (const [what, p] of [['heads', plan.heads], ['ffn', plan.ffn]] as const) {
    if (p && p.length !== L) throw new UserError(`pruning: the ${what} plan has ${p.length} layers, the student ${L}`);
  }
  const d = config.hidden_size / config.num_attention_heads;
  const out: WeightMap = new Map(weights);
  const get = (name: string): WeightTensor => {
    const w = weights.get(name);
    if (!w) throw new UserError(`pruning: the student has no parameter ${name}`);
    return w;
  };
  for (let i = 0; i < L; i++) {
    const pre = `encoder.layer.${i}.`;
    if (plan.heads) {
      checkKept(plan.heads[i], layerHeadCount(config, i), `layer ${i} heads`);
      const blocks = plan.heads[i].map((h): [number, number] => [h * d, d]);
      for (const proj of ['query', 'key', 'value']) {
        out.set(`${pre}attention.self.${proj}.weight`, keepColumns(get(`${pre}attention.self.${proj}.weight`), blocks));
        out.set(`${pre}attention.self.${proj}.bias`, keepColumns(get(`${pre}attention.self.${proj}.bias`), blocks));
      }
      out.set(`${pre}attention.output.dense.weight`, keepRows(get(`${pre}attention.output.dense.weight`), blocks));
    }
    if (plan.ffn) {
      checkKept(plan.ffn[i], layerIntermediateSize(config, i), `layer ${i} feed-forward units`);
      const blocks = plan.ffn[i].map((u): [number, number] => [u, 1]);
      out.set(`${pre}intermediate.dense.weight`, keepColumns(get(`${pre}intermediate.dense.weight`), blocks));
      out.set(`${pre}intermediate.dense.bias`, keepColumns(get(`${pre}intermediate.dense.bias`), blocks));
      out.set(`${pre}output.dense.weight`, keepRows(get(`${pre}output.dense.weight`), blocks));
    }
  }
  return { config: prunedConfig(config, plan), weights: out };
}
