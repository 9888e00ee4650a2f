// Long runs that can be trusted: a diverging run stops with a typed error and the weights
// of before the bad step; checkpoints with the optimizer's state resume bit for bit; Keras's
// EarlyStopping and ModelCheckpoint behave as Keras's (keras/src/callbacks/).
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  Autoencoder,
  CorruptDataError,
  DivergenceError,
  ValueError,
  earlyStopping,
  init,
  reduceLROnPlateau,
  layers,
  modelCheckpoint,
  sequential,
  tensor,
  vanilla,
  type CallbackContext,
  type EpochLogs,
  type Tensor,
} from '../ts/index.js';
import { checkpointPath } from '../ts/callbacks.js';
import { epochSeed } from '../ts/random.js';
import { firstDifference } from './support/assertions.js';

beforeAll(() => init({ threads: 1 }));

/** `n` rows of `d` values in [0, 1), the same for the same seed. */
function data(n: number, d: number, seed: number): Tensor {
  let s = seed;
  const v = new Float32Array(n * d).map(() => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  return tensor(v, [n, d]);
}

const flatWeights = (m: Autoencoder) => Float32Array.from(m.getWeights().flatMap((w) => Array.from(w.data)));

describe('divergence', () => {
  it('a loss that overflows stops fit with DivergenceError naming epoch and batch; the weights are those before it', async () => {
    // A linear model under SGD with a huge step grows its weights geometrically until the loss overflows.
    const model = sequential([layers.dense(8), layers.dense(16)], { inputShape: [16], encoderLength: 1, seed: 1 });
    model.compile({ optimizer: { name: 'sgd', learningRate: 5 }, loss: 'mse' });
    const x = data(64, 16, 3);
    const initial = model.getWeights();
    let afterLastGoodBatch = flatWeights(model);
    let batches = 0;
    const error = await model
      .fit(x, x, {
        epochs: 1000,
        batchSize: 16,
        seed: 1,
        onBatchEnd: () => {
          afterLastGoodBatch = flatWeights(model);
          batches++;
        },
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(DivergenceError);
    expect((error as DivergenceError).code).toBe('ERR_DIVERGED');
    const [, epoch, batch] = /epoch (\d+), batch (\d+)/.exec((error as Error).message)!.map(Number);
    expect((epoch - 1) * 4 + batch).toBe(batches + 1); // the batch after the last good one
    expect(batches).toBeGreaterThan(2); // it diverged during the run, not at once
    const now = flatWeights(model);
    expect(now).toEqual(afterLastGoodBatch);
    expect(now.every(Number.isFinite)).toBe(true);
    // The model stays usable (the weights it kept are huge, so start it over): fit works again.
    model.setWeights(initial);
    model.compile({ optimizer: { name: 'sgd', learningRate: 0.01 }, loss: 'mse' });
    const history = await model.fit(x, x, { epochs: 1, batchSize: 16, seed: 1 });
    expect(Number.isFinite(history.loss[0])).toBe(true);
    model.dispose();
  });

  it('data too large for float32 arithmetic diverges on the first batch and changes nothing', async () => {
    const model = vanilla({ seed: 2 });
    const before = model.toBytes({ includeOptimizer: true });
    const x = tensor(new Float32Array(4 * 784).fill(3e38), [4, 784]);
    await expect(model.fit(x, x, { batchSize: 4 })).rejects.toThrow(
      /epoch 1, batch 1: the loss \(or a gradient\) is (Infinity|NaN)/,
    );
    expect(firstDifference(model.toBytes({ includeOptimizer: true }), before)).toBe(-1);
    model.dispose();
  });
});

describe('checkpoints resume bit for bit', () => {
  const opts = { batchSize: 32, seed: 7, validationSplit: 0.25, inputNoise: { std: 0.1 } };

  it('4 epochs in one go = 2 epochs + toBytes({ includeOptimizer }) + fromBytes + 2 more (initialEpoch)', async () => {
    const x = data(256, 784, 11);
    const straight = vanilla({ seed: 1 });
    const all = await straight.fit(x, x, { ...opts, epochs: 4 });

    const first = vanilla({ seed: 1 });
    const head = await first.fit(x, x, { ...opts, epochs: 2 });
    const checkpoint = first.toBytes({ includeOptimizer: true });
    first.dispose();
    const resumed = Autoencoder.fromBytes(checkpoint);
    const tail = await resumed.fit(x, x, { ...opts, epochs: 4, initialEpoch: 2 });

    expect([...head.loss, ...tail.loss]).toEqual(all.loss);
    expect([...head.valLoss, ...tail.valLoss]).toEqual(all.valLoss);
    expect(
      firstDifference(resumed.toBytes({ includeOptimizer: true }), straight.toBytes({ includeOptimizer: true })),
    ).toBe(-1);

    // Without the optimizer's state, Adam starts over: not the same run.
    const plain = Autoencoder.fromBytes(stripOptimizer(checkpoint));
    await plain.fit(x, x, { ...opts, epochs: 4, initialEpoch: 2 });
    expect(firstDifference(flatWeights(plain), flatWeights(straight))).not.toBe(-1);
    for (const m of [straight, resumed, plain]) m.dispose();
  });

  it('epoch k shuffles from (seed, k) alone, distinct per epoch', () => {
    const seeds = new Set(Array.from({ length: 1000 }, (_, k) => epochSeed(42, k)));
    expect(seeds.size).toBe(1000);
    expect(epochSeed(-5, 3)).toBe(epochSeed(-5, 3));
    expect(Number.isSafeInteger(epochSeed(2 ** 53 - 1, 7))).toBe(true);
  });

  it('bad resume options are refused before any work; an SGD checkpoint holds only its step count', async () => {
    const model = vanilla({ seed: 1 });
    const x = data(8, 784, 1);
    await expect(model.fit(x, x, { epochs: 2, initialEpoch: 2 })).rejects.toThrow(
      /initialEpoch \(2\) must be less than epochs \(2\)/,
    );
    await expect(model.fit(x, x, { initialEpoch: -1 })).rejects.toThrow(ValueError);
    expect(() => model.toBytes({ includeOptimizer: 'yes' as never })).toThrow(ValueError);
    // SGD keeps no slots: its checkpoint holds the step count only, and loads.
    model.compile({ optimizer: 'sgd' });
    const sgd = model.toBytes({ includeOptimizer: true });
    const header = new TextDecoder().decode(sgd.subarray(12, 12 + new DataView(sgd.buffer).getUint32(8, true)));
    expect(JSON.parse(header).optimizer).toEqual({ iterations: 0, slots: 0 });
    expect(Autoencoder.fromBytes(sgd).countParams()).toBe(101_200);
    model.dispose();
  });

  it('a checkpoint truncated inside the optimizer state is CorruptDataError', () => {
    const model = vanilla({ seed: 1 });
    const bytes = model.toBytes({ includeOptimizer: true });
    model.dispose();
    expect(() => Autoencoder.fromBytes(bytes.subarray(0, bytes.length - 1000))).toThrow(CorruptDataError);
  });
});

/** The same checkpoint written without its optimizer state (a plain model file). */
function stripOptimizer(bytes: Uint8Array): Uint8Array {
  const m = Autoencoder.fromBytes(bytes);
  const plain = m.toBytes();
  m.dispose();
  return plain;
}

/** A stand-in for fit's context: weights are the epoch numbers they were taken at. */
function fakeContext() {
  const state = {
    stopped: false,
    restored: undefined as number | undefined,
    epoch: 0,
    rate: 0.1,
    rates: [] as number[],
  };
  const context: CallbackContext = {
    stopTraining: () => (state.stopped = true),
    getWeights: () => Float32Array.of(state.epoch),
    setWeights: (w) => (state.restored = w[0]),
    toBytes: () => Uint8Array.of(state.epoch),
    getLearningRate: () => state.rate,
    setLearningRate: (r) => void state.rates.push((state.rate = r)),
  };
  return { state, context };
}

/** The learning rate after each epoch of scripted losses, under `callback`. */
async function rates(callback: ReturnType<typeof reduceLROnPlateau>, losses: number[]): Promise<number[]> {
  const { state, context } = fakeContext();
  await callback.onTrainBegin?.(context);
  const out: number[] = [];
  for (const [epoch, value] of losses.entries()) {
    await callback.onEpochEnd?.(epoch, { loss: 1, valLoss: value }, context);
    out.push(Number(state.rate.toPrecision(6)));
  }
  return out;
}

/** Runs a callback over scripted losses as fit would; returns the epoch it stopped at (or -1). */
async function script(callback: ReturnType<typeof earlyStopping>, losses: number[], key: keyof EpochLogs = 'valLoss') {
  const { state, context } = fakeContext();
  await callback.onTrainBegin?.(context);
  let stoppedAt = -1;
  for (const [epoch, value] of losses.entries()) {
    state.epoch = epoch;
    await callback.onEpochEnd?.(epoch, { loss: 1, [key]: value } as EpochLogs, context);
    if (state.stopped) {
      stoppedAt = epoch;
      break;
    }
  }
  await callback.onTrainEnd?.(context);
  return { stoppedAt, restored: state.restored };
}

describe('earlyStopping (Keras semantics)', () => {
  it('patience counts epochs since the last improvement; never stops after the first epoch', async () => {
    expect((await script(earlyStopping({ patience: 3 }), [1, 0.9, 0.95, 0.96, 0.97, 0.8])).stoppedAt).toBe(4);
    expect((await script(earlyStopping({ patience: 0 }), [1, 2, 3])).stoppedAt).toBe(1);
    expect((await script(earlyStopping({ patience: 0 }), [1])).stoppedAt).toBe(-1);
    expect((await script(earlyStopping({ patience: 2 }), [5, 4, 3, 2, 1])).stoppedAt).toBe(-1);
  });

  it('minDelta: a smaller drop is no improvement; baseline: the counter resets only below it', async () => {
    expect((await script(earlyStopping({ patience: 1, minDelta: 0.2 }), [1, 0.9, 0.85])).stoppedAt).toBe(1);
    expect((await script(earlyStopping({ patience: 1, minDelta: -0.2 }), [1, 0.9, 0.85])).stoppedAt).toBe(1); // |minDelta|
    expect((await script(earlyStopping({ patience: 1, minDelta: 0.05 }), [1, 0.9, 0.88])).stoppedAt).toBe(2);
    // Epoch 0 improves on Infinity but not on the baseline, so its count is not reset.
    expect((await script(earlyStopping({ patience: 2 }), [1, 1, 1])).stoppedAt).toBe(2);
    expect((await script(earlyStopping({ patience: 2, baseline: 0.5 }), [1, 1, 1])).stoppedAt).toBe(1);
    expect((await script(earlyStopping({ patience: 0, startFromEpoch: 3 }), [1, 2, 3, 4, 5])).stoppedAt).toBe(4);
  });

  it("restoreBestWeights puts back the best epoch's weights at the end, stopped or not", async () => {
    const stopped = await script(earlyStopping({ patience: 2, restoreBestWeights: true }), [1, 0.5, 0.7, 0.8, 0.4]);
    expect(stopped).toEqual({ stoppedAt: 3, restored: 1 });
    const ran = await script(earlyStopping({ patience: 9, restoreBestWeights: true }), [1, 0.5, 0.7]);
    expect(ran).toEqual({ stoppedAt: -1, restored: 1 });
    expect((await script(earlyStopping({ patience: 9 }), [1, 0.5, 0.7])).restored).toBeUndefined();
  });

  it('in fit: stops training, marks the history stopped, restores the best weights', async () => {
    const model = vanilla({ seed: 3 });
    const x = data(64, 784, 5);
    let afterFirstEpoch: Float32Array | undefined;
    const history = await model.fit(x, x, {
      epochs: 10,
      batchSize: 32,
      seed: 1,
      onEpochEnd: (epoch) => {
        if (epoch === 0) afterFirstEpoch = flatWeights(model);
      },
      // Nothing beats epoch 0 by 1e9: patience 1 stops after epoch 1.
      callbacks: [earlyStopping({ monitor: 'loss', minDelta: 1e9, patience: 1, restoreBestWeights: true })],
    });
    expect(history.loss).toHaveLength(2);
    expect(history.stopped).toBe(true);
    expect(firstDifference(flatWeights(model), afterFirstEpoch!)).toBe(-1);
    model.dispose();
  });

  it('watching valLoss without validation data, or a bad option, is a ValueError', async () => {
    const model = vanilla({ seed: 3 });
    const x = data(8, 784, 5);
    await expect(model.fit(x, x, { callbacks: [earlyStopping()] })).rejects.toThrow(
      /monitors 'valLoss', but this fit has no validation data/,
    );
    expect(() => earlyStopping({ monitor: 'accuracy' as never })).toThrow(ValueError);
    expect(() => earlyStopping({ patience: 1.5 })).toThrow(ValueError);
    expect(() => earlyStopping({ restoreBestWeight: true } as never)).toThrow(/restoreBestWeight/);
    await expect(model.fit(x, x, { callbacks: [{ onEpochEnd: 3 }] as never })).rejects.toThrow(ValueError);
    model.dispose();
  });
});

describe('reduceLROnPlateau (Keras semantics)', () => {
  it('multiplies the rate by factor after patience epochs without improvement, down to minLr', async () => {
    const plateau = [1, 1, 1, 1, 1, 1, 1];
    expect(await rates(reduceLROnPlateau({ patience: 2, factor: 0.5 }), plateau)).toEqual([
      0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.0125,
    ]);
    expect(await rates(reduceLROnPlateau({ patience: 1, factor: 0.1, minLr: 0.005 }), [1, 1, 1, 1])).toEqual([
      0.1, 0.01, 0.005, 0.005,
    ]);
    // Improvements of more than minDelta reset the count.
    expect(await rates(reduceLROnPlateau({ patience: 2, factor: 0.5 }), [1, 0.9, 0.8, 0.8, 0.8])).toEqual([
      0.1, 0.1, 0.1, 0.1, 0.05,
    ]);
    expect(await rates(reduceLROnPlateau({ patience: 1, factor: 0.5, minDelta: 0.2 }), [1, 0.9, 0.85])).toEqual([
      0.1, 0.05, 0.025,
    ]);
  });

  it('cooldown: the epochs right after a reduction do not count (the last of them already does, as in Keras)', async () => {
    expect(await rates(reduceLROnPlateau({ patience: 1, factor: 0.5, cooldown: 2 }), [1, 1, 1, 1, 1, 1])).toEqual([
      0.1, 0.05, 0.05, 0.025, 0.025, 0.0125,
    ]);
  });

  it('in fit: the rate drops and is saved with the model; Adam keeps its state', async () => {
    const model = vanilla({ seed: 6 });
    const x = data(64, 784, 9);
    await model.fit(x, x, {
      epochs: 3,
      batchSize: 32,
      seed: 1,
      // minDelta 1e9: no epoch counts as an improvement after the first.
      callbacks: [reduceLROnPlateau({ monitor: 'loss', patience: 1, factor: 0.5, minDelta: 1e9 })],
    });
    expect(model.compiled.optimizer.learningRate).toBeCloseTo(0.001 / 4, 12);
    const reloaded = Autoencoder.fromBytes(model.toBytes({ includeOptimizer: true }));
    expect(reloaded.compiled.optimizer.learningRate).toBeCloseTo(0.001 / 4, 12);
    reloaded.dispose();
    model.dispose();
    expect(() => reduceLROnPlateau({ factor: 1 })).toThrow(ValueError);
    expect(() => reduceLROnPlateau({ factor: 0 })).toThrow(ValueError);
  });
});

describe('modelCheckpoint (Keras semantics)', () => {
  it('saves every epoch, or only improvements with saveBestOnly', async () => {
    const every: number[] = [];
    await script(modelCheckpoint({ onSave: (b) => void every.push(b[0]) }) as never, [3, 2, 4, 1]);
    expect(every).toEqual([0, 1, 2, 3]);
    const best: number[] = [];
    await script(
      modelCheckpoint({ onSave: (b) => void best.push(b[0]), saveBestOnly: true }) as never,
      [3, 2, 4, 1, 1],
    );
    expect(best).toEqual([0, 1, 3]);
  });

  it('fills Keras placeholders in the path (epoch counted from 1)', () => {
    const logs = { loss: 0.123456, valLoss: 0.5 };
    expect(checkpointPath('m-{epoch}.wae', 0, logs)).toBe('m-1.wae');
    expect(checkpointPath('m-{epoch:02d}-{val_loss:.3f}.wae', 8, logs)).toBe('m-09-0.500.wae');
    expect(checkpointPath('{loss:.2f}', 0, logs)).toBe('0.12');
    expect(() => checkpointPath('{valLoss}', 0, { loss: 1 })).toThrow(/no 'valLoss'/);
  });

  it('writes resumable checkpoints in Node; needs exactly one of path and onSave', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wae-ckpt-'));
    try {
      const model = vanilla({ seed: 4 });
      const x = data(64, 784, 6);
      await model.fit(x, x, {
        epochs: 2,
        batchSize: 32,
        seed: 2,
        callbacks: [modelCheckpoint({ path: join(dir, 'ckpt-{epoch:02d}.wae') })],
      });
      expect((await readdir(dir)).sort()).toEqual(['ckpt-01.wae', 'ckpt-02.wae']);
      const last = new Uint8Array(await readFile(join(dir, 'ckpt-02.wae')));
      expect(firstDifference(last, model.toBytes({ includeOptimizer: true }))).toBe(-1);
      const resumed = Autoencoder.fromBytes(last);
      expect(firstDifference(resumed.toBytes({ includeOptimizer: true }), last)).toBe(-1);
      resumed.dispose();
      model.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    expect(() => modelCheckpoint({} as never)).toThrow(/exactly one of path/);
    expect(() => modelCheckpoint({ path: 'a', onSave: () => {} })).toThrow(/exactly one of path/);
  });
});
