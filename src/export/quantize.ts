/**
 * Weight quantization for the int8 export: symmetric, per output column, zero point 0.
 *
 * `reduceRange` keeps weights in [-63, 63] (7 bits). onnxruntime's x86 u8·s8 kernels on AVX2/AVX-512
 * machines without VNNI add pairs of u8·s8 products in int16 and can saturate with full 8-bit
 * weights; 7-bit weights cannot (2·255·64 < 32768). Per-column scales win back most of the lost bit.
 */
export interface QuantizedKernel {
  /** [K, N] row-major, like the float kernel. */
  q: Int8Array;
  /** [N]: w ≈ q · scale[column]. */
  scales: Float32Array;
}

export function quantizeKernelPerColumn(kernel: Float32Array, rows: number, cols: number, reduceRange: boolean): QuantizedKernel {
  if (kernel.length !== rows * cols) throw new Error(`quantize: ${kernel.length} values for a [${rows}, ${cols}] kernel`);
  const qmax = reduceRange ? 63 : 127;
  const scales = new Float32Array(cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) scales[c] = Math.max(scales[c], Math.abs(kernel[r * cols + c]));
  }
  for (let c = 0; c < cols; c++) scales[c] = scales[c] > 0 ? scales[c] / qmax : 1;
  const q = new Int8Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const v = Math.round(kernel[r * cols + c] / scales[c]);
      q[r * cols + c] = Math.max(-qmax, Math.min(qmax, v));
    }
  }
  return { q, scales };
}
