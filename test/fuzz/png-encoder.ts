/**
 * A small PNG writer for the fuzzing: every colour type and bit depth, all five filter
 * types, Adam7 interlacing, palettes with transparency (pngjs writes 8/16-bit grey, RGB and
 * RGBA only, unfiltered rows aside), and the RGBA that a correct decoder gives back.
 */
import { deflateSync } from 'node:zlib';
import { crc32 } from '../../ts/checksum.js';
import { concat } from './mutate.js';

export const SIGNATURE = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Samples per pixel of each colour type. */
export const SAMPLES: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
/** Bit depths the specification allows per colour type. */
export const DEPTHS: Record<number, readonly number[]> = {
  0: [1, 2, 4, 8, 16],
  2: [8, 16],
  3: [1, 2, 4, 8],
  4: [8, 16],
  6: [8, 16],
};

export interface PngSpec {
  width: number;
  height: number;
  colorType: number;
  depth: number;
  interlaced: boolean;
  /** width × height × samples values below 2^depth (palette: indices into `palette`). */
  samples: Uint16Array;
  /** Palette images: RGB per entry, and optionally alpha per entry (tRNS). */
  palette?: Uint8Array;
  alpha?: Uint8Array;
  /** Filter type (0..4) of each row, cycled. */
  filters: number[];
  /** IDAT chunks the compressed data is split into. */
  idatChunks: number;
  level: number;
}

export function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out, 4, 8 + data.length));
  return out;
}

export function ihdr(width: number, height: number, depth: number, colorType: number, interlace: number): Uint8Array {
  const data = new Uint8Array(13);
  const view = new DataView(data.buffer);
  view.setUint32(0, width >>> 0);
  view.setUint32(4, height >>> 0);
  data.set([depth, colorType, 0, 0, interlace], 8);
  return chunk('IHDR', data);
}

/** Adam7: first pixel and step of each pass. */
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
];

/** The rows of the image (or of each pass), packed and filtered, before compression. */
export function scanlines(spec: PngSpec): Uint8Array {
  const { width, height, depth, interlaced } = spec;
  const samples = SAMPLES[spec.colorType];
  const passes = interlaced ? ADAM7 : [[0, 0, 1, 1]];
  const out: Uint8Array[] = [];
  let rowIndex = 0;
  for (const [x0, y0, dx, dy] of passes) {
    const w = Math.ceil((width - x0) / dx);
    const h = Math.ceil((height - y0) / dy);
    if (w <= 0 || h <= 0) continue;
    const rowBytes = Math.ceil((w * samples * depth) / 8);
    const bpp = Math.max(1, (samples * depth) / 8);
    let prior = new Uint8Array(rowBytes);
    for (let r = 0; r < h; r++) {
      const y = y0 + r * dy;
      const raw = new Uint8Array(rowBytes);
      let bit = 0;
      for (let c = 0; c < w; c++) {
        const x = x0 + c * dx;
        for (let s = 0; s < samples; s++) {
          const v = spec.samples[(y * width + x) * samples + s];
          if (depth === 16) {
            raw[bit / 8] = v >> 8;
            raw[bit / 8 + 1] = v & 0xff;
          } else if (depth === 8) {
            raw[bit / 8] = v;
          } else {
            raw[bit >> 3] |= v << (8 - depth - (bit & 7));
          }
          bit += depth;
        }
      }
      const filter = spec.filters[rowIndex++ % spec.filters.length];
      const line = new Uint8Array(1 + rowBytes);
      line[0] = filter;
      for (let i = 0; i < rowBytes; i++) {
        const a = i >= bpp ? raw[i - bpp] : 0;
        const b = prior[i];
        const c = i >= bpp ? prior[i - bpp] : 0;
        let predictor = 0;
        if (filter === 1) predictor = a;
        else if (filter === 2) predictor = b;
        else if (filter === 3) predictor = (a + b) >> 1;
        else if (filter === 4) {
          const p = a + b - c;
          const pa = Math.abs(p - a);
          const pb = Math.abs(p - b);
          const pc = Math.abs(p - c);
          predictor = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
        }
        line[1 + i] = (raw[i] - predictor) & 0xff;
      }
      out.push(line);
      prior = raw;
    }
  }
  return concat(...out);
}

export function encodeSpec(spec: PngSpec): Uint8Array {
  const compressed = new Uint8Array(deflateSync(scanlines(spec), { level: spec.level }));
  const parts = [SIGNATURE, ihdr(spec.width, spec.height, spec.depth, spec.colorType, spec.interlaced ? 1 : 0)];
  if (spec.palette) parts.push(chunk('PLTE', spec.palette));
  if (spec.alpha) parts.push(chunk('tRNS', spec.alpha));
  const n = Math.max(1, Math.min(spec.idatChunks, compressed.length));
  const step = Math.ceil(compressed.length / n);
  for (let at = 0; at < compressed.length; at += step) parts.push(chunk('IDAT', compressed.subarray(at, at + step)));
  parts.push(chunk('IEND', new Uint8Array(0)));
  return concat(...parts);
}

/** The 8-bit RGBA a decoder gives (samples rescaled to 0..255 by round(v × 255 / max)). */
export function expectedRgba(spec: PngSpec): Uint8Array {
  const { width, height, depth, colorType } = spec;
  const samples = SAMPLES[colorType];
  const max = 2 ** depth - 1;
  const scale = (v: number) => (depth === 8 ? v : Math.floor((v * 255) / max + 0.5));
  const out = new Uint8Array(width * height * 4);
  for (let p = 0; p < width * height; p++) {
    const s = (k: number) => spec.samples[p * samples + k];
    let rgba: number[];
    if (colorType === 3) {
      const i = s(0);
      rgba = [spec.palette![3 * i], spec.palette![3 * i + 1], spec.palette![3 * i + 2], spec.alpha?.[i] ?? 255];
    } else if (colorType === 0) rgba = [scale(s(0)), scale(s(0)), scale(s(0)), 255];
    else if (colorType === 4) rgba = [scale(s(0)), scale(s(0)), scale(s(0)), scale(s(1))];
    else if (colorType === 2) rgba = [scale(s(0)), scale(s(1)), scale(s(2)), 255];
    else rgba = [scale(s(0)), scale(s(1)), scale(s(2)), scale(s(3))];
    out.set(rgba, p * 4);
  }
  return out;
}

/** The chunks of a PNG, as far as their lengths stay inside the file. */
export function splitChunks(bytes: Uint8Array): { type: string; data: Uint8Array }[] | undefined {
  if (bytes.length < 8) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: { type: string; data: Uint8Array }[] = [];
  let at = 8;
  while (at + 12 <= bytes.length) {
    const length = view.getUint32(at);
    if (at + 12 + length > bytes.length) return undefined;
    out.push({
      type: String.fromCharCode(...bytes.subarray(at + 4, at + 8)),
      data: bytes.subarray(at + 8, at + 8 + length),
    });
    at += 12 + length;
  }
  return at === bytes.length ? out : undefined;
}

export function joinChunks(chunks: { type: string; data: Uint8Array }[]): Uint8Array {
  return concat(SIGNATURE, ...chunks.map((c) => chunk(c.type, c.data)));
}

/**
 * Recomputes every chunk's CRC, where the chunk lengths still walk the file to its end, so
 * a mutation reaches the decoder instead of the CRC check.
 */
export function fixChunkCrcs(bytes: Uint8Array): Uint8Array {
  const chunks = splitChunks(bytes);
  if (!chunks) return bytes;
  return concat(bytes.subarray(0, 8), ...chunks.map((c) => chunk(c.type, c.data)));
}
