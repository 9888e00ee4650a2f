/**
 * Keras's callbacks, with Keras's names and semantics (keras/src/callbacks/): `earlyStopping`
 * and `modelCheckpoint`, and the `Callback` interface for your own. Pass them as
 * `fit(x, y, { callbacks: [...] })`; they run on the calling thread after `onEpochEnd`, in
 * order, and an async callback is awaited before the next epoch starts.
 */
import type { ToBytesOptions } from './autoencoder.js';
import type { EpochLogs } from './fit.js';
import { ValueError } from './errors.js';
import { importNodeBuiltin, isNode } from './runtime.js';
import {
  assertBoolean,
  assertFiniteNumber,
  assertFunction,
  assertInteger,
  assertNonEmptyString,
  assertOneOf,
  checkOptions,
  describeValue,
} from './validate.js';

/** What a callback may do with the model during `fit`. */
export interface CallbackContext {
  /** Ends training after the current epoch (Keras's `model.stop_training = True`). */
  stopTraining(): void;
  /** Every weight, flat in Keras order (a copy). */
  getWeights(): Float32Array;
  /** Replaces every weight (the flat layout of `getWeights`). */
  setWeights(weights: Float32Array): void;
  /** The model file as it is now (`Autoencoder.toBytes`). */
  toBytes(opts?: ToBytesOptions): Uint8Array;
  /** The optimizer's learning rate now. */
  getLearningRate(): number;
  /** A new learning rate from the next batch on; the optimizer's state is kept. */
  setLearningRate(learningRate: number): void;
}

export interface Callback {
  onTrainBegin?(context: CallbackContext): void | Promise<void>;
  onEpochEnd?(epoch: number, logs: EpochLogs, context: CallbackContext): void | Promise<void>;
  /** After the last epoch, or after a stop by a callback or the `signal`; not after an error. */
  onTrainEnd?(context: CallbackContext): void | Promise<void>;
}

export function assertCallbacks(value: unknown): Callback[] {
  if (!Array.isArray(value)) throw new ValueError(`callbacks must be an array, got ${describeValue(value)}`);
  value.forEach((c, i) => {
    if (typeof c !== 'object' || c === null) {
      throw new ValueError(`callbacks[${i}] must be an object with onEpochEnd etc., got ${describeValue(c)}`);
    }
    for (const hook of ['onTrainBegin', 'onEpochEnd', 'onTrainEnd'] as const) {
      if ((c as Callback)[hook] !== undefined) assertFunction(`callbacks[${i}].${hook}`, (c as Callback)[hook]);
    }
  });
  return value as Callback[];
}

export async function runCallbacks(callbacks: Callback[], call: (c: Callback) => unknown): Promise<void> {
  for (const c of callbacks) await call(c);
}

/** The quantity a callback watches: our log names, or Keras's spelling of them. */
export type Monitor = 'loss' | 'valLoss' | 'val_loss';
const MONITORS = ['loss', 'valLoss', 'val_loss'] as const;

function monitored(name: string, monitor: Monitor, logs: EpochLogs): number {
  const value = monitor === 'loss' ? logs.loss : logs.valLoss;
  if (value === undefined) {
    // Keras only warns here; a callback that silently never acts is the bigger surprise.
    throw new ValueError(
      `${name} monitors '${monitor}', but this fit has no validation data: pass validationSplit or ` +
        `validationData to fit, or monitor 'loss'`,
    );
  }
  return value;
}

export interface EarlyStoppingOptions {
  /** Default 'valLoss' (Keras: 'val_loss'). Lower is better. */
  monitor?: Monitor;
  /** An improvement must lower the monitored value by more than this (default 0). */
  minDelta?: number;
  /** Epochs without improvement before stopping (default 0). */
  patience?: number;
  /** A value to beat: until an epoch beats it, the patience counter is not reset. */
  baseline?: number;
  /** At the end of training, go back to the weights of the best epoch (default false). */
  restoreBestWeights?: boolean;
  /** Epochs to wait before watching at all (default 0). */
  startFromEpoch?: number;
}

/**
 * Stops training when the monitored loss has stopped improving, as Keras's `EarlyStopping`
 * (mode 'min'): after each epoch the counter grows by one, and an epoch whose value is
 * below the best so far by more than `minDelta` resets it (when it also beats `baseline`);
 * training stops once the counter reaches `patience` (never after the first epoch). With
 * `restoreBestWeights` the best epoch's weights are put back when training ends.
 */
export function earlyStopping(opts?: EarlyStoppingOptions): Callback {
  const o = checkOptions<EarlyStoppingOptions>('earlyStopping options', opts, [
    'monitor',
    'minDelta',
    'patience',
    'baseline',
    'restoreBestWeights',
    'startFromEpoch',
  ]);
  const monitor = assertOneOf('earlyStopping monitor', o.monitor ?? 'valLoss', MONITORS);
  const minDelta = Math.abs(assertFiniteNumber('earlyStopping minDelta', o.minDelta ?? 0));
  const patience = assertInteger('earlyStopping patience', o.patience ?? 0, { min: 0 });
  const baseline = o.baseline === undefined ? undefined : assertFiniteNumber('earlyStopping baseline', o.baseline);
  const restore = assertBoolean('earlyStopping restoreBestWeights', o.restoreBestWeights ?? false);
  const startFromEpoch = assertInteger('earlyStopping startFromEpoch', o.startFromEpoch ?? 0, { min: 0 });
  const improves = (value: number, reference: number) => value + minDelta < reference;

  let wait = 0;
  let best = Infinity;
  let bestWeights: Float32Array | undefined;
  return {
    onTrainBegin() {
      // Reusable across fits, as Keras's.
      wait = 0;
      best = Infinity;
      bestWeights = undefined;
    },
    onEpochEnd(epoch, logs, context) {
      const current = monitored('earlyStopping', monitor, logs);
      if (epoch < startFromEpoch) return;
      if (restore && bestWeights === undefined) bestWeights = context.getWeights();
      wait++;
      if (improves(current, best)) {
        best = current;
        if (restore) bestWeights = context.getWeights();
        if (baseline === undefined || improves(current, baseline)) wait = 0;
        return;
      }
      if (wait >= patience && epoch > 0) context.stopTraining();
    },
    onTrainEnd(context) {
      if (restore && bestWeights !== undefined) context.setWeights(bestWeights);
    },
  };
}

export interface ReduceLROnPlateauOptions {
  /** Default 'valLoss' (Keras: 'val_loss'). Lower is better. */
  monitor?: Monitor;
  /** The learning rate is multiplied by this, in (0, 1) (default 0.1). */
  factor?: number;
  /** Epochs without improvement before reducing (default 10). */
  patience?: number;
  /** An improvement must lower the monitored value by more than this (default 1e-4). */
  minDelta?: number;
  /** Epochs to wait after a reduction before counting again (default 0). */
  cooldown?: number;
  /** The learning rate never goes below this (default 0). */
  minLr?: number;
}

/**
 * Lowers the learning rate when the monitored loss has stopped improving, as Keras's
 * `ReduceLROnPlateau` (mode 'min'): after `patience` epochs without an improvement of more
 * than `minDelta`, the rate becomes `max(rate · factor, minLr)` (if it is above `minLr`),
 * then `cooldown` epochs pass before epochs without improvement count again. Adam's moments
 * and step count are kept, as Keras keeps them.
 */
export function reduceLROnPlateau(opts?: ReduceLROnPlateauOptions): Callback {
  const o = checkOptions<ReduceLROnPlateauOptions>('reduceLROnPlateau options', opts, [
    'monitor',
    'factor',
    'patience',
    'minDelta',
    'cooldown',
    'minLr',
  ]);
  const monitor = assertOneOf('reduceLROnPlateau monitor', o.monitor ?? 'valLoss', MONITORS);
  const factor = assertFiniteNumber('reduceLROnPlateau factor', o.factor ?? 0.1, {
    min: 0,
    max: 1,
    maxExclusive: true,
  });
  if (factor === 0) throw new ValueError('reduceLROnPlateau factor must be above 0 (and below 1), got 0');
  const patience = assertInteger('reduceLROnPlateau patience', o.patience ?? 10, { min: 0 });
  const minDelta = assertFiniteNumber('reduceLROnPlateau minDelta', o.minDelta ?? 1e-4);
  const cooldown = assertInteger('reduceLROnPlateau cooldown', o.cooldown ?? 0, { min: 0 });
  const minLr = assertFiniteNumber('reduceLROnPlateau minLr', o.minLr ?? 0, { min: 0 });

  let best = Infinity;
  let wait = 0;
  let cooldownLeft = 0;
  return {
    onTrainBegin() {
      best = Infinity;
      wait = 0;
      cooldownLeft = 0;
    },
    onEpochEnd(_epoch, logs, context) {
      const current = monitored('reduceLROnPlateau', monitor, logs);
      if (cooldownLeft > 0) {
        cooldownLeft--;
        wait = 0;
      }
      if (current < best - minDelta) {
        best = current;
        wait = 0;
      } else if (cooldownLeft === 0) {
        wait++;
        if (wait >= patience) {
          const rate = context.getLearningRate();
          // Keras compares with the float32 rate, as its optimizer holds it.
          if (rate > Math.fround(minLr)) {
            context.setLearningRate(Math.max(rate * factor, minLr));
            cooldownLeft = cooldown;
            wait = 0;
          }
        }
      }
    },
  };
}

export interface ModelCheckpointOptions {
  /**
   * Node: the file to write, with Keras's placeholders: `{epoch}` (1-based, as Keras
   * counts in file names), `{epoch:02d}`, `{loss:.4f}`, `{valLoss:.4f}` / `{val_loss:.4f}`.
   */
  path?: string;
  /** Anywhere (browsers, workers): called with the model file instead of writing one. */
  onSave?: (bytes: Uint8Array, epoch: number, logs: EpochLogs) => void | Promise<void>;
  /** Only save when the monitored value is the best so far (default false: every epoch). */
  saveBestOnly?: boolean;
  /** Default 'valLoss' (Keras: 'val_loss'); used with saveBestOnly. */
  monitor?: Monitor;
  /** Save Adam's state too, so a run resumes bit for bit (default true, as Keras's full-model checkpoints). */
  includeOptimizer?: boolean;
}

/**
 * Saves the model after each epoch, as Keras's `ModelCheckpoint` (mode 'min'): to `path`
 * in Node, or through `onSave` anywhere; with `saveBestOnly`, only when the monitored value
 * is lower than at every earlier save.
 */
export function modelCheckpoint(opts: ModelCheckpointOptions): Callback {
  const o = checkOptions<ModelCheckpointOptions>('modelCheckpoint options', opts, [
    'path',
    'onSave',
    'saveBestOnly',
    'monitor',
    'includeOptimizer',
  ]);
  if ((o.path === undefined) === (o.onSave === undefined)) {
    throw new ValueError('modelCheckpoint needs exactly one of path (Node) or onSave (anywhere)');
  }
  if (o.path !== undefined) {
    assertNonEmptyString('modelCheckpoint path', o.path);
    if (!isNode()) throw new ValueError('modelCheckpoint path writes files in Node only; in browsers pass onSave');
  }
  if (o.onSave !== undefined) assertFunction('modelCheckpoint onSave', o.onSave);
  const saveBestOnly = assertBoolean('modelCheckpoint saveBestOnly', o.saveBestOnly ?? false);
  const monitor = assertOneOf('modelCheckpoint monitor', o.monitor ?? 'valLoss', MONITORS);
  const includeOptimizer = assertBoolean('modelCheckpoint includeOptimizer', o.includeOptimizer ?? true);
  const path = o.path;
  const onSave = o.onSave;

  let best = Infinity;
  return {
    onTrainBegin() {
      best = Infinity;
    },
    async onEpochEnd(epoch, logs, context) {
      if (saveBestOnly) {
        const current = monitored('modelCheckpoint', monitor, logs);
        if (!(current < best)) return;
        best = current;
      }
      const bytes = context.toBytes({ includeOptimizer });
      if (onSave) return onSave(bytes, epoch, logs);
      const { writeFile } = await importNodeBuiltin<typeof import('node:fs/promises')>('node:fs/promises');
      await writeFile(checkpointPath(path!, epoch, logs), bytes);
    },
  };
}

/** `path` with Keras's placeholders filled in: `{epoch}` is 1-based, as in Keras file names. */
export function checkpointPath(path: string, epoch: number, logs: EpochLogs): string {
  const values: Record<string, number | undefined> = {
    epoch: epoch + 1,
    loss: logs.loss,
    valLoss: logs.valLoss,
    val_loss: logs.valLoss,
  };
  return path.replace(
    /\{(\w+)(?::(0?)(\d*)(?:\.(\d+))?([df]))?\}/g,
    (whole, name: string, zero, width, digits, kind) => {
      const value = values[name];
      if (value === undefined) {
        throw new ValueError(`modelCheckpoint path has ${whole}, but there is no '${name}' this epoch`);
      }
      let text = kind === 'd' ? String(Math.round(value)) : digits ? value.toFixed(Number(digits)) : String(value);
      if (width) text = text.padStart(Number(width), zero ? '0' : ' ');
      return text;
    },
  );
}
