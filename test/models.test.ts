// The SDK's models against independent references: parameter counts and shapes of the
// tutorial's presets, forward passes and a training step against the float64 reference.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  convolutional,
  deep,
  denoising,
  init,
  layers,
  sequential,
  tensor,
  vanilla,
  type Autoencoder,
} from '../ts/index.js';
import { ReferenceModel, randomArray, type LayerSpec as RefSpec } from './reference64.js';
import { expectClose } from './assertions.js';

beforeAll(() => init());

/** Small random weights, the same in both models. */
function randomWeights(model: Autoencoder, seed: number) {
  return model.getWeights().map((w, i) => Float32Array.from(randomArray(w.data.length, seed + i, -0.5, 0.5)));
}

describe('tutorial presets', () => {
  it.each([
    ['vanilla', () => vanilla({ seed: 1 }), 101_200, [784], [64], [784]],
    ['deep', () => deep({ seed: 1 }), 1_149_520, [784], [64], [784]],
    ['convolutional', () => convolutional({ seed: 1 }), 7_009, [28, 28, 1], [4, 4, 8], [28, 28, 1]],
    ['denoising', () => denoising({ seed: 1 }), 7_009, [28, 28, 1], [4, 4, 8], [28, 28, 1]],
  ] as const)('%s has Keras parameter count and shapes', (_, make, params, input, code, output) => {
    const model = make();
    expect(model.countParams()).toBe(params);
    expect(model.inputShape).toEqual(input);
    expect(model.codeShape).toEqual(code);
    expect(model.outputShape).toEqual(output);
    const x = tensor(new Float32Array(3 * (input as readonly number[]).reduce((a, b) => a * b, 1)).fill(0.5), [
      3,
      ...input,
    ]);
    expect(model.predict(x).shape).toEqual([3, ...output]);
    expect(model.encode(x).shape).toEqual([3, ...code]);
    expect(model.summary()).toContain(`Total params: ${params.toLocaleString('en-US')}`);
    model.dispose();
  });

  it('vanilla takes a custom encoding size', () => {
    const model = vanilla({ encodingSize: 32 });
    expect(model.codeShape).toEqual([32]);
    expect(model.countParams()).toBe(784 * 32 + 32 + 32 * 784 + 784);
    model.dispose();
  });
});

const CONV_SPECS: RefSpec[] = [
  { kind: 'conv2d', filters: 4, kernelSize: [3, 3], padding: 'same', activation: 'relu' },
  { kind: 'maxPooling2d', pool: [2, 2], padding: 'same' },
  { kind: 'conv2d', filters: 3, kernelSize: [3, 3], padding: 'valid', activation: 'tanh' },
  { kind: 'upSampling2d', size: [2, 2] },
  { kind: 'conv2d', filters: 1, kernelSize: [3, 3], padding: 'same', activation: 'sigmoid' },
];
const sdkConv = () =>
  sequential(
    [
      layers.conv2d(4, 3, { padding: 'same', activation: 'relu' }),
      layers.maxPooling2d(2, { padding: 'same' }),
      layers.conv2d(3, 3, { padding: 'valid', activation: 'tanh' }),
      layers.upSampling2d(2),
      layers.conv2d(1, 3, { padding: 'same', activation: 'sigmoid' }),
    ],
    { inputShape: [9, 9, 1], encoderLength: 2, seed: 3 },
  );

describe('against the float64 reference', () => {
  it('forward pass of a dense model', () => {
    const model = vanilla({ encodingSize: 16, seed: 2 });
    const weights = randomWeights(model, 10);
    model.setWeights(model.getWeights().map((w, i) => tensor(weights[i], w.shape as number[])));
    const ref = new ReferenceModel(
      [784],
      [
        { kind: 'dense', units: 16, activation: 'relu' },
        { kind: 'dense', units: 784, activation: 'relu' },
      ],
      weights,
    );
    const x = randomArray(5 * 784, 7);
    const out = model.predict(tensor(Float32Array.from(x), [5, 784]));
    expectClose(out.data, ref.forward(x, 5), 1e-4, 1e-4);
    model.dispose();
  });

  it('forward pass of a conv / pool / upsample model, encode and decode', () => {
    const model = sdkConv();
    const weights = randomWeights(model, 20);
    model.setWeights(model.getWeights().map((w, i) => tensor(weights[i], w.shape as number[])));
    const ref = new ReferenceModel([9, 9, 1], CONV_SPECS, weights);
    expect(model.outputShape).toEqual(ref.outputShape);
    const x = randomArray(4 * 81, 8);
    const xt = tensor(Float32Array.from(x), [4, 9, 9, 1]);
    const out = model.predict(xt);
    expectClose(out.data, ref.forward(x, 4), 1e-5, 1e-4);
    expect(model.decode(model.encode(xt)).data).toEqual(out.data);
    model.dispose();
  });

  it('the convolutional preset matches the reference on small random weights', () => {
    const model = convolutional({ seed: 4 });
    const weights = randomWeights(model, 30).map((w) => w.map((v) => v * 0.5));
    model.setWeights(model.getWeights().map((w, i) => tensor(weights[i], w.shape as number[])));
    const specs: RefSpec[] = model.layers.map((l) =>
      l.kind === 'conv2d'
        ? {
            kind: 'conv2d',
            filters: l.filters,
            kernelSize: [...l.kernelSize],
            padding: l.padding,
            activation: l.activation,
          }
        : l.kind === 'maxPooling2d'
          ? { kind: 'maxPooling2d', pool: [...l.pool], padding: l.padding }
          : l.kind === 'upSampling2d'
            ? { kind: 'upSampling2d', size: [...l.size] }
            : { kind: 'dense', units: l.units, activation: l.activation },
    ) as RefSpec[];
    const ref = new ReferenceModel([28, 28, 1], specs, weights);
    const x = randomArray(2 * 784, 9);
    expectClose(model.predict(tensor(Float32Array.from(x), [2, 28, 28, 1])).data, ref.forward(x, 2), 1e-4, 1e-3);
    model.dispose();
  });

  it('one Adam training step equals the reference step', async () => {
    const model = sdkConv();
    const weights = randomWeights(model, 40);
    model.setWeights(model.getWeights().map((w, i) => tensor(weights[i], w.shape as number[])));
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
    const after = model.getWeights();
    ref.getWeights().forEach((w, i) => expectClose(after[i].data, w, 2e-6, 1e-4));
    model.dispose();
  });

  it('three dense Adam steps over shuffled batches equal the reference', async () => {
    const specs: RefSpec[] = [
      { kind: 'dense', units: 6, activation: 'tanh' },
      { kind: 'dense', units: 10, activation: 'sigmoid' },
    ];
    const model = sequential([layers.dense(6, { activation: 'tanh' }), layers.dense(10, { activation: 'sigmoid' })], {
      inputShape: [10],
      encoderLength: 1,
      seed: 5,
    });
    const ref = new ReferenceModel(
      [10],
      specs,
      model.getWeights().map((w) => w.data),
    );
    const n = 12;
    const x = randomArray(n * 10, 13);
    // shuffle: false so the batches are known: rows 0-3, 4-7, 8-11.
    await model.fit(tensor(Float32Array.from(x), [n, 10]), tensor(Float32Array.from(x), [n, 10]), {
      batchSize: 4,
      shuffle: false,
    });
    for (let b = 0; b < 3; b++) {
      const rows = x.subarray(b * 40, (b + 1) * 40);
      ref.trainStep(rows, rows, 4, { lr: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 }, b + 1);
    }
    const after = model.getWeights();
    ref.getWeights().forEach((w, i) => expectClose(after[i].data, w, 2e-6, 1e-4));
    model.dispose();
  });
});

describe('training', () => {
  it('the same seed gives bit-identical weights after training; another seed does not', async () => {
    const data = tensor(Float32Array.from(randomArray(64 * 784, 21)), [64, 784]);
    const train = async (seed: number) => {
      const model = vanilla({ seed });
      await model.fit(data, data, { epochs: 2, batchSize: 16, seed: 7, validationSplit: 0.25 });
      const w = model.getWeights();
      model.dispose();
      return w;
    };
    const [a, b, c] = [await train(1), await train(1), await train(2)];
    a.forEach((w, i) => expect(w.data).toEqual(b[i].data));
    expect(a[0].data).not.toEqual(c[0].data);
  });

  it('loss decreases, validation split and callbacks follow Keras', async () => {
    const n = 200;
    const data = tensor(
      Float32Array.from(randomArray(n * 784, 22)).map((v) => (v > 0.7 ? 1 : 0)),
      [n, 784],
    );
    const model = vanilla({ seed: 3 });
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
    expect(history.loss).toHaveLength(5);
    expect(history.valLoss).toHaveLength(5);
    expect(history.loss[4]).toBeLessThan(history.loss[0]);
    // Validation = the last 40 samples, untouched by training.
    const val = tensor(data.data.subarray(160 * 784), [40, 784]);
    expect(model.evaluate(val, val)).toBeCloseTo(history.valLoss[4], 6);
    model.dispose();
  });

  it('an AbortSignal stops training after the current batch', async () => {
    const data = tensor(Float32Array.from(randomArray(100 * 784, 23)), [100, 784]);
    const model = vanilla({ seed: 1 });
    const controller = new AbortController();
    let batches = 0;
    const history = await model.fit(data, data, {
      epochs: 10,
      batchSize: 10,
      onBatchEnd: (b) => {
        batches++;
        if (b === 2) controller.abort();
      },
      signal: controller.signal,
    });
    expect(batches).toBe(3);
    expect(history.stopped).toBe(true);
    expect(history.loss).toHaveLength(0);
    model.dispose();
  });

  it('fit(x, x) trains exactly like fit(x, copy of x) (its targets are its staged inputs)', async () => {
    const data = tensor(Float32Array.from(randomArray(40 * 784, 25)), [40, 784]);
    const copy = tensor(data.data.slice(), [40, 784]);
    const run = async (targets: typeof data) => {
      const model = vanilla({ encodingSize: 8, seed: 4 });
      const history = await model.fit(data, targets, { epochs: 2, batchSize: 16, seed: 5, validationSplit: 0.2 });
      const weights = model.getWeights().map((w) => w.data);
      model.dispose();
      return { history, weights };
    };
    const [same, separate] = [await run(data), await run(copy)];
    expect(same.history).toEqual(separate.history);
    same.weights.forEach((w, i) => expect(w).toEqual(separate.weights[i]));
    // And the targets do matter: other targets train differently.
    const other = await run(
      tensor(
        data.data.map((v) => 1 - v),
        [40, 784],
      ),
    );
    expect(other.history.loss).not.toEqual(same.history.loss);
  });

  it('inputNoise trains on noisy inputs against clean targets', async () => {
    const data = tensor(Float32Array.from(randomArray(32 * 784, 24)), [32, 784]);
    const model = vanilla({ seed: 1 });
    const clean = vanilla({ seed: 1 });
    await model.fit(data, data, { batchSize: 32, seed: 3, inputNoise: { std: 0.5 } });
    await clean.fit(data, data, { batchSize: 32, seed: 3 });
    expect(model.getWeights()[0].data).not.toEqual(clean.getWeights()[0].data);
    model.dispose();
    clean.dispose();
  });
});
