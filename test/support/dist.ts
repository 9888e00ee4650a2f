// Where the Node-project tests find the repository, the build in dist/ (what users get; the
// tests against it need `npm run build` first) and their scratch directory.
import { existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DIST = join(ROOT, 'dist');
export const BROWSER_DIST = join(DIST, 'browser');
/** Scripts and files the tests write (gitignored). */
export const OUT = join(ROOT, 'test-output');

export type Sdk = typeof import('../../ts/index.js');

/** The `file:` URL of a file in dist/, for `import()` here or in scripts run by other processes. */
export const distUrl = (file: string): string => pathToFileURL(join(DIST, file)).href;

/** Throws unless every file is in `dir`, naming the first missing one and the build that makes it. */
export function assertBuilt(files: readonly string[], dir = DIST): void {
  for (const f of files) {
    if (existsSync(join(dir, f))) continue;
    const build = f.startsWith('wasm_autoencoders_threads') ? '`npm run build` (without THREADS=0)' : '`npm run build`';
    throw new Error(`${relative(ROOT, join(dir, f))} is missing: run ${build} before these tests`);
  }
}

/** The SDK from dist/index.js, once `files` (in dist/) are there. */
export async function importBuiltSdk(files: readonly string[]): Promise<Sdk> {
  assertBuilt(['index.js', ...files]);
  return (await import(distUrl('index.js'))) as Sdk;
}
