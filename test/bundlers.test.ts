/**
 * The browser build (dist/browser/) in real apps: issue 4 asks that "Vite, webpack and plain
 * `<script type="module">` pages work". The tiny app in test/fixtures/bundlers/main.js
 * (`import { init, vanilla, tensor, spawnTrainer, pretrained } from 'wasm-autoencoders'`) is
 *
 *   - bundled with webpack 5 (programmatic API, production mode, no loaders or plugins:
 *     what a webpack user gets by default),
 *   - bundled with Vite's build() (no config file),
 *   - served with no bundler at all, importing dist/browser/index.js directly,
 *
 * and each result is served from a local node:http server on 127.0.0.1 and opened in
 * headless Chromium (Debian's, through Playwright; never a downloaded browser). The page
 * runs init() + a forward pass on the main thread, loads pretrained('convolutional') (so the
 * bundler must have emitted its model file as an asset), then spawnTrainer() → create('vanilla')
 * → fit → terminate in a module Web Worker, and leaves its result in `window.__result`.
 * Any page error, failed request or console error fails the case.
 *
 * The package is resolved the way an app resolves it: `node_modules/wasm-autoencoders` in
 * a temporary directory is a symlink to this repository, so the package.json "exports"
 * (its "browser" condition) pick the file. Needs `npm run build` (npm test builds first).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright';
import { BROWSER_DIST, ROOT, assertBuilt } from './support/dist.js';
import { launchChromium, openPage, serve } from './support/harness.js';

const FIXTURE = join(ROOT, 'test', 'fixtures', 'bundlers');
const PAGE_TIMEOUT_MS = 90_000;

interface PageResult {
  done: boolean;
  error?: string;
  mainShape?: number[];
  mainFinite?: boolean;
  workerLoss?: number;
  workerLossFinite?: boolean;
  pretrainedParams?: number;
  pretrainedFinite?: boolean;
}

let work: string; // the temporary "project": app/, node_modules/wasm-autoencoders → ROOT
let app: string;
let browser: Browser | undefined;
let browserError: unknown;

beforeAll(async () => {
  assertBuilt(['index.js', 'worker.js', 'wasm_autoencoders_bg.wasm'], BROWSER_DIST);
  work = await mkdtemp(join(tmpdir(), 'wasm-ae-bundlers-'));
  app = join(work, 'app');
  await mkdir(join(work, 'node_modules'), { recursive: true });
  await symlink(ROOT, join(work, 'node_modules', 'wasm-autoencoders'), 'dir');
  await mkdir(app);
  await copyFile(join(FIXTURE, 'main.js'), join(app, 'main.js'));
  await copyFile(join(FIXTURE, 'index.html'), join(app, 'index.html'));
  try {
    browser = await launchChromium();
  } catch (e) {
    browserError = e; // reported by each case, after its build has run
  }
});

afterAll(async () => {
  await browser?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

/** Serves `dir`, opens `path` in a fresh page, and returns what the app left in window.__result. */
async function runInChromium(dir: string, path = 'index.html'): Promise<{ result: PageResult; ms: number }> {
  if (!browser)
    throw new Error(`could not launch Chromium: ${(browserError as Error)?.message ?? String(browserError)}`);
  const server = await serve(dir);
  try {
    const { result, problems, ms } = await openPage<PageResult>(browser, server.url + path, PAGE_TIMEOUT_MS);
    expect(problems, `${problems.join('\n')}\npage result: ${JSON.stringify(result)}`).toEqual([]);
    return { result, ms };
  } finally {
    await server.close();
  }
}

function expectWorkingApp(result: PageResult): void {
  expect(result.error, result.error).toBeUndefined();
  expect(result.done).toBe(true);
  expect(result.mainShape).toEqual([3, 784]);
  expect(result.mainFinite).toBe(true);
  expect(result.workerLossFinite).toBe(true);
  expect(result.workerLoss).toBeGreaterThan(0);
  expect(result.pretrainedParams).toBe(7009);
  expect(result.pretrainedFinite).toBe(true);
}

describe('the browser build in apps, in headless Chromium', () => {
  it('webpack 5 (production, default config)', async () => {
    const { default: webpack } = await import('webpack');
    const out = join(work, 'webpack-out');
    const t0 = performance.now();
    const stats = await new Promise<import('webpack').Stats>((ok, fail) => {
      webpack(
        {
          mode: 'production',
          context: app,
          entry: './main.js',
          output: { path: out, clean: true },
          // Resolve 'wasm-autoencoders' from the temporary project's node_modules.
          resolve: { modules: [join(work, 'node_modules'), 'node_modules'] },
          performance: { hints: false },
          infrastructureLogging: { level: 'error' },
        },
        (err, s) => (err || !s ? fail(err ?? new Error('webpack returned no stats')) : ok(s)),
      );
    });
    const buildMs = performance.now() - t0;
    const info = stats.toJson({ all: false, errors: true, warnings: true });
    const errors = (info.errors ?? []).map(
      (e) => `${e.moduleName ?? ''}: ${e.message.split('\n').slice(0, 3).join('\n')}`,
    );
    expect(errors, `webpack errors:\n${errors.join('\n\n')}`).toEqual([]);
    // webpack's default output is a classic script, as html-webpack-plugin would add it.
    await writeFile(
      join(out, 'index.html'),
      '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>webpack</title><script defer src="./main.js"></script>\n',
    );
    const { result, ms } = await runInChromium(out);
    console.log(
      `webpack: build ${Math.round(buildMs)} ms (${(info.warnings ?? []).length} warnings), page ${Math.round(ms)} ms, worker loss ${result.workerLoss}`,
    );
    expectWorkingApp(result);
  });

  it('Vite build() (no config file)', async () => {
    const { build } = await import('vite');
    const out = join(work, 'vite-out');
    const t0 = performance.now();
    await build({
      root: app,
      configFile: false,
      logLevel: 'warn',
      build: { outDir: out, emptyOutDir: true },
    });
    const buildMs = performance.now() - t0;
    const { result, ms } = await runInChromium(out);
    console.log(`vite: build ${Math.round(buildMs)} ms, page ${Math.round(ms)} ms, worker loss ${result.workerLoss}`);
    expectWorkingApp(result);
  });

  it('a plain <script type="module"> page, no bundler', async () => {
    // As in the README: dist/browser/ served at ./wasm-autoencoders/ beside the page.
    const plain = join(work, 'plain');
    await mkdir(plain);
    await symlink(BROWSER_DIST, join(plain, 'wasm-autoencoders'), 'dir');
    const main = await readFile(join(app, 'main.js'), 'utf8');
    const rewritten = main.replace("from 'wasm-autoencoders'", "from './wasm-autoencoders/index.js'");
    expect(rewritten).not.toBe(main);
    await writeFile(join(plain, 'main.js'), rewritten);
    await copyFile(join(app, 'index.html'), join(plain, 'index.html'));
    const { result, ms } = await runInChromium(plain);
    console.log(`plain page: ${Math.round(ms)} ms, worker loss ${result.workerLoss}`);
    expectWorkingApp(result);
  });
});
