#!/usr/bin/env node
// @ts-check
// Data larger than memory (issue 13, point 2): trains on N images streamed from a file on
// disk with fitDataset, holding one batch at a time, and reports the peak RSS. The file is
// MNIST's 60,000 training images repeated to N (one byte a pixel, N × 784 bytes), written
// to a temporary directory first and deleted after.
//
//   node scripts/stream-train.mjs [--images 1000000] [--model vanilla|deep|convolutional] [--batch 256]
import { open, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as ae from '../dist/index.js';

const { values } = parseArgs({
  options: {
    images: { type: 'string', default: '1000000' },
    model: { type: 'string', default: 'vanilla' },
    batch: { type: 'string', default: '256' },
  },
});
const total = Number(values.images);
const batch = Number(values.batch);
const MB = 2 ** 20;
let peak = 0;
const sample = () => (peak = Math.max(peak, process.memoryUsage().rss));
const timer = setInterval(sample, 50);

await ae.init();
const dir = await mkdtemp(join(tmpdir(), 'wae-stream-'));
const path = join(dir, 'images.u8');
try {
  // The file: MNIST's training images, as bytes, repeated.
  const { train } = await ae.loadMnist();
  // A plain loop: Uint8Array.from(data, fn) would go through a 47-million-element JS array.
  const mnistBytes = new Uint8Array(train.data.length);
  for (let i = 0; i < mnistBytes.length; i++) mnistBytes[i] = Math.round(train.data[i] * 255);
  const out = await open(path, 'w');
  for (let written = 0; written < total; written += train.shape[0]) {
    const n = Math.min(train.shape[0], total - written);
    await out.write(mnistBytes, 0, n * 784);
  }
  await out.close();
  sample();
  const rssBeforeTraining = process.memoryUsage().rss;

  const dense = values.model !== 'convolutional';
  const model = /** @type {import('../dist/index.js').Autoencoder} */ (
    ae[/** @type {'vanilla'} */ (values.model)]({ seed: 1 })
  );
  // One batch of bytes and one of floats, reused: the stream holds nothing else.
  const bytes = new Uint8Array(batch * 784);
  const floats = new Float32Array(batch * 784);
  const dataset = {
    async *[Symbol.asyncIterator]() {
      const file = await open(path, 'r');
      try {
        for (let start = 0; start < total; start += batch) {
          const n = Math.min(batch, total - start);
          await file.read(bytes, 0, n * 784, start * 784);
          for (let i = 0; i < n * 784; i++) floats[i] = bytes[i] / 255;
          const data = floats.subarray(0, n * 784);
          yield { xs: ae.tensor(data, dense ? [n, 784] : [n, 28, 28, 1]) };
        }
      } finally {
        await file.close();
      }
    },
  };
  const started = performance.now();
  const history = await model.fitDataset(dataset, { epochs: 1, seed: 1 });
  const seconds = (performance.now() - started) / 1000;
  sample();
  console.log(
    `${values.model}: ${total.toLocaleString('en-US')} images (${((total * 784) / MB).toFixed(0)} MB on disk) streamed in ` +
      `batches of ${batch}, 1 epoch in ${seconds.toFixed(1)} s (${Math.round(total / seconds).toLocaleString('en-US')} images/s), ` +
      `loss ${history.loss[0].toFixed(5)}; RSS before training ${(rssBeforeTraining / MB).toFixed(0)} MB, peak ${(peak / MB).toFixed(0)} MB ` +
      `(MNIST itself, loaded to write the file, included); Wasm memory ${(ae.memory().wasmBytes / MB).toFixed(1)} MB`,
  );
  model.dispose();
} finally {
  clearInterval(timer);
  await rm(dir, { recursive: true, force: true });
}
