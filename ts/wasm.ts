/**
 * Loading the WebAssembly module. `init()` is idempotent and must be awaited once before
 * models are built; in Node it needs no argument (the `.wasm` files sit beside this module
 * in `dist/`, or in `pkg/` and `pkg-threads/` when running from source).
 *
 * By default training uses every core where it can: the threads build (ts/threads.ts) with
 * one thread per core when memory can be shared (Node; cross-origin-isolated pages), the
 * single-thread build otherwise. `init({ threads: n })` fixes the count.
 */
import wasmInit, { ModelHandle } from '../pkg/wasm_autoencoders.js';
import { NotInitializedError, ValueError } from './errors.js';
import { checkOptions, describeValue, isPlainObject } from './validate.js';
import { availableCores, hasUrlScheme, isNode, readBytes } from './runtime.js';

/** Where the `.wasm` comes from: a URL or path, its bytes, a compiled module, or a fetch Response. */
export type InitSource = string | URL | Response | BufferSource | WebAssembly.Module;

/** Most threads `init({ threads })` accepts. */
export const MAX_THREADS = 64;

/** `init(options)`: the object form. */
export interface InitOptions {
  /**
   * Threads that training splits each batch across: `'auto'` (the default) or an integer from
   * 1 to 64. With 2 or more, the threads build (wasm_autoencoders_threads_bg.wasm, shared
   * memory) is loaded and `threads - 1` helpers start: Node worker_threads, or Web Workers
   * when the page is cross-origin isolated (otherwise one console line and 1 thread).
   * `'auto'`: one thread per core (`os.availableParallelism()`, `navigator.hardwareConcurrency`)
   * where memory can be shared; else 1, with one console line when a page is not cross-origin
   * isolated or the helpers cannot start, silently when the threads build's files are absent;
   * after an earlier init, whatever that loaded. Results are deterministic for a given thread
   * count, and different counts agree to float rounding: pass `threads: 1` for a seeded run
   * that gives the same weights on every machine.
   */
  threads?: number | 'auto';
  /** The single-thread `.wasm` (what `init(source)` takes); used when threads is 1. */
  source?: InitSource;
  /** The threads build's `.wasm` (URL, path, bytes or module); default: beside the SDK. */
  threadsSource?: string | URL | BufferSource | WebAssembly.Module;
  /** URL of the threads build's glue (wasm_autoencoders_threads.js); default: beside the SDK. */
  threadsGlue?: string | URL;
}

const WASM_FILE = 'wasm_autoencoders_bg.wasm';

let ready: Promise<void> | undefined;
let initialized = false;
let memory: WebAssembly.Memory | undefined;
/** The loaded module's model class: the single-thread one unless init({ threads }) started a pool. */
let Handle: typeof ModelHandle = ModelHandle;
/** Threads asked of the first init() call, and threads running once it finished. */
let requestedThreads = 1;
/** The running pool's size (1 after a helper failed); undefined without a pool. */
let poolThreads: (() => number) | undefined;

/** Candidate locations of the `.wasm`: beside the bundle (dist/), then the wasm-pack output (source checkouts). */
function defaultLocations(): URL[] {
  // The first is a literal so bundlers (Vite, webpack) emit the .wasm as an asset. The
  // source-checkout fallback goes through a variable base so that bundlers leave it alone
  // (an installed package has no pkg/ folder for them to resolve).
  const here = import.meta.url;
  return [new URL('./wasm_autoencoders_bg.wasm', import.meta.url), new URL(`../pkg/${WASM_FILE}`, here)];
}

async function defaultBytesOrUrl(): Promise<Uint8Array | URL> {
  const candidates = defaultLocations();
  if (isNode()) {
    for (const url of candidates) {
      try {
        return await readBytes(url);
      } catch {
        // try the next location
      }
    }
    throw new NotInitializedError(
      `could not find ${WASM_FILE}; looked in ${candidates.map((u) => u.pathname).join(' and ')}. ` +
        'Run `npm run build`, or pass the .wasm bytes or URL to init().',
    );
  }
  // Browsers: the first location that answers; instantiateStreaming does the rest.
  for (const url of candidates) {
    try {
      const head = await fetch(url, { method: 'HEAD' });
      if (head.ok) return url;
    } catch {
      // try the next location
    }
  }
  return candidates[0];
}

function assertSource(source: unknown): asserts source is InitSource {
  const ok =
    typeof source === 'string' ||
    source instanceof URL ||
    source instanceof ArrayBuffer ||
    ArrayBuffer.isView(source) ||
    source instanceof WebAssembly.Module ||
    (typeof Response !== 'undefined' && source instanceof Response);
  if (!ok) {
    throw new ValueError(
      `init(source) takes a URL or path, the .wasm bytes, a WebAssembly.Module or a fetch Response, got ${describeValue(source)}`,
    );
  }
}

/** A thread count option: an integer in 1..MAX_THREADS or 'auto' (checked by the caller). */
export function assertThreads(name: string, value: unknown): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_THREADS) return value;
  throw new ValueError(`${name} must be an integer in [1, ${MAX_THREADS}] or 'auto', got ${describeValue(value)}`);
}

function parseOptions(options: Record<string, unknown>): InitOptions {
  const o = checkOptions<InitOptions>('init options', options, ['threads', 'source', 'threadsSource', 'threadsGlue']);
  if (o.threads !== undefined && o.threads !== 'auto') assertThreads('init options.threads', o.threads);
  if (o.source !== undefined) assertSource(o.source);
  if (o.threadsSource !== undefined) {
    assertSource(o.threadsSource);
    if (typeof Response !== 'undefined' && o.threadsSource instanceof Response) {
      throw new ValueError(
        'init options.threadsSource takes a URL or path, the .wasm bytes or a WebAssembly.Module, not a Response',
      );
    }
  }
  if (o.threadsGlue !== undefined && typeof o.threadsGlue !== 'string' && !(o.threadsGlue instanceof URL)) {
    throw new ValueError(`init options.threadsGlue must be a URL or a string, got ${describeValue(o.threadsGlue)}`);
  }
  return o;
}

/**
 * Loads and instantiates the WebAssembly module once; later calls return the same promise.
 * A failed attempt can be retried.
 *
 * `init(source?)` is `init({ source })`: as many threads as this machine can run (see
 * {@link InitOptions}); `init({ threads, source, threadsSource, threadsGlue })` chooses. A
 * later call that asks for a different thread count than the first is a ValueError.
 */
export function init(source?: InitSource | InitOptions): Promise<void> {
  let options: InitOptions;
  if (isPlainObject(source)) {
    options = parseOptions(source);
  } else {
    if (source !== undefined) assertSource(source);
    options = { source };
  }
  const threads = options.threads ?? 'auto';
  if (threads === 'auto') return initAuto(options);
  if (ready) {
    // The count asked first, or the one running (a page that fell back to 1 thread).
    if (threads !== requestedThreads && threads !== threadCount()) {
      throw new ValueError(`init was already called for ${requestedThreads} thread(s); it cannot switch to ${threads}`);
    }
    return ready;
  }
  requestedThreads = threads;
  const load = threads === 1 ? loadSingleThread(options.source) : initThreads(threads, options);
  const attempt: Promise<void> = load.catch((e: unknown) => {
    // Only this attempt's state: a retry may already have started another.
    if (ready === attempt) {
      ready = undefined;
      requestedThreads = 1;
    }
    throw e;
  });
  ready = attempt;
  return attempt;
}

/** Instantiates the single-thread module from `source` (default: beside the SDK). */
async function loadSingleThread(source: InitSource | undefined): Promise<void> {
  let input: InitSource | Uint8Array | URL = source ?? (await defaultBytesOrUrl());
  // In Node, fetch() cannot read file: URLs or plain paths: read them ourselves.
  if (isNode() && (typeof input === 'string' || input instanceof URL)) {
    const asUrl = typeof input === 'string' && !hasUrlScheme(input) ? input : new URL(input);
    if (typeof asUrl === 'string' || asUrl.protocol === 'file:') input = await readBytes(asUrl);
  }
  const exports = await wasmInit({ module_or_path: input as never });
  memory = exports.memory;
  initialized = true;
}

/**
 * `init({ threads: 'auto' })`, the default: after an earlier init, whatever that loaded;
 * otherwise one thread per core where memory can be shared, else 1. Falling back to 1 says
 * why in one console line, except when the threads build's files are absent (a THREADS=0
 * build, a bundle that left them out): that is the build's choice, not a problem.
 */
async function initAuto(options: InitOptions): Promise<void> {
  if (ready) return ready;
  const { canShareMemory } = await import('./threads.js');
  const shared = canShareMemory();
  const threads = shared ? Math.min(await availableCores(), MAX_THREADS) : 1;
  // Another init may have started while the cores were counted: 'auto' takes it.
  if (ready) return ready;
  if (!shared) {
    console.info(
      'wasm-autoencoders: training runs on 1 thread: this page is not cross-origin isolated ' +
        '(serve it with the headers Cross-Origin-Opener-Policy: same-origin and ' +
        'Cross-Origin-Embedder-Policy: require-corp to train on every core)',
    );
  }
  if (threads === 1) return init({ ...options, threads: 1 });
  try {
    return await init({ ...options, threads });
  } catch (e) {
    if (ready) throw e;
    if (!(e instanceof NotInitializedError)) {
      // The first line: a helper's error carries its stack, which the error itself keeps.
      const why = String((e as Error)?.message ?? e).split('\n')[0];
      console.warn(`wasm-autoencoders: training runs on 1 thread: ${why}`);
    }
    return init({ ...options, threads: 1 });
  }
}

async function initThreads(threads: number, options: InitOptions): Promise<void> {
  const { canShareMemory, startThreads } = await import('./threads.js');
  if (!canShareMemory()) {
    console.warn(
      `wasm-autoencoders: init({ threads: ${threads} }): this page is not cross-origin isolated ` +
        '(needs COOP/COEP headers for shared memory), so training runs on 1 thread',
    );
    // Still "the init for `threads`": asking again for the same count is no error.
    await loadSingleThread(options.source);
    return;
  }
  const started = await startThreads(threads, options.threadsSource, options.threadsGlue);
  Handle = started.ModelHandle as typeof ModelHandle;
  memory = started.memory;
  poolThreads = started.threads;
  initialized = true;
}

/**
 * Threads training uses: the pool's size once `init()` has started the threads build; 1 with
 * the single-thread build (`threads: 1`, one core, a page that is not cross-origin isolated)
 * and after a helper thread failed (the pool then runs serially).
 */
export function threadCount(): number {
  return poolThreads?.() ?? 1;
}

/** True once `init()` has finished. */
export function isInitialized(): boolean {
  return initialized;
}

/** Throws NotInitializedError unless `init()` has finished. */
export function requireWasm(what: string): typeof ModelHandle {
  if (!initialized) {
    throw new NotInitializedError(`${what} needs the WebAssembly module: call \`await init()\` first`);
  }
  return Handle;
}

/**
 * A Float32Array view of `length` values at byte address `ptr` in Wasm memory. Make it right
 * before use: growing the memory detaches earlier views.
 */
export function wasmF32View(ptr: number, length: number): Float32Array {
  if (!memory) throw new NotInitializedError('the WebAssembly module is not initialised: call `await init()` first');
  return new Float32Array(memory.buffer, ptr, length);
}

export type { ModelHandle };

/** Bytes of Wasm memory the module holds now (it never shrinks; freed blocks are reused). */
export function wasmMemoryBytes(): number {
  return memory?.buffer.byteLength ?? 0;
}

/**
 * The SDK's memory, like TensorFlow.js's `tf.memory()`: `wasmBytes` is the WebAssembly
 * memory's size (0 before `init()`). It grows to the largest model and batch used at once
 * and never shrinks; what `dispose()` or the garbage collector frees is reused.
 */
export function memoryInfo(): { wasmBytes: number } {
  return { wasmBytes: wasmMemoryBytes() };
}
