// spawnTrainer({ threads: 2 }) in Chromium. The vitest page is not cross-origin isolated (no
// COOP/COEP headers), so it has no shared memory: the trainer's worker must fall back to
// the single-thread build, say so in one console line, and train exactly as the page's own
// single-thread module does; so must the default, threads: 'auto'. (On an isolated page the worker would start a helper instead,
// and the reference would have to be a threads-2 run: see test/worker-threads.test.ts.)
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { convolutional, init, spawnTrainer, tensor, type Trainer } from '../../ts/index.js';
import { randomArray } from '../reference64.js';
import { firstDifference } from '../assertions.js';

const CONSOLE_CHANNEL = 'wasm-autoencoders test: trainer worker console';

/**
 * The SDK's worker (ts/worker.ts, served by Vite) behind a module that forwards the worker's
 * `console.warn` and `console.info` lines to this page over a BroadcastChannel (as
 * "warn: ..." and "info: ..."): a worker's console does not reach the test's output.
 */
function consoleForwardingWorker(): string {
  const workerModule = new URL('../../ts/worker.ts', import.meta.url).href;
  const source = [
    // What vitest prepends to the worker files it bundles itself: the modules it serves call it.
    'globalThis.__vitest_browser_runner__ = { wrapDynamicImport: (load) => load() };',
    `const channel = new BroadcastChannel(${JSON.stringify(CONSOLE_CHANNEL)});`,
    "for (const level of ['warn', 'info']) {",
    '  const log = console[level].bind(console);',
    "  console[level] = (...args) => { channel.postMessage(`${level}: ${args.map(String).join(' ')}`); log(...args); };",
    '}',
    `await import(${JSON.stringify(workerModule)});`,
  ].join('\n');
  return URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
}

describe('spawnTrainer({ threads: 2 }) on a page that is not cross-origin isolated', () => {
  const lines: string[] = [];
  const channel = new BroadcastChannel(CONSOLE_CHANNEL);
  channel.onmessage = (e: MessageEvent) => void lines.push(String(e.data));
  let trainer: Trainer;

  beforeAll(async () => {
    await init({ threads: 1 });
    trainer = await spawnTrainer({ threads: 2, workerUrl: consoleForwardingWorker() });
  });

  afterAll(async () => {
    channel.close();
    await trainer?.terminate();
  });

  it('the page cannot share memory (the premise of these tests)', () => {
    expect((globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated).toBe(false);
  });

  it('the worker runs 1 thread and says why in one console line', async () => {
    expect(trainer.threads).toBe(1);
    // The line travels on its own channel, so it may arrive after spawnTrainer resolved.
    await vi.waitFor(() => expect(lines.length).toBeGreaterThan(0));
    expect(lines).toEqual([
      'warn: wasm-autoencoders: init({ threads: 2 }): this page is not cross-origin isolated ' +
        '(needs COOP/COEP headers for shared memory), so training runs on 1 thread',
    ]);
  });

  it('trains bit for bit like the page itself', async () => {
    const x = tensor(Float32Array.from(randomArray(12 * 784, 41)), [12, 28, 28, 1]);
    const opts = { epochs: 1, batchSize: 6, seed: 3, inputNoise: { std: 0.1 } };
    const here = convolutional({ seed: 2 });
    const hereHistory = await here.fit(x, x, opts);
    const there = await trainer.create('convolutional', { seed: 2 });
    expect(await there.fit(x, x, opts)).toEqual(hereHistory);
    const weights = await there.getWeights();
    here.getWeights().forEach((w, i) => expect(firstDifference(weights[i].data, w.data), `weight ${i}`).toBe(-1));
    here.dispose();
    await there.dispose();
  });

  it("the default, threads: 'auto', runs 1 thread where memory cannot be shared and says why in one line", async () => {
    const before = lines.length;
    const auto = await spawnTrainer({ workerUrl: consoleForwardingWorker() });
    expect(auto.threads).toBe(1);
    const model = await auto.create('vanilla', { encodingSize: 4, seed: 1 });
    await model.fit(
      tensor(new Float32Array(8 * 784).fill(0.5), [8, 784]),
      tensor(new Float32Array(8 * 784).fill(0.5), [8, 784]),
      { epochs: 1, batchSize: 4 },
    );
    await vi.waitFor(() => expect(lines.length).toBeGreaterThan(before));
    await auto.terminate();
    expect(lines.slice(before)).toEqual([
      'info: wasm-autoencoders: training runs on 1 thread: this page is not cross-origin isolated ' +
        '(serve it with the headers Cross-Origin-Opener-Policy: same-origin and ' +
        'Cross-Origin-Embedder-Policy: require-corp to train on every core)',
    ]);
  });
});
