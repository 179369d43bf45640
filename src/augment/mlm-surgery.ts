/**
 * Rewrites a BERT masked-LM ONNX graph so it scores only the masked positions and returns their
 * top-k allowed pieces. The MLM decoder (MatMul by the [H, V] output embedding, plus a bias) is by
 * far the largest cost when every position is scored, and its [B, L, V] output the largest
 * transfer; after the rewrite the graph takes one more input, `masked_index` [R] (flat row-major
 * indices b * L + position into the batch), gathers those R hidden vectors before the decoder, adds
 * a constant mask (0 for allowed pieces, -1e30 for the rest) and ends in TopK:
 * outputs `top_values` [R, k] and `top_indices` [R, k] (ties: lower id first, as ONNX specifies).
 */
import { GraphIndex } from '../onnx/graph.ts';
import { onnx, DataType, type ModelProto } from '../onnx/proto.ts';

export const MASKED_INDEX = 'masked_index';
export const TOP_VALUES = 'top_values';
export const TOP_INDICES = 'top_indices';

function tensorValueInfo(name: string, elemType: number, dims: (string | number)[]) {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  });
}

/** The MatMul that makes `logits` (directly or through a constant bias Add). */
function findDecoder(g: GraphIndex, logitsName: string) {
  if (!g.outputNames.includes(logitsName)) return undefined;
  const last = g.producer(logitsName);
  let matmul = last;
  if (last?.op === 'Add') {
    const fed = last.inputs.filter((t) => !g.isConstant(t));
    if (fed.length !== 1) return undefined;
    matmul = g.producer(fed[0]);
  }
  return matmul?.op === 'MatMul' ? matmul : undefined;
}

/**
 * The vocabulary size the model's `logits` has, read from the decoder's constant weight or bias
 * (undefined when neither is a constant).
 */
export function logitsVocabSize(model: ModelProto, logitsName = 'logits'): number | undefined {
  const g = new GraphIndex(model.graph!);
  const last = g.producer(logitsName);
  const consts = [...(last?.op === 'Add' ? last.inputs : []), ...(findDecoder(g, logitsName)?.inputs.slice(1) ?? [])];
  for (const t of consts) {
    const dims = g.constantShape(t);
    if (dims && dims.length > 0) return dims[dims.length - 1];
  }
  return undefined;
}

/**
 * @returns the rewritten model, or null when the graph's `logits` does not come from a MatMul
 *   (optionally followed by a bias Add) that the rewrite understands — callers then score all
 *   positions.
 */
export function maskedTopKModel(model: ModelProto, allowed: Int32Array, vocabSize: number, k: number, logitsName = 'logits'): ModelProto | null {
  const graph = model.graph!;
  const g = new GraphIndex(graph);
  const matmul = findDecoder(g, logitsName);
  if (!matmul) return null;

  // The rows to score, gathered from the decoder's [B, L, H] input flattened to [B*L, H].
  const hidden = matmul.inputs[0];
  const flat = 'mlm_topk/flat_hidden';
  const rows = 'mlm_topk/masked_hidden';
  const bias = 'mlm_topk/allowed_bias';
  const filtered = 'mlm_topk/filtered_logits';
  const kName = 'mlm_topk/k';
  const newNodes = [
    onnx.NodeProto.create({ opType: 'Flatten', input: [hidden], output: [flat], name: 'mlm_topk/Flatten', attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 2 }] }),
    onnx.NodeProto.create({ opType: 'Gather', input: [flat, MASKED_INDEX], output: [rows], name: 'mlm_topk/Gather', attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 0 }] }),
  ];
  const allowedBias = new Float32Array(vocabSize).fill(-1e30);
  for (const id of allowed) allowedBias[id] = 0;
  const tail = [
    onnx.NodeProto.create({ opType: 'Add', input: [logitsName, bias], output: [filtered], name: 'mlm_topk/Add' }),
    onnx.NodeProto.create({
      opType: 'TopK',
      input: [filtered, kName],
      output: [TOP_VALUES, TOP_INDICES],
      name: 'mlm_topk/TopK',
      attribute: [
        { name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: -1 },
        { name: 'largest', type: onnx.AttributeProto.AttributeType.INT, i: 1 },
        { name: 'sorted', type: onnx.AttributeProto.AttributeType.INT, i: 1 },
      ],
    }),
  ];
  const nodes = [...(graph.node ?? [])];
  nodes[matmul.index] = onnx.NodeProto.create({ ...nodes[matmul.index], input: [rows, ...matmul.inputs.slice(1)] });
  nodes.splice(matmul.index, 0, ...newNodes);
  nodes.push(...tail);

  const out = onnx.ModelProto.create({ ...model });
  out.graph = onnx.GraphProto.create({
    ...graph,
    node: nodes,
    input: [...(graph.input ?? []), tensorValueInfo(MASKED_INDEX, DataType.INT64, ['rows'])],
    output: [tensorValueInfo(TOP_VALUES, DataType.FLOAT, ['rows', k]), tensorValueInfo(TOP_INDICES, DataType.INT64, ['rows', k])],
    initializer: [
      ...(graph.initializer ?? []),
      onnx.TensorProto.create({ name: bias, dataType: DataType.FLOAT, dims: [vocabSize], rawData: new Uint8Array(allowedBias.buffer) }),
      onnx.TensorProto.create({ name: kName, dataType: DataType.INT64, dims: [1], rawData: new Uint8Array(BigInt64Array.from([BigInt(k)]).buffer) }),
    ],
    // Shapes recorded for the old outputs no longer hold after the gather.
    valueInfo: (graph.valueInfo ?? []).filter((v) => v.name !== logitsName),
  });
  return out;
}
