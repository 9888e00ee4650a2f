/**
 * Training off the main thread: `spawnTrainer()` starts a worker (a module Web Worker in
 * browsers, a `worker_threads` Worker in Node) that runs the SDK, and returns a
 * {@link Trainer} whose models ({@link RemoteAutoencoder}) have the `Autoencoder` methods,
 * async. Calls cross the boundary with Comlink.
 *
 * - Progress callbacks (`onEpochEnd`, `onBatchEnd`) run on the calling thread; the worker
 *   awaits each one before the next batch, as `Autoencoder.fit` does.
 * - An `AbortSignal` stays on the calling thread; its abort is forwarded to the worker,
 *   which stops after the current batch (an abort made inside a callback takes effect
 *   right after that callback, exactly as on the main thread).
 * - Transfer policy: results (predict/encode/decode outputs, weights, model bytes) are
 *   always transferred from the worker, never copied. Arguments are copied, unless the
 *   call gets `{ transfer: true }`: then the buffers behind the tensors' `data` (and the
 *   bytes given to `fromBytes`) are transferred and become detached (length 0) in the
 *   caller. A view into a larger buffer, or a SharedArrayBuffer, is copied anyway.
 * - Errors thrown in the worker reject with the original class (`ShapeError`,
 *   `ValueError`, ..., `TypeError`, `WebAssembly.RuntimeError`), message and `code`;
 *   the trainer stays usable. A worker that dies (terminate(), a crash) rejects every
 *   pending call at once: nothing hangs.
 *
 * Where the worker script is: `new URL('./worker.js', import.meta.url)`, i.e. beside this
 * module in `dist/` (Node) or `dist/browser/` (browsers). Bundlers that understand
 * `new Worker(new URL('./worker.js', import.meta.url), { type: 'module' })` (Vite,
 * webpack 5, Parcel) bundle the worker with the app. `spawnTrainer({ workerUrl })`
 * overrides the location.
 */
import * as Comlink from 'comlink';
import {
  AutoencoderError,
  DisposedError,
  ValueError,
  checkOptions,
  describeValue,
  errorFromSerialized,
  type SerializedError,
} from './errors.js';
import type { CompileOptions, ResolvedCompile } from './compile.js';
import type { EpochLogs, FitOptions, History } from './fit.js';
import type { LayerSpec } from './layers.js';
import type { SequentialOptions } from './autoencoder.js';
import type { Tensor } from './tensor.js';
import { assertThreads } from './wasm.js';
import { hasUrlScheme, importNodeBuiltin, isNode } from './runtime.js';
import type { WorkerApi, WorkerSetup, ModelInfo, WireFitControl, FitListener } from './worker.js';

// ---------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------

/** The tutorial's models, by name. */
export type PresetName = 'vanilla' | 'deep' | 'convolutional' | 'denoising';

/** Options of each preset, as the functions `vanilla()`, `deep()`, ... take them. */
export interface PresetOptions {
  vanilla: { encodingSize?: number; seed?: number };
  deep: { seed?: number };
  convolutional: { seed?: number };
  denoising: { seed?: number };
}

/** Per-call option of the remote methods that take data. */
export interface TransferOption {
  /**
   * Transfer the buffers behind the arguments' `data` (or the `bytes`) to the worker
   * instead of copying them: faster, and the caller's arrays become detached (length 0).
   * Default false (copy).
   */
  transfer?: boolean;
}

/** `fit` options of a remote model: `FitOptions` (callbacks and `signal` included) plus `transfer`. */
export interface RemoteFitOptions extends FitOptions, TransferOption {}

export interface SpawnTrainerOptions {
  /** Where the worker script is. Default: `new URL('./worker.js', import.meta.url)`. */
  workerUrl?: string | URL;
  /**
   * Where the worker loads the `.wasm` from (passed to `init()` inside the worker).
   * Default: `init()`'s own default, the file beside the worker script.
   */
  wasmUrl?: string | URL;
  /**
   * Threads the worker trains with: `'auto'` (the default: every core where shared memory is
   * available, else 1; see `init()`) or an integer from 1 to 64. With 2 or more, the worker
   * calls `init({ threads })`: it loads the threads build and starts `threads - 1` helpers
   * of its own (nested workers), which `terminate()` ends with it. In a browser page that is
   * not cross-origin isolated the worker logs one console line and runs 1 thread;
   * {@link Trainer.threads} tells how many run. `threads: 1` gives the same weights for a
   * seeded run on every machine.
   */
  threads?: number | 'auto';
  /**
   * Where the worker loads the threads build's `.wasm` from (`init()`'s `threadsSource`).
   * Default: the file beside the worker script. Only used with `threads` ≥ 2.
   */
  threadsWasmUrl?: string | URL;
  /**
   * URL of the threads build's glue, `wasm_autoencoders_threads.js` (`init()`'s
   * `threadsGlue`). Default: the file beside the worker script. Only used with `threads` ≥ 2.
   */
  threadsGlueUrl?: string | URL;
  /** A name for the worker (shown in browser dev tools and Node's `threadName`). */
  name?: string;
}

// ---------------------------------------------------------------------------
// Internals shared with the worker
// ---------------------------------------------------------------------------

/**
 * The worker's first message, sent once its Comlink listener is attached: calls sent
 * earlier could be missed (e.g. by a Node worker whose port another listener started).
 */
export const WORKER_LISTENING = '__wasmAutoencodersListening';

/** Key under which the worker sends a serialized error (thrown as a plain object). */
export const WIRE_ERROR = '__wasmAutoencodersError';

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
export function nodeEndpoint(port: NodeMessagePortLike): Comlink.Endpoint {
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
  } as Comlink.Endpoint;
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

/** Rebuilds an error that crossed the boundary. */
function fromWire(e: unknown, what: string): Error {
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

/** Gives tensors that came back the same frozen shapes as the main-thread API. */
function freezeTensor(t: Tensor): Tensor {
  return { shape: Object.freeze(Array.from(t.shape)), data: t.data };
}

/**
 * Arguments on their way to the worker. Typed arrays that are views into a larger buffer
 * are copied down to their own bytes first (structured cloning would copy the whole
 * buffer), and those private copies are always transferred. With `move`, the caller's own
 * whole buffers are transferred too (detached here). The same object given twice (as in
 * `fit(x, x)`) is prepared once, so it crosses once.
 */
class Outgoing {
  readonly #move: boolean;
  readonly #seen = new Map<object, unknown>();
  readonly #transfer = new Set<ArrayBuffer>();

  constructor(move: boolean) {
    this.#move = move;
  }

  #view<T>(v: T): T {
    if (!ArrayBuffer.isView(v) || v instanceof DataView) return v;
    const buffer = v.buffer;
    if (!(buffer instanceof ArrayBuffer) || buffer.byteLength === 0) return v; // shared or detached: as is
    if (v.byteOffset !== 0 || v.byteLength !== buffer.byteLength) {
      const copy = (v as unknown as Float32Array).slice();
      this.#transfer.add(copy.buffer as ArrayBuffer);
      return copy as unknown as T;
    }
    if (this.#move) this.#transfer.add(buffer);
    return v;
  }

  /** A tensor-like `{ shape, data }` (anything else passes unchanged, for the worker to refuse). */
  tensor<T>(t: T): T {
    if (typeof t !== 'object' || t === null) return t;
    if (this.#seen.has(t)) return this.#seen.get(t) as T;
    let out: unknown = t;
    if (ArrayBuffer.isView(t)) out = this.#view(t);
    else if (Array.isArray(t)) out = t.map((item) => this.tensor(item));
    else if ('data' in t) {
      const data = (t as { data: unknown }).data;
      const prepared = this.#view(data);
      if (prepared !== data) out = { ...t, data: prepared };
    }
    this.#seen.set(t, out);
    return out as T;
  }

  /**
   * Marks `carrier` (a fresh object of ours, never the caller's: Comlink remembers
   * transfer lists per object) with the buffers to transfer.
   */
  attach<T extends object>(carrier: T): T {
    return this.#transfer.size > 0 ? Comlink.transfer(carrier, [...this.#transfer]) : carrier;
  }

  /** `value` itself when nothing is transferred, else a fresh carrier for it. */
  carry<T>(value: T): T {
    if (this.#transfer.size === 0 || typeof value !== 'object' || value === null) return value;
    const carrier = Array.isArray(value) ? value.slice() : ArrayBuffer.isView(value) ? value : { ...value };
    return this.attach(carrier as T & object);
  }
}

function readTransfer(what: string, opts: unknown): boolean {
  const o = checkOptions<TransferOption>(`${what} options`, opts, ['transfer']);
  if (o.transfer !== undefined && typeof o.transfer !== 'boolean') {
    throw new ValueError(
      `${what} options.transfer must be a boolean (true or false), got ${describeValue(o.transfer)}`,
    );
  }
  return o.transfer === true;
}

// ---------------------------------------------------------------------------
// The worker connection
// ---------------------------------------------------------------------------

interface Pending {
  what: string;
  reject: (e: unknown) => void;
  /** Kept reachable while the call is pending (a model nobody else holds must not be collected mid-fit). */
  owner?: object;
}

/** A Node `worker_threads` Worker or a Web Worker, behind one small interface. */
interface WorkerHandle {
  endpoint: Comlink.Endpoint;
  /** Keep the Node event loop alive only while calls are pending. */
  setBusy(busy: boolean): void;
  terminate(): Promise<void>;
}

/** Watches a Web Worker: an error event means the worker's state is unknown, so it counts as dead. */
function webWorkerHandle(
  worker: Worker,
  url: string,
  onDeath: (error: Error | undefined, exitCode: number | undefined) => void,
): WorkerHandle {
  worker.addEventListener('error', (ev: Event) => {
    // A script that fails to load or evaluate, or an uncaught error in it.
    ev.preventDefault?.();
    const message = (ev as ErrorEvent).message;
    worker.terminate();
    onDeath(
      new AutoencoderError(
        message
          ? `the trainer's worker failed: ${message}`
          : `the trainer's worker could not be started from ${url} (the script failed to load or to run)`,
        { code: 'ERR_WORKER_CRASHED' },
      ),
      undefined,
    );
  });
  return {
    endpoint: worker as unknown as Comlink.Endpoint,
    setBusy: () => {},
    terminate: async () => worker.terminate(),
  };
}

async function startWorker(
  url: URL | string | undefined,
  name: string,
  onDeath: (error: Error | undefined, exitCode: number | undefined) => void,
): Promise<WorkerHandle> {
  if (isNode()) {
    const { Worker } = await importNodeBuiltin<typeof import('node:worker_threads')>('node:worker_threads');
    // Not written as `new Worker(new URL(...))`: bundlers must not take this branch for a Web Worker.
    const file = './worker.js';
    const worker = new Worker(url ?? new URL(file, import.meta.url), { name });
    let lastError: Error | undefined;
    worker.on('error', (e: Error) => {
      lastError = e;
    });
    worker.on('exit', (code: number) => onDeath(lastError, code));
    return {
      endpoint: nodeEndpoint(worker as unknown as NodeMessagePortLike),
      setBusy: (busy) => (busy ? worker.ref() : worker.unref()),
      terminate: async () => {
        await worker.terminate();
      },
    };
  }
  if (typeof Worker !== 'function') {
    throw new AutoencoderError(
      'spawnTrainer needs Web Workers (or Node worker_threads); this environment has neither',
      {
        code: 'ERR_WORKER_UNSUPPORTED',
      },
    );
  }
  if (url === undefined) {
    // The exact form bundlers recognise: they bundle ./worker.js with the app and rewrite the URL.
    const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name });
    return webWorkerHandle(worker, 'worker.js beside the SDK module', onDeath);
  }
  return webWorkerHandle(new Worker(url, { type: 'module', name }), String(url), onDeath);
}

// ---------------------------------------------------------------------------
// Trainer
// ---------------------------------------------------------------------------

let trainerCount = 0;

/**
 * Starts a worker running the SDK and resolves once its WebAssembly module is ready.
 * Node: a `worker_threads` Worker (it does not keep the process alive while idle);
 * browsers: a module Web Worker. Rejects if the worker or its `.wasm` cannot be loaded.
 */
export async function spawnTrainer(opts?: SpawnTrainerOptions): Promise<Trainer> {
  const urlKeys = ['workerUrl', 'wasmUrl', 'threadsWasmUrl', 'threadsGlueUrl'] as const;
  // 'threads' before the keys it prefixes: a misspelt "thread" then suggests "threads".
  const o = checkOptions<SpawnTrainerOptions>('spawnTrainer options', opts, ['threads', ...urlKeys, 'name']);
  for (const key of urlKeys) {
    const v = o[key];
    if (v !== undefined && typeof v !== 'string' && !(v instanceof URL)) {
      throw new ValueError(`spawnTrainer options.${key} must be a URL or a string, got ${describeValue(v)}`);
    }
  }
  let threads: number | 'auto' = 'auto';
  if (o.threads !== undefined && o.threads !== 'auto')
    threads = assertThreads('spawnTrainer options.threads', o.threads);
  if (o.name !== undefined && typeof o.name !== 'string') {
    throw new ValueError(`spawnTrainer options.name must be a string, got ${describeValue(o.name)}`);
  }
  const name = o.name ?? `wasm-autoencoders trainer ${++trainerCount}`;
  // Sent as strings (a URL object does not survive structured cloning as a URL).
  const located = (key: (typeof urlKeys)[number]) => {
    const u = o[key];
    if (u === undefined) return undefined;
    try {
      return String(locate(u));
    } catch (e) {
      throw new ValueError(
        `spawnTrainer options.${key} is not a valid URL or path: ${describeValue(u)} (${(e as Error)?.message ?? e})`,
      );
    }
  };
  const setup: WorkerSetup = {
    wasmUrl: located('wasmUrl'),
    threads,
    threadsWasmUrl: located('threadsWasmUrl'),
    threadsGlueUrl: located('threadsGlueUrl'),
  };
  const trainer = new Trainer(PRIVATE);
  await trainer._start(o.workerUrl, name, setup);
  return trainer;
}

const PRIVATE = Symbol('Trainer');

/**
 * A URL or path as the worker constructor and `init()` take it: in Node a file path or a
 * `URL` object (a `file:` string becomes a URL); in browsers an absolute URL string
 * (relative ones resolve against the page).
 */
function locate(u: string | URL): string | URL {
  const hasScheme = typeof u === 'string' && hasUrlScheme(u);
  if (isNode()) return typeof u === 'string' && hasScheme ? new URL(u) : u;
  if (u instanceof URL || hasScheme) return String(u);
  const base = (globalThis as { location?: { href: string } }).location?.href;
  return base ? new URL(u, base).href : u;
}

/** A worker running the SDK. Make one with {@link spawnTrainer}. */
export class Trainer {
  #api: Comlink.Remote<WorkerApi> | undefined;
  #worker: WorkerHandle | undefined;
  #pending = new Set<Pending>();
  #death: { forPending: (what: string) => Error; later: (what: string) => Error } | undefined;
  #terminating = false;
  #fitCount = 0;
  #threads = 1;
  #registry =
    typeof FinalizationRegistry === 'function'
      ? new FinalizationRegistry<number>((id) => {
          // A RemoteAutoencoder was garbage-collected without dispose(): free its model.
          if (this.#death || !this.#api) return;
          this.#api.dispose(id).catch(() => {});
        })
      : undefined;

  /** Use {@link spawnTrainer}. */
  constructor(token: symbol) {
    if (token !== PRIVATE) throw new TypeError('use spawnTrainer() to make a Trainer');
  }

  /** @internal */
  async _start(workerUrl: string | URL | undefined, name: string, setup: WorkerSetup): Promise<void> {
    const onDeath = (error: Error | undefined, exitCode: number | undefined) => this.#die(error, exitCode);
    try {
      this.#worker = await startWorker(workerUrl === undefined ? undefined : locate(workerUrl), name, onDeath);
      await this.#listening(this.#worker.endpoint);
      this.#api = Comlink.wrap<WorkerApi>(this.#worker.endpoint);
      this.#threads = await this.#call('spawnTrainer', (api) => api.ready(setup));
    } catch (e) {
      await this.terminate();
      if (e instanceof AutoencoderError) throw e;
      const where = workerUrl === undefined ? 'worker.js beside the SDK module' : String(workerUrl);
      throw new AutoencoderError(
        `spawnTrainer: the worker (${where}) could not be started: ${(e as Error)?.message ?? String(e)}`,
        {
          code: 'ERR_WORKER_START',
          cause: e,
        },
      );
    }
  }

  /** Waits for the worker's WORKER_LISTENING message (or its death). */
  #listening(endpoint: Comlink.Endpoint): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const pending: Pending = { what: 'spawnTrainer', reject };
      const onMessage = (ev: Event) => {
        const data = (ev as MessageEvent).data as Record<string, unknown> | undefined;
        if (typeof data !== 'object' || data === null || data[WORKER_LISTENING] !== true) return;
        endpoint.removeEventListener('message', onMessage);
        if (this.#pending.delete(pending)) resolve();
      };
      if (this.#death) {
        reject(this.#death.forPending('spawnTrainer'));
        return;
      }
      this.#pending.add(pending);
      this.#worker?.setBusy(true);
      endpoint.addEventListener('message', onMessage);
      endpoint.start?.();
    });
  }

  #die(error: Error | undefined, exitCode: number | undefined): void {
    if (this.#death) return;
    if (this.#terminating) {
      this.#death = {
        forPending: (what) =>
          new AutoencoderError(`${what} was interrupted: the trainer was terminated`, {
            code: 'ERR_TRAINER_TERMINATED',
          }),
        later: (what) => new DisposedError(`${what}: this trainer was terminated`),
      };
    } else {
      const why = error ? `${error.name}: ${error.message}` : `exit code ${exitCode ?? 'unknown'}`;
      this.#death = {
        // The crash's own error when there is one (original class and message).
        forPending: (what) =>
          error ??
          new AutoencoderError(`${what} failed: the trainer's worker exited (${why})`, { code: 'ERR_WORKER_EXITED' }),
        later: (what) =>
          new AutoencoderError(`${what}: the trainer's worker has stopped (${why}); spawn a new trainer`, {
            code: 'ERR_WORKER_EXITED',
            cause: error,
          }),
      };
    }
    const pending = [...this.#pending];
    this.#pending.clear();
    for (const p of pending) p.reject(this.#death.forPending(p.what));
    this.#worker?.setBusy(false);
  }

  /** Runs one remote call: rejects with the rebuilt error, or at once if the worker dies. */
  #call<T>(what: string, run: (api: Comlink.Remote<WorkerApi>) => Promise<T>, owner?: object): Promise<T> {
    if (this.#death) return Promise.reject(this.#death.later(what));
    const api = this.#api;
    if (!api) return Promise.reject(new DisposedError(`${what}: the trainer is not started`));
    return new Promise<T>((resolve, reject) => {
      const pending: Pending = { what, reject, owner };
      this.#pending.add(pending);
      this.#worker?.setBusy(true);
      let promise: Promise<T>;
      try {
        promise = run(api);
      } catch (e) {
        promise = Promise.reject(e);
      }
      promise.then(
        (value) => {
          if (!this.#pending.delete(pending)) return; // already rejected: the worker died
          if (this.#pending.size === 0) this.#worker?.setBusy(false);
          resolve(value);
        },
        (e: unknown) => {
          if (!this.#pending.delete(pending)) return;
          if (this.#pending.size === 0) this.#worker?.setBusy(false);
          reject(fromWire(e, what));
        },
      );
    });
  }

  /** @internal Used by RemoteAutoencoder. */
  _call<T>(what: string, run: (api: Comlink.Remote<WorkerApi>) => Promise<T>, owner?: object): Promise<T> {
    return this.#call(what, run, owner);
  }

  /** @internal */
  _nextFitId(): number {
    return ++this.#fitCount;
  }

  /** @internal */
  _abortFit(fitId: number): void {
    if (this.#death || !this.#api) return;
    this.#api.abort(fitId).catch(() => {});
  }

  #wrap(info: ModelInfo): RemoteAutoencoder {
    const model = new RemoteAutoencoder(PRIVATE, this, info);
    this.#registry?.register(model, info.id, model);
    return model;
  }

  /** @internal */
  _forget(model: RemoteAutoencoder): void {
    this.#registry?.unregister(model);
  }

  /** A preset built in the worker: `create('convolutional', { seed: 1 })`. */
  async create<P extends PresetName>(preset: P, opts?: PresetOptions[P]): Promise<RemoteAutoencoder> {
    return this.#wrap(await this.#call('create', (api) => api.create(preset, opts)));
  }

  /** A model from layers, built in the worker, like `sequential(layers, opts)`. */
  async sequential(layers: LayerSpec[], opts: SequentialOptions): Promise<RemoteAutoencoder> {
    return this.#wrap(await this.#call('sequential', (api) => api.sequential(layers, opts)));
  }

  /** A model loaded in the worker from `toBytes()` output (of either thread). */
  async fromBytes(bytes: Uint8Array, opts?: TransferOption): Promise<RemoteAutoencoder> {
    const transfer = readTransfer('fromBytes', opts);
    const out = new Outgoing(transfer);
    const prepared = out.carry(out.tensor(bytes));
    return this.#wrap(await this.#call('fromBytes', (api) => api.fromBytes(prepared)));
  }

  /**
   * Threads the worker trains with, fixed at spawn: `spawnTrainer({ threads })` (default
   * `'auto'`: one per core), or 1 when a browser page is not cross-origin isolated (the
   * worker then logs why).
   */
  get threads(): number {
    return this.#threads;
  }

  /** True once `terminate()` ran or the worker died. */
  get terminated(): boolean {
    return this.#death !== undefined;
  }

  /**
   * Ends the worker, every model in it and its helper threads (nested workers, which end
   * with the worker that started them). Pending calls reject with an
   * `AutoencoderError` (code `'ERR_TRAINER_TERMINATED'`); later calls reject with
   * `DisposedError`. Idempotent.
   */
  async terminate(): Promise<void> {
    if (this.#death) return;
    this.#terminating = true;
    this.#die(undefined, undefined);
    const worker = this.#worker;
    if (worker) await worker.terminate();
  }
}

// ---------------------------------------------------------------------------
// RemoteAutoencoder
// ---------------------------------------------------------------------------

/**
 * A model living in a trainer's worker: the `Autoencoder` API, async. Bring a trained
 * model to the calling thread with `Autoencoder.fromBytes(await remote.toBytes())`.
 */
export class RemoteAutoencoder {
  readonly inputShape: number[];
  readonly outputShape: number[];
  readonly codeShape: number[];
  readonly encoderLength: number;
  readonly layers: readonly LayerSpec[];
  readonly trainer: Trainer;
  readonly #id: number;
  #disposed = false;

  /** Use `trainer.create()`, `trainer.sequential()` or `trainer.fromBytes()`. */
  constructor(token: symbol, trainer: Trainer, info: ModelInfo) {
    if (token !== PRIVATE) throw new TypeError('use trainer.create(), trainer.sequential() or trainer.fromBytes()');
    this.trainer = trainer;
    this.#id = info.id;
    this.inputShape = info.inputShape;
    this.outputShape = info.outputShape;
    this.codeShape = info.codeShape;
    this.encoderLength = info.encoderLength;
    this.layers = Object.freeze(info.layers.map((l) => Object.freeze(l)));
  }

  #call<T>(what: string, run: (api: Comlink.Remote<WorkerApi>, id: number) => Promise<T>): Promise<T> {
    if (this.#disposed) return Promise.reject(new DisposedError(`${what}: this model was disposed`));
    return this.trainer._call(what, (api) => run(api, this.#id), this);
  }

  /** Trains in the worker; see `Autoencoder.fit`. Callbacks run on this thread. */
  fit(x: Tensor, y: Tensor, opts?: RemoteFitOptions): Promise<History> {
    if (opts !== undefined && (typeof opts !== 'object' || opts === null || Array.isArray(opts))) {
      // Let the worker word the error exactly as Autoencoder.fit does.
      return this.#call('fit', (api, id) =>
        api.fit(id, x, y, opts as never, { fitId: 0, onEpochEnd: false, onBatchEnd: false, aborted: false }),
      );
    }
    const { transfer, onEpochEnd, onBatchEnd, signal, ...rest } = (opts ?? {}) as RemoteFitOptions;
    if (transfer !== undefined && typeof transfer !== 'boolean') {
      return Promise.reject(
        new ValueError(`fit options.transfer must be a boolean (true or false), got ${describeValue(transfer)}`),
      );
    }
    if (
      signal !== undefined &&
      !(
        typeof signal === 'object' &&
        signal !== null &&
        'aborted' in signal &&
        typeof signal.addEventListener === 'function'
      )
    ) {
      return Promise.reject(new ValueError(`signal must be an AbortSignal, got ${describeValue(signal)}`));
    }
    const wire: Record<string, unknown> = { ...rest };
    // Non-functions go through so that the worker rejects them with the usual message.
    if (onEpochEnd !== undefined && typeof onEpochEnd !== 'function') wire.onEpochEnd = onEpochEnd;
    if (onBatchEnd !== undefined && typeof onBatchEnd !== 'function') wire.onBatchEnd = onBatchEnd;
    const control: WireFitControl = {
      fitId: this.trainer._nextFitId(),
      onEpochEnd: typeof onEpochEnd === 'function',
      onBatchEnd: typeof onBatchEnd === 'function',
      aborted: signal?.aborted === true,
    };
    const aborted = () => signal?.aborted === true;
    const listener: FitListener | undefined =
      control.onEpochEnd || control.onBatchEnd
        ? {
            async epoch(epoch: number, logs: EpochLogs) {
              await onEpochEnd?.(epoch, logs);
              return aborted();
            },
            async batch(batch: number, logs: { loss: number }) {
              await onBatchEnd?.(batch, logs);
              return aborted();
            },
          }
        : undefined;
    const onAbort = () => this.trainer._abortFit(control.fitId);
    signal?.addEventListener('abort', onAbort, { once: true });
    const out = new Outgoing(transfer === true);
    const xs = out.tensor(x);
    const ys = out.tensor(y);
    if (wire.validationData !== undefined) wire.validationData = out.tensor(wire.validationData);
    return this.#call('fit', (api, id) =>
      api.fit(id, xs, ys, wire as never, out.attach(control), listener ? Comlink.proxy(listener) : undefined),
    ).finally(() => signal?.removeEventListener('abort', onAbort));
  }

  /** Reconstructions: the whole model. */
  async predict(x: Tensor, opts?: TransferOption): Promise<Tensor> {
    const transfer = readTransfer('predict', opts);
    const out = new Outgoing(transfer);
    const prepared = out.carry(out.tensor(x));
    return freezeTensor(await this.#call('predict', (api, id) => api.run(id, 'predict', prepared)));
  }

  /** The learned codes: the encoder's layers. */
  async encode(x: Tensor, opts?: TransferOption): Promise<Tensor> {
    const transfer = readTransfer('encode', opts);
    const out = new Outgoing(transfer);
    const prepared = out.carry(out.tensor(x));
    return freezeTensor(await this.#call('encode', (api, id) => api.run(id, 'encode', prepared)));
  }

  /** Reconstructions from codes: the decoder's layers. */
  async decode(code: Tensor, opts?: TransferOption): Promise<Tensor> {
    const transfer = readTransfer('decode', opts);
    const out = new Outgoing(transfer);
    const prepared = out.carry(out.tensor(code));
    return freezeTensor(await this.#call('decode', (api, id) => api.run(id, 'decode', prepared)));
  }

  /** Mean squared error of predict(x) against y. */
  evaluate(x: Tensor, y: Tensor, opts?: TransferOption): Promise<number> {
    let transfer: boolean;
    try {
      transfer = readTransfer('evaluate', opts);
    } catch (e) {
      return Promise.reject(e);
    }
    const out = new Outgoing(transfer);
    const xs = out.tensor(x);
    const ys = out.tensor(y);
    const carried = out.carry(xs);
    return this.#call('evaluate', (api, id) => api.evaluate(id, carried, ys));
  }

  /** Weight tensors in Keras order (transferred from the worker, not copied). */
  async getWeights(): Promise<Tensor[]> {
    return (await this.#call('getWeights', (api, id) => api.getWeights(id))).map(freezeTensor);
  }

  /** Replaces every weight; checked first, like `Autoencoder.setWeights`. */
  setWeights(weights: Tensor[], opts?: TransferOption): Promise<void> {
    let transfer: boolean;
    try {
      transfer = readTransfer('setWeights', opts);
    } catch (e) {
      return Promise.reject(e);
    }
    const out = new Outgoing(transfer);
    const prepared = out.carry(out.tensor(weights));
    return this.#call('setWeights', (api, id) => api.setWeights(id, prepared));
  }

  /** Optimizer and loss (a fresh optimizer state), like `Autoencoder.compile`. */
  compile(opts?: CompileOptions): Promise<void> {
    return this.#call('compile', (api, id) => api.compile(id, opts));
  }

  /** The resolved compile settings. */
  compiled(): Promise<ResolvedCompile> {
    return this.#call('compiled', (api, id) => api.compiled(id));
  }

  countParams(): Promise<number> {
    return this.#call('countParams', (api, id) => api.countParams(id));
  }

  summary(): Promise<string> {
    return this.#call('summary', (api, id) => api.summary(id));
  }

  /** The model file (transferred from the worker); load it anywhere with `Autoencoder.fromBytes`. */
  toBytes(): Promise<Uint8Array> {
    return this.#call('toBytes', (api, id) => api.toBytes(id));
  }

  /** Frees the model in the worker. Idempotent; during fit() it takes effect after the current batch. */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    this.trainer._forget(this);
    if (this.trainer.terminated) return;
    await this.trainer._call('dispose', (api) => api.dispose(this.#id));
  }

  get isDisposed(): boolean {
    return this.#disposed || this.trainer.terminated;
  }
}
