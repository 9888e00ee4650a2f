// Hostile PNG input (issue 13, point 1): what the CLI reads as a digit, decodePng then
// prepareDigit. Every colour type, bit depth, filter and interlacing, random, mutated (with
// the chunks' CRCs recomputed, so the decoder is reached) and claiming huge sizes: each
// decodes right or throws our typed error, within a time bound; a size claim is refused
// before pngjs allocates it.
import { deflateSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { CorruptDataError } from '../../ts/errors.js';
import { decodePng, encodePng } from '../../ts/node/png.js';
import { concat } from './mutate.js';
import { chunk, ihdr, SIGNATURE } from './png-encoder.js';
import { pngTarget, type PngContext } from './png-target.js';
import { fuzzProperty } from './run.js';

let ctx: PngContext;
beforeAll(async () => {
  ctx = await pngTarget.setup();
});

describe('PNG input never crashes or hangs', () => {
  it('3,000 cases: each decodes right (then prepareDigit) or throws a typed error, within 2 s', async () => {
    const stats = await fuzzProperty(pngTarget, ctx, { numRuns: 3000, timeLimitMs: 2000 });
    expect(stats.ok).toBeGreaterThan(300);
    expect(stats.typed).toBeGreaterThan(1000);
  });

  it('refuses huge size claims and inflate bombs before allocating them', () => {
    for (const { name, bytes } of ctx.huge) {
      const rss = process.memoryUsage.rss();
      const t0 = performance.now();
      expect(() => decodePng(bytes, name), name).toThrow(CorruptDataError);
      // Before: 2.4 s and 800 MB for the 8192 × 8192 claim, 6.8 s for its 1-bit twin.
      expect(performance.now() - t0, name).toBeLessThan(1000);
      expect(process.memoryUsage.rss() - rss, name).toBeLessThan(256 * 2 ** 20);
    }
    expect(() => decodePng(ctx.huge[0].bytes, 'big.png')).toThrow(
      'big.png is truncated: its 8192×8192 pixels need 268443648 bytes of image data decompressed, more than its 11 compressed bytes can hold',
    );
    // Within deflate's 1032:1, it takes inflating to know the data is short.
    const short = concat(
      SIGNATURE,
      ihdr(8, 8, 8, 0, 0),
      chunk('IDAT', new Uint8Array(deflateSync(new Uint8Array(10)))),
    );
    expect(() => decodePng(concat(short, chunk('IEND', new Uint8Array(0))), 'short.png')).toThrow(
      'short.png is truncated: its 8×8 pixels need 72 bytes of image data decompressed, it has 10',
    );
    expect(() => decodePng(ctx.huge[3].bytes, 'big.png')).toThrow(
      'big.png claims 4294967295×4294967295 pixels; each side must be 1 to 2^31 - 1',
    );
    expect(() => decodePng(ctx.huge[6].bytes, 'bomb.png')).toThrow(
      'bomb.png has more image data than its 1×1 pixels need (2 bytes decompressed)',
    );
  });

  it('encodePng (what `decode` writes, one PNG per code) keeps nothing per image', () => {
    // Before: each call kept a never-closed zlib stream of pngjs's, ~32 KB (96 MB here).
    const image = { width: 28, height: 28, data: new Uint8Array(784), channels: 1 as const };
    const before = process.memoryUsage().arrayBuffers;
    for (let i = 0; i < 3000; i++) encodePng(image);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(32 * 2 ** 20);
  });
});
