/**
 * The public option and name types of `spawnTrainer()`, `Trainer` and `RemoteAutoencoder`
 * (see `trainer.ts` for how training in a worker behaves).
 */
import type { FitOptions } from './fit.js';

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
