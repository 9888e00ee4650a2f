// Builds the TypeScript SDK (ts/) into dist/. Run by scripts/build.sh after
// wasm-pack has produced pkg/ (the wasm-bindgen glue is bundled in; the .wasm
// binary is copied next to each output, where the SDK finds it with
// `new URL('./wasm_autoencoders_bg.wasm', import.meta.url)`).
//
//   dist/index.js, dist/index.cjs, dist/index.d.ts, dist/index.d.cts   Node >= 20
//   dist/node.js, dist/node.cjs (+ .d.ts)    Node only: PNG files (the wasm-autoencoders/node export)
//   dist/cli.js, dist/cli.cjs                the wasm-autoencoders command (package.json bin)
//   dist/browser/index.js                                               browsers (ESM)
//   dist/browser/models/*.wae              the pretrained models, from models/ (one copy: Node reads them there too)
//   dist/worker.*, dist/browser/worker.js            only once ts/worker.ts exists
//   dist/wasm_autoencoders_bg.wasm, dist/browser/wasm_autoencoders_bg.wasm
//   dist/{,browser/}wasm_autoencoders_threads_bg.wasm + wasm_autoencoders_threads.js
//       the threads build (init({ threads })) from pkg-threads/, when it was built: its
//       glue is not bundled but loaded at run time by URL, by the SDK and by every helper
//       thread (ts/threads.ts)
import { copyFile, mkdir, readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Options } from 'tsup';

const root = dirname(fileURLToPath(import.meta.url));
const WASM = 'wasm_autoencoders_bg.wasm';
const wasmSource = join(root, 'pkg', WASM);
const modelsDir = join(root, 'models');
const threadsFiles: [string, string][] = [
  [join(root, 'pkg-threads', 'wasm_autoencoders_bg.wasm'), 'wasm_autoencoders_threads_bg.wasm'],
  [join(root, 'pkg-threads', 'wasm_autoencoders.js'), 'wasm_autoencoders_threads.js'],
];

const entry: Record<string, string> = { index: 'ts/index.ts' };
if (existsSync(join(root, 'ts', 'worker.ts'))) entry.worker = 'ts/worker.ts';
// Node only: PNG files (wasm-autoencoders/node) and the command line (bin).
const nodeEntry: Record<string, string> = { ...entry, node: 'ts/node/index.ts', cli: 'ts/cli/main.ts' };

// Node built-ins are only imported dynamically behind a runtime check
// (`await import('node:fs/promises')`): never bundle them, keep the `node:` prefix.
const nodeBuiltins = [/^node:/];

function copyWasmTo(outDir: string): () => Promise<void> {
  return async () => {
    if (!existsSync(wasmSource)) {
      throw new Error(`${wasmSource} is missing: build the crate first (npm run build)`);
    }
    const target = resolve(root, outDir);
    await mkdir(target, { recursive: true });
    await copyFile(wasmSource, join(target, WASM));
    // Optional: scripts/build.sh with THREADS=0 does not build it.
    for (const [from, to] of threadsFiles) if (existsSync(from)) await copyFile(from, join(target, to));
    // The pretrained models (ts/pretrained.ts), beside the browser bundle only: the Node
    // build reads the same files from ./browser/models/, so the package holds one copy.
    if (outDir === 'dist/browser') {
      await mkdir(join(target, 'models'), { recursive: true });
      for (const file of await readdir(modelsDir)) {
        if (file.endsWith('.wae')) await copyFile(join(modelsDir, file), join(target, 'models', file));
      }
    }
  };
}

const common: Options = {
  entry,
  tsconfig: 'tsconfig.json',
  bundle: true,
  splitting: true,
  treeshake: true,
  sourcemap: false,
  clean: false, // scripts/build.sh empties dist/ first; two builds write into it at once
  removeNodeProtocol: false,
  external: nodeBuiltins,
};

export default defineConfig([
  {
    ...common,
    name: 'node',
    entry: nodeEntry,
    platform: 'node',
    target: 'node20',
    format: ['esm', 'cjs'], // index.js (ESM, package is "type": "module") + index.cjs
    outDir: 'dist',
    dts: true, // index.d.ts + index.d.cts
    shims: true, // import.meta.url in the CJS output
    onSuccess: copyWasmTo('dist'),
  },
  {
    ...common,
    name: 'browser',
    platform: 'browser',
    target: 'es2022',
    format: ['esm'],
    outDir: 'dist/browser',
    dts: false, // the types come from dist/index.d.ts
    // Self-contained for <script type="module"> and workers: bundle the runtime deps.
    noExternal: ['comlink', 'fflate', 'jsfive'],
    onSuccess: copyWasmTo('dist/browser'),
  },
]);
