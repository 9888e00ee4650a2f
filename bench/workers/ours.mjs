#!/usr/bin/env node
// One model on wasm-autoencoders (the built SDK), in its own process.
//   --mode speed: training ms per batch of 256 (fit() on (warmup + batches) × 256 images,
//                 shuffle off, the first `warmup` batches untimed, stopped by an AbortSignal
//                 when the time budget runs out), then inference images/s (predict()).
//   --mode epoch: fit() for --epochs full epochs on the 48,000 images (shuffled, seed), then
//                 the test MSE (denoising: output of the noisy test images vs the clean ones).
import { pathToFileURL } from 'node:url';
import { BATCH, TRAIN_SAMPLES } from '../lib/models.mjs';
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

const args = workerArgs({ sdk: { type: 'string' }, threads: { type: 'string', default: '1' } });
const ae = await import(pathToFileURL(args.sdk).href);
const threads = Number(args.threads);
await ae.init({ threads });
const model = args.model;
const active = typeof ae.threadCount === 'function' ? ae.threadCount() : 1;
const who = threads > 1 ? `ours ${model} (${active} threads)` : `ours ${model}`;
const result = { peer: threads > 1 ? 'ours-threads' : 'ours', model, mode: args.mode, threads: active };
if (active !== threads) throw new Error(`init({ threads: ${threads} }) started ${active} thread(s)`);

if (args.mode === 'speed') {
  const train = loadTrain(args.data, model, (args.warmup + args.batches) * BATCH);
  const test = loadTest(args.data, model, args.inferImages);
  result.baselineRssMB = rssMB();
  const net = ae[model]({ seed: args.seed });
  result.params = net.countParams();

  // Training.
  const x = ae.tensor(train.x, [train.n, ...train.sampleShape]);
  const y = ae.tensor(train.y, [train.n, ...train.sampleShape]);
  const stamps = [];
  const stop = new AbortController();
  let timedStart = Infinity;
  const t0 = performance.now();
  await net.fit(x, y, {
    epochs: 1,
    batchSize: BATCH,
    shuffle: false,
    seed: args.seed,
    signal: stop.signal,
    onBatchEnd: (batch) => {
      const now = performance.now();
      stamps.push(now);
      if (batch + 1 === args.warmup) timedStart = now;
      if (batch + 1 > args.warmup && now - timedStart > args.budget * 1000) stop.abort();
    },
  });
  const all = stamps.map((s, i) => s - (i === 0 ? t0 : stamps[i - 1]));
  result.train = {
    warmup: args.warmup,
    warmupMs: all.slice(0, args.warmup),
    ...summarizeBatches(all.slice(args.warmup)),
  };
  log(
    `${who}: ${result.train.medianMs.toFixed(1)} ms/batch (median; mean ${result.train.meanMs.toFixed(1)}) over ${result.train.count} batches`,
  );

  // Inference: one warm-up chunk, then chunks of 1,000 images until all are done or the budget is spent.
  const chunk = 1000;
  const slice = (from, to) => ae.tensor(test.x.subarray(from * 784, to * 784), [to - from, ...test.sampleShape]);
  net.predict(slice(0, Math.min(BATCH, test.n)));
  let images = 0;
  const i0 = performance.now();
  while (images < test.n && (images === 0 || performance.now() - i0 < args.inferBudget * 1000)) {
    const to = Math.min(test.n, images + chunk);
    net.predict(slice(images, to));
    images = to;
  }
  const seconds = (performance.now() - i0) / 1000;
  result.infer = { images, seconds, imagesPerSecond: images / seconds };
  log(`${who}: ${Math.round(result.infer.imagesPerSecond)} images/s inference`);
  net.dispose();
} else if (args.mode === 'epoch') {
  const train = loadTrain(args.data, model, TRAIN_SAMPLES);
  const test = loadTest(args.data, model, 10000);
  const net = ae[model]({ seed: args.seed });
  const x = ae.tensor(train.x, [train.n, ...train.sampleShape]);
  const y = ae.tensor(train.y, [train.n, ...train.sampleShape]);
  const epochSeconds = [];
  let e0 = performance.now();
  const history = await net.fit(x, y, {
    epochs: args.epochs,
    batchSize: BATCH,
    shuffle: true,
    seed: args.seed,
    onEpochEnd: () => {
      const now = performance.now();
      epochSeconds.push((now - e0) / 1000);
      e0 = now;
    },
  });
  const testMse = net.evaluate(
    ae.tensor(test.x, [test.n, ...test.sampleShape]),
    ae.tensor(test.y, [test.n, ...test.sampleShape]),
  );
  // References: the MSE of an all-zero output (what a network whose ReLUs all died scores),
  // and for the denoiser the MSE of the noisy input itself.
  let zero = 0;
  let noisy = 0;
  for (let i = 0; i < test.y.length; i++) {
    zero += test.y[i] * test.y[i];
    noisy += (test.x[i] - test.y[i]) ** 2;
  }
  result.epoch = {
    epochs: args.epochs,
    epochSeconds,
    trainLoss: history.loss,
    testMse,
    zeroOutputMse: zero / test.y.length,
    noisyInputMse: model === 'denoising' ? noisy / test.y.length : undefined,
  };
  log(
    `${who}: ${args.epochs} epoch(s), ${epochSeconds.map((s) => s.toFixed(1)).join(', ')} s, test MSE ${testMse.toFixed(5)}`,
  );
  net.dispose();
} else {
  throw new Error(`unknown mode ${args.mode}`);
}
result.peakRssMB = peakRssMB();
emit(result);
