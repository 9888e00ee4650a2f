// Training speed of the threads build: ms per batch of 256 for vanilla, deep and
// convolutional, 1 thread (the single-thread module) vs N threads (init({ threads: N })),
// side by side in one run, on the same data. A thread count is fixed per process, so each
// measurement runs in a child process; runs alternate (1, N, 1, N, ...) so that load from
// other users of the machine hits both alike, and the best run of each is reported.
// A second table comes from one process with the threads module whose pool is paused
// (1 thread, the layers' single-thread path) and resumed on alternate batches
// (threadPoolPause), which shares out fluctuating load from other users most fairly.
//
//   npm run build && node crate/dev/threads_speed.mjs [--threads 2] [--rounds 3] [--batches 12] [--json out.json]
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { cpus } from 'node:os';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const BATCH = 256;
const MODELS = ['vanilla', 'deep', 'convolutional'];
// Vanilla's batches take ~4 ms: six times as many of them, so its runs last as long as the
// others' and a short burst of load on a shared machine moves its median less.
const batchesFor = (name, batches) => (name === 'vanilla' ? 6 * batches : batches);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
function makeData(name, n) {
  const x = new Float32Array(n * 784);
  let s = 12345;
  for (let i = 0; i < x.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    x[i] = (s >>> 8) / 2 ** 24;
  }
  return x;
}

/** The model and its training data (synthetic, the same in every process) for `batches` batches. */
function modelAndData(sdk, name, batches) {
  const shape = name === 'convolutional' ? [28, 28, 1] : [784];
  const n = BATCH * batchesFor(name, batches);
  const x = makeData(name, n);
  return {
    model: sdk[name]({ seed: 1 }),
    x,
    shape,
    t: sdk.tensor(x, [n, ...shape]),
  };
}

if (args[0] === '--alternate') {
  const threads = Number(args[1]);
  const batches = Number(args[2]);
  const dist = new URL('../../dist/', import.meta.url);
  const sdk = await import(new URL('index.js', dist).href);
  // The threads module with the pool's test switches (threadPoolPause): TEST_HOOKS=1
  // scripts/build.sh builds it into pkg-threads-hooks/; the release build has no such export.
  const hooks = new URL('../../pkg-threads-hooks/', import.meta.url);
  const glueUrl = new URL('wasm_autoencoders.js', hooks).href;
  await sdk.init({
    threads,
    threadsSource: readFileSync(new URL('wasm_autoencoders_bg.wasm', hooks)),
    threadsGlue: glueUrl,
  });
  // The SDK loaded this same file by URL: the same module instance, the same pool.
  const glue = await import(glueUrl);
  const out = {};
  for (const name of MODELS) {
    const { model, t } = modelAndData(sdk, name, batches);
    const times = { 1: [], [threads]: [] };
    let paused = true;
    glue.threadPoolPause(paused);
    let last = performance.now();
    await model.fit(t, t, {
      batchSize: BATCH,
      epochs: 2,
      seed: 3,
      onBatchEnd: () => {
        const now = performance.now();
        times[sdk.threadCount() === 1 || paused ? 1 : threads].push(now - last);
        paused = !paused;
        glue.threadPoolPause(paused);
        last = performance.now();
      },
    });
    glue.threadPoolPause(false);
    // The first batch of each mode is a warm-up.
    out[name] = { 1: times[1].slice(1), [threads]: times[threads].slice(1) };
    model.dispose();
  }
  process.stdout.write(JSON.stringify(out));
  process.exit(0);
}

if (args[0] === '--child') {
  const threads = Number(args[1]);
  const batches = Number(args[2]);
  const sdk = await import(pathToFileURL(fileURLToPath(new URL('../../dist/index.js', import.meta.url))).href);
  await sdk.init({ threads });
  const out = { threads: sdk.threadCount() };
  for (const name of MODELS) {
    const { model, x, shape, t } = modelAndData(sdk, name, batches);
    // Warm-up (JIT, memory growth, per-batch buffers), then the timed epoch.
    await model.fit(
      sdk.tensor(x.subarray(0, 2 * BATCH * 784), [2 * BATCH, ...shape]),
      sdk.tensor(x.subarray(0, 2 * BATCH * 784), [2 * BATCH, ...shape]),
      { batchSize: BATCH, epochs: 1 },
    );
    const times = [];
    let last = performance.now();
    const t0 = last;
    await model.fit(t, t, {
      batchSize: BATCH,
      epochs: 1,
      seed: 3,
      onBatchEnd: () => {
        const now = performance.now();
        times.push(now - last);
        last = now;
      },
    });
    out[name] = (performance.now() - t0) / batchesFor(name, batches);
    // The fastest batch: the least disturbed by other load on a shared machine.
    out[`${name}Fastest`] = Math.min(...times);
    model.dispose();
  }
  process.stdout.write(JSON.stringify(out));
  process.exit(0);
}

const threads = opt('threads', 2);
const rounds = opt('rounds', 3);
const batches = opt('batches', 12);
const self = fileURLToPath(import.meta.url);
const best = { 1: {}, [threads]: {} };
for (let r = 0; r < rounds; r++) {
  for (const n of [1, threads]) {
    const res = JSON.parse(
      execFileSync(process.execPath, [self, '--child', String(n), String(batches)], { encoding: 'utf8' }),
    );
    if (res.threads !== n) throw new Error(`asked for ${n} threads, got ${res.threads}`);
    for (const m of MODELS) {
      best[n][m] = Math.min(best[n][m] ?? Infinity, res[m]);
      best[n][`${m}Fastest`] = Math.min(best[n][`${m}Fastest`] ?? Infinity, res[`${m}Fastest`]);
    }
    process.stderr.write(
      `round ${r + 1}/${rounds}, ${n} thread(s): ${MODELS.map((m) => `${m} ${res[m].toFixed(2)}`).join(', ')} ms/batch\n`,
    );
  }
}
const load = (await import('node:os'))
  .loadavg()
  .map((v) => v.toFixed(2))
  .join(' ');
console.log(
  `\nms per training batch of ${BATCH}: mean over an epoch of ${batches} batches (vanilla ${6 * batches}; best of ${rounds} runs), and the fastest single batch`,
);
console.log(`${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), Node ${process.version}, load average ${load}`);
console.log(
  `${'model'.padEnd(15)}${'1 thread'.padStart(10)}${`${threads} threads`.padStart(12)}${'speedup'.padStart(10)}   |${'fastest: 1'.padStart(12)}${`${threads}`.padStart(8)}${'speedup'.padStart(10)}`,
);
for (const m of MODELS) {
  const [a, b] = [best[1][m], best[threads][m]];
  const [fa, fb] = [best[1][`${m}Fastest`], best[threads][`${m}Fastest`]];
  console.log(
    `${m.padEnd(15)}${a.toFixed(2).padStart(10)}${b.toFixed(2).padStart(12)}${`${(a / b).toFixed(2)}×`.padStart(10)}   |` +
      `${fa.toFixed(2).padStart(12)}${fb.toFixed(2).padStart(8)}${`${(fa / fb).toFixed(2)}×`.padStart(10)}`,
  );
}

// One process, alternate batches.
const alt = JSON.parse(
  execFileSync(process.execPath, [self, '--alternate', String(threads), String(batches)], { encoding: 'utf8' }),
);
console.log(
  `\nOne process, threads module, pool paused (1 thread) and resumed (${threads}) on alternate batches; ${batches - 1} batches each (vanilla ${6 * batches - 1}), ms per batch`,
);
console.log(
  `${'model'.padEnd(15)}${'median: 1'.padStart(10)}${`${threads}`.padStart(8)}${'speedup'.padStart(10)}   |${'fastest: 1'.padStart(12)}${`${threads}`.padStart(8)}${'speedup'.padStart(10)}`,
);
for (const m of MODELS) {
  const [a, b] = [median(alt[m][1]), median(alt[m][threads])];
  const [fa, fb] = [Math.min(...alt[m][1]), Math.min(...alt[m][threads])];
  console.log(
    `${m.padEnd(15)}${a.toFixed(2).padStart(10)}${b.toFixed(2).padStart(8)}${`${(a / b).toFixed(2)}×`.padStart(10)}   |` +
      `${fa.toFixed(2).padStart(12)}${fb.toFixed(2).padStart(8)}${`${(fa / fb).toFixed(2)}×`.padStart(10)}`,
  );
}
console.log(
  `load average at the end: ${(await import('node:os'))
    .loadavg()
    .map((v) => v.toFixed(2))
    .join(' ')}`,
);

const jsonAt = args.indexOf('--json');
if (jsonAt >= 0) {
  const { writeFileSync } = await import('node:fs');
  const result = {
    threads,
    rounds,
    batches,
    batch: BATCH,
    perProcess: {},
    alternating: {},
  };
  for (const m of MODELS) {
    result.perProcess[m] = {
      one: best[1][m],
      n: best[threads][m],
      oneFastest: best[1][`${m}Fastest`],
      nFastest: best[threads][`${m}Fastest`],
    };
    result.alternating[m] = {
      oneMedian: median(alt[m][1]),
      nMedian: median(alt[m][threads]),
      oneFastest: Math.min(...alt[m][1]),
      nFastest: Math.min(...alt[m][threads]),
    };
  }
  writeFileSync(args[jsonAt + 1], JSON.stringify(result, null, 2));
}
