/**
 * Starting a trainer's worker: `spawnTrainer()`'s options checked and resolved, and the
 * worker itself, a Node `worker_threads` Worker or a module Web Worker, behind one small
 * {@link WorkerHandle}. Knows nothing of the protocol spoken over the endpoint (`wire.ts`).
 */
import type { Endpoint } from 'comlink';
import { AutoencoderError, ValueError } from './errors.js';
import { hasUrlScheme, importNodeBuiltin, isNode } from './runtime.js';
import type { SpawnTrainerOptions } from './trainer-options.js';
import { checkOptions, describeValue } from './validate.js';
import { assertThreads } from './wasm.js';
import { nodeEndpoint, type NodeMessagePortLike, type WorkerSetup } from './wire.js';

/** A Node `worker_threads` Worker or a Web Worker, behind one small interface. */
export interface WorkerHandle {
  endpoint: Endpoint;
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
    endpoint: worker as unknown as Endpoint,
    setBusy: () => {},
    terminate: async () => worker.terminate(),
  };
}

/** Starts the worker script at `url` (default: `worker.js` beside this module). */
export async function startWorker(
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
    const worker = new Worker(new URL('./worker.js', import.meta.url), {
      type: 'module',
      name,
    });
    return webWorkerHandle(worker, 'worker.js beside the SDK module', onDeath);
  }
  return webWorkerHandle(new Worker(url, { type: 'module', name }), String(url), onDeath);
}

let trainerCount = 0;

/** `spawnTrainer()`'s options, checked: where the worker script is, its name, and its setup. */
export interface SpawnPlan {
  workerUrl: string | URL | undefined;
  name: string;
  setup: WorkerSetup;
}

/** Checks `spawnTrainer()`'s options (before any worker starts) and resolves its URLs. */
export function planSpawn(opts: unknown): SpawnPlan {
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
  return { workerUrl: o.workerUrl, name, setup };
}

/**
 * A URL or path as the worker constructor and `init()` take it: in Node a file path or a
 * `URL` object (a `file:` string becomes a URL); in browsers an absolute URL string
 * (relative ones resolve against the page).
 */
export function locate(u: string | URL): string | URL {
  const hasScheme = typeof u === 'string' && hasUrlScheme(u);
  if (isNode()) return typeof u === 'string' && hasScheme ? new URL(u) : u;
  if (u instanceof URL || hasScheme) return String(u);
  const base = (globalThis as { location?: { href: string } }).location?.href;
  return base ? new URL(u, base).href : u;
}
