// Weights in Keras order and layout, and the model file format.
import { beforeAll, describe, expect, it } from 'vitest';
import { Autoencoder, CorruptDataError, convolutional, init, tensor, vanilla } from '../ts/index.js';

beforeAll(() => init());

describe('weights', () => {
  it('come in Keras order and layouts', () => {
    const conv = convolutional({ seed: 1 });
    const shapes = conv.getWeights().map((w) => w.shape);
    expect(shapes.slice(0, 4)).toEqual([[3, 3, 1, 32], [32], [3, 3, 32, 8], [8]]);
    expect(shapes.at(-2)).toEqual([3, 3, 32, 1]);
    // Keras: Glorot-uniform kernels within ±√(6 / (fan_in + fan_out)), zero biases.
    const limit = Math.sqrt(6 / (9 * 1 + 9 * 32));
    const k = conv.getWeights()[0].data;
    expect(Math.max(...k.map(Math.abs))).toBeLessThanOrEqual(limit);
    expect(Math.max(...k.map(Math.abs))).toBeGreaterThan(0.9 * limit);
    expect(conv.getWeights()[1].data.every((v) => v === 0)).toBe(true);
    conv.dispose();
  });

  it('round-trip through setWeights', () => {
    const a = vanilla({ seed: 1 });
    const b = vanilla({ seed: 2 });
    b.setWeights(a.getWeights());
    b.getWeights().forEach((w, i) => expect(w.data).toEqual(a.getWeights()[i].data));
    a.dispose();
    b.dispose();
  });
});

describe('toBytes / fromBytes', () => {
  it('round-trips bit for bit, with architecture and compile settings', async () => {
    const model = convolutional({ seed: 5 });
    model.compile({ optimizer: { name: 'adam', learningRate: 0.01 } });
    const x = tensor(
      new Float32Array(8 * 784).map((_, i) => (i % 7) / 7),
      [8, 28, 28, 1],
    );
    await model.fit(x, x, { batchSize: 4, seed: 1 });
    const bytes = model.toBytes();
    const loaded = Autoencoder.fromBytes(bytes);
    expect(loaded.layers).toEqual(model.layers);
    expect(loaded.codeShape).toEqual([4, 4, 8]);
    expect(loaded.compiled).toEqual(model.compiled);
    loaded.getWeights().forEach((w, i) => {
      const original = model.getWeights()[i].data;
      expect(new Uint32Array(w.data.buffer)).toEqual(new Uint32Array(original.slice().buffer));
    });
    expect(loaded.predict(x).data).toEqual(model.predict(x).data);
    expect(loaded.toBytes()).toEqual(bytes);
    model.dispose();
    loaded.dispose();
  });

  it('refuses corrupt, truncated or foreign bytes with CorruptDataError', () => {
    const model = vanilla({ seed: 1, encodingSize: 8 });
    const bytes = model.toBytes();
    const flipped = bytes.slice();
    flipped[bytes.length >> 1] ^= 0x10;
    const cases: [string, Uint8Array, RegExp][] = [
      ['flipped bit', flipped, /checksum/],
      ['truncated', bytes.subarray(0, bytes.length - 9), /checksum|bytes/],
      ['empty', new Uint8Array(0), /bytes/],
      ['foreign', new TextEncoder().encode('PK\u0003\u0004 not a model file at all'), /WAAE/],
    ];
    for (const [, data, message] of cases) {
      expect(() => Autoencoder.fromBytes(data)).toThrow(CorruptDataError);
      expect(() => Autoencoder.fromBytes(data)).toThrow(message);
    }
    model.dispose();
  });
});
