/**
 * Reads a BERT teacher's word-embedding matrix straight from its ONNX file: the constant [V, H]
 * table of the Gather whose indices are the `input_ids` graph input (directly or through a Cast).
 */
import * as path from 'node:path';
import { GraphIndex } from '../onnx/graph.ts';
import { externalDataIn, loadModelProto } from '../onnx/proto.ts';
import { UserError } from '../util/errors.ts';
import type { Matrix } from './neighbours.ts';

function fedByInput(g: GraphIndex, tensor: string, input: string): boolean {
  if (tensor === input) return true;
  const p = g.producer(tensor);
  return p !== undefined && p.op === 'Cast' && fedByInput(g, p.inputs[0], input);
}

/**
 * @param vocabSize the tokenizer's vocabulary size: the table must have at least this many rows
 */
export function readWordEmbedding(onnxPath: string, vocabSize: number, inputName = 'input_ids'): Matrix {
  const g = new GraphIndex(loadModelProto(onnxPath).graph!, externalDataIn(path.dirname(onnxPath)));
  const tables = g
    .nodesOf('Gather')
    .filter((n) => fedByInput(g, n.inputs[1], inputName) && g.constantShape(n.inputs[0])?.length === 2)
    .map((n) => n.inputs[0]);
  if (tables.length === 0) {
    throw new UserError(
      `${onnxPath}: no word-embedding table found (expected a Gather of a constant [vocab, hidden] tensor indexed by the "${inputName}" input)`,
    );
  }
  const [rows, dim] = g.constantShape(tables[0])!;
  if (rows < vocabSize) {
    throw new UserError(`${onnxPath}: word-embedding table ${tables[0]} has ${rows} rows but the tokenizer has ${vocabSize} tokens`);
  }
  return { data: g.constantValues(tables[0]), rows, dim };
}
