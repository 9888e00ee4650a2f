#!/usr/bin/env node
// One model on TensorFlow.js 4.22 (tfjs-layers on tfjs-core) with --backend cpu or wasm, in
// its own process. Same architecture as ts/presets.ts (bench/lib/models.mjs), Keras-default
// initialisers (Glorot-uniform kernels, zero biases), Adam(1e-3), MSE, batch 256.
//   Training: model.trainOnBatch per batch of 256 (tensors built from the same Float32Array
//   slices inside the timed region, as fit() would slice them), `warmup` batches untimed,
//   then up to `batches` timed ones or until the time budget is spent (at least one).
//   Inference: model.predict(x, {batchSize: 256}) on chunks of 1,000 test images, data read back.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfwasm from '@tensorflow/tfjs-backend-wasm';
import * as tfl from '@tensorflow/tfjs-layers';
import { architecture, BATCH } from '../lib/models.mjs';
import {
  emit,
  loadTest,
  loadTrain,
  log,
  peakRssMB,
  rssMB,
  summarizeBatches,
  workerArgs,
} from '../lib/worker-common.mjs';

const args = workerArgs({ backend: { type: 'string', default: 'cpu' } });
const model = args.model;
const backend = args.backend;
const result = { peer: `tfjs-${backend}`, model, mode: 'speed' };

await tf.setBackend(backend);
await tf.ready();
if (tf.getBackend() !== backend) throw new Error(`tfjs backend ${backend} did not initialise (got ${tf.getBackend()})`);
result.backendInfo = { version: tf.version_core, backend: tf.getBackend() };
if (backend === 'wasm') {
  result.backendInfo.simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT');
  result.backendInfo.multithreadSupport = tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT');
  result.backendInfo.threads = tfwasm.getThreadsCount();
}

function build() {
  const { inputShape, layers } = architecture(model);
  const m = tfl.sequential();
  layers.forEach((l, i) => {
    const first = i === 0 ? { inputShape } : {};
    if (l.kind === 'dense') m.add(tfl.layers.dense({ units: l.units, activation: 'relu', ...first }));
    else if (l.kind === 'conv2d')
      m.add(
        tfl.layers.conv2d({
          filters: l.filters,
          kernelSize: l.kernel,
          padding: l.padding,
          activation: 'relu',
          ...first,
        }),
      );
    else if (l.kind === 'maxPooling2d')
      m.add(tfl.layers.maxPooling2d({ poolSize: l.size, padding: l.padding, ...first }));
    else if (l.kind === 'upSampling2d') m.add(tfl.layers.upSampling2d({ size: [l.size, l.size], ...first }));
  });
  m.compile({ optimizer: tf.train.adam(1e-3), loss: 'meanSquaredError' });
  return m;
}

const train = loadTrain(args.data, model, (args.warmup + args.batches) * BATCH);
const test = loadTest(args.data, model, args.inferImages);
const rowSize = 784;
result.baselineRssMB = rssMB();
const net = build();
result.params = net.countParams();

// Training.
const step = async (b) => {
  const from = b * BATCH;
  const xs = tf.tensor(train.x.subarray(from * rowSize, (from + BATCH) * rowSize), [BATCH, ...train.sampleShape]);
  const ys = tf.tensor(train.y.subarray(from * rowSize, (from + BATCH) * rowSize), [BATCH, ...train.sampleShape]);
  try {
    return await net.trainOnBatch(xs, ys);
  } finally {
    xs.dispose();
    ys.dispose();
  }
};
try {
  const warmupMs = [];
  for (let b = 0; b < args.warmup; b++) {
    const t = performance.now();
    await step(b);
    warmupMs.push(performance.now() - t);
  }
  const ms = [];
  const start = performance.now();
  for (let b = args.warmup; b < args.warmup + args.batches; b++) {
    if (ms.length > 0 && performance.now() - start > args.budget * 1000) break;
    const t = performance.now();
    await step(b);
    ms.push(performance.now() - t);
  }
  result.train = { warmup: args.warmup, warmupMs, ...summarizeBatches(ms) };
  log(
    `${result.peer} ${model}: ${result.train.medianMs.toFixed(1)} ms/batch (median; mean ${result.train.meanMs.toFixed(1)}) over ${result.train.count} batches`,
  );
} catch (e) {
  result.train = { error: String(e?.message ?? e).split('\n')[0] };
  log(`${result.peer} ${model}: cannot train: ${result.train.error}`);
}

// Inference (a fresh model when training failed midway: its weights are still the initial ones).
try {
  const chunk = 1000;
  const predict = async (from, to) => {
    const xs = tf.tensor(test.x.subarray(from * rowSize, to * rowSize), [to - from, ...test.sampleShape]);
    const out = net.predict(xs, { batchSize: BATCH });
    await out.data();
    xs.dispose();
    out.dispose();
  };
  await predict(0, Math.min(BATCH, test.n));
  let images = 0;
  const i0 = performance.now();
  while (images < test.n && (images === 0 || performance.now() - i0 < args.inferBudget * 1000)) {
    const to = Math.min(test.n, images + chunk);
    await predict(images, to);
    images = to;
  }
  const seconds = (performance.now() - i0) / 1000;
  result.infer = { images, seconds, imagesPerSecond: images / seconds };
  log(`${result.peer} ${model}: ${Math.round(result.infer.imagesPerSecond)} images/s inference`);
} catch (e) {
  result.infer = { error: String(e?.message ?? e).split('\n')[0] };
}
result.tfMemoryMB = tf.memory().numBytes / 2 ** 20;
result.peakRssMB = peakRssMB();
emit(result);
