/**
 * IEEE 754 half precision <-> float32, for fp16 initializers and the fp16 teacher cache.
 * Node 20 has no Float16Array, so values travel as Uint16Array bit patterns.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Largest finite half value. */

/** One float32 to half bits, rounding to nearest even; overflow becomes ±Infinity, NaN stays NaN. */
export function float32ToFloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // Inf or NaN
  const e = exp - 127 + 15; // re-biased exponent
  if (e >= 0x1f) return sign | 0x7c00; // too large: Inf
  if (e <= 0) {
    // Subnormal half (or zero): shift the mantissa with its implicit 1 into place.
    if (e < -10) return sign; // below half the smallest subnormal: ±0
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && (half & 1))) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // Round to nearest even; a carry out of the mantissa correctly bumps the exponent (up to Inf).
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1))) half++;
  return sign | half;
}

/** Half bits to a float32 value (exact). */
export function float16BitsToFloat32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

let table: Float32Array | undefined;

/** All 65536 half values as float32: decoding becomes one lookup per element. */
function decodeTable(): Float32Array {
  if (!table) {
    table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) table[h] = float16BitsToFloat32(h);
  }
  return table;
}

/**
 * Encodes `count` floats, given as their bits (a Uint32Array view of a Float32Array), from
 * `src[srcStart]` into `dst[dstStart]`. Values beyond ±65504 are clamped, not turned into Inf. The
 * common case (a normal half) is inlined: this runs once per cached value, so it sets the cache
 * writer's speed.
 */
export function encodeFloat16Range(src: Uint32Array, srcStart: number, count: number, dst: Uint16Array, dstStart: number): void {
  for (let k = 0; k < count; k++) {
    const x = src[srcStart + k];
    const exp = (x >>> 23) & 0xff;
    const sign = (x >>> 16) & 0x8000;
    let h: number;
    if (exp >= 113 && exp <= 142) {
      // |v| in [2^-14, 2^16): a normal half after re-biasing the exponent.
      const mant = x & 0x7fffff;
      h = ((exp - 112) << 10) | (mant >>> 13);
      const rem = mant & 0x1fff;
      if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
      if (h >= 0x7c00) h = 0x7bff;
    } else if (exp > 142) {
      h = exp === 0xff && x & 0x7fffff ? 0x7e00 : 0x7bff; // NaN stays NaN; the rest clamps
    } else {
      u32[0] = x;
      h = float32ToFloat16Bits(f32[0]) & 0x7fff; // zero and subnormals
    }
    dst[dstStart + k] = sign | h;
  }
}

/** Encodes values into `out` (allocated when absent), clamping beyond ±65504. */
export function encodeFloat16(values: Float32Array, out = new Uint16Array(values.length)): Uint16Array {
  encodeFloat16Range(new Uint32Array(values.buffer, values.byteOffset, values.length), 0, values.length, out, 0);
  return out;
}

export function decodeFloat16(bits: Uint16Array, out = new Float32Array(bits.length)): Float32Array {
  const t = decodeTable();
  for (let i = 0; i < bits.length; i++) out[i] = t[bits[i]];
  return out;
}
