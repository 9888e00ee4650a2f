#!/usr/bin/env node
// GEMM and convolution GFLOP/s of the library's kernels (crate/core/src/kernels, as in the working
// tree) on the shapes of issue 3, next to this machine's measured f32x4 ceiling and the
// ceiling the issue measured on its machine. Compiles
// crate/bench (crate/bench/src/shapes.rs) to a bare wasm32 + simd128 module with the project's wasm
// toolchain (.toolchain/rust-wasm-toolchain, written by scripts/setup.sh) and times it in
// this Node process, single thread.
//
//   node bench/gemm/run.mjs [--quick] [--json out.json]
//
// Used by bench/run.mjs; runnable alone.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');

/**
 * (M, K, N) as the issue writes them: C (M×N) = op(A) (M×K) · op(B) (K×N).
 * `ceiling`: the issue's best SIMD128 kernel (GFLOP/s, 1 thread, on its machine);
 * `native`: its native AVX-512 figure. `headline`: counts for the issue's GEMM target.
 * The im2col rows are the issue's conv shapes as one whole-batch product: the library
 * does not run them (its convolutions are the direct kernels of CONV_SHAPES), they show
 * what our GEMM does with that tall, thin shape.
 */
export const GEMM_SHAPES = [
  {
    id: 'dense-784-64',
    label: '256,784,64 (dense fwd, X·W)',
    m: 256,
    k: 784,
    n: 64,
    ta: 0,
    tb: 0,
    calls: 1,
    ceiling: 61,
    native: 245,
    kind: 'dense',
    headline: true,
  },
  {
    id: 'dense-784-512',
    label: '256,784,512 (dense fwd, X·W)',
    m: 256,
    k: 784,
    n: 512,
    ta: 0,
    tb: 0,
    calls: 1,
    ceiling: 63,
    native: 238,
    kind: 'dense',
    headline: true,
  },
  {
    id: 'dense-dW',
    label: '784,256,64 (dense dW = Xᵀ·dY)',
    m: 784,
    k: 256,
    n: 64,
    ta: 1,
    tb: 0,
    calls: 1,
    ceiling: 63,
    native: 261,
    kind: 'dense',
    headline: true,
  },
  {
    id: 'dense-dX-64',
    label: '256,64,784 (dense dX = dY·Wᵀ)',
    m: 256,
    k: 64,
    n: 784,
    ta: 0,
    tb: 1,
    calls: 1,
    ceiling: null,
    native: null,
    kind: 'dense',
    headline: false,
  },
  {
    id: 'dense-dX-512',
    label: '256,512,784 (dense dX = dY·Wᵀ)',
    m: 256,
    k: 512,
    n: 784,
    ta: 0,
    tb: 1,
    calls: 1,
    ceiling: null,
    native: null,
    kind: 'dense',
    headline: false,
  },
  {
    id: 'conv1-im2col',
    label: "200704,9,32 (conv1 as one im2col GEMM; not the library's path)",
    m: 200704,
    k: 9,
    n: 32,
    ta: 0,
    tb: 0,
    calls: 1,
    ceiling: 44,
    native: 130,
    kind: 'im2col',
    headline: false,
  },
  {
    id: 'conv2-im2col',
    label: "50176,288,8 (conv2 as one im2col GEMM; not the library's path)",
    m: 50176,
    k: 288,
    n: 8,
    ta: 0,
    tb: 0,
    calls: 1,
    ceiling: 49,
    native: 90,
    kind: 'im2col',
    headline: false,
  },
];

/**
 * The issue's two conv shapes as the library runs them: 3×3 'same' Conv2D over a batch of
 * 256 with the direct kernels (crate/core/src/kernels/conv2d), each pass of a training step.
 * Forward rows are the issue's (M,K,N) = (256·h·w, 9·in_c, out_c) products.
 */
const CONV_LAYERS = [
  { id: 'conv1', h: 28, w: 28, inC: 1, outC: 32, ceiling: 44, native: 130, note: 'conv1: 28×28×1 → 32' },
  { id: 'conv2', h: 14, w: 14, inC: 32, outC: 8, ceiling: 49, native: 90, note: 'conv2: 14×14×32 → 8' },
];
const PASSES = [
  { pass: 0, name: 'forward' },
  { pass: 1, name: 'input gradient' },
  { pass: 2, name: 'kernel gradient' },
];
export const CONV_SHAPES = CONV_LAYERS.flatMap((l) =>
  PASSES.map(({ pass, name }) => ({
    id: `${l.id}-${['fwd', 'dx', 'dk'][pass]}`,
    label: `${256 * l.h * l.w},${9 * l.inC},${l.outC} (${l.note}, ${name}, direct)${l.id === 'conv1' && pass === 1 ? ' — unused: first layer' : ''}`,
    conv: { h: l.h, w: l.w, inC: l.inC, outC: l.outC, pass, batch: 256 },
    ceiling: pass === 0 ? l.ceiling : null,
    native: pass === 0 ? l.native : null,
    kind: 'conv',
    headline: pass === 0,
  })),
);

function toolchain() {
  if (process.env.BENCH_TOOLCHAIN) return process.env.BENCH_TOOLCHAIN;
  const f = join(root, '.toolchain', 'rust-wasm-toolchain');
  return existsSync(f) ? readFileSync(f, 'utf8').split('\n')[0].trim() : 'system';
}

/**
 * Builds crate/bench (the dev benches, a crate that depends on wasm-autoencoders-core) as a
 * bare wasm32 + simd128 module with cargo (release profile; simd128 from .cargo/config.toml);
 * returns { wasmPath, toolchain, rustc } or throws with cargo's message.
 */
export function buildGemmWasm() {
  const tc = toolchain();
  const env = { ...process.env, RUSTUP_AUTO_INSTALL: '0' };
  if (tc && tc !== 'system') env.RUSTUP_TOOLCHAIN = tc;
  const args = [
    'build',
    '--quiet',
    '--release',
    '-p',
    'wasm-autoencoders-bench',
    '--lib',
    '--target',
    'wasm32-unknown-unknown',
  ];
  try {
    execFileSync('cargo', args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const msg = String(e.stderr || e.message)
      .trim()
      .split('\n')
      .slice(0, 12)
      .join('\n');
    throw new Error(`cargo (toolchain ${tc}) failed to build crate/bench:\n${msg}`);
  }
  const wasmPath = join(root, 'target', 'wasm32-unknown-unknown', 'release', 'wasm_autoencoders_bench.wasm');
  const rustc = execFileSync('rustc', ['--version'], { env, encoding: 'utf8' }).trim();
  return { wasmPath, toolchain: tc, rustc };
}

export async function runGemmBench({ quick = false, log = () => {} } = {}) {
  const build = buildGemmWasm();
  const { instance } = await WebAssembly.instantiate(readFileSync(build.wasmPath), {
    env: { now_ms: () => performance.now(), print: () => {} },
  });
  const minSeconds = quick ? 0.1 : 0.25;
  const rounds = quick ? 2 : 3;
  const ex = instance.exports;
  // Measured first and last: the clock of a shared machine drifts; the higher counts.
  const ceilingBefore = ex.bench_ceiling(minSeconds, rounds);
  const rows = [];
  for (const s of [...GEMM_SHAPES, ...CONV_SHAPES]) {
    const c = s.conv;
    const gflops = c
      ? ex.bench_conv(c.h, c.w, c.inC, c.outC, c.pass, c.batch, minSeconds, rounds)
      : ex.bench_gemm(s.m, s.n, s.k, s.ta, s.tb, s.calls, minSeconds, rounds);
    rows.push({ ...s, gflops, ofCeiling: s.ceiling ? gflops / s.ceiling : null });
    log(
      `  ${s.label}: ${gflops.toFixed(1)} GFLOP/s${s.ceiling ? ` (${((100 * gflops) / s.ceiling).toFixed(0)} % of the issue's ${s.ceiling})` : ''}`,
    );
  }
  const measuredCeiling = Math.max(ceilingBefore, ex.bench_ceiling(minSeconds, rounds));
  for (const r of rows) r.ofMeasuredCeiling = r.gflops / measuredCeiling;
  log(`  ceiling on this machine (f32x4 mul+add, 8 register accumulators): ${measuredCeiling.toFixed(1)} GFLOP/s`);
  return {
    method: `library kernels crate/core/src/kernels/gemm.rs and conv2d (working tree), through crate/bench/src/shapes.rs built with cargo --release -C target-feature=+simd128 (${build.rustc}, toolchain ${build.toolchain}); best of ${rounds} runs of ≥ ${minSeconds} s each after one warm-up, 1 thread, Node ${process.version}. The ceiling is the register-only f32x4 mul+add loop every micro-kernel here approaches, measured before and after the kernels (the higher of the two)`,
    measuredCeiling,
    rows,
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, json: { type: 'string' } } });
  const result = await runGemmBench({ quick: values.quick, log: (l) => console.log(l) });
  if (values.json) writeFileSync(values.json, JSON.stringify(result, null, 2));
}
