/**
 * The code file of `wasm-autoencoders encode` / `decode`: the codes of N images as float32,
 * with the identity of the model that made them, so `decode` with another model is refused.
 * Little-endian:
 *
 *   0  "WAEC"               magic
 *   4  u32 version          1
 *   8  u32 headerLength     bytes of UTF-8 JSON: { model: modelId() of its model file,
 *                           codeShape, count, names }
 *  12  header JSON, zero padding to a multiple of 4
 *   …  count × prod(codeShape) float32
 *   …  u32 CRC-32 of every byte before it
 *
 * The codes are raw floats, not entropy-coded (a learned codec with real compressed bytes is
 * the codec issue's work).
 */
import { crc32 } from '../checksum.js';
import { readContainer, writeContainer } from '../container.js';
import { CorruptDataError } from '../errors.js';

const MAGIC = 'WAEC';
const VERSION = 1;

export interface CodeFile {
  /** modelId() of the model file that made the codes. */
  model: string;
  codeShape: number[];
  names: string[];
  codes: Float32Array;
}

/**
 * A model file's identity: the CRC-32 of its bytes before the trailing checksum (the CRC of
 * a whole file, checksum included, is the same constant for every file).
 */
export function modelId(modelBytes: Uint8Array): string {
  return crc32(modelBytes, 0, modelBytes.length - 4)
    .toString(16)
    .padStart(8, '0');
}

export function encodeCodeFile(file: CodeFile): Uint8Array {
  const header = { model: file.model, codeShape: file.codeShape, count: file.names.length, names: file.names };
  return writeContainer(MAGIC, VERSION, header, file.codes.length * 4, (view, at) => {
    for (let i = 0; i < file.codes.length; i++) view.setFloat32(at + 4 * i, file.codes[i], true);
  });
}

export function decodeCodeFile(bytes: Uint8Array, what: string): CodeFile {
  const corrupt = (why: string) => new CorruptDataError(`${what} is not a code file: ${why}`);
  const { header, view, offset, payloadLength } = readContainer(bytes, { magic: MAGIC, versions: [VERSION], corrupt });
  const { model, codeShape, count, names } = header;
  const shapeOk =
    Array.isArray(codeShape) && codeShape.length > 0 && codeShape.every((d) => Number.isInteger(d) && d > 0);
  const namesOk = Array.isArray(names) && names.every((n) => typeof n === 'string');
  if (typeof model !== 'string' || !shapeOk || !Number.isInteger(count) || !namesOk || names.length !== count) {
    throw corrupt('header lacks model, codeShape, count or names');
  }
  const floats = (count as number) * (codeShape as number[]).reduce((a, b) => a * b, 1);
  // Checked before allocating: the header's claim must match the bytes actually present.
  if (floats * 4 !== payloadLength) {
    throw corrupt(
      `${count} codes of shape [${codeShape.join(', ')}] need ${floats * 4} bytes, it has ${payloadLength}`,
    );
  }
  const codes = new Float32Array(floats);
  for (let i = 0; i < floats; i++) codes[i] = view.getFloat32(offset + 4 * i, true);
  return { model, codeShape: codeShape as number[], names: names as string[], codes };
}
