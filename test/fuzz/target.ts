/**
 * A fuzz target: one parser we ship, the inputs to throw at it, and how to judge its answer.
 * The vitest files (test/fuzz/*.fuzz.test.ts) run a few thousand cases of each; scripts/fuzz.ts
 * runs ≥ 100,000 (test/fuzz/run.ts).
 */
import type fc from 'fast-check';
import type { Outcome } from './mutate.js';

export interface ArbitraryOptions {
  /** Also the slow cases (a gzip bomb that decompresses to the 64 MiB cap before it is refused). */
  thorough?: boolean;
}

export interface FuzzTarget<Ctx, Case extends { kind: string }> {
  name: string;
  /** What is parsed, in a few words. */
  title: string;
  /** Builds the valid files the cases start from (and whatever else is needed once). */
  setup(): Promise<Ctx>;
  arbitrary(ctx: Ctx, options?: ArbitraryOptions): fc.Arbitrary<Case>;
  /** Runs the parser on one case; throws a FuzzFailure for a bug. */
  run(ctx: Ctx, c: Case, options?: ArbitraryOptions): Promise<Outcome>;
  /** One line saying what the case was, for a failure report. */
  show(c: Case): string;
  /** Removes what setup() left on disk, if anything. */
  teardown?(ctx: Ctx): Promise<void>;
}

export type AnyTarget = FuzzTarget<any, { kind: string }>;
