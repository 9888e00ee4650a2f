// The layer codes of ts/layers.ts against what the Wasm side makes of them
// (`decode_layers` in crate/wasm/src/codes.rs): every layer kind, activation and padding goes
// through encodeLayers into a model, and the model must report the layer, shapes and outputs
// that were asked for. A code out of step with the Rust decoder fails here.
import { beforeAll, describe, expect, it } from 'vitest';
import { init, layers, sequential, tensor, type Activation, type LayerSpec, type Padding } from '../ts/index.js';
import {
  ACTIVATIONS,
  ACTIVATION_CODES,
  LAYER_CODES,
  LAYER_CODE_LEN,
  PADDINGS,
  PADDING_CODES,
  encodeLayers,
} from '../ts/layers.js';
import { requireWasm } from '../ts/wasm.js';
import { expectClose } from './support/assertions.js';

beforeAll(() => init());

/** What the Wasm model reports about the one layer it was built with. */
function wasmLayer(
  inputShape: number[],
  spec: LayerSpec,
): { kind: string; outputShape: number[]; paramShapes: number[][] } {
  const Handle = requireWasm('the boundary-codes test');
  const handle = new Handle(Uint32Array.from(inputShape), encodeLayers([spec]), 1);
  try {
    expect(handle.layerCount()).toBe(1);
    const flat = Array.from(handle.layerParamShapes(0));
    const paramShapes: number[][] = [];
    for (let p = 0; p < flat.length; p += flat[p] + 1) paramShapes.push(flat.slice(p + 1, p + 1 + flat[p]));
    return {
      kind: handle.layerKind(0),
      outputShape: Array.from(handle.layerOutputShape(0)),
      paramShapes,
    };
  } finally {
    handle.free();
  }
}

describe('the code tables', () => {
  it('give every kind, activation and padding its own code', () => {
    const distinct = (codes: number[]) => expect(new Set(codes).size).toBe(codes.length);
    distinct(Object.values(LAYER_CODES).map((l) => l.code));
    distinct(Object.values(ACTIVATION_CODES));
    distinct(Object.values(PADDING_CODES));
    expect(ACTIVATIONS).toEqual(Object.keys(ACTIVATION_CODES));
    expect(PADDINGS).toEqual(Object.keys(PADDING_CODES));
  });

  it('lay each row out as codes.rs documents it, zero-padded to LAYER_CODE_LEN', () => {
    const rows = encodeLayers([
      layers.dense(7, { activation: 'tanh' }),
      layers.conv2d(5, [3, 2], { padding: 'valid', activation: 'sigmoid' }),
      layers.maxPooling2d([2, 3], { strides: [1, 2], padding: 'same' }),
      layers.upSampling2d([2, 3]),
    ]);
    expect(LAYER_CODE_LEN).toBe(6);
    expect(Array.from(rows)).toEqual([
      ...[0, 7, 3, 0, 0, 0], // dense [0, units, act]
      ...[1, 5, 3, 2, 1, 2], // conv2d [1, filters, kh, kw, padding, act]
      ...[2, 2, 3, 1, 2, 0], // max-pooling [2, ph, pw, sh, sw, padding]
      ...[3, 2, 3, 0, 0, 0], // up-sampling [3, sh, sw]
    ]);
  });
});

describe('each layer kind round-trips through the Wasm model', () => {
  // Sizes that differ in every dimension, so a swapped field changes a shape.
  it.each<[LayerSpec['kind'], LayerSpec, number[], { kind: string; outputShape: number[]; paramShapes: number[][] }]>([
    ['dense', layers.dense(5), [7], { kind: 'Dense', outputShape: [5], paramShapes: [[7, 5], [5]] }],
    [
      'conv2d',
      layers.conv2d(5, [3, 2], { padding: 'valid' }),
      [6, 7, 2],
      {
        kind: 'Conv2D',
        outputShape: [4, 6, 5],
        paramShapes: [[3, 2, 2, 5], [5]],
      },
    ],
    [
      'maxPooling2d',
      layers.maxPooling2d([2, 3], { strides: [1, 2] }),
      [6, 7, 2],
      { kind: 'MaxPooling2D', outputShape: [5, 3, 2], paramShapes: [] },
    ],
    [
      'upSampling2d',
      layers.upSampling2d([2, 3]),
      [6, 7, 2],
      { kind: 'UpSampling2D', outputShape: [12, 21, 2], paramShapes: [] },
    ],
  ])('%s', (kind, spec, inputShape, expected) => {
    expect(spec.kind).toBe(kind);
    expect(wasmLayer(inputShape, spec)).toEqual(expected);
  });

  it('covers every kind in the table', () => {
    expect(Object.keys(LAYER_CODES).sort()).toEqual(['conv2d', 'dense', 'maxPooling2d', 'upSampling2d']);
  });
});

describe('each padding reaches the layer', () => {
  it.each<[Padding, number[], number[]]>([
    // 6×7 input: a 3×2 kernel, and a 2×3 pool with strides [1, 2].
    ['same', [6, 7, 4], [6, 4, 1]],
    ['valid', [4, 6, 4], [5, 3, 1]],
  ])('%s', (padding, convOut, poolOut) => {
    expect(wasmLayer([6, 7, 1], layers.conv2d(4, [3, 2], { padding })).outputShape).toEqual(convOut);
    expect(wasmLayer([6, 7, 1], layers.maxPooling2d([2, 3], { strides: [1, 2], padding })).outputShape).toEqual(
      poolOut,
    );
    // Through the SDK, too: the code shape is the first layer's output.
    const model = sequential([layers.conv2d(4, [3, 2], { padding }), layers.upSampling2d(2)], {
      inputShape: [6, 7, 1],
      encoderLength: 1,
      seed: 1,
    });
    expect(model.codeShape).toEqual(convOut);
    model.dispose();
  });

  it('covers every padding in the table', () => {
    expect([...PADDINGS].sort()).toEqual(['same', 'valid']);
  });
});

/** The activations by their definitions, in float64. */
const DEFINITIONS: Record<Activation, (z: number) => number> = {
  linear: (z) => z,
  relu: (z) => Math.max(0, z),
  sigmoid: (z) => 1 / (1 + Math.exp(-z)),
  tanh: (z) => Math.tanh(z),
};

// Pre-activations below and above zero, exact in float32: each activation maps them differently.
const Z = [-1.5, -0.25, 0.75, 2];

describe('each activation is the one asked for', () => {
  it('the four give four different outputs on these pre-activations (so no mix-up can pass)', () => {
    const outputs = ACTIVATIONS.map((a) => JSON.stringify(Z.map(DEFINITIONS[a])));
    expect(new Set(outputs).size).toBe(ACTIVATIONS.length);
  });

  it.each(ACTIVATIONS.map((a) => [a] as const))('Dense, %s', (activation) => {
    // x = [1, -2]; kernel [2, 4] (row-major, [input][unit]) and bias give the pre-activations Z.
    const model = sequential([layers.dense(4, { activation }), layers.dense(2)], {
      inputShape: [2],
      encoderLength: 1,
      seed: 1,
    });
    const kernel = [-1, 0, 1, 1, 0.5, 0.125, 0, -0.5];
    const bias = [0.5, 0, -0.25, 0];
    const z = [0, 1, 2, 3].map((u) => 1 * kernel[u] - 2 * kernel[4 + u] + bias[u]);
    expect(z).toEqual(Z);
    const [, , k2, b2] = model.getWeights();
    model.setWeights([
      tensor(Float32Array.from(kernel), [2, 4]),
      tensor(Float32Array.from(bias), [4]),
      tensor(new Float32Array(k2.data.length).fill(1), [4, 2]),
      tensor(new Float32Array(b2.data.length), [2]),
    ]);
    const code = model.encode(tensor(Float32Array.from([1, -2]), [1, 2]));
    expectClose(code.data, Z.map(DEFINITIONS[activation]), 1e-6, 1e-6);
    model.dispose();
  });

  it.each(ACTIVATIONS.map((a) => [a] as const))('Conv2D, %s', (activation) => {
    // A 1×1 kernel of 2 and a bias of -0.5 on a 1×4 image: the pre-activations Z.
    const model = sequential([layers.conv2d(1, 1, { activation }), layers.conv2d(1, 1)], {
      inputShape: [1, 4, 1],
      encoderLength: 1,
      seed: 1,
    });
    const x = Z.map((z) => (z + 0.5) / 2);
    model.setWeights([
      tensor(Float32Array.from([2]), [1, 1, 1, 1]),
      tensor(Float32Array.from([-0.5]), [1]),
      tensor(Float32Array.from([1]), [1, 1, 1, 1]),
      tensor(Float32Array.from([0]), [1]),
    ]);
    const code = model.encode(tensor(Float32Array.from(x), [1, 1, 4, 1]));
    expectClose(code.data, Z.map(DEFINITIONS[activation]), 1e-6, 1e-6);
    model.dispose();
  });
});
