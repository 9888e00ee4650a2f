/**
 * PNG files in Node, with pngjs: any PNG (grey, grey + alpha, RGB, RGBA, palette, 1 to 16
 * bits) decoded to 8-bit RGBA, and our greyscale or RGBA images encoded. Browsers have their
 * own decoder (`createImageBitmap`, canvas `getImageData`) and pass pixels to `prepareDigit`.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { inflateSync } from 'node:zlib';
import { PNG } from 'pngjs';
import { crc32 } from '../checksum.js';
import { CorruptDataError, ValueError } from '../errors.js';
import { assertPixelImage, MAX_IMAGE_PIXELS, type PixelImage } from '../images/image.js';
import { describeValue } from '../validate.js';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Samples per pixel of each PNG colour type, and the bit depths the PNG specification allows for it. */
const COLOR_TYPES: Record<number, { name: string; samples: number; depths: readonly number[] }> = {
  0: { name: 'greyscale', samples: 1, depths: [1, 2, 4, 8, 16] },
  2: { name: 'RGB', samples: 3, depths: [8, 16] },
  3: { name: 'palette', samples: 1, depths: [1, 2, 4, 8] },
  4: { name: 'greyscale + alpha', samples: 2, depths: [8, 16] },
  6: { name: 'RGBA', samples: 4, depths: [8, 16] },
};

/** Adam7's passes: first pixel (x, y) and step (dx, dy). */
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;

interface Header {
  width: number;
  height: number;
  /** Bits per pixel: samples × bit depth. */
  bits: number;
  interlaced: boolean;
}

/**
 * Walks the chunks before pngjs sees the file: checks each chunk's bounds and CRC, reads
 * IHDR (first, once) and joins the IDAT data. pngjs trusts IHDR: it allocates the whole
 * image, and inflates interlaced data without a limit, before it knows whether the data is
 * there, so a 100-byte file claiming 8192×8192 pixels cost ~800 MB and seconds, and a short
 * IDAT was read as a complete image.
 */
function readChunks(bytes: Uint8Array, what: string): { header: Header; idat: Uint8Array } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let header: Header | undefined;
  const idat: Uint8Array[] = [];
  let at = 8;
  for (;;) {
    if (at + 12 > bytes.length) {
      throw new CorruptDataError(`${what} is truncated: it ends at byte ${bytes.length} before its IEND chunk`);
    }
    const length = view.getUint32(at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    const end = at + 12 + length;
    if (end > bytes.length) {
      throw new CorruptDataError(
        `${what} is truncated: its ${JSON.stringify(type)} chunk at byte ${at} claims ${length} bytes, only ${bytes.length - at - 12} remain`,
      );
    }
    const stored = view.getUint32(end - 4);
    const actual = crc32(bytes, at + 4, end - 4);
    if (stored !== actual) {
      throw new CorruptDataError(
        `${what} is corrupt: its ${JSON.stringify(type)} chunk at byte ${at} fails its CRC check (stored ${hex(stored)}, computed ${hex(actual)})`,
      );
    }
    const data = bytes.subarray(at + 8, end - 4);
    if (at === 8 && type !== 'IHDR') {
      throw new CorruptDataError(`${what} is not a valid PNG: its first chunk is ${JSON.stringify(type)}, not IHDR`);
    }
    if (type === 'IHDR') {
      if (header) throw new CorruptDataError(`${what} is not a valid PNG: it has a second IHDR chunk at byte ${at}`);
      header = readHeader(data, what);
    } else if (type === 'IDAT') {
      idat.push(data);
    } else if (type === 'IEND') {
      break;
    }
    at = end;
  }
  if (idat.length === 0) throw new CorruptDataError(`${what} has no image data (no IDAT chunk)`);
  return { header: header!, idat: idat.length === 1 ? idat[0] : Buffer.concat(idat) };
}

function readHeader(data: Uint8Array, what: string): Header {
  if (data.length !== 13) {
    throw new CorruptDataError(`${what} is not a valid PNG: its IHDR chunk has ${data.length} bytes, expected 13`);
  }
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const width = view.getUint32(0);
  const height = view.getUint32(4);
  const [depth, colorType, compression, filter, interlace] = data.subarray(8);
  // The PNG specification caps each side at 2^31 - 1; 0 is no image.
  if (width === 0 || height === 0 || width > 0x7fffffff || height > 0x7fffffff) {
    throw new CorruptDataError(`${what} claims ${width}×${height} pixels; each side must be 1 to 2^31 - 1`);
  }
  // Refused before anything is allocated for the pixels.
  if (width * height > MAX_IMAGE_PIXELS) {
    throw new CorruptDataError(`${what} claims ${width}×${height} pixels; at most ${MAX_IMAGE_PIXELS} are accepted`);
  }
  const color = COLOR_TYPES[colorType];
  if (!color) {
    throw new CorruptDataError(`${what} has colour type ${colorType}; PNG's are 0, 2, 3, 4 and 6`);
  }
  if (!color.depths.includes(depth)) {
    throw new CorruptDataError(
      `${what} has bit depth ${depth} for colour type ${colorType} (${color.name}); allowed: ${color.depths.join(', ')}`,
    );
  }
  if (compression !== 0 || filter !== 0 || (interlace !== 0 && interlace !== 1)) {
    throw new CorruptDataError(
      `${what} has compression method ${compression}, filter method ${filter}, interlace method ${interlace}; PNG defines 0, 0 and 0 or 1`,
    );
  }
  return { width, height, bits: color.samples * depth, interlaced: interlace === 1 };
}

const MAX_DEFLATE_RATIO = 1032;

/** Bytes of the decompressed image data: each row (of each Adam7 pass) is a filter byte, then its pixels. */
function scanlineBytes({ width, height, bits, interlaced }: Header): number {
  const rows = (w: number, h: number) => (w <= 0 || h <= 0 ? 0 : h * (1 + Math.ceil((w * bits) / 8)));
  if (!interlaced) return rows(width, height);
  let total = 0;
  for (const [x0, y0, dx, dy] of ADAM7) {
    total += rows(Math.ceil((width - x0) / dx), Math.ceil((height - y0) / dy));
  }
  return total;
}

/**
 * Inflates the image data, stopping past what IHDR says it holds, and checks it is all
 * there: so pngjs, which allocates the whole image up front, only runs on data that fills it.
 */
function checkImageData(header: Header, idat: Uint8Array, what: string): void {
  const need = scanlineBytes(header);
  // Deflate expands at most 1032:1 (a 258-byte match per 2-bit code): data too short for
  // that is refused before anything is inflated.
  if (need > MAX_DEFLATE_RATIO * idat.length) {
    throw new CorruptDataError(
      `${what} is truncated: its ${header.width}×${header.height} pixels need ${need} bytes of image data decompressed, more than its ${idat.length} compressed bytes can hold`,
    );
  }
  let got: number;
  try {
    got = inflateSync(idat, { maxOutputLength: need }).length;
  } catch (e) {
    if ((e as { code?: string })?.code === 'ERR_BUFFER_TOO_LARGE') {
      throw new CorruptDataError(
        `${what} has more image data than its ${header.width}×${header.height} pixels need (${need} bytes decompressed)`,
      );
    }
    throw new CorruptDataError(`${what} has corrupt image data: ${(e as Error)?.message ?? String(e)}`);
  }
  if (got < need) {
    throw new CorruptDataError(
      `${what} is truncated: its ${header.width}×${header.height} pixels need ${need} bytes of image data decompressed, it has ${got}`,
    );
  }
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

/** PNG bytes → an RGBA image. Throws CorruptDataError for anything that is not a readable PNG. */
export function decodePng(bytes: Uint8Array, what = 'PNG data'): PixelImage {
  if (!(bytes instanceof Uint8Array)) throw new ValueError(`decodePng takes a Uint8Array, got ${describeValue(bytes)}`);
  if (bytes.length === 0) throw new CorruptDataError(`${what} is empty (0 bytes), not a PNG`);
  if (bytes.length < 8 || !SIGNATURE.every((b, i) => bytes[i] === b)) {
    throw new CorruptDataError(`${what} is not a PNG (it does not start with the PNG signature)`);
  }
  const { header, idat } = readChunks(bytes, what);
  checkImageData(header, idat, what);
  let png: PNG;
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (e) {
    throw new CorruptDataError(`${what} is not a readable PNG: ${(e as Error)?.message ?? String(e)}`);
  }
  const { data } = png;
  // pngjs's own buffer when it owns the whole ArrayBuffer (a large image: no second copy of
  // up to 256 MiB); a copy when it is a slice of Node's shared pool, which we must not hand out.
  const own = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength;
  return {
    width: png.width,
    height: png.height,
    data: own ? new Uint8Array(data.buffer, 0, data.byteLength) : new Uint8Array(data),
    channels: 4,
  };
}

/** A greyscale (1 channel) or RGBA (4 channels) image → PNG bytes. */
export function encodePng(image: PixelImage): Uint8Array {
  const channels = assertPixelImage('encodePng image', image);
  if (channels !== 1 && channels !== 4) {
    throw new ValueError(`encodePng writes greyscale (1 channel) or RGBA (4 channels) images, got ${channels}`);
  }
  const grey = channels === 1;
  // PNG.sync.write reads only these fields. Not a `new PNG()`: its constructor opens a zlib
  // deflate stream for pngjs's streaming API that nothing closes, ~32 KB kept per image
  // (measured: 10,000 images held 323 MiB), and `decode` writes one PNG per code.
  const png = {
    width: image.width,
    height: image.height,
    data: Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength),
  } as PNG;
  const options = { colorType: grey ? 0 : 6, inputColorType: grey ? 0 : 6, inputHasAlpha: !grey } as const;
  return new Uint8Array(PNG.sync.write(png, options));
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
