// @ts-check
// Child process for the threads tests: a thread count is fixed per process (init runs
// once), so each count runs here, on this process's main thread, against the build in
// dist/, and prints JSON.
//   node test/support/threads-run.mjs THREADS < {"conv": { layers, options }, "convWeights": number[][], ...}
//     test/threads.test.ts: seeded presets trained twice, and one Adam step from given weights
//     for each of the two models it describes (`sequential(layers, options)`).
//   node test/support/threads-run.mjs THREADS fit < {"runs": [{ preset, options, shape, x: number[], fit }]}
//     test/worker-threads.test.ts: each run is `preset(options).fit(x, x, fit)`; prints
//     { threads, runs: [{ history, weights: number[][] }] }, the main-thread reference for
//     the same runs in a trainer's worker.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const threads = Number(process.argv[2]);
const mode = process.argv[3] ?? 'checks';
const input = JSON.parse(readFileSync(0, 'utf8'));
const sdk = await import(pathToFileURL(new URL('../../dist/index.js', import.meta.url).pathname).href);
const { init, threadCount, tensor, vanilla, deep, convolutional, denoising, sequential } = sdk;

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

/** The default mode, for test/threads.test.ts. */
async function checks() {
  const out = {};
  async function trained(make, shape, n, batchSize) {
    const x = tensor(data(n * shape.reduce((a, b) => a * b, 1), 5), [n, ...shape]);
    const model = make();
    await model.fit(x, x, { epochs: 2, batchSize, seed: 7 });
    const w = model.getWeights();
    model.dispose();
    return w;
  }

  // Presets trained twice with the same seeds: hashes must match (and the weights, across counts, be close).
  const vanillaA = await trained(() => vanilla({ seed: 1 }), [784], 96, 32);
  const vanillaB = await trained(() => vanilla({ seed: 1 }), [784], 96, 32);
  out.vanilla = {
    a: hash(vanillaA),
    b: hash(vanillaB),
    weights: plain(vanillaA),
  };
  const convA = await trained(() => convolutional({ seed: 2 }), [28, 28, 1], 12, 6);
  const convB = await trained(() => convolutional({ seed: 2 }), [28, 28, 1], 12, 6);
  out.convolutional = { a: hash(convA), b: hash(convB), weights: plain(convA) };

  // One Adam step from given weights (compared with the float64 reference by the test).
  async function oneStep(model, weights, x, y, n) {
    model.setWeights(model.getWeights().map((w, i) => tensor(Float32Array.from(weights[i]), w.shape)));
    const history = await model.fit(
      tensor(Float32Array.from(x), [n, ...model.inputShape]),
      tensor(Float32Array.from(y), [n, ...model.outputShape]),
      {
        epochs: 1,
        batchSize: n,
        shuffle: false,
      },
    );
    const w = plain(model.getWeights());
    model.dispose();
    return { loss: history.loss[0], weights: w };
  }
  const conv = sequential(input.conv.layers, input.conv.options);
  out.convStep = await oneStep(conv, input.convWeights, input.convX, input.convY, input.convN);
  const dense = sequential(input.dense.layers, input.dense.options);
  out.denseStep = await oneStep(dense, input.denseWeights, input.denseX, input.denseX, input.denseN);
  return out;
}

/** `fit` mode, for test/worker-threads.test.ts: the runs it describes, on this thread. */
async function fitRuns() {
  const presets = { vanilla, deep, convolutional, denoising };
  const runs = [];
  for (const { preset, options, shape, x, fit } of input.runs) {
    const model = presets[preset](options);
    const xs = tensor(Float32Array.from(x), shape);
    const history = await model.fit(xs, xs, fit);
    runs.push({ history, weights: plain(model.getWeights()) });
    model.dispose();
  }
  return { runs };
}

const modes = { checks, fit: fitRuns };
if (!(mode in modes))
  throw new Error(`unknown mode ${JSON.stringify(mode)}: expected ${Object.keys(modes).join(' or ')}`);
await init({ threads }); // 1: the single-thread module
const out = await modes[mode]();
process.stdout.write(JSON.stringify({ threads: threadCount(), ...out }));
