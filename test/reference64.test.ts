import { describe, it, expect } from 'vitest';
import {
  ReferenceModel,
  type LayerSpec,
  dense,
  conv2d,
  maxPool2d,
  upSampling2d,
  relu,
  sigmoid,
  tanh,
  linear,
  activateScalar,
  mseLoss,
  mseLossGrad,
  convOut,
  poolOut,
  randomArray,
} from './reference64.js';

const prod = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** Asserts analytic ≈ numeric within an absolute + relative tolerance. */
function expectClose(analytic: number, numeric: number, what: string) {
  const tol = 1e-7 + 1e-5 * Math.max(Math.abs(analytic), Math.abs(numeric));
  if (!(Math.abs(analytic - numeric) <= tol)) {
    throw new Error(`${what}: analytic ${analytic} vs finite difference ${numeric}`);
  }
}

/**
 * Checks every parameter gradient and every input gradient of `model` on a
 * random batch against central finite differences of the model's own loss.
 */
function checkGradients(inputShape: number[], layers: LayerSpec[], n: number, seed: number) {
  const model = new ReferenceModel(inputShape, layers, undefined, seed);
  // Random, non-zero biases so the check does not rely on zero initialisation.
  model.params.forEach((p, k) => {
    if (model.weightShapes[k].length === 1) p.set(randomArray(p.length, seed + 100 + k, -0.3, 0.3));
  });
  const x = randomArray(n * prod(inputShape), seed + 1, -1, 1);
  const y = randomArray(n * prod(model.outputShape), seed + 2, 0, 1);
  const { loss, grads, inputGrad } = model.gradients(x, y, n);
  expect(loss).toBeCloseTo(model.loss(x, y, n), 14);
  const h = 1e-5;
  let checked = 0;
  model.params.forEach((p, k) => {
    for (let i = 0; i < p.length; i++) {
      const orig = p[i];
      p[i] = orig + h;
      const lp = model.loss(x, y, n);
      p[i] = orig - h;
      const lm = model.loss(x, y, n);
      p[i] = orig;
      expectClose(grads[k][i], (lp - lm) / (2 * h), `param ${k}[${i}]`);
      checked++;
    }
  });
  for (let i = 0; i < x.length; i++) {
    const orig = x[i];
    x[i] = orig + h;
    const lp = model.loss(x, y, n);
    x[i] = orig - h;
    const lm = model.loss(x, y, n);
    x[i] = orig;
    expectClose(inputGrad[i], (lp - lm) / (2 * h), `input[${i}]`);
    checked++;
  }
  // The check must not be vacuous.
  const norm =
    grads.reduce((s, g) => s + g.reduce((a, b) => a + b * b, 0), 0) + inputGrad.reduce((a, b) => a + b * b, 0);
  expect(norm).toBeGreaterThan(1e-8);
  return checked;
}

describe('reference64: hand-computed forward values', () => {
  it('dense', () => {
    // x = [1, 2]; W = [[1, 2], [3, 4]]; b = [0.5, -1]
    expect(Array.from(dense([1, 2], 1, 2, [1, 2, 3, 4], [0.5, -1], 2))).toEqual([7.5, 9]);
    // two rows
    expect(Array.from(dense([1, 0, 0, 1], 2, 2, [1, 2, 3, 4], [0, 0], 2))).toEqual([1, 2, 3, 4]);
  });

  it("conv2d 'valid'", () => {
    // 3×3 image 1..9, 2×2 kernel [[1, 0], [0, -1]], bias 1 → x[y][x] − x[y+1][x+1] + 1 = −3.
    const x = [1, 2, 3, 4, 5, 6, 7, 8, 9];
    expect(Array.from(conv2d(x, 1, 3, 3, 1, [1, 0, 0, -1], [1], 2, 2, 1, 'valid'))).toEqual([-3, -3, -3, -3]);
  });

  it("conv2d 'same' with an odd kernel counts neighbours", () => {
    const ones = new Array(9).fill(1);
    expect(Array.from(conv2d(ones, 1, 3, 3, 1, new Array(9).fill(1), [0], 3, 3, 1, 'same'))).toEqual([
      4, 6, 4, 6, 9, 6, 4, 6, 4,
    ]);
  });

  it("conv2d 'same' with an even kernel pads after (Keras)", () => {
    // 1×3 image [1, 2, 3], 1×2 kernel [10, 1]: pad 0 before, 1 after.
    expect(Array.from(conv2d([1, 2, 3], 1, 1, 3, 1, [10, 1], [0], 1, 2, 1, 'same'))).toEqual([12, 23, 30]);
    // 4×4 kernel on 4 columns: pad 1 before, 2 after → y[0] = x0·k1 + x1·k2 + x2·k3.
    expect(Array.from(conv2d([1, 2, 3, 4], 1, 1, 4, 1, [1000, 100, 10, 1], [0], 1, 4, 1, 'same'))).toEqual([
      123, 1234, 2340, 3400,
    ]);
  });

  it('conv2d mixes channels with kernel layout [kh, kw, cin, cout]', () => {
    // 1×1 kernel, cin 2, cout 2: K[ci][co] = [[1, 2], [3, 4]]; pixel (x0, x1) = (1, 10)
    expect(Array.from(conv2d([1, 10], 1, 1, 1, 2, [1, 2, 3, 4], [0, 0.5], 1, 1, 2, 'valid'))).toEqual([31, 42.5]);
  });

  it("maxPool2d 'same' 7×7 → 4×4 pads only at the bottom/right and ignores padding", () => {
    const inc = Array.from({ length: 49 }, (_, i) => i);
    const y = maxPool2d(inc, 1, 7, 7, 1, [2, 2], 'same');
    expect(y.length).toBe(16);
    const expected: number[] = [];
    for (let oy = 0; oy < 4; oy++)
      for (let ox = 0; ox < 4; ox++) expected.push(Math.min(2 * oy + 1, 6) * 7 + Math.min(2 * ox + 1, 6));
    expect(Array.from(y)).toEqual(expected);
    // All-negative input: a padded zero must never win.
    const neg = inc.map((v) => -v - 1);
    const yn = maxPool2d(neg, 1, 7, 7, 1, 2, 'same');
    const expectedNeg: number[] = [];
    for (let oy = 0; oy < 4; oy++) for (let ox = 0; ox < 4; ox++) expectedNeg.push(-(2 * oy * 7 + 2 * ox) - 1);
    expect(Array.from(yn)).toEqual(expectedNeg);
  });

  it("maxPool2d 'valid' drops the remainder; channels are independent", () => {
    const inc = Array.from({ length: 49 }, (_, i) => i);
    expect(Array.from(maxPool2d(inc, 1, 7, 7, 1, 2, 'valid'))).toEqual([8, 10, 12, 22, 24, 26, 36, 38, 40]);
    // 2×2, 2 channels: channel 0 = [1, 5, 3, 2], channel 1 = [-1, -5, -3, -2]
    expect(Array.from(maxPool2d([1, -1, 5, -5, 3, -3, 2, -2], 1, 2, 2, 2, 2, 'valid'))).toEqual([5, -1]);
  });

  it('upSampling2d repeats values', () => {
    // 1×2 image [a, b] with size [2, 3] → 2×6
    expect(Array.from(upSampling2d([1, 2], 1, 1, 2, 1, [2, 3]))).toEqual([1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2]);
    expect(Array.from(upSampling2d([1, 2], 1, 1, 1, 2, 2))).toEqual([1, 2, 1, 2, 1, 2, 1, 2]);
  });

  it('output sizes (Keras)', () => {
    expect(convOut(28, 3, 'same')).toEqual({ out: 28, before: 1 });
    expect(convOut(28, 3, 'valid')).toEqual({ out: 26, before: 0 });
    expect(poolOut(7, 2, 'same')).toEqual({ out: 4, before: 0 });
    expect(poolOut(28, 2, 'same')).toEqual({ out: 14, before: 0 });
    expect(poolOut(7, 2, 'valid')).toEqual({ out: 3, before: 0 });
    expect(poolOut(7, 3, 'same')).toEqual({ out: 3, before: 1 });
  });

  it('activations', () => {
    const z = new Float64Array([-2, 0, 3]);
    expect(Array.from(relu(z))).toEqual([0, 0, 3]);
    expect(Array.from(linear(z))).toEqual([-2, 0, 3]);
    expect(sigmoid(z)[1]).toBe(0.5);
    expect(sigmoid(z)[2]).toBeCloseTo(1 / (1 + Math.exp(-3)), 15);
    expect(tanh(z)[0]).toBeCloseTo(Math.tanh(-2), 15);
    expect(activateScalar(-1000, 'sigmoid')).toBe(0);
    expect(activateScalar(1000, 'sigmoid')).toBe(1);
    expect(Number.isNaN(activateScalar(-800, 'sigmoid'))).toBe(false);
  });

  it('mseLoss and its gradient', () => {
    expect(mseLoss([1, 2], [0, 0])).toBe(2.5);
    expect(mseLoss([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1])).toBe(0.25);
    expect(Array.from(mseLossGrad([1, 2], [0, 0]))).toEqual([1, 2]);
  });
});

describe('reference64: model forward matches the layer functions', () => {
  it('composes layers in order with Keras weight order', () => {
    const W1 = [0.1, -0.2, 0.3, 0.4, 0.5, -0.6];
    const b1 = [0.01, -0.02];
    const W2 = [1, -1];
    const b2 = [0.3];
    const model = new ReferenceModel(
      [3],
      [
        { kind: 'dense', units: 2, activation: 'relu' },
        { kind: 'dense', units: 1, activation: 'sigmoid' },
      ],
      [W1, b1, W2, b2],
    );
    const x = [1, 2, 3, -1, 0.5, 2];
    const h = relu(dense(x, 2, 3, W1, b1, 2));
    const expected = sigmoid(dense(h, 2, 2, W2, b2, 1));
    expect(Array.from(model.forward(x, 2))).toEqual(Array.from(expected));
    expect(model.outputShape).toEqual([1]);
    expect(model.weightShapes).toEqual([[3, 2], [2], [2, 1], [1]]);
  });

  it('computes shapes of a conv autoencoder (28 → 14 → 7 → 4 ... )', () => {
    const model = new ReferenceModel(
      [28, 28, 1],
      [
        { kind: 'conv2d', filters: 4, kernelSize: [3, 3], padding: 'same', activation: 'relu' },
        { kind: 'maxPooling2d', pool: [2, 2], padding: 'same' },
        { kind: 'conv2d', filters: 2, kernelSize: [3, 3], padding: 'same', activation: 'relu' },
        { kind: 'maxPooling2d', pool: [2, 2], padding: 'same' },
        { kind: 'maxPooling2d', pool: [2, 2], padding: 'same' },
      ],
    );
    expect(model.layers.map((l) => l.outShape)).toEqual([
      [28, 28, 4],
      [14, 14, 4],
      [14, 14, 2],
      [7, 7, 2],
      [4, 4, 2],
    ]);
    expect(model.weightShapes).toEqual([[3, 3, 1, 4], [4], [3, 3, 4, 2], [2]]);
  });

  it('Glorot-uniform initialisation: kernels within the limit, zero biases, deterministic', () => {
    const a = new ReferenceModel([784], [{ kind: 'dense', units: 32 }], undefined, 5);
    const b = new ReferenceModel([784], [{ kind: 'dense', units: 32 }], undefined, 5);
    const limit = Math.sqrt(6 / (784 + 32));
    expect(a.params[0].every((v) => Math.abs(v) <= limit)).toBe(true);
    expect(a.params[1].every((v) => v === 0)).toBe(true);
    expect(Array.from(a.params[0])).toEqual(Array.from(b.params[0]));
  });

  it('validates weight counts and sizes', () => {
    expect(() => new ReferenceModel([2], [{ kind: 'dense', units: 1 }], [[1, 2]])).toThrow(/expected 2 weight arrays/);
    expect(() => new ReferenceModel([2], [{ kind: 'dense', units: 1 }], [[1], [0]])).toThrow(/expected 2/);
  });
});

describe('reference64: gradients vs central finite differences', () => {
  it('dense layers (tanh, sigmoid, relu, linear)', () => {
    checkGradients(
      [3],
      [
        { kind: 'dense', units: 4, activation: 'tanh' },
        { kind: 'dense', units: 3, activation: 'relu' },
        { kind: 'dense', units: 3, activation: 'linear' },
        { kind: 'dense', units: 2, activation: 'sigmoid' },
      ],
      2,
      1,
    );
  });

  it('dense on the last axis of a rank-3 input', () => {
    checkGradients([2, 2, 3], [{ kind: 'dense', units: 2, activation: 'tanh' }], 2, 2);
  });

  it("conv2d 'valid' and 'same' (odd and even kernels, several channels)", () => {
    checkGradients(
      [5, 5, 2],
      [
        { kind: 'conv2d', filters: 3, kernelSize: [3, 3], padding: 'valid', activation: 'tanh' },
        { kind: 'conv2d', filters: 2, kernelSize: [2, 2], padding: 'same', activation: 'sigmoid' },
        { kind: 'conv2d', filters: 2, kernelSize: [3, 2], padding: 'same', activation: 'linear' },
      ],
      2,
      3,
    );
  });

  it("maxPooling2d 'same' (7×7 → 4×4) and 'valid'", () => {
    checkGradients([7, 7, 2], [{ kind: 'maxPooling2d', pool: [2, 2], padding: 'same' }], 2, 4);
    checkGradients([7, 7, 2], [{ kind: 'maxPooling2d', pool: [2, 2], padding: 'valid' }], 2, 5);
    checkGradients(
      [5, 5, 1],
      [
        { kind: 'conv2d', filters: 2, kernelSize: [3, 3], padding: 'same', activation: 'tanh' },
        { kind: 'maxPooling2d', pool: [2, 3], padding: 'same' },
        { kind: 'flatten' },
        { kind: 'dense', units: 3, activation: 'sigmoid' },
      ],
      2,
      6,
    );
  });

  it('upSampling2d', () => {
    checkGradients(
      [2, 3, 2],
      [
        { kind: 'conv2d', filters: 2, kernelSize: [1, 1], padding: 'valid', activation: 'tanh' },
        { kind: 'upSampling2d', size: [2, 3] },
      ],
      2,
      7,
    );
  });

  it('a small convolutional autoencoder (relu, pooling, upsampling, sigmoid)', () => {
    checkGradients(
      [8, 8, 1],
      [
        { kind: 'conv2d', filters: 3, kernelSize: [3, 3], padding: 'same', activation: 'relu' },
        { kind: 'maxPooling2d', pool: [2, 2], padding: 'same' },
        { kind: 'conv2d', filters: 2, kernelSize: [3, 3], padding: 'same', activation: 'relu' },
        { kind: 'upSampling2d', size: [2, 2] },
        { kind: 'conv2d', filters: 1, kernelSize: [3, 3], padding: 'same', activation: 'sigmoid' },
      ],
      2,
      8,
    );
  });

  it('a dense autoencoder with flatten/reshape', () => {
    checkGradients(
      [4, 4, 1],
      [
        { kind: 'flatten' },
        { kind: 'dense', units: 5, activation: 'relu' },
        { kind: 'dense', units: 16, activation: 'sigmoid' },
        { kind: 'reshape', targetShape: [4, 4, 1] },
      ],
      3,
      9,
    );
  });
});

describe('reference64: Adam (Keras 3)', () => {
  it('first step matches a hand computation', () => {
    // Dense 1→1 linear, W = 0.5, b = 0; x = 2, y = 0 → pred 1, loss 1,
    // dL/dpred = 2, dW = 4, db = 2.
    const model = new ReferenceModel([1], [{ kind: 'dense', units: 1 }], [[0.5], [0]]);
    const adam = { lr: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 };
    const loss = model.trainStep([2], [0], 1, adam, 1);
    expect(loss).toBe(1);
    // m = 0.1·g, v = 0.001·g², alpha = 0.1·√0.001/0.1 = √0.001
    // step = √0.001 · 0.1g / (√0.001·|g| + ε) = 0.1·|g|√0.001 / (|g|√0.001 + ε) (sign of g)
    const step = (g: number) => (0.1 * Math.abs(g) * Math.sqrt(0.001)) / (Math.abs(g) * Math.sqrt(0.001) + 1e-7);
    expect(model.params[0][0]).toBeCloseTo(0.5 - step(4), 14);
    expect(model.params[1][0]).toBeCloseTo(0 - step(2), 14);
    expect(model.params[0][0]).toBeCloseTo(0.4, 5);
  });

  it('second step matches the formulas with bias correction', () => {
    const model = new ReferenceModel([1], [{ kind: 'dense', units: 1 }], [[0.5], [0]]);
    const adam = { lr: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 };
    model.trainStep([2], [0], 1, adam, 1);
    const w1 = model.params[0][0];
    const b1 = model.params[1][0];
    // Gradients at step 2: pred = 2·w1 + b1, dpred = 2·pred.
    const pred = 2 * w1 + b1;
    const gW = [4, 2 * pred * 2];
    const gB = [2, 2 * pred];
    const loss2 = model.trainStep([2], [0], 1, adam, 2);
    expect(loss2).toBeCloseTo(pred * pred, 14);
    const expectParam = (p0: number, g: number[]) => {
      const m = 0.1 * g[0] * 0.9 + 0.1 * g[1];
      const v = 0.001 * g[0] ** 2 * 0.999 + 0.001 * g[1] ** 2;
      const alpha = (0.01 * Math.sqrt(1 - 0.999 ** 2)) / (1 - 0.9 ** 2);
      const afterFirst = p0 - (0.01 * Math.sqrt(0.001) * 0.1 * g[0]) / (0.1 * (Math.sqrt(0.001 * g[0] ** 2) + 1e-7));
      return afterFirst - (alpha * m) / (Math.sqrt(v) + 1e-7);
    };
    expect(model.params[0][0]).toBeCloseTo(expectParam(0.5, gW), 13);
    expect(model.params[1][0]).toBeCloseTo(expectParam(0, gB), 13);
  });

  it('uses Keras defaults and reduces the loss of a tiny autoencoder', () => {
    const model = new ReferenceModel(
      [6],
      [
        { kind: 'dense', units: 3, activation: 'relu' },
        { kind: 'dense', units: 6, activation: 'sigmoid' },
      ],
      undefined,
      3,
    );
    const x = randomArray(4 * 6, 10);
    const first = model.trainStep(x, x, 4, { lr: 0.05 }, 1);
    let last = first;
    for (let t = 2; t <= 200; t++) last = model.trainStep(x, x, 4, { lr: 0.05 }, t);
    expect(last).toBeLessThan(first * 0.5);
    expect(() => model.trainStep(x, x, 4, {}, 0)).toThrow(/1-based/);
  });
});
