// ByteTensor: images held as bytes (a quarter of float32's memory), scaled as each batch or
// slice goes into Wasm. Training and inference on bytes equal, bit for bit, training and
// inference on the float32 tensor the same bytes make.
import { beforeAll, describe, expect, it } from 'vitest';
import { ShapeError, ValueError, byteTensor, convolutional, init, tensor, vanilla } from '../ts/index.js';
import { firstDifference } from './support/assertions.js';

beforeAll(() => init({ threads: 1 }));

function bytes(n: number, seed: number): Uint8Array {
  let s = seed;
  return new Uint8Array(n * 784).map(() => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) >>> 24);
}

/** The float32 tensor the bytes stand for, made the way loadMnist makes MNIST's (value / 255). */
const asFloats = (b: Uint8Array, shape: number[]) =>
  tensor(
    Float32Array.from(b, (v) => v / 255),
    shape,
  );

describe('ByteTensor', () => {
  it('fit on bytes = fit on their float32 values (shuffle, noise, validation split), inputs as targets or not', async () => {
    const raw = bytes(96, 1);
    const opts = { epochs: 2, batchSize: 16, seed: 3, validationSplit: 0.25, inputNoise: { std: 0.1 } };
    const a = vanilla({ seed: 1 });
    const ha = await a.fit(asFloats(raw, [96, 784]), asFloats(raw, [96, 784]), opts);
    const b = vanilla({ seed: 1 });
    const hb = await b.fit(byteTensor(raw, [96, 784]), byteTensor(raw, [96, 784]), opts);
    expect(hb).toEqual(ha);
    expect(firstDifference(a.toBytes({ includeOptimizer: true }), b.toBytes({ includeOptimizer: true }))).toBe(-1);
    // One ByteTensor as both (no noise: the inputs are staged once as the targets).
    const x = byteTensor(raw, [96, 784]);
    const c = vanilla({ seed: 2 });
    const d = vanilla({ seed: 2 });
    await c.fit(x, x, { epochs: 1, batchSize: 32, seed: 1 });
    await d.fit(asFloats(raw, [96, 784]), x, { epochs: 1, batchSize: 32, seed: 1 });
    expect(firstDifference(c.toBytes(), d.toBytes())).toBe(-1);
    for (const m of [a, b, c, d]) m.dispose();
  });

  it('predict, encode and evaluate on bytes = on floats, across slices', () => {
    const n = 3000; // more than one 2,560-sample slice
    const raw = bytes(n, 7);
    const model = convolutional({ seed: 4 });
    const x = byteTensor(raw, [n, 28, 28, 1]);
    const f = asFloats(raw, [n, 28, 28, 1]);
    expect(firstDifference(model.predict(x).data, model.predict(f).data)).toBe(-1);
    expect(firstDifference(model.encode(x).data, model.encode(f).data)).toBe(-1);
    expect(model.evaluate(x, x)).toBe(model.evaluate(f, f));
    model.dispose();
  });

  it('holds a quarter of the memory, and checks what it is given', () => {
    const t = byteTensor(new Uint8Array(60_000 * 784), [60_000, 28, 28, 1]);
    expect(t.data.byteLength).toBe(47_040_000); // float32 would be 188,160,000
    expect(t.scale).toBe(1 / 255);
    expect(byteTensor(new Uint8Array(4), [4], { scale: 2 }).scale).toBe(2);
    expect(() => byteTensor(new Uint8Array(5), [2, 2])).toThrow(ShapeError);
    expect(() => byteTensor(new Float32Array(4) as never, [4])).toThrow(ValueError);
    expect(() => byteTensor(new Uint8Array(4), [4], { scale: -1 })).toThrow(ValueError);
    expect(() => byteTensor(new Uint8Array(4), [4], { scale: NaN })).toThrow(ValueError);
    const model = vanilla({ seed: 1 });
    expect(() => model.predict(byteTensor(new Uint8Array(28 * 28), [1, 28, 28]))).toThrow(ShapeError);
    model.dispose();
  });
});
