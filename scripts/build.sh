#!/usr/bin/env bash
# Build the crate to WebAssembly (SIMD) and the TypeScript SDK.
#
#   1. setup      scripts/setup.sh (seconds when everything is installed; skipped
#                 when SETUP_DONE=1, as test.sh sets after running it)
#   2. wasm-pack  crate/wasm (the boundary crate, with crate/core) -> pkg/wasm_autoencoders{.js,.d.ts,_bg.wasm}
#                 (--target web, release)
#   3. wasm-opt   -O3 on pkg/wasm_autoencoders_bg.wasm in place (binaryen from node_modules)
#   4. threads    the opt-in threads module (init({ threads: n })): crate/wasm built with
#                 atomics + shared memory and std rebuilt likewise (-Zbuild-std, in
#                 target/wasm-threads; see threads_cargo in scripts/lib.sh), wasm-bindgen
#                 -> pkg-threads/, wasm-opt -O3. THREADS=0 skips it (init({ threads })
#                 then fails with a clear error). TEST_HOOKS=1 also builds it with the
#                 `test-hooks` feature (threadPoolTrapOnHelpers, threadPoolPause) into
#                 pkg-threads-hooks/, for the tests and benches that need those switches;
#                 pkg/, pkg-threads/ and dist/ never have them.
#   5. tsup       ts/ -> dist/ (see tsup.config.ts), .wasm copied next to each output
#
# Steps 2-3 (4) are skipped when pkg/ (pkg-threads/) is newer than every input of the
# wasm build; FORCE=1 rebuilds anyway.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
T_START=$(now_s)

PKG="$ROOT/pkg"
WASM="$PKG/wasm_autoencoders_bg.wasm"
STAMP="$PKG/.build-stamp"
WASM_OPT="$ROOT/node_modules/.bin/wasm-opt"
# Features for wasm-opt: what rustc emits for wasm32-unknown-unknown (LLVM's
# "generic" CPU) plus simd128 from .cargo/config.toml. All are in Node >= 20 and
# every browser that has SIMD, so wasm-opt may use them.
WASM_FEATURES=(--enable-simd --enable-bulk-memory --enable-bulk-memory-opt
               --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals
               --enable-multivalue --enable-reference-types --enable-call-indirect-overlong)

if [[ "${SETUP_DONE:-}" != 1 ]]; then
  step "setup" bash "$ROOT/scripts/setup.sh"
fi
TC=$(rust_wasm_toolchain)

wasm_inputs_changed() {
  local pkg="${1:-$PKG}" stamp="${1:-$PKG}/.build-stamp" extra=()
  [[ -n "${1:-}" ]] && extra=(scripts/lib.sh)   # the threads flags live there
  [[ "${FORCE:-}" == 1 ]] && return 0
  [[ -f "$stamp" && -f "$pkg/wasm_autoencoders_bg.wasm" && -f "$pkg/wasm_autoencoders.js" && -f "$pkg/wasm_autoencoders.d.ts" ]] || return 0
  local newer_input
  newer_input=$(find crate/core/src crate/core/Cargo.toml crate/wasm/src crate/wasm/Cargo.toml Cargo.toml Cargo.lock .cargo \
                     "$TOOLCHAIN_FILE" scripts/build.sh "${extra[@]}" \
                     -newer "$stamp" -print -quit 2>/dev/null || true)
  [[ -n "$newer_input" ]]
}

step_wasm_pack() {
  rm -f "$STAMP"
  # --mode no-install: use the wasm-bindgen on PATH (setup.sh checked its version),
  # never download one. wasm-opt = false in crate/wasm/Cargo.toml: wasm-pack fetches no binaryen.
  with_tc "$TC" wasm-pack build crate/wasm --release --mode no-install --target web \
    --out-dir ../../pkg --out-name wasm_autoencoders
  local f
  for f in "$WASM" "$PKG/wasm_autoencoders.js" "$PKG/wasm_autoencoders.d.ts"; do
    [[ -f "$f" ]] || { warn "wasm-pack did not produce ${f#"$ROOT"/}"; return 1; }
  done
}

step_wasm_opt() {
  local before after simd
  before=$(stat -c %s "$WASM")
  "$WASM_OPT" "${WASM_FEATURES[@]}" -O3 "$WASM" -o "$WASM.opt"
  mv "$WASM.opt" "$WASM"
  after=$(stat -c %s "$WASM")
  node -e '
    const ok = WebAssembly.validate(require("fs").readFileSync(process.argv[1]));
    if (!ok) { console.error("WebAssembly.validate: invalid module after wasm-opt"); process.exit(1); }' "$WASM"
  simd=$("$ROOT/node_modules/.bin/wasm-dis" "$WASM" 2>/dev/null | grep -cE '\b(v128|[fi](8x16|16x8|32x4|64x2))\.' || true)
  log "wasm: $before -> $after bytes, $simd SIMD instructions"
  (( simd > 0 )) || warn "the module contains no SIMD instructions (simd128 off, or no SIMD code yet?)"
  touch "$STAMP"
}

PKG_THREADS="$ROOT/pkg-threads"
PKG_THREADS_HOOKS="$ROOT/pkg-threads-hooks"
# step_threads OUT_DIR [CARGO_ARGS...]: the threads module (features from CARGO_ARGS) -> OUT_DIR
step_threads() {
  local pkg="$1" out="$THREADS_TARGET_DIR/$WASM_TARGET/release/wasm_autoencoders.wasm"
  shift
  local wasm="$pkg/wasm_autoencoders_bg.wasm"
  rm -f "$pkg/.build-stamp"
  threads_cargo "$TC" build --release -p wasm-autoencoders --lib "$@"
  [[ -f "$out" ]] || { warn "cargo did not produce ${out#"$ROOT"/}"; return 1; }
  # wasm-bindgen sees the shared memory and adds its thread support (a stack and TLS
  # per instance; initSync({ module, memory }) in each worker).
  rm -rf "$pkg"
  wasm-bindgen --target web --out-dir "$pkg" --out-name wasm_autoencoders "$out"
  "$WASM_OPT" "${WASM_FEATURES[@]}" --enable-threads -O3 "$wasm" -o "$wasm.opt"
  mv "$wasm.opt" "$wasm"
  node -e '
    const ok = WebAssembly.validate(require("fs").readFileSync(process.argv[1]));
    if (!ok) { console.error("WebAssembly.validate: invalid threads module after wasm-opt"); process.exit(1); }' "$wasm"
  grep -q threadPoolHelper "$pkg/wasm_autoencoders.js" \
    || { warn "${pkg#"$ROOT"/}/ has no threadPoolHelper export (built without atomics?)"; return 1; }
  log "threads wasm (${pkg#"$ROOT"/}): $(stat -c %s "$wasm") bytes"
  touch "$pkg/.build-stamp"
}

step_tsup() {
  [[ -f ts/index.ts ]] || { warn "ts/index.ts does not exist (the SDK entry point)"; return 1; }
  rm -rf dist
  npx --no-install tsup
  local f
  for f in dist/index.js dist/index.cjs dist/index.d.ts dist/browser/index.js \
           dist/wasm_autoencoders_bg.wasm dist/browser/wasm_autoencoders_bg.wasm; do
    [[ -f "$f" ]] || { warn "tsup did not produce $f"; return 1; }
  done
}

if wasm_inputs_changed; then
  step "wasm-pack (toolchain $TC)" step_wasm_pack
  step "wasm-opt -O3" step_wasm_opt
else
  log "pkg/ is up to date with crate/ (FORCE=1 to rebuild): skipping wasm-pack and wasm-opt"
fi
if [[ "${THREADS:-1}" == 0 ]]; then
  log "THREADS=0: skipping the threads module"
  rm -rf "$PKG_THREADS"
else
  if wasm_inputs_changed "$PKG_THREADS"; then
    step "threads module (atomics, -Zbuild-std, toolchain $TC)" step_threads "$PKG_THREADS"
  else
    log "pkg-threads/ is up to date with crate/: skipping the threads module"
  fi
  if [[ "${TEST_HOOKS:-}" == 1 ]]; then
    if wasm_inputs_changed "$PKG_THREADS_HOOKS"; then
      step "threads module with test hooks (feature test-hooks)" step_threads "$PKG_THREADS_HOOKS" --features test-hooks
    else
      log "pkg-threads-hooks/ is up to date with crate/: skipping it"
    fi
  fi
fi
step "tsup" step_tsup
log "build complete in $(( $(now_s) - T_START ))s: $(step_summary)"
