import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

// The wasm thread count, told by initBackend. A value import of the wasm package here would register it
// as tfjs' highest-priority backend on import (before it is ready), so the kernel never imports it.
let wasmThreads = 1;
export function setWasmThreadsForBatchMatMul(threads: number): void {
  wasmThreads = threads;
}

/**
 * BatchMatMul for the wasm backend, wrapped around the shipped kernel.
 *
 * The shipped kernel takes its XNNPACK fast path only for a plain, unbatched product; any
 * transpose flag, and any batch dimension above 1, drops it into a naive strided loop that is
 * ~8-20x slower (PERF-NOTES.md). So:
 *  - a flagged operand is transposed first with the Transpose kernel (a cheap copy);
 *  - a batched product runs one slice at a time through the module's BatchMatMul with batch 1
 *    (the XNNPACK path): each slice is registered with the module as a temporary tensor id that
 *    points into the operand's heap memory (no copy), and unregistered after its product. Fresh
 *    ids per slice matter: the module caches a packed-weights operator per `b` id and drops it
 *    only when that id is disposed, so reusing an id would reuse stale weights.
 *    Only on a single-threaded module: with a thread pool every slice is one pool dispatch, and
 *    on a loaded machine each dispatch can stall for a scheduler slice (measured 4x slower than
 *    the shipped loop with 2 threads on 2 busy cores, 4x faster with 1 thread).
 */

type ModuleBatchMatMul = (aId: number, aShape: Uint8Array, aRank: number, bId: number, bShape: Uint8Array,
  bRank: number, transposeA: number, transposeB: number, outId: number) => void;

interface WasmModule {
  cwrap(name: string, ret: null, args: string[]): ModuleBatchMatMul;
  tfjs: { registerTensor(id: number, size: number, offset: number): void; disposeData(id: number): void };
}

interface BackendInternals {
  wasm: WasmModule;
  dataIdNextNumber: number;
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
}

const moduleMatMuls = new WeakMap<object, ModuleBatchMatMul>();

function moduleMatMul(wasm: WasmModule): ModuleBatchMatMul {
  let fn = moduleMatMuls.get(wasm);
  if (!fn) {
    fn = wasm.cwrap('BatchMatMul', null, ['number', 'array', 'number', 'number', 'array', 'number', 'number', 'number', 'number']);
    moduleMatMuls.set(wasm, fn);
  }
  return fn;
}

function shapeBytes(shape: number[]): Uint8Array {
  return new Uint8Array(new Int32Array(shape).buffer);
}

function batchSize(t: TensorInfo): number {
  let n = 1;
  for (let i = 0; i < t.shape.length - 2; i++) n *= t.shape[i];
  return n;
}

/**
 * a [..., m, k] · b [..., k, n] without flags, both batch parts equal and above 1 (or one of them
 * exactly 1, broadcast): slice by slice through the XNNPACK path. Returns null when the shapes
 * are outside that case, so the caller falls back to the shipped kernel.
 */
function slicedProduct(a: TensorInfo, b: TensorInfo, backend: BackendWasm): TensorInfo | null {
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 3 && b.shape.length < 3) return null;
  const batchA = batchSize(a);
  const batchB = batchSize(b);
  const batch = Math.max(batchA, batchB);
  if (batch < 2) return null;
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  let outer: number[];
  if (batchA === batchB && outerA.length === outerB.length && outerA.every((d, i) => d === outerB[i])) outer = outerA;
  else if (batchB === 1 && outerB.length <= outerA.length) outer = outerA; // b broadcast over a's batch
  else if (batchA === 1 && outerA.length <= outerB.length) outer = outerB;
  else return null;

  const m = a.shape[a.shape.length - 2];
  const k = a.shape[a.shape.length - 1];
  const n = b.shape[b.shape.length - 1];
  if (b.shape[b.shape.length - 2] !== k) {
    throw new Error(`BatchMatMul: inner sizes differ, a [${a.shape}] · b [${b.shape}]`);
  }
  if (k === 0) return null;
  const out = backend.makeOutput([...outer, m, n], 'float32');
  if (m * n === 0) return out;
  const internals = backend as unknown as BackendInternals;
  const { wasm, dataIdMap } = internals;
  const matMul = moduleMatMul(wasm);
  const offA = dataIdMap.get(a.dataId).memoryOffset;
  const offB = dataIdMap.get(b.dataId).memoryOffset;
  const offOut = dataIdMap.get(out.dataId).memoryOffset;
  // b shared by every slice of a (a batched input times a weight matrix): one product of the
  // stacked rows, a [batch·m, k] · b [k, n].
  const rows = batchB === 1 && batchA > 1 ? batch * m : m;
  const calls = rows === m ? batch : 1;
  const strideA = batchA === 1 ? 0 : m * k * 4;
  const strideB = batchB === 1 ? 0 : k * n * 4;
  const aShape = shapeBytes([1, rows, k]);
  const bShape = shapeBytes([1, k, n]);
  for (let s = 0; s < calls; s++) {
    const idA = internals.dataIdNextNumber++;
    const idB = internals.dataIdNextNumber++;
    const idOut = internals.dataIdNextNumber++;
    wasm.tfjs.registerTensor(idA, rows * k, offA + s * strideA);
    wasm.tfjs.registerTensor(idB, k * n, offB + s * strideB);
    wasm.tfjs.registerTensor(idOut, rows * n, offOut + s * rows * n * 4);
    try {
      matMul(idA, aShape, 3, idB, bShape, 3, 0, 0, idOut);
    } finally {
      wasm.tfjs.disposeData(idA);
      wasm.tfjs.disposeData(idB);
      wasm.tfjs.disposeData(idOut);
    }
  }
  return out;
}

/** `sliceBatches: false` leaves batched products to the shipped kernel (for benchmarks). */
export function wrapBatchMatMul(original: KernelConfig, transpose: KernelConfig, opts: { sliceBatches?: boolean } = {}): KernelConfig {
  const sliceBatches = opts.sliceBatches ?? true;
  const matMul = original.kernelFunc;
  const transposeFn = transpose.kernelFunc;

  const swapLastTwo = (t: TensorInfo, backend: BackendWasm): TensorInfo => {
    const r = t.shape.length;
    const perm = [...Array(r).keys()];
    [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
    return transposeFn({ inputs: { x: t }, backend, attrs: { perm } }) as TensorInfo;
  };

  const kernelFunc = (args: { inputs: { a: TensorInfo; b: TensorInfo }; backend: BackendWasm; attrs: NamedAttrMap }) => {
    const { a, b } = args.inputs;
    const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
    const backend = args.backend;
    const a2 = transposeA ? swapLastTwo(a, backend) : a;
    const b2 = transposeB ? swapLastTwo(b, backend) : b;
    try {
      const sliced = sliceBatches && wasmThreads === 1 ? slicedProduct(a2, b2, backend) : null;
      if (sliced) return sliced;
      return matMul({ inputs: { a: a2, b: b2 }, backend, attrs: { ...args.attrs, transposeA: false, transposeB: false } } as never);
    } finally {
      if (a2 !== a) backend.disposeData(a2.dataId);
      if (b2 !== b) backend.disposeData(b2.dataId);
    }
  };
  return { ...original, kernelFunc: kernelFunc as unknown as KernelFunc };
}
