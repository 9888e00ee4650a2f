# shellcheck shell=bash
# Shared helpers for scripts/setup.sh, scripts/build.sh and scripts/test.sh.
# Source it; it does not run anything by itself.

set -euo pipefail
shopt -s inherit_errexit 2>/dev/null || true

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ROOT

# Where setup.sh records its decisions (gitignored: /.toolchain).
TOOLCHAIN_DIR="$ROOT/.toolchain"
TOOLCHAIN_FILE="$TOOLCHAIN_DIR/rust-wasm-toolchain"
WASM_TARGET="wasm32-unknown-unknown"

# Tool versions. wasm-bindgen must equal the crate's `wasm-bindgen = "=X"` pin.
WASM_PACK_VERSION="0.15.1"

# cargo-installed tools (wasm-bindgen, wasm-pack) and rustup proxies.
case ":$PATH:" in *":$HOME/.cargo/bin:"*) ;; *) export PATH="$HOME/.cargo/bin:$PATH" ;; esac

# Never let anything fetch browsers or binaries behind our back.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
export RUSTUP_AUTO_INSTALL=0

# ---------------------------------------------------------------- output --
if [[ -t 1 ]]; then _B=$'\e[1m'; _R=$'\e[31m'; _G=$'\e[32m'; _Y=$'\e[33m'; _N=$'\e[0m'
else _B=""; _R=""; _G=""; _Y=""; _N=""; fi

SCRIPT_NAME="$(basename "${0:-lib.sh}" .sh)"
log()  { printf '%s[%s]%s %s\n' "$_B" "$SCRIPT_NAME" "$_N" "$*"; }
warn() { printf '%s[%s] warning:%s %s\n' "$_Y" "$SCRIPT_NAME" "$_N" "$*" >&2; }
die()  { printf '%s[%s] error:%s %s\n' "$_R" "$SCRIPT_NAME" "$_N" "$*" >&2; exit 1; }

now_s() { date +%s; }

# step NAME cmd args...   Announce, run, time; on failure name the step and exit non-zero.
step() {
  local name="$1"; shift
  local t0 rc=0
  t0=$(now_s)
  printf '%s[%s] ==> %s%s\n' "$_B" "$SCRIPT_NAME" "$name" "$_N"
  # A subshell, so that `set -e` stays in force inside the step's functions
  # (bash ignores -e in anything run on the left of || or &&).
  set +e
  ( set -e; "$@" )
  rc=$?
  set -e
  if (( rc != 0 )); then
    printf '%s[%s] FAILED step "%s" (exit %d)%s\n' "$_R" "$SCRIPT_NAME" "$name" "$rc" "$_N" >&2
    (( ${#STEP_SUMMARY[@]} == 0 )) || printf '[%s] steps that passed before it: %s\n' "$SCRIPT_NAME" "$(step_summary)" >&2
    exit "$rc"
  fi
  local dt=$(( $(now_s) - t0 ))
  STEP_SUMMARY+=("$name ${dt}s")
  printf '%s[%s] ok  %s (%ds)%s\n' "$_G" "$SCRIPT_NAME" "$name" "$dt" "$_N"
}
STEP_SUMMARY=()
# "a 3s, b 10s"
step_summary() {
  local i out=""
  for i in "${STEP_SUMMARY[@]}"; do out+="${out:+, }$i"; done
  printf '%s' "$out"
}

# ------------------------------------------------------------ predicates --
have() { command -v "$1" >/dev/null 2>&1; }

# Version pinned in crate/wasm/Cargo.toml: wasm-bindgen = "=0.2.130"  ->  0.2.130
wasm_bindgen_pin() {
  local v
  v=$(sed -nE 's/^[[:space:]]*wasm-bindgen[[:space:]]*=[[:space:]]*\{?[^"]*"=?([0-9]+\.[0-9]+\.[0-9]+)".*/\1/p' \
        "$ROOT/crate/wasm/Cargo.toml" | head -n1)
  [[ -n "$v" ]] || die "cannot read the wasm-bindgen version pin from crate/wasm/Cargo.toml"
  printf '%s\n' "$v"
}

# tool_version BIN  ->  "0.2.130" (second word of `BIN --version`), empty if absent.
tool_version() {
  have "$1" || return 0
  "$1" --version 2>/dev/null | head -n1 | awk '{print $2}'
}

# The Rust toolchain that builds wasm32 (written by setup.sh): e.g. "web" or "stable".
rust_wasm_toolchain() {
  [[ -s "$TOOLCHAIN_FILE" ]] || die "no $TOOLCHAIN_FILE; run scripts/setup.sh first"
  head -n1 "$TOOLCHAIN_FILE"
}

# Sysroot of toolchain $1 has a std for wasm32?
toolchain_has_wasm_std() {
  local tc="$1" sysroot
  sysroot=$(rustc_tc "$tc" --print sysroot 2>/dev/null) || return 1
  compgen -G "$sysroot/lib/rustlib/$WASM_TARGET/lib/libstd-*.rlib" >/dev/null
}

# newer A B  ->  true when file A exists and is newer than B (or B is missing).
newer() { [[ -e "$1" ]] && { [[ ! -e "$2" ]] || [[ "$1" -nt "$2" ]]; }; }

# Run rustc / cargo with toolchain $1. "system" = no rustup: plain rustc/cargo from PATH.
rustc_tc() { local tc="$1"; shift; if [[ "$tc" == system ]]; then rustc "$@"; else rustc "+$tc" "$@"; fi; }
cargo_tc() { local tc="$1"; shift; if [[ "$tc" == system ]]; then cargo "$@"; else cargo "+$tc" "$@"; fi; }
# Run any command (e.g. wasm-pack) so that the rustup proxies resolve to toolchain $1.
with_tc() { local tc="$1"; shift; if [[ "$tc" == system ]]; then "$@"; else RUSTUP_TOOLCHAIN="$tc" "$@"; fi; }

# Path of a Chromium/Chrome binary (CHROMIUM_PATH wins), for the browser tests.
find_chromium() {
  local c
  for c in "${CHROMIUM_PATH:-}" chromium chromium-browser google-chrome-stable google-chrome; do
    [[ -n "$c" ]] && have "$c" && { command -v "$c"; return 0; }
  done
  return 1
}

# ------------------------------------------------------------ threads build --
# The opt-in threads module (init({ threads: n })): wasm32 with atomics and a shared,
# imported memory. std must be compiled with atomics too, so it is rebuilt from the
# toolchain's library sources with -Zbuild-std at build time, into its own target dir:
# the single-thread sysroot (/usr/lib/rustlib/...) and target/ are never touched.
THREADS_TARGET_DIR="$ROOT/target/wasm-threads"
# crates.io replaced by a directory of std's vendored deps + this crate's deps (setup.sh).
THREADS_VENDOR_DIR="$TOOLCHAIN_DIR/threads-vendor"
THREADS_CARGO_CONFIG="$TOOLCHAIN_DIR/threads-cargo-config.toml"
THREADS_RUSTFLAGS="-C target-feature=+atomics,+bulk-memory,+mutable-globals,+simd128 \
-C link-arg=--shared-memory -C link-arg=--import-memory -C link-arg=--max-memory=1073741824 \
-C link-arg=--export=__wasm_init_tls -C link-arg=--export=__tls_size \
-C link-arg=--export=__tls_align -C link-arg=--export=__tls_base"

# threads_cargo TOOLCHAIN SUBCOMMAND args...   cargo for the threads module, e.g.
#   threads_cargo web build --release -p wasm-autoencoders --lib   (scripts/build.sh)
#   threads_cargo web test -p wasm-autoencoders-core --lib   (the core's tests compiled with
#                 atomics, run by wasm-bindgen-test-runner in Node; the pool has 1 thread)
threads_cargo() {
  local tc="$1" sub="$2" std=std,panic_abort; shift 2
  [[ "$sub" == test ]] && std=std,panic_abort,panic_unwind,test
  [[ -s "$THREADS_CARGO_CONFIG" ]] || die "no $THREADS_CARGO_CONFIG; run scripts/setup.sh first"
  (
    unset CARGO_BUILD_RUSTFLAGS CARGO_ENCODED_RUSTFLAGS CARGO_BUILD_TARGET
    export CARGO_TARGET_DIR="$THREADS_TARGET_DIR" RUSTFLAGS="$THREADS_RUSTFLAGS" RUSTC_BOOTSTRAP=1
    cargo_tc "$tc" "$sub" --offline --config "$THREADS_CARGO_CONFIG" --target "$WASM_TARGET" \
      -Zbuild-std="$std" "$@"
  )
}
