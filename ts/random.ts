/**
 * Seeded pseudo-random numbers for shuffling and noise.
 *
 * Generator: **xoshiro128\*\*** (Blackman & Vigna, 2018): 128-bit state,
 * period 2^128 − 1, 32-bit outputs; fast in JavaScript since it only needs
 * 32-bit integer ops.  The state is seeded from the (integer) seed with
 * **splitmix32**, so nearby seeds give unrelated streams and the state is
 * never all zero.  The same seed gives the same sequence on every platform.
 *
 * Not cryptographically secure.
 */
import { ValueError } from './errors.js';
import { assertFunction, describeValue } from './validate.js';

export interface Rng {
  /** The seed this generator was created with (the derived default seed when none was given). */
  readonly seed: number;
  /** Uniform integer in [0, 2^32). */
  nextUint32(): number;
  /** Uniform float in [0, 1) with 32 bits of randomness (`nextUint32() / 2^32`). */
  nextFloat(): number;
  /** Unbiased uniform integer in [0, n), 1 ≤ n ≤ 2^32 (rejection sampling). */
  nextInt(n: number): number;
  /**
   * Standard normal N(0, 1) by the Box–Muller transform.  Each transform
   * produces two values; the second is cached and returned by the next call.
   */
  normal(): number;
}

let defaultSeedBase: number | undefined;
let defaultSeedCounter = 0;

/**
 * A fresh seed for generators created without one.  A base seed is drawn from
 * `Math.random` once (on first use); each call then returns a different seed
 * derived from it, so two unseeded generators give different streams.
 */
export function defaultSeed(): number {
  if (defaultSeedBase === undefined) defaultSeedBase = Math.floor(Math.random() * 0x100000000) >>> 0;
  defaultSeedCounter = (defaultSeedCounter + 1) >>> 0;
  return (defaultSeedBase + Math.imul(defaultSeedCounter, 0x9e3779b9)) >>> 0;
}

/**
 * The seed of epoch `epoch` of a fit seeded with `seed`: the epoch's shuffle and noise depend
 * on these two numbers only, so a run resumed at epoch k (`initialEpoch`) draws what the
 * uninterrupted run drew. Distinct epochs give distinct seeds (an odd multiplier is a
 * bijection mod 2^32).
 */
export function epochSeed(seed: number, epoch: number): number {
  const hi = Math.floor(seed / 2 ** 32);
  const lo = (seed - hi * 2 ** 32) >>> 0;
  return hi * 2 ** 32 + ((lo ^ Math.imul(epoch + 1, 0x9e3779b9)) >>> 0);
}

/** Validates a user-given seed: any safe integer (negative allowed). Throws ValueError. */
export function assertSeed(name: string, seed: unknown): number {
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed)) {
    throw new ValueError(`${name} must be an integer (e.g. 42), got ${describeValue(seed)}`);
  }
  return seed;
}

/**
 * Creates a seeded generator (xoshiro128**, seeded via splitmix32).
 * `seed` must be a safe integer; when omitted a seed is derived from
 * `Math.random` (see {@link defaultSeed}) and exposed as `rng.seed`.
 */
export function createRng(seed?: number): Rng {
  const s = seed === undefined ? defaultSeed() : assertSeed('seed', seed);

  // splitmix32 over both 32-bit halves of the seed.
  let sm = (s >>> 0) ^ Math.imul(Math.floor(s / 0x100000000) >>> 0, 0x85ebca6b);
  const splitmix32 = (): number => {
    sm = (sm + 0x9e3779b9) | 0;
    let z = sm;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix32();
  let b = splitmix32();
  let c = splitmix32();
  let d = splitmix32();
  if ((a | b | c | d) === 0) a = 1;

  const nextUint32 = (): number => {
    // xoshiro128**: result = rotl(b * 5, 7) * 9
    const t0 = Math.imul(b, 5);
    const result = Math.imul((t0 << 7) | (t0 >>> 25), 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = (d << 11) | (d >>> 21);
    return result;
  };

  const nextFloat = (): number => nextUint32() / 0x100000000;

  const nextInt = (n: number): number => {
    if (!(Number.isInteger(n) && n >= 1 && n <= 0x100000000)) {
      throw new ValueError(`nextInt(n) needs an integer n in [1, 2^32], got ${describeValue(n)}`);
    }
    // Largest multiple of n not above 2^32: reject values at or beyond it.
    const limit = 0x100000000 - (0x100000000 % n);
    let x = nextUint32();
    while (x >= limit) x = nextUint32();
    return x % n;
  };

  let cached = 0;
  let hasCached = false;
  const normal = (): number => {
    if (hasCached) {
      hasCached = false;
      return cached;
    }
    // u1 in (0, 1] so log(u1) is finite.
    const u1 = 1 - nextFloat();
    const u2 = nextFloat();
    const r = Math.sqrt(-2 * Math.log(u1));
    const theta = 2 * Math.PI * u2;
    cached = r * Math.sin(theta);
    hasCached = true;
    return r * Math.cos(theta);
  };

  return { seed: s, nextUint32, nextFloat, nextInt, normal };
}

/** Throws a ValueError unless `rng` looks like an {@link Rng}. */
export function assertRng(name: string, rng: unknown): asserts rng is Rng {
  if (typeof rng !== 'object' || rng === null) {
    throw new ValueError(`${name} must be a random generator from createRng(seed), got ${describeValue(rng)}`);
  }
  const r = rng as Record<string, unknown>;
  for (const m of ['nextUint32', 'nextFloat', 'nextInt', 'normal']) {
    assertFunction(`${name}.${m}`, r[m]);
  }
}

/** Permutable index arrays accepted by {@link shuffleInPlace}. */
export type IndexArray = Uint32Array | Int32Array | number[];

/**
 * Shuffles `indices` in place (Fisher–Yates, unbiased) using `rng`, and
 * returns it.
 */
export function shuffleInPlace<T extends IndexArray>(indices: T, rng: Rng): T {
  if (!(indices instanceof Uint32Array || indices instanceof Int32Array || Array.isArray(indices))) {
    throw new ValueError(`indices must be a Uint32Array, Int32Array or array, got ${describeValue(indices)}`);
  }
  assertRng('rng', rng);
  for (let i = indices.length - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    const tmp = indices[i];
    indices[i] = indices[j];
    indices[j] = tmp;
  }
  return indices;
}

/** `[0, 1, ..., n-1]` as a Uint32Array, shuffled if `rng` is given. */
export function permutation(n: number, rng?: Rng): Uint32Array {
  if (!(typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 && n <= 0xffffffff)) {
    throw new ValueError(`n must be a non-negative integer, got ${describeValue(n)}`);
  }
  const idx = new Uint32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  if (rng !== undefined) shuffleInPlace(idx, rng);
  return idx;
}
