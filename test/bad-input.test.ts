// Every bad input gets a typed, readable error before any work, and leaves the model as it was.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  DisposedError,
  ShapeError,
  ValueError,
  convolutional,
  init,
  layers,
  sequential,
  tensor,
  vanilla,
} from '../ts/index.js';

beforeAll(() => init());

const images = (n: number) => tensor(new Float32Array(n * 784).fill(0.5), [n, 28, 28, 1]);
const flat = (n: number) => tensor(new Float32Array(n * 784).fill(0.5), [n, 784]);

describe('bad input', () => {
  it('wrong shapes name what was expected', () => {
    const model = vanilla({ seed: 1 });
    expect(() => model.predict(images(2))).toThrow(ShapeError);
    expect(() => model.predict(images(2))).toThrow(/\[N, 784\].*tensor\(/);
    expect(() => model.decode(flat(2))).toThrow(/\[N, 64\]/);
    expect(() => model.evaluate(flat(2), flat(3))).toThrow(ShapeError);
    expect(() => convolutional({ seed: 1 }).predict(flat(1))).toThrow(/\[N, 28, 28, 1\]/);
    model.dispose();
  });

  it('NaN, Infinity, empty data and wrong lengths', () => {
    expect(() => tensor([1, NaN], [2])).toThrow(ValueError);
    expect(() => tensor([1, 2, 3], [2])).toThrow(ShapeError);
    expect(() => tensor([], [0])).toThrow();
    const model = vanilla({ seed: 1 });
    const x = flat(2);
    const bad = { shape: [2, 784], data: x.data.slice() };
    bad.data[5] = Infinity;
    expect(() => model.predict(bad)).toThrow(/finite.*\[5\]/);
    expect(() => model.predict({ shape: [2, 784], data: new Float32Array(10) })).toThrow(ShapeError);
    model.dispose();
  });

  it('fit options: epochs, batch size, split, unknown keys', async () => {
    const model = vanilla({ seed: 1 });
    const before = model.getWeights();
    const x = flat(4);
    await expect(model.fit(x, x, { epochs: 2.5 })).rejects.toThrow(/epochs must be a positive integer, got 2.5/);
    await expect(model.fit(x, x, { epochs: 0 })).rejects.toThrow(ValueError);
    await expect(model.fit(x, x, { batchSize: -1 })).rejects.toThrow(/batchSize/);
    await expect(model.fit(x, x, { validationSplit: 1 })).rejects.toThrow(/validationSplit/);
    await expect(model.fit(x, x, { epoch: 2 } as never)).rejects.toThrow(/did you mean "epochs"/);
    await expect(model.fit(x, flat(3))).rejects.toThrow(ShapeError);
    model.getWeights().forEach((w, i) => expect(w.data).toEqual(before[i].data));
    model.dispose();
  });

  it('weights of the wrong count or shape', () => {
    const model = vanilla({ seed: 1 });
    const w = model.getWeights();
    expect(() => model.setWeights(w.slice(1))).toThrow(/4 tensors/);
    const swapped = [w[0], w[1], w[2], tensor(new Float32Array(10), [10])];
    expect(() => model.setWeights(swapped)).toThrow(/weights\[3\] must have shape \[784\]/);
    const withNaN = w.map((t) => tensor(t.data.slice(), t.shape as number[]));
    withNaN[2].data[0] = NaN;
    expect(() => model.setWeights(withNaN)).toThrow(ValueError);
    model.getWeights().forEach((t, i) => expect(t.data).toEqual(w[i].data));
    model.dispose();
  });

  it('layer and model options', () => {
    expect(() => layers.dense(0)).toThrow(/units must be a positive integer/);
    expect(() => layers.conv2d(8, 3, { padding: 'Same' as never })).toThrow(/did you mean "same"/);
    expect(() => layers.dense(4, { activation: 'softmax' as never })).toThrow(ValueError);
    expect(() => sequential([layers.dense(4)], { inputShape: [28, 28, 1], encoderLength: 1 })).toThrow(ValueError);
    expect(() => sequential([layers.dense(4), layers.dense(4)], { inputShape: [28, 28, 1], encoderLength: 1 })).toThrow(
      /flatten/,
    );
    expect(() => sequential([layers.conv2d(1, 5)], { inputShape: [3, 3, 1], encoderLength: 1 })).toThrow(ValueError);
    expect(() =>
      sequential([layers.conv2d(1, 5), layers.conv2d(1, 1)], { inputShape: [3, 3, 1], encoderLength: 1 }),
    ).toThrow(/does not fit/);
    expect(() => vanilla({ encodingSize: -3 })).toThrow(ValueError);
    expect(() => vanilla({ seed: 1.5 })).toThrow(ValueError);
    const model = vanilla({ seed: 1 });
    expect(() => model.compile({ optimizer: 'rmsprop' as never })).toThrow(ValueError);
    expect(() => model.compile({ optimizer: { name: 'adam', learningRate: -1 } })).toThrow(/learningRate/);
    model.dispose();
  });

  it('use after dispose', async () => {
    const model = vanilla({ seed: 1 });
    model.dispose();
    model.dispose();
    expect(() => model.predict(flat(1))).toThrow(DisposedError);
    expect(() => model.getWeights()).toThrow(DisposedError);
    expect(() => model.toBytes()).toThrow(DisposedError);
    await expect(model.fit(flat(1), flat(1))).rejects.toThrow(DisposedError);
  });

  it('a second fit while one runs is refused, and the model stays usable', async () => {
    const model = vanilla({ seed: 1 });
    const x = flat(64);
    const running = model.fit(x, x, { batchSize: 8 });
    await expect(model.fit(x, x)).rejects.toThrow(/already|while fit/);
    expect(() => model.setWeights(model.getWeights())).toThrow(/while fit/);
    await running;
    expect(model.predict(flat(1)).shape).toEqual([1, 784]);
    model.dispose();
  });
});
