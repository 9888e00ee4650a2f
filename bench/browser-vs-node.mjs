#!/usr/bin/env node
// Chromium vs Node for the same training run (issue 3: "browser within 15 % of Node").
// The same function trains each model on the same synthetic data for a few batches of 256
// in Node (dist/) and in headless Chromium (dist/browser/, served on 127.0.0.1), alternating
// the two several times so both see the same machine load; prints median ms per batch.
//
//   npm run build && node bench/browser-vs-node.mjs [--batches 8] [--rounds 3] [--models vanilla,deep,convolutional] [--json out.json]
import { createServer } from 'node:http';
import { readFile, writeFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright';

const { values } = parseArgs({
  options: {
    batches: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '3' },
    models: { type: 'string', default: 'vanilla,deep,convolutional' },
    json: { type: 'string' },
  },
});
const batches = Number(values.batches);
const rounds = Number(values.rounds);
const models = values.models.split(',');
const root = fileURLToPath(new URL('..', import.meta.url));

/** Runs in both places: median ms per training batch after two warm-up batches. */
async function measure(ae, name, batches) {
  await ae.init({ threads: 1 });
  const model = ae[name]({ seed: 1 });
  const shape = name === 'vanilla' || name === 'deep' ? [784] : [28, 28, 1];
  const n = (batches + 2) * 256;
  const data = new Float32Array(n * 784);
  let s = 1;
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    data[i] = (s >>> 8) / 16777216;
  }
  const x = ae.tensor(data, [n, ...shape]);
  const stamps = [];
  await model.fit(x, x, { batchSize: 256, shuffle: false, onBatchEnd: () => void stamps.push(performance.now()) });
  model.dispose();
  const perBatch = stamps
    .slice(2)
    .map((t, i) => t - stamps[i + 1])
    .sort((a, b) => a - b);
  return perBatch[perBatch.length >> 1];
}

const types = { '.js': 'text/javascript', '.html': 'text/html', '.wasm': 'application/wasm' };
const server = createServer(async (req, res) => {
  const path = normalize(join(root, decodeURIComponent(new URL(req.url, 'http://x').pathname)));
  if (!path.startsWith(root)) return void res.writeHead(403).end();
  try {
    const body = req.url === '/' ? '<!doctype html><title>bench</title>' : await readFile(path);
    res.writeHead(200, { 'content-type': types[extname(path)] ?? 'text/html' }).end(body);
  } catch {
    res.writeHead(404).end();
  }
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const origin = `http://127.0.0.1:${server.address().port}`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
  ],
});
try {
  const page = await browser.newPage();
  await page.goto(origin);
  await page.evaluate(async () => {
    window.ae = await import('/dist/browser/index.js');
  });
  const node = await import(pathToFileURL(join(root, 'dist/index.js')).href);
  const browserVersion = browser.version();
  console.log(
    `Node ${process.version} vs Chromium ${browserVersion}; ${batches} timed batches of 256, ${rounds} alternating rounds; median ms per batch\n`,
  );
  console.log('| model | Node | Chromium | Chromium / Node |');
  console.log('|---|---|---|---|');
  const result = { node: process.version, chromium: browserVersion, batches, rounds, models: {} };
  for (const name of models) {
    const inNode = [];
    const inBrowser = [];
    for (let r = 0; r < rounds; r++) {
      // Vanilla's batches take ~4 ms: six times as many, so a round lasts as long as the others'.
      const n = name === 'vanilla' ? 6 * batches : batches;
      inNode.push(await measure(node, name, n));
      inBrowser.push(await page.evaluate(`(${measure.toString()})(window.ae, ${JSON.stringify(name)}, ${n})`));
    }
    const best = (v) => Math.min(...v);
    const [a, b] = [best(inNode), best(inBrowser)];
    console.log(`| ${name} | ${a.toFixed(1)} | ${b.toFixed(1)} | ${(b / a).toFixed(2)} |`);
    result.models[name] = { nodeMs: a, chromiumMs: b, nodeRounds: inNode, chromiumRounds: inBrowser };
  }
  if (values.json) await writeFile(values.json, JSON.stringify(result, null, 2));
} finally {
  await browser.close();
  server.close();
}
