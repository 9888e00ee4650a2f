#!/usr/bin/env node
// @ts-check
// Packs the pretrained models for shipping (run by scripts/train-pretrained.mjs after
// training; needs `npm run build`). For each models/<name>.wae written as float32, it
// measures the test MSE with float32 weights and with the weights rounded to float16, keeps
// float16 when that moves the test MSE by less than 1 % (the size budget of the npm
// package: ≤ 8 MB packed), and records both figures in models/<name>.json:
//
//   shipped.weightDtype, shipped.bytes, shipped.testMse, float32.testMse, float32.bytes,
//   shipped.mseChangePercent, evaluation (what the MSE is measured on)
//
// The evaluation is the tutorial example's: the 10,000 MNIST test images; for denoising,
// the test images with noise σ = 0.25 (seed 201) in, the clean ones as the target.
//
//   node scripts/pack-pretrained.mjs [--models a,b]
import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { Autoencoder, addGaussianNoise, init, loadMnist, mse, tensor } from '../dist/index.js';

const { values } = parseArgs({
  options: { models: { type: 'string', default: 'vanilla,deep,convolutional,denoising' } },
});
const MAX_CHANGE_PERCENT = 1;
const NOISE = { std: 0.25, seed: 201 };

await init({ threads: 'auto' });
const { test } = await loadMnist();

for (const name of values.models.split(',')) {
  const file = `models/${name}.wae`;
  const bytes = new Uint8Array(await readFile(file));
  const version = new DataView(bytes.buffer).getUint32(4, true);
  const recordPath = `models/${name}.json`;
  const record = JSON.parse(await readFile(recordPath, 'utf8'));
  if (version !== 1) {
    console.log(`${name}: already packed (${record.shipped?.weightDtype}), skipped`);
    continue;
  }
  const full = Autoencoder.fromBytes(bytes);
  const perImage = full.inputShape.reduce((a, b) => a * b, 1);
  const clean = tensor(test.data, [test.shape[0], ...full.inputShape]);
  const input = name === 'denoising' ? addGaussianNoise(clean, NOISE.std, { seed: NOISE.seed }) : clean;
  if (perImage !== 784) throw new Error(`${name}: unexpected input shape ${full.inputShape}`);
  const half = Autoencoder.fromBytes(full.toBytes({ weightDtype: 'float16' }));
  const mse32 = mse(full.predict(input), clean);
  const mse16 = mse(half.predict(input), clean);
  const change = (100 * (mse16 - mse32)) / mse32;
  const dtype = Math.abs(change) < MAX_CHANGE_PERCENT ? 'float16' : 'float32';
  const shippedBytes = dtype === 'float16' ? full.toBytes({ weightDtype: 'float16' }) : bytes;
  await writeFile(file, shippedBytes);
  record.evaluation =
    name === 'denoising'
      ? `10,000 MNIST test images + Gaussian noise σ = ${NOISE.std} (addGaussianNoise seed ${NOISE.seed}) in, clean out`
      : '10,000 MNIST test images';
  record.float32 = { testMse: mse32, bytes: bytes.length };
  record.shipped = {
    weightDtype: dtype,
    testMse: dtype === 'float16' ? mse16 : mse32,
    bytes: shippedBytes.length,
    mseChangePercent: change,
  };
  await writeFile(recordPath, JSON.stringify(record, null, 2) + '\n');
  console.log(
    `${name}: test MSE float32 ${mse32.toFixed(6)}, float16 ${mse16.toFixed(6)} (${change >= 0 ? '+' : ''}${change.toFixed(3)} %) ` +
      `-> ship ${dtype}, ${bytes.length} -> ${shippedBytes.length} bytes`,
  );
  full.dispose();
  half.dispose();
}
