import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/**
 * BatchMatMul for the wasm backend, wrapped around the shipped kernel.
 *
 * The shipped kernel takes its XNNPACK fast path only for a plain, unbatched product; any
 * transpose flag drops it into a naive strided loop that is ~8-12x slower (PERF-NOTES.md). The
 * backward pass of every dense layer asks for exactly those flags (dX = dY·Wᵀ, dW = Xᵀ·dY). So the
 * flagged operand is transposed first with the Transpose kernel (a cheap copy) and the shipped
 * kernel runs with both flags false.
 */
export function wrapBatchMatMul(original: KernelConfig, transpose: KernelConfig): KernelConfig {
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
    if (!transposeA && !transposeB) return matMul(args as never);
    const backend = args.backend;
    const a2 = transposeA ? swapLastTwo(a, backend) : a;
    const b2 = transposeB ? swapLastTwo(b, backend) : b;
    try {
      return matMul({ inputs: { a: a2, b: b2 }, backend, attrs: { ...args.attrs, transposeA: false, transposeB: false } } as never);
    } finally {
      if (a2 !== a) backend.disposeData(a2.dataId);
      if (b2 !== b) backend.disposeData(b2.dataId);
    }
  };
  return { ...original, kernelFunc: kernelFunc as unknown as KernelFunc };
}
