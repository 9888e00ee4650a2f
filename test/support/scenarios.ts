// Small models that several test files train or run against the float64 reference
// (reference64.ts): one definition each, as reference layer specs, plus how to build the same
// layers with the SDK under test (the sources, the build in dist/, or JSON for a child process).
// Browser-safe: no Node modules, and only types from the SDK.
import type { LayerSpec, SequentialOptions, layers as sdkLayers } from '../../ts/index.js';
import type { AdamConfig, LayerSpec as RefSpec } from './reference64.js';

export interface SmallModel {
  inputShape: number[];
  encoderLength: number;
  seed: number;
  layers: RefSpec[];
  /** Weight shapes in Keras order, for weights made before a model exists. */
  paramShapes: number[][];
}

/** Conv2D / MaxPooling2D ('same') / Conv2D ('valid') / UpSampling2D / Conv2D on 9×9×1 images; 6×6×1 out. */
export const SMALL_CONV: SmallModel = {
  inputShape: [9, 9, 1],
  encoderLength: 2,
  seed: 3,
  layers: [
    {
      kind: 'conv2d',
      filters: 4,
      kernelSize: [3, 3],
      padding: 'same',
      activation: 'relu',
    },
    { kind: 'maxPooling2d', pool: [2, 2], padding: 'same' },
    {
      kind: 'conv2d',
      filters: 3,
      kernelSize: [3, 3],
      padding: 'valid',
      activation: 'tanh',
    },
    { kind: 'upSampling2d', size: [2, 2] },
    {
      kind: 'conv2d',
      filters: 1,
      kernelSize: [3, 3],
      padding: 'same',
      activation: 'sigmoid',
    },
  ],
  paramShapes: [[3, 3, 1, 4], [4], [3, 3, 4, 3], [3], [3, 3, 3, 1], [1]],
};

/** Dense(6, tanh) then Dense(10, sigmoid) on 10 features. */
export const SMALL_DENSE: SmallModel = {
  inputShape: [10],
  encoderLength: 1,
  seed: 5,
  layers: [
    { kind: 'dense', units: 6, activation: 'tanh' },
    { kind: 'dense', units: 10, activation: 'sigmoid' },
  ],
  paramShapes: [[10, 6], [6], [6, 10], [10]],
};

/** The layers of the `vanilla({ encodingSize })` preset, as the reference spells them. */
export const vanillaReferenceLayers = (encodingSize: number): RefSpec[] => [
  { kind: 'dense', units: encodingSize, activation: 'relu' },
  { kind: 'dense', units: 784, activation: 'relu' },
];

/** Adam with Keras's defaults, what the SDK's models are compiled with unless told otherwise. */
export const KERAS_ADAM: AdamConfig = {
  lr: 1e-3,
  beta1: 0.9,
  beta2: 0.999,
  epsilon: 1e-7,
};

/** The model's layers built with `layers` (the SDK's `layers.*`, from the sources or from dist/). */
export function sdkLayersOf(model: SmallModel, layers: typeof sdkLayers): LayerSpec[] {
  return model.layers.map((l) => {
    switch (l.kind) {
      case 'dense':
        return layers.dense(l.units, { activation: l.activation });
      case 'conv2d':
        return layers.conv2d(l.filters, l.kernelSize, {
          padding: l.padding,
          activation: l.activation,
        });
      case 'maxPooling2d':
        return layers.maxPooling2d(l.pool, { padding: l.padding });
      case 'upSampling2d':
        return layers.upSampling2d(l.size);
      default:
        throw new Error(`the SDK has no ${l.kind} layer`);
    }
  });
}

/** `sequential()`'s options for the model. */
export const sequentialOptionsOf = (model: SmallModel): SequentialOptions => ({
  inputShape: model.inputShape,
  encoderLength: model.encoderLength,
  seed: model.seed,
});
