/**
 * A model in a trainer's worker, seen from the calling thread: the `Autoencoder` methods,
 * async. Every public method is `async`, so an argument it refuses before anything is sent
 * (a bad `transfer` flag, a disposed model) rejects the returned promise like an error
 * from the worker does; nothing throws synchronously.
 */
import * as Comlink from 'comlink';
import type { CompileOptions, ResolvedCompile } from './compile.js';
import type { ToBytesOptions } from './autoencoder.js';
import { DisposedError, ValueError } from './errors.js';
import type { EpochLogs, History } from './fit.js';
import type { LayerSpec } from './layers.js';
import { Outgoing, readTransfer } from './outgoing.js';
import type { Tensor } from './tensor.js';
import type { Trainer } from './trainer.js';
import type { RemoteFitOptions, TransferOption } from './trainer-options.js';
import { describeValue } from './validate.js';
import type { FitListener, ModelInfo, RunKind, WireFitControl, WorkerApi } from './wire.js';

const PRIVATE = Symbol('RemoteAutoencoder');

/** @internal How a trainer wraps a model its worker built. */
export function remoteModel(trainer: Trainer, info: ModelInfo): RemoteAutoencoder {
  return new RemoteAutoencoder(PRIVATE, trainer, info);
}

/** Gives tensors that came back the same frozen shapes as the main-thread API. */
function freezeTensor(t: Tensor): Tensor {
  return { shape: Object.freeze(Array.from(t.shape)), data: t.data };
}

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

  /** predict / encode / decode: one tensor in, one (transferred back) out. */
  async #run(kind: RunKind, x: Tensor, opts: TransferOption | undefined): Promise<Tensor> {
    const out = new Outgoing(readTransfer(kind, opts));
    const prepared = out.carry(out.tensor(x));
    return freezeTensor(await this.#call(kind, (api, id) => api.run(id, kind, prepared)));
  }

  /** Trains in the worker; see `Autoencoder.fit`. Callbacks run on this thread. */
  async fit(x: Tensor, y: Tensor, opts?: RemoteFitOptions): Promise<History> {
    if (opts !== undefined && (typeof opts !== 'object' || opts === null || Array.isArray(opts))) {
      // Let the worker word the error exactly as Autoencoder.fit does.
      return this.#call('fit', (api, id) =>
        api.fit(id, x, y, opts as never, {
          fitId: 0,
          onEpochEnd: false,
          onBatchEnd: false,
          aborted: false,
        }),
      );
    }
    const { transfer, onEpochEnd, onBatchEnd, signal, ...rest } = (opts ?? {}) as RemoteFitOptions;
    if (rest.callbacks !== undefined) {
      // Callback objects are functions bound to this thread; they cannot cross to the worker.
      throw new ValueError(
        'callbacks are not supported for a model in a worker yet: use onEpochEnd (it runs on your thread), ' +
          'with remote.toBytes({ includeOptimizer: true }) for checkpoints',
      );
    }
    if (transfer !== undefined && typeof transfer !== 'boolean') {
      throw new ValueError(`fit options.transfer must be a boolean (true or false), got ${describeValue(transfer)}`);
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
      throw new ValueError(`signal must be an AbortSignal, got ${describeValue(signal)}`);
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
    return this.#run('predict', x, opts);
  }

  /** The learned codes: the encoder's layers. */
  async encode(x: Tensor, opts?: TransferOption): Promise<Tensor> {
    return this.#run('encode', x, opts);
  }

  /** Reconstructions from codes: the decoder's layers. */
  async decode(code: Tensor, opts?: TransferOption): Promise<Tensor> {
    return this.#run('decode', code, opts);
  }

  /** Mean squared error of predict(x) against y. */
  async evaluate(x: Tensor, y: Tensor, opts?: TransferOption): Promise<number> {
    const out = new Outgoing(readTransfer('evaluate', opts));
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
  async setWeights(weights: Tensor[], opts?: TransferOption): Promise<void> {
    const out = new Outgoing(readTransfer('setWeights', opts));
    const prepared = out.carry(out.tensor(weights));
    return this.#call('setWeights', (api, id) => api.setWeights(id, prepared));
  }

  /** Optimizer and loss (a fresh optimizer state), like `Autoencoder.compile`. */
  async compile(opts?: CompileOptions): Promise<void> {
    return this.#call('compile', (api, id) => api.compile(id, opts));
  }

  /** The resolved compile settings. */
  async compiled(): Promise<ResolvedCompile> {
    return this.#call('compiled', (api, id) => api.compiled(id));
  }

  async countParams(): Promise<number> {
    return this.#call('countParams', (api, id) => api.countParams(id));
  }

  async summary(): Promise<string> {
    return this.#call('summary', (api, id) => api.summary(id));
  }

  /** The model file (transferred from the worker); load it anywhere with `Autoencoder.fromBytes`. */
  async toBytes(opts?: ToBytesOptions): Promise<Uint8Array> {
    return this.#call('toBytes', (api, id) => api.toBytes(id, opts));
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
