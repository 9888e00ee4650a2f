/**
 * The threads build's JavaScript side: loads the second WebAssembly module (built with
 * atomics and a shared, imported memory; see scripts/build.sh) and starts its pool of
 * helper threads — Node `worker_threads`, or Web Workers in cross-origin-isolated pages.
 *
 * Every thread instantiates the same compiled module over the same shared
 * `WebAssembly.Memory` with the wasm-bindgen glue's `initSync({ module, memory })`, which
 * gives each instance its own stack and thread-local storage. The thread that called
 * `init()` drives: the layers hand the helpers tasks through shared memory (crate/core/src/
 * parallel/), and helpers sleep in `memory.atomic.wait32` between jobs, so no message
 * passing happens during training.
 *
 * The glue is loaded at run time from a URL (dist/wasm_autoencoders_threads.js, or
 * pkg-threads/ in a source checkout) rather than bundled: helpers load the very same file.
 */
import { AutoencoderError, NotInitializedError } from './errors.js';
import { hasUrlScheme, importNodeBuiltin, isNode, resolveUserUrl } from './runtime.js';

/** What init() needs from the threads glue (pkg-threads/wasm_autoencoders.js). */
interface ThreadsGlue {
  default(options: {
    module_or_path: WebAssembly.Module;
    memory?: WebAssembly.Memory;
  }): Promise<{ memory: WebAssembly.Memory }>;
  ModelHandle: unknown;
  threadPoolStart(helpers: number, driverCanBlock: boolean): void;
  threadPoolSize(): number;
  threadPoolStop(): void;
  threadPoolHelperFailed(): void;
}

export interface ThreadsStarted {
  ModelHandle: unknown;
  memory: WebAssembly.Memory;
  /** Threads the layers split work across now: helpers + this one, or 1 once a helper failed. */
  threads(): number;
}

/** Where the threads module's files are found when init() is given none. */
export const THREADS_WASM_FILE = 'wasm_autoencoders_threads_bg.wasm';
export const THREADS_GLUE_FILE = 'wasm_autoencoders_threads.js';

/** Beside the bundle (dist/), then the build output (source checkouts). */
function candidates(distName: string, pkgName: string): URL[] {
  // The source-checkout fallback goes through a variable base so bundlers leave it alone.
  const here = import.meta.url;
  return [new URL(`./${distName}`, import.meta.url), new URL(`../pkg-threads/${pkgName}`, here)];
}

async function exists(url: URL): Promise<boolean> {
  if (isNode()) {
    const { access } = await importNodeBuiltin<typeof import('node:fs/promises')>('node:fs/promises');
    try {
      await access(url);
      return true;
    } catch {
      return false;
    }
  }
  try {
    return (await fetch(url, { method: 'HEAD' })).ok;
  } catch {
    return false;
  }
}

async function locate(distName: string, pkgName: string): Promise<URL> {
  const urls = candidates(distName, pkgName);
  for (const url of urls) if (await exists(url)) return url;
  throw new NotInitializedError(
    `init({ threads }): could not find the threads module's ${distName}; looked in ` +
      `${urls.map((u) => u.href).join(' and ')}. Build it with \`npm run build\` (not THREADS=0).`,
  );
}

async function compile(
  source: string | URL | BufferSource | WebAssembly.Module | undefined,
): Promise<WebAssembly.Module> {
  if (source instanceof WebAssembly.Module) return source;
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) return WebAssembly.compile(source);
  const url = source === undefined ? await locate(THREADS_WASM_FILE, 'wasm_autoencoders_bg.wasm') : source;
  if (isNode()) {
    const asUrl = typeof url === 'string' && !hasUrlScheme(url) ? url : new URL(url);
    if (typeof asUrl === 'string' || asUrl.protocol === 'file:') {
      const { readFile } = await importNodeBuiltin<typeof import('node:fs/promises')>('node:fs/promises');
      return WebAssembly.compile(await readFile(asUrl));
    }
  }
  const response = await fetch(url);
  if (!response.ok)
    throw new NotInitializedError(`init({ threads }): fetching ${String(url)} failed: HTTP ${response.status}`);
  return WebAssembly.compileStreaming(response);
}

/** Message a helper posts: ready (in its pool loop), or why it failed to start. */
type HelperMessage = { ready: true } | { error: string };

// A helper's life, the same in Node and in browsers: load the glue over the shared memory,
// say it is ready, run the pool's loop until the pool stops, then free its thread state.
// A trap inside the pool's loop (a task failed: a bug) is reported to the pool, which then
// fails the running job on the driver instead of waiting for this helper forever.
const HELPER_MAIN = `
async function helperMain(glueUrl, module, memory, post) {
  let glue;
  let running = false;
  try {
    glue = await import(glueUrl);
    const wasm = glue.initSync({ module, memory });
    post({ ready: true });
    running = true;
    glue.threadPoolHelper();
    running = false;
    if (typeof wasm.__wbindgen_thread_destroy === 'function') wasm.__wbindgen_thread_destroy();
  } catch (e) {
    if (running) glue.threadPoolHelperFailed();
    post({ error: String((e && e.stack) || e) });
  }
}
`;

// In Node: an eval worker. Only dynamic import(), no require() or static import: a worker
// inherits the parent's execArgv, and with or without --input-type=module the code must run.
const NODE_HELPER = `${HELPER_MAIN}
(async () => {
  const { parentPort, workerData } = await import('node:worker_threads');
  await helperMain(workerData.glue, workerData.module, workerData.memory, (m) => parentPort.postMessage(m));
  process.exit(0);
})();
`;

// In browsers: a module worker from a Blob URL.
const WEB_HELPER = `${HELPER_MAIN}
self.onmessage = async ({ data }) => {
  await helperMain(data.glue, data.module, data.memory, (m) => self.postMessage(m));
  self.close();
};
`;

interface Helper {
  ready: Promise<void>;
  terminate(): void;
}

async function spawnNodeHelper(
  index: number,
  glue: string,
  module: WebAssembly.Module,
  memory: WebAssembly.Memory,
): Promise<Helper> {
  const { Worker } = await importNodeBuiltin<typeof import('node:worker_threads')>('node:worker_threads');
  const worker = new Worker(NODE_HELPER, {
    eval: true,
    name: `wasm-autoencoders thread ${index}`,
    workerData: { glue, module, memory },
  });
  // Helpers never keep the process alive.
  worker.unref();
  const ready = new Promise<void>((resolve, reject) => {
    worker.once('message', (m: HelperMessage) => ('ready' in m ? resolve() : reject(new Error(m.error))));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`exited with code ${code} before starting`)));
  });
  return { ready, terminate: () => void worker.terminate() };
}

function spawnWebHelper(index: number, glue: string, module: WebAssembly.Module, memory: WebAssembly.Memory): Helper {
  const blob = URL.createObjectURL(new Blob([WEB_HELPER], { type: 'text/javascript' }));
  const worker = new Worker(blob, {
    type: 'module',
    name: `wasm-autoencoders thread ${index}`,
  });
  const ready = new Promise<void>((resolve, reject) => {
    worker.onmessage = ({ data }: MessageEvent<HelperMessage>) =>
      'ready' in data ? resolve() : reject(new Error(data.error));
    worker.onerror = (e) => reject(new Error(e.message));
  }).finally(() => URL.revokeObjectURL(blob));
  worker.postMessage({ glue, module, memory });
  return { ready, terminate: () => worker.terminate() };
}

/**
 * Glue URLs whose pool was stopped after a helper failed to start. The module instance (and
 * its pool's state) outlives the failed init: import() caches it, so a retry would get the
 * stopped pool back and run on one thread while reporting several.
 */
const stoppedPools = new Set<string>();

/** In browsers: can this page share memory with workers? */
export function canShareMemory(): boolean {
  if (isNode()) return true;
  return (
    (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true &&
    typeof SharedArrayBuffer === 'function'
  );
}

/**
 * Loads the threads module on this thread and starts `threads - 1` helpers. Rejects (and
 * stops whatever started) if any helper cannot start.
 */
export async function startThreads(
  threads: number,
  wasmSource: string | URL | BufferSource | WebAssembly.Module | undefined,
  glueSource: string | URL | undefined,
): Promise<ThreadsStarted> {
  const glueUrl =
    glueSource === undefined
      ? await locate(THREADS_GLUE_FILE, 'wasm_autoencoders.js')
      : await resolveUserUrl(glueSource);
  if (stoppedPools.has(glueUrl.href)) {
    throw new AutoencoderError(
      `init({ threads: ${threads} }): an earlier init started this threads module's pool and a helper failed, ` +
        'which stopped the pool for good; it cannot restart in this process (page). Restart it, or use 1 thread.',
    );
  }
  const glue = (await import(/* @vite-ignore */ /* webpackIgnore: true */ glueUrl.href)) as ThreadsGlue;
  const module = await compile(wasmSource);
  const exports = await glue.default({ module_or_path: module });
  const memory = exports.memory;
  const helpers: Helper[] = [];
  // The driving thread may sleep in atomic.wait (when helpers lag behind) except on a
  // browser's main thread, where it spins instead.
  const canBlock = isNode() || typeof (globalThis as { document?: unknown }).document === 'undefined';
  glue.threadPoolStart(threads - 1, canBlock);
  try {
    for (let i = 1; i < threads; i++) {
      helpers.push(
        isNode()
          ? await spawnNodeHelper(i, glueUrl.href, module, memory)
          : spawnWebHelper(i, glueUrl.href, module, memory),
      );
    }
    await Promise.all(
      helpers.map((h, i) =>
        h.ready.catch((e: unknown) => {
          throw new AutoencoderError(
            `init({ threads: ${threads} }): helper thread ${i + 1} could not start: ${(e as Error)?.message ?? String(e)}`,
            { cause: e },
          );
        }),
      ),
    );
  } catch (e) {
    glue.threadPoolStop();
    stoppedPools.add(glueUrl.href);
    for (const h of helpers) h.terminate();
    throw e;
  }
  return {
    ModelHandle: glue.ModelHandle,
    memory,
    threads: () => glue.threadPoolSize(),
  };
}
