import { describe, it, expect } from 'vitest';
import { addGaussianNoise, addGaussianNoiseInto } from '../ts/noise.js';
import { createRng, shuffleInPlace, permutation, defaultSeed, assertRng } from '../ts/random.js';
import { tensor } from '../ts/tensor.js';
import { ShapeError, ValueError } from '../ts/errors.js';

describe('createRng', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    const a = createRng(42);
    const b = createRng(42);
    const c = createRng(43);
    const sa = Array.from({ length: 8 }, () => a.nextUint32());
    const sb = Array.from({ length: 8 }, () => b.nextUint32());
    const sc = Array.from({ length: 8 }, () => c.nextUint32());
    expect(sa).toEqual(sb);
    expect(sa).not.toEqual(sc);
    expect(a.seed).toBe(42);
    for (const v of sa) expect(Number.isInteger(v) && v >= 0 && v < 2 ** 32).toBe(true);
  });

  it('gives a stable sequence (pinned regression values; xoshiro128** seeded by splitmix32)', () => {
    const r = createRng(0);
    expect([r.nextUint32(), r.nextUint32(), r.nextUint32()]).toEqual([3809008728, 1133695204, 53579671]);
    const q = createRng(42);
    const normals = [q.normal(), q.normal(), q.normal()];
    const expected = [1.0271775679456403, 1.0517370146991034, 0.1931295978853847];
    normals.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 12));
  });

  it('accepts large and negative integer seeds, distinguishing high bits', () => {
    const x = createRng(2 ** 40).nextUint32();
    const y = createRng(2 ** 40 + 2 ** 32).nextUint32();
    expect(x).not.toBe(y);
    expect(() => createRng(-5)).not.toThrow();
  });

  it('rejects bad seeds', () => {
    expect(() => createRng(1.5)).toThrow(ValueError);
    expect(() => createRng(1.5)).toThrow('seed must be an integer (e.g. 42), got 1.5');
    expect(() => createRng(NaN)).toThrow(ValueError);
    expect(() => createRng('1' as never)).toThrow(ValueError);
  });

  it('unseeded generators differ and expose their seed', () => {
    const a = createRng();
    const b = createRng();
    expect(a.seed).not.toBe(b.seed);
    expect(createRng(a.seed).nextUint32()).toBe(createRng(a.seed).nextUint32());
    expect(Number.isInteger(defaultSeed())).toBe(true);
  });

  it('nextFloat is in [0, 1) with mean ≈ 0.5', () => {
    const r = createRng(7);
    let s = 0;
    const n = 100_000;
    let outside = 0;
    for (let i = 0; i < n; i++) {
      const v = r.nextFloat();
      if (!(v >= 0 && v < 1)) outside++;
      s += v;
    }
    expect(outside).toBe(0);
    expect(Math.abs(s / n - 0.5)).toBeLessThan(0.01);
  });

  it('nextInt is unbiased-looking and validates n', () => {
    const r = createRng(3);
    const counts = new Array(6).fill(0);
    for (let i = 0; i < 60_000; i++) counts[r.nextInt(6)]++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(500);
    expect(r.nextInt(1)).toBe(0);
    expect(() => r.nextInt(0)).toThrow(ValueError);
    expect(() => r.nextInt(2.5)).toThrow(ValueError);
  });

  it('normal() has mean ≈ 0 and variance ≈ 1', () => {
    const r = createRng(11);
    const n = 200_000;
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const v = r.normal();
      s += v;
      s2 += v * v;
    }
    expect(Number.isFinite(s2)).toBe(true);
    const mean = s / n;
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(Math.abs(s2 / n - mean * mean - 1)).toBeLessThan(0.02);
  });

  it('assertRng rejects non-generators', () => {
    expect(() => assertRng('rng', {})).toThrow('rng.nextUint32 must be a function');
    expect(() => assertRng('rng', 5)).toThrow(ValueError);
  });
});

describe('shuffleInPlace / permutation', () => {
  it('produces a deterministic permutation', () => {
    const a = permutation(100, createRng(5));
    const b = shuffleInPlace(permutation(100), createRng(5));
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a).sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(Array.from(a)).not.toEqual(Array.from(permutation(100)));
  });

  it('shuffles number[] in place and returns it', () => {
    const arr = [1, 2, 3, 4, 5];
    expect(shuffleInPlace(arr, createRng(1))).toBe(arr);
    expect(arr.slice().sort()).toEqual([1, 2, 3, 4, 5]);
  });

  it('is roughly uniform over permutations of 3', () => {
    const r = createRng(9);
    const counts = new Map<string, number>();
    for (let i = 0; i < 60_000; i++) {
      const k = Array.from(shuffleInPlace(new Uint32Array([0, 1, 2]), r)).join('');
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    expect(counts.size).toBe(6);
    for (const c of counts.values()) expect(Math.abs(c - 10_000)).toBeLessThan(500);
  });

  it('validates its input', () => {
    expect(() => shuffleInPlace(new Float32Array(3) as never, createRng(1))).toThrow(ValueError);
    expect(() => shuffleInPlace(new Uint32Array(3), {} as never)).toThrow(ValueError);
    expect(() => permutation(-1)).toThrow(ValueError);
    expect(permutation(0).length).toBe(0);
  });
});

describe('addGaussianNoise', () => {
  const x = tensor(
    Float32Array.from({ length: 1000 }, (_, i) => (i % 100) / 99),
    [10, 100],
  );

  it('is deterministic with a seed and does not modify x', () => {
    const before = x.data.slice();
    const a = addGaussianNoise(x, 0.3, { seed: 1 });
    const b = addGaussianNoise(x, 0.3, { seed: 1 });
    const c = addGaussianNoise(x, 0.3, { seed: 2 });
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
    expect(Array.from(a.data)).not.toEqual(Array.from(c.data));
    expect(Array.from(x.data)).toEqual(Array.from(before));
    expect(a.shape).toEqual([10, 100]);
    expect(a.data).not.toBe(x.data);
  });

  it('clips to [0, 1] and actually adds noise', () => {
    const y = addGaussianNoise(x, 2, { seed: 3 });
    let zeros = 0;
    let ones = 0;
    let outside = 0;
    for (const v of y.data) {
      if (!(v >= 0 && v <= 1)) outside++;
      if (v === 0) zeros++;
      if (v === 1) ones++;
    }
    expect(outside).toBe(0);
    expect(zeros).toBeGreaterThan(100);
    expect(ones).toBeGreaterThan(100);
  });

  it('has the requested standard deviation away from the clip bounds', () => {
    const mid = tensor(new Float32Array(100_000).fill(0.5), [100_000]);
    const y = addGaussianNoise(mid, 0.05, { seed: 4 });
    let s = 0;
    let s2 = 0;
    for (const v of y.data) {
      s += v - 0.5;
      s2 += (v - 0.5) ** 2;
    }
    expect(Math.abs(s / y.data.length)).toBeLessThan(0.001);
    expect(Math.sqrt(s2 / y.data.length)).toBeCloseTo(0.05, 3);
  });

  it('std = 0 gives a clipped copy', () => {
    const t = tensor([-0.5, 0.25, 1.5], [3]);
    expect(Array.from(addGaussianNoise(t, 0).data)).toEqual([0, 0.25, 1]);
  });

  it('without a seed, two calls differ', () => {
    const a = addGaussianNoise(x, 0.1);
    const b = addGaussianNoise(x, 0.1);
    expect(Array.from(a.data)).not.toEqual(Array.from(b.data));
  });

  it('matches addGaussianNoiseInto with createRng(seed)', () => {
    const a = addGaussianNoise(x, 0.2, { seed: 77 });
    const out = new Float32Array(x.data.length);
    addGaussianNoiseInto(x.data, out, 0.2, createRng(77));
    expect(Array.from(out)).toEqual(Array.from(a.data));
  });

  it('validates inputs', () => {
    expect(() => addGaussianNoise(x, -0.1)).toThrow('std must be a finite number >= 0, got -0.1');
    expect(() => addGaussianNoise(x, NaN)).toThrow(ValueError);
    expect(() => addGaussianNoise(x, Infinity)).toThrow(ValueError);
    expect(() => addGaussianNoise(x, '0.1' as never)).toThrow(ValueError);
    expect(() => addGaussianNoise({ shape: [2], data: new Float32Array([0, NaN]) }, 0.1)).toThrow(
      'x must contain only finite values',
    );
    expect(() => addGaussianNoise(null as never, 0.1)).toThrow(ValueError);
    expect(() => addGaussianNoise(x, 0.1, { seed: 1.5 })).toThrow('seed must be an integer');
    expect(() => addGaussianNoise(x, 0.1, { sed: 1 } as never)).toThrow('did you mean "seed"?');
    expect(() => addGaussianNoise(x, 0.1, 5 as never)).toThrow(ValueError);
  });
});

describe('addGaussianNoiseInto', () => {
  it('writes into dst, also in place', () => {
    const src = new Float32Array(50).fill(0.5);
    const dst = new Float32Array(50);
    expect(addGaussianNoiseInto(src, dst, 0.1, createRng(1))).toBe(dst);
    expect(src.every((v) => v === 0.5)).toBe(true);
    const inPlace = src.slice();
    addGaussianNoiseInto(inPlace, inPlace, 0.1, createRng(1));
    expect(Array.from(inPlace)).toEqual(Array.from(dst));
  });

  it('continues the rng stream across batches', () => {
    const rng = createRng(8);
    const src = new Float32Array(10).fill(0.5);
    const a = addGaussianNoiseInto(src, new Float32Array(10), 0.1, rng);
    const b = addGaussianNoiseInto(src, new Float32Array(10), 0.1, rng);
    expect(Array.from(a)).not.toEqual(Array.from(b));
  });

  it('validates inputs', () => {
    const f = new Float32Array(4);
    expect(() => addGaussianNoiseInto(f, new Float32Array(3), 0.1, createRng(1))).toThrow(ShapeError);
    expect(() => addGaussianNoiseInto(f, new Float32Array(3), 0.1, createRng(1))).toThrow(
      'src and dst must have the same length, got 4 and 3',
    );
    expect(() => addGaussianNoiseInto([0] as never, f, 0.1, createRng(1))).toThrow(ValueError);
    expect(() => addGaussianNoiseInto(f, f, -1, createRng(1))).toThrow(ValueError);
    expect(() => addGaussianNoiseInto(f, f, 0.1, undefined as never)).toThrow(ValueError);
  });
});
