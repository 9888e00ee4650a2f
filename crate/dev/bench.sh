#!/usr/bin/env bash
# Kernel microbenchmark and training-step profile (crate/bench, a crate that depends on
# wasm-autoencoders-core), natively and as wasm32 + simd128 in node.
#   bash crate/dev/bench.sh [native|wasm|all] [FLAGS]   GEMM and conv GFLOP/s (crate/bench/src/kernels.rs; default: all)
#        FLAGS (default 3): 1 GEMM shapes, 2 conv layers, 4 also time gemm_reference
#   bash crate/dev/bench.sh profile [MASK]          per-layer profile of one batch of 256, wasm
#   bash crate/dev/bench.sh profile-native [MASK]   the same, native (portable kernels)
#   bash crate/dev/bench.sh baseline REF CMD [ARG]  CMD (any of the above) on commit REF, built in a git
#                                                   worktree (target/bench-baseline), then on this tree,
#                                                   one right after the other: compare the two outputs
# MASK (default 15): 1 vanilla, 2 deep, 4 convolutional, 8 conv kernel breakdown,
#   16 fused-vs-unfused conv backward, 32 memory-bound kernels in GB/s vs this machine's memory
#   speed (ceiling.rs's f32x4 streams), 64 convolutional with the Conv2D layers through the
#   fused entry points (the plain Conv2dOp's forward and backward).
# In node the clock is the process's CPU time (BENCH_CLOCK=wall: performance.now()), so other
# processes on a shared machine distort less; compare figures from one run, and GFLOP/s with
# the "ceiling" line (register-only f32x4 mul+add), not across machines.
# wasm builds go through wasm-opt -O3 like scripts/build.sh when node_modules has it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
which="${1:-all}"
mask="${2:-}"

wasm_toolchain() {
  # The toolchain named by $BENCH_TOOLCHAIN, else the one setup.sh chose (.toolchain/), else `web`.
  tc="${BENCH_TOOLCHAIN:-$(head -n1 "$root/.toolchain/rust-wasm-toolchain" 2>/dev/null || echo web)}"
  if ! rustc "+$tc" --print target-libdir --target wasm32-unknown-unknown >/dev/null 2>&1 \
     || [[ ! -d "$(rustc "+$tc" --print target-libdir --target wasm32-unknown-unknown)" ]]; then
    echo "== wasm: skipped (no toolchain with the wasm32-unknown-unknown target)"
    return 1
  fi
}

native_build() { # -> $native_dir with the bins
  (cd "$root" && cargo build --quiet --release -p wasm-autoencoders-bench --bins)
  native_dir="$root/target/release"
}

wasm_opt="$root/node_modules/.bin/wasm-opt"
wasm_build() { # -> $wasm: the bench crate as a bare wasm32 + simd128 module (.cargo/config.toml), wasm-opt -O3
  (cd "$root" && cargo "+$tc" build --quiet --release -p wasm-autoencoders-bench --lib --target wasm32-unknown-unknown)
  wasm="$root/target/wasm32-unknown-unknown/release/wasm_autoencoders_bench.wasm"
  if [[ -x "$wasm_opt" ]]; then
    "$wasm_opt" --enable-simd --enable-bulk-memory --enable-bulk-memory-opt --enable-nontrapping-float-to-int \
      --enable-sign-ext --enable-mutable-globals --enable-multivalue --enable-reference-types \
      --enable-call-indirect-overlong -O3 "$wasm" -o "$wasm.opt"
    wasm="$wasm.opt"
  fi
}

case "$which" in
  profile)
    wasm_toolchain || exit 0
    echo "== training-step profile, wasm32 + simd128 (toolchain $tc), in node $(node --version)"
    wasm_build
    node "$here/run_wasm_bench.mjs" "$wasm" run_profile "${mask:-15}"
    ;;
  profile-native)
    echo "== training-step profile, native (portable kernels, release profile)"
    native_build
    "$native_dir/model_profile" "${mask:-15}"
    ;;
  baseline)
    ref="${2:?usage: bash crate/dev/bench.sh baseline REF CMD [ARG]}"
    shift 2
    wt="$root/target/bench-baseline"
    git -C "$root" worktree remove --force "$wt" 2>/dev/null || rm -rf "$wt"
    git -C "$root" worktree add --detach "$wt" "$ref" >/dev/null
    # The worktree shares the toolchain choice and node_modules (wasm-opt) with this tree.
    [[ -e "$root/.toolchain" && ! -e "$wt/.toolchain" ]] && ln -s "$root/.toolchain" "$wt/.toolchain"
    [[ -e "$root/node_modules" && ! -e "$wt/node_modules" ]] && ln -s "$root/node_modules" "$wt/node_modules"
    echo "######## baseline: $(git -C "$wt" log -1 --format='%h %s')"
    bash "$wt/crate/dev/bench.sh" "$@"
    echo "######## this tree: $(git -C "$root" log -1 --format='%h %s')$(git -C "$root" diff --quiet HEAD -- crate || echo ' + uncommitted changes')"
    bash "$here/bench.sh" "$@"
    git -C "$root" worktree remove --force "$wt"
    ;;
  native | wasm | all)
    if [[ "$which" != wasm ]]; then
      echo "== native (portable kernels, release profile)"
      native_build
      "$native_dir/gemm_bench" "${mask:-3}"
    fi
    if [[ "$which" != native ]]; then
      wasm_toolchain || exit 0
      echo "== wasm32 + simd128 (toolchain $tc), in node $(node --version)"
      wasm_build
      node "$here/run_wasm_bench.mjs" "$wasm" run_with "${mask:-3}"
    fi
    ;;
  *)
    echo "usage: bash crate/dev/bench.sh [native|wasm|all|profile|profile-native|baseline REF CMD] [MASK]" >&2
    exit 2
    ;;
esac
