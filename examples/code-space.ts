/**
 * What the autoencoder learned: the codes of the test images projected to 2-D (UMAP with
 * the npm package umap-js; PCA when it is not installed or with --projection pca) and
 * drawn as a scatter plot coloured by the digit. Writes into --out:
 *
 *   code-space.svg    the scatter plot
 *   code-space.json   the run (model, projection, points)
 *
 *   npx tsx examples/run.ts code-space [--model deep|vanilla|convolutional] [--from pretrained|train]
 *       [--projection umap|pca] [--points 5000] [--epochs 5] ...
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ae from 'wasm-autoencoders';
import { scatterChart, writeSvg } from './lib/charts.js';
import { flat, head, mnist } from './lib/data.js';
import { parseExampleArgs, usageError } from './lib/options.js';
import { pcaProject } from './lib/pca.js';

const USAGE = `usage: npx tsx examples/run.ts code-space [flags]
  --model NAME        deep (default; a 64-number code), vanilla or convolutional (4×4×8)
  --from pretrained   the shipped 50-epoch model (default), or 'train' to train --epochs first
  --projection umap   umap (default, umap-js) or pca
  --points N          test images to project (default 5000)
  and --epochs (default 5), --batch-size, --seed, --threads, --out, --limit as the tutorial`;

async function project(codes: Float32Array, n: number, d: number, method: string, seed: number) {
  if (method === 'umap') {
    try {
      const { UMAP } = await import('umap-js');
      const rows = Array.from({ length: n }, (_, i) => Array.from(codes.subarray(i * d, (i + 1) * d)));
      let state = seed + 1; // umap-js takes a random() function: a seeded LCG, for a repeatable picture
      const random = () => (state = (state * 1664525 + 1013904223) >>> 0) / 2 ** 32;
      const umap = new UMAP({ nComponents: 2, nNeighbors: 15, minDist: 0.1, random });
      const xy = umap.fit(rows);
      return { method: 'umap', x: xy.map((p) => p[0]), y: xy.map((p) => p[1]) };
    } catch (e) {
      if ((e as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw e;
      console.log('umap-js is not installed: projecting with PCA instead');
    }
  }
  const [x, y] = pcaProject(codes, n, d);
  return { method: 'pca', x: Array.from(x), y: Array.from(y) };
}

export async function main(argv: string[]): Promise<void> {
  const {
    common: o,
    values,
    help,
  } = parseExampleArgs(
    argv,
    {
      model: { type: 'string', default: 'deep' },
      from: { type: 'string', default: 'pretrained' },
      projection: { type: 'string', default: 'umap' },
      points: { type: 'string', default: '5000' },
    },
    5,
  );
  if (help) return void console.log(USAGE);
  const name = values.model as 'deep' | 'vanilla' | 'convolutional';
  if (!['deep', 'vanilla', 'convolutional'].includes(name)) throw usageError(`--model: unknown model '${name}'`);
  if (!['pretrained', 'train'].includes(values.from as string)) throw usageError(`--from must be pretrained or train`);
  if (!['umap', 'pca'].includes(values.projection as string)) throw usageError(`--projection must be umap or pca`);
  const points = Number(values.points);
  if (!Number.isInteger(points) || points < 10) throw usageError(`--points must be an integer ≥ 10`);

  await ae.init({ threads: o.threads });
  const data = await mnist(o.limit);
  const shape = (t: ae.Tensor) => (name === 'convolutional' ? t : flat(t));
  let model: ae.Autoencoder;
  if (values.from === 'pretrained') {
    model = await ae.pretrained(name);
  } else {
    model = ae[name]({ seed: o.seed });
    console.log(`training ${name} for ${o.epochs} epoch(s) on ${data.train.shape[0]} images`);
    await model.fit(shape(data.train), shape(data.train), { epochs: o.epochs, batchSize: o.batchSize, seed: o.seed });
  }
  const test = head(shape(data.test), points);
  const n = test.shape[0];
  const codes = model.encode(test);
  model.dispose();
  const d = codes.data.length / n;
  const started = performance.now();
  const p = await project(codes.data, n, d, values.projection as string, o.seed);
  const seconds = (performance.now() - started) / 1000;
  console.log(`${n} codes of ${d} numbers projected to 2-D with ${p.method} in ${seconds.toFixed(1)} s`);

  await mkdir(o.out, { recursive: true });
  const digits = Array.from(data.testLabels.subarray(0, n));
  const title = `${n} MNIST test digits in the ${d}-number code space of ${name} (${p.method})`;
  const chartPoints = digits.map((digit, i) => ({ x: p.x[i], y: p.y[i], digit }));
  await writeSvg(join(o.out, 'code-space.svg'), scatterChart(title, chartPoints));
  const record = {
    command: `npx tsx examples/run.ts code-space ${argv.join(' ')}`.trim(),
    date: new Date().toISOString(),
    model: name,
    from: values.from,
    projection: p.method,
    codeSize: d,
    points: n,
    projectionSeconds: seconds,
  };
  await writeFile(join(o.out, 'code-space.json'), JSON.stringify(record, null, 2) + '\n');
  console.log(`figure: ${join(o.out, 'code-space.svg')}`);
}
