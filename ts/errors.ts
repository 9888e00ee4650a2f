/**
 * Typed errors used by the whole SDK, plus small reusable input validators.
 *
 * Every error thrown on purpose by the SDK is an {@link AutoencoderError}
 * (or a subclass).  Each class sets `name` to its own class name (as a string
 * literal, so minification cannot mangle it) and carries a stable string
 * `code`, so callers can branch with `instanceof`, `e.name` or `e.code`.
 *
 * Errors cross worker boundaries by `{ name, message, code }`:
 * {@link serializeError} produces that plain object and
 * {@link errorFromSerialized} rebuilds an instance of the right class.
 */

/** Stable codes of the SDK's error classes. */
export const ErrorCodes = {
  AutoencoderError: 'ERR_AUTOENCODER',
  ShapeError: 'ERR_SHAPE',
  ValueError: 'ERR_VALUE',
  DisposedError: 'ERR_DISPOSED',
  CorruptDataError: 'ERR_CORRUPT_DATA',
  NotInitializedError: 'ERR_NOT_INITIALIZED',
} as const;

export interface AutoencoderErrorOptions {
  /** Overrides the class's default code (e.g. `'ERR_FILE_NOT_FOUND'`). */
  code?: string;
  /** The underlying error, if any (standard `Error.cause`). */
  cause?: unknown;
}

/** Base class of every error the SDK throws on purpose. */
export class AutoencoderError extends Error {
  /** A stable machine-readable code, e.g. `'ERR_SHAPE'`. */
  readonly code: string;

  constructor(message: string, options: AutoencoderErrorOptions = {}) {
    super(message, options.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'AutoencoderError';
    this.code = options.code ?? ErrorCodes.AutoencoderError;
  }
}

/** Wrong shape, length or rank; mismatched sizes between two inputs. */
export class ShapeError extends AutoencoderError {
  constructor(message: string, options: AutoencoderErrorOptions = {}) {
    super(message, { ...options, code: options.code ?? ErrorCodes.ShapeError });
    this.name = 'ShapeError';
  }
}

/** NaN/Infinity, out-of-range numbers, non-integer or non-positive counts, bad option values or types. */
export class ValueError extends AutoencoderError {
  constructor(message: string, options: AutoencoderErrorOptions = {}) {
    super(message, { ...options, code: options.code ?? ErrorCodes.ValueError });
    this.name = 'ValueError';
  }
}

/** An object (model, tensor handle, worker) was used after `dispose()`. */
export class DisposedError extends AutoencoderError {
  constructor(message: string, options: AutoencoderErrorOptions = {}) {
    super(message, { ...options, code: options.code ?? ErrorCodes.DisposedError });
    this.name = 'DisposedError';
  }
}

/** Corrupt or truncated model bytes or IDX files; checksum, magic or version mismatch. */
export class CorruptDataError extends AutoencoderError {
  constructor(message: string, options: AutoencoderErrorOptions = {}) {
    super(message, { ...options, code: options.code ?? ErrorCodes.CorruptDataError });
    this.name = 'CorruptDataError';
  }
}

/** The WebAssembly module was used before it was initialised. */
export class NotInitializedError extends AutoencoderError {
  constructor(message: string, options: AutoencoderErrorOptions = {}) {
    super(message, { ...options, code: options.code ?? ErrorCodes.NotInitializedError });
    this.name = 'NotInitializedError';
  }
}

// ---------------------------------------------------------------------------
// Structured-clone support
// ---------------------------------------------------------------------------

/** The plain-object form of an error, safe for `postMessage`/structured cloning. */
export interface SerializedError {
  name: string;
  message: string;
  code?: string;
  /** The stack where the error was thrown (e.g. inside a worker), if known. */
  stack?: string;
}

type ErrorCtor = new (message: string, options?: AutoencoderErrorOptions) => AutoencoderError;

const SDK_ERROR_CLASSES: Record<string, ErrorCtor> = {
  AutoencoderError,
  ShapeError,
  ValueError,
  DisposedError,
  CorruptDataError,
  NotInitializedError,
};

const BUILTIN_ERROR_CLASSES: Record<string, new (message?: string) => Error> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

/**
 * Converts any thrown value into a plain `{ name, message, code?, stack? }`
 * object that survives structured cloning.
 */
export function serializeError(e: unknown): SerializedError {
  if (e instanceof Error || (typeof e === 'object' && e !== null && 'message' in e)) {
    const err = e as { name?: unknown; message?: unknown; code?: unknown; stack?: unknown };
    const out: SerializedError = {
      name: typeof err.name === 'string' && err.name !== '' ? err.name : 'Error',
      message: typeof err.message === 'string' ? err.message : String(err.message),
    };
    if (typeof err.code === 'string') out.code = err.code;
    if (typeof err.stack === 'string') out.stack = err.stack;
    return out;
  }
  return { name: 'Error', message: typeof e === 'string' ? e : `non-error value thrown: ${describeValue(e)}` };
}

/**
 * Rebuilds an error from its serialized form: SDK errors become instances of
 * their class (with the original `code`), built-in errors (`TypeError`, ...)
 * become the built-in class, anything else an `Error` with the original `name`.
 * The remote stack, when present, is appended to the local one.
 */
export function errorFromSerialized(
  s: SerializedError | { name?: unknown; message?: unknown; code?: unknown; stack?: unknown },
): Error {
  const name = typeof s?.name === 'string' && s.name !== '' ? s.name : 'Error';
  const message = typeof s?.message === 'string' ? s.message : String(s?.message ?? '');
  const code = typeof s?.code === 'string' ? s.code : undefined;
  let err: Error;
  const sdk = Object.prototype.hasOwnProperty.call(SDK_ERROR_CLASSES, name) ? SDK_ERROR_CLASSES[name] : undefined;
  if (sdk) {
    err = new sdk(message, code !== undefined ? { code } : {});
  } else {
    const builtin = Object.prototype.hasOwnProperty.call(BUILTIN_ERROR_CLASSES, name)
      ? BUILTIN_ERROR_CLASSES[name]
      : undefined;
    err = builtin ? new builtin(message) : new Error(message);
    if (!builtin) err.name = name;
    if (code !== undefined) (err as Error & { code?: string }).code = code;
  }
  if (typeof s?.stack === 'string' && s.stack !== '' && typeof err.stack === 'string') {
    err.stack = `${err.stack}\n    --- remote stack ---\n${s.stack}`;
  }
  return err;
}

// ---------------------------------------------------------------------------
// Describing values in messages
// ---------------------------------------------------------------------------

/** A short, readable description of any value for error messages: `2.5`, `NaN`, `"abc" (string)`, `an array of length 3`... */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  switch (typeof value) {
    case 'number':
      return Object.is(value, -0) ? '-0' : String(value);
    case 'bigint':
      return `${value}n (bigint)`;
    case 'string': {
      const s = value.length > 40 ? `${value.slice(0, 37)}...` : value;
      return `${JSON.stringify(s)} (string)`;
    }
    case 'boolean':
      return String(value);
    case 'symbol':
      return value.toString();
    case 'function':
      return `a function${value.name ? ` ${value.name}` : ''}`;
    default:
      break;
  }
  if (Array.isArray(value)) {
    if (value.length <= 6 && value.every((v) => typeof v === 'number' || typeof v === 'string')) {
      return `[${value.map((v) => (typeof v === 'string' ? JSON.stringify(v) : String(v))).join(', ')}]`;
    }
    return `an array of length ${value.length}`;
  }
  if (ArrayBuffer.isView(value)) {
    const tag = Object.prototype.toString.call(value).slice(8, -1);
    const len = (value as unknown as { length?: number }).length;
    return typeof len === 'number' ? `a ${tag} of length ${len}` : `a ${tag}`;
  }
  if (value instanceof ArrayBuffer) return `an ArrayBuffer of ${value.byteLength} bytes`;
  const ctor = (value as { constructor?: { name?: string } }).constructor;
  if (ctor && ctor !== Object && typeof ctor.name === 'string' && ctor.name !== '') return `a ${ctor.name}`;
  return 'an object';
}

// ---------------------------------------------------------------------------
// Validators
// ---------------------------------------------------------------------------

/** Throws a ValueError unless `value` is a positive safe integer. Returns it. Message: `epochs must be a positive integer, got 2.5`. */
export function assertPositiveInteger(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new ValueError(`${name} must be a positive integer, got ${describeValue(value)}`);
  }
  return value;
}

/** Throws a ValueError unless `value` is a non-negative safe integer. Returns it. */
export function assertNonNegativeInteger(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new ValueError(`${name} must be a non-negative integer, got ${describeValue(value)}`);
  }
  return value;
}

/** Throws a ValueError unless `value` is a safe integer within the inclusive bounds. Returns it. */
export function assertInteger(name: string, value: unknown, opts: { min?: number; max?: number } = {}): number {
  const { min, max } = opts;
  const range =
    min !== undefined && max !== undefined
      ? ` in [${min}, ${max}]`
      : min !== undefined
        ? ` >= ${min}`
        : max !== undefined
          ? ` <= ${max}`
          : '';
  if (
    typeof value !== 'number' ||
    !Number.isSafeInteger(value) ||
    (min !== undefined && value < min) ||
    (max !== undefined && value > max)
  ) {
    throw new ValueError(`${name} must be an integer${range}, got ${describeValue(value)}`);
  }
  return value;
}

export interface FiniteNumberBounds {
  /** Lower bound (inclusive unless `minExclusive`). */
  min?: number;
  /** Upper bound (inclusive unless `maxExclusive`). */
  max?: number;
  /** Makes `min` exclusive: value must be > min. */
  minExclusive?: boolean;
  /** Makes `max` exclusive: value must be < max. */
  maxExclusive?: boolean;
}

/**
 * Throws a ValueError unless `value` is a finite number within the bounds.
 * Returns it. Messages: `learningRate must be a finite number > 0, got NaN`,
 * `beta1 must be a finite number in [0, 1), got 1`.
 */
export function assertFiniteNumber(name: string, value: unknown, bounds: FiniteNumberBounds = {}): number {
  const { min, max, minExclusive = false, maxExclusive = false } = bounds;
  let range = '';
  if (min !== undefined && max !== undefined) {
    range = ` in ${minExclusive ? '(' : '['}${min}, ${max}${maxExclusive ? ')' : ']'}`;
  } else if (min !== undefined) {
    range = ` ${minExclusive ? '>' : '>='} ${min}`;
  } else if (max !== undefined) {
    range = ` ${maxExclusive ? '<' : '<='} ${max}`;
  }
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (min === undefined || (minExclusive ? value > min : value >= min)) &&
    (max === undefined || (maxExclusive ? value < max : value <= max));
  if (!ok) {
    throw new ValueError(`${name} must be a finite number${range}, got ${describeValue(value)}`);
  }
  return value as number;
}

/** Throws a ValueError unless `value` is a boolean. Returns it. */
export function assertBoolean(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') {
    throw new ValueError(`${name} must be a boolean (true or false), got ${describeValue(value)}`);
  }
  return value;
}

/** Throws a ValueError unless `value` is a non-empty string. Returns it. */
export function assertNonEmptyString(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new ValueError(`${name} must be a non-empty string, got ${describeValue(value)}`);
  }
  return value;
}

/** Throws a ValueError unless `value` is a function. */
export function assertFunction(name: string, value: unknown): asserts value is (...args: never[]) => unknown {
  if (typeof value !== 'function') {
    throw new ValueError(`${name} must be a function, got ${describeValue(value)}`);
  }
}

/**
 * Throws a ValueError unless `value` is one of `allowed` (compared with `===`).
 * Suggests the closest allowed string on a near miss:
 * `padding must be one of "same", "valid", got "sme" (string); did you mean "same"?`
 */
export function assertOneOf<const T extends string | number | boolean>(
  name: string,
  value: unknown,
  allowed: readonly T[],
): T {
  if ((allowed as readonly unknown[]).includes(value)) return value as T;
  const list = allowed.map((a) => (typeof a === 'string' ? JSON.stringify(a) : String(a))).join(', ');
  let hint = '';
  if (typeof value === 'string') {
    const strings = allowed.filter((a): a is T & string => typeof a === 'string');
    const lower = strings.find((a) => a.toLowerCase() === value.toLowerCase());
    const guess = lower ?? closestMatch(value, strings);
    if (guess !== undefined) hint = `; did you mean ${JSON.stringify(guess)}?`;
  }
  throw new ValueError(`${name} must be one of ${list}, got ${describeValue(value)}${hint}`);
}

/** True for `{...}` object literals and `Object.create(null)` objects (not arrays, class instances, typed arrays). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  if (Object.prototype.toString.call(value) !== '[object Object]') return false;
  const proto = Object.getPrototypeOf(value);
  // proto === null, or the Object.prototype of this or another realm (worker, vm).
  return proto === null || Object.getPrototypeOf(proto) === null;
}

/** Throws a ValueError unless `value` is a plain object. */
export function assertPlainObject(name: string, value: unknown): asserts value is Record<string, unknown> {
  if (!isPlainObject(value)) {
    throw new ValueError(`${name} must be a plain object like { key: value }, got ${describeValue(value)}`);
  }
}

/**
 * Throws a ValueError if `obj` has an own key not in `allowed`, naming the
 * key, the closest allowed key, and the full list:
 * `fit options has an unknown option "epoch"; did you mean "epochs"? Known options: epochs, batchSize`.
 */
export function assertKnownKeys(name: string, obj: object, allowed: readonly string[]): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) {
      const guess = closestMatch(key, allowed);
      const hint = guess !== undefined ? `; did you mean ${JSON.stringify(guess)}?` : '.';
      const known = allowed.length > 0 ? ` Known options: ${allowed.join(', ')}` : ' No options are accepted.';
      throw new ValueError(`${name} has an unknown option ${JSON.stringify(key)}${hint}${known}`);
    }
  }
}

/**
 * Validates an optional options bag: `undefined` becomes `{}`; otherwise it
 * must be a plain object whose keys are all in `allowed`.
 */
export function checkOptions<T extends object = Record<string, unknown>>(
  name: string,
  value: unknown,
  allowed: readonly string[],
): Partial<T> {
  if (value === undefined) return {};
  assertPlainObject(name, value);
  assertKnownKeys(name, value, allowed);
  return value as Partial<T>;
}

/** Levenshtein distance (small strings only). */
function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  let prev = new Array<number>(n + 1);
  let cur = new Array<number>(n + 1);
  for (let j = 0; j <= n; j++) prev[j] = j;
  for (let i = 1; i <= m; i++) {
    cur[0] = i;
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[n];
}

/** The allowed string closest to `s` (case-insensitive edit distance), if close enough to be a plausible typo. */
export function closestMatch(s: string, allowed: readonly string[]): string | undefined {
  if (s.length > 64) return undefined;
  let best: string | undefined;
  let bestD = Infinity;
  const lower = s.toLowerCase();
  for (const a of allowed) {
    const al = a.toLowerCase();
    // A prefix of at least 3 characters (e.g. "max" for "maxValue") counts as a near miss.
    const prefix = lower.length >= 3 && al.length >= 3 && (al.startsWith(lower) || lower.startsWith(al));
    const d = prefix ? Math.min(1, editDistance(lower, al)) : editDistance(lower, al);
    if (d < bestD) {
      bestD = d;
      best = a;
    }
  }
  if (best === undefined) return undefined;
  const limit = Math.max(1, Math.floor(Math.max(s.length, best.length) / 3));
  return bestD <= limit ? best : undefined;
}
