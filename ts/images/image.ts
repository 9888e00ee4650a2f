/**
 * Plain pixel images, as they come from a PNG decoder, a canvas (`ImageData`) or our own
 * figures: `width × height` pixels of `channels` bytes each, row by row. Browser-safe: no
 * decoding here (the Node entry point `wasm-autoencoders/node` reads and writes PNG files).
 */
import { ShapeError, ValueError } from '../errors.js';
import { assertInteger, describeValue, isPlainObject } from '../validate.js';

/** 1 = grey, 2 = grey + alpha, 3 = RGB, 4 = RGBA (the layout of `ImageData.data`). */
export type Channels = 1 | 2 | 3 | 4;

export interface PixelImage {
  readonly width: number;
  readonly height: number;
  /** `width * height * channels` bytes; `channels` defaults to `data.length / (width * height)`. */
  readonly data: Uint8Array | Uint8ClampedArray;
  readonly channels?: Channels;
}

/** The largest image we accept: 2^26 pixels (8192 × 8192), 256 MiB as RGBA. */
export const MAX_IMAGE_PIXELS = 2 ** 26;

/** Validates `image` and returns its channel count. Throws ValueError / ShapeError. */
export function assertPixelImage(name: string, image: unknown): Channels {
  if (!isPlainObject(image) && !(typeof image === 'object' && image !== null && 'data' in image)) {
    throw new ValueError(`${name} must be an image { width, height, data }, got ${describeValue(image)}`);
  }
  const { width, height, data, channels } = image as Record<string, unknown>;
  const w = assertInteger(`${name}.width`, width, { min: 1 });
  const h = assertInteger(`${name}.height`, height, { min: 1 });
  if (w * h > MAX_IMAGE_PIXELS) {
    throw new ShapeError(`${name} is ${w}×${h} pixels; at most ${MAX_IMAGE_PIXELS} pixels (8192×8192) are accepted`);
  }
  if (!(data instanceof Uint8Array || data instanceof Uint8ClampedArray)) {
    throw new ValueError(`${name}.data must be a Uint8Array or Uint8ClampedArray, got ${describeValue(data)}`);
  }
  const c = channels === undefined ? data.length / (w * h) : channels;
  if (c !== 1 && c !== 2 && c !== 3 && c !== 4) {
    throw new ShapeError(
      `${name}.data has ${data.length} bytes for ${w}×${h} pixels; expected 1, 2, 3 or 4 bytes per pixel` +
        (channels === undefined ? '' : ` (channels is ${describeValue(channels)})`),
    );
  }
  if (data.length !== w * h * c) {
    throw new ShapeError(`${name}.data has ${data.length} bytes; ${w}×${h} pixels × ${c} channels need ${w * h * c}`);
  }
  return c;
}

/**
 * The image as greyscale in [0, 1] (0 = black), composited over white where it has an
 * alpha channel: a transparent drawing pad is white paper. Luma weights of ITU-R BT.601,
 * as PIL's `convert('L')`.
 */
export function toGrey(image: PixelImage, channels: Channels): Float32Array {
  const n = image.width * image.height;
  const out = new Float32Array(n);
  const d = image.data;
  for (let i = 0; i < n; i++) {
    const p = i * channels;
    const luma = channels >= 3 ? (0.299 * d[p] + 0.587 * d[p + 1] + 0.114 * d[p + 2]) / 255 : d[p] / 255;
    const alpha = channels === 2 || channels === 4 ? d[p + channels - 1] / 255 : 1;
    out[i] = luma * alpha + (1 - alpha);
  }
  return out;
}
