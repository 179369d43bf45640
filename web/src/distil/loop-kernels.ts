/**
 * WebGPU kernels without workgroup memory, for adapters that emulate a GPU on the CPU (SwiftShader).
 *
 * tfjs webgpu's matMul, reductions, softmax, 2-D transpose and its rank-1 broadcast of binary ops share data
 * through workgroup memory and `workgroupBarrier()`. A CPU emulation runs each barrier as a switch between the
 * workgroup's invocations, and there these kernels are 10-100x slower than a plain elementwise one of the same
 * size (SwiftShader, the demo student's shapes: add [704,64]+[64] 24 ms vs 2.4 ms with a [1,64] operand,
 * 2-D transpose 40 ms vs 2.7 ms in 4-D, softmax [2816,22] 214 ms, matMul [704,64]x[64,256] 89 ms). The
 * replacements here give each invocation one output (one softmax row) and a plain loop; the binary ops and
 * the 2-D transpose reuse tfjs's own barrier-free programs by a reshape. Anything outside the cases handled
 * (other dtypes, scattered reduction axes, batch broadcasting beyond 1-vs-n) goes to the stock kernel.
 * On a real GPU the stock kernels are the faster ones, so startTrainBackend installs these only for a
 * CPU adapter. Measured in headless Chromium's SwiftShader on a loaded 2-core machine, stock → here:
 * add [704,64]+[64] 47 → 2 ms, 2-D transpose 68 → 3.6 ms, sum over axis 0 92 → 1.4 ms, softmax [2816,22]
 * 305 → 3.3 ms, matMul [704,64]x[64,256] 163 → 39 ms, batched [128,22,16]x[128,16,22] 87 → 4 ms; every
 * result within 3e-5 (relative) of the cpu backend's.
 */
import * as tf from '@tensorflow/tfjs';
import type { DataType, KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';

/** The parts of tfjs's WebGPUBackend and WebGPUProgram used here (tfjs-backend-webgpu 4.x). */
interface Backend {
  runWebGPUProgram(program: LoopProgram, inputs: TensorInfo[], dtype: DataType, uniforms?: { type: 'int32' | 'float32'; data: number[] }[]): TensorInfo;
  disposeData(dataId: object): boolean;
}

interface LoopProgram {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  uniforms?: string;
  size?: boolean;
  getUserCode(): string;
}

const WORKGROUP = 64;

function program(name: string, variableNames: string[], outputShape: number[], invocations: number, uniforms: string, body: string, size = true): LoopProgram {
  return {
    variableNames, outputShape, shaderKey: name, uniforms, size,
    dispatchLayout: { x: outputShape.map((_, i) => i) },
    dispatch: [Math.ceil(invocations / WORKGROUP), 1, 1],
    workgroupSize: [WORKGROUP, 1, 1],
    getUserCode: () => body,
  };
}

const prod = (xs: number[]) => xs.reduce((a, b) => a * b, 1);
/** One i32 uniform per value: tfjs aligns a multi-value entry as a vector, which the struct's i32 fields are not. */
const i32s = (...values: number[]) => values.map((v) => ({ type: 'int32' as const, data: [v] }));

function kernel(name: string, backend: object, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap = {}): TensorInfo {
  const k = tf.getKernel(name, 'webgpu');
  if (!k) throw new Error(`tfjs webgpu has no ${name} kernel`);
  return k.kernelFunc({ inputs, backend: backend as never, attrs }) as TensorInfo;
}

const reshape = (backend: object, x: TensorInfo, shape: number[]) => kernel('Reshape', backend, { x }, { shape });

/** out[o, i] = op over k of x[o, k, i]: x seen as [outer, K, inner], the reduced axes in the middle. */
function reduceProgram(op: 'sum' | 'mean' | 'max' | 'min', outer: number, inner: number): LoopProgram {
  const combine = op === 'max' ? 'best = max(best, v);' : op === 'min' ? 'best = min(best, v);' : 'best = best + v;';
  const init = op === 'max' || op === 'min' ? 'x[base]' : '0.0';
  const result = op === 'mean' ? 'best / f32(uniforms.K)' : op === 'sum' ? 'best' : 'select(best, uniforms.NAN, nan)';
  return program(`loopReduce_${op}`, ['x'], [outer * inner], outer * inner, 'K : i32, inner : i32,', `
    ${mainHeader()} {
      if (index < uniforms.size) {
        let o = index / uniforms.inner;
        let i = index - o * uniforms.inner;
        let base = o * uniforms.K * uniforms.inner + i;
        var best : f32 = ${init};
        var nan = false;
        for (var k = 0; k < uniforms.K; k = k + 1) {
          let v = x[base + k * uniforms.inner];
          nan = nan || isnan(v);
          ${combine}
        }
        setOutputAtIndex(index, ${result});
      }
    }`);
}

function mainHeader(): string {
  return 'fn main(index : i32)';
}

function reduceKernel(op: 'sum' | 'mean' | 'max' | 'min', original: KernelFunc): KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    // Max names its axes reductionIndices; Sum, Mean and Min name them axis.
    const attrs = args.attrs as { axis?: number | number[]; reductionIndices?: number | number[]; keepDims: boolean };
    const axis = attrs.axis ?? attrs.reductionIndices!;
    const keepDims = attrs.keepDims;
    const axes = [...new Set(tf.util.parseAxisParam(axis, x.shape))].sort((a, b) => a - b);
    const contiguous = axes.every((a, i) => i === 0 || a === axes[i - 1] + 1);
    if (x.dtype !== 'float32' || axes.length === 0 || !contiguous || prod(x.shape) === 0) return original(args);
    const backend = args.backend as unknown as Backend;
    const outer = prod(x.shape.slice(0, axes[0]));
    const K = prod(x.shape.slice(axes[0], axes.at(-1)! + 1));
    const inner = prod(x.shape.slice(axes.at(-1)! + 1));
    const flat = backend.runWebGPUProgram(reduceProgram(op, outer, inner), [x], 'float32', i32s(K, inner));
    const shape = x.shape.map((d, i) => (axes.includes(i) ? (keepDims ? 1 : -1) : d)).filter((d) => d >= 0);
    const out = reshape(backend, flat, shape);
    backend.disposeData(flat.dataId);
    return out;
  };
}

/** softmax over the last axis: one invocation per row (max, sum of exp, then the row). */
function softmaxProgram(rows: number, cols: number): LoopProgram {
  return program('loopSoftmax', ['logits'], [rows, cols], rows, 'rows : i32, cols : i32,', `
    ${mainHeader()} {
      if (index < uniforms.rows) {
        let base = index * uniforms.cols;
        var m = logits[base];
        for (var k = 1; k < uniforms.cols; k = k + 1) { m = max(m, logits[base + k]); }
        var s = 0.0;
        for (var k = 0; k < uniforms.cols; k = k + 1) { s = s + exp(logits[base + k] - m); }
        for (var k = 0; k < uniforms.cols; k = k + 1) { setOutputAtIndex(base + k, exp(logits[base + k] - m) / s); }
      }
    }`, false);
}

function softmaxKernel(original: KernelFunc): KernelFunc {
  return (args) => {
    const { logits } = args.inputs as { logits: TensorInfo };
    const { dim } = args.attrs as { dim: number };
    const rank = logits.shape.length;
    if (logits.dtype !== 'float32' || rank === 0 || (dim !== -1 && dim !== rank - 1) || prod(logits.shape) === 0) return original(args);
    const backend = args.backend as unknown as Backend;
    const cols = logits.shape[rank - 1];
    const rows = prod(logits.shape) / cols;
    const flat = backend.runWebGPUProgram(softmaxProgram(rows, cols), [logits], 'float32', i32s(rows, cols));
    const out = reshape(backend, flat, logits.shape);
    backend.disposeData(flat.dataId);
    return out;
  };
}

/**
 * [batch, M, N] = A · B with A [batchA, M, K] (or [batchA, K, M] transposed), B [batchB, K, N] (or [batchB, N, K]);
 * batchA and batchB are equal or one of them is 1 (stride 0). Each invocation computes a 4×4 block of the
 * output with a loop over K (8 loads for 16 multiply-adds); every output is summed over k in order.
 */
function matMulProgram(batch: number, M: number, N: number, transposeA: boolean, transposeB: boolean): LoopProgram {
  // Element (m, k) of A's slice and (k, n) of B's, by the flags.
  const aAt = (m: string) => (transposeA ? `A[aBase + k * uniforms.M + ${m}]` : `A[aBase + ${m} * uniforms.K + k]`);
  const bAt = (n: string) => (transposeB ? `B[bBase + ${n} * uniforms.K + k]` : `B[bBase + k * uniforms.N + ${n}]`);
  const tiles = batch * Math.ceil(M / 4) * Math.ceil(N / 4);
  return program(`loopMatMul_${transposeA}_${transposeB}`, ['A', 'B'], [batch, M, N], tiles, 'M : i32, N : i32, K : i32, aBatchStride : i32, bBatchStride : i32, tiles : i32,', `
    ${mainHeader()} {
      if (index < uniforms.tiles) {
        let tilesN = (uniforms.N + 3) / 4;
        let tilesMN = ((uniforms.M + 3) / 4) * tilesN;
        let b = index / tilesMN;
        let r = index - b * tilesMN;
        let m0 = (r / tilesN) * 4;
        let n0 = (r - (r / tilesN) * tilesN) * 4;
        let aBase = b * uniforms.aBatchStride;
        let bBase = b * uniforms.bBatchStride;
        // Rows and columns past the edge read the last one (in bounds) and are not written.
        let m1 = min(m0 + 1, uniforms.M - 1);
        let m2 = min(m0 + 2, uniforms.M - 1);
        let m3 = min(m0 + 3, uniforms.M - 1);
        let n1 = min(n0 + 1, uniforms.N - 1);
        let n2 = min(n0 + 2, uniforms.N - 1);
        let n3 = min(n0 + 3, uniforms.N - 1);
        var acc0 = vec4<f32>(0.0);
        var acc1 = vec4<f32>(0.0);
        var acc2 = vec4<f32>(0.0);
        var acc3 = vec4<f32>(0.0);
        for (var k = 0; k < uniforms.K; k = k + 1) {
          let bv = vec4<f32>(${bAt('n0')}, ${bAt('n1')}, ${bAt('n2')}, ${bAt('n3')});
          acc0 = acc0 + ${aAt('m0')} * bv;
          acc1 = acc1 + ${aAt('m1')} * bv;
          acc2 = acc2 + ${aAt('m2')} * bv;
          acc3 = acc3 + ${aAt('m3')} * bv;
        }
        let accs = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
        let outBase = b * uniforms.M * uniforms.N;
        for (var i = 0; i < 4; i = i + 1) {
          let m = m0 + i;
          if (m < uniforms.M) {
            for (var j = 0; j < 4; j = j + 1) {
              if (n0 + j < uniforms.N) { setOutputAtIndex(outBase + m * uniforms.N + n0 + j, accs[i][j]); }
            }
          }
        }
      }
    }`);
}

function matMulKernel(original: KernelFunc): KernelFunc {
  return (args) => {
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
    const ra = a.shape.length;
    const rb = b.shape.length;
    if (a.dtype !== 'float32' || b.dtype !== 'float32' || ra < 2 || rb < 2) return original(args);
    const batchShapeA = a.shape.slice(0, -2);
    const batchShapeB = b.shape.slice(0, -2);
    const batchA = prod(batchShapeA);
    const batchB = prod(batchShapeB);
    // Same batch shape, or one side without batch dimensions (or all ones): anything else to the stock kernel.
    const sameBatch = ra === rb && batchShapeA.every((d, i) => d === batchShapeB[i]);
    if (!sameBatch && batchA !== 1 && batchB !== 1) return original(args);
    const M = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
    const K = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
    const Kb = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
    const N = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
    if (K !== Kb || M * N * Math.max(batchA, batchB) === 0) return original(args);
    const batch = Math.max(batchA, batchB);
    const outShape = [...tf.backend_util.assertAndGetBroadcastShape(batchShapeA, batchShapeB), M, N];
    const backend = args.backend as unknown as Backend;
    const flat = backend.runWebGPUProgram(matMulProgram(batch, M, N, transposeA, transposeB), [a, b], 'float32',
      i32s(M, N, K, batchA === 1 ? 0 : M * K, batchB === 1 ? 0 : K * N, batch * Math.ceil(M / 4) * Math.ceil(N / 4)));
    const out = reshape(backend, flat, outShape);
    backend.disposeData(flat.dataId);
    return out;
  };
}

/** x [r, c] transposed as [1, r, c] → [1, c, r]: tfjs's 3-D transpose has no workgroup memory. */
function transposeKernel(original: KernelFunc): KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    const { perm } = args.attrs as { perm: number[] };
    if (x.shape.length !== 2 || perm[0] !== 1 || perm[1] !== 0) return original(args);
    const backend = args.backend as unknown as Backend;
    const x3 = reshape(backend, x, [1, ...x.shape]);
    const t3 = original({ ...args, inputs: { x: x3 }, attrs: { perm: [0, 2, 1] } }) as TensorInfo;
    const out = reshape(backend, t3, [x.shape[1], x.shape[0]]);
    backend.disposeData(x3.dataId);
    backend.disposeData(t3.dataId);
    return out;
  };
}

/** A rank-1 operand against a higher-rank one, given as [1, n]: tfjs then takes its plain (vec4) path. */
function binaryKernel(original: KernelFunc): KernelFunc {
  return (args) => {
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    const lift = (t: TensorInfo, other: TensorInfo) => t.shape.length === 1 && other.shape.length > 1;
    if (!lift(a, b) && !lift(b, a)) return original(args);
    const backend = args.backend as unknown as Backend;
    const a2 = lift(a, b) ? reshape(backend, a, [1, a.shape[0]]) : a;
    const b2 = lift(b, a) ? reshape(backend, b, [1, b.shape[0]]) : b;
    const out = original({ ...args, inputs: { a: a2, b: b2 } }) as TensorInfo;
    for (const t of [a2, b2]) if (t !== a && t !== b) backend.disposeData(t.dataId);
    return out;
  };
}

const BINARY = ['Add', 'Sub', 'Multiply', 'RealDiv', 'Maximum', 'Minimum', 'SquaredDifference', 'Pow', 'FloorDiv', 'Mod', 'Atan2'];

/** Marks the kernels installed here, so a second call is a no-op. */
const OURS = Symbol.for('distill-ts.webgpu.loop-kernel');

function replace(name: string, wrap: (original: KernelFunc) => KernelFunc): string | undefined {
  const existing = tf.getKernel(name, 'webgpu');
  if (!existing || (existing.kernelFunc as unknown as Record<symbol, unknown>)[OURS]) return undefined;
  const kernelFunc = wrap(existing.kernelFunc);
  (kernelFunc as unknown as Record<symbol, unknown>)[OURS] = true;
  tf.unregisterKernel(name, 'webgpu');
  tf.registerKernel({ ...existing, kernelFunc } as KernelConfig);
  return name;
}

/** Installs the replacements on the webgpu backend; returns the kernel names (re)registered by this call. */
export function registerLoopKernels(): string[] {
  const done = [
    replace('Sum', (k) => reduceKernel('sum', k)),
    replace('Mean', (k) => reduceKernel('mean', k)),
    replace('Max', (k) => reduceKernel('max', k)),
    replace('Min', (k) => reduceKernel('min', k)),
    replace('Softmax', softmaxKernel),
    replace('BatchMatMul', matMulKernel),
    replace('Transpose', transposeKernel),
    ...BINARY.map((n) => replace(n, binaryKernel)),
  ];
  return done.filter((n): n is string => n !== undefined);
}
