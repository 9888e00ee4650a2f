// Assertions shared by the SDK tests (Node, worker, threads and browser).
import { expect } from 'vitest';

/** Every |actual − expected| ≤ abs + rel·|expected|; names the worst element on failure. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, abs: number, rel: number): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < actual.length; i++) {
    const err = Math.abs(actual[i] - expected[i]) - rel * Math.abs(expected[i]);
    if (err > worst) [worst, at] = [err, i];
  }
  expect(worst, `index ${at}: ${actual[at]} vs ${expected[at]}`).toBeLessThanOrEqual(abs);
}

/**
 * Index of the first element that differs (-1: bit-identical). Floats are compared by their
 * bit patterns, so -0 differs from 0 and a NaN equals the same NaN; bytes as they are.
 */
export function firstDifference(a: Float32Array | Uint8Array, b: Float32Array | Uint8Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  const ua = bitsOf(a);
  const ub = bitsOf(b);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return i;
  return -1;
}

const bitsOf = (v: Float32Array | Uint8Array) =>
  v.BYTES_PER_ELEMENT === 4 ? new Uint32Array(v.buffer, v.byteOffset, v.length) : v;

/**
 * What `promise` rejects with (undefined if it resolves), for tests that check several
 * properties of one error: `expect(error?.code).toBe(...)` then fails on a resolution too.
 */
export function rejectionOf<E = Error & { code?: string }>(promise: Promise<unknown>): Promise<E | undefined> {
  return promise.then(
    () => undefined,
    (e: unknown) => e as E,
  );
}
