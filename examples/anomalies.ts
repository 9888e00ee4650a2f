/**
 * Reconstruction error as an anomaly score (the TensorFlow autoencoder tutorial's third
 * use): train on the digits 0–8 only, score every test image by its reconstruction MSE, and
 * measure how well the score singles out the held-out digit 9 (ROC AUC, computed in
 * lib/roc.ts). Writes into --out:
 *
 *   anomalies.png       top: the 10 most anomalous test images; bottom: the 10 least
 *   anomalies-roc.svg   the ROC curve of "is a 9" by reconstruction error
 *   anomalies.json      the run and its AUC
 *
 *   npx tsx examples/run.ts anomalies [--model convolutional|vanilla|deep] [--epochs 10] [--held-out 9] ...
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ae from 'wasm-autoencoders';
import { writePng } from 'wasm-autoencoders/node';
import { rocChart, writeSvg } from './lib/charts.js';
import { flat, mnist } from './lib/data.js';
import { parseExampleArgs, usageError } from './lib/options.js';
import { rocCurve, thin } from './lib/roc.js';

const USAGE = `usage: npx tsx examples/run.ts anomalies [flags]
  --model NAME     convolutional (default), vanilla or deep
  --held-out D     the digit left out of training, the "anomaly" (default 9)
  --epochs N       default 10; and --batch-size, --seed, --threads, --out, --limit as the tutorial`;

/** The images (rows of `x`) whose indices are in `idx`, as one tensor. */
function pick(x: ae.Tensor, idx: number[]): ae.Tensor {
  const size = x.data.length / x.shape[0];
  const out = new Float32Array(idx.length * size);
  idx.forEach((i, k) => out.set(x.data.subarray(i * size, (i + 1) * size), k * size));
  return ae.tensor(out, [idx.length, ...x.shape.slice(1)]);
}

export async function main(argv: string[]): Promise<void> {
  const {
    common: o,
    values,
    help,
  } = parseExampleArgs(
    argv,
    { model: { type: 'string', default: 'convolutional' }, 'held-out': { type: 'string', default: '9' } },
    10,
  );
  if (help) return void console.log(USAGE);
  const name = values.model as string;
  if (!['convolutional', 'vanilla', 'deep'].includes(name)) {
    throw usageError(`--model must be convolutional, vanilla or deep, got '${name}'`);
  }
  const heldOut = Number(values['held-out']);
  if (!Number.isInteger(heldOut) || heldOut < 0 || heldOut > 9) {
    throw usageError(`--held-out must be a digit 0..9, got '${values['held-out']}'`);
  }
  await ae.init({ threads: o.threads });
  const data = await mnist(o.limit);
  const dense = name !== 'convolutional';
  const shape = (t: ae.Tensor) => (dense ? flat(t) : t);
  const normal = [...data.trainLabels.keys()].filter((i) => data.trainLabels[i] !== heldOut);
  const train = shape(pick(data.train, normal));
  const test = shape(data.test);

  const seed = o.seedGiven ? o.seed : ae.TUTORIAL_SEEDS[name as 'convolutional'];
  const model = ae[name as 'convolutional']({ seed });
  console.log(
    `${name}: training on the ${train.shape[0]} training images that are not a ${heldOut}, ${o.epochs} epoch(s), ${ae.threadCount()} thread(s)`,
  );
  await model.fit(train, train, {
    epochs: o.epochs,
    batchSize: o.batchSize,
    shuffle: true,
    validationSplit: 0.2,
    seed,
    onEpochEnd: (e, logs) =>
      console.log(`  epoch ${e + 1}/${o.epochs}: loss ${logs.loss.toFixed(5)}, val ${logs.valLoss?.toFixed(5)}`),
  });
  const scores = ae.msePerSample(model.predict(test), test);
  model.dispose();

  const isAnomaly = Array.from(data.testLabels, (l) => l === heldOut);
  const { auc, points } = rocCurve(scores, isAnomaly);
  const byScore = [...scores.keys()].sort((a, b) => scores[b] - scores[a]);
  const most = byScore.slice(0, 10);
  const least = byScore.slice(-10).reverse();
  const share9 = most.filter((i) => isAnomaly[i]).length;

  await mkdir(o.out, { recursive: true });
  await writePng(join(o.out, 'anomalies.png'), ae.imageGrid([pick(data.test, most), pick(data.test, least)]));
  const title = `is it a ${heldOut}? reconstruction error of ${name}, AUC ${auc.toFixed(3)}`;
  await writeSvg(join(o.out, 'anomalies-roc.svg'), rocChart(title, thin(points, 400)));
  const record = {
    command: `npx tsx examples/run.ts anomalies ${argv.join(' ')}`.trim(),
    date: new Date().toISOString(),
    model: name,
    heldOut,
    epochs: o.epochs,
    seed,
    trainImages: train.shape[0],
    testImages: test.shape[0],
    anomalies: isAnomaly.filter(Boolean).length,
    auc,
    mostAnomalous: most.map((i) => ({ index: i, label: data.testLabels[i], mse: scores[i] })),
    leastAnomalous: least.map((i) => ({ index: i, label: data.testLabels[i], mse: scores[i] })),
  };
  await writeFile(join(o.out, 'anomalies.json'), JSON.stringify(record, null, 2) + '\n');
  console.log(
    `ROC AUC of "is a ${heldOut}" by reconstruction error: ${auc.toFixed(4)} over ${test.shape[0]} test images ` +
      `(${record.anomalies} of them ${heldOut}s); ${share9} of the 10 most anomalous are ${heldOut}s`,
  );
  console.log(`figures: ${join(o.out, 'anomalies.png')}, ${join(o.out, 'anomalies-roc.svg')}`);
}
