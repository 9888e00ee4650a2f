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
import { describeValue } from '../validate.js';

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

/**
 * Why `name` cannot be a code's name, or undefined. `decode` writes each code's PNG to
 * `join(out, name)`: a name with a path separator or `..` would write outside `out`.
 * `encode` stores file names only (basenames), so a valid file never has one.
 */
function badName(name: unknown): string | undefined {
  if (typeof name !== 'string') return `is ${describeValue(name)}, not a string`;
  if (name === '' || name === '.' || name === '..') return `is ${JSON.stringify(name)}, not a file name`;
  if (/[/\\\0]/.test(name)) return `is ${JSON.stringify(name)}: a file name has no '/', '\\' or NUL`;
  return undefined;
}

export function decodeCodeFile(bytes: Uint8Array, what: string): CodeFile {
  const corrupt = (why: string) => new CorruptDataError(`${what} is not a code file: ${why}`);
  const { header, view, offset, payloadLength } = readContainer(bytes, { magic: MAGIC, versions: [VERSION], corrupt });
  const { model, codeShape, count, names } = header;
  if (typeof model !== 'string' || !/^[0-9a-f]{8}$/.test(model)) {
    throw corrupt(`its model id is ${describeValue(model)}, expected 8 hexadecimal digits`);
  }
  if (
    !Array.isArray(codeShape) ||
    codeShape.length === 0 ||
    !codeShape.every((d) => Number.isSafeInteger(d) && d > 0)
  ) {
    throw corrupt(`its codeShape is ${describeValue(codeShape)}, expected a non-empty array of positive integers`);
  }
  if (!Array.isArray(names)) throw corrupt(`its names are ${describeValue(names)}, expected an array of file names`);
  for (const [i, name] of names.entries()) {
    const why = badName(name);
    if (why) throw corrupt(`name ${i} ${why}`);
  }
  if (count !== names.length) throw corrupt(`its count is ${describeValue(count)}, but it has ${names.length} names`);
  const shape = codeShape as number[];
  const floats = names.length * shape.reduce((a, b) => a * b, 1);
  // Checked before allocating: the header's claim must match the bytes actually present.
  if (floats * 4 !== payloadLength) {
    throw corrupt(
      `${names.length} codes of shape [${shape.join(', ')}] need ${floats * 4} bytes, it has ${payloadLength}`,
    );
  }
  const codes = new Float32Array(floats);
  for (let i = 0; i < floats; i++) codes[i] = view.getFloat32(offset + 4 * i, true);
  return { model, codeShape: shape, names: names as string[], codes };
}
