// The TensorFlow.js layers format both ways, against the real @tensorflow/tfjs-layers 4.22:
// our presets load in tfjs and predict what we predict; models built and trained in tfjs
// load in ours; quantised, sharded and Keras 3 files load; bad files give typed errors.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Autoencoder,
  AutoencoderError,
  CorruptDataError,
  ShapeError,
  ValueError,
  convolutional,
  deep,
  denoising,
  init,
  layers,
  sequential,
  tensor,
  vanilla,
  type Tensor,
} from '../ts/index.js';
import { float16Bits } from '../ts/float16.js';
import {
  bottleneckEncoderLength,
  kerasLayerConfig,
  kerasOutputShapes,
  layerSpecFromKeras,
} from '../ts/interop/keras-config.js';
import { exportTfjs, importTfjs, TFJS_METADATA_KEY, type TfjsWeightEntry } from '../ts/interop/tfjs.js';
import { loadTfjs, saveTfjs } from '../ts/node/tfjs-files.js';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/tfjs');
const TOLERANCE = 1e-5;
// tfjs prints a hint about tfjs-node on first use; it is noise here.
const log = console.log;

beforeAll(async () => {
  console.log = () => {};
  await init();
  await tf.setBackend('cpu');
  console.log = log;
});

const models: Autoencoder[] = [];
afterAll(() => models.forEach((m) => m.dispose()));
function keep<T extends Autoencoder>(m: T): T {
  models.push(m);
  return m;
}

/** Deterministic values in [lo, hi). */
function uniform(n: number, seed: number, lo = 0, hi = 1): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from(
    { length: n },
    () => lo + (hi - lo) * ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32),
  );
}

function sampleInput(model: Autoencoder, n: number, seed: number): Tensor {
  const size = model.inputShape.reduce((a, b) => a * b, 1);
  return tensor(uniform(n * size, seed), [n, ...model.inputShape]);
}

/**
 * Non-zero biases everywhere, so a bias read in the wrong order or place shows; positive,
 * so the ReLU layers of freshly initialised models do not all output 0.
 */
function withRandomBiases(model: Autoencoder, seed: number): Autoencoder {
  model.setWeights(
    model
      .getWeights()
      .map((w, i) => (w.shape.length === 1 ? tensor(uniform(w.data.length, seed + i, 0.01, 0.2), [...w.shape]) : w)),
  );
  return model;
}

/** Loads a model.json + weight bytes in tfjs-layers the way tf.io's file and http loaders do. */
async function loadInTfjs(modelJson: object, weightData: Uint8Array): Promise<tfl.LayersModel> {
  const artifacts = await tf.io.getModelArtifactsForJSON(modelJson as tf.io.ModelJSON, async (manifest) => [
    manifest.flatMap((g) => g.weights),
    weightData.slice().buffer,
  ]);
  return tfl.loadLayersModel(tf.io.fromMemory(artifacts));
}

function tfjsPredict(model: tfl.LayersModel, x: Tensor): Float32Array {
  return tf.tidy(() => (model.predict(tf.tensor(x.data, [...x.shape])) as tf.Tensor).dataSync() as Float32Array);
}

/** What tfjs's model.save() hands an IOHandler. */
async function saveFromTfjs(model: tfl.LayersModel): Promise<tf.io.ModelArtifacts> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      saved = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (!saved) throw new Error('tfjs did not save');
  return saved;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

describe('exportTfjs -> tf.loadLayersModel', () => {
  const presets = {
    vanilla: () => vanilla({ seed: 3 }),
    deep: () => deep({ seed: 4 }),
    convolutional: () => convolutional({ seed: 5 }),
    denoising: () => denoising({ seed: 6 }),
  };
  for (const [name, make] of Object.entries(presets)) {
    it(`${name}: tfjs predicts what we predict (within 1e-5)`, async () => {
      const model = keep(withRandomBiases(make(), 100));
      const { modelJson, weightData } = exportTfjs(model);
      const tfModel = await loadInTfjs(JSON.parse(JSON.stringify(modelJson)), weightData);
      expect(tfModel.countParams()).toBe(model.countParams());
      const x = sampleInput(model, 3, 7);
      const ours = model.predict(x).data;
      expect(ours.some((v) => v !== 0)).toBe(true);
      expect(maxAbsDiff(tfjsPredict(tfModel, x), ours)).toBeLessThanOrEqual(TOLERANCE);
      tfModel.dispose();
    });
  }

  it('keeps our encoder/decoder split through a tfjs load and save', async () => {
    const model = keep(
      withRandomBiases(
        sequential(
          [
            layers.dense(32, { activation: 'tanh' }),
            layers.dense(48, { activation: 'relu' }),
            layers.dense(20, { activation: 'sigmoid' }),
          ],
          { inputShape: [20], encoderLength: 2, seed: 1 },
        ),
        5,
      ),
    );
    const { modelJson, weightData } = exportTfjs(model);
    expect(modelJson.userDefinedMetadata).toEqual({ [TFJS_METADATA_KEY]: { encoderLength: 2 } });
    const tfModel = await loadInTfjs(modelJson, weightData);
    const saved = await saveFromTfjs(tfModel);
    const back = keep(importTfjs(saved, saved.weightData as ArrayBuffer));
    // Not the smallest output (layer 0, 32 wide): the stored split wins.
    expect(back.encoderLength).toBe(2);
    expect(back.getWeights()).toEqual(model.getWeights());
    tfModel.dispose();
  });
});

describe('tfjs model.save() -> importTfjs', () => {
  it('a conv model built and trained in tfjs predicts the same in ours (within 1e-5)', async () => {
    const m = tfl.sequential();
    m.add(
      tfl.layers.conv2d({
        filters: 6,
        kernelSize: [3, 2],
        padding: 'valid',
        activation: 'tanh',
        inputShape: [13, 12, 2],
      }),
    );
    m.add(tfl.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }));
    m.add(tfl.layers.conv2d({ filters: 3, kernelSize: 1, activation: 'linear' }));
    m.add(tfl.layers.maxPooling2d({ poolSize: [2, 3], strides: [1, 2], padding: 'valid' }));
    m.add(tfl.layers.upSampling2d({ size: [3, 2] }));
    m.add(tfl.layers.conv2d({ filters: 2, kernelSize: 3, padding: 'same', activation: 'sigmoid' }));
    m.compile({ optimizer: tf.train.adam(0.01), loss: 'meanSquaredError' });
    const shape = [13, 12, 2];
    const xs = tf.tensor(uniform(8 * 13 * 12 * 2, 3), [8, ...shape]);
    await m.fit(xs, tf.randomUniform([8, ...(m.outputs[0].shape.slice(1) as number[])], 0, 1, 'float32', 1), {
      epochs: 2,
      batchSize: 4,
      verbose: 0,
    });
    const saved = await saveFromTfjs(m);
    const ours = keep(importTfjs(saved, new Uint8Array(saved.weightData as ArrayBuffer)));
    expect(ours.inputShape).toEqual(shape);
    expect(ours.layers.map((l) => l.kind)).toEqual([
      'conv2d',
      'maxPooling2d',
      'conv2d',
      'maxPooling2d',
      'upSampling2d',
      'conv2d',
    ]);
    // No marked split: after the smallest output, the second pooling's [5, 2, 3].
    expect(ours.codeShape).toEqual([5, 2, 3]);
    expect(ours.encoderLength).toBe(4);
    const x = tensor(uniform(4 * 13 * 12 * 2, 9), [4, ...shape]);
    expect(maxAbsDiff(ours.predict(x).data, tfjsPredict(m, x))).toBeLessThanOrEqual(TOLERANCE);
    xs.dispose();
    m.dispose();
  });

  it('a dense model with use_bias false loads with zero biases and predicts the same', async () => {
    const m = tfl.sequential();
    m.add(tfl.layers.dense({ units: 5, useBias: false, activation: 'relu', inputShape: [9] }));
    m.add(tfl.layers.dense({ units: 9, activation: 'sigmoid', biasInitializer: 'ones' }));
    const saved = await saveFromTfjs(m);
    expect(saved.weightSpecs?.map((w) => w.name).length).toBe(3);
    const ours = keep(importTfjs(saved, saved.weightData as ArrayBuffer, { encoderLength: 1 }));
    expect(ours.getWeights()[1].data.every((v) => v === 0)).toBe(true);
    const x = tensor(uniform(5 * 9, 2), [5, 9]);
    expect(maxAbsDiff(ours.predict(x).data, tfjsPredict(m, x))).toBeLessThanOrEqual(TOLERANCE);
    m.dispose();
  });
});

/** The tensorflowjs converter's affine quantisation (quantization.py), in float64 like numpy. */
function quantizeAffine(data: Float32Array, bits: 8 | 16): { q: number[]; scale: number; min: number } {
  let min = Infinity;
  let max = -Infinity;
  for (const v of data) ((min = Math.min(min, v)), (max = Math.max(max, v)));
  if (min === max) return { q: Array.from(data, () => 0), scale: 1, min };
  const qmax = 2 ** bits - 1;
  const scale = (max - min) / qmax;
  if (min <= 0 && 0 <= max) {
    const nudgedMin = -Math.round(-min / scale) * scale;
    ((min = nudgedMin), (max = qmax * scale + nudgedMin));
  }
  // np.round rounds half to even; exact halves do not occur with these random weights.
  const q = Array.from(data, (v) => Math.round((Math.min(max, Math.max(min, v)) - min) / scale));
  return { q, scale, min };
}

/** An exported model's manifest and bytes with every weight quantised as the converter does. */
function quantizeExport(model: Autoencoder, dtype: 'uint8' | 'uint16' | 'float16') {
  const { modelJson } = exportTfjs(model);
  const chunks: Uint8Array[] = [];
  const weights = model.getWeights();
  const entries: TfjsWeightEntry[] = modelJson.weightsManifest[0].weights.map((entry, i) => {
    const data = weights[i].data;
    if (dtype === 'float16') {
      const out = new Uint8Array(data.length * 2);
      const view = new DataView(out.buffer);
      data.forEach((v, j) => view.setUint16(j * 2, float16Bits(v), true));
      chunks.push(out);
      return { ...entry, quantization: { dtype } };
    }
    const { q, scale, min } = quantizeAffine(data, dtype === 'uint8' ? 8 : 16);
    const out = dtype === 'uint8' ? Uint8Array.from(q) : new Uint8Array(Uint16Array.from(q).buffer);
    chunks.push(out);
    // The converter writes { dtype, min, scale }; other writers order the keys differently.
    const quantization = i % 2 === 0 ? { dtype, min, scale } : { dtype, scale, min };
    return { ...entry, quantization };
  });
  modelJson.weightsManifest[0].weights = entries;
  const bytes = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
  let at = 0;
  for (const c of chunks) (bytes.set(c, at), (at += c.length));
  return { modelJson, weightData: bytes };
}

describe('quantised weights', () => {
  for (const dtype of ['uint8', 'uint16'] as const) {
    it(`${dtype}: each weight de-quantises to within half a step of the original, as tfjs decodes it`, async () => {
      const model = keep(withRandomBiases(convolutional({ seed: 8 }), 40));
      const { modelJson, weightData } = quantizeExport(model, dtype);
      expect(weightData.length).toBe(model.countParams() * (dtype === 'uint8' ? 1 : 2));
      const loaded = keep(importTfjs(modelJson, weightData));
      const original = model.getWeights();
      loaded.getWeights().forEach((w, i) => {
        const q = modelJson.weightsManifest[0].weights[i].quantization as { scale: number };
        // Half a step, plus float32 rounding of the de-quantised value.
        expect(maxAbsDiff(w.data, original[i].data)).toBeLessThanOrEqual(q.scale / 2 + 1e-6);
      });
      const tfModel = await loadInTfjs(modelJson, weightData);
      const x = sampleInput(model, 2, 3);
      expect(maxAbsDiff(loaded.predict(x).data, tfjsPredict(tfModel, x))).toBeLessThanOrEqual(TOLERANCE);
      tfModel.dispose();
    });
  }

  it('float16: each weight within half a float16 ulp, as tfjs decodes it', async () => {
    const model = keep(withRandomBiases(vanilla({ seed: 9, encodingSize: 16 }), 50));
    const { modelJson, weightData } = quantizeExport(model, 'float16');
    const loaded = keep(importTfjs(modelJson, weightData));
    const original = model.getWeights();
    loaded.getWeights().forEach((w, i) => {
      original[i].data.forEach((v, j) =>
        expect(Math.abs(w.data[j] - v)).toBeLessThanOrEqual(Math.abs(v) * 2 ** -11 + 2 ** -25),
      );
    });
    const tfModel = await loadInTfjs(modelJson, weightData);
    const x = sampleInput(model, 2, 4);
    expect(maxAbsDiff(loaded.predict(x).data, tfjsPredict(tfModel, x))).toBeLessThanOrEqual(TOLERANCE);
    tfModel.dispose();
  });
});

/** Splits an export into `groups` manifest groups of shards of at most `shardBytes`, as the converter names them. */
function shard(model: Autoencoder, groups: number, shardBytes: number) {
  const { modelJson, weightData } = exportTfjs(model);
  const entries = modelJson.weightsManifest[0].weights;
  const per = Math.ceil(entries.length / groups);
  const shards: { name: string; bytes: Uint8Array }[] = [];
  let offset = 0;
  modelJson.weightsManifest = Array.from({ length: groups }, (_, g) => {
    const weights = entries.slice(g * per, (g + 1) * per);
    const size = weights.reduce((a, w) => a + w.shape.reduce((x, y) => x * y, 1) * 4, 0);
    const count = Math.ceil(size / shardBytes);
    const paths = Array.from({ length: count }, (_, s) => {
      const name = `group${g + 1}-shard${s + 1}of${count}.bin`;
      shards.push({
        name,
        bytes: weightData.slice(offset + s * shardBytes, offset + Math.min(size, (s + 1) * shardBytes)),
      });
      return name;
    });
    offset += size;
    return { paths, weights };
  });
  return { modelJson, shards };
}

describe('several groups and shards', () => {
  it('importTfjs joins the shards in manifest order', () => {
    const model = keep(withRandomBiases(convolutional({ seed: 10 }), 60));
    const { modelJson, shards } = shard(model, 3, 1000);
    expect(shards.length).toBeGreaterThan(6);
    const loaded = keep(
      importTfjs(
        modelJson,
        shards.map((s) => s.bytes),
      ),
    );
    expect(loaded.getWeights()).toEqual(model.getWeights());
  });

  it('loadTfjs reads every shard beside the model.json', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'tfjs-shards-'));
    try {
      const model = keep(withRandomBiases(deep({ seed: 11 }), 70));
      const { modelJson, shards } = shard(model, 2, 1 << 20);
      expect(shards.length).toBeGreaterThan(2);
      await writeFile(path.join(dir, 'model.json'), JSON.stringify(modelJson));
      for (const s of shards) await writeFile(path.join(dir, s.name), s.bytes);
      const loaded = keep(await loadTfjs(path.join(dir, 'model.json')));
      expect(loaded.encoderLength).toBe(4);
      const x = sampleInput(model, 2, 5);
      expect(loaded.predict(x).data).toEqual(model.predict(x).data);
      // A shard cut short is found from the file sizes, before anything is read.
      await writeFile(path.join(dir, shards[1].name), shards[1].bytes.subarray(1));
      await expect(loadTfjs(path.join(dir, 'model.json'))).rejects.toThrow(CorruptDataError);
      await rm(path.join(dir, shards[1].name));
      await expect(loadTfjs(path.join(dir, 'model.json'))).rejects.toMatchObject({ code: 'ERR_FILE_NOT_FOUND' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('Keras 3 model.json files (hand-made from the format Keras 3 + tensorflowjs write)', () => {
  // tools/tfjs/make-keras3-fixtures.ts wrote these in the Keras 3 dialect tfjs-layers 4.22
  // rejects (batch_shape, DTypePolicy, inbound_nodes objects, sequential/... weight names),
  // with weights and expected outputs from the same model built and trained in tfjs-layers.
  for (const name of ['keras3-sequential-conv', 'keras3-functional-dense']) {
    it(`${name} loads and predicts what tfjs-layers predicted (within 1e-5)`, async () => {
      const dir = path.join(FIXTURES, name);
      const expected = JSON.parse(await readFile(path.join(dir, 'expected.json'), 'utf8'));
      const model = keep(await loadTfjs(path.join(dir, 'model.json')));
      const x = tensor(Float32Array.from(expected.input), expected.inputShape);
      expect(model.predict(x).shape).toEqual(expected.outputShape);
      expect(maxAbsDiff(model.predict(x).data, expected.output)).toBeLessThanOrEqual(TOLERANCE);
    });
  }

  it('tfjs-layers itself cannot read them (why we read them ourselves)', async () => {
    const dir = path.join(FIXTURES, 'keras3-sequential-conv');
    const json = JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8'));
    await expect(loadInTfjs(json, await readFile(path.join(dir, 'group1-shard1of1.bin')))).rejects.toThrow();
  });

  it('splits at the smallest output when nothing marks the bottleneck', async () => {
    const conv = keep(await loadTfjs(path.join(FIXTURES, 'keras3-sequential-conv/model.json')));
    expect(conv.codeShape).toEqual([2, 2, 4]);
    const dense = keep(await loadTfjs(path.join(FIXTURES, 'keras3-functional-dense/model.json'), { encoderLength: 1 }));
    expect(dense.codeShape).toEqual([6]);
  });
});

describe('saveTfjs / loadTfjs', () => {
  it('round-trip through a directory bit for bit, and tfjs reads the files', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'tfjs-save-'));
    try {
      const model = keep(withRandomBiases(denoising({ seed: 12 }), 80));
      const written = await saveTfjs(model, path.join(dir, 'nested/out'));
      expect(path.basename(written.weights)).toBe('group1-shard1of1.bin');
      const loaded = keep(await loadTfjs(written.modelJson));
      expect(loaded.getWeights()).toEqual(model.getWeights());
      expect(loaded.encoderLength).toBe(model.encoderLength);
      expect(loaded.layers).toEqual(model.layers);
      const tfModel = await loadInTfjs(
        JSON.parse(await readFile(written.modelJson, 'utf8')),
        await readFile(written.weights),
      );
      const x = sampleInput(model, 2, 6);
      expect(maxAbsDiff(tfjsPredict(tfModel, x), model.predict(x).data)).toBeLessThanOrEqual(TOLERANCE);
      tfModel.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses weight paths outside the model.json folder and missing files', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'tfjs-bad-'));
    try {
      const model = keep(vanilla({ seed: 13, encodingSize: 4 }));
      const { modelJson } = exportTfjs(model);
      modelJson.weightsManifest[0].paths = ['../secret.bin'];
      await writeFile(path.join(dir, 'model.json'), JSON.stringify(modelJson));
      await expect(loadTfjs(path.join(dir, 'model.json'))).rejects.toThrow(/not a file beside the model.json/);
      await expect(loadTfjs(path.join(dir, 'missing.json'))).rejects.toMatchObject({ code: 'ERR_FILE_NOT_FOUND' });
      await expect(saveTfjs({} as Autoencoder, dir)).rejects.toThrow(ValueError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('bad files give typed errors', () => {
  /** A small exported model as a fresh, editable object. */
  function exported() {
    const model = keep(
      sequential([layers.dense(4, { activation: 'relu' }), layers.dense(8)], {
        inputShape: [8],
        encoderLength: 1,
        seed: 1,
      }),
    );
    const { modelJson, weightData } = exportTfjs(model);
    return { json: JSON.parse(JSON.stringify(modelJson)), weightData };
  }
  type Json = ReturnType<typeof exported>['json'];
  const layer = (json: Json, i: number) => json.modelTopology.config.layers[i];

  const cases: [string, (json: Json) => void, typeof AutoencoderError, RegExp][] = [
    ['an unknown layer class', (j) => (layer(j, 1).class_name = 'Dropout'), ValueError, /Dropout.*not supported/],
    [
      'Conv2D dilation_rate 2',
      (j) => {
        j.modelTopology.config.layers = [
          {
            class_name: 'Conv2D',
            config: {
              name: 'c',
              filters: 1,
              kernel_size: 3,
              dilation_rate: [2, 2],
              batch_input_shape: [null, 8, 8, 1],
            },
          },
          { class_name: 'UpSampling2D', config: { name: 'u' } },
        ];
      },
      ValueError,
      /Conv2D "c".*dilation_rate = \[2, 2\]/,
    ],
    [
      'channels_first',
      (j) => {
        j.modelTopology.config.layers = [
          {
            class_name: 'MaxPooling2D',
            config: { name: 'p', data_format: 'channels_first', batch_input_shape: [null, 1, 8, 8] },
          },
          { class_name: 'UpSampling2D', config: { name: 'u' } },
        ];
      },
      ValueError,
      /MaxPooling2D "p".*data_format/,
    ],
    [
      'an activation we lack',
      (j) => (layer(j, 1).config.activation = 'softmax'),
      ValueError,
      /Dense "dense_1".*activation = "softmax"/,
    ],
    [
      'a mixed-precision dtype policy',
      (j) => (layer(j, 0).config.dtype = { class_name: 'DTypePolicy', config: { name: 'mixed_float16' } }),
      ValueError,
      /dtype = "mixed_float16"/,
    ],
    [
      'a Dense after an image (no Flatten)',
      (j) => (layer(j, 0).config.batch_input_shape = [null, 2, 2, 2]),
      ShapeError,
      /flat/,
    ],
    ['no input shape', (j) => delete layer(j, 0).config.batch_input_shape, ValueError, /no input shape/],
    [
      'a weight of the wrong shape',
      (j) => (j.weightsManifest[0].weights[0].shape = [4, 8]),
      CorruptDataError,
      /shape \[4, 8\].*needs \[8, 4\]/,
    ],
    ['a missing weight', (j) => j.weightsManifest[0].weights.splice(1, 1), CorruptDataError, /no dense\/bias/],
    ['no weights manifest', (j) => delete j.weightsManifest, CorruptDataError, /no weightsManifest/],
    ['a graph model', (j) => (j.format = 'graph-model'), ValueError, /layers-model/],
    [
      'an unknown quantisation',
      (j) => (j.weightsManifest[0].weights[0].quantization = { dtype: 'int4' }),
      CorruptDataError,
      /quantization dtype/,
    ],
    [
      'a stale stored split',
      (j) => (j.userDefinedMetadata[TFJS_METADATA_KEY].encoderLength = 2),
      CorruptDataError,
      /encoderLength/,
    ],
    [
      'a branching Functional model',
      (j) => {
        j.modelTopology = {
          class_name: 'Functional',
          config: {
            name: 'f',
            layers: [
              {
                class_name: 'InputLayer',
                name: 'in',
                config: { name: 'in', batch_shape: [null, 8] },
                inbound_nodes: [],
              },
              {
                class_name: 'Dense',
                name: 'dense',
                config: { name: 'dense', units: 4 },
                inbound_nodes: [[['in', 0, 0, {}]]],
              },
              {
                class_name: 'Dense',
                name: 'side',
                config: { name: 'side', units: 4 },
                inbound_nodes: [[['in', 0, 0, {}]]],
              },
              {
                class_name: 'Dense',
                name: 'dense_1',
                config: { name: 'dense_1', units: 8 },
                inbound_nodes: [[['dense', 0, 0, {}]]],
              },
            ],
            input_layers: [['in', 0, 0]],
            output_layers: [['dense_1', 0, 0]],
          },
        };
      },
      ValueError,
      /straight chains.*side/,
    ],
  ];
  for (const [what, edit, Err, message] of cases) {
    it(`${what}: ${Err.name}`, () => {
      const { json, weightData } = exported();
      edit(json);
      expect(() => importTfjs(json, weightData)).toThrow(Err);
      expect(() => importTfjs(json, weightData)).toThrow(message);
    });
  }

  it('weight bytes that do not match the manifest: CorruptDataError', () => {
    const { json, weightData } = exported();
    expect(() => importTfjs(json, weightData.subarray(4))).toThrow(/has 300 bytes, the weights manifest describes 304/);
    expect(() => importTfjs(json, [weightData, new Uint8Array(1)])).toThrow(CorruptDataError);
    expect(() => importTfjs('{"modelTopology": ', weightData)).toThrow(CorruptDataError);
    expect(() => importTfjs(json, 'bytes' as unknown as Uint8Array)).toThrow(ValueError);
  });

  it('encoderLength out of range and unknown options: ValueError', () => {
    const { json, weightData } = exported();
    expect(() => importTfjs(json, weightData, { encoderLength: 2 })).toThrow(/from 1 to 1/);
    expect(() => importTfjs(json, weightData, { encoderLenght: 1 } as object)).toThrow(/did you mean "encoderLength"/);
    expect(() => exportTfjs({} as Autoencoder)).toThrow(ValueError);
  });
});

describe('keras-config mapping', () => {
  it('kerasLayerConfig and layerSpecFromKeras round-trip every layer kind', () => {
    const specs = [
      layers.dense(7, { activation: 'tanh' }),
      layers.conv2d(3, [2, 5], { activation: 'sigmoid', padding: 'same' }),
      layers.maxPooling2d([3, 2], { strides: [1, 2], padding: 'valid' }),
      layers.upSampling2d([2, 3]),
    ];
    specs.forEach((spec, i) => {
      const { class_name, config } = kerasLayerConfig(spec, `l${i}`);
      expect(layerSpecFromKeras(class_name, config)).toEqual({
        name: `l${i}`,
        className: class_name,
        spec,
        useBias: class_name === 'Dense' || class_name === 'Conv2D',
      });
    });
  });

  it('computes output shapes as Keras does and splits at the first smallest one', () => {
    const specs = [
      layers.conv2d(2, 3),
      layers.maxPooling2d(2, { padding: 'same' }),
      layers.upSampling2d(2),
      layers.conv2d(2, 3, { padding: 'same' }),
    ];
    const shapes = kerasOutputShapes([9, 9, 1], specs);
    expect(shapes).toEqual([
      [7, 7, 2],
      [4, 4, 2],
      [8, 8, 2],
      [8, 8, 2],
    ]);
    expect(bottleneckEncoderLength(shapes)).toBe(2);
    expect(bottleneckEncoderLength([[4], [2], [2], [9]])).toBe(2);
    // The last layer is the decoder's, even when it is the smallest.
    expect(bottleneckEncoderLength([[4], [3], [1]])).toBe(2);
  });
});
