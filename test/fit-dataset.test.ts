// fitDataset: training from batches that arrive one at a time (TensorFlow.js's name). The
// same batches give the same weights as fit without shuffling; async and sync iterables;
// batchesPerEpoch continues one iterator across epochs; bad batches are typed errors.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ShapeError,
  ValueError,
  earlyStopping,
  init,
  tensor,
  vanilla,
  type DatasetBatch,
  type Tensor,
} from '../ts/index.js';
import { firstDifference } from './support/assertions.js';

beforeAll(() => init({ threads: 1 }));

function data(n: number, seed: number): Tensor {
  let s = seed;
  return tensor(
    new Float32Array(n * 784).map(() => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32),
    [n, 784],
  );
}

/** `x` in batches of `size`, as views, from an async generator restarted each epoch. */
function batches(x: Tensor, size: number): AsyncIterable<DatasetBatch> {
  return {
    async *[Symbol.asyncIterator]() {
      for (let start = 0; start < x.shape[0]; start += size) {
        const end = Math.min(start + size, x.shape[0]);
        yield { xs: tensor(x.data.subarray(start * 784, end * 784), [end - start, 784]) };
      }
    },
  };
}

describe('fitDataset', () => {
  it('equals fit without shuffling on the same batches, noise and validation included', async () => {
    const x = data(100, 1);
    const v = data(20, 2);
    const opts = { epochs: 3, seed: 5, inputNoise: { std: 0.1 }, validationData: [v, v] as [Tensor, Tensor] };
    const a = vanilla({ seed: 1 });
    const ha = await a.fit(x, x, { ...opts, batchSize: 32, shuffle: false });
    const b = vanilla({ seed: 1 });
    const hb = await b.fitDataset(batches(x, 32), opts);
    expect(hb).toEqual(ha);
    expect(firstDifference(b.toBytes({ includeOptimizer: true }), a.toBytes({ includeOptimizer: true }))).toBe(-1);
    a.dispose();
    b.dispose();
  });

  it('takes sync iterables and separate targets; batchesPerEpoch continues across epochs', async () => {
    const x = data(64, 3);
    const y = data(64, 4);
    const list: DatasetBatch[] = [0, 1, 2, 3].map((k) => ({
      xs: tensor(x.data.subarray(k * 16 * 784, (k + 1) * 16 * 784), [16, 784]),
      ys: tensor(y.data.subarray(k * 16 * 784, (k + 1) * 16 * 784), [16, 784]),
    }));
    const model = vanilla({ seed: 2 });
    let batchesSeen = 0;
    const h = await model.fitDataset(list, { epochs: 2, onBatchEnd: () => void batchesSeen++ });
    expect(h.loss).toHaveLength(2);
    expect(batchesSeen).toBe(8);
    // 3 batches an epoch from one iterator over 4: epoch 2 takes the 4th, then starts over.
    const seen: number[] = [];
    let calls = 0;
    const counting: Iterable<DatasetBatch> = {
      [Symbol.iterator]() {
        calls++;
        return list.map((b, i) => ({ ...b, i }))[Symbol.iterator]();
      },
    };
    await model.fitDataset(counting, { epochs: 2, batchesPerEpoch: 3, onBatchEnd: (b) => void seen.push(b) });
    expect(seen).toEqual([0, 1, 2, 0]);
    expect(calls).toBe(2);
    model.dispose();
  });

  it('stops on signal and earlyStopping like fit', async () => {
    const x = data(64, 5);
    const model = vanilla({ seed: 3 });
    const h = await model.fitDataset(batches(x, 16), {
      epochs: 10,
      callbacks: [earlyStopping({ monitor: 'loss', minDelta: 1e9, patience: 1 })],
    });
    expect(h.loss).toHaveLength(2);
    expect(h.stopped).toBe(true);
    const controller = new AbortController();
    const h2 = await model.fitDataset(batches(x, 16), {
      epochs: 5,
      signal: controller.signal,
      onBatchEnd: (b) => (b === 1 ? controller.abort() : undefined),
    });
    expect(h2.stopped).toBe(true);
    expect(h2.loss).toHaveLength(0);
    model.dispose();
  });

  it('bad datasets and batches are typed errors naming the epoch and batch', async () => {
    const model = vanilla({ seed: 4 });
    await expect(model.fitDataset(42 as never)).rejects.toThrow(/iterable of \{ xs, ys \} batches/);
    await expect(model.fitDataset([], { epochs: 1 })).rejects.toThrow(/no batches in epoch 1/);
    const wrong = [{ xs: tensor(new Float32Array(10 * 100), [10, 100]) }];
    await expect(model.fitDataset(wrong)).rejects.toThrow(ShapeError);
    await expect(model.fitDataset(wrong)).rejects.toThrow(/epoch 1, batch 1\.xs/);
    await expect(model.fitDataset([{ ys: 1 }] as never)).rejects.toThrow(ValueError);
    await expect(model.fitDataset([], { batchSize: 3 } as never)).rejects.toThrow(/batchSize/);
    model.dispose();
  });
});
