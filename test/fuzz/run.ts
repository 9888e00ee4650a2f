/**
 * Running a fuzz target: `fuzzProperty` for the vitest files (fast-check's assert: the first
 * failure fails the test, shrunk), `fuzzCount` for scripts/fuzz.ts (every case counted: how
 * many loaded, how many were refused with a typed error, which failed and how).
 */
import fc from 'fast-check';
import { FuzzFailure, type Outcome } from './mutate.js';
import type { AnyTarget, ArbitraryOptions } from './target.js';

/** How long a case may go without an answer before it counts as hung: 10× the time bound, at least 30 s. */
function hangAfterMs(timeLimitMs: number): number {
  return Math.max(10 * timeLimitMs, 30_000);
}

/**
 * `run()`, or a failure once it has gone `ms` without settling: a promise that never settles
 * (a stream nobody ends) is a hang too, and this names its case. A loop that never yields
 * blocks this timer as well; scripts/fuzz.ts's watchdog catches that one.
 */
async function settleWithin(run: Promise<Outcome>, ms: number): Promise<Outcome> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new FuzzFailure(`hung: no answer after ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([run, hung]);
  } finally {
    clearTimeout(timer);
  }
}

export interface PropertyOptions extends ArbitraryOptions {
  numRuns: number;
  /** Each case must finish within this (ms). */
  timeLimitMs: number;
  seed?: number;
}

export interface PropertyStats {
  ok: number;
  typed: number;
  maxMs: number;
  kinds: Record<string, number>;
}

/** Runs `numRuns` cases as a fast-check property; throws (with the case) at the first failure. */
export async function fuzzProperty(target: AnyTarget, ctx: unknown, o: PropertyOptions): Promise<PropertyStats> {
  const stats: PropertyStats = { ok: 0, typed: 0, maxMs: 0, kinds: {} };
  const envSeed = Number(process.env.FUZZ_SEED);
  // Cases print as their one-line description, not as their bytes.
  const arbitrary = target
    .arbitrary(ctx, o)
    .map((c) => Object.assign(c, { [fc.toStringMethod]: () => target.show(c) }));
  await fc.assert(
    fc.asyncProperty(arbitrary, async (c) => {
      const t0 = performance.now();
      let result: Outcome;
      try {
        result = await settleWithin(target.run(ctx, c, o), hangAfterMs(o.timeLimitMs));
      } catch (e) {
        throw new Error(`${(e as Error).message}\n    case: ${target.show(c)}`, { cause: e });
      }
      const ms = performance.now() - t0;
      if (ms > o.timeLimitMs) {
        throw new Error(`took ${ms.toFixed(0)} ms (bound ${o.timeLimitMs} ms)\n    case: ${target.show(c)}`);
      }
      stats[result]++;
      stats.maxMs = Math.max(stats.maxMs, ms);
      stats.kinds[c.kind] = (stats.kinds[c.kind] ?? 0) + 1;
    }),
    {
      numRuns: o.numRuns,
      seed: o.seed ?? (Number.isInteger(envSeed) ? envSeed : undefined),
      // A failing case is reported as found and then shrunk, for at most this long.
      interruptAfterTimeLimit: 10 * 60_000,
    },
  );
  return stats;
}

export interface KindCounts {
  cases: number;
  ok: number;
  typed: number;
  failures: number;
  maxMs: number;
}

export interface CountReport {
  parser: string;
  title: string;
  seed: number;
  cases: number;
  ok: number;
  typed: number;
  /** Untyped errors, wrong results, allocations over the bound, cases over the time bound. */
  failures: number;
  firstFailures: string[];
  /** Failures by their message's first words, e.g. "untyped RangeError" or "a 300-byte file made us build". */
  failureKinds: Record<string, number>;
  maxMs: number;
  slowestCase: string;
  kinds: Record<string, KindCounts>;
  seconds: number;
}

export interface CountOptions extends ArbitraryOptions {
  cases: number;
  seed: number;
  timeLimitMs: number;
  /** Called after each batch of cases with the number done. */
  progress?: (done: number) => void;
}

/** What kind of failure a message is: its first few words, numbers blanked out. */
function failureKind(message: string): string {
  return message
    .split(/[:(\n]/)[0]
    .replace(/\d+(\.\d+)?/g, 'N')
    .slice(0, 80);
}

/** Runs `cases` cases in batches of fast-check samples (seed, seed + 1, ...), counting every outcome. */
export async function fuzzCount(target: AnyTarget, ctx: unknown, o: CountOptions): Promise<CountReport> {
  const report: CountReport = {
    parser: target.name,
    title: target.title,
    seed: o.seed,
    cases: 0,
    ok: 0,
    typed: 0,
    failures: 0,
    firstFailures: [],
    failureKinds: {},
    maxMs: 0,
    slowestCase: '',
    kinds: {},
    seconds: 0,
  };
  const arbitrary = target.arbitrary(ctx, o);
  const start = performance.now();
  const batch = 500;
  for (let b = 0; report.cases < o.cases; b++) {
    const n = Math.min(batch, o.cases - report.cases);
    const cases = fc.sample(arbitrary, { numRuns: n, seed: o.seed + b });
    for (const c of cases) {
      const kind = (report.kinds[c.kind] ??= { cases: 0, ok: 0, typed: 0, failures: 0, maxMs: 0 });
      const t0 = performance.now();
      let failure: string | undefined;
      let result: Outcome | undefined;
      try {
        result = await settleWithin(target.run(ctx, c, o), hangAfterMs(o.timeLimitMs));
      } catch (e) {
        failure =
          e instanceof FuzzFailure ? e.message : `the harness itself failed: ${(e as Error)?.stack ?? String(e)}`;
      }
      const ms = performance.now() - t0;
      if (!failure && ms > o.timeLimitMs) failure = `took ${ms.toFixed(0)} ms, over the ${o.timeLimitMs} ms bound`;
      report.cases++;
      kind.cases++;
      if (failure) {
        report.failures++;
        kind.failures++;
        const k = failureKind(failure);
        report.failureKinds[k] = (report.failureKinds[k] ?? 0) + 1;
        if (report.firstFailures.length < 5 || !report.firstFailures.some((f) => failureKind(f) === k)) {
          if (report.firstFailures.length < 12) report.firstFailures.push(`${failure}\n      case: ${target.show(c)}`);
        }
      } else {
        report[result!]++;
        kind[result!]++;
      }
      if (ms > report.maxMs) {
        report.maxMs = ms;
        report.slowestCase = target.show(c).slice(0, 200);
      }
      kind.maxMs = Math.max(kind.maxMs, ms);
    }
    o.progress?.(report.cases);
  }
  report.seconds = (performance.now() - start) / 1000;
  return report;
}
