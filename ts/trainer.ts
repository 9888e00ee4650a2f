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
import { AutoencoderError, DisposedError } from './errors.js';
import type { LayerSpec } from './layers.js';
import type { SequentialOptions } from './autoencoder.js';
import { Outgoing, readTransfer } from './outgoing.js';
import { remoteModel, type RemoteAutoencoder } from './remote-autoencoder.js';
import { locate, planSpawn, startWorker, type WorkerHandle } from './spawn.js';
import type { PresetName, PresetOptions, SpawnTrainerOptions, TransferOption } from './trainer-options.js';
import { WORKER_LISTENING, errorFromWire, type ModelInfo, type WorkerApi, type WorkerSetup } from './wire.js';

interface Pending {
  what: string;
  reject: (e: unknown) => void;
  /** Kept reachable while the call is pending (a model nobody else holds must not be collected mid-fit). */
  owner?: object;
}

/**
 * Starts a worker running the SDK and resolves once its WebAssembly module is ready.
 * Node: a `worker_threads` Worker (it does not keep the process alive while idle);
 * browsers: a module Web Worker. Rejects if the worker or its `.wasm` cannot be loaded.
 */
export async function spawnTrainer(opts?: SpawnTrainerOptions): Promise<Trainer> {
  const { workerUrl, name, setup } = planSpawn(opts);
  const trainer = new Trainer(PRIVATE);
  await trainer._start(workerUrl, name, setup);
  return trainer;
}

const PRIVATE = Symbol('Trainer');

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
          reject(errorFromWire(e, what));
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
    const model = remoteModel(this, info);
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
