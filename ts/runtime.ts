/**
 * What the SDK needs to know about the JavaScript runtime it runs in (Node or a browser, on
 * the main thread or in a worker), in one place.
 */

/** True in Node (and in its worker_threads). */
export function isNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: unknown } } }).process;
  return typeof p?.versions?.node === 'string';
}

/**
 * Imports a Node builtin (`node:fs/promises`, `node:worker_threads`, ...). The specifier
 * goes through a variable, and the comments tell Vite and webpack to leave the import alone,
 * so browser bundles neither resolve nor include it; it only runs in Node.
 */
export async function importNodeBuiltin<T>(specifier: string): Promise<T> {
  return (await import(/* @vite-ignore */ /* webpackIgnore: true */ specifier)) as T;
}

/**
 * Cores this program may use: `os.availableParallelism()` in Node (which respects CPU
 * affinity), `navigator.hardwareConcurrency` in browsers; 1 when the runtime does not say.
 */
export async function availableCores(): Promise<number> {
  let cores: number | undefined;
  if (isNode()) {
    const os = await importNodeBuiltin<typeof import('node:os')>('node:os');
    cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  } else {
    cores = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
  }
  return Number.isInteger(cores) && (cores as number) >= 1 ? (cores as number) : 1;
}

/**
 * Whether a string is a URL (`https:`, `file:`, `blob:`, ...) rather than a file path. A
 * scheme has at least two characters, so a Windows path such as `C:\models\x.wasm` is a path.
 */
export function hasUrlScheme(s: string): boolean {
  return /^[a-z][a-z0-9+.-]+:/i.test(s);
}

/**
 * A module URL given by the user, resolved the way `init()` resolves the `.wasm` it is given:
 * in Node a path is relative to the current directory (and becomes a file: URL); in browsers
 * a relative URL is relative to the page (or the worker's script).
 */
export async function resolveUserUrl(source: string | URL): Promise<URL> {
  if (source instanceof URL) return source;
  if (isNode() && !hasUrlScheme(source)) {
    const { pathToFileURL } = await importNodeBuiltin<typeof import('node:url')>('node:url');
    const { resolve } = await importNodeBuiltin<typeof import('node:path')>('node:path');
    return pathToFileURL(resolve(source));
  }
  return new URL(source, (globalThis as { location?: { href: string } }).location?.href);
}

/**
 * The bytes at `source`: a file path or file: URL read from disk in Node (fetch cannot read
 * them there), anything else fetched.
 */
export async function readBytes(source: string | URL): Promise<Uint8Array> {
  if (isNode() && (typeof source !== 'string' || !hasUrlScheme(source) || source.startsWith('file:'))) {
    const url = typeof source === 'string' && hasUrlScheme(source) ? new URL(source) : source;
    if (typeof url === 'string' || url.protocol === 'file:') {
      // Hidden from bundlers: this only runs in Node.
      const { readFile } = await importNodeBuiltin<typeof import('node:fs/promises')>('node:fs/promises');
      const bytes = await readFile(url);
      return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    }
  }
  const response = await fetch(source);
  if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText} for ${String(source)}`);
  return new Uint8Array(await response.arrayBuffer());
}
