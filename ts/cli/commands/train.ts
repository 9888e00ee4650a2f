/**
 * `train`: one of the tutorial's models on MNIST, with a progress bar, written to --out.
 * Ctrl-C stops after the current batch and still writes the model trained so far (exit 130).
 */
import { writeFile } from 'node:fs/promises';
import {
  TUTORIAL_SEEDS,
  convolutional,
  deep,
  denoising,
  tensor,
  threadCount,
  vanilla,
  type Tensor,
} from '../../index.js';
import { choiceFlag, numberFlag, type Command } from '../args.js';
import { DATA_FLAG, THREADS_FLAG, initThreads, loadData } from '../io.js';
import { progress } from '../progress.js';

const MODELS = { vanilla, deep, convolutional, denoising } as const;
type ModelName = keyof typeof MODELS;
const NAMES = Object.keys(MODELS) as ModelName[];

/** Exit code of a run stopped by Ctrl-C (128 + SIGINT), as shells report it. */
export const EXIT_INTERRUPTED = 130;

export const train: Command = {
  name: 'train',
  summary: "train one of the Keras tutorial's autoencoders on MNIST and write it to a model file",
  usage: '--model NAME --out FILE [flags]',
  flags: {
    model: { type: 'string', value: 'NAME', help: NAMES.join(' | '), required: true },
    out: { type: 'string', value: 'FILE', help: 'where to write the trained model (.wae)', required: true },
    epochs: { type: 'string', value: 'N', help: 'passes over the training images', default: '1' },
    'batch-size': { type: 'string', value: 'N', help: 'images per step', default: '256' },
    'learning-rate': { type: 'string', value: 'X', help: 'Adam learning rate', default: '0.001' },
    'validation-split': { type: 'string', value: 'F', help: 'last fraction held out for validation', default: '0.2' },
    seed: {
      type: 'string',
      value: 'N',
      help: 'seed for the initial weights, shuffling and noise (default 1; convolutional and denoising 2: seed 1 starts them with a dead output ReLU)',
    },
    noise: {
      type: 'string',
      value: 'STD',
      help: 'denoising: std of the Gaussian noise added to each batch',
      default: '0.25',
    },
    threads: THREADS_FLAG,
    data: DATA_FLAG,
  },
  async run(flags) {
    const name = choiceFlag(flags, 'model', NAMES)!;
    const out = flags.out as string;
    const epochs = numberFlag(flags, 'epochs', { integer: true, min: 1 })!;
    const batchSize = numberFlag(flags, 'batch-size', { integer: true, min: 1 })!;
    const learningRate = numberFlag(flags, 'learning-rate', { min: 0 })!;
    const validationSplit = numberFlag(flags, 'validation-split', { min: 0, max: 0.99 })!;
    const seed = numberFlag(flags, 'seed', { integer: true, min: 0 }) ?? TUTORIAL_SEEDS[name];
    const noise = numberFlag(flags, 'noise', { min: 0 })!;
    await initThreads(flags);
    const { train: images } = await loadData(flags);
    const model = MODELS[name]({ seed });
    model.compile({ optimizer: { name: 'adam', learningRate }, loss: 'mse' });
    const x: Tensor = model.inputShape.length === 1 ? tensor(images.data, [images.shape[0], 784]) : images;

    const n = x.shape[0];
    const trainCount = validationSplit > 0 ? Math.floor(n * (1 - validationSplit)) : n;
    const batches = Math.ceil(trainCount / batchSize);
    console.log(
      `training ${name} (${model.countParams().toLocaleString('en-US')} parameters) on ${trainCount.toLocaleString('en-US')} images ` +
        `(${(n - trainCount).toLocaleString('en-US')} for validation), ${epochs} epoch(s), batch ${batchSize}, ${threadCount()} thread(s)`,
    );
    const controller = new AbortController();
    const onSigint = () => {
      if (controller.signal.aborted) process.exit(EXIT_INTERRUPTED); // a second Ctrl-C: now
      controller.abort();
      process.stdout.write(
        `\ninterrupted: stopping after the current batch, then writing the model trained so far to ${out}\n`,
      );
    };
    process.on('SIGINT', onSigint);
    const bar = progress(epochs);
    let epochStart = 0;
    let last = 0;
    try {
      const history = await model.fit(x, x, {
        epochs,
        batchSize,
        shuffle: true,
        validationSplit,
        seed,
        inputNoise: name === 'denoising' && noise > 0 ? { std: noise } : undefined,
        signal: controller.signal,
        onBatchEnd: (batch, logs) => {
          if (batch === 0) {
            epochStart = performance.now();
            bar.startEpoch(last, batches);
          }
          bar.batch(batch + 1, logs.loss, Math.min((batch + 1) * batchSize, trainCount));
        },
        onEpochEnd: (epoch, logs) => {
          const s = (performance.now() - epochStart) / 1000;
          const val = logs.valLoss === undefined ? '' : `, val loss ${logs.valLoss.toFixed(5)}`;
          bar.endEpoch(
            `epoch ${epoch + 1}/${epochs}: loss ${logs.loss.toFixed(5)}${val}, ${s.toFixed(1)} s (${Math.round(trainCount / s)} images/s)`,
          );
          last = epoch + 1;
        },
      });
      bar.stop();
      await writeFile(out, model.toBytes());
      const done = history.loss.length;
      console.log(
        `wrote ${out} (${done} epoch${done === 1 ? '' : 's'} trained${history.stopped ? ', stopped by Ctrl-C' : ''})`,
      );
      return history.stopped ? EXIT_INTERRUPTED : 0;
    } finally {
      process.off('SIGINT', onSigint);
      model.dispose();
    }
  },
};
