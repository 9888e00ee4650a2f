/**
 * The SDK's error classes.
 *
 * Every error thrown on purpose by the SDK is an {@link AutoencoderError}
 * (or a subclass).  Each class sets `name` to its own class name (as a string
 * literal, so minification cannot mangle it) and carries a stable string
 * `code`, so callers can branch with `instanceof`, `e.name` or `e.code`.
 *
 * The input validators that throw them are in `validate.ts`; errors cross worker
 * boundaries as `{ name, message, code }` (`serializeError` / `errorFromSerialized` in
 * `wire.ts`, which rebuilds an instance of the right class from {@link SDK_ERROR_CLASSES}).
 */

/** Stable codes of the SDK's error classes. */
export const ErrorCodes = {
  AutoencoderError: 'ERR_AUTOENCODER',
  ShapeError: 'ERR_SHAPE',
  ValueError: 'ERR_VALUE',
  DisposedError: 'ERR_DISPOSED',
  CorruptDataError: 'ERR_CORRUPT_DATA',
  NotInitializedError: 'ERR_NOT_INITIALIZED',
  DivergenceError: 'ERR_DIVERGED',
  OutOfMemoryError: 'ERR_OUT_OF_MEMORY',
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
    super(message, {
      ...options,
      code: options.code ?? ErrorCodes.DisposedError,
    });
    this.name = 'DisposedError';
  }
}

/** Corrupt or truncated model bytes or IDX files; checksum, magic or version mismatch. */
export class CorruptDataError extends AutoencoderError {
  constructor(message: string, options: AutoencoderErrorOptions = {}) {
    super(message, {
      ...options,
      code: options.code ?? ErrorCodes.CorruptDataError,
    });
    this.name = 'CorruptDataError';
  }
}

/** The WebAssembly module was used before it was initialised. */
export class NotInitializedError extends AutoencoderError {
  constructor(message: string, options: AutoencoderErrorOptions = {}) {
    super(message, {
      ...options,
      code: options.code ?? ErrorCodes.NotInitializedError,
    });
    this.name = 'NotInitializedError';
  }
}

/**
 * Training diverged: a batch's loss (or a gradient) was NaN or infinite. The message names
 * the epoch and batch; the weights and the optimizer state are those before that batch.
 */
export class DivergenceError extends AutoencoderError {
  constructor(message: string, options: AutoencoderErrorOptions = {}) {
    super(message, { ...options, code: options.code ?? ErrorCodes.DivergenceError });
    this.name = 'DivergenceError';
  }
}

/**
 * A model or a batch would need more WebAssembly memory than the module can have. Raised
 * before any allocation, so the model and the module stay usable.
 */
export class OutOfMemoryError extends AutoencoderError {
  constructor(message: string, options: AutoencoderErrorOptions = {}) {
    super(message, { ...options, code: options.code ?? ErrorCodes.OutOfMemoryError });
    this.name = 'OutOfMemoryError';
  }
}

type ErrorCtor = new (message: string, options?: AutoencoderErrorOptions) => AutoencoderError;

/** Every class above by its `name`: what an error that crossed a worker boundary is rebuilt as. */
export const SDK_ERROR_CLASSES: Readonly<Record<string, ErrorCtor>> = {
  AutoencoderError,
  ShapeError,
  ValueError,
  DisposedError,
  CorruptDataError,
  NotInitializedError,
  DivergenceError,
  OutOfMemoryError,
};
