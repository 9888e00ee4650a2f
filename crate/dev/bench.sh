#!/usr/bin/env bash
# GEMM microbenchmark: native always; wasm (SIMD128, in node) when the wasm32 target exists.
#   bash crate/dev/bench.sh [native|wasm|all]      (default: all)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${TMPDIR:-/tmp}/wasm-autoencoders-bench"
mkdir -p "$out"
which="${1:-all}"

if [[ "$which" != wasm ]]; then
  echo "== native (portable kernels, opt-level 3)"
  rustc --edition 2021 -C opt-level=3 -C codegen-units=1 --crate-type bin -o "$out/gemm_bench" "$here/gemm_bench.rs"
  "$out/gemm_bench"
fi

if [[ "$which" != native ]]; then
  # Uses the toolchain named by $BENCH_TOOLCHAIN (default: the `web` toolchain if installed).
  tc="${BENCH_TOOLCHAIN:-$(rustup toolchain list | grep -q '^web' && echo web || echo '')}"
  if [[ -z "$tc" ]] || ! rustc "+$tc" --print target-libdir --target wasm32-unknown-unknown >/dev/null 2>&1 \
     || [[ ! -d "$(rustc "+$tc" --print target-libdir --target wasm32-unknown-unknown)" ]]; then
    echo "== wasm: skipped (no toolchain with the wasm32-unknown-unknown target)"
    exit 0
  fi
  echo "== wasm32 + simd128 (toolchain $tc), in node $(node --version)"
  rustc "+$tc" --edition 2021 --target wasm32-unknown-unknown -C opt-level=3 -C codegen-units=1 \
    -C target-feature=+simd128 --crate-type cdylib -o "$out/gemm_bench.wasm" "$here/gemm_bench.rs"
  node "$here/run_wasm_bench.mjs" "$out/gemm_bench.wasm"
fi
