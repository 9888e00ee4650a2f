/**
 * `prepareDigit`: any picture of a handwritten digit → the 28×28 input our MNIST models
 * take, made the way MNIST itself was made (LeCun et al.): the digit's bounding box is
 * scaled, keeping its aspect ratio, to fit a 20×20 box (the scaling anti-aliases), then
 * placed in 28×28 so that its centre of mass is at the centre. MNIST digits are light on
 * dark, so a picture on a light background is inverted first.
 *
 * One implementation for the SDK, the CLI and the browser demo's drawing pad.
 */
import { ValueError } from '../errors.js';
import { tensor, type Tensor } from '../tensor.js';
import { assertPixelImage, toGrey, type PixelImage } from './image.js';

const SIZE = 28;
const BOX = 20;
/** Ink below this (after removing the background level) is background: JPEG noise, paper grain. */
const INK_THRESHOLD = 0.1;

/** One 28×28 digit, `[1, 28, 28, 1]`, light on dark in [0, 1]. */
export function prepareDigit(image: PixelImage): Tensor {
  const channels = assertPixelImage('prepareDigit image', image);
  const { width, height } = image;
  const ink = inkOf(toGrey(image, channels), width, height);
  const box = boundingBox(ink, width, height);
  if (!box) {
    throw new ValueError(
      `prepareDigit: the ${width}×${height} image has no ink (every pixel is the background colour); draw a digit`,
    );
  }
  const scale = BOX / Math.max(box.w, box.h);
  const w = Math.max(1, Math.round(box.w * scale));
  const h = Math.max(1, Math.round(box.h * scale));
  const scaled = resampleArea(ink, width, box, w, h);
  return tensor(centreByMass(scaled, w, h), [1, SIZE, SIZE, 1]);
}

/**
 * Ink in [0, 1]: the grey image, inverted when its border is light (dark digit on paper),
 * with the background's level subtracted and the rest stretched back to [0, 1]. Written over
 * `grey` (nothing else reads it): a second array would be another 4 bytes a pixel, 256 MiB
 * for the largest image we accept.
 */
function inkOf(grey: Float32Array, width: number, height: number): Float32Array {
  const border = borderMean(grey, width, height);
  const light = border > 0.5;
  const background = light ? 1 - border : border;
  const range = Math.max(1 - background, 1e-6);
  for (let i = 0; i < grey.length; i++) {
    const v = light ? 1 - grey[i] : grey[i];
    grey[i] = Math.min(1, Math.max(0, (v - background) / range));
  }
  return grey;
}

function borderMean(grey: Float32Array, width: number, height: number): number {
  let sum = 0;
  let count = 0;
  for (let x = 0; x < width; x++) {
    sum += grey[x] + grey[(height - 1) * width + x];
    count += 2;
  }
  for (let y = 1; y < height - 1; y++) {
    sum += grey[y * width] + grey[y * width + width - 1];
    count += 2;
  }
  return sum / count;
}

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

function boundingBox(ink: Float32Array, width: number, height: number): Box | undefined {
  let x0 = width;
  let y0 = height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (ink[y * width + x] > INK_THRESHOLD) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  return x1 < 0 ? undefined : { x: x0, y: y0, w: x1 - x0 + 1, h: y1 - y0 + 1 };
}

/**
 * The box of `src` resized to `w × h` by area averaging: each output pixel is the mean of
 * the source area it covers, fractional pixels weighted by their overlap. Anti-aliases when
 * shrinking (a 200-pixel stroke becomes grey edges, as in MNIST) and blends edges when
 * enlarging a tiny drawing.
 */
function resampleArea(src: Float32Array, srcWidth: number, box: Box, w: number, h: number): Float32Array {
  const out = new Float32Array(w * h);
  const sx = box.w / w;
  const sy = box.h / h;
  for (let oy = 0; oy < h; oy++) {
    const top = box.y + oy * sy;
    const bottom = Math.min(top + sy, box.y + box.h); // min: no float drift past the box
    for (let ox = 0; ox < w; ox++) {
      const left = box.x + ox * sx;
      const right = Math.min(left + sx, box.x + box.w);
      let sum = 0;
      for (let y = Math.floor(top); y < bottom; y++) {
        const wy = Math.min(bottom, y + 1) - Math.max(top, y);
        for (let x = Math.floor(left); x < right; x++) {
          const wx = Math.min(right, x + 1) - Math.max(left, x);
          sum += src[y * srcWidth + x] * wx * wy;
        }
      }
      out[oy * w + ox] = sum / (sx * sy);
    }
  }
  return out;
}

/** `w × h` ink placed in 28×28 with its centre of mass at pixel (14, 14) (rounded to whole pixels). */
function centreByMass(ink: Float32Array, w: number, h: number): Float32Array {
  let mass = 0;
  let mx = 0;
  let my = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = ink[y * w + x];
      mass += v;
      mx += v * x;
      my += v * y;
    }
  }
  // By pixel index, as MNIST was made: its digits' centres of mass average (14.00, 13.99)
  // over the test set (measured), so the mass goes to index 14, not to the field's middle 13.5.
  const dx = Math.round(SIZE / 2 - mx / mass);
  const dy = Math.round(SIZE / 2 - my / mass);
  const out = new Float32Array(SIZE * SIZE);
  for (let y = 0; y < h; y++) {
    const ty = y + dy;
    if (ty < 0 || ty >= SIZE) continue;
    for (let x = 0; x < w; x++) {
      const tx = x + dx;
      if (tx >= 0 && tx < SIZE) out[ty * SIZE + tx] = ink[y * w + x];
    }
  }
  return out;
}
