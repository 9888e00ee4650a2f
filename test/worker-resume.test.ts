// Checkpoints across threads: a run saved in a worker (remote.toBytes({ includeOptimizer }))
// and resumed on the main thread with initialEpoch, or the other way round, equals one
// uninterrupted run byte for byte; a diverging run in the worker rejects with
// DivergenceError and leaves the trainer usable. Against the build in dist/, as users get it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importBuiltSdk } from './support/dist.js';
import { firstDifference } from './support/assertions.js';

const sdk = await importBuiltSdk(['worker.js']);
type Trainer = Awaited<ReturnType<typeof sdk.spawnTrainer>>;
let trainer: Trainer;

const x = sdk.tensor(
  new Float32Array(128 * 784).map((_, i) => ((i * 2654435761) % 1000) / 1000),
  [128, 784],
);
const opts = { batchSize: 32, seed: 5, validationSplit: 0.25, inputNoise: { std: 0.1 } };

beforeAll(async () => {
  await sdk.init({ threads: 1 });
  trainer = await sdk.spawnTrainer({ threads: 1 });
});

afterAll(async () => {
  await trainer?.terminate();
});

describe('resume across the worker boundary', () => {
  it('2 epochs in the worker + checkpoint + 2 on the main thread = 4 on the main thread, and back', async () => {
    const straight = sdk.vanilla({ seed: 1 });
    await straight.fit(x, x, { ...opts, epochs: 4 });
    const expected = straight.toBytes({ includeOptimizer: true });
    straight.dispose();

    const remote = await trainer.create('vanilla', { seed: 1 });
    await remote.fit(x, x, { ...opts, epochs: 2 });
    const checkpoint = await remote.toBytes({ includeOptimizer: true });
    await remote.dispose();
    const local = sdk.Autoencoder.fromBytes(checkpoint);
    await local.fit(x, x, { ...opts, epochs: 4, initialEpoch: 2 });
    expect(firstDifference(local.toBytes({ includeOptimizer: true }), expected)).toBe(-1);

    const half = sdk.vanilla({ seed: 1 });
    await half.fit(x, x, { ...opts, epochs: 2 });
    const back = await trainer.fromBytes(half.toBytes({ includeOptimizer: true }));
    half.dispose();
    await back.fit(x, x, { ...opts, epochs: 4, initialEpoch: 2 });
    expect(firstDifference(await back.toBytes({ includeOptimizer: true }), expected)).toBe(-1);
    await back.dispose();
    local.dispose();
  });

  it('divergence in the worker rejects with DivergenceError; callbacks are refused with a reason', async () => {
    const remote = await trainer.create('vanilla', { seed: 1 });
    const huge = sdk.tensor(new Float32Array(4 * 784).fill(3e38), [4, 784]);
    const error = await remote.fit(huge, huge, { batchSize: 4 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(sdk.DivergenceError);
    expect((error as Error).message).toMatch(/epoch 1, batch 1/);
    await expect(remote.fit(x, x, { callbacks: [sdk.earlyStopping()] })).rejects.toThrow(/callbacks are not supported/);
    expect((await remote.fit(x, x, { batchSize: 64 })).loss).toHaveLength(1);
    await remote.dispose();
  });
});
