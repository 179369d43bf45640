import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { heapI32, sizeOf } from './wasm-heap.ts';

/**
 * UnsortedSegmentSum for the wasm backend (tfjs 4.22 does not ship it; gather's gradient needs it).
 *
 * out[s, ...] = Σ_{i : ids[i] = s} x[i, ...], with out shaped [numSegments, ...x.shape[ids.rank:]].
 * A scatter-add over the ids on the heap views: O(size of x), no dense one-hot. Ids outside
 * [0, numSegments) are skipped, as the cpu backend does.
 */
function unsortedSegmentSum(args: { inputs: { x: TensorInfo; segmentIds: TensorInfo }; backend: BackendWasm; attrs: NamedAttrMap }): TensorInfo {
  const { x, segmentIds } = args.inputs;
  const numSegments = args.attrs.numSegments as number;
  const backend = args.backend;
  const idsRank = segmentIds.shape.length;
  if (segmentIds.shape.some((d, i) => d !== x.shape[i])) {
    throw new Error(`UnsortedSegmentSum: segmentIds shape [${segmentIds.shape}] must be a prefix of x shape [${x.shape}]`);
  }
  if (x.dtype !== 'float32' && x.dtype !== 'int32') throw new Error(`UnsortedSegmentSum: unsupported dtype ${x.dtype}`);
  const innerShape = x.shape.slice(idsRank);
  const inner = sizeOf(innerShape);
  const rows = sizeOf(segmentIds.shape);

  const out = backend.makeOutput([numSegments, ...innerShape], x.dtype);
  const xs = backend.typedArrayFromHeap(x) as Float32Array | Int32Array;
  const ids = heapI32(backend, segmentIds);
  const o = backend.typedArrayFromHeap(out) as Float32Array | Int32Array;
  o.fill(0);
  for (let i = 0; i < rows; i++) {
    const s = ids[i];
    if (s < 0 || s >= numSegments) continue;
    const src = i * inner;
    const dst = s * inner;
    for (let j = 0; j < inner; j++) o[dst + j] += xs[src + j];
  }
  return out;
}

export const unsortedSegmentSumConfig: KernelConfig = {
  kernelName: 'UnsortedSegmentSum',
  backendName: 'wasm',
  kernelFunc: unsortedSegmentSum as unknown as KernelFunc,
};
