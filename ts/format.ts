/**
 * The model file format of `toBytes()` / `fromBytes()`, little-endian throughout:
 *
 *   0  "WAAE"                    magic
 *   4  u32 version               FORMAT_VERSION
 *   8  u32 headerLength          bytes of UTF-8 JSON that follow
 *  12  header JSON               { inputShape, encoderLength, layers, compile }
 *   …  zero padding to a multiple of 4
 *   …  u32 weightCount, then weightCount f32   (Keras get_weights order, flattened)
 *   …  u32 CRC-32 of every byte before it
 *
 * Weights are stored bit for bit. The optimizer's moments are not saved: a loaded model is
 * compiled afresh with the saved settings (like Keras's `load_model(compile=True)` for a
 * model saved without optimizer state).
 */
import { crc32 } from './checksum.js';
import { CorruptDataError, ValueError } from './errors.js';
import { describeValue, isPlainObject } from './validate.js';

export const FORMAT_VERSION = 1;
const MAGIC = [0x57, 0x41, 0x41, 0x45]; // "WAAE"

export interface ModelFile {
  header: Record<string, unknown>;
  weights: Float32Array;
}

export function encodeModelFile(header: Record<string, unknown>, weights: Float32Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerEnd = 12 + json.length;
  const weightsStart = Math.ceil(headerEnd / 4) * 4 + 4;
  const total = weightsStart + weights.length * 4 + 4;
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  bytes.set(MAGIC, 0);
  view.setUint32(4, FORMAT_VERSION, true);
  view.setUint32(8, json.length, true);
  bytes.set(json, 12);
  view.setUint32(weightsStart - 4, weights.length, true);
  for (let i = 0; i < weights.length; i++) view.setFloat32(weightsStart + 4 * i, weights[i], true);
  view.setUint32(total - 4, crc32(bytes, 0, total - 4), true);
  return bytes;
}

export function decodeModelFile(bytes: unknown): ModelFile {
  if (!(bytes instanceof Uint8Array)) {
    throw new ValueError(`fromBytes takes the Uint8Array from toBytes(), got ${describeValue(bytes)}`);
  }
  const corrupt = (why: string) => new CorruptDataError(`not a valid model file: ${why}`);
  if (bytes.length < 20) throw corrupt(`only ${bytes.length} bytes, a model file has at least 20`);
  if (!MAGIC.every((b, i) => bytes[i] === b)) throw corrupt('it does not start with "WAAE"');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(4, true);
  if (version !== FORMAT_VERSION) {
    throw corrupt(`format version ${version}, this library reads version ${FORMAT_VERSION}`);
  }
  const stored = view.getUint32(bytes.length - 4, true);
  const actual = crc32(bytes, 0, bytes.length - 4);
  if (stored !== actual) {
    throw corrupt(`checksum mismatch (stored ${hex(stored)}, computed ${hex(actual)}): truncated or modified`);
  }
  const headerLength = view.getUint32(8, true);
  const weightsStart = Math.ceil((12 + headerLength) / 4) * 4 + 4;
  if (weightsStart > bytes.length - 4) throw corrupt(`header length ${headerLength} runs past the end`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(12, 12 + headerLength)));
  } catch (e) {
    throw corrupt(`header is not valid JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(header)) throw corrupt('header is not an object');
  const count = view.getUint32(weightsStart - 4, true);
  const expectedLength = weightsStart + count * 4 + 4;
  if (expectedLength !== bytes.length) {
    throw corrupt(`${count} weights need ${expectedLength} bytes in all, the file has ${bytes.length}`);
  }
  const weights = new Float32Array(count);
  for (let i = 0; i < count; i++) weights[i] = view.getFloat32(weightsStart + 4 * i, true);
  return { header, weights };
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}
