// Child process for test/threads.test.ts: a thread count is fixed per process (init runs
// once), so each count runs here, against the build in dist/, and prints JSON.
//   node test/threads-run.mjs THREADS  < {"convWeights": number[][], "denseWeights": number[][]}
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const threads = Number(process.argv[2]);
const input = JSON.parse(readFileSync(0, 'utf8'));
const sdk = await import(pathToFileURL(new URL('../dist/index.js', import.meta.url).pathname).href);
const { init, threadCount, tensor, vanilla, convolutional, sequential, layers } = sdk;

await init({ threads }); // 1: the single-thread module

/** Deterministic values in [0, 1). */
function data(length, seed) {
  const out = new Float32Array(length);
  let s = seed >>> 0;
  for (let i = 0; i < length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 32;
  }
  return out;
}
const hash = (weights) => {
  const h = createHash('sha256');
  for (const w of weights) h.update(new Uint8Array(w.data.buffer, w.data.byteOffset, w.data.byteLength));
  return h.digest('hex');
};
const plain = (weights) => weights.map((w) => Array.from(w.data));

async function trained(make, shape, n, batchSize) {
  const x = tensor(data(n * shape.reduce((a, b) => a * b, 1), 5), [n, ...shape]);
  const model = make();
  await model.fit(x, x, { epochs: 2, batchSize, seed: 7 });
  const w = model.getWeights();
  model.dispose();
  return w;
}

const out = { threads: threadCount() };

// Presets trained twice with the same seeds: hashes must match (and the weights, across counts, be close).
const vanillaA = await trained(() => vanilla({ seed: 1 }), [784], 96, 32);
const vanillaB = await trained(() => vanilla({ seed: 1 }), [784], 96, 32);
out.vanilla = { a: hash(vanillaA), b: hash(vanillaB), weights: plain(vanillaA) };
const convA = await trained(() => convolutional({ seed: 2 }), [28, 28, 1], 12, 6);
const convB = await trained(() => convolutional({ seed: 2 }), [28, 28, 1], 12, 6);
out.convolutional = { a: hash(convA), b: hash(convB), weights: plain(convA) };

// One Adam step from given weights (compared with the float64 reference by the test).
async function oneStep(model, weights, x, y, n) {
  model.setWeights(model.getWeights().map((w, i) => tensor(Float32Array.from(weights[i]), w.shape)));
  const history = await model.fit(tensor(Float32Array.from(x), [n, ...model.inputShape]), tensor(Float32Array.from(y), [n, ...model.outputShape]), {
    epochs: 1,
    batchSize: n,
    shuffle: false,
  });
  const w = plain(model.getWeights());
  model.dispose();
  return { loss: history.loss[0], weights: w };
}
const conv = sequential(
  [
    layers.conv2d(4, 3, { padding: 'same', activation: 'relu' }),
    layers.maxPooling2d(2, { padding: 'same' }),
    layers.conv2d(3, 3, { padding: 'valid', activation: 'tanh' }),
    layers.upSampling2d(2),
    layers.conv2d(1, 3, { padding: 'same', activation: 'sigmoid' }),
  ],
  { inputShape: [9, 9, 1], encoderLength: 2, seed: 3 },
);
out.convStep = await oneStep(conv, input.convWeights, input.convX, input.convY, input.convN);
const dense = sequential([layers.dense(6, { activation: 'tanh' }), layers.dense(10, { activation: 'sigmoid' })], {
  inputShape: [10],
  encoderLength: 1,
  seed: 5,
});
out.denseStep = await oneStep(dense, input.denseWeights, input.denseX, input.denseX, input.denseN);

process.stdout.write(JSON.stringify(out));
