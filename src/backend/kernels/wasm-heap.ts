import type { TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/**
 * Typed-array views straight onto the wasm heap, for kernels written in JS.
 *
 * Take views only after every output has been allocated: `makeOutput` mallocs, and a malloc that
 * grows the heap detaches views taken before it.
 */
export function heapF32(backend: BackendWasm, t: TensorInfo): Float32Array {
  if (t.dtype !== 'float32') throw new Error(`expected a float32 tensor, got ${t.dtype} [${t.shape}]`);
  return backend.typedArrayFromHeap(t) as Float32Array;
}

export function heapI32(backend: BackendWasm, t: TensorInfo): Int32Array {
  if (t.dtype !== 'int32') throw new Error(`expected an int32 tensor, got ${t.dtype} [${t.shape}]`);
  return backend.typedArrayFromHeap(t) as Int32Array;
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}
