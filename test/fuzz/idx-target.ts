/**
 * Fuzz target: MNIST's IDX files, plain and gzipped, through parseMnist (DecompressionStream)
 * and loadMnist (node:zlib, files on disk), and parseIdx on its own.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { loadMnist, MAX_GUNZIPPED_IDX_BYTES, MNIST_FILE_NAMES, parseIdx, parseMnist } from '../../ts/mnist.js';
import type { MnistData } from '../../ts/mnist.js';
import {
  check,
  concat,
  EXTREME_U32,
  mutate,
  mutationsArb,
  outcome,
  seededBytes,
  showMutations,
  type Mutation,
} from './mutate.js';
import type { ArbitraryOptions, FuzzTarget } from './target.js';

const KEYS = ['trainImages', 'trainLabels', 'testImages', 'testLabels'] as const;
type Key = (typeof KEYS)[number];
type Files = Record<Key, Uint8Array>;

export interface IdxCase {
  kind: 'valid' | 'mutated' | 'mutated-gzip' | 'header' | 'random' | 'bomb';
  files: Files;
  /** The file the case is about; the others are valid. */
  slot: Key;
  via: 'parseMnist' | 'loadMnist';
  /** For 'valid': the pixels and labels it must load as. */
  expected?: { train: Uint8Array; trainLabels: Uint8Array; test: Uint8Array; testLabels: Uint8Array };
  note: string;
}

export interface Bomb {
  name: string;
  bytes: Uint8Array;
  /** What the refusal says. */
  message: RegExp;
  /** Refused within a chunk or two; the others decompress up to 64 MiB first (~0.3 s). */
  fast: boolean;
}

export interface IdxContext {
  dir: string;
  bombs: Bomb[];
  cases: number;
}

/** An IDX file of unsigned bytes (type 0x08 unless said). */
export function idxFile(dims: number[], payload: Uint8Array, type = 0x08, rank = dims.length): Uint8Array {
  const header = new Uint8Array(4 + 4 * dims.length);
  header[2] = type;
  header[3] = rank;
  const view = new DataView(header.buffer);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d >>> 0, false));
  return concat(header, payload);
}

const gzip = (b: Uint8Array, level = 6) => new Uint8Array(gzipSync(b, { level }));

function validSet(seed: number, nTrain: number, nTest: number) {
  const train = seededBytes(seed, nTrain * 784);
  const test = seededBytes(seed + 1, nTest * 784);
  const trainLabels = seededBytes(seed + 2, nTrain).map((b) => b % 10);
  const testLabels = seededBytes(seed + 3, nTest).map((b) => b % 10);
  const files: Files = {
    trainImages: idxFile([nTrain, 28, 28], train),
    trainLabels: idxFile([nTrain], trainLabels),
    testImages: idxFile([nTest, 28, 28], test),
    testLabels: idxFile([nTest], testLabels),
  };
  return { files, expected: { train, trainLabels, test, testLabels } };
}

/**
 * Gzip bombs: a member of 64 MiB of zeros is 65 KB, so a ~1 MB file holds a gigabyte.
 * Gzip allows several members one after the other; zlib and DecompressionStream read them all.
 */
function buildBombs(): Bomb[] {
  const zeros = gzip(new Uint8Array(2 ** 26), 9);
  const gig = Array.from({ length: 16 }, () => zeros);
  const overCap = Math.ceil(MAX_GUNZIPPED_IDX_BYTES / 784) + 1;
  const underCap = Math.floor((MAX_GUNZIPPED_IDX_BYTES - 16) / 784);
  return [
    {
      name: 'labels header [2], then 1 GiB of zeros',
      bytes: concat(gzip(idxFile([2], new Uint8Array(2))), ...gig),
      message: /unexpected trailing bytes: dimensions \[2\] need exactly 10 bytes/,
      fast: true,
    },
    {
      name: `images header [${overCap}, 28, 28] (over the cap), then 1 GiB of zeros`,
      bytes: concat(gzip(idxFile([overCap, 28, 28], new Uint8Array(0))), ...gig),
      message: /claims dimensions \[\d+, 28, 28\], \d+ bytes decompressed; at most 67108864/,
      fast: true,
    },
    {
      name: 'images header [4294967295, 28, 28], then 1 GiB of zeros',
      bytes: concat(gzip(idxFile([0xffffffff, 28, 28], new Uint8Array(0))), ...gig),
      message: /claims dimensions \[4294967295, 28, 28\], 3367254359296 bytes decompressed; at most 67108864/,
      fast: true,
    },
    {
      name: 'header [4294967295 × 255]',
      bytes: gzip(idxFile(new Array(255).fill(0xffffffff), new Uint8Array(0))),
      message: /more than 1\.80e\+308 bytes decompressed; at most 67108864/,
      fast: true,
    },
    {
      name: '1 GiB of zeros (no IDX header)',
      bytes: concat(...gig),
      message: /not an IDX file: bad magic number 0x00000000/,
      fast: true,
    },
    {
      name: `images header [${underCap}, 28, 28] (just under the cap), then 1 GiB of zeros`,
      bytes: concat(gzip(idxFile([underCap, 28, 28], new Uint8Array(0))), ...gig),
      message: /unexpected trailing bytes: dimensions \[\d+, 28, 28\] need exactly \d+ bytes/,
      fast: false,
    },
  ];
}

export async function idxSetup(): Promise<IdxContext> {
  return { dir: await mkdtemp(join(tmpdir(), 'fuzz-idx-')), bombs: buildBombs(), cases: 0 };
}

const keyArb = fc.constantFrom(...KEYS);
const viaArb = fc.oneof(
  { weight: 4, arbitrary: fc.constant('parseMnist' as const) },
  { weight: 1, arbitrary: fc.constant('loadMnist' as const) },
);
const setArb = fc.record({
  seed: fc.integer(),
  nTrain: fc.integer({ min: 1, max: 3 }),
  nTest: fc.integer({ min: 1, max: 2 }),
});
/** Dimension values: MNIST's, small ones and the extremes. */
const dimArb = fc.oneof(
  { weight: 3, arbitrary: fc.constant(28) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 4 }) },
  { weight: 2, arbitrary: fc.constantFrom(...EXTREME_U32) },
  { weight: 1, arbitrary: fc.nat({ max: 0xffffffff }) },
);

export function idxArbitrary(ctx: IdxContext, options: ArbitraryOptions = {}): fc.Arbitrary<IdxCase> {
  const valid = fc
    .record({ set: setArb, gz: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }), via: viaArb })
    .map(({ set, gz, via }): IdxCase => {
      const { files, expected } = validSet(set.seed, set.nTrain, set.nTest);
      KEYS.forEach((k, i) => {
        if (gz[i]) files[k] = gzip(files[k], 1);
      });
      return { kind: 'valid', files, slot: 'trainImages', via, expected, note: `gzipped: ${gz}` };
    });

  const mutated = fc
    .record({ set: setArb, slot: keyArb, muts: mutationsArb(32), gz: fc.boolean(), via: viaArb })
    .map(({ set, slot, muts, gz, via }): IdxCase => {
      const { files } = validSet(set.seed, set.nTrain, set.nTest);
      const bytes = mutate(files[slot], muts);
      files[slot] = gz ? gzip(bytes, 1) : bytes;
      return { kind: 'mutated', files, slot, via, note: `${showMutations(muts)}${gz ? ', then gzipped' : ''}` };
    });

  const mutatedGzip = fc
    .record({ set: setArb, slot: keyArb, muts: mutationsArb(24), via: viaArb })
    .map(({ set, slot, muts, via }): IdxCase => {
      const { files } = validSet(set.seed, set.nTrain, set.nTest);
      files[slot] = mutate(gzip(files[slot], 1), muts);
      return { kind: 'mutated-gzip', files, slot, via, note: `gzipped, then ${showMutations(muts)}` };
    });

  const header = fc
    .record({
      set: setArb,
      slot: keyArb,
      type: fc.oneof(
        { weight: 4, arbitrary: fc.constant(0x08) },
        { weight: 1, arbitrary: fc.constantFrom(0x09, 0x0b, 0x0c, 0x0d, 0x0e) },
        { weight: 1, arbitrary: fc.nat({ max: 255 }) },
      ),
      dims: fc.array(dimArb, { minLength: 0, maxLength: 5 }),
      rank: fc.oneof(
        { weight: 6, arbitrary: fc.constant(-1) }, // -1: the number of dims
        { weight: 1, arbitrary: fc.constantFrom(0, 255) },
        { weight: 1, arbitrary: fc.nat({ max: 255 }) },
      ),
      payload: fc.oneof(fc.constant(-1), fc.nat({ max: 3000 })), // -1: what the dims need, when small
      gz: fc.boolean(),
      via: viaArb,
    })
    .map(({ set, slot, type, dims, rank, payload, gz, via }): IdxCase => {
      const { files } = validSet(set.seed, set.nTrain, set.nTest);
      const need = dims.reduce((a, b) => a * b, 1);
      const length = payload >= 0 ? payload : need <= 20000 ? need : 100;
      const bytes = idxFile(dims, seededBytes(set.seed, length), type, rank >= 0 ? rank : dims.length);
      files[slot] = gz ? gzip(bytes, 1) : bytes;
      const note = `type 0x${type.toString(16)}, rank ${rank >= 0 ? rank : dims.length}, dims [${dims}], ${length} bytes${gz ? ', gzipped' : ''}`;
      return { kind: 'header', files, slot, via, note };
    });

  const random = fc
    .record({
      set: setArb,
      slot: keyArb,
      prefix: fc.constantFrom(
        [],
        [0x1f, 0x8b],
        [0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 3],
        [0, 0, 8, 1],
        [0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 28, 0, 0, 0, 28],
      ),
      bytes: fc.uint8Array({ maxLength: 3000 }),
      via: viaArb,
    })
    .map(({ set, slot, prefix, bytes, via }): IdxCase => {
      const { files } = validSet(set.seed, set.nTrain, set.nTest);
      files[slot] = concat(new Uint8Array(prefix), bytes);
      return { kind: 'random', files, slot, via, note: `prefix [${prefix}] + ${bytes.length} random bytes` };
    });

  const bombs = ctx.bombs.filter((b) => b.fast || options.thorough);
  const bomb = fc
    .record({ set: setArb, slot: keyArb, which: fc.nat({ max: bombs.length - 1 }), via: viaArb })
    .map(({ set, slot, which, via }): IdxCase => {
      const { files } = validSet(set.seed, set.nTrain, set.nTest);
      files[slot] = bombs[which].bytes;
      return { kind: 'bomb', files, slot, via, note: bombs[which].name };
    });

  return fc.oneof(
    { weight: 6, arbitrary: valid },
    { weight: 12, arbitrary: mutated },
    { weight: 4, arbitrary: mutatedGzip },
    { weight: 8, arbitrary: header },
    { weight: 4, arbitrary: random },
    // Rare: each is a gigabyte's worth of claims, refused after one chunk or two.
    { weight: 1, arbitrary: bomb },
  );
}

function checkLoaded(m: MnistData, c: IdxCase): void {
  const sets = [
    [m.train, m.trainLabels, 'train'],
    [m.test, m.testLabels, 'test'],
  ] as const;
  for (const [images, labels, name] of sets) {
    const n = images.shape[0];
    check(
      images.shape.length === 4 && images.shape[1] === 28 && images.shape[2] === 28 && images.shape[3] === 1,
      `${name} images have shape [${images.shape}]`,
    );
    check(n >= 1 && images.data.length === n * 784, `${name}: ${images.data.length} values for ${n} images`);
    check(labels.length === n, `${name}: ${n} images but ${labels.length} labels`);
    check(
      labels.every((l) => l <= 9),
      `${name}: a label above 9`,
    );
    for (let i = 0; i < images.data.length; i++) {
      const v = images.data[i] * 255;
      check(v >= 0 && v <= 255 && Math.abs(v - Math.round(v)) < 1e-3, `${name} pixel ${i} is ${images.data[i]}`);
    }
  }
  if (c.expected) {
    const same = (a: Float32Array, bytes: Uint8Array) =>
      a.length === bytes.length && bytes.every((b, i) => a[i] === Math.fround(b / 255));
    check(same(m.train.data, c.expected.train), 'the training images are not the file’s pixels / 255');
    check(same(m.test.data, c.expected.test), 'the test images are not the file’s pixels / 255');
    check(
      m.trainLabels.every((l, i) => l === c.expected!.trainLabels[i]),
      'the training labels differ from the file’s',
    );
    check(
      m.testLabels.every((l, i) => l === c.expected!.testLabels[i]),
      'the test labels differ from the file’s',
    );
  }
}

async function load(ctx: IdxContext, c: IdxCase): Promise<MnistData> {
  if (c.via === 'parseMnist') return parseMnist(c.files);
  const dir = join(ctx.dir, String(ctx.cases++));
  await mkdir(dir);
  try {
    for (const k of KEYS) {
      const gz = c.files[k][0] === 0x1f && c.files[k][1] === 0x8b;
      await writeFile(join(dir, MNIST_FILE_NAMES[k] + (gz ? '.gz' : '')), c.files[k]);
    }
    return await loadMnist({ dir });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export const idxTarget: FuzzTarget<IdxContext, IdxCase> = {
  name: 'idx',
  title: 'MNIST IDX files, plain and gzip (parseMnist, loadMnist, parseIdx)',
  setup: idxSetup,
  arbitrary: idxArbitrary,
  async run(ctx, c) {
    const file = c.files[c.slot];
    const gz = file[0] === 0x1f && file[1] === 0x8b;
    if (!gz) {
      // parseIdx alone: the header's claim against the bytes.
      await outcome(
        () => parseIdx(file, c.slot),
        (idx) => {
          const need = idx.dims.reduce((a, b) => a * b, 1);
          check(idx.data.length === need, `parseIdx: ${idx.data.length} bytes of data for dims [${idx.dims}]`);
        },
      );
    }
    return outcome(
      () => load(ctx, c),
      (m) => checkLoaded(m, c),
      c.kind === 'valid' ? 'ok' : c.kind === 'bomb' ? 'typed' : undefined,
    );
  },
  show(c) {
    return `${c.kind} ${c.slot} via ${c.via}: ${c.note} (${c.files[c.slot].length} bytes)`;
  },
  async teardown(ctx) {
    await rm(ctx.dir, { recursive: true, force: true });
  },
};

export type { Mutation };
