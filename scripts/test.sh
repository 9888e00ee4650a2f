#!/usr/bin/env bash
# Everything, in order; what `npm test` and CI (.ci/run) run. Stops at the first
# failing step and names it.
#
#   1. setup                 scripts/setup.sh (idempotent)
#   1b. gates                cargo fmt --check, cargo clippy -D warnings (native), prettier --check
#   2. cargo test (native)   cargo test --workspace on the host
#   3. cargo test (wasm32)   the SIMD path: tests compiled for wasm32 +simd128,
#                            run in Node by wasm-bindgen-test-runner (.cargo/config.toml)
#   3b. cargo test (threads) the same tests compiled with atomics + shared memory
#   4. build                 scripts/build.sh (wasm-pack, wasm-opt, tsup)
#   4b. typecheck            tsc --noEmit over ts/, test/, examples/ and the checked JS (needs pkg/'s .d.ts)
#   5. vitest                npx vitest run (Node and headless Chromium projects)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
T_START=$(now_s)

step "setup" bash "$ROOT/scripts/setup.sh"
export SETUP_DONE=1
TC=$(rust_wasm_toolchain)

# For the browser tests: the system Chromium (nothing downloads a browser).
if [[ -z "${CHROMIUM_PATH:-}" ]] && CHROMIUM_PATH=$(find_chromium); then export CHROMIUM_PATH; fi

# Gates first: they take seconds and name what to fix (npm run format fixes formatting).
step "format (cargo fmt --check)" cargo fmt --all --check
step "lint (cargo clippy --workspace --all-targets -D warnings)" cargo clippy --workspace --all-targets -- -D warnings
step "format (prettier --check)" npx --no-install prettier --check "**/*.{ts,mjs,js}"

step "cargo test (native)" cargo test --workspace
step "cargo test (wasm32 +simd128, toolchain $TC)" \
  cargo_tc "$TC" test -p wasm-autoencoders-core --target "$WASM_TARGET"
# The threads build's core (atomics, shared memory) passes the same Rust tests.
if [[ "${THREADS:-1}" != 0 ]]; then
  step "cargo test (wasm32 threads build, toolchain $TC)" threads_cargo "$TC" test -p wasm-autoencoders-core --lib
fi
# TEST_HOOKS=1: also the threads module with the pool's test switches (test/threads.test.ts).
step "build" env TEST_HOOKS=1 bash "$ROOT/scripts/build.sh"
step "typecheck (tsc --noEmit)" npm run --silent typecheck
step "vitest" npx --no-install vitest run

log "ALL PASSED in $(( $(now_s) - T_START ))s: $(step_summary)"
