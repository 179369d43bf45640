import { describe, expect, it } from 'vitest';
import { quantizeKernelPerColumn } from '../../src/export/quantize.ts';

describe('quantizeKernelPerColumn', () => {
  it('scales each column by its own max |w| (hand-computed, 8-bit)', () => {
    // [3, 2]: column 0 max |w| = 2.54 -> scale 0.02; column 1 max |w| = 0.127 -> scale 0.001.
    const w = Float32Array.from([1.0, -0.127, -2.54, 0.05, 0.011, 0.0005]);
    const { q, scales } = quantizeKernelPerColumn(w, 3, 2, false);
    expect(scales[0]).toBeCloseTo(0.02, 7);
    expect(scales[1]).toBeCloseTo(0.001, 7);
    expect(Array.from(q)).toEqual([50, -127, -127, 50, 1, 1]); // 0.011/0.02 = 0.55 -> 1; 0.0005/0.001 = 0.5 -> 1
  });

  it('keeps weights in [-63, 63] with reduceRange and reconstructs within half a step', () => {
    // col0 scale 0.63/63 = 0.01: -0.3 -> -30; col1 scale 0.2/63: 0.05 -> 15.75 -> 16.
    const w = Float32Array.from([0.63, -0.2, -0.3, 0.05]);
    const { q, scales } = quantizeKernelPerColumn(w, 2, 2, true);
    expect(Array.from(q)).toEqual([63, -63, -30, 16]);
    for (let i = 0; i < 4; i++) expect(Math.abs(q[i] * scales[i % 2] - w[i])).toBeLessThanOrEqual(scales[i % 2] / 2 + 1e-7);
  });

  it('uses scale 1 for an all-zero column instead of dividing by zero', () => {
    const { q, scales } = quantizeKernelPerColumn(new Float32Array(4), 2, 2, false);
    expect(Array.from(scales)).toEqual([1, 1]);
    expect(Array.from(q)).toEqual([0, 0, 0, 0]);
  });

  it('rejects a data length that does not match the shape', () => {
    expect(() => quantizeKernelPerColumn(new Float32Array(5), 2, 2, false)).toThrow(/5 values for a \[2, 2\] kernel/);
  });
});
