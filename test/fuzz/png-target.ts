/**
 * Fuzz target: PNG input, through decodePng (ts/node/png.ts) and then prepareDigit
 * (ts/images/digit.ts), as the CLI reads a digit.
 */
import { deflateSync, inflateSync } from 'node:zlib';
import fc from 'fast-check';
import { PNG } from 'pngjs';
import { prepareDigit } from '../../ts/images/digit.js';
import { MAX_IMAGE_PIXELS, type PixelImage } from '../../ts/images/image.js';
import { decodePng } from '../../ts/node/png.js';
import { check, concat, EXTREME_U32, mutate, mutationsArb, outcome, seededBytes, showMutations } from './mutate.js';
import {
  chunk,
  DEPTHS,
  encodeSpec,
  expectedRgba,
  fixChunkCrcs,
  ihdr,
  joinChunks,
  SAMPLES,
  SIGNATURE,
  splitChunks,
  type PngSpec,
} from './png-encoder.js';
import type { ArbitraryOptions, FuzzTarget } from './target.js';

export interface PngCase {
  kind: 'valid' | 'mutated' | 'mutated-crc' | 'ihdr' | 'idat' | 'chunks' | 'random' | 'huge';
  bytes: Uint8Array;
  /** For 'valid': the RGBA it must decode to. */
  expected?: { width: number; height: number; rgba: Uint8Array };
  note: string;
}

interface HugePng {
  name: string;
  bytes: Uint8Array;
}

export interface PngContext {
  huge: HugePng[];
}

/** PNG files claiming sizes we must refuse before allocating them, each of a few bytes to 65 KB. */
export function hugePngs(): HugePng[] {
  const tiny = new Uint8Array(deflateSync(new Uint8Array(10)));
  const end = chunk('IEND', new Uint8Array(0));
  const png = (w: number, h: number, depth: number, colorType: number, idat: Uint8Array, interlace = 0) =>
    concat(SIGNATURE, ihdr(w, h, depth, colorType, interlace), chunk('IDAT', idat), end);
  // 64 MiB of zeros deflate to 65 KB: the inflated-data bomb.
  const bomb = new Uint8Array(deflateSync(new Uint8Array(2 ** 26), { level: 9 }));
  return [
    { name: '8192 × 8192 RGBA, 10 bytes of image data', bytes: png(8192, 8192, 8, 6, tiny) },
    { name: '8192 × 8192 1-bit grey, 10 bytes of image data', bytes: png(8192, 8192, 1, 0, tiny) },
    { name: '8193 × 8192 (one column over the cap)', bytes: png(8193, 8192, 8, 0, tiny) },
    { name: '4294967295 × 4294967295', bytes: png(0xffffffff, 0xffffffff, 8, 6, tiny) },
    { name: '2147483647 × 1', bytes: png(0x7fffffff, 1, 8, 0, tiny) },
    { name: '65536 × 65536', bytes: png(65536, 65536, 16, 6, tiny) },
    { name: '1 × 1 interlaced, image data inflating to 64 MiB', bytes: png(1, 1, 8, 0, bomb, 1) },
    { name: '1 × 1, image data inflating to 64 MiB', bytes: png(1, 1, 8, 0, bomb, 0) },
    { name: '4096 × 4096 RGBA16, image data inflating to 64 MiB (needs 128 MiB)', bytes: png(4096, 4096, 16, 6, bomb) },
  ];
}

const specArb: fc.Arbitrary<PngSpec> = fc
  .record({
    width: fc.integer({ min: 1, max: 20 }),
    height: fc.integer({ min: 1, max: 20 }),
    colorType: fc.constantFrom(0, 2, 3, 4, 6),
    depthIndex: fc.nat(),
    interlaced: fc.boolean(),
    filters: fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 5 }),
    idatChunks: fc.integer({ min: 1, max: 4 }),
    level: fc.constantFrom(0, 1, 6, 9),
    paletteSize: fc.integer({ min: 1, max: 256 }),
    withAlpha: fc.boolean(),
    /** 'digit': a dark stroke on white, so prepareDigit finds ink; 'noise': anything. */
    content: fc.constantFrom('digit', 'noise'),
    seed: fc.integer(),
  })
  .map((r): PngSpec => {
    const depths = DEPTHS[r.colorType];
    const depth = depths[r.depthIndex % depths.length];
    const samples = SAMPLES[r.colorType];
    const palette = r.colorType === 3 ? seededBytes(r.seed + 1, 3 * r.paletteSize) : undefined;
    const limit = r.colorType === 3 ? Math.min(r.paletteSize, 2 ** depth) : 2 ** depth;
    const noise = seededBytes(r.seed, r.width * r.height * samples * 2);
    const values = new Uint16Array(r.width * r.height * samples);
    for (let i = 0; i < values.length; i++) {
      const random = ((noise[2 * i] << 8) | noise[2 * i + 1]) % limit;
      const p = Math.floor(i / samples);
      const [x, y] = [p % r.width, Math.floor(p / r.width)];
      const stroke = Math.abs(x - r.width / 2) < 1.5 && y > 1 && y < r.height - 2;
      values[i] = r.content === 'noise' || r.colorType === 3 ? random : stroke ? 0 : limit - 1;
    }
    return {
      width: r.width,
      height: r.height,
      colorType: r.colorType,
      depth,
      interlaced: r.interlaced,
      samples: values,
      palette,
      alpha: palette && r.withAlpha ? seededBytes(r.seed + 2, Math.min(r.paletteSize, 1 + (r.seed & 0xff))) : undefined,
      filters: r.filters,
      idatChunks: r.idatChunks,
      level: r.level,
    };
  });

/** A valid PNG and its RGBA: ours (every kind) or pngjs's own writer (RGBA, 8 bit). */
const validArb = fc.oneof(
  {
    weight: 3,
    arbitrary: specArb.map((spec) => ({
      bytes: encodeSpec(spec),
      width: spec.width,
      height: spec.height,
      rgba: expectedRgba(spec),
      note: `${spec.width}×${spec.height} colour type ${spec.colorType}, ${spec.depth} bit${spec.interlaced ? ', interlaced' : ''}, filters ${spec.filters}`,
    })),
  },
  {
    weight: 1,
    arbitrary: fc
      .record({ width: fc.integer({ min: 1, max: 24 }), height: fc.integer({ min: 1, max: 24 }), seed: fc.integer() })
      .map(({ width, height, seed }) => {
        const rgba = seededBytes(seed, width * height * 4);
        // Not `new PNG()`, which keeps a zlib stream open (see encodePng in ts/node/png.ts).
        const png = { width, height, data: Buffer.from(rgba) } as PNG;
        return {
          bytes: new Uint8Array(PNG.sync.write(png)),
          width,
          height,
          rgba,
          note: `${width}×${height} RGBA by pngjs`,
        };
      }),
  },
);

const u32Arb = fc.oneof(fc.constantFrom(...EXTREME_U32, 8192, 8193, 28), fc.nat({ max: 0xffffffff }));

export function pngArbitrary(ctx: PngContext, _options: ArbitraryOptions = {}): fc.Arbitrary<PngCase> {
  const valid = validArb.map((v): PngCase => ({
    kind: 'valid',
    bytes: v.bytes,
    expected: { width: v.width, height: v.height, rgba: v.rgba },
    note: v.note,
  }));
  const mutated = fc.record({ v: validArb, muts: mutationsArb(48), crc: fc.boolean() }).map(({ v, muts, crc }) => {
    const bytes = mutate(v.bytes, muts);
    return {
      kind: crc ? 'mutated-crc' : 'mutated',
      bytes: crc ? fixChunkCrcs(bytes) : bytes,
      note: `${v.note}: ${showMutations(muts)}${crc ? ', chunk CRCs recomputed' : ''}`,
    } as PngCase;
  });
  const ihdrField = fc
    .record({
      v: validArb,
      field: fc.constantFrom('width', 'height', 'both', 'depth', 'colorType', 'compression', 'filter', 'interlace'),
      value: u32Arb,
      small: fc.constantFrom(0, 1, 2, 3, 4, 5, 6, 7, 8, 15, 16, 255),
    })
    .map(({ v, field, value, small }): PngCase => {
      const bytes = v.bytes.slice();
      const view = new DataView(bytes.buffer);
      if (field === 'width' || field === 'both') view.setUint32(16, value);
      if (field === 'height' || field === 'both') view.setUint32(20, value);
      const at = { depth: 24, colorType: 25, compression: 26, filter: 27, interlace: 28 }[field as 'depth'];
      if (at !== undefined) bytes[at] = small;
      const shown = at === undefined ? value : small;
      return { kind: 'ihdr', bytes: fixChunkCrcs(bytes), note: `${v.note}: IHDR ${field} = ${shown}` };
    });
  const idat = fc
    .record({
      v: validArb,
      how: fc.constantFrom('random', 'deflated random', 'deflated, resized', 'split', 'empty'),
      length: fc.nat({ max: 2000 }),
      delta: fc.integer({ min: -8, max: 8 }),
      seed: fc.integer(),
    })
    .map(({ v, how, length, delta, seed }): PngCase => {
      const chunks = splitChunks(v.bytes)!;
      const data = concat(...chunks.filter((c) => c.type === 'IDAT').map((c) => c.data));
      let replacement: Uint8Array[];
      if (how === 'random') replacement = [seededBytes(seed, length)];
      else if (how === 'deflated random') replacement = [new Uint8Array(deflateSync(seededBytes(seed, length)))];
      else if (how === 'deflated, resized') {
        // The right data, a few bytes short or long: truncated or over-long images.
        const raw = new Uint8Array(inflateSync(data));
        const resized =
          delta < 0 ? raw.subarray(0, Math.max(0, raw.length + delta)) : concat(raw, seededBytes(seed, delta));
        replacement = [new Uint8Array(deflateSync(resized))];
      } else if (how === 'split') replacement = Array.from(data).map((b) => new Uint8Array([b]));
      else replacement = [new Uint8Array(0)];
      const out = chunks.filter((c) => c.type !== 'IDAT');
      const at = out.findIndex((c) => c.type === 'IEND');
      out.splice(at, 0, ...replacement.map((d) => ({ type: 'IDAT', data: d })));
      return { kind: 'idat', bytes: joinChunks(out), note: `${v.note}: IDAT ${how} (${length}, ${delta})` };
    });
  const chunks = fc
    .record({
      v: validArb,
      op: fc.constantFrom(
        'drop',
        'duplicate',
        'swap',
        'unknown critical',
        'unknown ancillary',
        'after IEND',
        'PLTE',
        'tRNS',
      ),
      i: fc.nat(),
      j: fc.nat(),
      data: fc.uint8Array({ maxLength: 40 }),
    })
    .map(({ v, op, i, j, data }): PngCase => {
      const list = splitChunks(v.bytes)!.slice();
      const a = i % list.length;
      const b = j % list.length;
      if (op === 'drop') list.splice(a, 1);
      else if (op === 'duplicate') list.splice(a, 0, list[a]);
      else if (op === 'swap') [list[a], list[b]] = [list[b], list[a]];
      else if (op === 'unknown critical') list.splice(a, 0, { type: 'ABCD', data });
      else if (op === 'unknown ancillary') list.splice(a, 0, { type: 'abCD', data });
      else if (op === 'after IEND') list.push({ type: 'IDAT', data });
      else list.splice(Math.max(1, a), 0, { type: op, data });
      return { kind: 'chunks', bytes: joinChunks(list), note: `${v.note}: ${op} ${a} ${b} (${data.length} bytes)` };
    });
  const random = fc
    .record({ signature: fc.boolean(), body: fc.uint8Array({ maxLength: 400 }) })
    .map(({ signature, body }): PngCase => ({
      kind: 'random',
      bytes: signature ? concat(SIGNATURE, body) : body,
      note: `${signature ? 'signature + ' : ''}${body.length} random bytes`,
    }));
  const huge = fc
    .nat({ max: ctx.huge.length - 1 })
    .map((i): PngCase => ({ kind: 'huge', bytes: ctx.huge[i].bytes, note: ctx.huge[i].name }));
  return fc.oneof(
    { weight: 6, arbitrary: valid },
    { weight: 6, arbitrary: mutated },
    { weight: 4, arbitrary: ihdrField },
    { weight: 3, arbitrary: idat },
    { weight: 3, arbitrary: chunks },
    { weight: 2, arbitrary: random },
    { weight: 1, arbitrary: huge },
  );
}

function checkImage(image: PixelImage, c: PngCase): void {
  const { width, height, data } = image;
  check(Number.isInteger(width) && width >= 1 && Number.isInteger(height) && height >= 1, `a ${width}×${height} image`);
  check(width * height <= MAX_IMAGE_PIXELS, `a ${width}×${height} image is over the cap`);
  check(image.channels === 4 && data.length === width * height * 4, `${data.length} bytes for ${width}×${height} RGBA`);
  if (c.expected) {
    const e = c.expected;
    check(width === e.width && height === e.height, `decoded ${width}×${height}, expected ${e.width}×${e.height}`);
    const bad = e.rgba.findIndex((v, i) => data[i] !== v);
    check(bad < 0, `byte ${bad} of the RGBA is ${data[bad]}, expected ${e.rgba[bad]}`);
  }
}

export const pngTarget: FuzzTarget<PngContext, PngCase> = {
  name: 'png',
  title: 'PNG input (decodePng, then prepareDigit)',
  async setup() {
    return { huge: hugePngs() };
  },
  arbitrary: pngArbitrary,
  async run(_ctx, c) {
    let image: PixelImage | undefined;
    const decoded = await outcome(
      () => (image = decodePng(c.bytes, 'digit.png')),
      (img) => checkImage(img, c),
      c.kind === 'valid' ? 'ok' : c.kind === 'huge' ? 'typed' : undefined,
    );
    if (decoded === 'typed') return 'typed';
    return outcome(
      () => prepareDigit(image!),
      (t) => {
        check(t.shape.join() === '1,28,28,1', `prepareDigit gave shape [${t.shape}]`);
        check(
          t.data.every((v) => v >= 0 && v <= 1),
          'prepareDigit gave a value outside [0, 1]',
        );
      },
    );
  },
  show(c) {
    return `${c.kind} (${c.bytes.length} bytes): ${c.note}`;
  },
};
