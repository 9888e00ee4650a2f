// Checkpoints in Chromium: 2 epochs + toBytes({ includeOptimizer }) + fromBytes + 2 more
// (initialEpoch) equal 4 epochs in one go, byte for byte, as in Node (test/training-trust.test.ts).
import { beforeAll, describe, expect, it } from 'vitest';
import { Autoencoder, DivergenceError, init, tensor, vanilla } from '../../ts/index.js';
import { firstDifference } from '../support/assertions.js';

beforeAll(() => init({ threads: 1 }));

describe('checkpoints in the browser', () => {
  it('resume bit for bit', async () => {
    const x = tensor(
      new Float32Array(96 * 784).map((_, i) => ((i * 2654435761) % 997) / 997),
      [96, 784],
    );
    const opts = { batchSize: 32, seed: 9, validationSplit: 0.25, inputNoise: { std: 0.1 } };
    const straight = vanilla({ seed: 2 });
    await straight.fit(x, x, { ...opts, epochs: 4 });
    const first = vanilla({ seed: 2 });
    await first.fit(x, x, { ...opts, epochs: 2 });
    const resumed = Autoencoder.fromBytes(first.toBytes({ includeOptimizer: true }));
    await resumed.fit(x, x, { ...opts, epochs: 4, initialEpoch: 2 });
    const a = resumed.toBytes({ includeOptimizer: true });
    const b = straight.toBytes({ includeOptimizer: true });
    expect(firstDifference(a, b)).toBe(-1);
    for (const m of [straight, first, resumed]) m.dispose();
  });

  it('divergence is a DivergenceError', async () => {
    const model = vanilla({ seed: 2 });
    const huge = tensor(new Float32Array(2 * 784).fill(3e38), [2, 784]);
    await expect(model.fit(huge, huge, { batchSize: 2 })).rejects.toBeInstanceOf(DivergenceError);
    model.dispose();
  });
});
