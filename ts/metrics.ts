/**
 * Reconstruction metrics.  Sums are accumulated in float64.
 */
import { ShapeError, assertFiniteNumber, checkOptions } from './errors.js';
import { assertTensor, shapeToString, type Tensor } from './tensor.js';

function assertSameShape(a: Tensor, b: Tensor): void {
  const sa = a.shape;
  const sb = b.shape;
  if (sa.length !== sb.length || sa.some((d, i) => d !== sb[i])) {
    throw new ShapeError(`a and b must have exactly the same shape, got ${shapeToString(sa)} and ${shapeToString(sb)}`);
  }
}

function sumSquaredError(a: Float32Array, b: Float32Array, start: number, end: number): number {
  let s = 0;
  for (let i = start; i < end; i++) {
    const d = a[i] - b[i];
    s += d * d;
  }
  return s;
}

/** Mean squared error over all elements (float64 accumulation). Shapes must match exactly (ShapeError). */
export function mse(a: Tensor, b: Tensor): number {
  assertTensor('a', a);
  assertTensor('b', b);
  assertSameShape(a, b);
  return sumSquaredError(a.data, b.data, 0, a.data.length) / a.data.length;
}

/**
 * Mean squared error of each sample (row along the first axis), e.g. as an
 * anomaly score.  Shapes must match exactly.  Returns a Float64Array of
 * length N.
 */
export function msePerSample(a: Tensor, b: Tensor): Float64Array {
  assertTensor('a', a);
  assertTensor('b', b);
  assertSameShape(a, b);
  const n = a.shape[0];
  const row = a.data.length / n;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = sumSquaredError(a.data, b.data, i * row, (i + 1) * row) / row;
  return out;
}

export interface PsnrOptions {
  /** The data range's maximum (default 1, for data in [0, 1]). */
  maxValue?: number;
}

/**
 * Peak signal-to-noise ratio in dB: `10·log10(maxValue² / mse(a, b))`, with
 * `maxValue` = 1 for data in [0, 1].  `Infinity` when `a` and `b` are
 * identical.  Shapes must match exactly (ShapeError).
 */
export function psnr(a: Tensor, b: Tensor, opts?: PsnrOptions): number {
  assertTensor('a', a);
  assertTensor('b', b);
  assertSameShape(a, b);
  const o = checkOptions<PsnrOptions>('psnr options', opts, ['maxValue']);
  const maxValue =
    o.maxValue === undefined ? 1 : assertFiniteNumber('maxValue', o.maxValue, { min: 0, minExclusive: true });
  const m = sumSquaredError(a.data, b.data, 0, a.data.length) / a.data.length;
  if (m === 0) return Infinity;
  return 10 * Math.log10((maxValue * maxValue) / m);
}
