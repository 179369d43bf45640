/**
 * Finds a BERT encoder inside an ONNX graph by its structure, not by tensor names: the
 * self-attention Softmax nodes in order, and the LayerNorms (fused LayerNormalization op or the
 * decomposed ReduceMean/Sub/Pow/Sqrt/Div chain) that close the embeddings and each layer.
 */
import type { GraphIndex, IndexedNode } from '../onnx/graph.ts';
import { UserError } from '../util/errors.ts';

export interface LayerNormSite {
  kind: 'fused' | 'decomposed';
  /** The normalised tensor X. */
  input: string;
  /** The LayerNorm's result. */
  output: string;
  /** Constant tensors holding gamma and beta. */
  scale: string;
  bias: string;
  /** Node index of the first / last node of the LayerNorm (topological position). */
  first: number;
  last: number;
}

export interface AttentionSite {
  softmax: IndexedNode;
  /** Softmax input: scores with the additive mask applied, [B, heads, L, L]. */
  scores: string;
  /** Softmax output, [B, heads, L, L]. */
  probs: string;
  /** The MatMul computing probs × V. */
  contextMatMul: IndexedNode;
  /** The MatMul computing Q × Kᵀ. */
  scoresMatMul: IndexedNode;
}

export interface BertStructure {
  numLayers: number;
  embeddingNorm: LayerNormSite;
  /** Per layer: the LayerNorm after self-attention and the one closing the layer (its output). */
  attentionNorms: LayerNormSite[];
  outputNorms: LayerNormSite[];
  attention: AttentionSite[];
  /** hidden[0] = embedding output, hidden[i] = output of layer i (Features convention). */
  hidden: string[];
}

/** Ops a value passes through unchanged in meaning (layout, dtype, dropout at inference). */
const PASSTHROUGH = new Set(['Dropout', 'Identity', 'Cast']);

function followPassthrough(g: GraphIndex, tensor: string): IndexedNode[] {
  const out: IndexedNode[] = [];
  for (const c of g.consumers(tensor)) {
    if (PASSTHROUGH.has(c.op)) out.push(...followPassthrough(g, c.outputs[0]));
    else out.push(c);
  }
  return out;
}

function constOperand(g: GraphIndex, node: IndexedNode): { constant: string; other: string } | undefined {
  const [a, b] = node.inputs;
  if (g.isConstant(b) && !g.isConstant(a)) return { constant: b, other: a };
  if (g.isConstant(a) && !g.isConstant(b)) return { constant: a, other: b };
  return undefined;
}

function onlyConsumer(g: GraphIndex, tensor: string, op: string): IndexedNode | undefined {
  const cs = g.consumers(tensor);
  return cs.length === 1 && cs[0].op === op ? cs[0] : undefined;
}

/** ReduceMean(X) → Sub(X, mean) → {Pow → … , Div(sub, sqrt(var + eps))} → Mul(gamma) → Add(beta). */
function decomposedLayerNorm(g: GraphIndex, mean: IndexedNode): LayerNormSite | undefined {
  const x = mean.inputs[0];
  const sub = g.consumers(mean.outputs[0]).find((n) => n.op === 'Sub' && n.inputs[0] === x && n.inputs[1] === mean.outputs[0]);
  if (!sub) return undefined;
  const subUsers = g.consumers(sub.outputs[0]);
  const div = subUsers.find((n) => n.op === 'Div' && n.inputs[0] === sub.outputs[0]);
  if (!div || !subUsers.some((n) => n.op === 'Pow' || n.op === 'Mul')) return undefined;
  const mul = onlyConsumer(g, div.outputs[0], 'Mul');
  const scale = mul && constOperand(g, mul);
  if (!mul || !scale) return undefined;
  const add = onlyConsumer(g, mul.outputs[0], 'Add');
  const bias = add && constOperand(g, add);
  if (!add || !bias) return undefined;
  return { kind: 'decomposed', input: x, output: add.outputs[0], scale: scale.constant, bias: bias.constant, first: mean.index, last: add.index };
}

export function findLayerNorms(g: GraphIndex): LayerNormSite[] {
  const sites: LayerNormSite[] = [];
  for (const n of g.nodes) {
    if (n.op === 'LayerNormalization' && n.inputs.length >= 3) {
      sites.push({ kind: 'fused', input: n.inputs[0], output: n.outputs[0], scale: n.inputs[1], bias: n.inputs[2], first: n.index, last: n.index });
    } else if (n.op === 'ReduceMean') {
      const site = decomposedLayerNorm(g, n);
      if (site) sites.push(site);
    }
  }
  return sites.sort((a, b) => a.last - b.last);
}

/** Nearest MatMul with two computed (non-constant) inputs, walking back from `tensor`. */
function findScoresMatMul(g: GraphIndex, tensor: string, depth = 6): IndexedNode | undefined {
  let frontier = [tensor];
  for (let d = 0; d < depth && frontier.length > 0; d++) {
    const next: string[] = [];
    for (const t of frontier) {
      const p = g.producer(t);
      if (!p) continue;
      if (p.op === 'MatMul' && !g.isConstant(p.inputs[0]) && !g.isConstant(p.inputs[1])) return p;
      next.push(...p.inputs.filter((i) => i && !g.isConstant(i)));
    }
    frontier = next;
  }
  return undefined;
}

/** Softmax nodes of self-attention: fed by Q×Kᵀ, feeding probs × V. Others (e.g. on logits) are skipped. */
export function findAttentionSites(g: GraphIndex): AttentionSite[] {
  const sites: AttentionSite[] = [];
  for (const s of g.nodesOf('Softmax')) {
    const contextMatMul = followPassthrough(g, s.outputs[0]).find((c) => c.op === 'MatMul');
    const scoresMatMul = findScoresMatMul(g, s.inputs[0]);
    if (contextMatMul && scoresMatMul) sites.push({ softmax: s, scores: s.inputs[0], probs: s.outputs[0], contextMatMul, scoresMatMul });
  }
  return sites;
}

function describe(g: GraphIndex, norms: LayerNormSite[], attention: AttentionSite[]): string {
  const fused = norms.filter((n) => n.kind === 'fused').length;
  const counts = g.opCounts();
  return (
    `found ${attention.length} self-attention Softmax node(s) (${counts.Softmax ?? 0} Softmax in all), ` +
    `${norms.length} LayerNorm(s) (${fused} fused LayerNormalization, ${norms.length - fused} decomposed ReduceMean/Sub/Pow/Sqrt/Div), ` +
    `inputs [${g.inputNames.join(', ')}], outputs [${g.outputNames.join(', ')}]` +
    (counts.Attention || counts.MultiHeadAttention ? `; the graph has fused Attention ops (an onnxruntime-optimised export): export the model without attention fusion` : '')
  );
}

/** Recognises the encoder or throws a UserError saying what was expected and what was found. */
export function findBertStructure(g: GraphIndex, what: string): BertStructure {
  const norms = findLayerNorms(g);
  const attention = findAttentionSites(g).sort((a, b) => a.softmax.index - b.softmax.index);
  const fail = (why: string): never => {
    throw new UserError(`${what} does not look like a BERT encoder: ${why}; ${describe(g, norms, attention)}`);
  };
  if (attention.length === 0) fail('expected one self-attention Softmax (Q×Kᵀ → Softmax → ×V) per layer');
  const n = attention.length;
  const between = (from: number, to: number) => norms.filter((s) => s.last > from && s.last < to);
  const before = between(-1, attention[0].softmax.index);
  if (before.length < 1) fail('expected the embeddings LayerNorm before the first attention Softmax');
  const attentionNorms: LayerNormSite[] = [];
  const outputNorms: LayerNormSite[] = [];
  for (let i = 0; i < n; i++) {
    const end = i + 1 < n ? attention[i + 1].softmax.index : Infinity;
    const inLayer = between(attention[i].softmax.index, end);
    if (inLayer.length < 2 || (i + 1 < n && inLayer.length !== 2)) {
      fail(`expected 2 LayerNorms in layer ${i + 1} (after attention and after the feed-forward block), found ${inLayer.length}`);
    }
    attentionNorms.push(inLayer[0]);
    outputNorms.push(inLayer[1]);
  }
  const embeddingNorm = before[before.length - 1];
  return { numLayers: n, embeddingNorm, attentionNorms, outputNorms, attention, hidden: [embeddingNorm.output, ...outputNorms.map((s) => s.output)] };
}

/** Graph inputs a BERT teacher must have; token_type_ids is optional. */
export function checkBertInputs(g: GraphIndex, what: string): { hasTokenTypeIds: boolean } {
  const missing = ['input_ids', 'attention_mask'].filter((n) => !g.inputNames.includes(n));
  if (missing.length > 0) {
    throw new UserError(`${what} lacks the input(s) ${missing.join(', ')}; it has [${g.inputNames.join(', ')}] (expected input_ids, attention_mask and optionally token_type_ids, int64)`);
  }
  return { hasTokenTypeIds: g.inputNames.includes('token_type_ids') };
}
