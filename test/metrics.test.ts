import { describe, it, expect } from 'vitest';
import * as zlib from 'node:zlib';
import { mse, msePerSample, psnr } from '../ts/metrics.js';
import { crc32 } from '../ts/checksum.js';
import { tensor } from '../ts/tensor.js';
import { ShapeError, ValueError } from '../ts/errors.js';

describe('mse', () => {
  it('computes the mean over all elements', () => {
    const a = tensor([0, 0, 0, 0], [2, 2]);
    const b = tensor([1, 0, 0, 1], [2, 2]);
    expect(mse(a, b)).toBe(0.5);
    expect(mse(a, a)).toBe(0);
    expect(mse(tensor([0.5], [1]), tensor([0.25], [1]))).toBe(0.0625);
  });

  it('accumulates in float64', () => {
    const n = 1_000_000;
    const a = tensor(new Float32Array(n), [n]);
    const b = tensor(new Float32Array(n).fill(0.1), [n]);
    const d = Math.fround(0.1);
    expect(mse(a, b)).toBeCloseTo(d * d, 11);
  });

  it('requires exactly equal shapes', () => {
    const a = tensor(new Float32Array(4), [2, 2]);
    const b = tensor(new Float32Array(4), [4]);
    expect(() => mse(a, b)).toThrow(ShapeError);
    expect(() => mse(a, b)).toThrow('a and b must have exactly the same shape, got [2, 2] and [4]');
    expect(() => mse(a, tensor(new Float32Array(4), [4, 1]))).toThrow(ShapeError);
  });

  it('validates both tensors', () => {
    const a = tensor([0, 0], [2]);
    expect(() => mse(a, { shape: [2], data: new Float32Array([0, NaN]) })).toThrow(ValueError);
    expect(() => mse(a, { shape: [2], data: new Float32Array([0, NaN]) })).toThrow('b.data[1] is NaN');
    expect(() => mse(null as never, a)).toThrow(ValueError);
  });
});

describe('msePerSample', () => {
  it('gives one value per row', () => {
    const a = tensor([0, 0, 1, 1], [2, 2]);
    const b = tensor([0, 1, 1, 1], [2, 2]);
    expect(Array.from(msePerSample(a, b))).toEqual([0.5, 0]);
    expect(() => msePerSample(a, tensor([0, 0, 0, 0], [4]))).toThrow(ShapeError);
  });
});

describe('psnr', () => {
  it('known values', () => {
    // mse = 0.01 → 10·log10(1/0.01) = 20 dB
    const a = tensor(new Float32Array(100), [100]);
    const b = tensor(new Float32Array(100).fill(0.1), [100]);
    const d = Math.fround(0.1);
    expect(psnr(a, b)).toBeCloseTo(10 * Math.log10(1 / (d * d)), 10);
    expect(psnr(a, b)).toBeCloseTo(20, 5);
    // mse = 0.5 → 10·log10(2) ≈ 3.0103 dB
    expect(psnr(tensor([0, 0, 0, 0], [2, 2]), tensor([1, 0, 0, 1], [2, 2]))).toBeCloseTo(3.0103, 4);
    // maxValue 255, mse 1 → 48.13 dB
    expect(psnr(tensor([0], [1]), tensor([1], [1]), { maxValue: 255 })).toBeCloseTo(48.1308, 4);
  });

  it('is Infinity for identical tensors', () => {
    const a = tensor([0.2, 0.4], [2]);
    expect(psnr(a, tensor([0.2, 0.4], [2]))).toBe(Infinity);
  });

  it('validates inputs and options', () => {
    const a = tensor([0, 0], [2]);
    expect(() => psnr(a, tensor([0, 0], [1, 2]))).toThrow(ShapeError);
    expect(() => psnr(a, a, { maxValue: 0 })).toThrow('maxValue must be a finite number > 0, got 0');
    expect(() => psnr(a, a, { max: 1 } as never)).toThrow('did you mean "maxValue"?');
  });
});

describe('crc32', () => {
  const enc = new TextEncoder();

  it('known values', () => {
    expect(crc32(enc.encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
    expect(crc32(enc.encode('The quick brown fox jumps over the lazy dog'))).toBe(0x414fa339);
  });

  it('matches zlib on random data (when available) and the gzip trailer', () => {
    const data = new Uint8Array(10_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 24;
    const gz = zlib.gzipSync(data);
    const trailer = new DataView(gz.buffer, gz.byteOffset + gz.length - 8, 4).getUint32(0, true);
    expect(crc32(data)).toBe(trailer);
    // zlib.crc32 exists from Node 20.15 / 22.2.
    const zlibCrc32 = (zlib as unknown as { crc32?: (d: Uint8Array) => number }).crc32;
    if (typeof zlibCrc32 === 'function') expect(crc32(data)).toBe(zlibCrc32(data));
  });

  it('supports ranges and chaining', () => {
    const b = enc.encode('xx123456789yy');
    expect(crc32(b, 2, 11)).toBe(0xcbf43926);
    const whole = enc.encode('123456789');
    expect(crc32(whole, 4, undefined, crc32(whole, 0, 4))).toBe(0xcbf43926);
    expect(crc32(b, 5, 5)).toBe(0);
  });

  it('validates input', () => {
    expect(() => crc32([1, 2] as never)).toThrow(ValueError);
    expect(() => crc32(new Uint8Array(4), 5)).toThrow(ValueError);
    expect(() => crc32(new Uint8Array(4), 3, 2)).toThrow('end must be an integer in [3, 4], got 2');
    expect(() => crc32(new Uint8Array(4), 0, 5)).toThrow(ValueError);
    expect(() => crc32(new Uint8Array(4), 0, 4, -1)).toThrow(ValueError);
  });
});
