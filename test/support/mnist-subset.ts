// A small MNIST in a directory, as IDX files (what `--data DIR` and `loadMnist({ dir })`
// read): the first `train` training and `test` test images of the bundled set, so the CLI
// and example tests train in seconds on real digits.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadMnist } from '../../ts/mnist.js';
import type { Tensor } from '../../ts/tensor.js';

function idx(magic: number, dims: number[], bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + bytes.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, magic);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d));
  out.set(bytes, 4 + 4 * dims.length);
  return out;
}

/** Pixels back to the bytes they were read from (loadMnist divides by 255). */
function pixels(t: Tensor, n: number): Uint8Array {
  return Uint8Array.from(t.data.subarray(0, n * 784), (v) => Math.round(v * 255));
}

export async function writeMnistSubset(dir: string, counts: { train: number; test: number }): Promise<string> {
  const m = await loadMnist();
  await mkdir(dir, { recursive: true });
  const files: [string, Uint8Array][] = [
    ['train-images-idx3-ubyte', idx(0x803, [counts.train, 28, 28], pixels(m.train, counts.train))],
    ['train-labels-idx1-ubyte', idx(0x801, [counts.train], m.trainLabels.subarray(0, counts.train))],
    ['t10k-images-idx3-ubyte', idx(0x803, [counts.test, 28, 28], pixels(m.test, counts.test))],
    ['t10k-labels-idx1-ubyte', idx(0x801, [counts.test], m.testLabels.subarray(0, counts.test))],
  ];
  for (const [name, bytes] of files) await writeFile(join(dir, name), bytes);
  return dir;
}
