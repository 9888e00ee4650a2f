/**
 * PNG files in Node, with pngjs: any PNG (grey, grey + alpha, RGB, RGBA, palette, 1 to 16
 * bits) decoded to 8-bit RGBA, and our greyscale or RGBA images encoded. Browsers have their
 * own decoder (`createImageBitmap`, canvas `getImageData`) and pass pixels to `prepareDigit`.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { PNG } from 'pngjs';
import { CorruptDataError, ValueError } from '../errors.js';
import { assertPixelImage, MAX_IMAGE_PIXELS, type PixelImage } from '../images/image.js';
import { describeValue } from '../validate.js';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** PNG bytes → an RGBA image. Throws CorruptDataError for anything that is not a readable PNG. */
export function decodePng(bytes: Uint8Array, what = 'PNG data'): PixelImage {
  if (!(bytes instanceof Uint8Array)) throw new ValueError(`decodePng takes a Uint8Array, got ${describeValue(bytes)}`);
  if (bytes.length === 0) throw new CorruptDataError(`${what} is empty (0 bytes), not a PNG`);
  if (bytes.length < 8 || !SIGNATURE.every((b, i) => bytes[i] === b)) {
    throw new CorruptDataError(`${what} is not a PNG (it does not start with the PNG signature)`);
  }
  // The IHDR chunk (bytes 16..24) gives the size: refuse huge claims before pngjs allocates.
  if (bytes.length >= 24) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const w = view.getUint32(16);
    const h = view.getUint32(20);
    if (w * h > MAX_IMAGE_PIXELS) {
      throw new CorruptDataError(`${what} claims ${w}×${h} pixels; at most ${MAX_IMAGE_PIXELS} are accepted`);
    }
  }
  let png: PNG;
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (e) {
    throw new CorruptDataError(`${what} is not a readable PNG: ${(e as Error).message}`);
  }
  return { width: png.width, height: png.height, data: new Uint8Array(png.data), channels: 4 };
}

/** A greyscale (1 channel) or RGBA (4 channels) image → PNG bytes. */
export function encodePng(image: PixelImage): Uint8Array {
  const channels = assertPixelImage('encodePng image', image);
  if (channels !== 1 && channels !== 4) {
    throw new ValueError(`encodePng writes greyscale (1 channel) or RGBA (4 channels) images, got ${channels}`);
  }
  const grey = channels === 1;
  const png = new PNG({
    width: image.width,
    height: image.height,
    colorType: grey ? 0 : 6,
    inputColorType: grey ? 0 : 6,
    inputHasAlpha: !grey,
  });
  png.data = Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength);
  return new Uint8Array(PNG.sync.write(png, { colorType: grey ? 0 : 6, inputColorType: grey ? 0 : 6 }));
}

/** Reads a PNG file; its path is named in any error. */
export async function readPng(path: string): Promise<PixelImage> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new ValueError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return decodePng(bytes, path);
}

export async function writePng(path: string, image: PixelImage): Promise<void> {
  await writeFile(path, encodePng(image));
}
