/**
 * Writes test/fixtures/tfjs/keras3-*: model.json files in the dialect Keras 3 + the
 * tensorflowjs converter write (the one tfjs-layers 4.22 cannot load: tensorflow/tfjs
 * issues #8321, #8328, #8494), with weights and expected outputs from a model built and
 * briefly trained in tfjs-layers. Hand-made from that format (no Python/TensorFlow here):
 * the layout follows converted files published with those issues — `model_config` wrapper,
 * InputLayer `batch_shape`, DTypePolicy objects, initializers with `module` and
 * `registered_name`, Keras 3 `inbound_nodes` objects, and `sequential/<layer>/<weight>`
 * names in a Sequential's manifest.
 *
 *   npx tsx tools/tfjs/make-keras3-fixtures.ts
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';

const OUT = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../test/fixtures/tfjs');

const policy = { module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' }, registered_name: null };
const init = (cls: string, config: object) => ({
  module: 'keras.initializers',
  class_name: cls,
  config,
  registered_name: null,
});
const weightOpts = {
  use_bias: true,
  kernel_initializer: init('GlorotUniform', { seed: null }),
  bias_initializer: init('Zeros', {}),
  kernel_regularizer: null,
  bias_regularizer: null,
  activity_regularizer: null,
  kernel_constraint: null,
  bias_constraint: null,
};

/** Deterministic inputs in [0, 1). */
function inputs(n: number, shape: number[], seed: number): Float32Array {
  const size = n * shape.reduce((a, b) => a * b, 1);
  let s = seed >>> 0;
  return Float32Array.from({ length: size }, () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

async function trainBriefly(model: tfl.Sequential, shape: number[]): Promise<void> {
  model.compile({ optimizer: tf.train.adam(0.01), loss: 'meanSquaredError' });
  const x = tf.tensor(inputs(16, shape, 7), [16, ...shape]);
  await model.fit(x, x, { epochs: 3, batchSize: 8, verbose: 0 });
  x.dispose();
}

async function weightsAndExpected(model: tfl.Sequential, shape: number[]) {
  const weights = model.getWeights().map((w) => ({ shape: w.shape, data: w.dataSync() as Float32Array }));
  const x = inputs(3, shape, 11);
  const y = model.predict(tf.tensor(x, [3, ...shape])) as tf.Tensor;
  const expected = {
    inputShape: [3, ...shape],
    input: Array.from(x),
    output: Array.from(y.dataSync()),
    outputShape: y.shape,
  };
  const bin = new Uint8Array(weights.reduce((a, w) => a + w.data.length * 4, 0));
  const view = new DataView(bin.buffer);
  let at = 0;
  for (const w of weights) for (const v of w.data) (view.setFloat32(at, v, true), (at += 4));
  return { weights, expected, bin };
}

async function write(dir: string, modelJson: object, bin: Uint8Array, expected: object): Promise<void> {
  await mkdir(path.join(OUT, dir), { recursive: true });
  await writeFile(path.join(OUT, dir, 'model.json'), JSON.stringify(modelJson, null, 1) + '\n');
  await writeFile(path.join(OUT, dir, 'group1-shard1of1.bin'), bin);
  await writeFile(path.join(OUT, dir, 'expected.json'), JSON.stringify(expected) + '\n');
}

/** A Sequential conv autoencoder: 8×8×1 → conv/pool → 2×2×4 → conv/up → 8×8×1. */
async function sequentialConv(): Promise<void> {
  const shape = [8, 8, 1];
  const m = tfl.sequential({ name: 'sequential' });
  m.add(
    tfl.layers.conv2d({
      name: 'conv2d',
      filters: 4,
      kernelSize: 3,
      padding: 'same',
      activation: 'relu',
      inputShape: shape,
    }),
  );
  m.add(tfl.layers.maxPooling2d({ name: 'max_pooling2d', poolSize: 2, padding: 'same' }));
  m.add(tfl.layers.conv2d({ name: 'conv2d_1', filters: 4, kernelSize: 3, padding: 'same', activation: 'tanh' }));
  m.add(tfl.layers.maxPooling2d({ name: 'max_pooling2d_1', poolSize: 2, padding: 'valid' }));
  m.add(tfl.layers.upSampling2d({ name: 'up_sampling2d', size: [4, 4] }));
  m.add(tfl.layers.conv2d({ name: 'conv2d_2', filters: 1, kernelSize: 3, padding: 'same', activation: 'sigmoid' }));
  await trainBriefly(m, shape);
  const { weights, expected, bin } = await weightsAndExpected(m, shape);
  // Keras 3's Sequential.get_config: the InputLayer is a layer, each layer entry carries
  // module / registered_name / build_config (as .keras config.json files do).
  const entry = (cls: string, config: object, inShape: number[]) => ({
    module: 'keras.layers',
    class_name: cls,
    config: { trainable: true, dtype: policy, ...config },
    registered_name: null,
    build_config: { input_shape: [null, ...inShape] },
  });
  const conv = (name: string, filters: number, activation: string) => ({
    name,
    filters,
    kernel_size: [3, 3],
    strides: [1, 1],
    padding: 'same',
    data_format: 'channels_last',
    dilation_rate: [1, 1],
    groups: 1,
    activation,
    ...weightOpts,
  });
  const layers = [
    {
      class_name: 'InputLayer',
      config: { batch_shape: [null, 8, 8, 1], dtype: 'float32', sparse: false, name: 'input_layer' },
    },
    entry('Conv2D', conv('conv2d', 4, 'relu'), [8, 8, 1]),
    entry(
      'MaxPooling2D',
      { name: 'max_pooling2d', pool_size: [2, 2], padding: 'same', strides: [2, 2], data_format: 'channels_last' },
      [8, 8, 4],
    ),
    entry('Conv2D', conv('conv2d_1', 4, 'tanh'), [4, 4, 4]),
    entry(
      'MaxPooling2D',
      { name: 'max_pooling2d_1', pool_size: [2, 2], padding: 'valid', strides: [2, 2], data_format: 'channels_last' },
      [4, 4, 4],
    ),
    entry(
      'UpSampling2D',
      { name: 'up_sampling2d', size: [4, 4], data_format: 'channels_last', interpolation: 'nearest' },
      [2, 2, 4],
    ),
    entry('Conv2D', conv('conv2d_2', 1, 'sigmoid'), [8, 8, 4]),
  ];
  const names = ['conv2d', 'conv2d_1', 'conv2d_2'].flatMap((n) => [`sequential/${n}/kernel`, `sequential/${n}/bias`]);
  const modelJson = {
    format: 'layers-model',
    generatedBy: 'keras v3.4.1',
    convertedBy: 'TensorFlow.js Converter v4.22.0',
    modelTopology: {
      keras_version: '3.4.1',
      backend: 'tensorflow',
      model_config: {
        class_name: 'Sequential',
        config: { name: 'sequential', trainable: true, dtype: policy, layers, build_input_shape: [null, 8, 8, 1] },
      },
      training_config: {
        loss: 'mean_squared_error',
        loss_weights: null,
        metrics: null,
        weighted_metrics: null,
        run_eagerly: false,
        steps_per_execution: 1,
        jit_compile: false,
        optimizer_config: {
          class_name: 'Adam',
          config: { name: 'adam', learning_rate: 0.01, beta_1: 0.9, beta_2: 0.999, epsilon: 1e-7, amsgrad: false },
        },
      },
    },
    weightsManifest: [
      {
        paths: ['group1-shard1of1.bin'],
        weights: weights.map((w, i) => ({ name: names[i], shape: w.shape, dtype: 'float32' })),
      },
    ],
  };
  await write('keras3-sequential-conv', modelJson, bin, expected);
}

/** A Functional dense autoencoder, 12 → 3 → 12, as Keras 3's Functional.get_config writes it. */
async function functionalDense(): Promise<void> {
  const shape = [12];
  const m = tfl.sequential({ name: 'functional' });
  m.add(tfl.layers.dense({ name: 'dense', units: 6, activation: 'relu', inputShape: shape }));
  m.add(tfl.layers.dense({ name: 'dense_1', units: 3, activation: 'linear' }));
  m.add(tfl.layers.dense({ name: 'dense_2', units: 12, activation: 'sigmoid' }));
  await trainBriefly(m, shape);
  const { weights, expected, bin } = await weightsAndExpected(m, shape);
  const tensorFrom = (layer: string, width: number) => [
    {
      args: [
        {
          class_name: '__keras_tensor__',
          config: { shape: [null, width], dtype: 'float32', keras_history: [layer, 0, 0] },
        },
      ],
      kwargs: {},
    },
  ];
  const dense = (name: string, units: number, activation: string, from: string, width: number) => ({
    class_name: 'Dense',
    config: { name, trainable: true, dtype: policy, units, activation, ...weightOpts },
    name,
    inbound_nodes: tensorFrom(from, width),
  });
  const layers = [
    {
      class_name: 'InputLayer',
      config: { batch_shape: [null, 12], dtype: 'float32', sparse: false, name: 'input_layer' },
      name: 'input_layer',
      inbound_nodes: [],
    },
    dense('dense', 6, 'relu', 'input_layer', 12),
    dense('dense_1', 3, 'linear', 'dense', 6),
    dense('dense_2', 12, 'sigmoid', 'dense_1', 3),
  ];
  const names = ['dense', 'dense_1', 'dense_2'].flatMap((n) => [`${n}/kernel`, `${n}/bias`]);
  const modelJson = {
    format: 'layers-model',
    generatedBy: 'keras v3.4.1',
    convertedBy: 'TensorFlow.js Converter v4.6.0',
    modelTopology: {
      keras_version: '3.4.1',
      backend: 'tensorflow',
      model_config: {
        class_name: 'Functional',
        config: {
          name: 'functional',
          trainable: true,
          layers,
          input_layers: [['input_layer', 0, 0]],
          output_layers: [['dense_2', 0, 0]],
        },
      },
    },
    weightsManifest: [
      {
        paths: ['group1-shard1of1.bin'],
        weights: weights.map((w, i) => ({ name: names[i], shape: w.shape, dtype: 'float32' })),
      },
    ],
  };
  await write('keras3-functional-dense', modelJson, bin, expected);
}

await tf.setBackend('cpu');
await sequentialConv();
await functionalDense();
console.log(`wrote ${OUT}/keras3-sequential-conv and keras3-functional-dense`);
