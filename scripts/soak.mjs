#!/usr/bin/env node
// @ts-check
// Long runs neither leak nor lose memory (issue 13, point 3), measured on the built package:
//
//   1. cycles: create a model → fit one batch → predict → dispose, N times
//   2. fits: fit one batch on one model, M times
//   3. dropped: create models and drop them without dispose(); the garbage collector frees
//      their Wasm memory (wasm-bindgen's FinalizationRegistry on each model handle)
//
// For each phase it prints the Wasm memory and the process RSS after a warm-up (the first
// tenth) and at the end, and their growth. Wasm memory never shrinks, so any leak shows as
// growth there; RSS is noisier (the JS heap, the OS). Run with --expose-gc so phase 3 can
// collect:
//
//   node --expose-gc scripts/soak.mjs [--cycles 1000] [--fits 10000] [--dropped 300] [--json]
import { parseArgs } from 'node:util';
import * as ae from '../dist/index.js';

const { values } = parseArgs({
  options: {
    cycles: { type: 'string', default: '1000' },
    fits: { type: 'string', default: '10000' },
    dropped: { type: 'string', default: '300' },
    json: { type: 'boolean', default: false },
  },
});
const exposed = /** @type {(() => void) | undefined} */ (globalThis.gc);
if (!exposed) throw new Error('run with node --expose-gc (phase 3 needs the garbage collector)');
const gc = exposed;

await ae.init({ threads: 1 });
const memory = () => ({ wasm: wasmBytes(), rss: process.memoryUsage().rss });
function wasmBytes() {
  return ae.memory().wasmBytes;
}
const MB = 2 ** 20;
const x = ae.tensor(
  new Float32Array(32 * 784).map((_, i) => (i % 97) / 97),
  [32, 784],
);
const results = {};

/** Runs `step` n times; measures after the first tenth and at the end. */
async function phase(name, n, step) {
  let warm = memory();
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    await step(i);
    if (i + 1 === Math.max(1, Math.floor(n / 10))) {
      gc();
      await new Promise((r) => setTimeout(r, 10));
      warm = memory();
    }
  }
  gc();
  await new Promise((r) => setTimeout(r, 10));
  const end = memory();
  const r = {
    iterations: n,
    seconds: (performance.now() - started) / 1000,
    wasmAfterWarmupMB: warm.wasm / MB,
    wasmEndMB: end.wasm / MB,
    wasmGrowthPercent: (100 * (end.wasm - warm.wasm)) / warm.wasm,
    rssAfterWarmupMB: warm.rss / MB,
    rssEndMB: end.rss / MB,
    rssGrowthPercent: (100 * (end.rss - warm.rss)) / warm.rss,
  };
  results[name] = r;
  if (!values.json) {
    console.log(
      `${name}: ${n} in ${r.seconds.toFixed(1)} s; Wasm memory ${r.wasmAfterWarmupMB.toFixed(1)} → ${r.wasmEndMB.toFixed(1)} MB ` +
        `(${r.wasmGrowthPercent.toFixed(2)} %), RSS ${r.rssAfterWarmupMB.toFixed(0)} → ${r.rssEndMB.toFixed(0)} MB (${r.rssGrowthPercent.toFixed(2)} %)`,
    );
  }
}

await phase('cycles', Number(values.cycles), async (i) => {
  const m = ae.vanilla({ seed: i });
  await m.fit(x, x, { batchSize: 32 });
  m.predict(x);
  m.dispose();
});

const model = ae.vanilla({ seed: 1 });
await phase('fits', Number(values.fits), async () => {
  await model.fit(x, x, { batchSize: 32 });
});
model.dispose();

// Each deep model holds 18 MB of Wasm memory (1.15 M parameters × 4 buffers): 300 of them
// leaked would be 5.4 GB, past the 4 GiB a module can address.
await phase('dropped', Number(values.dropped), async (i) => {
  const m = ae.deep({ seed: i });
  m.predict(x);
  if (i % 10 === 9) {
    gc();
    await new Promise((r) => setTimeout(r, 0)); // let the finalizers run
  }
});

if (values.json) console.log(JSON.stringify(results));
