// The pretrained models as the package ships them (dist/, loaded by the built SDK as a user
// would): each loads and reaches, on the 10,000 MNIST test images, the test MSE that
// scripts/pack-pretrained.mjs measured and wrote beside it in models/<name>.json.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { importBuiltSdk, ROOT, type Sdk } from './support/dist.js';

let sdk: Sdk;
let test: Awaited<ReturnType<Sdk['loadMnist']>>['test'];

beforeAll(async () => {
  sdk = await importBuiltSdk(['browser/models/vanilla.wae']);
  await sdk.init({ threads: 1 });
  ({ test } = await sdk.loadMnist());
});

describe('pretrained()', () => {
  it('lists the four tutorial models', () => {
    expect(sdk.pretrainedModels()).toEqual(['vanilla', 'deep', 'convolutional', 'denoising']);
  });

  for (const name of ['vanilla', 'deep', 'convolutional', 'denoising'] as const) {
    it(`${name}: loads and reaches the test MSE recorded beside it`, async () => {
      const record = JSON.parse(await readFile(join(ROOT, 'models', `${name}.json`), 'utf8'));
      const model = await sdk.pretrained(name);
      try {
        expect(model.countParams()).toBe(record.params);
        const clean = sdk.tensor(test.data, [test.shape[0], ...model.inputShape]);
        const input = name === 'denoising' ? sdk.addGaussianNoise(clean, 0.25, { seed: 201 }) : clean;
        const got = sdk.mse(model.predict(input), clean);
        expect(got).toBeCloseTo(record.shipped.testMse, 6);
        // float16 storage moved the MSE by less than 1 % against the float32 weights.
        expect(Math.abs(got - record.float32.testMse) / record.float32.testMse).toBeLessThan(0.01);
        if (name === 'denoising') expect(got).toBeLessThan(sdk.mse(input, clean) / 2);
      } finally {
        model.dispose();
      }
    });
  }

  it('a wrong name is a ValueError with a suggestion; { source } takes bytes', async () => {
    await expect(sdk.pretrained('vanila' as never)).rejects.toThrow(/did you mean "vanilla"/);
    const bytes = new Uint8Array(await readFile(join(ROOT, 'dist', 'browser', 'models', 'vanilla.wae')));
    const model = await sdk.pretrained('vanilla', { source: bytes });
    expect(model.countParams()).toBe(101_200);
    model.dispose();
    await expect(sdk.pretrained('vanilla', { source: join(ROOT, 'missing.wae') })).rejects.toThrow(/ENOENT|missing/);
  });
});
