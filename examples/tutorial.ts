/**
 * The Keras autoencoder tutorial, reproduced: trains vanilla, deep, convolutional and/or
 * denoising on MNIST as the tutorial does (batch 256, shuffle, validation split 0.2, Adam,
 * MSE) and writes, per model, into --out:
 *
 *   <model>.png        10 test digits (top), their reconstructions (below), 4× enlarged;
 *                      denoising: the clean digits, the noisy inputs, the denoised outputs
 *   <model>-loss.svg   training and validation loss per epoch
 *   <model>.json       the run: command, date, settings, loss per epoch, test MSE and PSNR
 *
 * then prints the report table. --save DIR also writes the trained model (<model>.wae)
 * and the same JSON there (scripts/train-pretrained.mjs uses this).
 *
 *   npx tsx examples/run.ts tutorial [--models vanilla,deep,convolutional,denoising] [--epochs 1]
 *       [--batch-size 256] [--seed 1] [--threads auto|N] [--out out/figures] [--save DIR] [--limit N]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ae from 'wasm-autoencoders';
import { writePng } from 'wasm-autoencoders/node';
import { lossChart, writeSvg } from './lib/charts.js';
import { flat, head, mnist, noisy, NOISE_STD, TEST_NOISE_SEED, TRAIN_NOISE_SEED, type Mnist } from './lib/data.js';
import { parseExampleArgs, usageError, type CommonOptions } from './lib/options.js';

export const TUTORIAL_MODELS = ['vanilla', 'deep', 'convolutional', 'denoising'] as const;
export type TutorialModel = (typeof TUTORIAL_MODELS)[number];

export const USAGE = `usage: npx tsx examples/run.ts tutorial|vanilla|deep|convolutional|denoising [flags]
  --models a,b     which models (tutorial only; default all four)
  --epochs N       epochs (default 1; the tutorial's figures use 50)
  --batch-size N   default 256     --seed N    default 1 (convolutional, denoising 2)     --threads auto|N
  --out DIR        figures and run records (default out/figures)
  --save DIR       also write each trained model (<model>.wae + .json) to DIR
  --limit N        use only the first N training and test images (quick runs, tests)`;

interface RunRecord {
  model: TutorialModel;
  command: string;
  date: string;
  epochs: number;
  batchSize: number;
  seed: number;
  threads: number;
  trainImages: number;
  testImages: number;
  params: number;
  secondsPerEpoch: number;
  loss: number[];
  valLoss: number[];
  testMse: number;
  testPsnr: number;
  noisyInputMse?: number;
  peakRssMB: number;
}

/** The tutorial's inputs and targets for one model: flat for the dense ones, noisy input for denoising. */

function dataFor(name: TutorialModel, data: Mnist) {
  const dense = name === 'vanilla' || name === 'deep';
  const shape = (t: ae.Tensor) => (dense ? flat(t) : t);
  const x = name === 'denoising' ? noisy(data.train, TRAIN_NOISE_SEED) : data.train;
  const testX = name === 'denoising' ? noisy(data.test, TEST_NOISE_SEED) : data.test;
  return { x: shape(x), y: shape(data.train), testX: shape(testX), testY: shape(data.test) };
}

async function trainOne(name: TutorialModel, data: Mnist, o: CommonOptions, command: string) {
  const seed = o.seedGiven ? o.seed : ae.TUTORIAL_SEEDS[name];
  const model = ae[name]({ seed });
  const { x, y, testX, testY } = dataFor(name, data);
  let peakRss = process.memoryUsage().rss;
  const started = performance.now();
  const history = await model.fit(x, y, {
    epochs: o.epochs,
    batchSize: o.batchSize,
    shuffle: true,
    validationSplit: 0.2,
    seed,
    onEpochEnd: (epoch, logs) => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
      const s = ((performance.now() - started) / 1000 / (epoch + 1)).toFixed(1);
      console.log(
        `  ${name} epoch ${epoch + 1}/${o.epochs}: loss ${logs.loss.toFixed(5)}, val ${logs.valLoss?.toFixed(5)} (${s} s/epoch)`,
      );
    },
  });
  const seconds = (performance.now() - started) / 1000;
  const recon = model.predict(testX);
  const record: RunRecord = {
    model: name,
    command,
    date: new Date().toISOString(),
    epochs: o.epochs,
    batchSize: o.batchSize,
    seed,
    threads: ae.threadCount(),
    trainImages: x.shape[0],
    testImages: testX.shape[0],
    params: model.countParams(),
    secondsPerEpoch: seconds / o.epochs,
    loss: history.loss,
    valLoss: history.valLoss,
    testMse: ae.mse(recon, testY),
    testPsnr: ae.psnr(recon, testY),
    noisyInputMse: name === 'denoising' ? ae.mse(testX, testY) : undefined,
    peakRssMB: Math.round(Math.max(peakRss, process.memoryUsage().rss) / 2 ** 20),
  };
  const rows = name === 'denoising' ? [testY, testX, recon] : [testY, recon];
  await writePng(join(o.out, `${name}.png`), ae.imageGrid(rows.map((t) => head(t, 10))));
  const title = `${name}: MSE per epoch (${record.trainImages.toLocaleString('en-US')} images, batch ${o.batchSize})`;
  await writeSvg(join(o.out, `${name}-loss.svg`), lossChart(title, history.loss, history.valLoss));
  const json = JSON.stringify(record, null, 2) + '\n';
  await writeFile(join(o.out, `${name}.json`), json);
  return { model, record, json };
}

export async function main(argv: string[], only?: TutorialModel): Promise<void> {
  const {
    common: o,
    values,
    help,
  } = parseExampleArgs(argv, { models: { type: 'string' }, save: { type: 'string' } }, 1);
  if (help) return void console.log(USAGE);
  const names = ((values.models as string | undefined)?.split(',') ?? (only ? [only] : TUTORIAL_MODELS)).map((s) =>
    s.trim(),
  );
  for (const n of names) {
    if (!(TUTORIAL_MODELS as readonly string[]).includes(n)) {
      throw usageError(`unknown model '${n}'; expected ${TUTORIAL_MODELS.join(', ')}`);
    }
  }
  await ae.init({ threads: o.threads });
  const data = await mnist(o.limit);
  await mkdir(o.out, { recursive: true });
  const save = values.save as string | undefined;
  if (save) await mkdir(save, { recursive: true });
  const command = `npx tsx examples/run.ts ${only ?? 'tutorial'} ${argv.join(' ')}`.trim();
  console.log(
    `${names.join(', ')}: ${o.epochs} epoch(s), batch ${o.batchSize}, seed ${o.seedGiven ? o.seed : 'per model (1; convolutional, denoising 2)'}, ${ae.threadCount()} thread(s), ` +
      `${data.train.shape[0]} training images (20 % for validation), ${data.test.shape[0]} test images`,
  );
  const records: RunRecord[] = [];
  for (const name of names as TutorialModel[]) {
    const { model, record, json } = await trainOne(name, data, o, command);
    if (save) {
      await writeFile(join(save, `${name}.wae`), model.toBytes());
      await writeFile(join(save, `${name}.json`), json);
    }
    model.dispose();
    records.push(record);
  }
  printTable(records);
  console.log(`\nfigures: ${o.out}/<model>.png, <model>-loss.svg; run records: ${o.out}/<model>.json`);
}

function printTable(records: RunRecord[]): void {
  const f = (v: number) => v.toFixed(5);
  console.log(
    '\n| model | params | s/epoch | final loss | final val loss | test MSE | test PSNR | noisy input MSE | peak RSS |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const r of records) {
    const noisyCell = r.noisyInputMse === undefined ? '—' : `${f(r.noisyInputMse)} (σ = ${NOISE_STD})`;
    console.log(
      `| ${r.model} | ${r.params.toLocaleString('en-US')} | ${r.secondsPerEpoch.toFixed(1)} | ${f(r.loss.at(-1)!)} | ` +
        `${f(r.valLoss.at(-1)!)} | ${f(r.testMse)} | ${r.testPsnr.toFixed(2)} dB | ${noisyCell} | ${r.peakRssMB} MB |`,
    );
  }
}
