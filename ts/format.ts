/**
 * The model file format of `toBytes()` / `fromBytes()`, little-endian throughout:
 *
 * (The framing — magic, version, header, padding, checksum — is ts/container.ts's.)
 *
 *   0  "WAAE"                    magic
 *   4  u32 version               FORMAT_VERSION
 *   8  u32 headerLength          bytes of UTF-8 JSON that follow
 *  12  header JSON               { inputShape, encoderLength, layers, compile }
 *   …  zero padding to a multiple of 4
 *   …  u32 weightCount, then weightCount f32   (Keras get_weights order, flattened)
 *   …  u32 CRC-32 of every byte before it
 *
 * Version 2 is the same with `weightDtype` in the header: 'float32' as above, or 'float16'
 * (weightCount half-precision values, then zero padding to a multiple of 4), which halves
 * the file; and, with `toBytes({ includeOptimizer: true })`, `optimizer: { iterations,
 * slots }` in the header and that many float32 after the weights (Adam's m then v), so a
 * loaded model continues training exactly where it stopped. Version 1 files are still read;
 * `toBytes()` writes version 1 unless asked for float16 or the optimizer, so plain files
 * stay readable by older releases.
 *
 * float32 weights are stored bit for bit. The optimizer's moments are not saved: a loaded model is
 * compiled afresh with the saved settings (like Keras's `load_model(compile=True)` for a
 * model saved without optimizer state).
 */
import { readContainer, writeContainer } from './container.js';
import { CorruptDataError, ValueError } from './errors.js';
import { FLOAT16_MAX, float16Bits, float16Value } from './float16.js';
import { describeValue } from './validate.js';

/** The newest version this library writes and reads; it also reads version 1. */
export const FORMAT_VERSION = 2;
export const WEIGHT_DTYPES = ['float32', 'float16'] as const;
export type WeightDtype = (typeof WEIGHT_DTYPES)[number];
const BYTES_PER_WEIGHT: Record<WeightDtype, number> = { float32: 4, float16: 2 };
const MAGIC = 'WAAE';

/** The optimizer's state in a file (see crate/core/src/optim: OptimizerState). */
export interface SavedOptimizer {
  iterations: number;
  slots: Float32Array;
}

export interface ModelFile {
  header: Record<string, unknown>;
  weights: Float32Array;
  weightDtype: WeightDtype;
  optimizer?: SavedOptimizer;
}

/** The payload: u32 weightCount, then the weights, padded to a multiple of 4. */
function payloadBytes(count: number, dtype: WeightDtype): number {
  return 4 + Math.ceil((count * BYTES_PER_WEIGHT[dtype]) / 4) * 4;
}

export function encodeModelFile(
  header: Record<string, unknown>,
  weights: Float32Array,
  dtype: WeightDtype = 'float32',
  optimizer?: SavedOptimizer,
): Uint8Array {
  if (dtype === 'float16') {
    // Checked before any work: a weight past float16's range would silently become Infinity.
    for (let i = 0; i < weights.length; i++) {
      if (Math.abs(weights[i]) > FLOAT16_MAX) {
        throw new ValueError(
          `weight ${i} is ${weights[i]}, beyond float16's range (±${FLOAT16_MAX}); save this model as float32`,
        );
      }
    }
  }
  const version = dtype === 'float32' && !optimizer ? 1 : 2;
  const fullHeader =
    version === 1
      ? header
      : {
          ...header,
          weightDtype: dtype,
          ...(optimizer ? { optimizer: { iterations: optimizer.iterations, slots: optimizer.slots.length } } : {}),
        };
  const slotBytes = optimizer ? optimizer.slots.length * 4 : 0;
  const weightsBytes = payloadBytes(weights.length, dtype);
  return writeContainer(MAGIC, version, fullHeader, weightsBytes + slotBytes, (view, at) => {
    if (optimizer) {
      const slots = optimizer.slots;
      for (let i = 0; i < slots.length; i++) view.setFloat32(at + weightsBytes + 4 * i, slots[i], true);
    }
    view.setUint32(at, weights.length, true);
    const start = at + 4;
    if (dtype === 'float16') {
      for (let i = 0; i < weights.length; i++) view.setUint16(start + 2 * i, float16Bits(weights[i]), true);
    } else {
      for (let i = 0; i < weights.length; i++) view.setFloat32(start + 4 * i, weights[i], true);
    }
  });
}

export function decodeModelFile(bytes: unknown): ModelFile {
  if (!(bytes instanceof Uint8Array)) {
    throw new ValueError(`fromBytes takes the Uint8Array from toBytes(), got ${describeValue(bytes)}`);
  }
  const corrupt = (why: string) => new CorruptDataError(`not a valid model file: ${why}`);
  const { version, header, view, offset, payloadLength } = readContainer(bytes, {
    magic: MAGIC,
    versions: [1, FORMAT_VERSION],
    corrupt,
    minLength: 20,
  });
  const dtype = version === 1 ? 'float32' : header.weightDtype;
  if (!(WEIGHT_DTYPES as readonly unknown[]).includes(dtype)) {
    throw corrupt(`weightDtype is ${describeValue(dtype)}, expected one of ${WEIGHT_DTYPES.join(', ')}`);
  }
  const weightDtype = dtype as WeightDtype;
  delete header.weightDtype;
  const saved = header.optimizer;
  delete header.optimizer;
  let slotCount = 0;
  let iterations = 0;
  if (saved !== undefined) {
    const s = saved as { iterations?: unknown; slots?: unknown };
    if (
      typeof saved !== 'object' ||
      saved === null ||
      !Number.isSafeInteger(s.iterations) ||
      (s.iterations as number) < 0 ||
      !Number.isSafeInteger(s.slots) ||
      (s.slots as number) < 0
    ) {
      throw corrupt(`optimizer must be { iterations, slots } (whole numbers ≥ 0), got ${describeValue(saved)}`);
    }
    iterations = s.iterations as number;
    slotCount = s.slots as number;
  }
  if (payloadLength < 4) throw corrupt('the weight count is missing');
  const count = view.getUint32(offset, true);
  // Checked before allocating: the counts must match the bytes the file actually has.
  const weightsBytes = payloadBytes(count, weightDtype);
  if (weightsBytes + slotCount * 4 !== payloadLength) {
    const need = bytes.length - payloadLength + weightsBytes + slotCount * 4;
    const what = slotCount ? ` and ${slotCount} optimizer values` : '';
    throw corrupt(`${count} ${weightDtype} weights${what} need ${need} bytes in all, the file has ${bytes.length}`);
  }
  const weights = new Float32Array(count);
  const start = offset + 4;
  if (weightDtype === 'float16') {
    for (let i = 0; i < count; i++) weights[i] = float16Value(view.getUint16(start + 2 * i, true));
  } else {
    for (let i = 0; i < count; i++) weights[i] = view.getFloat32(start + 4 * i, true);
  }
  let optimizer: SavedOptimizer | undefined;
  if (saved !== undefined) {
    const slots = new Float32Array(slotCount);
    for (let i = 0; i < slotCount; i++) slots[i] = view.getFloat32(offset + weightsBytes + 4 * i, true);
    optimizer = { iterations, slots };
  }
  return { header, weights, weightDtype, optimizer };
}
