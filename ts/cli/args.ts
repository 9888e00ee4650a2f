/**
 * Flags of one command, parsed with `node:util` parseArgs, and the error for a wrong
 * command line (exit code 2). Each command declares its flags once: the parser and its
 * `--help` text come from the same table.
 */
import { parseArgs } from 'node:util';

/** A wrong command line: unknown command or flag, missing or malformed value. Exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface Flag {
  type: 'string' | 'boolean';
  /** Placeholder in the help text, e.g. 'FILE'. */
  value?: string;
  help: string;
  default?: string;
  required?: boolean;
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  flags: Record<string, Flag>;
  run(flags: Record<string, string | boolean | undefined>): Promise<number | void>;
}

export const COMMON_FLAGS: Record<string, Flag> = {
  help: { type: 'boolean', help: 'this help' },
  verbose: { type: 'boolean', help: 'print stack traces with errors' },
};

export function helpText(c: Command): string {
  const lines = [`wasm-autoencoders ${c.name}: ${c.summary}`, '', `usage: wasm-autoencoders ${c.name} ${c.usage}`, ''];
  const all = { ...c.flags, ...COMMON_FLAGS };
  const left = (n: string, f: Flag) => `  --${n}${f.value ? ` ${f.value}` : ''}`;
  const width = Math.max(...Object.entries(all).map(([n, f]) => left(n, f).length)) + 2;
  for (const [n, f] of Object.entries(all)) {
    const extra = f.required ? ' (required)' : f.default !== undefined ? ` (default ${f.default})` : '';
    lines.push(`${left(n, f).padEnd(width)}${f.help}${extra}`);
  }
  return lines.join('\n');
}

export function parseFlags(c: Command, argv: string[]): Record<string, string | boolean | undefined> {
  const all = { ...c.flags, ...COMMON_FLAGS };
  const options = Object.fromEntries(
    Object.entries(all).map(([n, f]) => [
      n,
      { type: f.type, ...(f.default !== undefined ? { default: f.default } : {}) },
    ]),
  );
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false }));
  } catch (e) {
    throw new UsageError(`${c.name}: ${(e as Error).message.split('\n')[0]}`);
  }
  if (values.help) return values;
  for (const [n, f] of Object.entries(c.flags)) {
    if (f.required && values[n] === undefined) throw new UsageError(`${c.name}: --${n} is required (${f.help})`);
  }
  return values;
}

/** A numeric flag: `--epochs 5`. Throws UsageError naming the flag. */
export function numberFlag(
  flags: Record<string, string | boolean | undefined>,
  name: string,
  opts: { integer?: boolean; min?: number; max?: number } = {},
): number | undefined {
  const raw = flags[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  const ok =
    typeof raw === 'string' &&
    raw.trim() !== '' &&
    Number.isFinite(n) &&
    (!opts.integer || Number.isInteger(n)) &&
    (opts.min === undefined || n >= opts.min) &&
    (opts.max === undefined || n <= opts.max);
  if (!ok) {
    const kind = opts.integer ? 'an integer' : 'a number';
    const range = [opts.min !== undefined ? `≥ ${opts.min}` : '', opts.max !== undefined ? `≤ ${opts.max}` : '']
      .filter(Boolean)
      .join(' and ');
    throw new UsageError(`--${name} must be ${kind}${range ? ` ${range}` : ''}, got '${String(raw)}'`);
  }
  return n;
}

/** A flag that takes one of a few words. */
export function choiceFlag<T extends string>(
  flags: Record<string, string | boolean | undefined>,
  name: string,
  choices: readonly T[],
): T | undefined {
  const raw = flags[name];
  if (raw === undefined) return undefined;
  if (!(choices as readonly unknown[]).includes(raw)) {
    throw new UsageError(`--${name} must be one of ${choices.join(', ')}, got '${String(raw)}'`);
  }
  return raw as T;
}
