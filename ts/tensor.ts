/**
 * A minimal dense float32 tensor: a row-major (C order) `Float32Array` plus a
 * shape.  Image batches are NHWC (`[N, height, width, channels]`).
 */
import { ShapeError, ValueError } from './errors.js';
import { describeValue, assertNonNegativeInteger } from './validate.js';

export interface Tensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** Data accepted by {@link tensor}. */
export type TensorData =
  | Float32Array
  | readonly number[]
  | Float64Array
  | Int8Array
  | Uint8Array
  | Uint8ClampedArray
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array;

const FLOAT32_MAX = 3.4028234663852886e38;

function formatShape(shape: readonly unknown[]): string {
  return `[${shape.map((d) => (typeof d === 'number' ? String(d) : describeValue(d))).join(', ')}]`;
}

/** `[2, 3]` → `"[2, 3]"`, for messages. */
export function shapeToString(shape: readonly number[]): string {
  return formatShape(shape);
}

function isFloat32Array(v: unknown): v is Float32Array {
  return v instanceof Float32Array || Object.prototype.toString.call(v) === '[object Float32Array]';
}

/**
 * Validates a shape (a non-empty array of positive safe integers whose product
 * is a safe integer) and returns a frozen copy.  Throws ShapeError.
 */
export function assertShape(name: string, shape: unknown): readonly number[] {
  if (!Array.isArray(shape)) {
    throw new ShapeError(`${name} must be an array of positive integers like [N, 784], got ${describeValue(shape)}`);
  }
  if (shape.length === 0) {
    throw new ShapeError(`${name} must have at least one dimension, got []`);
  }
  let size = 1;
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i];
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d <= 0) {
      throw new ShapeError(
        `${name}[${i}] must be a positive integer, got ${describeValue(d)} (shape ${formatShape(shape)})`,
      );
    }
    size *= d;
  }
  if (!Number.isSafeInteger(size)) {
    throw new ShapeError(`${name} ${formatShape(shape)} has too many elements (${size})`);
  }
  return Object.freeze(shape.slice() as number[]);
}

/** Product of the dimensions (validates the shape; throws ShapeError). */
export function shapeSize(shape: readonly number[]): number {
  const s = assertShape('shape', shape);
  let size = 1;
  for (const d of s) size *= d;
  return size;
}

/**
 * Index of the first element that is NaN or ±Infinity, or -1 if all are
 * finite.  A branch-free scan first (about memory speed on tens of millions of floats),
 * then a plain loop for the index only when something is not finite.
 */
export function findNonFinite(data: ArrayLike<number>): number {
  // Fast scan first (fit checks every value of the data set, 47M for MNIST, on each
  // call): v * 0 is 0 for every finite v and NaN otherwise, and four independent sums let
  // the loop run without a branch per value. Only a failed scan looks for the index.
  const n = data.length;
  const body = n - (n % 4);
  let a = 0;
  let b = 0;
  let c = 0;
  let d = 0;
  for (let i = 0; i < body; i += 4) {
    a += data[i] * 0;
    b += data[i + 1] * 0;
    c += data[i + 2] * 0;
    d += data[i + 3] * 0;
  }
  for (let i = body; i < n; i++) a += data[i] * 0;
  if (a + b + c + d === 0) return -1;
  for (let i = 0; i < n; i++) {
    const v = data[i];
    if (!(v - v === 0)) return i;
  }
  return -1;
}

/**
 * Creates a tensor.
 *
 * - `shape` must be a non-empty array of positive integers whose product is
 *   `data.length` (ShapeError otherwise).
 * - All values must be finite: ValueError naming the first NaN/Infinity index
 *   (also for numbers too large for float32).
 * - A `Float32Array` is used **as-is, not copied**: later writes to it are
 *   visible through the tensor (and vice versa).  Copy it yourself
 *   (`data.slice()`) if you need an independent tensor.
 * - A `number[]` (or another numeric typed array) is copied into a new
 *   `Float32Array`.
 *
 * The returned tensor's `shape` is a frozen copy.
 */
export function tensor(data: TensorData, shape: readonly number[]): Tensor {
  const s = assertShape('shape', shape);
  let size = 1;
  for (const d of s) size *= d;

  let f32: Float32Array;
  if (isFloat32Array(data)) {
    if (data.length !== size) {
      throw new ShapeError(`tensor data has ${data.length} elements but shape ${formatShape(s)} needs ${size}`);
    }
    const bad = findNonFinite(data);
    if (bad >= 0) {
      throw new ValueError(`tensor data must be finite; data[${bad}] is ${describeValue(data[bad])}`);
    }
    f32 = data;
  } else if (Array.isArray(data) || (ArrayBuffer.isView(data) && !(data instanceof DataView))) {
    const arr = data as ArrayLike<unknown>;
    if (typeof arr[0] === 'bigint') {
      throw new ValueError(`tensor data must hold numbers, got ${describeValue(data)} (BigInt values)`);
    }
    if (arr.length !== size) {
      throw new ShapeError(`tensor data has ${arr.length} elements but shape ${formatShape(s)} needs ${size}`);
    }
    f32 = new Float32Array(size);
    for (let i = 0; i < size; i++) {
      const v = arr[i];
      if (typeof v !== 'number' || !(v - v === 0)) {
        throw new ValueError(`tensor data must be finite numbers; data[${i}] is ${describeValue(v)}`);
      }
      if (v > FLOAT32_MAX || v < -FLOAT32_MAX) {
        // Beyond float32 range the value would round to ±Infinity.
        const f = Math.fround(v);
        if (!(f - f === 0)) {
          throw new ValueError(`tensor data must fit in float32; data[${i}] is ${v}, which overflows to ${f}`);
        }
      }
      f32[i] = v;
    }
  } else {
    throw new ValueError(`tensor data must be a Float32Array or an array of numbers, got ${describeValue(data)}`);
  }
  return { shape: s, data: f32 };
}

export interface AssertTensorOptions {
  /** Check that every value is finite (default true). */
  checkFinite?: boolean;
}

/**
 * Throws unless `t` is a well-formed tensor: an object with a valid `shape`
 * (ShapeError), a `Float32Array` `data` (ValueError) of length
 * `product(shape)` (ShapeError) and — unless `checkFinite: false` — only
 * finite values (ValueError naming the first bad index).
 */
export function assertTensor(name: string, t: unknown, opts: AssertTensorOptions = {}): asserts t is Tensor {
  if (typeof t !== 'object' || t === null || !('shape' in t) || !('data' in t)) {
    throw new ValueError(
      `${name} must be a tensor ({ shape, data }, e.g. from tensor(data, shape)), got ${describeValue(t)}`,
    );
  }
  const { shape, data } = t as { shape: unknown; data: unknown };
  assertShape(`${name}.shape`, shape);
  if (!isFloat32Array(data)) {
    throw new ValueError(
      `${name}.data must be a Float32Array, got ${describeValue(data)}; build tensors with tensor(data, shape)`,
    );
  }
  const s = shape as number[];
  let size = 1;
  for (const d of s) size *= d;
  if (data.length !== size) {
    throw new ShapeError(`${name}.data has ${data.length} elements but ${name}.shape ${formatShape(s)} needs ${size}`);
  }
  if (opts.checkFinite !== false) {
    const bad = findNonFinite(data);
    if (bad >= 0) {
      throw new ValueError(
        `${name} must contain only finite values; ${name}.data[${bad}] is ${describeValue(data[bad])}`,
      );
    }
  }
}

/**
 * Checks that `t` is a batch of samples of shape `sampleShape`:
 * `t.shape` must be exactly `[N, ...sampleShape]` with N ≥ 1.  Strict (no
 * implicit reshaping), but the ShapeError explains how to fix a layout
 * mismatch, e.g. `expected [N, 784], got [N, 28, 28, 1]; reshape with
 * tensor(x.data, [N, 784])`.  Also validates the tensor like
 * {@link assertTensor}.  Returns N.
 */
export function assertSampleShape(
  name: string,
  t: unknown,
  sampleShape: readonly number[],
  opts: AssertTensorOptions = {},
): number {
  assertTensor(name, t, opts);
  return checkSampleShape(name, t.shape, sampleShape);
}

/** `shape` must be `[N, ...sampleShape]`: returns N, or throws the ShapeError of {@link assertSampleShape}. */
export function checkSampleShape(name: string, shape: readonly number[], sampleShape: readonly number[]): number {
  const expected = `[N, ${sampleShape.join(', ')}]`;
  const sampleSize = sampleShape.reduce((a, b) => a * b, 1);
  let ok = shape.length === sampleShape.length + 1;
  for (let i = 0; ok && i < sampleShape.length; i++) ok = shape[i + 1] === sampleShape[i];
  if (ok) return shape[0];

  const got = formatShape(shape);
  if (shape.length === sampleShape.length) {
    // Possibly a single sample without the batch dimension.
    const same = shape.every((d, i) => d === sampleShape[i]);
    if (same) {
      throw new ShapeError(
        `${name} must have shape ${expected}, got ${got} (a single sample without the batch dimension); ` +
          `use tensor(${name}.data, [1, ${sampleShape.join(', ')}])`,
      );
    }
  }
  const n = shape[0];
  const perSample = shape.slice(1).reduce((a, b) => a * b, 1);
  const gotN = `[N, ${shape.slice(1).join(', ')}]`;
  if (shape.length >= 2 && perSample === sampleSize) {
    throw new ShapeError(
      `${name} must have shape ${expected}, got ${gotN} with N = ${n}; ` +
        `reshape with tensor(${name}.data, [${n}, ${sampleShape.join(', ')}])`,
    );
  }
  if (shape.length === 1 && n % sampleSize === 0) {
    throw new ShapeError(
      `${name} must have shape ${expected}, got ${got}; if it holds ${n / sampleSize} flattened samples, ` +
        `reshape with tensor(${name}.data, [${n / sampleSize}, ${sampleShape.join(', ')}])`,
    );
  }
  throw new ShapeError(
    `${name} must have shape ${expected}, got ${got} ` +
      `(each sample has ${shape.length >= 2 ? perSample : 1} values, expected ${sampleSize})`,
  );
}

/**
 * Rows `start` (inclusive) to `end` (exclusive, default N) of `t` along the
 * first axis, as a **view**: the returned tensor's data is
 * `t.data.subarray(...)` and shares memory with `t`.  Requires
 * 0 ≤ start < end ≤ N (tensors cannot be empty).  Values are not re-checked
 * for finiteness.
 */
export function sliceRows(t: Tensor, start: number, end?: number): Tensor {
  assertTensor('tensor', t, { checkFinite: false });
  const n = t.shape[0];
  const e = end === undefined ? n : end;
  assertNonNegativeInteger('start', start);
  assertNonNegativeInteger('end', e);
  if (!(start < e && e <= n)) {
    throw new ValueError(
      `sliceRows needs 0 <= start < end <= ${n} (the number of rows), got start = ${start}, end = ${e}`,
    );
  }
  const row = t.data.length / n;
  const shape = Object.freeze([e - start, ...t.shape.slice(1)]);
  return { shape, data: t.data.subarray(start * row, e * row) };
}

/**
 * Copies rows `indices[0], indices[1], ...` of `t` (along the first axis)
 * into a new tensor of shape `[indices.length, ...t.shape.slice(1)]` — used
 * to build shuffled mini-batches.  If `out` is given, the rows are written
 * into it and the result's data is `out` itself (when `out.length` equals the
 * needed size) or `out.subarray(0, needed)` (when longer), avoiding
 * allocation per batch.  Throws ValueError for an index that is not an
 * integer in [0, N).
 */
export function gatherRows(t: Tensor, indices: ArrayLike<number>, out?: Float32Array): Tensor {
  assertTensor('tensor', t, { checkFinite: false });
  if (typeof indices !== 'object' || indices === null || typeof (indices as { length?: unknown }).length !== 'number') {
    throw new ValueError(`indices must be an array or Uint32Array of row indices, got ${describeValue(indices)}`);
  }
  const k = indices.length;
  if (k === 0) throw new ValueError('indices must not be empty (tensors cannot have 0 rows)');
  const n = t.shape[0];
  const row = t.data.length / n;
  const needed = k * row;
  let dst: Float32Array;
  if (out === undefined) {
    dst = new Float32Array(needed);
  } else {
    if (!isFloat32Array(out)) throw new ValueError(`out must be a Float32Array, got ${describeValue(out)}`);
    if (out.length < needed) {
      throw new ShapeError(`out has ${out.length} elements but ${k} rows of ${row} values need ${needed}`);
    }
    dst = out.length === needed ? out : out.subarray(0, needed);
  }
  const src = t.data;
  for (let j = 0; j < k; j++) {
    const i = indices[j];
    if (!(typeof i === 'number' && Number.isInteger(i) && i >= 0 && i < n)) {
      throw new ValueError(`indices[${j}] must be an integer row index in [0, ${n}), got ${describeValue(i)}`);
    }
    if (row === 1) dst[j] = src[i];
    else dst.set(src.subarray(i * row, i * row + row), j * row);
  }
  return { shape: Object.freeze([k, ...t.shape.slice(1)]), data: dst };
}
