/**
 * Finds a BERT encoder inside an ONNX graph by its structure, not by tensor names: the
 * self-attention Softmax nodes in order, and the LayerNorms (fused LayerNormalization op or the
 * decomposed ReduceMean/Sub/Pow/Sqrt/Div chain) that close the embeddings and each layer.
 */
import type { GraphIndex, IndexedNode } from '../onnx/graph.ts';
import { UserError } from '../util/errors.ts';

export interface LayerNormSite {
  /**
   * fused: LayerNormalization; decomposed: ReduceMean/Sub/Pow/Sqrt/Div; skip: onnxruntime's
   * SkipLayerNormalization (LayerNorm(input + skip [+ bias])); embed: onnxruntime's
   * EmbedLayerNormalization (gathers and LayerNorm in one op).
   */
  kind: 'fused' | 'decomposed' | 'skip' | 'embed';
  /** The normalised tensor X (skip: the first of the summed inputs; embed: input_ids). */
  input: string;
  /** skip: the second summed input (the residual) and the optional bias added with it. */
  skip?: string;
  skipBias?: string;
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
  /** Empty when onnxruntime fused attention into one op per layer (see fusedAttention). */
  attention: AttentionSite[];
  /** The fused op (e.g. "Attention") that holds each layer's Softmax, when there is no Softmax to expose. */
  fusedAttention?: string;
  /** ELECTRA / ALBERT: the linear layer widening the embeddings (hidden[0] is its output). */
  embeddingProjection?: { output: string; matmul: IndexedNode };
  /** hidden[0] = embedding output, hidden[i] = output of layer i (Features convention). */
  hidden: string[];
}

/** onnxruntime contrib ops that replace parts of the encoder, named in refusals. */
export const FUSED_OPS = ['Attention', 'MultiHeadAttention', 'EmbedLayerNormalization', 'SkipLayerNormalization', 'FusedMatMul', 'BiasGelu', 'FastGelu', 'FusedGemm', 'QAttention', 'GroupQueryAttention'];

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
    } else if (n.op === 'SkipLayerNormalization' || n.op === 'SkipSimplifiedLayerNormalization') {
      const [input, skip, scale, bias, skipBias] = n.inputs;
      sites.push({ kind: 'skip', input, skip, skipBias: skipBias || undefined, output: n.outputs[0], scale, bias: bias ?? '', first: n.index, last: n.index });
    } else if (n.op === 'EmbedLayerNormalization') {
      // inputs: input_ids, segment_ids, word, position, segment tables, gamma, beta, mask
      sites.push({ kind: 'embed', input: n.inputs[0], output: n.outputs[0], scale: n.inputs[5], bias: n.inputs[6], first: n.index, last: n.index });
    } else if (n.op === 'ReduceMean') {
      const site = decomposedLayerNorm(g, n);
      if (site) sites.push(site);
    }
  }
  return sites.sort((a, b) => a.last - b.last);
}

/** MatMul, or onnxruntime's FusedMatMul (transposes and a scale folded in; offline level 99). */
export function isMatMul(n: IndexedNode): boolean {
  return n.op === 'MatMul' || (n.op === 'FusedMatMul' && n.domain === 'com.microsoft');
}

/** Nearest MatMul with two computed (non-constant) inputs, walking back from `tensor`. */
function findScoresMatMul(g: GraphIndex, tensor: string, depth = 6): IndexedNode | undefined {
  let frontier = [tensor];
  for (let d = 0; d < depth && frontier.length > 0; d++) {
    const next: string[] = [];
    for (const t of frontier) {
      const p = g.producer(t);
      if (!p) continue;
      if (isMatMul(p) && !g.isConstant(p.inputs[0]) && !g.isConstant(p.inputs[1])) return p;
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
    const contextMatMul = followPassthrough(g, s.outputs[0]).find(isMatMul);
    const scoresMatMul = findScoresMatMul(g, s.inputs[0]);
    if (contextMatMul && scoresMatMul) sites.push({ softmax: s, scores: s.inputs[0], probs: s.outputs[0], contextMatMul, scoresMatMul });
  }
  return sites;
}

function describe(g: GraphIndex, norms: LayerNormSite[], attention: AttentionSite[]): string {
  const kinds = (k: LayerNormSite['kind']) => norms.filter((n) => n.kind === k).length;
  const counts = g.opCounts();
  const fusedOps = FUSED_OPS.filter((op) => counts[op]).map((op) => `${counts[op]} ${op}`);
  return (
    `found ${attention.length} self-attention Softmax node(s) (${counts.Softmax ?? 0} Softmax in all), ` +
    `${norms.length} LayerNorm(s) (${kinds('fused')} LayerNormalization, ${kinds('decomposed')} decomposed ReduceMean/Sub/Pow/Sqrt/Div, ` +
    `${kinds('skip')} SkipLayerNormalization, ${kinds('embed')} EmbedLayerNormalization), ` +
    `inputs [${g.inputNames.join(', ')}], outputs [${g.outputNames.join(', ')}]` +
    (fusedOps.length
      ? `; onnxruntime fused ops: ${fusedOps.join(', ')} (an onnxruntime-optimised graph): use the model as exported, before onnxruntime's transformer optimizer`
      : '')
  );
}

/** onnxruntime's fused attention ops (one per layer), for graphs whose Softmax is inside them. */
const FUSED_ATTENTION = new Set(['Attention', 'MultiHeadAttention', 'QAttention']);

/** Recognises the encoder or throws a UserError saying what was expected and what was found. */
export function findBertStructure(g: GraphIndex, what: string): BertStructure {
  const norms = findLayerNorms(g);
  const attention = findAttentionSites(g).sort((a, b) => a.softmax.index - b.softmax.index);
  const fail = (why: string): never => {
    throw new UserError(`${what} does not look like a BERT encoder: ${why}; ${describe(g, norms, attention)}`);
  };
  // One marker per layer: its self-attention Softmax, or the fused op that holds it.
  const fused = attention.length === 0 ? g.nodes.filter((n) => FUSED_ATTENTION.has(n.op)) : [];
  const markers = attention.length > 0 ? attention.map((a) => a.softmax.index) : fused.map((n) => n.index);
  if (markers.length === 0) fail('expected one self-attention Softmax (Q×Kᵀ → Softmax → ×V) per layer');
  const n = markers.length;
  const between = (from: number, to: number) => norms.filter((s) => s.last > from && s.last < to);
  const before = between(-1, markers[0]);
  if (before.length < 1) fail('expected the embeddings LayerNorm before the first attention Softmax');
  const attentionNorms: LayerNormSite[] = [];
  const outputNorms: LayerNormSite[] = [];
  for (let i = 0; i < n; i++) {
    const end = i + 1 < n ? markers[i + 1] : Infinity;
    const inLayer = between(markers[i], end);
    if (inLayer.length < 2 || (i + 1 < n && inLayer.length !== 2)) {
      fail(`expected 2 LayerNorms in layer ${i + 1} (after attention and after the feed-forward block), found ${inLayer.length}`);
    }
    attentionNorms.push(inLayer[0]);
    outputNorms.push(inLayer[1]);
  }
  const embeddingNorm = before[before.length - 1];
  const projection = embeddingProjection(g, embeddingNorm.output);
  return {
    numLayers: n,
    embeddingNorm,
    attentionNorms,
    outputNorms,
    attention,
    fusedAttention: fused.length > 0 ? fused[0].op : undefined,
    embeddingProjection: projection,
    hidden: [projection?.output ?? embeddingNorm.output, ...outputNorms.map((s) => s.output)],
  };
}

/**
 * ELECTRA / ALBERT: the embeddings are narrower than the encoder and a linear layer widens them
 * after their LayerNorm; hidden state 0 (as Hugging Face reports it) is that layer's output.
 */
function embeddingProjection(g: GraphIndex, normOutput: string): { output: string; matmul: IndexedNode } | undefined {
  const users = followPassthrough(g, normOutput).filter((n) => n.op !== 'Shape');
  if (users.length !== 1) return undefined; // a BERT embedding output feeds Q, K, V and the residual
  const mm = users[0];
  const shape = (mm.op === 'MatMul' || mm.op === 'Gemm') && g.isConstant(mm.inputs[1]) ? g.constantShape(mm.inputs[1]) : undefined;
  if (!shape || shape.length !== 2 || shape[0] === shape[1]) return undefined;
  if (mm.op === 'Gemm') return { output: mm.outputs[0], matmul: mm };
  const add = g.consumers(mm.outputs[0]).find((n) => n.op === 'Add' && n.inputs.some((i) => g.isConstant(i)));
  return { output: add ? add.outputs[0] : mm.outputs[0], matmul: mm };
}

/** Graph inputs a BERT teacher must have; token_type_ids is optional. */
export function checkBertInputs(g: GraphIndex, what: string): { hasTokenTypeIds: boolean } {
  const missing = ['input_ids', 'attention_mask'].filter((n) => !g.inputNames.includes(n));
  if (missing.length > 0) {
    throw new UserError(`${what} lacks the input(s) ${missing.join(', ')}; it has [${g.inputNames.join(', ')}] (expected input_ids, attention_mask and optionally token_type_ids, int64)`);
  }
  return { hasTokenTypeIds: g.inputNames.includes('token_type_ids') };
}

/** Ops between a Q/K/V projection and the attention MatMuls: head split, transposes, scaling, layout. */
const QKV_PATH = new Set(['Reshape', 'Transpose', 'Mul', 'Div', 'Cast', 'Identity', 'Dropout', 'Unsqueeze', 'Squeeze', 'Sqrt']);

/**
 * The linear projection (MatMul/Gemm by a constant weight, plus its constant bias Add when there is
 * one) whose output reaches `tensor` through head-splitting and scaling ops only: [B, L, hidden].
 */
export function findProjectionOutput(g: GraphIndex, tensor: string, depth = 8): string | undefined {
  let t = tensor;
  for (let d = 0; d < depth; d++) {
    const p = g.producer(t);
    if (!p) return undefined;
    if (p.op === 'Add') {
      const c = constOperand(g, p);
      const mm = c && g.producer(c.other);
      if (mm && (isMatMul(mm) || mm.op === 'Gemm') && g.isConstant(mm.inputs[1])) return p.outputs[0];
      if (!c) return undefined;
      t = c.other;
      continue;
    }
    if ((isMatMul(p) || p.op === 'Gemm') && g.isConstant(p.inputs[1])) return p.outputs[0];
    if (!QKV_PATH.has(p.op)) return undefined;
    // Scaling by a constant, or a layout op whose first input is the data.
    const c = (p.op === 'Mul' || p.op === 'Div') ? constOperand(g, p) : undefined;
    if ((p.op === 'Mul' || p.op === 'Div') && !c) return undefined;
    t = c ? c.other : p.inputs[0];
  }
  return undefined;
}

/** Query, key and value projection outputs ([B, L, hidden], before the head split) of one attention site. */
export function findQkvProjections(g: GraphIndex, site: AttentionSite, what: string, layer: number): { query: string; key: string; value: string } {
  const [qIn, kIn] = site.scoresMatMul.inputs;
  const vIn = site.contextMatMul.inputs[1];
  const found = { query: findProjectionOutput(g, qIn), key: findProjectionOutput(g, kIn), value: findProjectionOutput(g, vIn) };
  const missing = Object.entries(found).filter(([, v]) => !v).map(([k]) => k);
  if (missing.length > 0) {
    throw new UserError(
      `${what}: layer ${layer}: the ${missing.join(', ')} projection(s) could not be traced back from the attention MatMuls (expected MatMul by a weight [+ bias] → Reshape/Transpose/scaling → Q×Kᵀ or probs×V); relation losses need them`,
    );
  }
  return found as { query: string; key: string; value: string };
}
