/**
 * The neighbour search of neighbours.ts run by onnxruntime (MatMul + TopK, CUDA when installed):
 * a graph built here holds the unit-length candidate rows as a constant [H, C] matrix; query
 * blocks go in, the top-(k+1) candidate positions come out (one spare for the query itself).
 * Same ordering rules as nearestNeighbours: best first, ties to the lower id.
 */
import { encodeModelProto, onnx, DataType } from '../onnx/proto.ts';
import { createSession, type OnnxSession, type SessionOptions } from '../teacher/session.ts';
import type { Matrix } from './neighbours.ts';

export interface NeighbourSearch {
  search(queryIds: readonly number[]): Promise<Int32Array[]>;
  release(): Promise<void>;
}

const INT = onnx.AttributeProto.AttributeType.INT;

function searchModel(candT: Float32Array, dim: number, count: number, topK: number): Uint8Array {
  const info = (name: string, elemType: number, dims: (string | number)[]) =>
    onnx.ValueInfoProto.create({
      name,
      type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } } },
    });
  const model = onnx.ModelProto.create({
    irVersion: 7,
    producerName: 'distill-ts',
    opsetImport: [{ domain: '', version: 14 }],
    graph: {
      name: 'neighbours',
      node: [
        { opType: 'MatMul', input: ['queries', 'candidates_t'], output: ['scores'], name: 'scores' },
        {
          opType: 'TopK',
          input: ['scores', 'k'],
          output: ['values', 'indices'],
          name: 'topk',
          attribute: [
            { name: 'axis', type: INT, i: -1 },
            { name: 'largest', type: INT, i: 1 },
            { name: 'sorted', type: INT, i: 1 },
          ],
        },
      ],
      initializer: [
        { name: 'candidates_t', dataType: DataType.FLOAT, dims: [dim, count], rawData: new Uint8Array(candT.buffer, candT.byteOffset, candT.byteLength) },
        { name: 'k', dataType: DataType.INT64, dims: [1], rawData: new Uint8Array(BigInt64Array.from([BigInt(topK)]).buffer) },
      ],
      input: [info('queries', DataType.FLOAT, ['q', dim])],
      output: [info('values', DataType.FLOAT, ['q', topK]), info('indices', DataType.INT64, ['q', topK])],
    },
  });
  return encodeModelProto(model);
}

/**
 * @param normed unit-length rows (normalizeRows)
 * @param candidateIds rows allowed as neighbours, ascending
 * @param blockRows queries per run (scores of a block: blockRows × candidates floats)
 */
export async function onnxNeighbourSearch(
  normed: Matrix,
  candidateIds: Int32Array,
  k: number,
  opts: SessionOptions & { blockRows?: number } = {},
): Promise<NeighbourSearch> {
  const { data, dim } = normed;
  const count = candidateIds.length;
  const candT = new Float32Array(dim * count);
  for (let c = 0; c < count; c++) {
    const o = candidateIds[c] * dim;
    for (let j = 0; j < dim; j++) candT[j * count + c] = data[o + j];
  }
  const topK = Math.min(k + 1, count);
  let session: OnnxSession | undefined;
  if (count > 0) session = await createSession(searchModel(candT, dim, count, topK), opts);
  const blockRows = opts.blockRows ?? 1024;
  return {
    async search(queryIds) {
      const results: Int32Array[] = [];
      for (let q0 = 0; q0 < queryIds.length; q0 += blockRows) {
        const block = queryIds.slice(q0, q0 + blockRows);
        if (!session) {
          for (const _ of block) results.push(new Int32Array(0));
          continue;
        }
        const queries = new Float32Array(block.length * dim);
        block.forEach((q, i) => queries.set(data.subarray(q * dim, (q + 1) * dim), i * dim));
        const out = await session.run({ queries: { data: queries, dims: [block.length, dim], type: 'float32' } }, ['indices']);
        const idx = out.indices.data;
        block.forEach((q, i) => {
          const ids: number[] = [];
          for (let j = 0; j < topK && ids.length < k; j++) {
            const id = candidateIds[idx[i * topK + j]];
            if (id !== q) ids.push(id);
          }
          results.push(Int32Array.from(ids));
        });
      }
      return results;
    },
    release: async () => session?.release(),
  };
}
