// Out of memory is an error, not a crash: a model or a batch the WebAssembly module cannot
// hold is refused before anything is allocated (a failed allocation inside Wasm would trap
// and leave the module unusable), and the process and the module go on working. Large
// inputs to predict/encode/evaluate go to Wasm in slices, so its memory stays bounded.
import { beforeAll, describe, expect, it } from 'vitest';
import { OutOfMemoryError, convolutional, init, layers, sequential, tensor, vanilla } from '../ts/index.js';
import { wasmMemoryBytes } from '../ts/wasm.js';
import { firstDifference } from './support/assertions.js';

beforeAll(() => init({ threads: 1 }));

describe('out of memory', () => {
  it('a model with more parameters than the module can hold is refused, saying how much it needs', async () => {
    // 784 × 2,000,000 weights: 1.6 G parameters, 25 GB with gradients and Adam's moments.
    const tooBig = () =>
      sequential([layers.dense(2_000_000), layers.dense(1)], { inputShape: [784], encoderLength: 1, seed: 1 });
    expect(tooBig).toThrow(OutOfMemoryError);
    expect(tooBig).toThrow(
      /the model has 1572000001 parameters: .* more than the 4 GiB a WebAssembly module can address/,
    );
    // The module is still fine.
    const model = vanilla({ seed: 1 });
    const x = tensor(new Float32Array(64 * 784).fill(0.5), [64, 784]);
    expect((await model.fit(x, x, { batchSize: 32 })).loss[0]).toBeGreaterThan(0);
    model.dispose();
  });

  it('a batch whose activations pass the address space is refused; the model trains on with a smaller one', async () => {
    // 300,001 floats of activations per sample: 4,096 samples need about 9.8 GB.
    const model = sequential([layers.dense(300_000), layers.dense(1)], { inputShape: [1], encoderLength: 1, seed: 1 });
    const started = performance.now();
    const x = tensor(new Float32Array(4096).fill(0.5), [4096, 1]);
    const before = model.toBytes({ includeOptimizer: true });
    const memoryBefore = wasmMemoryBytes();
    await expect(model.fit(x, x, { batchSize: 4096 })).rejects.toThrow(OutOfMemoryError);
    await expect(model.fit(x, x, { batchSize: 4096 })).rejects.toThrow(/activations of a batch of 4096 samples need/);
    expect(performance.now() - started).toBeLessThan(5000); // refused up front, not after trying
    // Inference runs 256 samples at a time: that fits.
    expect(model.predict(tensor(x.data.subarray(0, 300), [300, 1])).shape).toEqual([300, 1]);
    expect(firstDifference(model.toBytes({ includeOptimizer: true }), before)).toBe(-1);
    expect(wasmMemoryBytes() - memoryBefore).toBeLessThan(2 ** 30);
    const small = tensor(new Float32Array(8).fill(0.5), [8, 1]);
    expect(Number.isFinite((await model.fit(small, small, { batchSize: 8 })).loss[0])).toBe(true);
    model.dispose();
  });

  it('predict, encode and evaluate on many samples go in slices, with the results of one pass', () => {
    const model = convolutional({ seed: 3 });
    const n = 6000; // more than one slice (2,560 samples of 784 + 784 floats)
    const x = tensor(
      new Float32Array(n * 784).map((_, i) => ((i * 2654435761) % 251) / 251),
      [n, 28, 28, 1],
    );
    const whole = model.predict(x);
    const block = 1000;
    for (let start = 0; start < n; start += block) {
      const part = model.predict(tensor(x.data.subarray(start * 784, (start + block) * 784), [block, 28, 28, 1]));
      expect(firstDifference(whole.data.subarray(start * 784, (start + block) * 784), part.data)).toBe(-1);
    }
    expect(model.encode(x).shape).toEqual([n, 4, 4, 8]);
    const mse = whole.data.reduce((s, v, i) => s + (v - x.data[i]) ** 2, 0) / whole.data.length;
    expect(model.evaluate(x, x)).toBeCloseTo(mse, 6);
    model.dispose();
  });
});
