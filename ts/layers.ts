/**
 * Layer specifications, Keras-shaped: `layers.dense(64, { activation: 'relu' })`,
 * `layers.conv2d(32, 3, { activation: 'relu', padding: 'same' })`, ... Defaults are Keras's:
 * no activation ('linear'), 'valid' padding, pooling strides equal to the pool size.
 */
import {
  ValueError,
  assertOneOf,
  assertPositiveInteger,
  checkOptions,
  describeValue,
  isPlainObject,
} from './errors.js';

export type Activation = 'linear' | 'relu' | 'sigmoid' | 'tanh';
export type Padding = 'same' | 'valid';

export type LayerSpec =
  | { readonly kind: 'dense'; readonly units: number; readonly activation: Activation }
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

export const ACTIVATIONS: readonly Activation[] = ['linear', 'relu', 'sigmoid', 'tanh'];
export const PADDINGS: readonly Padding[] = ['same', 'valid'];

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
    const o = checkOptions<{ padding: Padding; strides: number | [number, number] }>('maxPooling2d options', opts, [
      'padding',
      'strides',
    ]);
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
    return Object.freeze({ kind: 'upSampling2d', size: pair('upSampling2d size', size) });
  },
};

const LAYER_CODE_LEN = 6;

/** Re-validates a spec that came from outside `layers.*` (a saved model, a worker message). */
export function normalizeLayerSpec(spec: unknown, where: string): LayerSpec {
  if (!isPlainObject(spec))
    throw new ValueError(`${where} must be a layer from layers.*(), got ${describeValue(spec)}`);
  const s = spec as Record<string, unknown>;
  switch (s.kind) {
    case 'dense':
      return layers.dense(s.units as number, { activation: s.activation as Activation });
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

/** The flat integer encoding the Wasm boundary decodes (crate/src/boundary.rs). */
export function encodeLayers(specs: readonly LayerSpec[]): Uint32Array {
  const codes = new Uint32Array(specs.length * LAYER_CODE_LEN);
  const act = (a: Activation) => ACTIVATIONS.indexOf(a);
  const pad = (p: Padding) => PADDINGS.indexOf(p);
  specs.forEach((s, i) => {
    const row =
      s.kind === 'dense'
        ? [0, s.units, act(s.activation)]
        : s.kind === 'conv2d'
          ? [1, s.filters, s.kernelSize[0], s.kernelSize[1], pad(s.padding), act(s.activation)]
          : s.kind === 'maxPooling2d'
            ? [2, s.pool[0], s.pool[1], s.strides[0], s.strides[1], pad(s.padding)]
            : [3, s.size[0], s.size[1]];
    codes.set(row, i * LAYER_CODE_LEN);
  });
  return codes;
}
