// The threads build (init({ threads: n })) in Node, against the build in dist/ (`npm run
// build` first). A process has one thread count, so 1, 2 and 3 threads each run in a child
// process (test/support/threads-run.mjs); this process checks option validation and init itself.
import { cp, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { ReferenceModel, randomArray } from './support/reference64.js';
import { expectClose } from './support/assertions.js';
import { DIST, OUT, ROOT, distUrl, importBuiltSdk } from './support/dist.js';
import { outcome, runModule, runNode } from './support/harness.js';
import { KERAS_ADAM, SMALL_CONV, SMALL_DENSE, sdkLayersOf, sequentialOptionsOf } from './support/scenarios.js';

const sdk = await importBuiltSdk(['wasm_autoencoders_threads_bg.wasm', 'wasm_autoencoders_threads.js']);
// The threads module with the pool's test switches: `npm test` builds it (TEST_HOOKS=1).
const HOOKS = join(ROOT, 'pkg-threads-hooks');

interface Run {
  threads: number;
  vanilla: { a: string; b: string; weights: number[][] };
  convolutional: { a: string; b: string; weights: number[][] };
  convStep: { loss: number; weights: number[][] };
  denseStep: { loss: number; weights: number[][] };
}

const prod = (s: number[]) => s.reduce((a, b) => a * b, 1);
const weightsFor = (shapes: number[][], seed: number) =>
  shapes.map((s, i) => randomArray(prod(s), seed + i, -0.5, 0.5));

/** What test/support/threads-run.mjs reads on stdin: the two models' layers, weights and data. */
const input = {
  conv: {
    layers: sdkLayersOf(SMALL_CONV, sdk.layers),
    options: sequentialOptionsOf(SMALL_CONV),
  },
  dense: {
    layers: sdkLayersOf(SMALL_DENSE, sdk.layers),
    options: sequentialOptionsOf(SMALL_DENSE),
  },
  convWeights: weightsFor(SMALL_CONV.paramShapes, 40).map((w) => Array.from(Float32Array.from(w))),
  convN: 7,
  convX: Array.from(Float32Array.from(randomArray(7 * 81, 11))),
  convY: Array.from(Float32Array.from(randomArray(7 * 36, 12))),
  denseWeights: weightsFor(SMALL_DENSE.paramShapes, 50).map((w) => Array.from(Float32Array.from(w))),
  denseN: 9,
  denseX: Array.from(Float32Array.from(randomArray(9 * 10, 13))),
};

async function run(threads: number): Promise<Run> {
  const script = join(ROOT, 'test', 'support', 'threads-run.mjs');
  const { code, stdout, stderr } = await runNode([script, String(threads)], {
    cwd: ROOT,
    stdin: JSON.stringify(input),
    timeoutMs: 110_000,
  });
  if (code !== 0) throw new Error(`${threads} thread(s): exited with ${code}\n${stderr}`);
  return JSON.parse(stdout) as Run;
}

function worstDiff(a: ArrayLike<number>[], b: ArrayLike<number>[]): number {
  let worst = 0;
  a.forEach((w, i) => {
    expect(w.length).toBe(b[i].length);
    for (let j = 0; j < w.length; j++) worst = Math.max(worst, Math.abs(w[j] - b[i][j]));
  });
  return worst;
}

describe('init({ threads }) options', () => {
  it('rejects bad thread counts and unknown options with ValueError, before loading anything', () => {
    for (const threads of [0, -1, 1.5, 65, Number.NaN, Infinity, '2', 'Auto', null, true]) {
      expect(() => sdk.init({ threads } as never), String(threads)).toThrow(sdk.ValueError);
    }
    expect(() => sdk.init({ threads: 'all' } as never)).toThrow(
      `init options.threads must be an integer in [1, 64] or 'auto', got "all" (string)`,
    );
    expect(() => sdk.init({ thread: 2 } as never)).toThrow(/unknown option "thread"; did you mean "threads"/);
    expect(() => sdk.init({ threads: 2, threadsGlue: 3 } as never)).toThrow(sdk.ValueError);
    expect(sdk.isInitialized()).toBe(false);
    expect(sdk.threadCount()).toBe(1);
  });

  it('starts a pool of 2 in this process; another count later is a ValueError, init() is a no-op', async () => {
    await sdk.init({ threads: 2 });
    expect(sdk.isInitialized()).toBe(true);
    expect(sdk.threadCount()).toBe(2);
    await sdk.init({ threads: 2 });
    await sdk.init();
    // 'auto' after an init takes whatever that loaded.
    await sdk.init({ threads: 'auto' });
    expect(sdk.threadCount()).toBe(2);
    expect(() => sdk.init({ threads: 3 })).toThrow(sdk.ValueError);
    // The threaded module trains and predicts like the single-thread one.
    const model = sdk.vanilla({ encodingSize: 8, seed: 1 });
    const x = sdk.tensor(new Float32Array(16 * 784).fill(0.25), [16, 784]);
    const history = await model.fit(x, x, { epochs: 2, batchSize: 8 });
    expect(history.loss[1]).toBeLessThan(history.loss[0]);
    expect(model.predict(x).shape).toEqual([16, 784]);
    model.dispose();
  });
});

describe("init() in a fresh process: the default, threads: 'auto'", () => {
  // Also a regression test: under --input-type=module the helpers' eval code is ES module code.
  it('runs as many threads as os.availableParallelism() reports, and trains (node --input-type=module)', async () => {
    const { code, stdout, stderr } = await runModule([
      "import { availableParallelism } from 'node:os';",
      `const sdk = await import(${JSON.stringify(distUrl('index.js'))});`,
      'await sdk.init();',
      'const model = sdk.vanilla({ encodingSize: 4, seed: 1 });',
      'const x = sdk.tensor(new Float32Array(8 * 784).fill(0.5), [8, 784]);',
      'const history = await model.fit(x, x, { epochs: 1, batchSize: 4 });',
      'console.log(JSON.stringify({ threads: sdk.threadCount(), cores: availableParallelism(), loss: history.loss[0] }));',
    ]);
    expect(code, stderr).toBe(0);
    const out = JSON.parse(stdout) as {
      threads: number;
      cores: number;
      loss: number;
    };
    expect(out.threads).toBe(Math.min(out.cores, 64));
    expect(Number.isFinite(out.loss)).toBe(true);
  });
});

/** Runs an ES module script in a fresh Node process; resolves with what it printed as JSON. */
async function inFreshProcess<T>(lines: string[]): Promise<T> {
  const { code, stdout, stderr } = await runModule(
    [`const sdk = await import(${JSON.stringify(distUrl('index.js'))});`, ...lines],
    { timeoutMs: 60_000 },
  );
  expect(code, stderr).toBe(0);
  return JSON.parse(stdout) as T;
}

describe('failures of the threads build do not hang or lie', () => {
  it('a trap on a helper fails that job with a RuntimeError, and the pool goes on serially', async () => {
    const out = await inFreshProcess<{
      before: number;
      error: { name: string } | null;
      after: number;
      loss: number;
    }>([
      // The threads module built with the pool's test switches (TEST_HOOKS=1 scripts/build.sh).
      `const glue = ${JSON.stringify(pathToFileURL(join(HOOKS, 'wasm_autoencoders.js')).href)};`,
      `const threadsSource = (await import('node:fs')).readFileSync(${JSON.stringify(join(HOOKS, 'wasm_autoencoders_bg.wasm'))});`,
      'await sdk.init({ threads: 2, threadsSource, threadsGlue: glue });',
      'const before = sdk.threadCount();',
      'const hooks = await import(glue);',
      // The driver's tasks wait until the helper has taken one, which traps.
      `const error = ${outcome('Promise.resolve().then(() => hooks.threadPoolTrapOnHelpers(64, 2_000_000_000))')};`,
      'const model = sdk.vanilla({ encodingSize: 4, seed: 1 });',
      'const x = sdk.tensor(new Float32Array(8 * 784).fill(0.5), [8, 784]);',
      'const history = await model.fit(x, x, { epochs: 1, batchSize: 4 });',
      'console.log(JSON.stringify({ before, error, after: sdk.threadCount(), loss: history.loss[0] }));',
    ]);
    expect(out.before).toBe(2);
    expect(out.error?.name).toBe('RuntimeError');
    expect(out.after).toBe(1);
    expect(Number.isFinite(out.loss)).toBe(true);
  });

  // A glue that refuses to load in worker threads: the main thread starts the pool, the helper fails.
  const glueUrl = distUrl('wasm_autoencoders_threads.js');
  const refusing = `data:text/javascript,${encodeURIComponent(
    `import { isMainThread } from 'node:worker_threads';\n` +
      `if (!isMainThread) throw new Error('no helpers in this test');\n` +
      `export * from ${JSON.stringify(glueUrl)};\nexport { default } from ${JSON.stringify(glueUrl)};\n`,
  )}`;

  it('a helper that cannot start rejects init, and a retry says the pool cannot restart', async () => {
    const out = await inFreshProcess<{
      first: { name: string; message: string };
      retry: { name: string; message: string };
      single: null;
      threads: number;
    }>([
      `const glue = ${JSON.stringify(refusing)};`,
      `const first = ${outcome('sdk.init({ threads: 2, threadsGlue: glue })')};`,
      `const retry = ${outcome('sdk.init({ threads: 2, threadsGlue: glue })')};`,
      `const single = ${outcome('sdk.init({ threads: 1 })')};`,
      'console.log(JSON.stringify({ first, retry, single, threads: sdk.threadCount() }));',
    ]);
    expect(out.first.name).toBe('AutoencoderError');
    expect(out.first.message).toMatch(/helper thread 1 could not start: .*no helpers in this test/);
    expect(out.retry.name).toBe('AutoencoderError');
    expect(out.retry.message).toMatch(/cannot restart in this process/);
    expect(out.single).toBeNull();
    expect(out.threads).toBe(1);
  });

  it("the default ('auto') falls back to 1 thread with one warning when a helper cannot start", async () => {
    const { code, stdout, stderr } = await runModule(
      [
        "import { availableParallelism } from 'node:os';",
        `const sdk = await import(${JSON.stringify(distUrl('index.js'))});`,
        `await sdk.init({ threadsGlue: ${JSON.stringify(refusing)} });`,
        'const model = sdk.vanilla({ encodingSize: 4, seed: 1 });',
        'const x = sdk.tensor(new Float32Array(8 * 784).fill(0.5), [8, 784]);',
        'const history = await model.fit(x, x, { epochs: 1, batchSize: 4 });',
        'console.log(JSON.stringify({ threads: sdk.threadCount(), cores: availableParallelism(), loss: history.loss[0] }));',
      ],
      { timeoutMs: 60_000 },
    );
    expect(code, stderr).toBe(0);
    const out = JSON.parse(stdout) as {
      threads: number;
      cores: number;
      loss: number;
    };
    expect(out.threads).toBe(1);
    expect(Number.isFinite(out.loss)).toBe(true);
    // With one core 'auto' asks for no helper, so nothing fails and nothing is said.
    const said = stderr.trim().split('\n').filter(Boolean);
    if (out.cores < 2) expect(said).toEqual([]);
    else
      expect(said).toEqual([
        expect.stringMatching(
          /^wasm-autoencoders: training runs on 1 thread: .*helper thread 1 could not start: .*no helpers in this test/,
        ),
      ]);
  });

  it("'auto' without the threads build's files quietly runs 1 thread; a count asks for them", async () => {
    // dist/ without wasm_autoencoders_threads*: a THREADS=0 build, or a bundle that left them out.
    const bare = join(OUT, 'dist-without-threads');
    await rm(bare, { recursive: true, force: true });
    await cp(DIST, bare, {
      recursive: true,
      filter: (f) => !basename(f).startsWith('wasm_autoencoders_threads'),
    });
    const sdkUrl = JSON.stringify(pathToFileURL(join(bare, 'index.js')).href);
    const run = async (threads: string) => {
      const { code, stdout, stderr } = await runModule([
        `const sdk = await import(${sdkUrl});`,
        `const error = ${outcome(`sdk.init({ threads: ${threads} })`)};`,
        'console.log(JSON.stringify({ error, threads: sdk.threadCount(), initialized: sdk.isInitialized() }));',
      ]);
      expect(code, stderr).toBe(0);
      expect(stderr).toBe('');
      return JSON.parse(stdout) as {
        error: { name: string; message: string } | null;
        threads: number;
        initialized: boolean;
      };
    };
    expect(await run("'auto'")).toEqual({
      error: null,
      threads: 1,
      initialized: true,
    });
    const two = await run('2');
    expect(two.error?.name).toBe('NotInitializedError');
    expect(two.error?.message).toMatch(/could not find the threads module/);
    expect(two.initialized).toBe(false);
  });
});

describe('training with 1, 2 and 3 threads (one child process each)', () => {
  let runs: Run[] = [];
  beforeAll(async () => {
    runs = [await run(1), await run(2), await run(3)];
  }, 240_000);

  it('each process runs the thread count it asked for', () => {
    expect(runs.map((r) => r.threads)).toEqual([1, 2, 3]);
  });

  it('the same seeds give bit-identical weights for a given thread count', () => {
    for (const r of runs) {
      expect(r.vanilla.a, `${r.threads} threads, vanilla`).toBe(r.vanilla.b);
      expect(r.convolutional.a, `${r.threads} threads, convolutional`).toBe(r.convolutional.b);
    }
  });

  it('2 and 3 threads agree with 1 thread within float tolerance', () => {
    for (const r of runs.slice(1)) {
      expect(worstDiff(r.vanilla.weights, runs[0].vanilla.weights), `${r.threads} threads, vanilla`).toBeLessThan(1e-4);
      expect(
        worstDiff(r.convolutional.weights, runs[0].convolutional.weights),
        `${r.threads} threads, conv`,
      ).toBeLessThan(1e-4);
      expect(worstDiff(r.convStep.weights, runs[0].convStep.weights)).toBeLessThan(1e-6);
      expect(worstDiff(r.denseStep.weights, runs[0].denseStep.weights)).toBeLessThan(1e-6);
    }
  });

  it('one Adam step equals the float64 reference step, for every thread count', () => {
    const conv = new ReferenceModel(SMALL_CONV.inputShape, SMALL_CONV.layers, input.convWeights);
    const convLoss = conv.trainStep(input.convX, input.convY, input.convN, KERAS_ADAM, 1);
    const dense = new ReferenceModel(SMALL_DENSE.inputShape, SMALL_DENSE.layers, input.denseWeights);
    const denseLoss = dense.trainStep(input.denseX, input.denseX, input.denseN, KERAS_ADAM, 1);
    for (const r of runs) {
      expect(r.convStep.loss).toBeCloseTo(convLoss, 5);
      conv.getWeights().forEach((w, i) => expectClose(r.convStep.weights[i], w, 2e-6, 1e-4));
      expect(r.denseStep.loss).toBeCloseTo(denseLoss, 5);
      dense.getWeights().forEach((w, i) => expectClose(r.denseStep.weights[i], w, 2e-6, 1e-4));
    }
  });
});
