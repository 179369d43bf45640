/**
 * Graph surgery: a plain export has only `logits` as output; this adds the embedding output, each
 * layer's output hidden state and each layer's attention (pre-softmax scores and/or probabilities)
 * as named graph outputs, through Identity nodes so the names are stable whatever the exporter
 * called the internal tensors.
 */
import { GraphIndex } from '../onnx/graph.ts';
import type onnxProto from 'onnx-proto';
import { DataType, onnx, type GraphProto, type ModelProto } from '../onnx/proto-core.ts';
import { UserError } from '../util/errors.ts';
import { checkBertInputs, findBertStructure, findQkvProjections, type BertStructure } from './structure.ts';

export type AttentionKind = 'scores' | 'probs' | 'both' | 'none';

export interface FeatureSelection {
  /** Hidden states to expose, Features convention: 0 = embedding output, i = output of layer i. */
  hiddenLayers: number[];
  /** Layers (1-based) whose attention to expose. */
  attentionLayers: number[];
  attention: AttentionKind;
  /** Layers (1-based) whose query, key and value projections ([B, L, hidden]) to expose (relation losses). */
  qkvLayers?: number[];
  /**
   * Emit the features as float16 (clipped to ±65504, then Cast), so onnxruntime converts them in
   * native code and copies half the bytes; the fp16 cache stores these bits as they are.
   */
  float16?: boolean;
}

/** Graph output names of the exposed features, keyed by layer number. */
export interface FeatureOutputs {
  logits?: string;
  hidden: Map<number, string>;
  scores: Map<number, string>;
  probs: Map<number, string>;
  /** Query / key / value projection outputs by layer (1-based). */
  query: Map<number, string>;
  key: Map<number, string>;
  value: Map<number, string>;
}

/** Feature outputs with nothing exposed yet. */
export function emptyFeatureOutputs(): FeatureOutputs {
  return { hidden: new Map(), scores: new Map(), probs: new Map(), query: new Map(), key: new Map(), value: new Map() };
}

export const outputName = {
  hidden: (layer: number) => `distill.hidden.${layer}`,
  scores: (layer: number) => `distill.attention_scores.${layer}`,
  probs: (layer: number) => `distill.attention_probs.${layer}`,
  query: (layer: number) => `distill.query.${layer}`,
  key: (layer: number) => `distill.key.${layer}`,
  value: (layer: number) => `distill.value.${layer}`,
};

/** The element type of a tensor if the graph records it, else that of the first output. */
function elemTypeOf(model: ModelProto, tensor: string): number {
  const g = model.graph!;
  const all = [...(g.valueInfo ?? []), ...(g.output ?? [])];
  const known = all.find((v) => v.name === tensor)?.type?.tensorType?.elemType;
  return known || g.output?.[0]?.type?.tensorType?.elemType || DataType.FLOAT;
}

export function checkSelection(sel: FeatureSelection, numLayers: number, what: string): void {
  for (const l of sel.hiddenLayers) {
    if (!Number.isInteger(l) || l < 0 || l > numLayers) {
      throw new UserError(`hidden layer ${l} does not exist in ${what}: valid are 0 (embeddings) to ${numLayers}`);
    }
  }
  for (const l of sel.attentionLayers) {
    if (!Number.isInteger(l) || l < 1 || l > numLayers) {
      throw new UserError(`attention layer ${l} does not exist in ${what}: valid are 1 to ${numLayers}`);
    }
  }
  for (const l of sel.qkvLayers ?? []) {
    if (!Number.isInteger(l) || l < 1 || l > numLayers) {
      throw new UserError(`query/key/value layer ${l} does not exist in ${what}: valid are 1 to ${numLayers}`);
    }
  }
}

/**
 * Returns a modified copy of `model` (the argument is not changed) with the selected features as
 * extra outputs, plus where to find them. `what` names the model in error messages.
 */
export function addFeatureOutputs(
  model: ModelProto,
  sel: FeatureSelection,
  what: string,
  /** The classifier output's name (see findLogitsOutput); undefined for encoder-only graphs. */
  logitsName: string | undefined = (model.graph?.output ?? []).some((o) => o.name === 'logits') ? 'logits' : undefined,
): { model: ModelProto; outputs: FeatureOutputs; structure: BertStructure } {
  const copy = onnx.ModelProto.decode(onnx.ModelProto.encode(model).finish());
  const graph = copy.graph!;
  // Decoded repeated fields may share a frozen empty default; give the graph its own arrays.
  graph.node = [...(graph.node ?? [])];
  graph.output = [...(graph.output ?? [])];
  const index = new GraphIndex(graph);
  checkBertInputs(index, what);
  const structure = findBertStructure(index, what);
  checkSelection(sel, structure.numLayers, what);
  if ((sel.attentionLayers.length > 0 || (sel.qkvLayers?.length ?? 0) > 0) && structure.fusedAttention) {
    throw new UserError(
      `${what}: attention is fused into onnxruntime ${structure.fusedAttention} ops (one per layer), so attention maps cannot be read. ` +
        'Hidden states and logits can: cache without attention (attention layers none) and train without attention or relation losses, or export the model without attention fusion',
    );
  }

  const outputs: FeatureOutputs = emptyFeatureOutputs();
  outputs.logits = logitsName;
  const opset = (copy.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx')?.version;
  const clipBounds = sel.float16 ? addClipBounds(graph, Number(opset ?? 0)) : undefined;
  const expose = (tensor: string, name: string) => {
    const elemType = elemTypeOf(copy, tensor);
    if (clipBounds && elemType === DataType.FLOAT) {
      const clipped = `${name}/clipped`;
      graph.node!.push(onnx.NodeProto.create({ opType: 'Clip', name: `${name}/Clip`, input: [tensor, ...clipBounds.inputs], output: [clipped], attribute: clipBounds.attributes }));
      graph.node!.push(onnx.NodeProto.create({ opType: 'Cast', name: `${name}/Cast`, input: [clipped], output: [name], attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: DataType.FLOAT16 }] }));
      graph.output!.push(onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: DataType.FLOAT16 } } }));
      return;
    }
    graph.node!.push(onnx.NodeProto.create({ opType: 'Identity', name: `${name}/Identity`, input: [tensor], output: [name] }));
    graph.output!.push(onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType } } }));
  };
  for (const l of sel.hiddenLayers) {
    outputs.hidden.set(l, outputName.hidden(l));
    expose(structure.hidden[l], outputName.hidden(l));
  }
  for (const l of sel.attentionLayers) {
    const site = structure.attention[l - 1];
    if (sel.attention === 'scores' || sel.attention === 'both') {
      outputs.scores.set(l, outputName.scores(l));
      expose(site.scores, outputName.scores(l));
    }
    if (sel.attention === 'probs' || sel.attention === 'both') {
      outputs.probs.set(l, outputName.probs(l));
      expose(site.probs, outputName.probs(l));
    }
  }
  for (const l of sel.qkvLayers ?? []) {
    const found = findQkvProjections(index, structure.attention[l - 1], what, l);
    for (const part of ['query', 'key', 'value'] as const) {
      outputs[part].set(l, outputName[part](l));
      expose(found[part], outputName[part](l));
    }
  }
  return { model: copy, outputs, structure };
}

/** Clip's bounds ±65504 (largest half): inputs from opset 11 on, attributes before. */
function addClipBounds(graph: GraphProto, opset: number): { inputs: string[]; attributes: onnxProto.onnx.IAttributeProto[] } {
  const FLOAT = onnx.AttributeProto.AttributeType.FLOAT;
  if (opset > 0 && opset < 11) return { inputs: [], attributes: [{ name: 'min', type: FLOAT, f: -65504 }, { name: 'max', type: FLOAT, f: 65504 }] };
  graph.initializer = [...(graph.initializer ?? [])];
  for (const [name, v] of [['distill.float16_min', -65504], ['distill.float16_max', 65504]] as const) {
    graph.initializer.push(onnx.TensorProto.create({ name, dataType: DataType.FLOAT, dims: [], floatData: [v] }));
  }
  return { inputs: ['distill.float16_min', 'distill.float16_max'], attributes: [] };
}
