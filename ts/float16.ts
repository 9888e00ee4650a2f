/**
 * IEEE 754 half precision (binary16) as 16-bit patterns, for model files stored at half
 * size (`toBytes({ weightDtype: 'float16' })`). Node 20 has no Float16Array, so the
 * conversion is done on the float32 bit pattern: round to nearest, ties to even, as the
 * hardware conversions (F16C, numpy's `astype(float16)`) do; subnormals kept.
 */
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The float16 bit pattern nearest to `value` (first rounded to float32). ±Infinity past ±65504. */
export function float16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0); // Inf, or a quiet NaN
  const halfExp = exp - 127 + 15;
  if (halfExp >= 0x1f) return sign | 0x7c00; // too large: Inf
  if (halfExp >= 1) {
    // Normal: keep 10 of the 23 mantissa bits; a carry out of the mantissa bumps the exponent (up to Inf).
    const rest = mant & 0x1fff;
    let h = sign | (halfExp << 10) | (mant >>> 13);
    if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h++;
    return h;
  }
  // Subnormal or zero: the value in units of 2^-24 is (1.mant × 2^23) >> shift.
  const shift = 126 - exp;
  if (shift > 24) return sign; // below half the smallest subnormal: ±0
  const m = mant | 0x800000;
  let h = m >>> shift;
  const rest = m & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  if (rest > half || (rest === half && (h & 1) === 1)) h++;
  return sign | h;
}

/** The number a float16 bit pattern stands for. */
export function float16Value(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant === 0 ? sign * Infinity : NaN;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** The largest finite float16. */
export const FLOAT16_MAX = 65504;
