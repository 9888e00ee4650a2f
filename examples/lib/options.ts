/**
 * The flags every example shares, parsed with `node:util` parseArgs; an unknown flag or a
 * bad number is an error naming it.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

export const COMMON_OPTIONS = {
  epochs: { type: 'string' },
  'batch-size': { type: 'string', default: '256' },
  seed: { type: 'string' },
  threads: { type: 'string', default: 'auto' },
  out: { type: 'string', default: 'out/figures' },
  limit: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

/** A wrong command line (exit code 2 in run.ts), as parseArgs's own errors are. */
export function usageError(message: string): Error {
  return Object.assign(new Error(message), { code: 'ERR_USAGE' });
}

export interface CommonOptions {
  epochs: number;
  batchSize: number;
  seed: number;
  /** Whether --seed was given (the tutorial has per-model defaults otherwise). */
  seedGiven: boolean;
  threads: 'auto' | number;
  out: string;
  limit?: number;
}

export function parseExampleArgs<O extends NonNullable<ParseArgsConfig['options']>>(
  argv: string[],
  extra: O,
  defaultEpochs: number,
) {
  const { values } = parseArgs({ args: argv, options: { ...COMMON_OPTIONS, ...extra }, strict: true });
  const v = values as Record<string, string | boolean | undefined>;
  const int = (name: string, min: number): number | undefined => {
    const raw = v[name];
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) throw usageError(`--${name} must be an integer ≥ ${min}, got '${raw}'`);
    return n;
  };
  const common: CommonOptions = {
    epochs: int('epochs', 1) ?? defaultEpochs,
    batchSize: int('batch-size', 1)!,
    seed: int('seed', 0) ?? 1,
    seedGiven: v.seed !== undefined,
    threads: v.threads === 'auto' ? 'auto' : int('threads', 1)!,
    out: v.out as string,
    limit: int('limit', 10),
  };
  return { common, values: v, help: v.help === true };
}
