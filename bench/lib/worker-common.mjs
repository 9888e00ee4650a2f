// @ts-check
// Shared by the per-peer worker processes: argument parsing, data loading from the .npy files
// bench/run.mjs wrote, the result line, timing helpers. Each peer × model runs in its own
// process so that its peak RSS (getrusage maxrss) is its own.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readNpyRows } from './npy.mjs';
import { isDense } from './models.mjs';

export function workerArgs(extra = {}) {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      data: { type: 'string' },
      mode: { type: 'string', default: 'speed' },
      warmup: { type: 'string', default: '1' },
      batches: { type: 'string', default: '10' },
      budget: { type: 'string', default: '20' },
      'infer-images': { type: 'string', default: '10000' },
      'infer-budget': { type: 'string', default: '10' },
      epochs: { type: 'string', default: '1' },
      seed: { type: 'string', default: '1' },
      ...extra,
    },
  });
  return {
    ...values,
    warmup: Number(values.warmup),
    batches: Number(values.batches),
    budget: Number(values.budget),
    inferImages: Number(values['infer-images']),
    inferBudget: Number(values['infer-budget']),
    epochs: Number(values.epochs),
    seed: Number(values.seed),
  };
}

/**
 * Training inputs and targets for `model`, `count` rows from the start of the 48,000
 * training images: denoising learns noisy → clean, the others x → x. Dense models see [n, 784].
 */
export function loadTrain(dataDir, model, count) {
  const clean = readNpyRows(join(dataDir, 'x_train.npy'), 0, count);
  const x = model === 'denoising' ? readNpyRows(join(dataDir, 'x_train_noisy.npy'), 0, count) : clean;
  return {
    x: x.data,
    y: clean.data,
    n: clean.shape[0],
    sampleShape: isDense(model) ? [784] : [28, 28, 1],
  };
}

export function loadTest(dataDir, model, count) {
  const clean = readNpyRows(join(dataDir, 'x_test.npy'), 0, count);
  const x = model === 'denoising' ? readNpyRows(join(dataDir, 'x_test_noisy.npy'), 0, count) : clean;
  return {
    x: x.data,
    y: clean.data,
    n: clean.shape[0],
    sampleShape: isDense(model) ? [784] : [28, 28, 1],
  };
}

export const rssMB = () => process.memoryUsage().rss / 2 ** 20;
/**
 * Peak RSS of this process image: VmHWM from /proc/self/status. Not getrusage's maxrss, which
 * Linux carries over from the parent across fork + exec (it would report bench/run.mjs's own
 * peak, MNIST included, for every child).
 */
export function peakRssMB() {
  try {
    const kb = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (kb) return Number(kb[1]) / 1024;
  } catch {
    /* not Linux */
  }
  return process.resourceUsage().maxRSS / 1024;
}

export function summarizeBatches(ms) {
  if (ms.length === 0) return null;
  const sorted = ms.slice().sort((a, b) => a - b);
  const mean = ms.reduce((a, b) => a + b, 0) / ms.length;
  const h = Math.floor(sorted.length / 2);
  const medianMs = sorted.length % 2 ? sorted[h] : (sorted[h - 1] + sorted[h]) / 2;
  return {
    count: ms.length,
    meanMs: mean,
    medianMs,
    minMs: sorted[0],
    maxMs: sorted.at(-1),
    allMs: ms,
  };
}

/** Prints the one line bench/run.mjs reads. */
export function emit(result) {
  // Exit once written: helper threads (worker_threads) must not keep the process alive.
  process.stdout.write(`BENCH_RESULT ${JSON.stringify(result)}\n`, () => process.exit(0));
}

export const log = (...a) => console.error(...a);
