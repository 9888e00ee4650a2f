#!/usr/bin/env node
// GEMM GFLOP/s of the library's kernel (crate/src/kernels/gemm.rs, as in the working tree)
// on the shapes of issue 3, next to the ceiling the issue measured. Compiles
// bench/gemm/gemm_shapes.rs to a bare wasm32 + simd128 module with the project's wasm
// toolchain (.toolchain/rust-wasm-toolchain, written by scripts/setup.sh) and times it in
// this Node process, single thread.
//
//   node bench/gemm/run.mjs [--quick] [--json out.json]
//
// Used by bench/run.mjs; runnable alone.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');

/**
 * (M, K, N) as the issue writes them: C (M×N) = op(A) (M×K) · op(B) (K×N).
 * `ceiling`: the issue's best SIMD128 kernel (GFLOP/s, 1 thread, this kind of machine);
 * `native`: its native AVX-512 figure. `calls` > 1: the product as the library issues
 * it, one GEMM per image of a 256-image batch (conv layers run im2col per image).
 */
export const GEMM_SHAPES = [
  { id: 'dense-784-64', label: '256,784,64 (dense fwd, X·W)', m: 256, k: 784, n: 64, ta: 0, tb: 0, calls: 1, ceiling: 61, native: 245, kind: 'dense', headline: true },
  { id: 'dense-784-512', label: '256,784,512 (dense fwd, X·W)', m: 256, k: 784, n: 512, ta: 0, tb: 0, calls: 1, ceiling: 63, native: 238, kind: 'dense', headline: true },
  { id: 'dense-dW', label: '784,256,64 (dense dW = Xᵀ·dY)', m: 784, k: 256, n: 64, ta: 1, tb: 0, calls: 1, ceiling: 63, native: 261, kind: 'dense', headline: true },
  { id: 'conv1-batched', label: '200704,9,32 (conv1 im2col, whole batch)', m: 200704, k: 9, n: 32, ta: 0, tb: 0, calls: 1, ceiling: 44, native: 130, kind: 'conv', headline: true },
  { id: 'conv2-batched', label: '50176,288,8 (conv2 im2col, whole batch)', m: 50176, k: 288, n: 8, ta: 0, tb: 0, calls: 1, ceiling: 49, native: 90, kind: 'conv', headline: true },
  // The same work as the library issues it today, and the backprop products the issue insists on.
  { id: 'conv1-per-image', label: '256 × (784,9,32) (conv1 as the library calls it)', m: 784, k: 9, n: 32, ta: 0, tb: 0, calls: 256, ceiling: 44, native: 130, kind: 'conv', headline: false },
  { id: 'conv2-per-image', label: '256 × (196,288,8) (conv2 as the library calls it)', m: 196, k: 288, n: 8, ta: 0, tb: 0, calls: 256, ceiling: 49, native: 90, kind: 'conv', headline: false },
  { id: 'dense-dX-64', label: '256,64,784 (dense dX = dY·Wᵀ)', m: 256, k: 64, n: 784, ta: 0, tb: 1, calls: 1, ceiling: null, native: null, kind: 'dense', headline: false },
  { id: 'dense-dX-512', label: '256,512,784 (dense dX = dY·Wᵀ)', m: 256, k: 512, n: 784, ta: 0, tb: 1, calls: 1, ceiling: null, native: null, kind: 'dense', headline: false },
];

function toolchain() {
  if (process.env.BENCH_TOOLCHAIN) return process.env.BENCH_TOOLCHAIN;
  const f = join(root, '.toolchain', 'rust-wasm-toolchain');
  return existsSync(f) ? readFileSync(f, 'utf8').split('\n')[0].trim() : 'system';
}

/** Compiles gemm_shapes.rs; returns { wasmPath, toolchain, rustc } or throws with rustc's message. */
export function buildGemmWasm(outDir) {
  const tc = toolchain();
  const env = { ...process.env, RUSTUP_AUTO_INSTALL: '0' };
  if (tc && tc !== 'system') env.RUSTUP_TOOLCHAIN = tc;
  const wasmPath = join(outDir, 'gemm_shapes.wasm');
  const args = ['--edition', '2021', '--target', 'wasm32-unknown-unknown', '-C', 'opt-level=3', '-C', 'codegen-units=1',
    '-C', 'target-feature=+simd128', '--crate-type', 'cdylib', '-o', wasmPath, join(here, 'gemm_shapes.rs')];
  try {
    execFileSync('rustc', args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const msg = String(e.stderr || e.message).trim().split('\n').slice(0, 12).join('\n');
    throw new Error(`rustc (toolchain ${tc}) failed to build bench/gemm/gemm_shapes.rs:\n${msg}`);
  }
  const rustc = execFileSync('rustc', ['--version'], { env, encoding: 'utf8' }).trim();
  return { wasmPath, toolchain: tc, rustc };
}

export async function runGemmBench({ quick = false, log = () => {} } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'wae-gemm-'));
  try {
    const build = buildGemmWasm(dir);
    const { instance } = await WebAssembly.instantiate(readFileSync(build.wasmPath), { env: { now_ms: () => performance.now() } });
    const minSeconds = quick ? 0.1 : 0.25;
    const rounds = quick ? 2 : 3;
    const rows = [];
    for (const s of GEMM_SHAPES) {
      const gflops = instance.exports.bench_gemm(s.m, s.n, s.k, s.ta, s.tb, s.calls, minSeconds, rounds);
      const row = { ...s, gflops, ofCeiling: s.ceiling ? gflops / s.ceiling : null };
      rows.push(row);
      log(`  gemm ${s.label}: ${gflops.toFixed(1)} GFLOP/s${s.ceiling ? ` (${(100 * row.ofCeiling).toFixed(0)} % of the ${s.ceiling} ceiling)` : ''}`);
    }
    return {
      method: `library kernel crate/src/kernels/gemm.rs (working tree), compiled by bench/gemm/gemm_shapes.rs with rustc -C opt-level=3 -C target-feature=+simd128 (${build.rustc}, toolchain ${build.toolchain}); best of ${rounds} runs of ≥ ${minSeconds} s each after one warm-up, 1 thread, Node ${process.version}`,
      rows,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, json: { type: 'string' } } });
  const result = await runGemmBench({ quick: values.quick, log: (l) => console.log(l) });
  if (values.json) writeFileSync(values.json, JSON.stringify(result, null, 2));
}
