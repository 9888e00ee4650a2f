/**
 * Keras layer and model configs <-> our LayerSpecs, independent of any file format: the
 * TensorFlow.js model.json (tfjs.ts) and a `.keras` file's config.json both carry these
 * `{ class_name, config }` objects. Reads what Keras 2, tf.keras, tfjs-layers and Keras 3
 * write (Keras 3: `batch_shape`, DTypePolicy objects, `module`/`registered_name`, and
 * `inbound_nodes` as `{ args: [__keras_tensor__] }` objects); writes Keras 2 style configs,
 * which both tfjs-layers and Keras read.
 *
 * What we cannot represent throws a ValueError naming the layer, its class and the option,
 * before anything is allocated. Options that only shape training — regularizers,
 * constraints, initializers, `trainable` — do not change what a model computes, so they are
 * accepted and dropped (a Keras user loading a model to run it expects that; `fit` then
 * trains without them). A layer with `use_bias: false` computes what ours computes with a
 * zero bias, so it loads with one (which `fit` then trains).
 */
import { CorruptDataError, ShapeError, ValueError } from '../errors.js';
import { ACTIVATIONS, PADDINGS, layers, type Activation, type LayerSpec, type Padding } from '../layers.js';
import { layerOutputShapes, layerWeightShapes } from '../shapes.js';
import { describeValue, isPlainObject } from '../validate.js';

/** The Keras classes we map, by our layer kind. */
export const KERAS_CLASS_NAMES = {
  dense: 'Dense',
  conv2d: 'Conv2D',
  maxPooling2d: 'MaxPooling2D',
  upSampling2d: 'UpSampling2D',
} as const satisfies Record<LayerSpec['kind'], string>;

/** Keras's default layer names (`dense`, `dense_1`, …) by our layer kind. */
const KERAS_BASE_NAMES: Record<LayerSpec['kind'], string> = {
  dense: 'dense',
  conv2d: 'conv2d',
  maxPooling2d: 'max_pooling2d',
  upSampling2d: 'up_sampling2d',
};

/** One layer read from a Keras config. */
export interface KerasLayer {
  /** The layer's name: its weights are `<name>/kernel` and `<name>/bias`. */
  readonly name: string;
  readonly className: string;
  readonly spec: LayerSpec;
  /** False for `use_bias: false`: the file has no bias for it, we load a zero one. */
  readonly useBias: boolean;
}

/** A straight chain of layers read from a Sequential or Functional model config. */
export interface KerasModel {
  /** The model's name (Keras 3 prefixes weight names with it: `sequential/dense/kernel`). */
  readonly name: string;
  /** Per-sample input shape, without the batch dimension. */
  readonly inputShape: number[];
  readonly layers: KerasLayer[];
}

type Config = Record<string, unknown>;

/** "layer 3 (Conv2D \"conv2d_1\")": how messages name a layer. */
function label(where: string, className: string, name: string | undefined): string {
  return name === undefined ? `${where} (${className})` : `${where} (${className} ${JSON.stringify(name)})`;
}

function unsupported(who: string, option: string, value: unknown, needed: string): ValueError {
  return new ValueError(
    `${who}: ${option} = ${describeValue(value)} is not supported; wasm-autoencoders needs ${needed}`,
  );
}

/** Keras 3 and SavedModel metadata may wrap tuples as `{ class_name: '__tuple__', items }`. */
function unwrapTuple(value: unknown): unknown {
  return isPlainObject(value) && value.class_name === '__tuple__' ? value.items : value;
}

/** A 2-D size (`3` or `[3, 3]`) as a pair of positive integers. */
function kerasPair(who: string, option: string, value: unknown): [number, number] {
  const v = unwrapTuple(value);
  const ok = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n > 0;
  if (ok(v)) return [v, v];
  if (Array.isArray(v) && v.length === 2 && ok(v[0]) && ok(v[1])) return [v[0], v[1]];
  throw new ValueError(`${who}: ${option} must be a positive integer or a pair of them, got ${describeValue(v)}`);
}

/** The option must be absent, null or all ones (strides, dilation_rate, groups). */
function requireOnes(who: string, option: string, value: unknown): void {
  const v = unwrapTuple(value);
  if (v === undefined || v === null || v === 1) return;
  if (Array.isArray(v) && v.length > 0 && v.every((x) => x === 1)) return;
  throw unsupported(who, option, v, `${option} 1`);
}

function kerasActivation(who: string, value: unknown): Activation {
  if (value === undefined || value === null) return 'linear';
  if (typeof value === 'string' && (ACTIVATIONS as readonly string[]).includes(value)) return value as Activation;
  throw unsupported(who, 'activation', value, `one of ${ACTIVATIONS.map((a) => JSON.stringify(a)).join(', ')}`);
}

function kerasPadding(who: string, value: unknown): Padding {
  if (value === undefined) return 'valid';
  if (typeof value === 'string' && (PADDINGS as readonly string[]).includes(value)) return value as Padding;
  throw unsupported(who, 'padding', value, '"same" or "valid"');
}

/** float32 as a string (Keras 2, tfjs) or a DTypePolicy object (Keras 3); we compute in float32 only. */
function requireFloat32(who: string, value: unknown): void {
  if (value === undefined || value === null || value === 'float32') return;
  if (isPlainObject(value)) {
    const inner = isPlainObject(value.config) ? value.config.name : undefined;
    if (inner === 'float32') return;
    throw unsupported(who, 'dtype', inner ?? value.class_name, 'the float32 dtype policy');
  }
  throw unsupported(who, 'dtype', value, 'float32');
}

/** Options every layer class shares: float32, channels last. */
function commonOptions(who: string, c: Config): void {
  requireFloat32(who, c.dtype);
  const df = c.data_format;
  if (df !== undefined && df !== null && df !== 'channels_last') {
    throw unsupported(who, 'data_format', df, '"channels_last"');
  }
}

function useBias(who: string, value: unknown): boolean {
  if (value === undefined) return true;
  if (typeof value !== 'boolean')
    throw new ValueError(`${who}: use_bias must be true or false, got ${describeValue(value)}`);
  return value;
}

/**
 * A Keras layer config as our spec. `className` is Keras's (`Dense`, `Conv2D`,
 * `MaxPooling2D`, `UpSampling2D`); `where` names the layer in messages (`layer 2`).
 * Throws a ValueError naming the class and the option for anything we cannot represent.
 */
export function layerSpecFromKeras(className: unknown, config: unknown, where = 'layer'): KerasLayer {
  if (typeof className !== 'string') {
    throw new ValueError(`${where}: class_name must be a string, got ${describeValue(className)}`);
  }
  if (!isPlainObject(config)) {
    throw new ValueError(`${where} (${className}): config must be an object, got ${describeValue(config)}`);
  }
  const name = typeof config.name === 'string' && config.name !== '' ? config.name : undefined;
  const who = label(where, className, name);
  const known = Object.values(KERAS_CLASS_NAMES) as string[];
  if (!known.includes(className)) {
    throw new ValueError(
      `${who}: the layer class ${className} is not supported; wasm-autoencoders reads ${known.join(', ')} and InputLayer`,
    );
  }
  // Weights are found by layer name; every Keras and tfjs config has one.
  if (name === undefined) throw new CorruptDataError(`${who}: config has no name`);
  commonOptions(who, config);
  let spec: LayerSpec;
  let bias = false;
  switch (className) {
    case 'Dense': {
      if (config.lora_rank) throw unsupported(who, 'lora_rank', config.lora_rank, 'no LoRA (lora_rank null)');
      spec = layers.dense(positive(who, 'units', config.units), {
        activation: kerasActivation(who, config.activation),
      });
      bias = useBias(who, config.use_bias);
      break;
    }
    case 'Conv2D': {
      requireOnes(who, 'strides', config.strides);
      requireOnes(who, 'dilation_rate', config.dilation_rate);
      requireOnes(who, 'groups', config.groups);
      if (config.lora_rank) throw unsupported(who, 'lora_rank', config.lora_rank, 'no LoRA (lora_rank null)');
      spec = layers.conv2d(
        positive(who, 'filters', config.filters),
        kerasPair(who, 'kernel_size', config.kernel_size),
        {
          activation: kerasActivation(who, config.activation),
          padding: kerasPadding(who, config.padding),
        },
      );
      bias = useBias(who, config.use_bias);
      break;
    }
    case 'MaxPooling2D': {
      const pool = kerasPair(who, 'pool_size', config.pool_size ?? 2);
      const strides =
        config.strides === undefined || config.strides === null ? pool : kerasPair(who, 'strides', config.strides);
      spec = layers.maxPooling2d(pool, { strides, padding: kerasPadding(who, config.padding) });
      break;
    }
    default: {
      const interpolation = config.interpolation;
      if (interpolation !== undefined && interpolation !== 'nearest') {
        throw unsupported(who, 'interpolation', interpolation, '"nearest"');
      }
      spec = layers.upSampling2d(kerasPair(who, 'size', config.size ?? 2));
    }
  }
  return { name, className, spec, useBias: bias };
}

function positive(who: string, option: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new ValueError(`${who}: ${option} must be a positive integer, got ${describeValue(value)}`);
  }
  return value;
}

/**
 * The per-sample input shape a Keras config declares: `batch_input_shape` (Keras 2, tfjs)
 * or `batch_shape` (Keras 3) with the batch dimension dropped, or `input_shape`. Undefined
 * when the config declares none. Every dimension must be fixed: our models are built for
 * one input size.
 */
export function kerasInputShape(config: Config, who: string): number[] | undefined {
  let shape: unknown;
  let option: string;
  if (config.batch_input_shape != null || config.batch_shape != null) {
    option = config.batch_input_shape != null ? 'batch_input_shape' : 'batch_shape';
    const batch = unwrapTuple(config[option]);
    if (!Array.isArray(batch) || batch.length < 2) {
      throw new ValueError(`${who}: ${option} must be [batch, ...dims], got ${describeValue(batch)}`);
    }
    shape = batch.slice(1);
  } else if (config.input_shape != null) {
    option = 'input_shape';
    shape = unwrapTuple(config.input_shape);
  } else {
    return undefined;
  }
  if (!Array.isArray(shape) || shape.some((d) => typeof d !== 'number' || !Number.isSafeInteger(d) || d <= 0)) {
    throw new ValueError(
      `${who}: ${option} must have fixed positive dimensions after the batch one (wasm-autoencoders builds a model for one input size), got ${describeValue(shape)}`,
    );
  }
  return shape as number[];
}

/** An InputLayer's per-sample shape; sparse and ragged inputs are refused. */
function inputLayerShape(config: unknown, where: string): number[] {
  if (!isPlainObject(config)) throw new ValueError(`${where} (InputLayer): config must be an object`);
  const who = label(where, 'InputLayer', typeof config.name === 'string' ? config.name : undefined);
  requireFloat32(who, config.dtype);
  if (config.sparse === true) throw unsupported(who, 'sparse', true, 'a dense input');
  if (config.ragged === true) throw unsupported(who, 'ragged', true, 'a dense input');
  const shape = kerasInputShape(config, who);
  if (!shape) throw new ValueError(`${who}: has neither batch_input_shape nor batch_shape`);
  return shape;
}

/** The name of the layer a Functional layer's single input comes from, in Keras 2 or Keras 3 form. */
function inboundName(entry: Config, who: string): string {
  const nodes = entry.inbound_nodes;
  const chain = `${who}: wasm-autoencoders reads Functional models that are a straight chain (each layer called once on the previous one's output)`;
  if (!Array.isArray(nodes) || nodes.length !== 1)
    throw new ValueError(`${chain}; it has ${Array.isArray(nodes) ? nodes.length : 'no'} inbound nodes`);
  const node = nodes[0];
  let history: unknown;
  if (Array.isArray(node)) {
    // Keras 2: [[name, nodeIndex, tensorIndex, kwargs]]
    if (node.length !== 1) throw new ValueError(`${chain}; it takes ${node.length} inputs`);
    history = node[0];
  } else if (isPlainObject(node) && Array.isArray(node.args)) {
    // Keras 3: { args: [{ class_name: '__keras_tensor__', config: { keras_history: [name, 0, 0] } }], kwargs }
    const args = node.args;
    if (args.length !== 1 || !isPlainObject(args[0]) || !isPlainObject(args[0].config)) {
      throw new ValueError(`${chain}; it takes ${args.length} arguments`);
    }
    history = args[0].config.keras_history;
  }
  if (!Array.isArray(history) || typeof history[0] !== 'string') {
    throw new CorruptDataError(`${who}: its inbound node is not in a form Keras writes: ${describeValue(node)}`);
  }
  return history[0];
}

/** Layer entries of a Functional config, in chain order from the input layer to the output. */
function functionalChain(config: Config, entries: Config[]): Config[] {
  const nameOf = (e: Config): string =>
    typeof e.name === 'string' ? e.name : isPlainObject(e.config) ? String(e.config.name) : '';
  const byName = new Map(entries.map((e) => [nameOf(e), e]));
  const ends = (key: string): string => {
    const list = config[key];
    const first = Array.isArray(list) && list.length === 1 ? list[0] : undefined;
    if (!Array.isArray(first) || typeof first[0] !== 'string') {
      throw new ValueError(
        `Functional model: wasm-autoencoders needs exactly one input and one output, got ${key} = ${describeValue(list)}`,
      );
    }
    return first[0];
  };
  const input = ends('input_layers');
  const chain: Config[] = [];
  const seen = new Set<string>();
  for (let at = ends('output_layers'); ;) {
    const entry = byName.get(at);
    if (!entry || seen.has(at))
      throw new CorruptDataError(`Functional model: layer ${JSON.stringify(at)} is missing or in a cycle`);
    seen.add(at);
    chain.unshift(entry);
    if (at === input) break;
    at = inboundName(entry, `layer ${JSON.stringify(at)} (${String(entry.class_name)})`);
  }
  if (chain.length !== entries.length) {
    const extra = entries.map(nameOf).filter((n) => !seen.has(n));
    throw new ValueError(
      `Functional model: wasm-autoencoders reads straight chains only; layers ${extra.join(', ')} are off the input-to-output path`,
    );
  }
  return chain;
}

/**
 * A Keras model config (`{ class_name: 'Sequential' | 'Functional' | 'Model', config }`, or
 * the converter's `{ model_config: … }` wrapper) as a chain of our layers and its input
 * shape. Throws a ValueError for what we cannot represent, CorruptDataError for what no
 * Keras writes.
 */
export function kerasModelFromConfig(topology: unknown): KerasModel {
  let t = topology;
  if (isPlainObject(t) && isPlainObject(t.model_config)) t = t.model_config;
  if (!isPlainObject(t) || typeof t.class_name !== 'string') {
    throw new CorruptDataError(`a Keras model config must be { class_name, config }, got ${describeValue(t)}`);
  }
  const cls = t.class_name;
  if (cls !== 'Sequential' && cls !== 'Functional' && cls !== 'Model') {
    throw new ValueError(
      `the model class ${cls} is not supported; wasm-autoencoders reads Sequential models and Functional ones that are a straight chain`,
    );
  }
  // Keras 2.2 wrote a Sequential's config as the bare list of layers.
  const config: Config = Array.isArray(t.config) ? { layers: t.config } : isPlainObject(t.config) ? t.config : {};
  if (!Array.isArray(config.layers) || config.layers.length === 0) {
    throw new CorruptDataError(`the ${cls} model config has no layers list`);
  }
  const entries = config.layers.map((e, i) => {
    if (!isPlainObject(e))
      throw new CorruptDataError(`layer ${i} of the model config is ${describeValue(e)}, not { class_name, config }`);
    return e;
  });
  const chain = cls === 'Sequential' ? entries : functionalChain(config, entries);
  let inputShape: number[] | undefined;
  const out: KerasLayer[] = [];
  chain.forEach((entry, i) => {
    const where = `layer ${i}`;
    if (entry.class_name === 'InputLayer') {
      if (i !== 0) throw new ValueError(`${where}: an InputLayer after the first layer is not supported`);
      inputShape = inputLayerShape(entry.config, where);
      return;
    }
    const layer = layerSpecFromKeras(entry.class_name, entry.config, where);
    // Keras 2 and tfjs put the input shape on a Sequential's first layer.
    if (out.length === 0 && inputShape === undefined) inputShape = kerasInputShape(entry.config as Config, where);
    out.push(layer);
  });
  if (inputShape === undefined && config.build_input_shape != null) {
    inputShape = kerasInputShape(
      { batch_input_shape: config.build_input_shape },
      `the ${cls} model's build_input_shape`,
    );
  }
  if (inputShape === undefined) {
    throw new ValueError(
      `the ${cls} model declares no input shape (no InputLayer, batch_input_shape or build_input_shape)`,
    );
  }
  if (out.length < 2) {
    throw new ValueError(
      `the model has ${out.length} layer(s) besides its input; an autoencoder needs at least 2 (an encoder and a decoder)`,
    );
  }
  const names = new Set<string>();
  for (const l of out) {
    if (names.has(l.name)) throw new CorruptDataError(`two layers are named ${JSON.stringify(l.name)}`);
    names.add(l.name);
  }
  return { name: typeof config.name === 'string' ? config.name : '', inputShape, layers: out };
}

/**
 * Each layer's per-sample output shape, as Keras (and our Wasm model) compute it: the SDK's
 * own shape inference (ts/shapes.ts), which refuses an impossible model before anything is
 * allocated.
 */
export const kerasOutputShapes = layerOutputShapes;

/**
 * Where to split a model with no marked bottleneck: after the layer with the smallest
 * output (the first of equals), leaving at least one layer for the decoder.
 */
export function bottleneckEncoderLength(outputShapes: readonly number[][]): number {
  if (outputShapes.length < 2)
    throw new ValueError(`an autoencoder needs at least 2 layers, got ${outputShapes.length}`);
  const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
  let best = 0;
  for (let i = 1; i < outputShapes.length - 1; i++) if (size(outputShapes[i]) < size(outputShapes[best])) best = i;
  return best + 1;
}

/**
 * A layer's weights as Keras stores them, in Keras order: `kernel` `[in, out]` (Dense) or
 * `[kh, kw, in, out]` (Conv2D), then `bias` `[out]` — the layouts of our getWeights().
 */
export const kerasWeightShapes = layerWeightShapes;

/** Keras's default names for a model's layers: `dense`, `dense_1`, `conv2d`, `max_pooling2d`, … */
export function kerasLayerNames(specs: readonly LayerSpec[]): string[] {
  const counts = new Map<string, number>();
  return specs.map((s) => {
    const base = KERAS_BASE_NAMES[s.kind];
    const n = counts.get(base) ?? 0;
    counts.set(base, n + 1);
    return n === 0 ? base : `${base}_${n}`;
  });
}

/**
 * Our spec as a Keras 2 style layer entry, `{ class_name, config }`, with the options Keras
 * writes (as tfjs-layers' `model.save()` writes them). `batchInputShape` (`[null, ...dims]`)
 * goes on a Sequential's first layer.
 */
export function kerasLayerConfig(
  spec: LayerSpec,
  name: string,
  opts: { batchInputShape?: (number | null)[] } = {},
): { class_name: string; config: Config } {
  if (typeof name !== 'string' || name === '')
    throw new ValueError(`a Keras layer name must be a non-empty string, got ${describeValue(name)}`);
  const s = spec;
  const base: Config = { name, trainable: true, dtype: 'float32' };
  if (opts.batchInputShape) base.batch_input_shape = opts.batchInputShape.slice();
  const weightOptions = {
    use_bias: true,
    kernel_initializer: { class_name: 'GlorotUniform', config: { seed: null } },
    bias_initializer: { class_name: 'Zeros', config: {} },
    kernel_regularizer: null,
    bias_regularizer: null,
    activity_regularizer: null,
    kernel_constraint: null,
    bias_constraint: null,
  };
  switch (s.kind) {
    case 'dense':
      return { class_name: 'Dense', config: { ...base, units: s.units, activation: s.activation, ...weightOptions } };
    case 'conv2d':
      return {
        class_name: 'Conv2D',
        config: {
          ...base,
          filters: s.filters,
          kernel_size: [...s.kernelSize],
          strides: [1, 1],
          padding: s.padding,
          data_format: 'channels_last',
          dilation_rate: [1, 1],
          activation: s.activation,
          ...weightOptions,
        },
      };
    case 'maxPooling2d':
      return {
        class_name: 'MaxPooling2D',
        config: {
          ...base,
          pool_size: [...s.pool],
          padding: s.padding,
          strides: [...s.strides],
          data_format: 'channels_last',
        },
      };
    case 'upSampling2d':
      return {
        class_name: 'UpSampling2D',
        config: { ...base, size: [...s.size], data_format: 'channels_last', interpolation: 'nearest' },
      };
    default:
      throw new ValueError(`not a layer spec: ${describeValue(spec)}`);
  }
}
