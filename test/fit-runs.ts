// Small seeded training runs that cover the threads build's split paths (Dense and Conv2D
// layers across threads, a validation split, a shuffle seed, per-batch input noise), and
// their reference: the same runs on the main thread of a Node process with
// init({ threads }) (test/threads-run.mjs). A trainer's worker (test/worker-threads.test.ts)
// and Chromium (test/browser-threads.test.ts) must reproduce it bit for bit.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { History, PresetName } from '../ts/index.js';
import { runNode } from './harness.js';
import { randomArray } from './reference64.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface FitRun {
  preset: PresetName;
  options: Record<string, unknown>;
  shape: number[];
  /** Float32 values as plain numbers: they cross JSON exactly. */
  x: number[];
  fit: Record<string, unknown>;
}

export interface ThreadsReference {
  threads: number;
  runs: { history: History; weights: number[][] }[];
}

const samples = (shape: number[], seed: number) =>
  Array.from(
    Float32Array.from(
      randomArray(
        shape.reduce((a, b) => a * b, 1),
        seed,
      ),
    ),
  );

export const FIT_RUNS: FitRun[] = [
  {
    preset: 'vanilla',
    options: { seed: 1, encodingSize: 16 },
    shape: [32, 784],
    x: samples([32, 784], 21),
    // One batch of 24 × 784 outputs: more than one loss chunk (16,384); 25,888 parameters:
    // Adam splits them too.
    fit: { epochs: 1, batchSize: 32, seed: 7, validationSplit: 0.25 },
  },
  {
    preset: 'convolutional',
    options: { seed: 2 },
    shape: [12, 28, 28, 1],
    x: samples([12, 28, 28, 1], 22),
    fit: { epochs: 1, batchSize: 6, seed: 3, inputNoise: { std: 0.1 } },
  },
];

/** FIT_RUNS on the main thread of a Node process with init({ threads }), against dist/. */
export async function mainThreadReference(threads: number): Promise<ThreadsReference> {
  const child = await runNode([join(ROOT, 'test', 'threads-run.mjs'), String(threads), 'fit'], {
    cwd: ROOT,
    stdin: JSON.stringify({ runs: FIT_RUNS }),
  });
  if (child.code !== 0)
    throw new Error(`test/threads-run.mjs ${threads} fit exited with ${child.code}\n${child.stderr}`);
  return JSON.parse(child.stdout) as ThreadsReference;
}
