/**
 * The threads build in a real browser: a cross-origin-isolated page (COOP/COEP headers, as
 * a site must send them) in headless Chromium loads dist/browser/ as an app would, then
 *
 *   - `init({ threads: 2 })` on the page's main thread: shared memory, one Web Worker
 *     helper, the driver spinning instead of sleeping (browsers forbid atomics.wait there);
 *   - `spawnTrainer({ threads: 2 })`: the same inside a trainer's Web Worker, its helper a
 *     nested worker (and `threads: 'auto'` there: one thread per core);
 *
 * and trains the runs of test/fit-runs.ts in both. Each must match, bit for bit, the same
 * runs on the main thread of a Node process with init({ threads: 2 }): one Wasm module,
 * one thread count, one result, whichever engine and thread runs it. Any page error,
 * console error, failed request or fallback warning fails the test. Needs `npm run build`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright';
import type { History } from '../ts/index.js';
import { firstDifference } from './assertions.js';
import { FIT_RUNS, mainThreadReference, type ThreadsReference } from './fit-runs.js';
import { CROSS_ORIGIN_ISOLATION, launchChromium, openPage, serve } from './harness.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BROWSER_DIST = join(ROOT, 'dist', 'browser');
const THREADS = 2;

interface Trained {
  history: History;
  weights: number[][];
}
interface PageResult {
  error?: string;
  isolated: boolean;
  mainThreads: number;
  trainerThreads: number;
  autoThreads: number;
  cores: number;
  main: Trained[];
  worker: Trained[];
}

// The page: both ways of training, the results left in window.__result.
const PAGE_SCRIPT = `
import { init, threadCount, spawnTrainer, tensor, vanilla, convolutional } from './sdk/index.js';
const presets = { vanilla, convolutional };
const result = { isolated: self.crossOriginIsolated === true, main: [], worker: [] };
try {
  const runs = await (await fetch('./runs.json')).json();
  await init({ threads: ${THREADS} });
  result.mainThreads = threadCount();
  for (const run of runs) {
    const model = presets[run.preset](run.options);
    const x = tensor(Float32Array.from(run.x), run.shape);
    const history = await model.fit(x, x, run.fit);
    result.main.push({ history, weights: model.getWeights().map((w) => Array.from(w.data)) });
    model.dispose();
  }
  const trainer = await spawnTrainer({ threads: ${THREADS} });
  result.trainerThreads = trainer.threads;
  for (const run of runs) {
    const model = await trainer.create(run.preset, run.options);
    const x = tensor(Float32Array.from(run.x), run.shape);
    const history = await model.fit(x, x, run.fit);
    result.worker.push({ history, weights: (await model.getWeights()).map((w) => Array.from(w.data)) });
    await model.dispose();
  }
  await trainer.terminate();
  const auto = await spawnTrainer({ threads: 'auto' });
  result.autoThreads = auto.threads;
  result.cores = navigator.hardwareConcurrency;
  await auto.terminate();
} catch (e) {
  result.error = String((e && e.stack) || e);
}
window.__result = result;
`;

let work: string;
let browser: Browser | undefined;
let reference: ThreadsReference;
let page: { result: PageResult; problems: string[]; console: string[] };

beforeAll(async () => {
  for (const f of ['index.js', 'worker.js', 'wasm_autoencoders_threads_bg.wasm', 'wasm_autoencoders_threads.js']) {
    if (!existsSync(join(BROWSER_DIST, f)))
      throw new Error(`dist/browser/${f} is missing: run \`npm run build\` first`);
  }
  reference = await mainThreadReference(THREADS);
  work = await mkdtemp(join(tmpdir(), 'wasm-ae-browser-threads-'));
  await symlink(BROWSER_DIST, join(work, 'sdk'), 'dir');
  await writeFile(join(work, 'runs.json'), JSON.stringify(FIT_RUNS));
  await writeFile(join(work, 'main.js'), PAGE_SCRIPT);
  await writeFile(
    join(work, 'index.html'),
    '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>threads</title><script type="module" src="./main.js"></script>\n',
  );
  browser = await launchChromium();
  const server = await serve(work, CROSS_ORIGIN_ISOLATION);
  try {
    page = await openPage<PageResult>(browser, `${server.url}index.html`, 150_000);
  } finally {
    await server.close();
  }
}, 240_000);

afterAll(async () => {
  await browser?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe(`the threads build in cross-origin-isolated Chromium, ${THREADS} threads`, () => {
  it('runs without errors or a fallback, on the threads it was asked for', () => {
    expect(page.result.error, page.result.error).toBeUndefined();
    expect(page.problems, page.problems.join('\n')).toEqual([]);
    expect(
      page.console.filter((l) => l.includes('wasm-autoencoders')),
      'no fallback warning',
    ).toEqual([]);
    expect(page.result.isolated).toBe(true);
    expect(reference.threads).toBe(THREADS);
    expect(page.result.mainThreads).toBe(THREADS);
    expect(page.result.trainerThreads).toBe(THREADS);
    expect(page.result.autoThreads, "spawnTrainer({ threads: 'auto' })").toBe(Math.min(page.result.cores, 64));
  });

  for (const where of ['main', 'worker'] as const) {
    it.each(FIT_RUNS.map((run, i) => [run.preset, i] as const))(
      `%s on the page's ${where === 'main' ? 'main thread' : "trainer's worker"}: Node's losses and weights, bit for bit`,
      (_, i) => {
        const got = page.result[where][i];
        const expected = reference.runs[i];
        expect(got.history).toEqual(expected.history);
        expect(got.weights.length).toBe(expected.weights.length);
        got.weights.forEach((w, k) =>
          expect(firstDifference(Float32Array.from(w), Float32Array.from(expected.weights[k])), `weight ${k}`).toBe(-1),
        );
      },
    );
  }
});
