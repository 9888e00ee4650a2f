/**
 * Layer specifications, Keras-shaped: `layers.dense(64, { activation: 'relu' })`,
 * `layers.conv2d(32, 3, { activation: 'relu', padding: 'same' })`, ... Defaults are Keras's:
 * no activation ('linear'), 'valid' padding, pooling strides equal to the pool size.
 */
import { ValueError } from './errors.js';
import { assertOneOf, assertPositiveInteger, checkOptions, describeValue, isPlainObject } from './validate.js';

export type Activation = 'linear' | 'relu' | 'sigmoid' | 'tanh';
export type Padding = 'same' | 'valid';

export type LayerSpec =
  | {
      readonly kind: 'dense';
      readonly units: number;
      readonly activation: Activation;
    }
  | {
      readonly kind: 'conv2d';
      readonly filters: number;
      readonly kernelSize: readonly [number, number];
      readonly padding: Padding;
      readonly activation: Activation;
    }
  | {
      readonly kind: 'maxPooling2d';
      readonly pool: readonly [number, number];
      readonly strides: readonly [number, number];
      readonly padding: Padding;
    }
  | { readonly kind: 'upSampling2d'; readonly size: readonly [number, number] };

// The integer codes the Wasm boundary decodes (`decode_layers` and the tables in
// crate/wasm/src/codes.rs, in the same order): the only place the TypeScript side spells them.
// test/boundary-codes.test.ts builds a model of every kind, activation and padding and checks
// what the Wasm model made of it, so a code out of step with Rust fails there.

/** Activation name -> code (Rust: `activation()`). Key order is the order messages list them in. */
export const ACTIVATION_CODES = {
  linear: 0,
  relu: 1,
  sigmoid: 2,
  tanh: 3,
} as const satisfies Record<Activation, number>;

/** Padding name -> code (Rust: `padding()`). */
export const PADDING_CODES = { same: 0, valid: 1 } as const satisfies Record<Padding, number>;

export const ACTIVATIONS = Object.keys(ACTIVATION_CODES) as readonly Activation[];
export const PADDINGS = Object.keys(PADDING_CODES) as readonly Padding[];

type SpecOf<K extends LayerSpec['kind']> = Extract<LayerSpec, { kind: K }>;

/** Layer kind -> its code, and the numbers that follow the code in its row, in the order Rust reads them. */
export const LAYER_CODES: {
  readonly [K in LayerSpec['kind']]: {
    readonly code: number;
    readonly fields: (spec: SpecOf<K>) => number[];
  };
} = {
  dense: { code: 0, fields: (s) => [s.units, ACTIVATION_CODES[s.activation]] },
  conv2d: {
    code: 1,
    fields: (s) => [
      s.filters,
      s.kernelSize[0],
      s.kernelSize[1],
      PADDING_CODES[s.padding],
      ACTIVATION_CODES[s.activation],
    ],
  },
  maxPooling2d: {
    code: 2,
    fields: (s) => [s.pool[0], s.pool[1], s.strides[0], s.strides[1], PADDING_CODES[s.padding]],
  },
  upSampling2d: { code: 3, fields: (s) => [s.size[0], s.size[1]] },
};

/** Numbers per layer in the encoding, zero-padded (Rust: `LAYER_CODE_LEN`). */
export const LAYER_CODE_LEN = 6;

/** Keras accepts `3` or `[3, 3]` for a 2-D size. */
function pair(name: string, value: unknown): readonly [number, number] {
  if (typeof value === 'number') {
    assertPositiveInteger(name, value);
    return Object.freeze([value, value] as const);
  }
  if (Array.isArray(value) && value.length === 2) {
    return Object.freeze([
      assertPositiveInteger(`${name}[0]`, value[0]),
      assertPositiveInteger(`${name}[1]`, value[1]),
    ] as const);
  }
  throw new ValueError(`${name} must be a positive integer or a pair [height, width], got ${describeValue(value)}`);
}

function activation(name: string, value: unknown): Activation {
  return value === undefined ? 'linear' : assertOneOf(name, value, ACTIVATIONS);
}

function padding(name: string, value: unknown): Padding {
  return value === undefined ? 'valid' : assertOneOf(name, value, PADDINGS);
}

export const layers = {
  /** Dense(units): y = activation(x·W + b). Input must be flat `[features]`. */
  dense(units: number, opts?: { activation?: Activation }): LayerSpec {
    const o = checkOptions<{ activation: Activation }>('dense options', opts, ['activation']);
    return Object.freeze({
      kind: 'dense',
      units: assertPositiveInteger('dense units', units),
      activation: activation('dense activation', o.activation),
    });
  },

  /** Conv2D(filters, kernelSize), stride 1, on `[height, width, channels]`. */
  conv2d(
    filters: number,
    kernelSize: number | [number, number],
    opts?: { activation?: Activation; padding?: Padding },
  ): LayerSpec {
    const o = checkOptions<{ activation: Activation; padding: Padding }>('conv2d options', opts, [
      'activation',
      'padding',
    ]);
    return Object.freeze({
      kind: 'conv2d',
      filters: assertPositiveInteger('conv2d filters', filters),
      kernelSize: pair('conv2d kernelSize', kernelSize),
      padding: padding('conv2d padding', o.padding),
      activation: activation('conv2d activation', o.activation),
    });
  },

  /** MaxPooling2D(pool), strides default to the pool size; 'same' pads at the bottom/right like Keras. */
  maxPooling2d(
    pool: number | [number, number] = 2,
    opts?: { padding?: Padding; strides?: number | [number, number] },
  ): LayerSpec {
    const o = checkOptions<{
      padding: Padding;
      strides: number | [number, number];
    }>('maxPooling2d options', opts, ['padding', 'strides']);
    const p = pair('maxPooling2d pool', pool);
    return Object.freeze({
      kind: 'maxPooling2d',
      pool: p,
      strides: o.strides === undefined ? p : pair('maxPooling2d strides', o.strides),
      padding: padding('maxPooling2d padding', o.padding),
    });
  },

  /** UpSampling2D(size), nearest neighbour. */
  upSampling2d(size: number | [number, number] = 2): LayerSpec {
    return Object.freeze({
      kind: 'upSampling2d',
      size: pair('upSampling2d size', size),
    });
  },
};

/** Re-validates a spec that came from outside `layers.*` (a saved model, a worker message). */
export function normalizeLayerSpec(spec: unknown, where: string): LayerSpec {
  if (!isPlainObject(spec))
    throw new ValueError(`${where} must be a layer from layers.*(), got ${describeValue(spec)}`);
  const s = spec as Record<string, unknown>;
  switch (s.kind) {
    case 'dense':
      return layers.dense(s.units as number, {
        activation: s.activation as Activation,
      });
    case 'conv2d':
      return layers.conv2d(s.filters as number, s.kernelSize as [number, number], {
        activation: s.activation as Activation,
        padding: s.padding as Padding,
      });
    case 'maxPooling2d':
      return layers.maxPooling2d(s.pool as [number, number], {
        padding: s.padding as Padding,
        strides: s.strides as [number, number],
      });
    case 'upSampling2d':
      return layers.upSampling2d(s.size as [number, number]);
    default:
      throw new ValueError(
        `${where} has an unknown kind ${describeValue(s.kind)}; expected "dense", "conv2d", "maxPooling2d" or "upSampling2d"`,
      );
  }
}

/** The flat integer encoding the Wasm boundary decodes: one row of {@link LAYER_CODE_LEN} per layer. */
export function encodeLayers(specs: readonly LayerSpec[]): Uint32Array {
  const codes = new Uint32Array(specs.length * LAYER_CODE_LEN);
  specs.forEach((s, i) => {
    // The mapped type ties each kind to its own spec; indexing by a union loses that link.
    const layout = LAYER_CODES[s.kind] as {
      code: number;
      fields: (spec: LayerSpec) => number[];
    };
    codes.set([layout.code, ...layout.fields(s)], i * LAYER_CODE_LEN);
  });
  return codes;
}
