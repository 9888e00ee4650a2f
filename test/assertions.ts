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
