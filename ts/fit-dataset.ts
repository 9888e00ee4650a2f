/**
 * `fitDataset`: training from batches that arrive one at a time — read from disk, decoded
 * from images, fetched — as TensorFlow.js's `model.fitDataset` does, so the data never has
 * to fit in memory at once: only the batch being trained on is held. Each epoch iterates the
 * dataset afresh (an iterable, sync or async, such as an async generator function's result
 * wrapped to restart, or any object with `[Symbol.asyncIterator]()`), or takes the next
 * `batchesPerEpoch` batches. Input noise, callbacks, validation data, divergence and the
 * `signal` behave as in `fit`.
 */
import type { Callback } from './callbacks.js';
import { ValueError } from './errors.js';
import {
  endEpoch,
  planCommon,
  runCallbacks,
  trainBatch,
  yieldToEventLoop,
  type CommonPlan,
  type FitOptions,
  type History,
  type TrainTarget,
} from './fit.js';
import { createRng, epochSeed } from './random.js';
import { assertSampleShape, type Tensor } from './tensor.js';
import { assertPositiveInteger, checkOptions, describeValue } from './validate.js';

/** One batch: `xs` in, `ys` out (an autoencoder's targets are its inputs when `ys` is left out). */
export interface DatasetBatch {
  xs: Tensor;
  ys?: Tensor;
}

export type Dataset = AsyncIterable<DatasetBatch> | Iterable<DatasetBatch>;

export interface FitDatasetOptions extends Omit<FitOptions, 'batchSize' | 'shuffle' | 'validationSplit'> {
  /** Batches an epoch takes, from an iterator that continues across epochs (tfjs's option); default: the whole dataset, restarted each epoch. */
  batchesPerEpoch?: number;
}

const KEYS = [
  'epochs',
  'initialEpoch',
  'seed',
  'inputNoise',
  'validationData',
  'callbacks',
  'onEpochEnd',
  'onBatchEnd',
  'signal',
  'batchesPerEpoch',
];

export interface DatasetPlan extends CommonPlan {
  dataset: Dataset;
  batchesPerEpoch?: number;
}

export function planFitDataset(model: TrainTarget, dataset: unknown, opts: unknown): DatasetPlan {
  const iterable =
    typeof dataset === 'object' &&
    dataset !== null &&
    (Symbol.asyncIterator in dataset || Symbol.iterator in dataset) &&
    !ArrayBuffer.isView(dataset);
  if (!iterable) {
    throw new ValueError(
      `fitDataset takes an iterable of { xs, ys } batches (sync or async, restartable), got ${describeValue(dataset)}`,
    );
  }
  const o = checkOptions<FitDatasetOptions>('fitDataset options', opts, KEYS);
  const batchesPerEpoch =
    o.batchesPerEpoch === undefined ? undefined : assertPositiveInteger('batchesPerEpoch', o.batchesPerEpoch);
  return { ...planCommon(model, o), dataset: dataset as Dataset, batchesPerEpoch };
}

/** A batch's tensors, checked like fit's: shapes (the model's sample shape), counts, finite values. */
function checkBatch(model: TrainTarget, b: unknown, where: string): { xs: Tensor; ys: Tensor; n: number } {
  if (typeof b !== 'object' || b === null || !('xs' in b)) {
    throw new ValueError(`${where} must be { xs, ys? } (tensors), got ${describeValue(b)}`);
  }
  const { xs, ys } = b as DatasetBatch;
  const n = assertSampleShape(`${where}.xs`, xs, model.inputShape);
  if (ys === undefined || ys === xs) return { xs, ys: xs, n };
  const ny = assertSampleShape(`${where}.ys`, ys, model.outputShape);
  if (n !== ny) throw new ValueError(`${where}: xs and ys hold ${n} and ${ny} samples`);
  return { xs, ys, n };
}

export async function runFitDataset(model: TrainTarget, plan: DatasetPlan, isStopped: () => boolean): Promise<History> {
  const history: History = { loss: [], valLoss: [], stopped: false };
  let stopRequested = false;
  const context = model.callbackContext(() => (stopRequested = true));
  await runCallbacks(plan.callbacks as Callback[], (c) => c.onTrainBegin?.(context));
  const stop = () => plan.signal?.aborted === true || isStopped();
  const open = () =>
    Symbol.asyncIterator in plan.dataset
      ? (plan.dataset as AsyncIterable<DatasetBatch>)[Symbol.asyncIterator]()
      : (plan.dataset as Iterable<DatasetBatch>)[Symbol.iterator]();
  // With batchesPerEpoch one iterator runs on across epochs; otherwise each epoch restarts.
  let shared = plan.batchesPerEpoch === undefined ? undefined : open();

  epochs: for (let epoch = plan.initialEpoch; epoch < plan.epochs; epoch++) {
    const rng = createRng(epochSeed(plan.seed, epoch));
    const iterator = shared ?? open();
    let weighted = 0;
    let seen = 0;
    for (let batch = 0; plan.batchesPerEpoch === undefined || batch < plan.batchesPerEpoch; batch++) {
      if (stop()) {
        history.stopped = true;
        break epochs;
      }
      const next = await iterator.next();
      if (next.done) {
        if (shared) shared = open(); // tfjs: an exhausted dataset starts over
        break;
      }
      const { xs, ys, n } = checkBatch(model, next.value, `epoch ${epoch + 1}, batch ${batch + 1}`);
      const targetIsInput = plan.noiseStd === 0 && ys.data === xs.data;
      const loss = trainBatch(
        model,
        { epoch, batch, count: n, targetIsInput, noiseStd: plan.noiseStd, rng },
        (x, y) => {
          x.set(xs.data);
          y?.set(ys.data);
        },
      );
      weighted += loss * n;
      seen += n;
      if (plan.onBatchEnd) await plan.onBatchEnd(batch, { loss: weighted / seen });
      await yieldToEventLoop();
    }
    if (seen === 0) throw new ValueError(`the dataset gave no batches in epoch ${epoch + 1}`);
    const end = { epoch, loss: weighted / seen, history, context, stopRequested: () => stopRequested };
    if (await endEpoch(model, plan, end)) break;
  }
  await runCallbacks(plan.callbacks as Callback[], (c) => c.onTrainEnd?.(context));
  return history;
}
