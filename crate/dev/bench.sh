#!/usr/bin/env bash
# Kernel microbenchmark and training-step profile, natively and as wasm32 + simd128 in node.
#   bash crate/dev/bench.sh [native|wasm|all] [FLAGS]   GEMM and conv GFLOP/s (dev/gemm_bench.rs; default: all)
#        FLAGS (default 3): 1 GEMM shapes, 2 conv layers, 4 also time gemm_reference
#   bash crate/dev/bench.sh save-baseline           copy src/kernels to target/bench-baseline: later runs
#                                                   print its figures beside the current ones
#   bash crate/dev/bench.sh drop-baseline           delete that copy
#   bash crate/dev/bench.sh profile [MASK]          per-layer profile of one batch of 256, wasm
#   bash crate/dev/bench.sh profile-native [MASK]   the same, native (portable kernels)
#   bash crate/dev/bench.sh profile-baseline [MASK] the same, wasm, with the saved baseline kernels
# MASK (default 15): 1 vanilla, 2 deep, 4 convolutional, 8 conv kernel breakdown,
#   16 fused-vs-unfused conv backward, 32 memory-bound kernels in GB/s vs this machine's memory
#   speed (ceiling.rs's f32x4 streams), 64 convolutional with the Conv2D layers through the
#   fused entry points (conv2d_forward_bias_activation, conv2d_backward).
# In node the clock is the process's CPU time (BENCH_CLOCK=wall: performance.now()), so other
# processes on a shared machine distort less; compare figures from one run (ratio columns),
# and GFLOP/s with the "ceiling" line (register-only f32x4 mul+add), not across machines.
# wasm builds go through wasm-opt -O3 like scripts/build.sh when node_modules has it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${TMPDIR:-/tmp}/wasm-autoencoders-bench"
mkdir -p "$out"
which="${1:-all}"
mask="${2:-}"
baseline="$here/../../target/bench-baseline"
cfg=()
[[ -d "$baseline/kernels" ]] && cfg=(--cfg baseline)
# model_profile.rs includes the library's modules; src/parallel.rs when the crate has it.
pcfg=()
[[ -f "$here/../src/parallel.rs" ]] && pcfg=(--cfg has_parallel)

native_build() { # SRC NAME [RUSTC ARGS...]
  local src="$1" name="$2"
  shift 2
  rustc --edition 2021 -C opt-level=3 -C codegen-units=1 "$@" --crate-type bin -o "$out/$name" "$here/$src"
}

wasm_toolchain() {
  # Uses the toolchain named by $BENCH_TOOLCHAIN (default: the `web` toolchain if installed).
  tc="${BENCH_TOOLCHAIN:-$(rustup toolchain list | grep -q '^web' && echo web || echo '')}"
  if [[ -z "$tc" ]] || ! rustc "+$tc" --print target-libdir --target wasm32-unknown-unknown >/dev/null 2>&1 \
     || [[ ! -d "$(rustc "+$tc" --print target-libdir --target wasm32-unknown-unknown)" ]]; then
    echo "== wasm: skipped (no toolchain with the wasm32-unknown-unknown target)"
    return 1
  fi
}

wasm_opt="$here/../../node_modules/.bin/wasm-opt"
wasm_build() { # SRC NAME [RUSTC ARGS...]: then wasm-opt -O3 as scripts/build.sh does, when installed
  local src="$1" name="$2"
  shift 2
  rustc "+$tc" --edition 2021 --target wasm32-unknown-unknown -C opt-level=3 -C codegen-units=1 \
    -C target-feature=+simd128 "$@" --crate-type cdylib -o "$out/$name.wasm" "$here/$src"
  if [[ -x "$wasm_opt" ]]; then
    "$wasm_opt" --enable-simd --enable-bulk-memory --enable-bulk-memory-opt --enable-nontrapping-float-to-int \
      --enable-sign-ext --enable-mutable-globals --enable-multivalue --enable-reference-types \
      --enable-call-indirect-overlong -O3 "$out/$name.wasm" -o "$out/$name.wasm"
  fi
}

case "$which" in
  profile)
    wasm_toolchain || exit 0
    echo "== training-step profile, wasm32 + simd128 (toolchain $tc), in node $(node --version)"
    wasm_build model_profile.rs model_profile "${pcfg[@]}"
    node "$here/run_wasm_bench.mjs" "$out/model_profile.wasm" run_profile "${mask:-15}"
    ;;
  profile-baseline)
    wasm_toolchain || exit 0
    [[ -d "$baseline/kernels" ]] || { echo "no baseline: run 'bash crate/dev/bench.sh save-baseline' first" >&2; exit 2; }
    echo "== training-step profile with the BASELINE kernels, wasm32 + simd128 (toolchain $tc), in node $(node --version)"
    wasm_build model_profile.rs model_profile_baseline --cfg baseline "${pcfg[@]}"
    node "$here/run_wasm_bench.mjs" "$out/model_profile_baseline.wasm" run_profile "${mask:-15}"
    ;;
  profile-native)
    echo "== training-step profile, native (portable kernels, opt-level 3)"
    native_build model_profile.rs model_profile "${pcfg[@]}"
    "$out/model_profile" "${mask:-15}"
    ;;
  save-baseline)
    rm -rf "$baseline" && mkdir -p "$baseline" && cp -r "$here/../src/kernels" "$baseline/"
    echo "saved src/kernels as the baseline in target/bench-baseline"
    ;;
  drop-baseline)
    rm -rf "$baseline" && echo "dropped the baseline"
    ;;
  native | wasm | all)
    if [[ "$which" != wasm ]]; then
      echo "== native (portable kernels, opt-level 3)"
      native_build gemm_bench.rs gemm_bench "${cfg[@]}"
      "$out/gemm_bench" "${mask:-3}"
    fi
    if [[ "$which" != native ]]; then
      wasm_toolchain || exit 0
      echo "== wasm32 + simd128 (toolchain $tc), in node $(node --version)"
      wasm_build gemm_bench.rs gemm_bench "${cfg[@]}"
      node "$here/run_wasm_bench.mjs" "$out/gemm_bench.wasm" run_with "${mask:-3}"
    fi
    ;;
  *)
    echo "usage: bash crate/dev/bench.sh [native|wasm|all|profile|profile-native|save-baseline|drop-baseline] [MASK]" >&2
    exit 2
    ;;
esac
