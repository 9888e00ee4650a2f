// Test harness shared by the Node-project tests that leave the test process: child Node
// processes, a static file server on 127.0.0.1, and pages in headless Chromium (Debian's,
// through Playwright; never a downloaded browser).
import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import type { Browser } from 'playwright';

/** Runs a Node script; resolves with its output once it exits (a hang fails the test by timeout). */
export function runNode(
  args: string[],
  opts: { cwd: string; stdin?: string; timeoutMs?: number },
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = execFile(
      process.execPath,
      args,
      { cwd: opts.cwd, maxBuffer: 256 * 1024 * 1024, timeout: opts.timeoutMs ?? 60_000 },
      (error, stdout, stderr) => done({ code: error ? ((error as { code?: number }).code ?? -1) : 0, stdout, stderr }),
    );
    child.stdin?.end(opts.stdin ?? '');
  });
}

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * Headers that make a page cross-origin isolated (SharedArrayBuffer, so the threads
 * build's shared memory): what a site must send to use `init({ threads })`.
 */
export const CROSS_ORIGIN_ISOLATION = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
};

/** A static file server for `dir` on 127.0.0.1 (any free port); follows symlinks. */
export async function serve(
  dir: string,
  headers: Record<string, string> = {},
): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer(async (req, res) => {
    try {
      const pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      let file = normalize(join(dir, pathname));
      if (file !== dir && !file.startsWith(dir + sep)) {
        res.writeHead(403).end();
        return;
      }
      if ((await stat(file).catch(() => undefined))?.isDirectory()) file = join(file, 'index.html');
      const body = await readFile(file);
      res.writeHead(200, {
        'content-type': MIME[extname(file)] ?? 'application/octet-stream',
        'content-length': body.byteLength,
        'cache-control': 'no-store',
        ...headers,
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', ok);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}

/** Chromium's flags for tests here: no sandbox (root in CI), no GPU, nothing that phones home. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Debian's Chromium unless CHROMIUM_PATH says otherwise; never a downloaded browser. */
export const chromiumPath = (): string => process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** Headless Chromium at {@link chromiumPath}. */
export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright');
  return chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS });
}

/**
 * Opens `url` in a fresh browser context and waits for the page to set `window.__result`.
 * Returns it with the page's problems (page errors, console errors, failed GETs, HTTP ≥ 400)
 * and every console line.
 */
export async function openPage<T>(
  browser: Browser,
  url: string,
  timeoutMs: number,
): Promise<{ result: T; problems: string[]; console: string[]; ms: number }> {
  const context = await browser.newContext();
  const problems: string[] = [];
  const lines: string[] = [];
  try {
    const page = await context.newPage();
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      lines.push(`${m.type()}: ${m.text()}`);
      if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
    });
    // init() probes the .wasm locations with HEAD requests: a 404 there is expected (it
    // tries the next location), and Chromium reports a HEAD whose (empty) body is never
    // read as net::ERR_ABORTED even when it answered 200. Only failed GETs count.
    page.on('requestfailed', (r) => {
      if (r.method() !== 'HEAD') problems.push(`request failed: ${r.method()} ${r.url()} (${r.failure()?.errorText})`);
    });
    page.on('response', (r) => {
      if (r.status() >= 400 && r.request().method() !== 'HEAD') problems.push(`HTTP ${r.status()}: ${r.url()}`);
    });
    const t0 = performance.now();
    await page.goto(url);
    await page.waitForFunction(() => (window as unknown as { __result?: unknown }).__result !== undefined, undefined, {
      timeout: timeoutMs,
    });
    const result = (await page.evaluate(() => (window as unknown as { __result: unknown }).__result)) as T;
    return { result, problems, console: lines, ms: performance.now() - t0 };
  } finally {
    await context.close();
  }
}
