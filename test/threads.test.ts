// The threads build (init({ threads: n })) in Node, against the build in dist/ (`npm run
// build` first). A process has one thread count, so 1, 2 and 3 threads each run in a child
// process (test/threads-run.mjs); this process checks option validation and init itself.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { ReferenceModel, randomArray, type LayerSpec as RefSpec } from './reference64.js';
import { expectClose } from './assertions.js';
import { runNode } from './harness.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist');
// The threads module with the pool's test switches: `npm test` builds it (TEST_HOOKS=1).
const HOOKS = join(ROOT, 'pkg-threads-hooks');
for (const f of ['index.js', 'wasm_autoencoders_threads_bg.wasm', 'wasm_autoencoders_threads.js']) {
  if (!existsSync(join(DIST, f)))
    throw new Error(`dist/${f} is missing: run \`npm run build\` (without THREADS=0) before these tests`);
}
type Sdk = typeof import('../ts/index.js');
const sdk: Sdk = await import(pathToFileURL(join(DIST, 'index.js')).href);

interface Run {
  threads: number;
  vanilla: { a: string; b: string; weights: number[][] };
  convolutional: { a: string; b: string; weights: number[][] };
  convStep: { loss: number; weights: number[][] };
  denseStep: { loss: number; weights: number[][] };
}

const CONV_SPECS: RefSpec[] = [
  { kind: 'conv2d', filters: 4, kernelSize: [3, 3], padding: 'same', activation: 'relu' },
  { kind: 'maxPooling2d', pool: [2, 2], padding: 'same' },
  { kind: 'conv2d', filters: 3, kernelSize: [3, 3], padding: 'valid', activation: 'tanh' },
  { kind: 'upSampling2d', size: [2, 2] },
  { kind: 'conv2d', filters: 1, kernelSize: [3, 3], padding: 'same', activation: 'sigmoid' },
];
const CONV_SHAPES = [[3, 3, 1, 4], [4], [3, 3, 4, 3], [3], [3, 3, 3, 1], [1]];
const DENSE_SPECS: RefSpec[] = [
  { kind: 'dense', units: 6, activation: 'tanh' },
  { kind: 'dense', units: 10, activation: 'sigmoid' },
];
const DENSE_SHAPES = [[10, 6], [6], [6, 10], [10]];
const prod = (s: number[]) => s.reduce((a, b) => a * b, 1);
const weightsFor = (shapes: number[][], seed: number) =>
  shapes.map((s, i) => randomArray(prod(s), seed + i, -0.5, 0.5));

const input = {
  convWeights: weightsFor(CONV_SHAPES, 40).map((w) => Array.from(Float32Array.from(w))),
  convN: 7,
  convX: Array.from(Float32Array.from(randomArray(7 * 81, 11))),
  convY: Array.from(Float32Array.from(randomArray(7 * 36, 12))),
  denseWeights: weightsFor(DENSE_SHAPES, 50).map((w) => Array.from(Float32Array.from(w))),
  denseN: 9,
  denseX: Array.from(Float32Array.from(randomArray(9 * 10, 13))),
};

function run(threads: number): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const child = execFile(
      process.execPath,
      [join(ROOT, 'test', 'threads-run.mjs'), String(threads)],
      { cwd: ROOT, maxBuffer: 256 * 1024 * 1024, timeout: 110_000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${threads} thread(s): ${error.message}\n${stderr}`));
        else resolvePromise(JSON.parse(stdout) as Run);
      },
    );
    child.stdin?.end(JSON.stringify(input));
  });
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
    const script = [
      "import { availableParallelism } from 'node:os';",
      `const sdk = await import(${JSON.stringify(pathToFileURL(join(DIST, 'index.js')).href)});`,
      'await sdk.init();',
      'const model = sdk.vanilla({ encodingSize: 4, seed: 1 });',
      'const x = sdk.tensor(new Float32Array(8 * 784).fill(0.5), [8, 784]);',
      'const history = await model.fit(x, x, { epochs: 1, batchSize: 4 });',
      'console.log(JSON.stringify({ threads: sdk.threadCount(), cores: availableParallelism(), loss: history.loss[0] }));',
    ].join('\n');
    const { code, stdout, stderr } = await runNode(['--input-type=module', '-e', script], { cwd: ROOT });
    expect(code, stderr).toBe(0);
    const out = JSON.parse(stdout) as { threads: number; cores: number; loss: number };
    expect(out.threads).toBe(Math.min(out.cores, 64));
    expect(Number.isFinite(out.loss)).toBe(true);
  });
});

/** Runs an ES module script in a fresh Node process; resolves with what it printed as JSON. */
async function inFreshProcess<T>(lines: string[]): Promise<T> {
  const sdkUrl = JSON.stringify(pathToFileURL(join(DIST, 'index.js')).href);
  const script = [`const sdk = await import(${sdkUrl});`, ...lines].join('\n');
  const { code, stdout, stderr } = await runNode(['--input-type=module', '-e', script], {
    cwd: ROOT,
    timeoutMs: 60_000,
  });
  expect(code, stderr).toBe(0);
  return JSON.parse(stdout) as T;
}

/** `await promise` in the script: its rejection as { name, code, message }, or null. */
const outcome = (promise: string) =>
  `await (${promise}).then(() => null, (e) => ({ name: e?.constructor?.name, code: e?.code, message: String(e?.message ?? e) }))`;

describe('failures of the threads build do not hang or lie', () => {
  it('a trap on a helper fails that job with a RuntimeError, and the pool goes on serially', async () => {
    const out = await inFreshProcess<{ before: number; error: { name: string } | null; after: number; loss: number }>([
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
  const glueUrl = pathToFileURL(join(DIST, 'wasm_autoencoders_threads.js')).href;
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
    const script = [
      "import { availableParallelism } from 'node:os';",
      `const sdk = await import(${JSON.stringify(pathToFileURL(join(DIST, 'index.js')).href)});`,
      `await sdk.init({ threadsGlue: ${JSON.stringify(refusing)} });`,
      'const model = sdk.vanilla({ encodingSize: 4, seed: 1 });',
      'const x = sdk.tensor(new Float32Array(8 * 784).fill(0.5), [8, 784]);',
      'const history = await model.fit(x, x, { epochs: 1, batchSize: 4 });',
      'console.log(JSON.stringify({ threads: sdk.threadCount(), cores: availableParallelism(), loss: history.loss[0] }));',
    ].join('\n');
    const { code, stdout, stderr } = await runNode(['--input-type=module', '-e', script], {
      cwd: ROOT,
      timeoutMs: 60_000,
    });
    expect(code, stderr).toBe(0);
    const out = JSON.parse(stdout) as { threads: number; cores: number; loss: number };
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
    const bare = join(ROOT, 'test-output', 'dist-without-threads');
    await rm(bare, { recursive: true, force: true });
    await cp(DIST, bare, { recursive: true, filter: (f) => !basename(f).startsWith('wasm_autoencoders_threads') });
    const sdkUrl = JSON.stringify(pathToFileURL(join(bare, 'index.js')).href);
    const run = async (threads: string) => {
      const script = [
        `const sdk = await import(${sdkUrl});`,
        `const error = ${outcome(`sdk.init({ threads: ${threads} })`)};`,
        'console.log(JSON.stringify({ error, threads: sdk.threadCount(), initialized: sdk.isInitialized() }));',
      ].join('\n');
      const { code, stdout, stderr } = await runNode(['--input-type=module', '-e', script], { cwd: ROOT });
      expect(code, stderr).toBe(0);
      expect(stderr).toBe('');
      return JSON.parse(stdout) as {
        error: { name: string; message: string } | null;
        threads: number;
        initialized: boolean;
      };
    };
    expect(await run("'auto'")).toEqual({ error: null, threads: 1, initialized: true });
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
    const adam = { lr: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 };
    const conv = new ReferenceModel([9, 9, 1], CONV_SPECS, input.convWeights);
    const convLoss = conv.trainStep(input.convX, input.convY, input.convN, adam, 1);
    const dense = new ReferenceModel([10], DENSE_SPECS, input.denseWeights);
    const denseLoss = dense.trainStep(input.denseX, input.denseX, input.denseN, adam, 1);
    for (const r of runs) {
      expect(r.convStep.loss).toBeCloseTo(convLoss, 5);
      conv.getWeights().forEach((w, i) => expectClose(r.convStep.weights[i], w, 2e-6, 1e-4));
      expect(r.denseStep.loss).toBeCloseTo(denseLoss, 5);
      dense.getWeights().forEach((w, i) => expectClose(r.denseStep.weights[i], w, 2e-6, 1e-4));
    }
  });
});
