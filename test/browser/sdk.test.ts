// The SDK's main cases in headless Chromium, twice: on the page's main thread (Autoencoder)
// and inside a module Web Worker (spawnTrainer → RemoteAutoencoder). Runs the TypeScript
// sources through Vite, which also bundles ts/worker.ts for `new Worker(new URL('./worker.js',
// import.meta.url), { type: 'module' })`; the .wasm is found by init()'s default lookup.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Autoencoder,
  AutoencoderError,
  ShapeError,
  ValueError,
  DisposedError,
  convolutional,
  deep,
  denoising,
  init,
  layers,
  sequential,
  spawnTrainer,
  tensor,
  vanilla,
  type FitOptions,
  type History,
  type LayerSpec,
  type SequentialOptions,
  type Tensor,
  type Trainer,
} from '../../ts/index.js';
import { ReferenceModel, randomArray, type LayerSpec as RefSpec } from '../reference64.js';
import { expectClose, firstDifference } from '../assertions.js';

type Preset = 'vanilla' | 'deep' | 'convolutional' | 'denoising';

/** The part of the model API both threads share, async. */
interface AnyModel {
  readonly inputShape: readonly number[];
  readonly codeShape: readonly number[];
  readonly outputShape: readonly number[];
  fit(x: Tensor, y: Tensor, opts?: FitOptions): Promise<History>;
  predict(x: Tensor): Promise<Tensor>;
  encode(x: Tensor): Promise<Tensor>;
  decode(x: Tensor): Promise<Tensor>;
  evaluate(x: Tensor, y: Tensor): Promise<number>;
  getWeights(): Promise<Tensor[]>;
  setWeights(w: Tensor[]): Promise<void>;
  toBytes(): Promise<Uint8Array>;
  countParams(): Promise<number>;
  summary(): Promise<string>;
  dispose(): Promise<void>;
}

interface Backend {
  create(preset: Preset, opts?: { seed?: number; encodingSize?: number }): Promise<AnyModel>;
  sequential(specs: LayerSpec[], opts: SequentialOptions): Promise<AnyModel>;
  fromBytes(bytes: Uint8Array): Promise<AnyModel>;
}

/** The main-thread Autoencoder behind the async interface (sync throws become rejections). */
function local(m: Autoencoder): AnyModel {
  return {
    inputShape: m.inputShape,
    codeShape: m.codeShape,
    outputShape: m.outputShape,
    fit: (x, y, o) => m.fit(x, y, o),
    predict: async (x) => m.predict(x),
    encode: async (x) => m.encode(x),
    decode: async (x) => m.decode(x),
    evaluate: async (x, y) => m.evaluate(x, y),
    getWeights: async () => m.getWeights(),
    setWeights: async (w) => m.setWeights(w),
    toBytes: async () => m.toBytes(),
    countParams: async () => m.countParams(),
    summary: async () => m.summary(),
    dispose: async () => m.dispose(),
  };
}

const PRESETS = { vanilla, deep, convolutional, denoising } as const;

const mainThread: Backend = {
  create: async (preset, opts) => local(PRESETS[preset](opts as never)),
  sequential: async (specs, opts) => local(sequential(specs, opts)),
  fromBytes: async (bytes) => local(Autoencoder.fromBytes(bytes)),
};

let trainer: Trainer;
const inWorker: Backend = {
  create: (preset, opts) => trainer.create(preset, opts as never),
  sequential: (specs, opts) => trainer.sequential(specs, opts),
  fromBytes: (bytes) => trainer.fromBytes(bytes),
};

beforeAll(async () => {
  await init();
  trainer = await spawnTrainer();
});

afterAll(async () => {
  await trainer?.terminate();
});

const CONV_SPECS: RefSpec[] = [
  { kind: 'conv2d', filters: 4, kernelSize: [3, 3], padding: 'same', activation: 'relu' },
  { kind: 'maxPooling2d', pool: [2, 2], padding: 'same' },
  { kind: 'conv2d', filters: 3, kernelSize: [3, 3], padding: 'valid', activation: 'tanh' },
  { kind: 'upSampling2d', size: [2, 2] },
  { kind: 'conv2d', filters: 1, kernelSize: [3, 3], padding: 'same', activation: 'sigmoid' },
];
const SDK_CONV = () => [
  layers.conv2d(4, 3, { padding: 'same', activation: 'relu' }),
  layers.maxPooling2d(2, { padding: 'same' }),
  layers.conv2d(3, 3, { padding: 'valid', activation: 'tanh' }),
  layers.upSampling2d(2),
  layers.conv2d(1, 3, { padding: 'same', activation: 'sigmoid' }),
];

/** Replaces a model's weights with small random ones; returns them for the reference. */
async function randomize(model: AnyModel, seed: number, scale = 1): Promise<Float64Array[]> {
  const current = await model.getWeights();
  const weights = current.map((w, i) => randomArray(w.data.length, seed + i, -0.5 * scale, 0.5 * scale));
  await model.setWeights(current.map((w, i) => tensor(Float32Array.from(weights[i]), w.shape as number[])));
  return weights;
}

describe.each([
  ['main thread', mainThread],
  ['web worker', inWorker],
] as const)('SDK in Chromium, %s', (_, backend) => {
  it.each([
    ['vanilla', 101_200, [784], [64]],
    ['deep', 1_149_520, [784], [64]],
    ['convolutional', 7_009, [28, 28, 1], [4, 4, 8]],
    ['denoising', 7_009, [28, 28, 1], [4, 4, 8]],
  ] as const)('%s: Keras parameter count and shapes', async (preset, params, input, code) => {
    const model = await backend.create(preset, { seed: 1 });
    expect(await model.countParams()).toBe(params);
    expect(model.inputShape).toEqual(input);
    expect(model.codeShape).toEqual(code);
    expect(model.outputShape).toEqual(input);
    const x = tensor(new Float32Array(3 * 784).fill(0.5), [3, ...input]);
    expect((await model.predict(x)).shape).toEqual([3, ...input]);
    expect((await model.encode(x)).shape).toEqual([3, ...code]);
    expect(await model.summary()).toContain(`Total params: ${params.toLocaleString('en-US')}`);
    await model.dispose();
  });

  it('forward pass of a dense model matches the float64 reference', async () => {
    const model = await backend.create('vanilla', { encodingSize: 16, seed: 2 });
    const weights = await randomize(model, 10);
    const ref = new ReferenceModel(
      [784],
      [
        { kind: 'dense', units: 16, activation: 'relu' },
        { kind: 'dense', units: 784, activation: 'relu' },
      ],
      weights,
    );
    const x = randomArray(5 * 784, 7);
    const out = await model.predict(tensor(Float32Array.from(x), [5, 784]));
    expectClose(out.data, ref.forward(x, 5), 1e-4, 1e-4);
    await model.dispose();
  });

  it('forward pass of a conv / pool / upsample model matches the reference; encode then decode = predict', async () => {
    const model = await backend.sequential(SDK_CONV(), { inputShape: [9, 9, 1], encoderLength: 2, seed: 3 });
    const weights = await randomize(model, 20);
    const ref = new ReferenceModel([9, 9, 1], CONV_SPECS, weights);
    expect(model.outputShape).toEqual(ref.outputShape);
    const x = randomArray(4 * 81, 8);
    const xt = tensor(Float32Array.from(x), [4, 9, 9, 1]);
    const out = await model.predict(xt);
    expectClose(out.data, ref.forward(x, 4), 1e-5, 1e-4);
    expect(firstDifference((await model.decode(await model.encode(xt))).data, out.data)).toBe(-1);
    await model.dispose();
  });

  it('one Adam step equals the reference step', async () => {
    const model = await backend.sequential(SDK_CONV(), { inputShape: [9, 9, 1], encoderLength: 2, seed: 3 });
    const weights = await randomize(model, 40);
    const ref = new ReferenceModel([9, 9, 1], CONV_SPECS, weights);
    const n = 6;
    const x = randomArray(n * 81, 11);
    const y = randomArray(n * 36, 12);
    const history = await model.fit(
      tensor(Float32Array.from(x), [n, 9, 9, 1]),
      tensor(Float32Array.from(y), [n, 6, 6, 1]),
      {
        epochs: 1,
        batchSize: n,
        shuffle: false,
      },
    );
    const refLoss = ref.trainStep(x, y, n, { lr: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 }, 1);
    expect(history.loss[0]).toBeCloseTo(refLoss, 5);
    const after = await model.getWeights();
    ref.getWeights().forEach((w, i) => expectClose(after[i].data, w, 2e-6, 1e-4));
    await model.dispose();
  });

  it('a short training run lowers the loss, with callbacks and a validation split', async () => {
    const n = 200;
    const data = tensor(
      Float32Array.from(randomArray(n * 784, 22)).map((v) => (v > 0.7 ? 1 : 0)),
      [n, 784],
    );
    const model = await backend.create('vanilla', { seed: 3 });
    const epochs: number[] = [];
    let batches = 0;
    const history = await model.fit(data, data, {
      epochs: 5,
      batchSize: 32,
      validationSplit: 0.2,
      seed: 1,
      onEpochEnd: (e) => void epochs.push(e),
      onBatchEnd: () => void batches++,
    });
    expect(epochs).toEqual([0, 1, 2, 3, 4]);
    expect(batches).toBe(5 * Math.ceil(160 / 32));
    expect(history.valLoss).toHaveLength(5);
    expect(history.loss[4]).toBeLessThan(history.loss[0]);
    expect(history.valLoss[4]).toBeLessThan(history.valLoss[0]);
    await model.dispose();
  });

  it('save / load round trip is bit-exact', async () => {
    const model = await backend.create('convolutional', { seed: 5 });
    const x = tensor(
      new Float32Array(8 * 784).map((_, i) => (i % 7) / 7),
      [8, 28, 28, 1],
    );
    await model.fit(x, x, { batchSize: 4, seed: 1 });
    const bytes = await model.toBytes();
    const loaded = await backend.fromBytes(bytes);
    expect(loaded.codeShape).toEqual([4, 4, 8]);
    const [a, b] = [await model.getWeights(), await loaded.getWeights()];
    b.forEach((w, i) => expect(firstDifference(w.data, a[i].data)).toBe(-1));
    expect(firstDifference((await loaded.predict(x)).data, (await model.predict(x)).data)).toBe(-1);
    expect(await loaded.toBytes()).toEqual(bytes);
    // Files cross threads: the other side loads them too.
    const other = Autoencoder.fromBytes(bytes);
    expect(firstDifference(other.predict(x).data, (await model.predict(x)).data)).toBe(-1);
    other.dispose();
    await model.dispose();
    await loaded.dispose();
  });

  it('bad input gives a typed error that says what was expected; the model stays usable', async () => {
    const model = await backend.create('vanilla', { seed: 1, encodingSize: 8 });
    const before = await model.getWeights();
    const wrong = tensor(new Float32Array(2 * 784), [2, 28, 28, 1]);
    const error = await model.predict(wrong).then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string },
    );
    expect(error).toBeInstanceOf(ShapeError);
    expect(error).toBeInstanceOf(AutoencoderError);
    expect(error?.code).toBe('ERR_SHAPE');
    expect(error?.message).toMatch(/^predict input must have shape \[N, 784\], got \[N, 28, 28, 1\] with N = 2/);
    const x = tensor(new Float32Array(4 * 784).fill(0.25), [4, 784]);
    await expect(model.fit(x, x, { epochs: 0 })).rejects.toThrow(
      new ValueError('epochs must be a positive integer, got 0'),
    );
    await expect(model.setWeights(before.slice(1))).rejects.toThrow(ValueError);
    await expect(backend.fromBytes(new Uint8Array([1, 2, 3]))).rejects.toThrow(/not a valid model file/);
    (await model.getWeights()).forEach((w, i) => expect(firstDifference(w.data, before[i].data)).toBe(-1));
    expect((await model.fit(x, x, { batchSize: 2 })).loss).toHaveLength(1);
    await model.dispose();
    await expect(model.predict(x)).rejects.toThrow(DisposedError);
  });
});

describe('the worker in Chromium', () => {
  it('trains bit for bit like the main thread (same seeds)', async () => {
    const x = tensor(Float32Array.from(randomArray(48 * 784, 31)), [48, 28, 28, 1]);
    const opts = { epochs: 2, batchSize: 8, seed: 4, validationSplit: 0.25, inputNoise: { std: 0.25 } };
    const here = convolutional({ seed: 9 });
    const hereHistory = await here.fit(x, x, opts);
    const there = await trainer.create('convolutional', { seed: 9 });
    expect(await there.fit(x, x, opts)).toEqual(hereHistory);
    const w = await there.getWeights();
    here.getWeights().forEach((hw, i) => expect(firstDifference(w[i].data, hw.data)).toBe(-1));
    here.dispose();
    await there.dispose();
  });

  it('keeps the page responsive, stops on an AbortSignal, and terminate() rejects pending calls', async () => {
    const own = await spawnTrainer();
    const model = await own.create('convolutional', { seed: 1 });
    const x = tensor(Float32Array.from(randomArray(64 * 784, 5)), [64, 28, 28, 1]);
    const controller = new AbortController();
    let batches = 0;
    let frames = 0;
    let counting = true;
    const countFrames = () => {
      frames++;
      if (counting) requestAnimationFrame(countFrames);
    };
    requestAnimationFrame(countFrames);
    const fit = model.fit(x, x, {
      epochs: 1000,
      batchSize: 16,
      signal: controller.signal,
      onBatchEnd: () => void batches++,
    });
    await new Promise((r) => setTimeout(r, 600));
    controller.abort();
    const history = await fit;
    counting = false;
    expect(history.stopped).toBe(true);
    expect(batches).toBeGreaterThan(0);
    expect(frames).toBeGreaterThan(5); // the main thread kept painting while the worker trained

    const pending = model.fit(x, x, { epochs: 1000, batchSize: 16 }).then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string },
    );
    await new Promise((r) => setTimeout(r, 100));
    await own.terminate();
    const error = await pending;
    expect(error).toBeInstanceOf(AutoencoderError);
    expect(error?.code).toBe('ERR_TRAINER_TERMINATED');
    await expect(model.predict(x)).rejects.toThrow(DisposedError);
  });

  it('a worker script that cannot load rejects spawnTrainer instead of hanging', async () => {
    const error = await spawnTrainer({ workerUrl: '/no-such-worker.js' }).then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string },
    );
    expect(error).toBeInstanceOf(AutoencoderError);
    expect(error?.message).toMatch(/no-such-worker\.js/);
  });
});
