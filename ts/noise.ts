/**
 * Gaussian noise for denoising autoencoders.
 */
import { ShapeError, ValueError } from './errors.js';
import { assertFiniteNumber, checkOptions, describeValue } from './validate.js';
import { assertTensor, type Tensor } from './tensor.js';
import { assertRng, assertSeed, createRng, type Rng } from './random.js';

export interface GaussianNoiseOptions {
  /** Integer seed for reproducible noise; a random seed is used when omitted. */
  seed?: number;
}

/**
 * Returns a new tensor `clip(x + std·N(0,1), 0, 1)` with the same shape as
 * `x` (x itself is not modified).  `std` must be a finite number ≥ 0.  With
 * the same `seed` the noise is identical; the noise for element `i` is the
 * i-th `normal()` draw of `createRng(seed)`, so
 * `addGaussianNoiseInto(x.data, out, std, createRng(seed))` gives the same
 * result.
 */
export function addGaussianNoise(x: Tensor, std: number, opts?: GaussianNoiseOptions): Tensor {
  assertTensor('x', x);
  assertFiniteNumber('std', std, { min: 0 });
  const o = checkOptions<GaussianNoiseOptions>('addGaussianNoise options', opts, ['seed']);
  const seed = o.seed === undefined ? undefined : assertSeed('seed', o.seed);
  const out = new Float32Array(x.data.length);
  addGaussianNoiseInto(x.data, out, std, createRng(seed));
  return { shape: Object.freeze(x.shape.slice()), data: out };
}

/**
 * Writes `clip(src + std·N(0,1), 0, 1)` into `dst` (same length; `dst` may be
 * `src` itself for in-place noise), drawing from `rng`, and returns `dst`.
 * Used by the training loop per batch; `src` values are not re-checked for
 * finiteness (the training data was validated once).
 */
export function addGaussianNoiseInto(src: Float32Array, dst: Float32Array, std: number, rng: Rng): Float32Array {
  if (!(src instanceof Float32Array)) throw new ValueError(`src must be a Float32Array, got ${describeValue(src)}`);
  if (!(dst instanceof Float32Array)) throw new ValueError(`dst must be a Float32Array, got ${describeValue(dst)}`);
  if (src.length !== dst.length) {
    throw new ShapeError(`src and dst must have the same length, got ${src.length} and ${dst.length}`);
  }
  assertFiniteNumber('std', std, { min: 0 });
  assertRng('rng', rng);
  const n = src.length;
  for (let i = 0; i < n; i++) {
    const v = src[i] + std * rng.normal();
    dst[i] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
  return dst;
}
