/**
 * The largest inputs each parser accepts, for scripts/fuzz.ts --largest: the time and
 * memory that the caps (64 MiB decompressed per IDX file, 2^26 pixels per PNG) allow, which
 * the small fuzz cases never reach. The files are written once, then each is loaded in a
 * process of its own, so its memory peak is that file's.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync, gzipSync } from 'node:zlib';
import { prepareDigit } from '../../ts/images/digit.js';
import { MAX_IMAGE_PIXELS } from '../../ts/images/image.js';
import { MAX_GUNZIPPED_IDX_BYTES, parseMnist } from '../../ts/mnist.js';
import { decodePng } from '../../ts/node/png.js';
import { idxFile } from './idx-target.js';
import { concat, seededBytes } from './mutate.js';
import { chunk, ihdr, SIGNATURE } from './png-encoder.js';

export interface LargestFile {
  name: string;
  kind: 'idx' | 'png';
  path: string;
  bytes: number;
}

export interface LargestResult extends LargestFile {
  /** What it loaded as, or the error. */
  result: string;
  ms: number;
  /** RSS once the file was read, before parsing; the process's peak RSS after. */
  rssBeforeMiB: number;
  peakRssMiB: number;
}

export const LARGEST_DIR = join(tmpdir(), 'wasm-autoencoders-fuzz-largest');
const MANIFEST = join(LARGEST_DIR, 'manifest.json');
const IMAGES = Math.floor((MAX_GUNZIPPED_IDX_BYTES - 16) / 784);

/** A PNG of `side` × `side` pixels whose every row is `row` (filter 0). */
function squarePng(side: number, depth: number, colorType: number, row: Uint8Array): Uint8Array {
  const line = concat(new Uint8Array([0]), row);
  const raw = new Uint8Array(line.length * side);
  for (let y = 0; y < side; y++) raw.set(line, y * line.length);
  const idat = new Uint8Array(deflateSync(raw, { level: 1 }));
  return concat(
    SIGNATURE,
    ihdr(side, side, depth, colorType, 0),
    chunk('IDAT', idat),
    chunk('IEND', new Uint8Array(0)),
  );
}

/** Writes the files; returns the manifest. */
export async function writeLargest(): Promise<LargestFile[]> {
  await mkdir(LARGEST_DIR, { recursive: true });
  const files: LargestFile[] = [];
  const add = async (name: string, kind: 'idx' | 'png', file: string, bytes: Uint8Array) => {
    const path = join(LARGEST_DIR, file);
    await writeFile(path, bytes);
    files.push({ name, kind, path, bytes: bytes.length });
  };
  // Random pixels: incompressible, so the file is as large as the data (the most to inflate).
  const images = idxFile([IMAGES, 28, 28], seededBytes(1, IMAGES * 784));
  await add(
    `gzipped IDX, ${IMAGES} images (${images.length} bytes decompressed: the cap)`,
    'idx',
    'train-images.gz',
    new Uint8Array(gzipSync(images, { level: 1 })),
  );
  const side = Math.sqrt(MAX_IMAGE_PIXELS);
  // A stroke down the middle (black, opaque) on white, so prepareDigit has ink to work on.
  const stroke = (bytesPerPixel: number, white: number[], ink: number[]) => {
    const row = new Uint8Array(side * bytesPerPixel);
    for (let x = 0; x < side; x++) row.set(Math.abs(x - side / 2) < 200 ? ink : white, x * bytesPerPixel);
    return row;
  };
  await add(
    `${side} × ${side} RGBA, random pixels`,
    'png',
    'rgba-noise.png',
    squarePng(side, 8, 6, seededBytes(3, side * 4)),
  );
  // 8 bytes a pixel: the most memory an image of this size takes to decode.
  await add(
    `${side} × ${side} 16-bit RGBA, a stroke`,
    'png',
    'rgba16.png',
    squarePng(side, 16, 6, stroke(8, [255, 255, 255, 255, 255, 255, 255, 255], [0, 0, 0, 0, 0, 0, 255, 255])),
  );
  await add(`${side} × ${side} 8-bit grey, a stroke`, 'png', 'grey8.png', squarePng(side, 8, 0, stroke(1, [255], [0])));
  const bits = new Uint8Array(side / 8).fill(0xff);
  bits.fill(0, side / 16 - 25, side / 16 + 25);
  await add(`${side} × ${side} 1-bit grey, a stroke`, 'png', 'grey1.png', squarePng(side, 1, 0, bits));
  await writeFile(MANIFEST, JSON.stringify(files));
  return files;
}

/** Loads the `index`-th file of the manifest (in a fresh process): decodePng + prepareDigit, or parseMnist. */
export async function loadLargest(index: number): Promise<LargestResult> {
  const file = (JSON.parse(await readFile(MANIFEST, 'utf8')) as LargestFile[])[index];
  const bytes = new Uint8Array(await readFile(file.path));
  const labels = idxFile(
    [IMAGES],
    seededBytes(2, IMAGES).map((b) => b % 10),
  );
  const one = { testImages: idxFile([1, 28, 28], new Uint8Array(784)), testLabels: idxFile([1], new Uint8Array(1)) };
  const rssBeforeMiB = process.memoryUsage.rss() / 2 ** 20;
  const t0 = performance.now();
  let result: string;
  try {
    if (file.kind === 'idx') {
      const m = await parseMnist({ trainImages: bytes, trainLabels: labels, ...one });
      result = `loaded [${m.train.shape}]`;
    } else {
      const image = decodePng(bytes, file.name);
      const digit = prepareDigit(image);
      result = `decoded ${image.width}×${image.height}, prepareDigit gave [${digit.shape}]`;
    }
  } catch (e) {
    result = `${(e as Error).name}: ${(e as Error).message}`;
  }
  const ms = performance.now() - t0;
  return { ...file, result, ms, rssBeforeMiB, peakRssMiB: (process.resourceUsage().maxRSS * 1024) / 2 ** 20 };
}
