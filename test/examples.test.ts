// The examples, run as a user runs them (`npx tsx examples/run.ts <name>`, importing the
// built package by its name), on a small subset: 300 images, 1 epoch. Each figure must
// decode and have the size the example promises.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, ROOT } from './support/dist.js';

let out: string;
const TSX = join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');

function example(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [TSX, 'examples/run.ts', ...args, '--out', out, '--threads', '1'],
      { cwd: ROOT, timeout: 240_000, maxBuffer: 64 * 2 ** 20 },
      (error, stdout, stderr) =>
        done({ code: error ? Number((error as { code?: number }).code ?? -1) : 0, stdout, stderr }),
    );
  });
}

async function png(name: string): Promise<[number, number]> {
  const p = PNG.sync.read(await readFile(join(out, name)));
  return [p.width, p.height];
}

async function svg(name: string): Promise<string> {
  const text = await readFile(join(out, name), 'utf8');
  expect(text.startsWith('<svg')).toBe(true);
  expect(text.trimEnd().endsWith('</svg>')).toBe(true);
  return text;
}

// 10 digits of 28×28 at 4× (112 px) with 8-pixel gaps: 10·112 + 11·8 wide; rows·112 + (rows+1)·8 tall.
const GRID_WIDTH = 10 * 112 + 11 * 8;
const gridHeight = (rows: number) => rows * 112 + (rows + 1) * 8;

beforeAll(async () => {
  assertBuilt(['index.js', 'node.js', 'browser/models/deep.wae']);
  out = await mkdtemp(join(tmpdir(), 'wae-examples-'));
});

afterAll(async () => {
  if (out) await rm(out, { recursive: true, force: true });
});

describe('the tutorial examples', () => {
  for (const [name, rows] of [
    ['vanilla', 2],
    ['deep', 2],
    ['convolutional', 2],
    ['denoising', 3],
  ] as const) {
    it(`${name}: the figure (${rows} rows of 10 digits), the loss chart and the run record`, async () => {
      const r = await example([name, '--epochs', '2', '--limit', '300']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(await png(`${name}.png`)).toEqual([GRID_WIDTH, gridHeight(rows)]);
      const chart = await svg(`${name}-loss.svg`);
      expect(chart).toContain('validation');
      const record = JSON.parse(await readFile(join(out, `${name}.json`), 'utf8'));
      expect(record.loss).toHaveLength(2);
      expect(record.valLoss).toHaveLength(2);
      expect(record.trainImages).toBe(300);
      expect(record.testMse).toBeGreaterThan(0);
      expect(record.testMse).toBeLessThan(0.2);
      if (name === 'denoising') expect(record.noisyInputMse).toBeGreaterThan(0);
      expect(r.stdout).toMatch(new RegExp(`\\| ${name} \\| [\\d,]+ \\|`)); // the report table
    });
  }
});

describe('anomalies and code-space', () => {
  it('anomalies: an AUC in [0, 1], the most/least anomalous grid and the ROC chart', async () => {
    const r = await example(['anomalies', '--epochs', '1', '--limit', '300']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const record = JSON.parse(await readFile(join(out, 'anomalies.json'), 'utf8'));
    expect(record.auc).toBeGreaterThanOrEqual(0);
    expect(record.auc).toBeLessThanOrEqual(1);
    expect(record.trainImages).toBeLessThan(300); // the 9s were left out
    expect(await png('anomalies.png')).toEqual([GRID_WIDTH, gridHeight(2)]);
    await svg('anomalies-roc.svg');
    // The most anomalous come first: their errors are at least the least anomalous ones'.
    expect(record.mostAnomalous.at(-1).mse).toBeGreaterThanOrEqual(record.leastAnomalous[0].mse);
  });

  it('code-space: a scatter plot of the pretrained deep model codes, by UMAP and by PCA', async () => {
    for (const projection of ['umap', 'pca']) {
      const r = await example(['code-space', '--projection', projection, '--points', '200', '--limit', '300']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const chart = await svg('code-space.svg');
      // One mark per point (the legend adds its own symbols).
      expect(chart.match(/<path transform="translate\(/g)?.length ?? 0).toBeGreaterThanOrEqual(200);
      const record = JSON.parse(await readFile(join(out, 'code-space.json'), 'utf8'));
      expect(record.projection).toBe(projection);
      expect(record.points).toBe(200);
    }
  });

  it('a bad flag is exit 2 naming it, an unknown example exit 2', async () => {
    const bad = await example(['vanilla', '--epochs', 'many']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--epochs/);
    const unknown = await example(['nonsense']);
    expect(unknown.code).toBe(2);
  });
});
