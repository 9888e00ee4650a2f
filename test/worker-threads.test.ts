// spawnTrainer({ threads }) in Node, against the build in dist/ (`npm run build` first): the
// trainer's worker loads the threads build and starts helpers of its own (worker_threads
// nested in the trainer's worker). The reference is the same training on a process's main
// thread with init({ threads }), run in a child process (test/threads-run.mjs), because a
// process has one thread count.
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firstDifference } from './assertions.js';
import { runNode } from './harness.js';
import { FIT_RUNS as RUNS, mainThreadReference, type ThreadsReference } from './fit-runs.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist');
const OUT = join(ROOT, 'test-output');
for (const f of ['index.js', 'worker.js', 'wasm_autoencoders_threads_bg.wasm', 'wasm_autoencoders_threads.js']) {
  if (!existsSync(join(DIST, f)))
    throw new Error(`dist/${f} is missing: run \`npm run build\` (without THREADS=0) before these tests`);
}

type Sdk = typeof import('../ts/index.js');
const sdk: Sdk = await import(pathToFileURL(join(DIST, 'index.js')).href);
const { AutoencoderError, ValueError, spawnTrainer, tensor } = sdk;
type Trainer = Awaited<ReturnType<Sdk['spawnTrainer']>>;
type History = import('../ts/index.js').History;

describe('spawnTrainer({ threads }) options', () => {
  // A worker script that does not exist: an option checked only after starting the worker
  // would reject with ERR_WORKER_START instead of the ValueError.
  const missingWorker = pathToFileURL(join(OUT, 'no-such-worker.mjs'));

  it('rejects bad thread counts and URLs with ValueError, before starting a worker', async () => {
    for (const threads of [0, -1, 1.5, 65, Number.NaN, Infinity, '2', 'Auto', null, true]) {
      await expect(spawnTrainer({ threads, workerUrl: missingWorker } as never), String(threads)).rejects.toThrow(
        ValueError,
      );
    }
    await expect(spawnTrainer({ threads: 65, workerUrl: missingWorker })).rejects.toThrow(
      "spawnTrainer options.threads must be an integer in [1, 64] or 'auto', got 65",
    );
    await expect(spawnTrainer({ thread: 2, workerUrl: missingWorker } as never)).rejects.toThrow(
      /unknown option "thread"; did you mean "threads"\?/,
    );
    for (const key of ['threadsWasmUrl', 'threadsGlueUrl']) {
      await expect(spawnTrainer({ threads: 2, [key]: 3, workerUrl: missingWorker } as never), key).rejects.toThrow(
        `spawnTrainer options.${key} must be a URL or a string, got 3`,
      );
    }
  });

  it('threads: 1 runs one thread', async () => {
    const trainer = await spawnTrainer({ threads: 1 });
    expect(trainer.threads).toBe(1);
    await trainer.terminate();
    expect(trainer.threads).toBe(1); // still readable afterwards
  });

  it("a default trainer, and threads: 'auto', run one thread per core (os.availableParallelism())", async () => {
    const { availableParallelism } = await import('node:os');
    for (const opts of [undefined, { threads: 'auto' as const }]) {
      const trainer = await spawnTrainer(opts);
      expect(trainer.threads, JSON.stringify(opts)).toBe(Math.min(availableParallelism(), 64));
      await trainer.terminate();
    }
  });

  it('a threads build that cannot be loaded rejects spawnTrainer, naming the file', async () => {
    const missing = join(OUT, 'no-such-threads.wasm');
    const error = await spawnTrainer({ threads: 2, threadsWasmUrl: missing }).then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string },
    );
    expect(error).toBeInstanceOf(AutoencoderError);
    expect(error?.code).toBe('ERR_WORKER_START');
    expect(error?.message).toContain('no-such-threads.wasm');
  });
});

describe('a worker with threads: 2 trains exactly like init({ threads: 2 }) on the main thread', () => {
  let trainer: Trainer;
  let reference: ThreadsReference;
  const inWorker: { history: History; weights: Float32Array[] }[] = [];

  beforeAll(async () => {
    reference = await mainThreadReference(2);
    trainer = await spawnTrainer({ threads: 2 });
    for (const run of RUNS) {
      const model = await trainer.create(run.preset, run.options as never);
      const x = tensor(Float32Array.from(run.x), run.shape);
      const history = await model.fit(x, x, run.fit);
      inWorker.push({ history, weights: (await model.getWeights()).map((w) => w.data) });
      await model.dispose();
    }
  });

  afterAll(async () => {
    await trainer?.terminate();
  });

  it('both run 2 threads', () => {
    expect(reference.threads).toBe(2);
    expect(trainer.threads).toBe(2);
  });

  it.each(RUNS.map((run, i) => [run.preset, i] as const))('%s: the same losses and bit-identical weights', (_, i) => {
    const expected = reference.runs[i];
    const got = inWorker[i];
    expect(got.history).toEqual(expected.history);
    expect(got.weights.length).toBe(expected.weights.length);
    got.weights.forEach((w, k) =>
      expect(firstDifference(w, Float32Array.from(expected.weights[k])), `weight ${k}`).toBe(-1),
    );
  });
});

describe('helper threads end with the trainer', () => {
  // Counting a process's threads needs Linux's /proc.
  it.skipIf(!existsSync('/proc/self/task'))(
    'terminate() during a fit ends the worker and its helpers, and the process exits',
    async () => {
      await mkdir(OUT, { recursive: true });
      const file = join(OUT, 'terminate-threads-trainer.mjs');
      await writeFile(
        file,
        [
          "import { readdirSync } from 'node:fs';",
          `import { spawnTrainer, tensor } from ${JSON.stringify(pathToFileURL(join(DIST, 'index.js')).href)};`,
          "const osThreads = () => readdirSync('/proc/self/task').length;",
          "// The first trainer starts what stays for good (libuv's thread pool, for file reads).",
          'await (await spawnTrainer()).terminate();',
          'const before = osThreads();',
          'const trainer = await spawnTrainer({ threads: 2 });',
          "const model = await trainer.create('convolutional', { seed: 1 });",
          'const x = tensor(new Float32Array(64 * 784).map((_, i) => (i % 13) / 13), [64, 28, 28, 1]);',
          'let batches = 0;',
          'const fit = model.fit(x, x, { epochs: 1000, batchSize: 16, onBatchEnd: () => void batches++ }).then(() => "finished", (e) => e.code);',
          'while (batches < 2) await new Promise((r) => setTimeout(r, 10));',
          'const during = osThreads();',
          'await trainer.terminate();',
          'console.log(JSON.stringify({ threads: trainer.threads, before, during, after: osThreads(), fit: await fit }));',
          '// no process.exit(): the process must end by itself',
        ].join('\n'),
      );
      const { code, stdout, stderr } = await runNode([file], { cwd: ROOT });
      expect(stderr).toBe('');
      expect(code).toBe(0);
      const counts = JSON.parse(stdout) as {
        threads: number;
        before: number;
        during: number;
        after: number;
        fit: string;
      };
      expect(counts.threads).toBe(2);
      expect(counts.fit).toBe('ERR_TRAINER_TERMINATED');
      // The trainer's worker and its helper ran beside the process's own threads...
      expect(counts.during).toBeGreaterThanOrEqual(counts.before + 2);
      // ...and both are gone once terminate() resolves.
      expect(counts.after).toBe(counts.before);
    },
  );
});
