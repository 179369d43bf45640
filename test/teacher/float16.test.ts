import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/util/rng.ts';
import { decodeFloat16, encodeFloat16, float16BitsToFloat32, float32ToFloat16Bits } from '../../src/onnx/float16.ts';

describe('float16', () => {
  it('encodes hand-checked values (IEEE 754 binary16 bit patterns)', () => {
    const cases: [number, number][] = [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [0.5, 0x3800],
      [65504, 0x7bff], // largest finite
      [6.103515625e-5, 0x0400], // smallest normal 2^-14
      [5.960464477539063e-8, 0x0001], // smallest subnormal 2^-24
      [1 / 3, 0x3555],
      [Infinity, 0x7c00],
      [-Infinity, 0xfc00],
      [1e6, 0x7c00], // overflow → Inf in the raw conversion
      [1e-9, 0x0000], // underflow → 0
    ];
    for (const [v, bits] of cases) expect(float32ToFloat16Bits(v), String(v)).toBe(bits);
    expect(Number.isNaN(float16BitsToFloat32(float32ToFloat16Bits(NaN)))).toBe(true);
  });

  it('rounds to nearest, ties to even', () => {
    // Between 1 (0x3c00) and 1 + 2^-10 (0x3c01): halfway ties go to the even mantissa.
    expect(float32ToFloat16Bits(1 + 2 ** -11)).toBe(0x3c00);
    expect(float32ToFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(float32ToFloat16Bits(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01);
    // 2^-25 is halfway between 0 and the smallest subnormal: ties to 0; just above rounds up.
    expect(float32ToFloat16Bits(2 ** -25)).toBe(0);
    expect(float32ToFloat16Bits(2 ** -25 * 1.5)).toBe(1);
    // Mantissa carry bumps the exponent: just below 2 rounds to 2.
    expect(float32ToFloat16Bits(2 - 2 ** -12)).toBe(0x4000);
  });

  it('decodes every finite half exactly and round-trips it', () => {
    const wrong: number[] = [];
    for (let h = 0; h < 0x10000; h++) {
      if (((h >> 10) & 0x1f) === 0x1f) continue; // Inf / NaN
      if (float32ToFloat16Bits(float16BitsToFloat32(h)) !== h) wrong.push(h);
    }
    expect(wrong).toEqual([]);
    expect(float16BitsToFloat32(0x3555)).toBeCloseTo(0.333251953125, 12);
  });

  it('array versions clamp out-of-range values instead of making Inf', () => {
    const back = decodeFloat16(encodeFloat16(Float32Array.from([1e6, -1e6, 0.1, -3.5])));
    expect(Array.from(back)).toEqual([65504, -65504, float16BitsToFloat32(0x2e66), -3.5]);
  });

  it('the fast array path equals the scalar conversion on values of every magnitude', () => {
    const rng = new Rng(3);
    const values = new Float32Array(200_000);
    for (let i = 0; i < values.length; i++) values[i] = (rng.next() < 0.5 ? -1 : 1) * 2 ** (rng.next() * 60 - 30) * (1 + rng.next());
    // Exact ties and the edges of the normal range.
    values.set([1 + 2 ** -11, 1 + 3 * 2 ** -11, 65504, 65519, 65520, 2 ** -14, 2 ** -14 * (1 - 2 ** -11), 0, -0]);
    const fast = encodeFloat16(values);
    const wrong: number[] = [];
    values.forEach((v, i) => {
      const slow = float32ToFloat16Bits(Math.max(-65504, Math.min(65504, v)));
      if (fast[i] !== slow) wrong.push(v);
    });
    expect(wrong).toEqual([]);
  });
});
