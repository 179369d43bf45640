/**
 * The teacher's weights under the student's parameter names (src/student/param-names.ts), in tfjs
 * layout (dense kernels [in, out]), found by graph structure: exporters rename MatMul weights
 * (torch: `onnx::MatMul_123`, stored transposed as [in, out]), so names cannot be trusted.
 */
import * as path from 'node:path';
import { GraphIndex, intAttr, floatAttr, type IndexedNode } from '../onnx/graph.ts';
import { externalDataIn, loadModelProto } from '../onnx/proto.ts';
import { embeddingParamNames, headParamNames, layerParamNames } from '../student/param-names.ts';
import { UserError } from '../util/errors.ts';
import { checkBertInputs, findBertStructure, FUSED_OPS, type BertStructure } from './structure.ts';
import type { TeacherConfig } from './folder.ts';
import { findLogitsOutput, positionLimit } from './inputs.ts';

export interface WeightTensor {
  shape: number[];
  data: Float32Array;
}

export interface ExtractedWeights {
  numLayers: number;
  hiddenSize: number;
  intermediateSize: number;
  vocabSize: number;
  maxPositions: number;
  typeVocabSize?: number;
  numLabels?: number;
  weights: Map<string, WeightTensor>;
  /** Student parameter names the graph does not hold (e.g. a constant-folded token-type table). */
  missing: string[];
  /** What was adapted or left out on the way, one line each (for the init report). */
  notes: string[];
}

interface Linear {
  /** [in, out] */
  kernel: WeightTensor;
  bias?: WeightTensor;
  input: string;
}

function transpose(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}

function constant(g: GraphIndex, name: string): WeightTensor {
  return { shape: g.constantShape(name)!, data: g.constantValues(name) };
}

/** MatMul(x, W) [+ b], or Gemm(x, W, b) with its transB/alpha/beta applied: the linear producing `tensor`. */
function linearFrom(g: GraphIndex, tensor: string): Linear | undefined {
  const p = g.producer(tensor);
  if (!p) return undefined;
  if (p.op === 'MatMul' && g.isConstant(p.inputs[1]) && g.constantShape(p.inputs[1])!.length === 2) {
    return { kernel: constant(g, p.inputs[1]), input: p.inputs[0] };
  }
  if (p.op === 'Gemm' && g.isConstant(p.inputs[1]) && !intAttr(p, 'transA')) {
    let kernel = constant(g, p.inputs[1]);
    if (intAttr(p, 'transB')) {
      const [rows, cols] = kernel.shape;
      kernel = { shape: [cols, rows], data: transpose(kernel.data, rows, cols) };
    }
    const alpha = floatAttr(p, 'alpha') || 1;
    if (alpha !== 1) kernel.data = kernel.data.map((v) => v * alpha);
    const bias = p.inputs[2] && g.isConstant(p.inputs[2]) ? constant(g, p.inputs[2]) : undefined;
    const beta = floatAttr(p, 'beta') || 1;
    if (bias && beta !== 1) bias.data = bias.data.map((v) => v * beta);
    return { kernel, bias, input: p.inputs[0] };
  }
  if (p.op === 'Add') {
    const [a, b] = p.inputs;
    const biasName = g.isConstant(a) ? a : g.isConstant(b) ? b : undefined;
    if (!biasName || g.constantShape(biasName)!.length !== 1) return undefined;
    const inner = linearFrom(g, biasName === a ? b : a);
    if (!inner || inner.bias) return undefined;
    return { ...inner, bias: constant(g, biasName) };
  }
  return undefined;
}

/** Ops whose first input is the data and the rest describe shape or layout. */
const LAYOUT_OPS = new Set(['Reshape', 'Transpose', 'Squeeze', 'Unsqueeze', 'Identity', 'Dropout', 'Cast', 'Expand']);

/** Nearest linear layer upstream of `tensor` (through layout ops, scaling, activations). */
function traceLinear(g: GraphIndex, tensor: string, what: string, depth = 8): Linear {
  let frontier = [tensor];
  for (let d = 0; d <= depth && frontier.length > 0; d++) {
    const next: string[] = [];
    for (const t of frontier) {
      const found = linearFrom(g, t);
      if (found) return found;
      const p = g.producer(t);
      if (!p || p.op === 'Shape') continue;
      next.push(...(LAYOUT_OPS.has(p.op) ? [p.inputs[0]] : p.inputs.filter((i) => i && !g.isConstant(i))));
    }
    frontier = next;
  }
  throw new UserError(`could not find the ${what} weights: no MatMul/Gemm with a constant weight upstream of tensor ${tensor}`);
}

function fromGraphInput(g: GraphIndex, tensor: string, input: string): boolean {
  let t = tensor;
  for (let i = 0; i < 4; i++) {
    if (t === input) return true;
    const p = g.producer(t);
    if (!p || !['Cast', 'Identity', 'Unsqueeze', 'Squeeze'].includes(p.op)) return false;
    t = p.inputs[0];
  }
  return false;
}

/** Gathers from constant tables that sum into the embeddings' LayerNorm input. */
function embeddingGathers(g: GraphIndex, start: string): IndexedNode[] {
  const found: IndexedNode[] = [];
  const stack = [start];
  while (stack.length > 0) {
    const p = g.producer(stack.pop()!);
    if (!p) continue;
    if (p.op === 'Add') stack.push(...p.inputs.filter((i) => !g.isConstant(i)));
    else if (p.op === 'Gather' && g.isInitializer(p.inputs[0])) found.push(p);
    else if (LAYOUT_OPS.has(p.op)) stack.push(p.inputs[0]);
  }
  return found;
}

/** Rows of the word-embedding table (the Gather indexed by input_ids), if the graph has one. */
export function wordEmbeddingRows(g: GraphIndex): number | undefined {
  const gather = g.nodesOf('Gather').find((n) => g.isInitializer(n.inputs[0]) && fromGraphInput(g, n.inputs[1], 'input_ids'));
  return gather ? g.constantShape(gather.inputs[0])![0] : undefined;
}

function extractEmbeddings(g: GraphIndex, s: BertStructure, put: (name: string, w: WeightTensor) => void): void {
  const gathers = embeddingGathers(g, s.embeddingNorm.input);
  const word = gathers.find((n) => fromGraphInput(g, n.inputs[1], 'input_ids'));
  if (!word) throw new UserError('could not find the word embeddings: no Gather indexed by input_ids feeds the embeddings LayerNorm');
  let types = gathers.find((n) => fromGraphInput(g, n.inputs[1], 'token_type_ids'));
  const rest = gathers.filter((n) => n !== word && n !== types).sort((a, b) => g.constantShape(b.inputs[0])![0] - g.constantShape(a.inputs[0])![0]);
  const position = rest[0];
  if (!types && rest.length > 1) types = rest[1];
  const [wordName, posName, typeName] = embeddingParamNames();
  put(wordName, constant(g, word.inputs[0]));
  if (position) put(posName, constant(g, position.inputs[0]));
  if (types) put(typeName, constant(g, types.inputs[0]));
}

/** Activations between the pooled token and the classifier that a head may use. */
const HEAD_ACTIVATIONS = new Set(['Tanh', 'Relu', 'Gelu', 'Erf', 'BiasGelu', 'FastGelu']);

export function extractFromGraph(g: GraphIndex, what: string, config?: TeacherConfig): ExtractedWeights {
  checkBertInputs(g, what);
  const s = findBertStructure(g, what);
  const refuse = (found: string): never => {
    throw new UserError(`${what}: ${found}, which the student (BERT layout) has no counterpart for, so student.init "teacher" cannot copy it; use student.init "random" (distillation still works)`);
  };
  if (s.embeddingProjection) {
    const [e, h] = g.constantShape(s.embeddingProjection.matmul.inputs[1])!;
    refuse(`the embeddings are ${e} wide and a projection widens them to ${h} (ELECTRA / ALBERT factorised embeddings)`);
  }
  if (s.attention.length === 0) refuse(`attention is fused into onnxruntime ${s.fusedAttention} ops`);
  const fusedOps = FUSED_OPS.filter((op) => g.nodesOf(op).length > 0);
  if (fusedOps.length) refuse(`the graph holds onnxruntime fused ops (${fusedOps.join(', ')}) whose weights are laid out differently; use the model as exported, before onnxruntime's optimizer`);
  const weights = new Map<string, WeightTensor>();
  const notes: string[] = [];
  const put = (name: string, w: WeightTensor) => weights.set(name, w);
  extractEmbeddings(g, s, put);
  // RoBERTa-style position ids start at padding_idx + 1: the student's row 0 is the teacher's row `offset`.
  const [, posName, typeName] = embeddingParamNames();
  const pos = weights.get(posName);
  if (pos && config) {
    const { offset, limit } = positionLimit(config, pos.shape[0]);
    if (offset > 0) {
      const H = pos.shape[1];
      put(posName, { shape: [limit, H], data: pos.data.slice(offset * H, (offset + limit) * H) });
      notes.push(`position table: rows ${offset}..${offset + limit - 1} (RoBERTa's padding_idx + 1 offset) become the student's 0..${limit - 1}`);
    }
  }
  if (!weights.has(typeName) && !g.inputNames.includes('token_type_ids')) {
    // DistilBERT / RoBERTa exports without segment embeddings: zeros leave the student's sum unchanged.
    const H = weights.get(embeddingParamNames()[0])!.shape[1];
    put(typeName, { shape: [1, H], data: new Float32Array(H) });
    notes.push('token-type table: the teacher has no segment embeddings (or they were folded into a constant); one zero row');
  }
  const [, , , lnW, lnB] = embeddingParamNames();
  put(lnW, constant(g, s.embeddingNorm.scale));
  put(lnB, constant(g, s.embeddingNorm.bias));

  let intermediateSize = 0;
  for (let i = 0; i < s.numLayers; i++) {
    const [qW, qB, kW, kB, vW, vB, oW, oB, aLnW, aLnB, iW, iB, fW, fB, lnW2, lnB2] = layerParamNames(i);
    const att = s.attention[i];
    const putLinear = (wName: string, bName: string, lin: Linear) => {
      put(wName, lin.kernel);
      if (lin.bias) put(bName, lin.bias);
    };
    putLinear(qW, qB, traceLinear(g, att.scoresMatMul.inputs[0], `layer ${i} query`));
    putLinear(kW, kB, traceLinear(g, att.scoresMatMul.inputs[1], `layer ${i} key`));
    putLinear(vW, vB, traceLinear(g, att.contextMatMul.inputs[1], `layer ${i} value`));
    // LayerNorm(dense(x) + residual): the operand that is not the residual is the dense output.
    const residualOf = (norm: { input: string }, residual: string, label: string): string => {
      const add = g.producer(norm.input);
      const other = add?.op === 'Add' ? add.inputs.find((x) => x !== residual) : undefined;
      if (!other || !add!.inputs.includes(residual)) throw new UserError(`${what}: layer ${i} ${label} LayerNorm is not fed by a residual Add`);
      return other;
    };
    putLinear(oW, oB, traceLinear(g, residualOf(s.attentionNorms[i], s.hidden[i], 'attention'), `layer ${i} attention output`));
    put(aLnW, constant(g, s.attentionNorms[i].scale));
    put(aLnB, constant(g, s.attentionNorms[i].bias));
    const ffnOut = traceLinear(g, residualOf(s.outputNorms[i], s.attentionNorms[i].output, 'output'), `layer ${i} output`);
    const ffnIn = traceLinear(g, ffnOut.input, `layer ${i} intermediate`);
    putLinear(iW, iB, ffnIn);
    putLinear(fW, fB, ffnOut);
    put(lnW2, constant(g, s.outputNorms[i].scale));
    put(lnB2, constant(g, s.outputNorms[i].bias));
    intermediateSize = ffnIn.kernel.shape[1];
  }

  let numLabels: number | undefined;
  const logitsName = findLogitsOutput(g.graph, config?.num_labels).name;
  if (logitsName) {
    const [pW, pB, cW, cB] = headParamNames();
    const classifier = traceLinear(g, logitsName, 'classifier', 3);
    numLabels = classifier.kernel.shape[1];
    // The student's head is pooler = tanh(dense(h[CLS])) → classifier (BERT; RoBERTa's dense → tanh → out_proj is the same).
    let t = classifier.input;
    const activations: string[] = [];
    for (let p = g.producer(t); p && (LAYOUT_OPS.has(p.op) || HEAD_ACTIVATIONS.has(p.op)); p = g.producer(t)) {
      if (HEAD_ACTIVATIONS.has(p.op)) activations.push(p.op);
      t = p.inputs[0];
    }
    const pooler = linearFrom(g, t);
    if (activations.some((a) => a !== 'Tanh')) {
      notes.push(`the teacher's head is dense → ${activations.join('/')} → classifier (DistilBERT's pre_classifier / ELECTRA's head), not the student's dense → Tanh → classifier: pooler and classifier are not copied`);
    } else {
      put(cW, classifier.kernel);
      if (classifier.bias) put(cB, classifier.bias);
      if (pooler) {
        put(pW, pooler.kernel);
        if (pooler.bias) put(pB, pooler.bias);
      }
    }
  }

  const all = [...embeddingParamNames(), ...Array.from({ length: s.numLayers }, (_, i) => layerParamNames(i)).flat(), ...headParamNames()];
  const word = weights.get(embeddingParamNames()[0])!;
  return {
    numLayers: s.numLayers,
    hiddenSize: word.shape[1],
    intermediateSize,
    vocabSize: word.shape[0],
    maxPositions: weights.get(embeddingParamNames()[1])?.shape[0] ?? 0,
    typeVocabSize: weights.get(embeddingParamNames()[2])?.shape[0],
    numLabels,
    weights,
    missing: all.filter((n) => !weights.has(n)),
    notes,
  };
}

/** Reads a teacher ONNX file and returns its weights under student parameter names, tfjs layout. */
export function extractBertWeights(onnxPath: string, config?: TeacherConfig): ExtractedWeights {
  const model = loadModelProto(onnxPath);
  return extractFromGraph(new GraphIndex(model.graph!, externalDataIn(path.dirname(onnxPath))), `teacher model ${onnxPath}`, config);
}
