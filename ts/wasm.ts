/**
 * Loading the WebAssembly module. `init()` is idempotent and must be awaited once before
 * models are built; in Node it needs no argument (the `.wasm` file sits beside this module
 * in `dist/`, or in `pkg/` when running from source).
 */
import wasmInit, { ModelHandle } from '../pkg/wasm_autoencoders.js';
import { NotInitializedError, ValueError, describeValue } from './errors.js';

/** Where the `.wasm` comes from: a URL or path, its bytes, a compiled module, or a fetch Response. */
export type InitSource = string | URL | Response | BufferSource | WebAssembly.Module;

const WASM_FILE = 'wasm_autoencoders_bg.wasm';

let ready: Promise<void> | undefined;
let initialized = false;
let memory: WebAssembly.Memory | undefined;

const isNode = (): boolean =>
  typeof process !== 'undefined' && typeof process.versions === 'object' && typeof process.versions.node === 'string';

/** Candidate locations of the `.wasm`: beside the bundle (dist/), then the wasm-pack output (source checkouts). */
function defaultLocations(): URL[] {
  return [new URL(`./${WASM_FILE}`, import.meta.url), new URL(`../pkg/${WASM_FILE}`, import.meta.url)];
}

async function readInNode(source: string | URL): Promise<Uint8Array> {
  const { readFile } = await import('node:fs/promises');
  const bytes = await readFile(source);
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

async function defaultBytesOrUrl(): Promise<Uint8Array | URL> {
  const candidates = defaultLocations();
  if (isNode()) {
    for (const url of candidates) {
      try {
        return await readInNode(url);
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

/**
 * Loads and instantiates the WebAssembly module once; later calls return the same promise.
 * A failed attempt can be retried.
 */
export function init(source?: InitSource): Promise<void> {
  if (ready) return ready;
  if (source !== undefined) assertSource(source);
  ready = (async () => {
    let input: InitSource | Uint8Array | URL = source ?? (await defaultBytesOrUrl());
    // In Node, fetch() cannot read file: URLs or plain paths: read them ourselves.
    if (isNode() && (typeof input === 'string' || input instanceof URL)) {
      const asUrl = typeof input === 'string' && !/^[a-z]+:/i.test(input) ? input : new URL(input);
      if (typeof asUrl === 'string' || asUrl.protocol === 'file:') input = await readInNode(asUrl);
    }
    const exports = await wasmInit({ module_or_path: input as never });
    memory = exports.memory;
    initialized = true;
  })().catch((e: unknown) => {
    ready = undefined;
    throw e;
  });
  return ready;
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
  return ModelHandle;
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
