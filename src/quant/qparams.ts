/**
 * Int8 quantisation parameters as plain numbers, computed in float32 exactly as the tfjs fake-quant ops
 * (src/quant/fake-quant.ts) and ONNX QuantizeLinear compute them, so the exported int8 model holds the
 * very integers and scales the student trained with:
 *   weights      symmetric per output column: scale = max|w| / qmax, q = clip(round(w / scale), ±qmax)
 *   activations  asymmetric uint8 per tensor over [min(lo, 0), max(hi, 0)]: scale = span / 255,
 *                zero point = clip(round(−lo / scale), 0, 255), q = clip(round(x / scale) + zp, 0, 255)
 * round is half to even, as ONNX QuantizeLinear and tf.round.
 */

const f32 = Math.fround;

/** Round half to even (banker's rounding), ONNX's and tf.round's rule. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x); // half up
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Largest |q| of a symmetric weight: 127 (8 bits), or 63 with reduceRange (see src/export/quantize.ts). */
export function weightQmax(reduceRange: boolean): number {
  return reduceRange ? 63 : 127;
}

export interface PerColumnWeights {
  /** [K, N] row-major, like the float kernel. */
  q: Int8Array;
  /** [N] float32: w ≈ q · scale[column]. */
  scales: Float32Array;
}

/** Symmetric per-column quantisation of a [rows, cols] kernel, bit-exact with fakeQuantWeight. */
export function quantizeWeightColumns(kernel: Float32Array, rows: number, cols: number, qmax: number): PerColumnWeights {
  if (kernel.length !== rows * cols) throw new Error(`quantize: ${kernel.length} values for a [${rows}, ${cols}] kernel`);
  const maxAbs = new Float32Array(cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) maxAbs[c] = Math.max(maxAbs[c], Math.abs(kernel[r * cols + c]));
  const scales = new Float32Array(cols);
  for (let c = 0; c < cols; c++) scales[c] = maxAbs[c] > 0 ? f32(maxAbs[c] / qmax) : 1;
  const q = new Int8Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const v = roundHalfEven(f32(kernel[r * cols + c] / scales[c]));
      q[r * cols + c] = Math.max(-qmax, Math.min(qmax, v));
    }
  }
  return { q, scales };
}

export interface ActivationQParams {
  /** float32 */
  scale: number;
  /** integer in [0, 255] */
  zeroPoint: number;
}

/** uint8 scale and zero point of an observed range (widened to hold 0, so zero is exact). */
export function activationQParams(min: number, max: number): ActivationQParams {
  const lo = f32(Math.min(min, 0));
  const hi = f32(Math.max(max, 0));
  const span = f32(hi - lo);
  const scale = span > 0 ? f32(span / 255) : 1;
  const zeroPoint = Math.max(0, Math.min(255, roundHalfEven(f32(-lo / scale))));
  return { scale, zeroPoint };
}

/** x → the uint8 grid and back (what QuantizeLinear → DequantizeLinear computes). */
export function fakeQuantValue(x: number, p: ActivationQParams): number {
  const q = Math.max(0, Math.min(255, roundHalfEven(f32(x / p.scale)) + p.zeroPoint));
  return f32((q - p.zeroPoint) * p.scale);
}
