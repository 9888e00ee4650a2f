/**
 * Keras 3 `.keras` files on disk, in Node: thin wrappers over importKeras/exportKeras, which
 * work on bytes (and so in browsers too).
 */
import { readFile, stat, writeFile } from 'node:fs/promises';
import type { Autoencoder } from '../autoencoder.js';
import { ValueError } from '../errors.js';
import { exportKeras, importKeras, type ImportKerasOptions } from '../interop/keras-file.js';
import { assertNonEmptyString } from '../validate.js';

/** Refuse before reading: importKeras never accepts more than 1 GiB of weights anyway. */
const MAX_FILE_BYTES = 2 ** 30 + 2 ** 24;

/** Reads a `.keras` file into a compiled Autoencoder (see importKeras). */
export async function loadKeras(path: string, opts?: ImportKerasOptions): Promise<Autoencoder> {
  assertNonEmptyString('loadKeras path', path);
  const { size } = await stat(path);
  if (size > MAX_FILE_BYTES)
    throw new ValueError(`${path} is ${size} bytes; .keras files above ${MAX_FILE_BYTES} bytes are refused`);
  const bytes = await readFile(path);
  return importKeras(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), opts);
}

/** Writes the model as a Keras 3 `.keras` file that `keras.saving.load_model` opens. */
export async function saveKeras(model: Autoencoder, path: string): Promise<void> {
  assertNonEmptyString('saveKeras path', path);
  await writeFile(path, exportKeras(model));
}
