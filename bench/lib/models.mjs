// @ts-check
// The four models of the tutorial, as ts/presets.ts defines them (ReLU everywhere, Adam(1e-3),
// MSE), described once so that the TensorFlow.js peer, the FLOP counts and the docs agree.
// bench/native/native_bench.py mirrors the same lists in Keras and PyTorch.

export const MODELS = ['vanilla', 'deep', 'convolutional', 'denoising'];
export const BATCH = 256;
export const TRAIN_SAMPLES = 48000; // 60,000 minus the 20 % validation split, as examples/report.mjs trains
export const BATCHES_PER_EPOCH = TRAIN_SAMPLES / BATCH; // 187.5: 187 full batches and one of 128
export const NOISE_STD = 0.25; // as examples/report.mjs

const conv = (filters, padding = 'same') => ({
  kind: 'conv2d',
  filters,
  kernel: 3,
  padding,
});
const pool = () => ({ kind: 'maxPooling2d', size: 2, padding: 'same' });
const up = () => ({ kind: 'upSampling2d', size: 2 });

export function architecture(model) {
  switch (model) {
    case 'vanilla':
      return {
        inputShape: [784],
        layers: [
          { kind: 'dense', units: 64 },
          { kind: 'dense', units: 784 },
        ],
      };
    case 'deep':
      return {
        inputShape: [784],
        layers: [512, 256, 128, 64, 128, 256, 512, 784].map((units) => ({
          kind: 'dense',
          units,
        })),
      };
    case 'convolutional':
    case 'denoising':
      return {
        inputShape: [28, 28, 1],
        layers: [
          conv(32),
          pool(),
          conv(8),
          pool(),
          conv(8),
          pool(),
          conv(8),
          up(),
          conv(8),
          up(),
          conv(32, 'valid'),
          up(),
          conv(1),
        ],
      };
    default:
      throw new Error(`unknown model ${model}`);
  }
}

export const isDense = (model) => model === 'vanilla' || model === 'deep';

/**
 * Multiply-add FLOPs (2 per MAC) of the dense and conv layers, per sample: forward, and a
 * training step (forward + weight gradient + input gradient, no input gradient for the first
 * layer). Pooling, upsampling, activations, loss and Adam are not counted.
 */
export function flopsPerSample(model) {
  const { inputShape, layers } = architecture(model);
  let shape = inputShape.slice();
  let forward = 0;
  let train = 0;
  layers.forEach((l, i) => {
    if (l.kind === 'dense') {
      const f = 2 * shape[0] * l.units;
      forward += f;
      train += f * (i === 0 ? 2 : 3);
      shape = [l.units];
    } else if (l.kind === 'conv2d') {
      const [h, w, c] = shape;
      const [oh, ow] = l.padding === 'same' ? [h, w] : [h - l.kernel + 1, w - l.kernel + 1];
      const f = 2 * oh * ow * l.filters * l.kernel * l.kernel * c;
      forward += f;
      train += f * (i === 0 ? 2 : 3);
      shape = [oh, ow, l.filters];
    } else if (l.kind === 'maxPooling2d') {
      shape = [Math.ceil(shape[0] / l.size), Math.ceil(shape[1] / l.size), shape[2]];
    } else if (l.kind === 'upSampling2d') {
      shape = [shape[0] * l.size, shape[1] * l.size, shape[2]];
    }
  });
  return { forward, train };
}
