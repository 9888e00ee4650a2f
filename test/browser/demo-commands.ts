// Server-side commands for the end-to-end test of the demo page (test/browser/demo.test.ts).
// They run in Node inside Vitest and drive a second Chromium page through Playwright: the
// demo is served by the real demo server (scripts/serve-demo.mjs), not by Vite.
import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright';
import type { BrowserCommand } from 'vitest/node';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

interface Session {
  page: Page;
  close: () => Promise<void>;
  problems: string[];
}

const sessions = new Map<string, Session>();

function session(sessionId: string): Session {
  const s = sessions.get(sessionId);
  if (!s) throw new Error('call demoOpen first');
  return s;
}

type PlaywrightContext = {
  context: { browser(): { newPage(opts?: object): Promise<Page> } | null };
};

/**
 * Starts the demo server on a free port and opens `url + query` in a new page. Returns the URL.
 * A page still open from an earlier test of the session (one that failed before demoClose) is
 * closed first, so its server does not outlive the run.
 */
const demoOpen: BrowserCommand<[query?: string]> = async (ctx, query = '') => {
  const previous = sessions.get(ctx.sessionId);
  if (previous) {
    sessions.delete(ctx.sessionId);
    await previous.close();
  }
  const { startDemoServer } = (await import(resolve(ROOT, 'scripts', 'serve-demo.mjs'))) as {
    startDemoServer(o: { port: number }): Promise<{ url: string; close(): Promise<void> }>;
  };
  const server = await startDemoServer({ port: 0 });
  const browser = (ctx as unknown as PlaywrightContext).context.browser();
  if (!browser) throw new Error('no browser to open the demo in');
  const page = await browser.newPage({
    viewport: { width: 1280, height: 900 },
  });
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console.error: ${m.text()}`);
  });
  page.on('requestfailed', (r) => {
    // init() probes the .wasm with a HEAD request; Chromium reports a HEAD from a worker as
    // "aborted" once its (empty) body is dropped, although it answered 200 (the GET follows).
    if (r.method() === 'HEAD' && r.failure()?.errorText === 'net::ERR_ABORTED') return;
    problems.push(`request failed: ${r.method()} ${r.url()} ${r.failure()?.errorText ?? ''}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.request().method()} ${r.url()}`);
  });
  page.on('request', (r) => {
    // blob: URLs are the page's own objects (the threads build starts its helper workers
    // from a Blob), not requests that leave the page's origin.
    const local = r.url().startsWith(server.url.replace(/\/examples\/browser\/$/, '/')) || r.url().startsWith('blob:');
    if (!local) problems.push(`external request: ${r.url()}`);
  });
  sessions.set(ctx.sessionId, {
    page,
    problems,
    close: async () => {
      await page.context().close();
      await server.close();
    },
  });
  const url = server.url + query;
  await page.goto(url);
  return url;
};

/** Clicks an element of the demo page. */
const demoClick: BrowserCommand<[selector: string]> = async (ctx, selector) => {
  await session(ctx.sessionId).page.click(selector);
};

/** Chooses an option of a <select>. */
const demoSelect: BrowserCommand<[selector: string, value: string]> = async (ctx, selector, value) => {
  await session(ctx.sessionId).page.selectOption(selector, value);
};

/** Waits until a JS expression is truthy in the demo page; rejects with the page's state on timeout. */
const demoWaitFor: BrowserCommand<[expression: string, timeoutMs: number]> = async (ctx, expression, timeoutMs) => {
  const { page } = session(ctx.sessionId);
  try {
    await page.waitForFunction(expression, undefined, {
      timeout: timeoutMs,
      polling: 100,
    });
  } catch (e) {
    const state = await page.evaluate('JSON.stringify(window.demo)').catch(() => 'unavailable');
    throw new Error(
      `timed out waiting for ${expression}; window.demo = ${state}; ${(e as Error).message.split('\n')[0]}`,
    );
  }
};

/** Evaluates a JS expression in the demo page and returns its (JSON-serializable) value. */
const demoEval: BrowserCommand<[expression: string]> = async (ctx, expression) => {
  return session(ctx.sessionId).page.evaluate(expression);
};

/** Draws a stroke on an element (the pad) with the mouse, coordinates relative to the element. */
const demoDraw: BrowserCommand<[selector: string, points: [number, number][]]> = async (ctx, selector, points) => {
  const { page } = session(ctx.sessionId);
  const box = await page.locator(selector).boundingBox();
  if (!box) throw new Error(`${selector} is not visible`);
  const [first, ...rest] = points;
  await page.mouse.move(box.x + first[0], box.y + first[1]);
  await page.mouse.down();
  for (const [x, y] of rest) await page.mouse.move(box.x + x, box.y + y, { steps: 4 });
  await page.mouse.up();
};

/** Saves a full-page screenshot (path relative to the repository) and returns its absolute path. */
const demoScreenshot: BrowserCommand<[path: string]> = async (ctx, path) => {
  const file = resolve(ROOT, path);
  await mkdir(dirname(file), { recursive: true });
  await session(ctx.sessionId).page.screenshot({ path: file, fullPage: true });
  return file;
};

/** Closes the page and the server; returns the page errors, console errors and failed or external requests seen. */
const demoClose: BrowserCommand<[]> = async (ctx) => {
  const s = sessions.get(ctx.sessionId);
  if (!s) return [];
  sessions.delete(ctx.sessionId);
  await s.close();
  return s.problems;
};

export const demoCommands = {
  demoOpen,
  demoClick,
  demoSelect,
  demoWaitFor,
  demoEval,
  demoDraw,
  demoScreenshot,
  demoClose,
};
