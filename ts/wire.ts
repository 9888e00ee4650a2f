/**
 * The protocol between a {@link Trainer} (`trainer.ts`, the calling thread) and its worker
 * (`worker.ts`): the messages besides Comlink's own, the {@link WorkerApi} the worker serves,
 * the endpoint adapter for Node, transfer lists, and how errors cross. Both sides import
 * from here and never from each other, so either can change without the other's code.
 */
import type { Endpoint, ProxyMarked } from 'comlink';
import type { SequentialOptions, ToBytesOptions } from './autoencoder.js';
import type { CompileOptions, ResolvedCompile } from './compile.js';
import { AutoencoderError, SDK_ERROR_CLASSES, ValueError } from './errors.js';
import type { EpochLogs, FitOptions, History } from './fit.js';
import type { LayerSpec } from './layers.js';
import type { Tensor } from './tensor.js';
import { describeValue } from './validate.js';

// ---------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------

/**
 * The worker's first message, sent once its Comlink listener is attached: calls sent
 * earlier could be missed (e.g. by a Node worker whose port another listener started).
 */
export const WORKER_LISTENING = '__wasmAutoencodersListening';

/** Key under which the worker sends a serialized error (thrown as a plain object). */
export const WIRE_ERROR = '__wasmAutoencodersError';

// ---------------------------------------------------------------------------
// The API the worker serves
// ---------------------------------------------------------------------------

/** What the caller learns about a model built in the worker. */
export interface ModelInfo {
  id: number;
  inputShape: number[];
  outputShape: number[];
  codeShape: number[];
  encoderLength: number;
  layers: LayerSpec[];
}

/** How the worker loads the SDK: `spawnTrainer()`'s options, URLs as strings. */
export interface WorkerSetup {
  /** The single-thread `.wasm` (init's `source`). */
  wasmUrl?: string;
  /** 1: the single-thread build; 2 or more: the threads build with a pool of its own; 'auto': see init(). */
  threads: number | 'auto';
  /** The threads build's `.wasm` (init's `threadsSource`). */
  threadsWasmUrl?: string;
  /** The threads build's glue (init's `threadsGlue`). */
  threadsGlueUrl?: string;
}

/** Per-fit bookkeeping sent with `fit`. */
export interface WireFitControl {
  /** Names this fit for `abort(fitId)`. */
  fitId: number;
  /** Whether the listener's `epoch` / `batch` should be called. */
  onEpochEnd: boolean;
  onBatchEnd: boolean;
  /** The caller's signal was already aborted. */
  aborted: boolean;
}

/** The caller's callbacks (a Comlink proxy); each returns whether the caller's signal is aborted. */
export interface FitListener {
  epoch(epoch: number, logs: EpochLogs): Promise<boolean> | boolean;
  batch(batch: number, logs: { loss: number }): Promise<boolean> | boolean;
}

/** `fit` options as they cross: the callbacks and the signal stay with the caller. */
export type WireFitOptions = Omit<FitOptions, 'onEpochEnd' | 'onBatchEnd' | 'signal'>;

/** The three ways of running data through a model (`api.run`). */
export type RunKind = 'predict' | 'encode' | 'decode';

/**
 * What the worker serves (through `Comlink.expose`) and the trainer calls (through
 * `Comlink.wrap`). Models are named by the `id` of their {@link ModelInfo}. Every method
 * resolves, or rejects with `{ [WIRE_ERROR]: SerializedError }` ({@link toWireError});
 * the caller rebuilds the error with {@link errorFromWire}.
 */
export interface WorkerApi {
  /**
   * Loads the WebAssembly module (once) and starts the thread pool, if any; the caller waits
   * for this before using the trainer. Resolves to the threads that run (fewer than asked
   * only in a browser page that is not cross-origin isolated, or when 'auto' fell back).
   */
  ready(setup: WorkerSetup): Promise<number>;
  /** A preset by name (`vanilla`, `deep`, ...) with its options. */
  create(preset: string, opts?: Record<string, unknown>): Promise<ModelInfo>;
  sequential(layerSpecs: LayerSpec[], opts: SequentialOptions): Promise<ModelInfo>;
  fromBytes(bytes: Uint8Array): Promise<ModelInfo>;
  /** Trains; calls the listener (when the control asks for it) after each epoch / batch. */
  fit(
    id: number,
    x: Tensor,
    y: Tensor,
    opts: WireFitOptions | undefined,
    control: WireFitControl,
    listener?: FitListener & ProxyMarked,
  ): Promise<History>;
  /** Stops a running fit after its current batch. */
  abort(fitId: number): Promise<void>;
  run(id: number, kind: RunKind, x: Tensor): Promise<Tensor>;
  evaluate(id: number, x: Tensor, y: Tensor): Promise<number>;
  getWeights(id: number): Promise<Tensor[]>;
  setWeights(id: number, weights: Tensor[]): Promise<void>;
  compile(id: number, opts?: CompileOptions): Promise<void>;
  compiled(id: number): Promise<ResolvedCompile>;
  countParams(id: number): Promise<number>;
  summary(id: number): Promise<string>;
  toBytes(id: number, opts?: ToBytesOptions): Promise<Uint8Array>;
  dispose(id: number): Promise<void>;
}

// ---------------------------------------------------------------------------
// Endpoints and transfers
// ---------------------------------------------------------------------------

/** The minimal `worker_threads` port / Worker interface the Node endpoint needs. */
export interface NodeMessagePortLike {
  postMessage(message: unknown, transfer?: readonly unknown[]): void;
  on(event: 'message', listener: (data: unknown) => void): unknown;
  off(event: 'message', listener: (data: unknown) => void): unknown;
  start?: () => void;
}

/**
 * A Comlink endpoint over a Node `Worker` or `parentPort` (like comlink's
 * `node-adapter`, which is an `.mjs` file that the CommonJS build could not require).
 */
export function nodeEndpoint(port: NodeMessagePortLike): Endpoint {
  type Handler = EventListenerOrEventListenerObject;
  const listeners = new WeakMap<Handler, (data: unknown) => void>();
  return {
    postMessage: (message: unknown, transfer?: Transferable[]) => port.postMessage(message, transfer),
    addEventListener: (_type: string, handler: Handler) => {
      const l = (data: unknown) => {
        const event = { data } as MessageEvent;
        if ('handleEvent' in handler) handler.handleEvent(event);
        else handler(event);
      };
      port.on('message', l);
      listeners.set(handler, l);
    },
    removeEventListener: (_type: string, handler: Handler) => {
      const l = listeners.get(handler);
      if (!l) return;
      port.off('message', l);
      listeners.delete(handler);
    },
    start: port.start?.bind(port),
  } as Endpoint;
}

/** The buffers of typed arrays that can be moved without surprises: whole, non-shared. */
export function transferablesOf(views: readonly unknown[]): Transferable[] {
  const out = new Set<ArrayBuffer>();
  for (const v of views) {
    if (!ArrayBuffer.isView(v)) continue;
    const buffer = v.buffer;
    if (!(buffer instanceof ArrayBuffer)) continue; // SharedArrayBuffer: shared, not moved
    if (v.byteOffset !== 0 || v.byteLength !== buffer.byteLength || buffer.byteLength === 0) continue;
    out.add(buffer);
  }
  return [...out];
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/** The plain-object form of an error, safe for `postMessage`/structured cloning. */
export interface SerializedError {
  name: string;
  message: string;
  code?: string;
  /** The stack where the error was thrown (e.g. inside a worker), if known. */
  stack?: string;
}

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
    const err = e as {
      name?: unknown;
      message?: unknown;
      code?: unknown;
      stack?: unknown;
    };
    const out: SerializedError = {
      name: typeof err.name === 'string' && err.name !== '' ? err.name : 'Error',
      message: typeof err.message === 'string' ? err.message : String(err.message),
    };
    if (typeof err.code === 'string') out.code = err.code;
    if (typeof err.stack === 'string') out.stack = err.stack;
    return out;
  }
  return {
    name: 'Error',
    message: typeof e === 'string' ? e : `non-error value thrown: ${describeValue(e)}`,
  };
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

/**
 * What the worker throws in place of `e`: a plain object, because structured cloning keeps
 * neither an error's class nor its `code`.
 */
export function toWireError(e: unknown): { [WIRE_ERROR]: SerializedError } {
  return { [WIRE_ERROR]: serializeError(e) };
}

/** Rebuilds an error that crossed the boundary (`what`: the call, for messages). */
export function errorFromWire(e: unknown, what: string): Error {
  if (typeof e === 'object' && e !== null && WIRE_ERROR in e) {
    const s = (e as Record<string, SerializedError>)[WIRE_ERROR];
    const wasm = (globalThis as { WebAssembly?: Record<string, unknown> }).WebAssembly;
    if (wasm && (s.name === 'RuntimeError' || s.name === 'CompileError' || s.name === 'LinkError')) {
      const Ctor = wasm[s.name] as new (message: string) => Error;
      const err = new Ctor(s.message);
      if (s.stack) err.stack = `${err.stack ?? ''}\n    --- remote stack ---\n${s.stack}`;
      return err;
    }
    return errorFromSerialized(s);
  }
  if (e instanceof Error || (typeof e === 'object' && e !== null && 'name' in e && 'message' in e)) {
    const err = e as Error;
    // Arguments that structured cloning refuses (functions, detached buffers, ...).
    if (err.name === 'DataCloneError') {
      return new ValueError(`${what}: the arguments cannot be sent to the worker (${err.message})`, { cause: e });
    }
    return err instanceof Error ? err : errorFromSerialized(err);
  }
  return new AutoencoderError(`${what} failed in the worker: ${describeValue(e)}`);
}
