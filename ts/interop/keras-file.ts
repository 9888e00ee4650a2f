/**
 * Keras 3 `.keras` files, both ways: `importKeras(bytes)` builds an Autoencoder from one
 * (Sequential, or Functional as a straight chain, of Dense / Conv2D / MaxPooling2D /
 * UpSampling2D), and `exportKeras(model)` writes one that `keras.saving.load_model` opens,
 * predicts the same with, and can `fit`.
 *
 * Import checks everything it can before it allocates: the zip's entries, the config (every
 * unsupported class or option is a ValueError naming it, see keras-config.ts), the shapes,
 * and that the weights entry is at least as large as the weights the config asks for — so
 * the Wasm model we build is never larger than the file justifies.
 */
import { Autoencoder } from '../autoencoder.js';
import { CorruptDataError, ValueError } from '../errors.js';
import { requireWasm } from '../wasm.js';
import { checkOptions, describeValue, isPlainObject } from '../validate.js';
import { writeHdf5 } from './hdf5-write.js';
import { Hdf5File } from './hdf5-read.js';
import {
  CONFIG_ENTRY,
  METADATA_ENTRY,
  WEIGHTS_ENTRY,
  listArchive,
  readEntry,
  readJsonEntry,
  writeArchive,
} from './keras-archive.js';
import { compileFromKeras, kerasCompileConfig } from './keras-compile.js';
import {
  bottleneckEncoderLength,
  kerasLayerConfig,
  kerasLayerNames,
  kerasModelFromConfig,
  kerasOutputShapes,
} from './keras-config.js';
import { readWeights, storedWeightBytes, weightSlots, weightsTree } from './keras-weights.js';

export interface ImportKerasOptions {
  /**
   * How many layers form the encoder. Default: up to the layer named `bottleneck` (what
   * exportKeras names the code layer), else up to the layer with the smallest output.
   */
  encoderLength?: number;
}

/** The name exportKeras gives the encoder's last layer, and importKeras looks for. */
export const BOTTLENECK_LAYER_NAME = 'bottleneck';

/** Our Wasm model cannot hold more; larger weights entries are refused before inflating. */
const MAX_WEIGHTS_BYTES = 2 ** 30;

const KERAS_FORMAT_VERSION = '3.0.0';

/** Reads a Keras 3 `.keras` file (the bytes of the zip) into a compiled Autoencoder. */
export function importKeras(bytes: Uint8Array, opts?: ImportKerasOptions): Autoencoder {
  requireWasm('importKeras');
  const o = checkOptions<ImportKerasOptions>('importKeras options', opts, ['encoderLength']);
  if (!(bytes instanceof Uint8Array))
    throw new ValueError(`importKeras takes the file's bytes as a Uint8Array, got ${describeValue(bytes)}`);
  const entries = listArchive(bytes);
  const config = readJsonEntry(bytes, entries, CONFIG_ENTRY);
  const km = kerasModelFromConfig(withListedEndpoints(config));
  const specs = km.layers.map((l) => l.spec);
  const outputs = kerasOutputShapes(km.inputShape, specs);
  const encoderLength = chooseEncoderLength(
    o.encoderLength,
    km.layers.map((l) => l.name),
    outputs,
  );
  const slots = weightSlots(km.layers, [km.inputShape, ...outputs.slice(0, -1)]);

  const needed = storedWeightBytes(slots);
  const declared = entries.get(WEIGHTS_ENTRY)?.size ?? 0;
  if (entries.has(WEIGHTS_ENTRY) && declared < needed)
    throw new CorruptDataError(
      `${WEIGHTS_ENTRY} is ${declared} bytes, too small for the ${needed} bytes of weights its config describes`,
    );
  const h5 = new Hdf5File(readEntry(bytes, entries, WEIGHTS_ENTRY, MAX_WEIGHTS_BYTES));
  const weights = readWeights(h5, slots);

  const model = Autoencoder.create(specs, { inputShape: km.inputShape, encoderLength, seed: 0 });
  try {
    model.setWeights(weights);
    model.compile(compileFromKeras(isPlainObject(config) ? config.compile_config : undefined));
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}

/**
 * Keras 3 writes a Functional model with one input as `input_layers: ["name", 0, 0]`, not
 * as the list of such triples Keras 2 wrote (and keras-config.ts reads): wrap it.
 */
function withListedEndpoints(config: unknown): unknown {
  if (!isPlainObject(config) || !isPlainObject(config.config)) return config;
  const inner = { ...config.config };
  for (const key of ['input_layers', 'output_layers']) {
    const v = inner[key];
    if (Array.isArray(v) && typeof v[0] === 'string') inner[key] = [v];
  }
  return { ...config, config: inner };
}

function chooseEncoderLength(requested: unknown, names: string[], outputs: number[][]): number {
  const n = names.length;
  if (requested !== undefined) {
    if (typeof requested !== 'number' || !Number.isSafeInteger(requested) || requested < 1 || requested >= n)
      throw new ValueError(
        `importKeras encoderLength must be an integer from 1 to ${n - 1} (this model has ${n} layers), got ${describeValue(requested)}`,
      );
    return requested;
  }
  const marked = names.indexOf(BOTTLENECK_LAYER_NAME);
  if (marked >= 0 && marked < n - 1) return marked + 1;
  return bottleneckEncoderLength(outputs);
}

/** The model as a Keras 3 `.keras` file: a Sequential with an InputLayer, compiled like ours. */
export function exportKeras(model: Autoencoder): Uint8Array {
  if (!(model instanceof Autoencoder))
    throw new ValueError(`exportKeras takes an Autoencoder, got ${describeValue(model)}`);
  const weights = model.getWeights(); // throws DisposedError first
  const specs = model.layers;
  const names = kerasLayerNames(specs);
  names[model.encoderLength - 1] = BOTTLENECK_LAYER_NAME;
  const outputs = kerasOutputShapes(model.inputShape, specs);
  const inputs = [model.inputShape, ...outputs.slice(0, -1)];
  const batched = (shape: readonly number[]) => [null, ...shape];
  const dtype = { module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' }, registered_name: null };

  const layerEntries = specs.map((spec, i) => {
    const { class_name, config } = kerasLayerConfig(spec, names[i]);
    return {
      module: 'keras.layers',
      class_name,
      config: { ...config, dtype },
      registered_name: null,
      build_config: { input_shape: batched(inputs[i]) },
    };
  });
  const inputLayer = {
    module: 'keras.layers',
    class_name: 'InputLayer',
    config: { batch_shape: batched(model.inputShape), dtype: 'float32', sparse: false, name: 'input_layer' },
    registered_name: null,
  };
  const config = {
    module: 'keras',
    class_name: 'Sequential',
    config: {
      name: 'sequential',
      trainable: true,
      dtype,
      layers: [inputLayer, ...layerEntries],
      build_input_shape: batched(model.inputShape),
    },
    registered_name: null,
    build_config: { input_shape: batched(model.inputShape) },
    compile_config: kerasCompileConfig(model.compiled),
  };

  // getWeights() is flat, kernel then bias per layer with weights; Dense and Conv2D have both.
  let next = 0;
  const perLayer = specs.map((s) =>
    s.kind === 'dense' || s.kind === 'conv2d' ? weights.slice(next, (next += 2)) : [],
  );
  const h5 = writeHdf5(weightsTree(specs, perLayer));
  const metadata = {
    keras_version: KERAS_FORMAT_VERSION,
    date_saved: kerasDate(new Date()),
    producer: 'wasm-autoencoders',
  };
  const encoder = new TextEncoder();
  return writeArchive({
    [METADATA_ENTRY]: encoder.encode(JSON.stringify(metadata)),
    [CONFIG_ENTRY]: encoder.encode(JSON.stringify(config)),
    [WEIGHTS_ENTRY]: h5,
  });
}

/** Keras's `date_saved` format: 2026-12-08@03:07:45. */
function kerasDate(d: Date): string {
  return d.toISOString().slice(0, 19).replace('T', '@');
}
