/**
 * The worker side of `spawnTrainer()` (built to `dist/worker.js` and
 * `dist/browser/worker.js`): holds models by id and exposes them through Comlink. Runs as a
 * module Web Worker in browsers and as a `worker_threads` Worker in Node. Not meant to be
 * imported by applications; `spawnTrainer()` starts it.
 *
 * With `spawnTrainer({ threads: n })` (n ≥ 2) this worker loads the threads build and starts
 * n - 1 helpers of its own: nested workers, which end when this worker is terminated.
 *
 * It implements `WorkerApi` (`wire.ts`, the protocol both sides share). Every method catches
 * what it throws and sends it as `toWireError(e)`, so that the caller rebuilds the original
 * class, message and code.
 */
import * as Comlink from 'comlink';
import { Autoencoder, type SequentialOptions, type ToBytesOptions } from './autoencoder.js';
import type { CompileOptions, ResolvedCompile } from './compile.js';
import { DisposedError } from './errors.js';
import type { FitOptions, History } from './fit.js';
import type { LayerSpec } from './layers.js';
import { convolutional, deep, denoising, sequential, vanilla } from './presets.js';
import type { Tensor } from './tensor.js';
import { assertOneOf } from './validate.js';
import {
  WORKER_LISTENING,
  nodeEndpoint,
  toWireError,
  transferablesOf,
  type FitListener,
  type ModelInfo,
  type NodeMessagePortLike,
  type RunKind,
  type WireFitControl,
  type WireFitOptions,
  type WorkerApi,
  type WorkerSetup,
} from './wire.js';
import { importNodeBuiltin } from './runtime.js';
import { init, threadCount } from './wasm.js';

const PRESETS = { vanilla, deep, convolutional, denoising } as const;
const PRESET_NAMES = Object.keys(PRESETS) as (keyof typeof PRESETS)[];
const RUN_KINDS: readonly RunKind[] = ['predict', 'encode', 'decode'];

const models = new Map<number, Autoencoder>();
const fits = new Map<number, AbortController>();
let nextId = 1;

function model(id: number, what: string): Autoencoder {
  const m = models.get(id);
  if (!m || m.isDisposed) throw new DisposedError(`${what}: this model was disposed`);
  return m;
}

function register(m: Autoencoder): ModelInfo {
  const id = nextId++;
  models.set(id, m);
  return {
    id,
    inputShape: m.inputShape.slice(),
    outputShape: m.outputShape.slice(),
    codeShape: m.codeShape.slice(),
    encoderLength: m.encoderLength,
    layers: structuredClone(m.layers) as LayerSpec[],
  };
}

/** A tensor whose buffer is its own, marked for transfer back to the caller. */
function sendTensor(t: Tensor): Tensor {
  let data = t.data;
  if (transferablesOf([data]).length === 0) data = data.slice();
  return Comlink.transfer({ shape: Array.from(t.shape), data }, [data.buffer as ArrayBuffer]);
}

/** Runs `fn`, sending any error in its serialized form. Runs synchronously up to fn's first await. */
function guard<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => Promise<Awaited<R>> {
  return async (...args: A): Promise<Awaited<R>> => {
    try {
      return (await fn(...args)) as Awaited<R>;
    } catch (e) {
      throw toWireError(e);
    }
  };
}

const api: WorkerApi = {
  ready: guard(async ({ wasmUrl, threads, threadsWasmUrl, threadsGlueUrl }: WorkerSetup): Promise<number> => {
    await init({
      threads,
      source: wasmUrl,
      threadsSource: threadsWasmUrl,
      threadsGlue: threadsGlueUrl,
    });
    return threadCount();
  }),

  create: guard((preset: string, opts?: Record<string, unknown>): ModelInfo => {
    const name = assertOneOf('preset', preset, PRESET_NAMES);
    return register(PRESETS[name](opts as never));
  }),

  sequential: guard((layerSpecs: LayerSpec[], opts: SequentialOptions): ModelInfo =>
    register(sequential(layerSpecs, opts)),
  ),

  fromBytes: guard((bytes: Uint8Array): ModelInfo => register(Autoencoder.fromBytes(bytes))),

  fit: guard(
    async (
      id: number,
      x: Tensor,
      y: Tensor,
      opts: WireFitOptions | undefined,
      control: WireFitControl,
      proxiedListener?: FitListener & Comlink.ProxyMarked,
    ): Promise<History> => {
      // What arrives is Comlink's remote view of the caller's listener.
      const listener = proxiedListener as unknown as Comlink.Remote<FitListener> | undefined;
      // Registered before the first await: an abort message that follows fit is never lost.
      const controller = new AbortController();
      fits.set(control.fitId, controller);
      if (control.aborted) controller.abort();
      try {
        const m = model(id, 'fit');
        let o: unknown = opts;
        if (opts !== undefined && typeof opts === 'object' && opts !== null && !Array.isArray(opts)) {
          const full: FitOptions = { ...opts, signal: controller.signal };
          if (listener && control.onEpochEnd) {
            full.onEpochEnd = async (epoch, logs) => {
              if (await listener.epoch(epoch, logs)) controller.abort();
            };
          }
          if (listener && control.onBatchEnd) {
            full.onBatchEnd = async (batch, logs) => {
              if (await listener.batch(batch, logs)) controller.abort();
            };
          }
          o = full;
        } else if (opts === undefined) {
          o = { signal: controller.signal };
        }
        return await m.fit(x, y, o as FitOptions);
      } finally {
        fits.delete(control.fitId);
        listener?.[Comlink.releaseProxy]();
      }
    },
  ),

  abort: guard((fitId: number): void => {
    fits.get(fitId)?.abort();
  }),

  run: guard((id: number, kind: RunKind, x: Tensor): Tensor => {
    const what = assertOneOf('method', kind, RUN_KINDS);
    return sendTensor(model(id, what)[what](x));
  }),

  evaluate: guard((id: number, x: Tensor, y: Tensor): number => model(id, 'evaluate').evaluate(x, y)),

  getWeights: guard((id: number): Tensor[] => {
    const weights = model(id, 'getWeights').getWeights();
    const out = weights.map((w) => ({
      shape: Array.from(w.shape),
      data: w.data,
    }));
    return Comlink.transfer(out, transferablesOf(out.map((w) => w.data)));
  }),

  setWeights: guard((id: number, weights: Tensor[]): void => model(id, 'setWeights').setWeights(weights)),

  compile: guard((id: number, opts?: CompileOptions): void => model(id, 'compile').compile(opts)),

  compiled: guard((id: number): ResolvedCompile => model(id, 'compiled').compiled),

  countParams: guard((id: number): number => model(id, 'countParams').countParams()),

  summary: guard((id: number): string => model(id, 'summary').summary()),

  toBytes: guard((id: number, opts?: ToBytesOptions): Uint8Array => {
    const bytes = model(id, 'toBytes').toBytes(opts);
    return Comlink.transfer(bytes, transferablesOf([bytes]));
  }),

  dispose: guard((id: number): void => {
    const m = models.get(id);
    models.delete(id);
    m?.dispose();
  }),
};

const WorkerScope = (globalThis as { WorkerGlobalScope?: abstract new () => unknown }).WorkerGlobalScope;
const inWebWorker = typeof WorkerScope === 'function' && globalThis instanceof WorkerScope;

/** Serves the API on `ep`, then tells the caller that its messages will be heard. */
function serve(ep: Comlink.Endpoint): void {
  Comlink.expose(api, ep);
  ep.postMessage({ [WORKER_LISTENING]: true });
}

if (inWebWorker) {
  serve(globalThis as unknown as Comlink.Endpoint);
} else if (typeof process !== 'undefined' && typeof process.versions?.node === 'string') {
  void importNodeBuiltin<typeof import('node:worker_threads')>('node:worker_threads').then(({ parentPort }) => {
    if (parentPort) serve(nodeEndpoint(parentPort as unknown as NodeMessagePortLike));
  });
}
