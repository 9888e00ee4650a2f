// float16 conversion (model files saved with weightDtype 'float16'): known bit patterns,
// every one of the 65,536 patterns round-trips, and every midpoint between neighbours rounds
// to the even one (IEEE 754 round-to-nearest-even), checked exhaustively.
import { beforeAll, describe, expect, it } from 'vitest';
import { crc32 } from '../ts/checksum.js';
import { float16Bits, float16Value } from '../ts/float16.js';
import { Autoencoder, CorruptDataError, ValueError, init, tensor, vanilla } from '../ts/index.js';
import { firstDifference } from './support/assertions.js';

beforeAll(() => init());

describe('float16 bit patterns', () => {
  it('known values', () => {
    const cases: [number, number][] = [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [0.5, 0x3800],
      [65504, 0x7bff],
      [65520, 0x7c00], // the midpoint above the largest finite rounds to even: Infinity
      [1e6, 0x7c00],
      [-Infinity, 0xfc00],
      [2 ** -14, 0x0400], // smallest normal
      [2 ** -24, 0x0001], // smallest subnormal
      [2 ** -25, 0x0000], // half of it: a tie, rounds to even (0)
      [1.5 * 2 ** -25, 0x0001],
      [1 / 3, 0x3555],
      [0.1, 0x2e66],
    ];
    for (const [value, bits] of cases) expect([value, float16Bits(value)]).toEqual([value, bits]);
    expect(float16Bits(NaN) & 0x7c00).toBe(0x7c00);
    expect(float16Bits(NaN) & 0x3ff).not.toBe(0);
    expect(float16Value(0x3555)).toBe(0.333251953125);
    expect(Number.isNaN(float16Value(0x7e00))).toBe(true);
  });

  it('every pattern round-trips, and midpoints round to the even neighbour', () => {
    let checked = 0;
    for (let h = 0; h < 0x10000; h++) {
      const v = float16Value(h);
      if (Number.isNaN(v)) continue;
      if (float16Bits(v) !== h) throw new Error(`0x${h.toString(16)} → ${v} → 0x${float16Bits(v).toString(16)}`);
      const exp = (h >>> 10) & 0x1f;
      if (exp === 0x1f || (h & 0x7fff) === 0x7bff) continue; // no finite neighbour above
      const mid = (v + float16Value(h + 1)) / 2; // exact: 12 significant bits fit a float32
      const even = h % 2 === 0 ? h : h + 1;
      if (float16Bits(mid) !== even)
        throw new Error(`midpoint ${mid} of 0x${h.toString(16)} → 0x${float16Bits(mid).toString(16)}`);
      checked++;
    }
    expect(checked).toBeGreaterThan(60000);
  });
});

describe("toBytes({ weightDtype: 'float16' })", () => {
  it('halves the file and loads with every weight rounded to the nearest float16', () => {
    const model = vanilla({ seed: 3 });
    const full = model.toBytes();
    const half = model.toBytes({ weightDtype: 'float16' });
    expect(half.length).toBeLessThan(full.length / 2 + 1024);
    const loaded = Autoencoder.fromBytes(half);
    const a = model.getWeights();
    loaded.getWeights().forEach((w, i) => {
      const expected = a[i].data.map((v) => float16Value(float16Bits(v)));
      expect(w.data).toEqual(expected);
    });
    // Predictions agree to float16's precision.
    const x = tensor(
      new Float32Array(2 * 784).map((_, i) => (i % 13) / 13),
      [2, 784],
    );
    const p = model.predict(x).data;
    const q = loaded.predict(x).data;
    expect(Math.max(...p.map((v, i) => Math.abs(v - q[i])))).toBeLessThan(1e-2);
    expect(firstDifference(loaded.toBytes({ weightDtype: 'float16' }), half)).toBe(-1);
    model.dispose();
    loaded.dispose();
  });

  it('refuses weights beyond float16 range, and unknown dtypes, before writing', () => {
    const model = vanilla({ seed: 3 });
    const w = model.getWeights();
    w[1].data[0] = 1e5;
    model.setWeights(w);
    expect(() => model.toBytes({ weightDtype: 'float16' })).toThrow(/beyond float16's range/);
    expect(() => model.toBytes({ weightDtype: 'int8' as never })).toThrow(ValueError);
    model.dispose();
  });

  it('a float16 file with a wrong length or dtype is CorruptDataError', () => {
    const model = vanilla({ seed: 3 });
    const half = model.toBytes({ weightDtype: 'float16' });
    model.dispose();
    expect(() => Autoencoder.fromBytes(half.subarray(0, half.length - 8))).toThrow(CorruptDataError);
    // Swap the dtype in the header (same length) and fix the checksum: still refused, by size.
    const text = new TextDecoder().decode(half);
    const at = text.indexOf('"float16"');
    const forged = half.slice();
    forged.set(new TextEncoder().encode('"float32"'), at);
    new DataView(forged.buffer).setUint32(forged.length - 4, crc32(forged, 0, forged.length - 4), true);
    expect(() => Autoencoder.fromBytes(forged)).toThrow(/float32 weights need/);
  });
});
