/**
 * The training loop behind `Autoencoder.fit`: Keras's `fit` semantics (validation split
 * taken from the end before shuffling, a fresh shuffle each epoch, the last partial batch
 * kept, epoch loss = mean of batch losses weighted by batch size), plus per-batch input
 * noise, callbacks and cancellation. Each step runs entirely inside Wasm.
 *
 * Epoch k shuffles and draws its noise from a generator seeded with (seed, k) alone
 * (`epochSeed`), so `fit(…, { initialEpoch: k })` on a model saved after epoch k continues
 * exactly as the uninterrupted run did. A batch whose loss is not finite updates nothing
 * (crate/core's train_step) and ends the fit with a DivergenceError.
 */
import { runCallbacks, assertCallbacks, type Callback, type CallbackContext } from './callbacks.js';

export { runCallbacks };
import { DivergenceError, ShapeError, ValueError } from './errors.js';
import {
  assertBoolean,
  assertFiniteNumber,
  assertFunction,
  assertInteger,
  assertPositiveInteger,
  checkOptions,
  describeValue,
} from './validate.js';
import { addGaussianNoiseInto } from './noise.js';
import { assertSeed, createRng, defaultSeed, epochSeed, shuffleInPlace, type Rng } from './random.js';
import { shapeSize } from './tensor.js';
import { assertAnySamples, byteValues, isByteTensor, sliceAnyRows, type AnyTensor } from './byte-tensor.js';

export interface EpochLogs {
  loss: number;
  valLoss?: number;
}

export interface FitOptions {
  /** Passes over the training data (Keras default 1). */
  epochs?: number;
  /** Samples per gradient step (Keras default 32; the tutorial uses 256). */
  batchSize?: number;
  /** Reshuffle the training samples before each epoch (default true). */
  shuffle?: boolean;
  /** Fraction in [0, 1) of the samples, taken from the end before shuffling, held out for validation. */
  validationSplit?: number;
  /** Explicit validation inputs and targets (take precedence over validationSplit, like Keras). */
  validationData?: [AnyTensor, AnyTensor];
  /** Seed for shuffling and input noise; random when omitted. */
  seed?: number;
  /**
   * The epoch to start at (Keras's `initial_epoch`, default 0): `epochs` is the index of the
   * last epoch + 1, so `{ initialEpoch: 2, epochs: 4 }` runs epochs 2 and 3. With the same
   * seed, on a model saved with `toBytes({ includeOptimizer: true })` after epoch 2, this
   * gives bit for bit the weights of one 4-epoch run.
   */
  initialEpoch?: number;
  /** Keras-style callbacks (`earlyStopping`, `modelCheckpoint`, or your own), run in order. */
  callbacks?: Callback[];
  /** Adds fresh clip(x + std·N(0,1), 0, 1) noise to each batch's inputs; targets stay clean. */
  inputNoise?: { std: number };
  onEpochEnd?: (epoch: number, logs: EpochLogs) => void | Promise<void>;
  /** `logs.loss` is the running mean over the epoch so far, as in Keras. */
  onBatchEnd?: (batch: number, logs: { loss: number }) => void | Promise<void>;
  /** Stops training after the current batch; `fit` then resolves with the epochs completed. */
  signal?: AbortSignal;
}

export interface History {
  loss: number[];
  valLoss: number[];
  /** True when `signal` or a callback (`earlyStopping`) stopped training before all epochs ran. */
  stopped: boolean;
}

/** What the loop needs from a model. */
export interface TrainTarget {
  readonly inputShape: readonly number[];
  readonly outputShape: readonly number[];
  /**
   * Buffers (views on Wasm memory) for `batch` samples, valid until the next `stage` call;
   * no target buffer when `targetIsInput`.
   */
  stage(batch: number, targetIsInput: boolean): { x: Float32Array; y?: Float32Array };
  /** One step on the first `batch` staged samples (the inputs as targets too when `targetIsInput`); returns the batch loss. */
  trainStaged(batch: number, targetIsInput: boolean): number;
  validationLoss(x: AnyTensor, y: AnyTensor): number;
  /** What callbacks may do with the model while it trains. */
  callbackContext(stopTraining: () => void): CallbackContext;
}

const FIT_KEYS = [
  'epochs',
  'batchSize',
  'shuffle',
  'validationSplit',
  'validationData',
  'seed',
  'initialEpoch',
  'callbacks',
  'inputNoise',
  'onEpochEnd',
  'onBatchEnd',
  'signal',
];

interface Plan extends CommonPlan {
  batchSize: number;
  shuffle: boolean;
  train: [AnyTensor, AnyTensor];
}

/** Validates everything before any work, so a refused call changes nothing. */
export function planFit(model: TrainTarget, x: AnyTensor, y: AnyTensor, opts: unknown): Plan {
  const n = assertAnySamples('x', x, model.inputShape);
  // An autoencoder's targets are usually its inputs: values already checked are not scanned twice.
  const sameData = (y as Partial<AnyTensor> | null | undefined)?.data === x.data;
  const ny = assertAnySamples('y', y, model.outputShape, {
    checkFinite: !sameData,
  });
  if (n !== ny) throw new ShapeError(`x and y must hold the same number of samples, got ${n} and ${ny}`);
  const o = checkOptions<FitOptions>('fit options', opts, FIT_KEYS);
  const common = planCommon(model, o);
  const batchSize = o.batchSize === undefined ? 32 : assertPositiveInteger('batchSize', o.batchSize);
  const shuffle = o.shuffle === undefined ? true : assertBoolean('shuffle', o.shuffle);

  let train: [AnyTensor, AnyTensor] = [x, y];
  let validation = common.validation;
  if (validation === undefined && o.validationSplit !== undefined) {
    const split = assertFiniteNumber('validationSplit', o.validationSplit, {
      min: 0,
      max: 1,
      maxExclusive: true,
    });
    if (split > 0) {
      const cut = Math.floor(n * (1 - split));
      if (cut < 1 || cut >= n) {
        throw new ValueError(
          `validationSplit ${split} of ${n} samples leaves ${cut} for training and ${n - cut} for validation; both need at least one`,
        );
      }
      train = [sliceAnyRows(x, 0, cut), sliceAnyRows(y, 0, cut)];
      validation = [sliceAnyRows(x, cut), sliceAnyRows(y, cut)];
    }
  }
  return { ...common, batchSize, shuffle, train, validation };
}

/** What fit and fitDataset share. */
export interface CommonPlan {
  epochs: number;
  initialEpoch: number;
  seed: number;
  callbacks: Callback[];
  noiseStd: number;
  validation?: [AnyTensor, AnyTensor];
  onEpochEnd?: FitOptions['onEpochEnd'];
  onBatchEnd?: FitOptions['onBatchEnd'];
  signal?: AbortSignal;
}

/** The options fit and fitDataset share, validated. */
export function planCommon(model: TrainTarget, o: FitOptions): CommonPlan {
  const epochs = o.epochs === undefined ? 1 : assertPositiveInteger('epochs', o.epochs);
  // Drawn once when not given: every epoch's generator derives from it (epochSeed).
  const seed = o.seed === undefined ? defaultSeed() : assertSeed('seed', o.seed);
  const initialEpoch = o.initialEpoch === undefined ? 0 : assertInteger('initialEpoch', o.initialEpoch, { min: 0 });
  if (initialEpoch >= epochs) {
    throw new ValueError(
      `initialEpoch (${initialEpoch}) must be less than epochs (${epochs}): epochs is the index of the last epoch + 1, as in Keras`,
    );
  }
  const callbacks = o.callbacks === undefined ? [] : assertCallbacks(o.callbacks);
  let noiseStd = 0;
  if (o.inputNoise !== undefined) {
    const noise = checkOptions<{ std: number }>('inputNoise', o.inputNoise, ['std']);
    noiseStd = assertFiniteNumber('inputNoise.std', noise.std, { min: 0 });
  }
  for (const key of ['onEpochEnd', 'onBatchEnd'] as const) if (o[key] !== undefined) assertFunction(key, o[key]);
  if (o.signal !== undefined && !(typeof o.signal === 'object' && o.signal !== null && 'aborted' in o.signal)) {
    throw new ValueError(`signal must be an AbortSignal, got ${describeValue(o.signal)}`);
  }

  let validation: [AnyTensor, AnyTensor] | undefined;
  if (o.validationData !== undefined) {
    const v = o.validationData;
    if (!Array.isArray(v) || v.length !== 2) {
      throw new ValueError(`validationData must be [xVal, yVal], got ${describeValue(v)}`);
    }
    const nvx = assertAnySamples('validationData[0]', v[0], model.inputShape);
    const nvy = assertAnySamples('validationData[1]', v[1], model.outputShape);
    if (nvx !== nvy) throw new ShapeError(`validationData inputs and targets differ in samples: ${nvx} and ${nvy}`);
    validation = [v[0], v[1]];
  }
  return {
    epochs,
    initialEpoch,
    seed,
    callbacks,
    noiseStd,
    validation,
    onEpochEnd: o.onEpochEnd,
    onBatchEnd: o.onBatchEnd,
    signal: o.signal,
  };
}

/** Lets timers, I/O and callbacks run between batches (setImmediate where it exists: no 4 ms clamp). */
export function yieldToEventLoop(): Promise<void> {
  if (typeof setImmediate === 'function') return new Promise((resolve) => setImmediate(resolve));
  if (typeof MessageChannel === 'function') {
    return new Promise((resolve) => {
      const channel = new MessageChannel();
      channel.port1.onmessage = () => {
        channel.port1.close();
        resolve();
      };
      channel.port2.postMessage(null);
    });
  }
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * Rows `order[start..start + count]` of `src` into `dst`: copied from a Tensor, scaled
 * through `values` (the 256 float32 values of a ByteTensor's bytes) from one.
 */
function gather(
  src: AnyTensor,
  values: Float32Array | undefined,
  rowLength: number,
  order: Uint32Array,
  start: number,
  count: number,
  dst: Float32Array,
): void {
  if (values) {
    const bytes = src.data as Uint8Array;
    for (let j = 0; j < count; j++) {
      const row = order[start + j] * rowLength;
      const to = j * rowLength;
      for (let k = 0; k < rowLength; k++) dst[to + k] = values[bytes[row + k]];
    }
    return;
  }
  const floats = src.data as Float32Array;
  for (let j = 0; j < count; j++) {
    const row = order[start + j] * rowLength;
    dst.set(floats.subarray(row, row + rowLength), j * rowLength);
  }
}

/** Whether two arrays are the same elements of the same memory (not just equal values). */
function sameElements(a: Float32Array | Uint8Array, b: Float32Array | Uint8Array): boolean {
  return a.buffer === b.buffer && a.byteOffset === b.byteOffset && a.length === b.length;
}

export async function runFit(model: TrainTarget, plan: Plan, isStopped: () => boolean): Promise<History> {
  const [tx, ty] = plan.train;
  const n = tx.shape[0];
  const inLen = tx.data.length / n;
  const outLen = ty.data.length / n;
  const batchSize = Math.min(plan.batchSize, n);
  const order = new Uint32Array(n);
  const history: History = { loss: [], valLoss: [], stopped: false };
  let stopRequested = false;
  const context = model.callbackContext(() => (stopRequested = true));
  await runCallbacks(plan.callbacks, (c) => c.onTrainBegin?.(context));
  // An autoencoder fit on clean data (fit(x, x)): the staged inputs are the targets too,
  // which saves gathering every batch twice.
  const xValues = isByteTensor(tx) ? byteValues(tx.scale) : undefined;
  const yValues = isByteTensor(ty) ? byteValues(ty.scale) : undefined;
  const sameKind = isByteTensor(tx) ? isByteTensor(ty) && tx.scale === ty.scale : !isByteTensor(ty);
  const targetIsInput = plan.noiseStd === 0 && sameKind && sameElements(tx.data, ty.data);
  const stop = () => plan.signal?.aborted === true || isStopped();

  // A stop by `signal` leaves both loops here, so callbacks still end the run (onTrainEnd).
  epochs: for (let epoch = plan.initialEpoch; epoch < plan.epochs; epoch++) {
    // From the identity each epoch: the order depends on (seed, epoch) only.
    const rng = createRng(epochSeed(plan.seed, epoch));
    for (let i = 0; i < n; i++) order[i] = i;
    if (plan.shuffle) shuffleInPlace(order, rng);
    let weighted = 0;
    let seen = 0;
    for (let start = 0, batch = 0; start < n; start += batchSize, batch++) {
      if (stop()) {
        history.stopped = true;
        break epochs;
      }
      const count = Math.min(batchSize, n - start);
      // Rows are gathered straight into Wasm memory: one copy per sample, no allocation.
      const loss = trainBatch(model, { epoch, batch, count, targetIsInput, noiseStd: plan.noiseStd, rng }, (x, y) => {
        gather(tx, xValues, inLen, order, start, count, x);
        if (y) gather(ty, yValues, outLen, order, start, count, y);
      });
      weighted += loss * count;
      seen += count;
      if (plan.onBatchEnd) await plan.onBatchEnd(batch, { loss: weighted / seen });
      await yieldToEventLoop();
    }
    if (
      await endEpoch(model, plan, {
        epoch,
        loss: weighted / seen,
        history,
        context,
        stopRequested: () => stopRequested,
      })
    )
      break;
  }
  await runCallbacks(plan.callbacks, (c) => c.onTrainEnd?.(context));
  return history;
}

export interface BatchStep {
  epoch: number;
  batch: number;
  count: number;
  targetIsInput: boolean;
  noiseStd: number;
  rng: Rng;
}

/**
 * One training step on `count` samples that `fill` writes into the Wasm staging buffers
 * (the targets too, unless the inputs are the targets); fresh input noise when asked. A
 * loss that is not finite means the core applied nothing: a DivergenceError.
 */
export function trainBatch(
  model: TrainTarget,
  s: BatchStep,
  fill: (x: Float32Array, y: Float32Array | undefined) => void,
): number {
  const staged = model.stage(s.count, s.targetIsInput);
  const inLen = shapeSize(model.inputShape);
  const outLen = shapeSize(model.outputShape);
  const x = staged.x.subarray(0, s.count * inLen);
  fill(x, staged.y?.subarray(0, s.count * outLen));
  if (s.noiseStd > 0) addGaussianNoiseInto(x, x, s.noiseStd, s.rng);
  const loss = model.trainStaged(s.count, s.targetIsInput);
  if (!Number.isFinite(loss)) {
    throw new DivergenceError(
      `training diverged at epoch ${s.epoch + 1}, batch ${s.batch + 1}: the loss ` +
        `(or a gradient) is ${loss}; that step was not applied, so the weights are those after ` +
        `the previous batch (lower the learning rate, or check the data for NaN or huge values)`,
    );
  }
  return loss;
}

/**
 * The end of an epoch: its logs (validation loss too), `onEpochEnd`, the callbacks. True
 * when a callback asked training to stop before the last epoch (the history says so).
 */
export async function endEpoch(
  model: TrainTarget,
  plan: CommonPlan,
  e: { epoch: number; loss: number; history: History; context: CallbackContext; stopRequested: () => boolean },
): Promise<boolean> {
  const logs: EpochLogs = { loss: e.loss };
  e.history.loss.push(logs.loss);
  if (plan.validation) {
    logs.valLoss = model.validationLoss(plan.validation[0], plan.validation[1]);
    e.history.valLoss.push(logs.valLoss);
  }
  if (plan.onEpochEnd) await plan.onEpochEnd(e.epoch, logs);
  await runCallbacks(plan.callbacks, (c) => c.onEpochEnd?.(e.epoch, logs, e.context));
  if (e.stopRequested() && e.epoch + 1 < plan.epochs) {
    e.history.stopped = true;
    return true;
  }
  return false;
}
