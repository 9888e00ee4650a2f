/**
 * Images as bytes: a `ByteTensor` holds each value as a `Uint8Array` byte with one `scale`
 * (value i is `data[i] · scale`; MNIST's pixels are bytes with scale 1/255), a quarter of
 * the memory of float32. `fit`, `predict`, `encode` and `evaluate` take it where they take
 * a `Tensor`, and scale the samples as each batch or slice goes into Wasm, so the data set
 * itself is never held as float32. The values are those of the float32 tensor the same
 * bytes make (`Math.fround(byte · scale)`), so results are bit for bit the same.
 */
import { ShapeError, ValueError } from './errors.js';
import { assertSampleShape, assertShape, checkSampleShape, shapeSize, sliceRows, type Tensor } from './tensor.js';
import { assertFiniteNumber, checkOptions, describeValue } from './validate.js';

export interface ByteTensor {
  readonly shape: readonly number[];
  readonly data: Uint8Array;
  /** Each byte's value is `byte · scale`. */
  readonly scale: number;
}

/** A tensor that is either. */
export type AnyTensor = Tensor | ByteTensor;

/** A ByteTensor over `data` (not copied); `scale` defaults to 1/255 (pixels to [0, 1]). */
export function byteTensor(data: Uint8Array, shape: readonly number[], opts?: { scale?: number }): ByteTensor {
  const o = checkOptions<{ scale: number }>('byteTensor options', opts, ['scale']);
  const t = { shape: Object.freeze([...(shape ?? [])]) as readonly number[], data, scale: o.scale ?? 1 / 255 };
  assertByteTensor('byteTensor', t);
  return t;
}

export function isByteTensor(t: unknown): t is ByteTensor {
  return typeof t === 'object' && t !== null && (t as ByteTensor).data instanceof Uint8Array && 'scale' in t;
}

export function assertByteTensor(name: string, t: ByteTensor): void {
  assertShape(`${name}.shape`, t.shape);
  if (!(t.data instanceof Uint8Array)) {
    throw new ValueError(`${name}.data must be a Uint8Array, got ${describeValue(t.data)}`);
  }
  assertFiniteNumber(`${name}.scale`, t.scale, { min: 0 });
  const size = shapeSize(t.shape);
  if (t.data.length !== size) {
    throw new ShapeError(
      `${name}.data has ${t.data.length} bytes but ${name}.shape [${t.shape.join(', ')}] needs ${size}`,
    );
  }
}

/** A ByteTensor checked as a batch of samples of `sampleShape`; returns N. */
export function assertByteSamples(name: string, t: ByteTensor, sampleShape: readonly number[]): number {
  assertByteTensor(name, t);
  return checkSampleShape(name, t.shape, sampleShape);
}

/** Rows `start`..`end` of a ByteTensor, as a view. */
export function sliceByteRows(t: ByteTensor, start: number, end = t.shape[0]): ByteTensor {
  const row = t.data.length / t.shape[0];
  return {
    shape: Object.freeze([end - start, ...t.shape.slice(1)]),
    data: t.data.subarray(start * row, end * row),
    scale: t.scale,
  };
}

/** The 256 float32 values a ByteTensor's bytes stand for. */
export function byteValues(scale: number): Float32Array {
  const table = new Float32Array(256);
  for (let b = 0; b < 256; b++) table[b] = b * scale;
  return table;
}

/** Rows `start`..`start + count` as float32: a view of a Tensor, a scaled copy of a ByteTensor. */
export function floatRows(t: AnyTensor, start: number, count: number): Float32Array {
  const row = t.data.length / t.shape[0];
  const part = t.data.subarray(start * row, (start + count) * row);
  if (!isByteTensor(t)) return part as Float32Array;
  const values = byteValues(t.scale);
  const out = new Float32Array(part.length);
  for (let i = 0; i < part.length; i++) out[i] = values[part[i]];
  return out;
}

/** Either kind of tensor, checked as a batch of samples of `sampleShape`; returns N. */
export function assertAnySamples(
  name: string,
  t: unknown,
  sampleShape: readonly number[],
  opts: { checkFinite?: boolean } = {},
): number {
  return isByteTensor(t) ? assertByteSamples(name, t, sampleShape) : assertSampleShape(name, t, sampleShape, opts);
}

/** Rows `start`..`end` of either kind, as a view of the same kind. */
export function sliceAnyRows(t: AnyTensor, start: number, end?: number): AnyTensor {
  return isByteTensor(t) ? sliceByteRows(t, start, end) : sliceRows(t, start, end);
}
