/**
 * The TensorFlow.js layers format (model.json + binary weight shards), both ways.
 *
 * Export writes what `tf.loadLayersModel` reads: a Keras 2 style Sequential topology, as
 * tfjs-layers' own `model.save()` writes it, one float32 weight group, and our encoder /
 * decoder split in `userDefinedMetadata` (tfjs keeps that field when it loads and saves a
 * model, so the split survives a trip through tfjs).
 *
 * Import reads model.json files from tfjs-layers, from the Python converter (Keras 2 and
 * Keras 3 — keras-config.ts reads both dialects; Keras 3 prefixes weight names with the
 * model's name, `sequential/conv2d/kernel`, which tfjs itself cannot load) and tfjs
 * `ModelArtifacts` (`weightSpecs` in place of `weightsManifest`). Weights may be float32 or
 * quantised by the converter (uint8 / uint16 affine with `scale` and `min`, or float16);
 * they are de-quantised to float32 as tfjs-core does. Everything is checked — architecture,
 * manifest, byte counts, shapes — before the model is allocated.
 */
import { Autoencoder } from '../autoencoder.js';
import { CorruptDataError, ValueError } from '../errors.js';
import { float16Value } from '../float16.js';
import { sequential } from '../presets.js';
import type { Tensor } from '../tensor.js';
import { checkOptions, describeValue, isPlainObject } from '../validate.js';
import {
  bottleneckEncoderLength,
  kerasLayerConfig,
  kerasLayerNames,
  kerasModelFromConfig,
  kerasOutputShapes,
  kerasWeightShapes,
  type KerasModel,
} from './keras-config.js';

/** The weight file exportTfjs's manifest names (one group, one shard), as tfjs names it. */
export const TFJS_WEIGHTS_FILE = 'group1-shard1of1.bin';

/** Where our split lives in `userDefinedMetadata`. */
export const TFJS_METADATA_KEY = 'wasm-autoencoders';

export type TfjsQuantization = { dtype: 'uint8' | 'uint16'; scale: number; min: number } | { dtype: 'float16' };

export interface TfjsWeightEntry {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: TfjsQuantization;
  /** tfjs marks optimizer weights saved with `includeOptimizer` as group 'optimizer'. */
  group?: string;
}

export interface TfjsModelJson {
  format: 'layers-model';
  generatedBy: string;
  convertedBy: string | null;
  modelTopology: Record<string, unknown>;
  weightsManifest: { paths: string[]; weights: TfjsWeightEntry[] }[];
  userDefinedMetadata: Record<string, unknown>;
}

export interface ImportTfjsOptions {
  /**
   * How many layers form the encoder. Default: the split stored by exportTfjs, else after
   * the layer with the smallest output (the first of equals).
   */
  encoderLength?: number;
}

/** A manifest entry and where its bytes are in the concatenated weight data. */
interface PlacedEntry extends TfjsWeightEntry {
  offset: number;
  byteLength: number;
}

/** What importTfjs will build, fully checked, before any weight is decoded or any model made. */
export interface TfjsPlan {
  model: KerasModel;
  encoderLength: number;
  /** The weight files of `weightsManifest`, in order (empty for `weightSpecs`). */
  paths: string[];
  /** Bytes the weight data must have: the manifest's entries, end to end. */
  byteLength: number;
  /** Per layer (same order as model.layers), its kernel and bias entries; bias undefined for use_bias false. */
  layerWeights: { shapes: number[][]; entries: (PlacedEntry | undefined)[] }[];
}

const BYTES_PER_VALUE: Record<string, number> = { float32: 4, int32: 4, bool: 1, complex64: 8 };
const QUANT_BYTES: Record<string, number> = { uint8: 1, uint16: 2, float16: 2 };

function parseModelJson(modelJson: unknown): Record<string, unknown> {
  let json = modelJson;
  if (typeof json === 'string') {
    try {
      json = JSON.parse(json);
    } catch (e) {
      throw new CorruptDataError(`model.json is not valid JSON: ${(e as Error).message}`);
    }
  }
  if (!isPlainObject(json)) {
    throw new ValueError(`importTfjs takes the parsed model.json (or its text), got ${describeValue(modelJson)}`);
  }
  if (json.format !== undefined && json.format !== 'layers-model') {
    throw new ValueError(
      `model.json has format ${describeValue(json.format)}; wasm-autoencoders reads the "layers-model" format (a graph model has no layers to map)`,
    );
  }
  if (json.modelTopology === undefined || json.modelTopology === null) {
    throw new CorruptDataError('model.json has no modelTopology');
  }
  return json;
}

function parseQuantization(q: unknown, who: string, dtype: string): TfjsQuantization {
  if (!isPlainObject(q)) throw new CorruptDataError(`${who}: quantization must be an object, got ${describeValue(q)}`);
  if (q.dtype === 'float16') {
    if (dtype !== 'float32')
      throw new CorruptDataError(`${who}: float16 quantization is only for float32 weights, this one is ${dtype}`);
    return { dtype: 'float16' };
  }
  if (q.dtype !== 'uint8' && q.dtype !== 'uint16') {
    throw new CorruptDataError(
      `${who}: quantization dtype must be "uint8", "uint16" or "float16", got ${describeValue(q.dtype)}`,
    );
  }
  const { scale, min } = q;
  if (typeof scale !== 'number' || !Number.isFinite(scale) || typeof min !== 'number' || !Number.isFinite(min)) {
    throw new CorruptDataError(
      `${who}: ${q.dtype} quantization needs finite scale and min, got scale ${describeValue(scale)}, min ${describeValue(min)}`,
    );
  }
  return { dtype: q.dtype, scale, min };
}

function parseEntry(e: unknown, who: string): TfjsWeightEntry {
  if (!isPlainObject(e)) throw new CorruptDataError(`${who} must be { name, shape, dtype }, got ${describeValue(e)}`);
  if (typeof e.name !== 'string' || e.name === '') throw new CorruptDataError(`${who} has no name`);
  const w = `${who} (${JSON.stringify(e.name)})`;
  if (!Array.isArray(e.shape) || e.shape.some((d) => typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0)) {
    throw new CorruptDataError(`${w}: shape must be an array of non-negative integers, got ${describeValue(e.shape)}`);
  }
  const dtype = e.dtype === undefined ? 'float32' : e.dtype;
  if (typeof dtype !== 'string' || !(dtype in BYTES_PER_VALUE)) {
    throw new CorruptDataError(
      `${w}: dtype ${describeValue(dtype)} cannot be read; expected float32 (or int32, bool, complex64)`,
    );
  }
  const entry: TfjsWeightEntry = { name: e.name, shape: e.shape.slice() as number[], dtype };
  if (e.quantization !== undefined) entry.quantization = parseQuantization(e.quantization, w, dtype);
  if (typeof e.group === 'string') entry.group = e.group;
  return entry;
}

/** The manifest's entries with their byte ranges, and the weight files in order. */
function placeEntries(json: Record<string, unknown>): { entries: PlacedEntry[]; paths: string[]; byteLength: number } {
  let raw: unknown[];
  const paths: string[] = [];
  if (json.weightsManifest !== undefined) {
    if (!Array.isArray(json.weightsManifest)) {
      throw new CorruptDataError(
        `model.json: weightsManifest must be an array of { paths, weights }, got ${describeValue(json.weightsManifest)}`,
      );
    }
    raw = [];
    json.weightsManifest.forEach((g, i) => {
      if (!isPlainObject(g) || !Array.isArray(g.paths) || !Array.isArray(g.weights)) {
        throw new CorruptDataError(
          `model.json: weightsManifest[${i}] must be { paths, weights }, got ${describeValue(g)}`,
        );
      }
      for (const p of g.paths) {
        if (typeof p !== 'string' || p === '')
          throw new CorruptDataError(
            `model.json: weightsManifest[${i}].paths holds ${describeValue(p)}, not a file name`,
          );
        paths.push(p);
      }
      raw.push(...g.weights);
    });
  } else if (Array.isArray(json.weightSpecs)) {
    raw = json.weightSpecs;
  } else {
    throw new CorruptDataError(
      'model.json has no weightsManifest (nor, for tfjs ModelArtifacts, weightSpecs): it says nothing of the weights',
    );
  }
  let offset = 0;
  const entries = raw.map((e, i) => {
    const entry = parseEntry(e, `weight ${i}`);
    const count = entry.shape.reduce((a, b) => a * b, 1);
    const per = entry.quantization ? QUANT_BYTES[entry.quantization.dtype] : BYTES_PER_VALUE[entry.dtype];
    const placed = { ...entry, offset, byteLength: count * per };
    offset += placed.byteLength;
    return placed;
  });
  return { entries, paths, byteLength: offset };
}

/** The manifest entry of a layer's kernel or bias: `<layer>/<weight>`, or with a prefix (Keras 3: `sequential/<layer>/<weight>`). */
function findEntry(
  entries: PlacedEntry[],
  layer: string,
  weight: string,
  used: Set<PlacedEntry>,
): PlacedEntry | undefined {
  const want = `${layer}/${weight}`;
  const strip = (n: string) => n.replace(/:\d+$/, ''); // TF1-era names end in ":0"
  const exact = entries.filter((e) => strip(e.name) === want);
  const found = exact.length > 0 ? exact : entries.filter((e) => strip(e.name).endsWith(`/${want}`));
  if (found.length > 1) {
    throw new CorruptDataError(
      `the weights manifest has ${found.length} entries for ${want}: ${found.map((e) => e.name).join(', ')}`,
    );
  }
  if (found[0] && used.has(found[0])) throw new CorruptDataError(`weight ${found[0].name} is claimed by two layers`);
  return found[0];
}

function resolveEncoderLength(json: Record<string, unknown>, opts: unknown, shapes: number[][]): number {
  const o = checkOptions<ImportTfjsOptions>('importTfjs options', opts, ['encoderLength']);
  const n = shapes.length;
  const check = (v: unknown, what: string, E: typeof ValueError | typeof CorruptDataError) => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1 || v >= n) {
      throw new E(
        `${what} must be an integer from 1 to ${n - 1} (the model has ${n} layers; the decoder needs at least one), got ${describeValue(v)}`,
      );
    }
    return v;
  };
  if (o.encoderLength !== undefined) return check(o.encoderLength, 'importTfjs encoderLength', ValueError);
  const meta = json.userDefinedMetadata;
  const ours = isPlainObject(meta) ? meta[TFJS_METADATA_KEY] : undefined;
  if (isPlainObject(ours) && ours.encoderLength !== undefined) {
    return check(
      ours.encoderLength,
      `model.json's userDefinedMetadata["${TFJS_METADATA_KEY}"].encoderLength`,
      CorruptDataError,
    );
  }
  return bottleneckEncoderLength(shapes);
}

/**
 * Reads and checks a model.json (parsed, or its text) without its weights: architecture,
 * split, manifest and the byte count the weights must have. importTfjs and loadTfjs run it
 * before reading or allocating anything.
 */
export function planTfjsImport(modelJson: unknown, opts?: ImportTfjsOptions): TfjsPlan {
  const json = parseModelJson(modelJson);
  const model = kerasModelFromConfig(json.modelTopology);
  const specs = model.layers.map((l) => l.spec);
  const shapes = kerasOutputShapes(model.inputShape, specs);
  const encoderLength = resolveEncoderLength(json, opts, shapes);
  const { entries, paths, byteLength } = placeEntries(json);
  const used = new Set<PlacedEntry>();
  const layerWeights = model.layers.map((layer, i) => {
    const expected = kerasWeightShapes(layer.spec, i === 0 ? model.inputShape : shapes[i - 1]);
    const found = expected.map(({ name, shape }) => {
      const entry = findEntry(entries, layer.name, name, used);
      const who = `layer ${i} (${layer.className} ${JSON.stringify(layer.name)})`;
      if (!entry) {
        if (name === 'bias' && !layer.useBias) return undefined;
        throw new CorruptDataError(`${who}: the weights manifest has no ${layer.name}/${name}`);
      }
      if (name === 'bias' && !layer.useBias)
        throw new CorruptDataError(`${who} has use_bias false, yet the manifest holds ${entry.name}`);
      if (entry.dtype !== 'float32')
        throw new ValueError(`${who}: weight ${entry.name} has dtype ${entry.dtype}; layer weights must be float32`);
      if (entry.shape.length !== shape.length || entry.shape.some((d, j) => d !== shape[j])) {
        throw new CorruptDataError(
          `${who}: weight ${entry.name} has shape [${entry.shape.join(', ')}], the layer needs [${shape.join(', ')}]`,
        );
      }
      used.add(entry);
      return entry;
    });
    return { shapes: expected.map((e) => e.shape), entries: found };
  });
  const stray = entries.find((e) => !used.has(e) && e.group !== 'optimizer');
  if (stray) throw new CorruptDataError(`weight ${stray.name} in the manifest belongs to none of the model's layers`);
  return { model, encoderLength, paths, byteLength, layerWeights };
}

type Bytes = Uint8Array | ArrayBuffer;

function asBytes(b: unknown, who: string): Uint8Array {
  if (b instanceof Uint8Array) return b;
  if (b instanceof ArrayBuffer) return new Uint8Array(b);
  throw new ValueError(`${who} must be a Uint8Array or an ArrayBuffer, got ${describeValue(b)}`);
}

/** The weight bytes, shards joined in manifest order; the total is checked before they are copied. */
function joinWeightData(weightData: unknown, expected: number): Uint8Array {
  const parts = Array.isArray(weightData)
    ? weightData.map((b, i) => asBytes(b, `weightData[${i}]`))
    : [asBytes(weightData, 'weightData')];
  const total = parts.reduce((a, p) => a + p.byteLength, 0);
  if (total !== expected) {
    throw new CorruptDataError(`the weight data has ${total} bytes, the weights manifest describes ${expected}`);
  }
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** One weight as float32, de-quantised as tfjs-core's decodeWeights does (little-endian values). */
function decodeEntry(bytes: Uint8Array, e: PlacedEntry): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset + e.offset, e.byteLength);
  const q = e.quantization;
  const n = e.byteLength / (q ? QUANT_BYTES[q.dtype] : 4);
  const out = new Float32Array(n);
  if (!q) for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
  else if (q.dtype === 'float16') for (let i = 0; i < n; i++) out[i] = float16Value(view.getUint16(i * 2, true));
  else if (q.dtype === 'uint8') for (let i = 0; i < n; i++) out[i] = view.getUint8(i) * q.scale + q.min;
  else for (let i = 0; i < n; i++) out[i] = view.getUint16(i * 2, true) * q.scale + q.min;
  return out;
}

/**
 * A model from a TensorFlow.js layers model: the model.json (parsed or its text; or tfjs
 * `ModelArtifacts` with `weightSpecs`) and its weight bytes (one buffer, or the shards in
 * manifest order). Compiled like `sequential()` (Adam, MSE). Throws ValueError for layers
 * or options we cannot represent, CorruptDataError for a manifest that does not fit the
 * architecture or bytes that do not fit the manifest, all before the model is allocated.
 * Needs `await init()`.
 */
export function importTfjs(
  modelJson: unknown,
  weightData: Bytes | readonly Bytes[],
  opts?: ImportTfjsOptions,
): Autoencoder {
  const plan = planTfjsImport(modelJson, opts);
  const bytes = joinWeightData(weightData, plan.byteLength);
  const weights: Tensor[] = [];
  plan.layerWeights.forEach(({ shapes, entries }) => {
    entries.forEach((entry, j) => {
      const data = entry ? decodeEntry(bytes, entry) : new Float32Array(shapes[j].reduce((a, b) => a * b, 1));
      weights.push({ shape: shapes[j], data });
    });
  });
  const model = sequential(
    plan.model.layers.map((l) => l.spec),
    { inputShape: plan.model.inputShape, encoderLength: plan.encoderLength, seed: 0 },
  );
  try {
    model.setWeights(weights);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}

/**
 * The model as a TensorFlow.js layers model: the model.json object (write it with
 * JSON.stringify) and the bytes of its one weight file, {@link TFJS_WEIGHTS_FILE}.
 * `tf.loadLayersModel` reads it; importTfjs reads it back with the same split.
 */
export function exportTfjs(model: Autoencoder): { modelJson: TfjsModelJson; weightData: Uint8Array } {
  if (!(model instanceof Autoencoder)) {
    throw new ValueError(`exportTfjs takes an Autoencoder, got ${describeValue(model)}`);
  }
  const tensors = model.getWeights(); // throws DisposedError for a disposed model
  const names = kerasLayerNames(model.layers);
  const layerConfigs = model.layers.map((spec, i) =>
    kerasLayerConfig(spec, names[i], i === 0 ? { batchInputShape: [null, ...model.inputShape] } : {}),
  );
  const weightNames = model.layers.flatMap((spec, i) => {
    const w = spec.kind === 'dense' || spec.kind === 'conv2d' ? ['kernel', 'bias'] : [];
    return w.map((n) => `${names[i]}/${n}`);
  });
  if (weightNames.length !== tensors.length) {
    throw new ValueError(
      `exportTfjs: the model has ${tensors.length} weight tensors, its layers ${weightNames.length}`,
    );
  }
  const total = tensors.reduce((a, t) => a + t.data.length, 0);
  const weightData = new Uint8Array(total * 4);
  const view = new DataView(weightData.buffer);
  let at = 0;
  for (const t of tensors) for (const v of t.data) (view.setFloat32(at, v, true), (at += 4));
  return {
    modelJson: {
      format: 'layers-model',
      generatedBy: 'wasm-autoencoders',
      convertedBy: null,
      modelTopology: {
        class_name: 'Sequential',
        config: { name: 'sequential', layers: layerConfigs },
        // The dialect we write: what tfjs-layers 4.22's model.save() writes, Keras 2 style.
        keras_version: 'tfjs-layers 4.22.0',
        backend: 'tensor_flow.js',
      },
      weightsManifest: [
        {
          paths: [TFJS_WEIGHTS_FILE],
          weights: tensors.map((t, i) => ({ name: weightNames[i], shape: [...t.shape], dtype: 'float32' })),
        },
      ],
      userDefinedMetadata: { [TFJS_METADATA_KEY]: { encoderLength: model.encoderLength } },
    },
    weightData,
  };
}
