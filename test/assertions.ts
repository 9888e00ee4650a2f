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

/** Index of the first element whose float32 bit pattern differs (-1: bit-identical). */
export function firstDifference(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return i;
  return -1;
}
