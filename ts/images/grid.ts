/**
 * `imageGrid`: rows of images (tensors of digits) as one greyscale picture, each pixel
 * enlarged `scale` times by nearest neighbour so a person can see it, with a white gap
 * between images. The tutorial's figure is two rows: test digits above, their
 * reconstructions below.
 */
import { ShapeError, ValueError } from '../errors.js';
import { assertTensor, type Tensor } from '../tensor.js';
import { checkOptions, assertInteger } from '../validate.js';

export interface GreyImage {
  readonly width: number;
  readonly height: number;
  /** One byte a pixel, 0 = black. */
  readonly data: Uint8Array;
  readonly channels: 1;
}

export interface ImageGridOptions {
  /** Pixel enlargement, 1 to 32 (default 4). */
  scale?: number;
  /** Pixels between images, in output pixels (default `2 * scale`). */
  gap?: number;
  /** Images per row, the first ones of each tensor (default: all of the longest row). */
  columns?: number;
}

/**
 * Each row is a tensor of N images: `[N, h, w, 1]`, `[N, h, w]`, or flat `[N, h*w]` when
 * `h*w` is a square (784 → 28×28). Values in [0, 1] (clipped). Missing cells stay white.
 */
export function imageGrid(rows: readonly Tensor[], opts?: ImageGridOptions): GreyImage {
  const o = checkOptions<ImageGridOptions>('imageGrid options', opts, ['scale', 'gap', 'columns']);
  const scale = assertInteger('imageGrid scale', o.scale ?? 4, { min: 1, max: 32 });
  const gap = assertInteger('imageGrid gap', o.gap ?? 2 * scale, { min: 0, max: 256 });
  if (!Array.isArray(rows) || rows.length === 0) {
    throw new ValueError('imageGrid takes a non-empty array of tensors, one per row');
  }
  const sides = rows.map((t, i) => imageSide(`imageGrid rows[${i}]`, t));
  const [h, w] = sides[0];
  sides.forEach(([hh, ww], i) => {
    if (hh !== h || ww !== w) {
      throw new ShapeError(`imageGrid rows[${i}] holds ${hh}×${ww} images, rows[0] holds ${h}×${w}`);
    }
  });
  const longest = Math.max(...rows.map((t) => t.shape[0]));
  const columns = assertInteger('imageGrid columns', o.columns ?? longest, { min: 1, max: 1024 });
  const cellW = w * scale;
  const cellH = h * scale;
  const width = columns * cellW + (columns + 1) * gap;
  const height = rows.length * cellH + (rows.length + 1) * gap;
  const data = new Uint8Array(width * height).fill(255);
  rows.forEach((t, r) => {
    for (let c = 0; c < Math.min(columns, t.shape[0]); c++) {
      const x0 = gap + c * (cellW + gap);
      const y0 = gap + r * (cellH + gap);
      for (let y = 0; y < cellH; y++) {
        const srcRow = c * h * w + Math.floor(y / scale) * w;
        const dst = (y0 + y) * width + x0;
        for (let x = 0; x < cellW; x++) {
          const v = t.data[srcRow + Math.floor(x / scale)];
          data[dst + x] = Math.round(255 * Math.min(1, Math.max(0, v)));
        }
      }
    }
  });
  return { width, height, data, channels: 1 };
}

/** `[height, width]` of the images in `t`; throws for tensors that are not greyscale images. */
function imageSide(name: string, t: Tensor): [number, number] {
  assertTensor(name, t, { checkFinite: false });
  const s = t.shape;
  if (s.length === 4 && s[3] === 1) return [s[1], s[2]];
  if (s.length === 3) return [s[1], s[2]];
  if (s.length === 2) {
    const side = Math.round(Math.sqrt(s[1]));
    if (side * side === s[1]) return [side, side];
  }
  throw new ShapeError(
    `${name} has shape [${s.join(', ')}]; expected greyscale images [N, h, w, 1], [N, h, w] or square flat [N, h*w]`,
  );
}
