// The worker trainer in Node (worker_threads), run against the build in dist/ (what users
// get: dist/index.js starts dist/worker.js). `npm run build` first; `npm test` does.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist');
const OUT = join(ROOT, 'test-output');
if (!existsSync(join(DIST, 'index.js')) || !existsSync(join(DIST, 'worker.js'))) {
  throw new Error('dist/index.js or dist/worker.js is missing: run `npm run build` before these tests');
}

type Sdk = typeof import('../ts/index.js');
const sdk: Sdk = await import(pathToFileURL(join(DIST, 'index.js')).href);
const {
  Autoencoder,
  AutoencoderError,
  CorruptDataError,
  DisposedError,
  ShapeError,
  ValueError,
  init,
  spawnTrainer,
  tensor,
  vanilla,
  convolutional,
  layers,
  sequential,
} = sdk;
type Trainer = Awaited<ReturnType<Sdk['spawnTrainer']>>;
type Tensor = import('../ts/index.js').Tensor;

/** Deterministic pseudo-random values in [0, 1). */
function data(n: number, sample: number[], seed: number): Tensor {
  const size = n * sample.reduce((a, b) => a * b, 1);
  const out = new Float32Array(size);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = (s >>> 0) / 2 ** 32;
  }
  return tensor(out, [n, ...sample]);
}

const bits = (t: Tensor) => new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length);

/** Index of the first differing bit pattern (-1: identical), cheap to report even for big arrays. */
function firstDifference(a: ArrayLike<number> & { length: number }, b: ArrayLike<number> & { length: number }): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}
const sameBits = (a: Tensor, b: Tensor) => firstDifference(bits(a), bits(b));

let trainer: Trainer;

beforeAll(async () => {
  await init();
  trainer = await spawnTrainer();
});

afterAll(async () => {
  await trainer?.terminate();
});

describe('remote models', () => {
  it.each([
    ['vanilla', 101_200, [784], [64]],
    ['deep', 1_149_520, [784], [64]],
    ['convolutional', 7_009, [28, 28, 1], [4, 4, 8]],
    ['denoising', 7_009, [28, 28, 1], [4, 4, 8]],
  ] as const)('%s: parameter count and shapes', async (preset, params, input, code) => {
    const model = await trainer.create(preset, { seed: 1 });
    expect(await model.countParams()).toBe(params);
    expect(model.inputShape).toEqual(input);
    expect(model.codeShape).toEqual(code);
    expect(model.outputShape).toEqual(input);
    const x = data(3, [...input], 1);
    const out = await model.predict(x);
    expect(out.shape).toEqual([3, ...input]);
    expect(Object.isFrozen(out.shape)).toBe(true);
    expect((await model.encode(x)).shape).toEqual([3, ...code]);
    expect((await model.decode(await model.encode(x))).data).toEqual(out.data);
    expect(await model.summary()).toContain(`Total params: ${params.toLocaleString('en-US')}`);
    await model.dispose();
    expect(model.isDisposed).toBe(true);
  });

  it('sequential() builds a custom model in the worker', async () => {
    const specs = [layers.dense(8, { activation: 'tanh' }), layers.dense(20, { activation: 'sigmoid' })];
    const remote = await trainer.sequential(specs, { inputShape: [20], encoderLength: 1, seed: 4 });
    const local = sequential(specs, { inputShape: [20], encoderLength: 1, seed: 4 });
    expect(remote.layers).toEqual(local.layers);
    const x = data(5, [20], 2);
    expect(sameBits(await remote.predict(x), local.predict(x))).toBe(-1);
    expect(await remote.evaluate(x, x)).toBe(local.evaluate(x, x));
    expect(await remote.compiled()).toEqual(local.compiled);
    local.dispose();
    await remote.dispose();
  });
});

describe('training in the worker equals training on the main thread, bit for bit', () => {
  it('vanilla, shuffled, with a validation split and callbacks', async () => {
    const x = data(96, [784], 3);
    const opts = { epochs: 3, batchSize: 16, seed: 7, validationSplit: 0.25 };
    const local = vanilla({ seed: 11 });
    const localHistory = await local.fit(x, x, opts);
    const remote = await trainer.create('vanilla', { seed: 11 });
    const epochs: number[] = [];
    const batchLosses: number[] = [];
    const remoteHistory = await remote.fit(x, x, {
      ...opts,
      onEpochEnd: (e) => void epochs.push(e),
      onBatchEnd: (_, logs) => void batchLosses.push(logs.loss),
    });
    expect(remoteHistory).toEqual(localHistory);
    expect(epochs).toEqual([0, 1, 2]);
    expect(batchLosses).toHaveLength(3 * Math.ceil(72 / 16));
    const a = await remote.getWeights();
    const b = local.getWeights();
    expect(a.map((w) => w.shape)).toEqual(b.map((w) => w.shape));
    a.forEach((w, i) => expect(sameBits(w, b[i])).toBe(-1));
    local.dispose();
    await remote.dispose();
  });

  it('convolutional with per-batch input noise (the RNG path)', async () => {
    const x = data(40, [28, 28, 1], 5);
    const opts = { epochs: 2, batchSize: 8, seed: 3, inputNoise: { std: 0.25 } };
    const local = convolutional({ seed: 2 });
    const localHistory = await local.fit(x, x, opts);
    const remote = await trainer.create('convolutional', { seed: 2 });
    expect(await remote.fit(x, x, opts)).toEqual(localHistory);
    const a = await remote.getWeights();
    local.getWeights().forEach((w, i) => expect(sameBits(a[i], w)).toBe(-1));
    // The trained model comes back to this thread through toBytes / fromBytes.
    const back = Autoencoder.fromBytes(await remote.toBytes());
    expect(sameBits(back.predict(x), local.predict(x))).toBe(-1);
    back.dispose();
    local.dispose();
    await remote.dispose();
  });

  it('a model loaded with fromBytes trains on exactly like one loaded on the main thread', async () => {
    const x = data(32, [784], 9);
    const trained = vanilla({ seed: 5, encodingSize: 16 });
    await trained.fit(x, x, { batchSize: 8, seed: 1 });
    const bytes = trained.toBytes();
    // Both start from the file's weights and compile settings, with a fresh optimizer state.
    const local = Autoencoder.fromBytes(bytes);
    const remote = await trainer.fromBytes(bytes);
    await local.fit(x, x, { batchSize: 8, seed: 2 });
    await remote.fit(x, x, { batchSize: 8, seed: 2 });
    expect(firstDifference(await remote.toBytes(), local.toBytes())).toBe(-1);
    trained.dispose();
    local.dispose();
    await remote.dispose();
  });
});

describe('callbacks and cancellation', () => {
  it('awaits async callbacks before the next batch', async () => {
    const model = await trainer.create('vanilla', { seed: 1, encodingSize: 8 });
    const x = data(40, [784], 4);
    const events: string[] = [];
    await model.fit(x, x, {
      epochs: 2,
      batchSize: 10,
      onBatchEnd: async (b) => {
        events.push(`batch ${b} start`);
        await new Promise((r) => setTimeout(r, 5));
        events.push(`batch ${b} end`);
      },
      onEpochEnd: (e) => void events.push(`epoch ${e}`),
    });
    const expected: string[] = [];
    for (let e = 0; e < 2; e++) {
      for (let b = 0; b < 4; b++) expected.push(`batch ${b} start`, `batch ${b} end`);
      expected.push(`epoch ${e}`);
    }
    expect(events).toEqual(expected);
    await model.dispose();
  });

  it('an AbortSignal aborted in a callback stops after that batch, as on the main thread', async () => {
    const x = data(100, [784], 23);
    const model = await trainer.create('vanilla', { seed: 1 });
    const controller = new AbortController();
    let batches = 0;
    const history = await model.fit(x, x, {
      epochs: 10,
      batchSize: 10,
      onBatchEnd: (b) => {
        batches++;
        if (b === 2) controller.abort();
      },
      signal: controller.signal,
    });
    expect(batches).toBe(3);
    expect(history).toEqual({ loss: [], valLoss: [], stopped: true });
    await model.dispose();
  });

  it('an abort from elsewhere (a Stop button) stops a long fit promptly', async () => {
    const model = await trainer.create('convolutional', { seed: 1 });
    const x = data(64, [28, 28, 1], 8);
    const controller = new AbortController();
    let batches = 0;
    setTimeout(() => controller.abort(), 300);
    const started = Date.now();
    const history = await model.fit(x, x, {
      epochs: 1000,
      batchSize: 16,
      signal: controller.signal,
      onBatchEnd: () => void batches++,
    });
    expect(history.stopped).toBe(true);
    expect(batches).toBeGreaterThan(0);
    expect(batches).toBeLessThan(1000 * 4);
    expect(Date.now() - started).toBeLessThan(10_000);
    // The model is usable afterwards (and trained by the batches that ran).
    expect((await model.predict(data(1, [28, 28, 1], 1))).shape).toEqual([1, 28, 28, 1]);
    await model.dispose();
  });

  it('an already aborted signal runs no batch', async () => {
    const model = await trainer.create('vanilla', { seed: 1, encodingSize: 4 });
    const x = data(20, [784], 1);
    const before = await model.getWeights();
    const history = await model.fit(x, x, { epochs: 3, signal: AbortSignal.abort() });
    expect(history).toEqual({ loss: [], valLoss: [], stopped: true });
    (await model.getWeights()).forEach((w, i) => expect(sameBits(w, before[i])).toBe(-1));
    await model.dispose();
  });

  it('a callback that throws rejects fit with its error', async () => {
    const model = await trainer.create('vanilla', { seed: 1, encodingSize: 4 });
    const x = data(20, [784], 1);
    await expect(
      model.fit(x, x, {
        batchSize: 5,
        onBatchEnd: () => {
          throw new TypeError('bad callback');
        },
      }),
    ).rejects.toThrow(/bad callback/);
    expect(await model.evaluate(x, x)).toBeGreaterThan(0);
    await model.dispose();
  });
});

describe('errors cross the boundary with their class, message and code', () => {
  it('bad input: the same error as on the main thread, and the trainer stays usable', async () => {
    const remote = await trainer.create('vanilla', { seed: 1 });
    const local = vanilla({ seed: 1 });
    const wrong = data(2, [28, 28, 1], 1);
    const mainError = (() => {
      try {
        local.predict(wrong);
      } catch (e) {
        return e as Error;
      }
      throw new Error('expected a ShapeError');
    })();
    const remoteError = await remote.predict(wrong).then(
      () => {
        throw new Error('expected a rejection');
      },
      (e: unknown) => e as Error & { code?: string },
    );
    expect(remoteError).toBeInstanceOf(ShapeError);
    expect(remoteError).toBeInstanceOf(AutoencoderError);
    expect(remoteError.name).toBe('ShapeError');
    expect(remoteError.code).toBe('ERR_SHAPE');
    expect(remoteError.message).toBe(mainError.message);
    expect(remoteError.stack).toContain('remote stack');

    const x = data(8, [784], 2);
    await expect(remote.fit(x, x, { epochs: 2.5 })).rejects.toThrow(ValueError);
    await expect(remote.fit(x, x, { epochs: 2.5 })).rejects.toThrow('epochs must be a positive integer, got 2.5');
    await expect(remote.fit(x, x, { epoch: 2 } as never)).rejects.toThrow(/did you mean "epochs"/);
    await expect(remote.fit(x, x, { onBatchEnd: 5 } as never)).rejects.toThrow('onBatchEnd must be a function, got 5');
    await expect(remote.fit(x, x, { signal: {} } as never)).rejects.toThrow(ValueError);
    await expect(remote.setWeights([])).rejects.toThrow(/expects an array of 4 tensors/);
    await expect(remote.predict({ shape: [1, 784], data: [1, 2] } as never)).rejects.toThrow(ValueError);
    await expect(trainer.create('vanila' as never)).rejects.toThrow(/did you mean "vanilla"/);
    await expect(trainer.create('vanilla', { seed: -1 })).rejects.toThrow(ValueError);
    await expect(trainer.sequential([], { inputShape: [4], encoderLength: 1 })).rejects.toThrow(ValueError);
    await expect(trainer.fromBytes(new Uint8Array(64))).rejects.toThrow(CorruptDataError);
    // Not cloneable (a function in the data): a ValueError from this side, nothing sent.
    await expect(remote.predict({ shape: [1, 784], data: () => 0 } as never)).rejects.toThrow(
      /cannot be sent to the worker/,
    );

    // Still usable: the model is unchanged and trains.
    const before = await remote.getWeights();
    local.getWeights().forEach((w, i) => expect(sameBits(before[i], w)).toBe(-1));
    const h = await remote.fit(x, x, { batchSize: 4, seed: 1 });
    expect(h.loss).toHaveLength(1);
    local.dispose();
    await remote.dispose();
  });

  it('use after dispose rejects with DisposedError', async () => {
    const model = await trainer.create('vanilla', { seed: 1, encodingSize: 4 });
    await model.dispose();
    await model.dispose(); // idempotent
    await expect(model.predict(data(1, [784], 1))).rejects.toThrow(DisposedError);
    await expect(model.toBytes()).rejects.toThrow('toBytes: this model was disposed');
  });
});

describe('transfer policy', () => {
  it('arguments are copied by default; results are transferred', async () => {
    const model = await trainer.create('vanilla', { seed: 1, encodingSize: 4 });
    const x = data(16, [784], 3);
    await model.fit(x, x, { batchSize: 8, seed: 1 });
    expect(x.data.length).toBe(16 * 784); // still ours
    const out = await model.predict(x);
    expect(out.data.byteLength).toBe(out.data.buffer.byteLength); // its own buffer, moved here
    const w = await model.getWeights();
    for (const t of w) expect(t.data.byteLength).toBe(t.data.buffer.byteLength);
    await model.dispose();
  });

  it('{ transfer: true } moves the argument buffers (detached here) with the same results', async () => {
    const model = await trainer.create('vanilla', { seed: 1, encodingSize: 4 });
    const local = vanilla({ seed: 1, encodingSize: 4 });
    const x = data(16, [784], 3);
    const copy = tensor(x.data.slice(), [16, 784]);
    const expected = await local.fit(copy, copy, { batchSize: 8, seed: 1 });
    expect(await model.fit(x, x, { batchSize: 8, seed: 1, transfer: true })).toEqual(expected);
    expect(x.data.length).toBe(0);
    expect(x.data.buffer.byteLength).toBe(0);

    const y = tensor(copy.data.slice(), [16, 784]);
    const out = await model.predict(y, { transfer: true });
    expect(y.data.length).toBe(0);
    expect(sameBits(out, local.predict(copy))).toBe(-1);

    // A view into a larger buffer: only its rows are sent; the larger buffer stays here.
    const big = new Float32Array(4 * 784).fill(0.5);
    const view = tensor(big.subarray(784, 3 * 784), [2, 784]);
    const viaView = await model.predict(view, { transfer: true });
    expect(big.length).toBe(4 * 784);
    expect(sameBits(viaView, await model.predict(tensor(big.slice(784, 3 * 784), [2, 784])))).toBe(-1);

    // validationData moves too; x given twice crosses once.
    const v = data(4, [784], 6);
    const w = data(8, [784], 7);
    const h = await model.fit(w, w, { batchSize: 4, validationData: [v, v], transfer: true });
    expect(h.valLoss).toHaveLength(1);
    expect(v.data.length).toBe(0);
    expect(w.data.length).toBe(0);

    const bytes = local.toBytes();
    const loaded = await trainer.fromBytes(bytes, { transfer: true });
    expect(bytes.length).toBe(0);
    expect(await loaded.countParams()).toBe(local.countParams());

    await expect(model.predict(copy, { transfer: 'yes' } as never)).rejects.toThrow(ValueError);
    await expect(model.predict(copy, { tranfser: true } as never)).rejects.toThrow(/did you mean "transfer"/);
    local.dispose();
    await model.dispose();
    await loaded.dispose();
  });
});

describe('worker lifecycle', () => {
  it('terminate() rejects a running fit at once, and later calls cleanly', async () => {
    const own = await spawnTrainer();
    const model = await own.create('convolutional', { seed: 1 });
    const x = data(64, [28, 28, 1], 2);
    let batches = 0;
    const fit = model.fit(x, x, { epochs: 1000, batchSize: 16, onBatchEnd: () => void batches++ }).then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string },
    );
    for (let i = 0; i < 1000 && batches < 2; i++) await new Promise((r) => setTimeout(r, 10));
    expect(batches).toBeGreaterThanOrEqual(2);
    const started = Date.now();
    await own.terminate();
    const error = await fit;
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(error).toBeInstanceOf(AutoencoderError);
    expect(error?.code).toBe('ERR_TRAINER_TERMINATED');
    expect(error?.message).toBe('fit was interrupted: the trainer was terminated');
    expect(own.terminated).toBe(true);
    expect(model.isDisposed).toBe(true);
    await expect(model.predict(x)).rejects.toThrow(DisposedError);
    await expect(own.create('vanilla')).rejects.toThrow('create: this trainer was terminated');
    await own.terminate(); // idempotent
    await model.dispose(); // no-op, no hang
  });

  describe('a worker that crashes', () => {
    let crashUrl: URL;
    beforeAll(async () => {
      // The real worker, plus a listener that kills it on certain calls.
      await mkdir(OUT, { recursive: true });
      const file = join(OUT, 'crashing-worker.mjs');
      await writeFile(
        file,
        [
          "import { parentPort } from 'node:worker_threads';",
          "parentPort.on('message', (m) => {",
          "  const method = m && m.type === 'APPLY' && Array.isArray(m.path) ? m.path[0] : undefined;",
          "  if (method === 'fit') setTimeout(() => { throw new RangeError('simulated crash in the worker'); }, 300);",
          "  if (method === 'countParams') process.exit(3);",
          '});',
          `await import(${JSON.stringify(pathToFileURL(join(DIST, 'worker.js')).href)});`,
          '',
        ].join('\n'),
      );
      crashUrl = pathToFileURL(file);
    });

    it('an uncaught error rejects the pending call with the original error', async () => {
      const t = await spawnTrainer({ workerUrl: crashUrl });
      const model = await t.create('convolutional', { seed: 1 });
      const x = data(64, [28, 28, 1], 2);
      const error = await model.fit(x, x, { epochs: 1000, batchSize: 16 }).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(error).toBeInstanceOf(RangeError);
      expect(error?.message).toBe('simulated crash in the worker');
      expect(t.terminated).toBe(true);
      const later = await model.predict(x).then(
        () => undefined,
        (e: unknown) => e as Error & { code?: string },
      );
      expect(later?.code).toBe('ERR_WORKER_EXITED');
      expect(later?.message).toMatch(
        /worker has stopped \(RangeError: simulated crash in the worker\); spawn a new trainer/,
      );
    });

    it('a worker that exits rejects the pending call with ERR_WORKER_EXITED', async () => {
      const t = await spawnTrainer({ workerUrl: crashUrl });
      const model = await t.create('vanilla', { seed: 1 });
      const error = await model.countParams().then(
        () => undefined,
        (e: unknown) => e as Error & { code?: string },
      );
      expect(error).toBeInstanceOf(AutoencoderError);
      expect(error?.code).toBe('ERR_WORKER_EXITED');
      expect(error?.message).toBe("countParams failed: the trainer's worker exited (exit code 3)");
    });
  });

  it('a worker script that cannot be loaded rejects spawnTrainer', async () => {
    const missing = pathToFileURL(join(OUT, 'no-such-worker.mjs'));
    const error = await spawnTrainer({ workerUrl: missing }).then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string },
    );
    expect(error).toBeInstanceOf(AutoencoderError);
    expect(error?.code).toBe('ERR_WORKER_START');
    expect(error?.message).toContain('no-such-worker.mjs');
  });

  it('rejects bad options', async () => {
    await expect(spawnTrainer({ workerUrl: 5 } as never)).rejects.toThrow(ValueError);
    await expect(spawnTrainer({ wokerUrl: 'x' } as never)).rejects.toThrow(/did you mean "workerUrl"/);
  });

  it('a model nobody holds keeps training until its fit settles (garbage collection mid-fit)', async () => {
    await mkdir(OUT, { recursive: true });
    const file = join(OUT, 'gc-during-fit.mjs');
    await writeFile(
      file,
      [
        `import { spawnTrainer, tensor } from ${JSON.stringify(pathToFileURL(join(DIST, 'index.js')).href)};`,
        'const trainer = await spawnTrainer();',
        'const x = tensor(new Float32Array(64 * 784).map((_, i) => (i % 13) / 13), [64, 28, 28, 1]);',
        "const h = await (await trainer.create('convolutional', { seed: 2 })).fit(x, x, {",
        '  epochs: 3, batchSize: 16,',
        '  onBatchEnd: async () => { globalThis.gc(); await new Promise((r) => setTimeout(r, 5)); },',
        '});',
        'console.log(h.stopped, h.loss.length);',
        'await trainer.terminate();',
      ].join('\n'),
    );
    const stdout = await new Promise<string>((done, fail) => {
      execFile(process.execPath, ['--expose-gc', file], { timeout: 60_000 }, (error, out, err) =>
        error ? fail(new Error(`${error.message}\n${err}`)) : done(out),
      );
    });
    expect(stdout.trim()).toBe('false 3');
  });

  it.each([
    ['ESM', 'index.js', 'mjs', 1],
    ['CommonJS', 'index.cjs', 'cjs', 1],
    // The worker's helper threads (nested workers) must not keep it alive either.
    ['ESM, threads: 2', 'index.js', 'mjs', 2],
  ])('an idle trainer does not keep a Node process alive (%s)', async (_, entry, ext, threads) => {
    await mkdir(OUT, { recursive: true });
    const file = join(OUT, `idle-trainer-${threads}.${ext}`);
    const target = join(DIST, entry);
    const body = [
      `const trainer = await spawnTrainer({ threads: ${threads} });`,
      "const model = await trainer.create('vanilla', { seed: 1, encodingSize: 8 });",
      'const x = tensor(new Float32Array(32 * 784).fill(0.5), [32, 784]);',
      'const h = await model.fit(x, x, { epochs: 2, batchSize: 8 });',
      "console.log('trained', h.loss.length, 'threads', trainer.threads);",
      '// no terminate(): the process must still exit',
    ].join('\n');
    const source =
      ext === 'mjs'
        ? `import { spawnTrainer, tensor } from ${JSON.stringify(pathToFileURL(target).href)};\n${body}\n`
        : `const { spawnTrainer, tensor } = require(${JSON.stringify(target)});\n(async () => {\n${body}\n})();\n`;
    await writeFile(file, source);
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
      (done) => {
        execFile(process.execPath, [file], { timeout: 30_000 }, (error, stdout, stderr) =>
          done({ code: error ? ((error as { code?: number }).code ?? -1) : 0, stdout, stderr }),
        );
      },
    );
    expect(stderr).toBe('');
    expect(stdout.trim()).toBe(`trained 2 threads ${threads}`);
    expect(code).toBe(0);
  });
});
