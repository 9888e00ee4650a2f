#!/usr/bin/env node
// @ts-check
// Trains the four autoencoders of the Keras tutorial on the bundled MNIST and prints, per
// model: seconds per epoch, validation MSE per epoch, test MSE (denoising: output vs clean
// next to the noisy input's own MSE) and peak memory. A script, not a test.
//
//   node examples/report.mjs [--epochs 1] [--models vanilla,deep,convolutional,denoising] [--threads auto|1|N] [--json out.json]
import { parseArgs } from 'node:util';
import { writeFileSync } from 'node:fs';
import * as ae from '../dist/index.js';

const { values } = parseArgs({
  options: {
    epochs: { type: 'string', default: '1' },
    models: { type: 'string', default: 'vanilla,deep,convolutional,denoising' },
    'batch-size': { type: 'string', default: '256' },
    seed: { type: 'string', default: '2' },
    json: { type: 'string' },
    threads: { type: 'string', default: 'auto' },
  },
});
const epochs = Number(values.epochs);
const batchSize = Number(values['batch-size']);
const seed = Number(values.seed);
const models = values.models.split(',').map((m) => m.trim());
for (const m of models) {
  if (!['vanilla', 'deep', 'convolutional', 'denoising'].includes(m)) throw new Error(`unknown model ${m}`);
}

let peakRss = process.memoryUsage().rss;
const sampleMemory = () => (peakRss = Math.max(peakRss, process.memoryUsage().rss));
const memoryTimer = setInterval(sampleMemory, 100);

await ae.init({
  threads: values.threads === 'auto' ? 'auto' : Number(values.threads),
});
const mnist = await ae.loadMnist();
const flat = (t) => ae.tensor(t.data, [t.shape[0], 784]);
const NOISE_STD = 0.25; // the tutorial's noise_factor
const noisyTrain = ae.addGaussianNoise(mnist.train, NOISE_STD, {
  seed: seed + 100,
});
const noisyTest = ae.addGaussianNoise(mnist.test, NOISE_STD, {
  seed: seed + 200,
});

console.log(
  `wasm-autoencoders report: ${epochs} epoch(s), batch ${batchSize}, 48,000 train / 12,000 validation / 10,000 test, seed ${seed}`,
);
console.log(`node ${process.version}, ${process.platform}/${process.arch}, ${ae.threadCount()} thread(s)\n`);

const results = [];
for (const name of models) {
  const model = ae[name]({ seed });
  const dense = name === 'vanilla' || name === 'deep';
  const x = dense ? flat(mnist.train) : name === 'denoising' ? noisyTrain : mnist.train;
  const y = dense ? flat(mnist.train) : mnist.train;
  const testX = dense ? flat(mnist.test) : name === 'denoising' ? noisyTest : mnist.test;
  const testY = dense ? flat(mnist.test) : mnist.test;
  const epochSeconds = [];
  const valMse = [];
  let epochStart = performance.now();
  peakRss = process.memoryUsage().rss;
  await model.fit(x, y, {
    epochs,
    batchSize,
    shuffle: true,
    validationSplit: 0.2,
    seed,
    onEpochEnd: (epoch, logs) => {
      const now = performance.now();
      epochSeconds.push((now - epochStart) / 1000);
      valMse.push(logs.valLoss);
      sampleMemory();
      console.log(
        `  ${name} epoch ${epoch + 1}/${epochs}: ${epochSeconds.at(-1).toFixed(1)} s, loss ${logs.loss.toFixed(5)}, val MSE ${logs.valLoss.toFixed(5)}`,
      );
      epochStart = performance.now();
    },
  });
  const testMse = model.evaluate(testX, testY);
  const row = {
    model: name,
    params: model.countParams(),
    epochSeconds,
    valMse,
    testMse,
    peakRssMB: Math.round(peakRss / 2 ** 20),
  };
  if (name === 'denoising') {
    row.noisyInputMse = ae.mse(noisyTest, mnist.test);
    row.improvement = row.noisyInputMse / testMse;
  }
  results.push(row);
  model.dispose();
}
clearInterval(memoryTimer);

const fmt = (v, d = 5) => (v === undefined ? '—' : v.toFixed(d));
console.log('\n| model | params | s/epoch | val MSE per epoch | test MSE | noisy input MSE | peak RSS |');
console.log('|---|---|---|---|---|---|---|');
for (const r of results) {
  const perEpoch = r.epochSeconds.reduce((a, b) => a + b, 0) / r.epochSeconds.length;
  const denoise =
    r.noisyInputMse === undefined ? '—' : `${fmt(r.noisyInputMse)} (output ${r.improvement.toFixed(2)}× closer)`;
  console.log(
    `| ${r.model} | ${r.params.toLocaleString('en-US')} | ${perEpoch.toFixed(1)} | ${r.valMse.map((v) => fmt(v)).join(', ')} | ${fmt(r.testMse)} | ${denoise} | ${r.peakRssMB} MB |`,
  );
}
if (values.json)
  writeFileSync(
    values.json,
    JSON.stringify({ date: new Date().toISOString(), epochs, batchSize, seed, results }, null, 2),
  );
