#!/usr/bin/env bash
# Install everything the build and the tests need. Idempotent: each step checks
# first and is skipped when already satisfied, so a second run takes seconds.
#
#   1. apt-packages   Debian packages (Rust for wasm, lld, Chromium, C toolchain)
#   2. rust-wasm      a Rust toolchain that can build wasm32-unknown-unknown;
#                     the choice is written to .toolchain/rust-wasm-toolchain
#   3. cargo-tools    wasm-bindgen-cli (= crate's pin) and wasm-pack
#   4. npm-deps       node_modules from package-lock.json
#   5. threads-src    for the opt-in threads module: std's vendored deps + this crate's
#                     deps in one directory source (.toolchain/threads-vendor), so that
#                     build.sh can rebuild std with atomics (-Zbuild-std) offline
#   6. check          the tools build.sh/test.sh use are present, nothing will download
#
# Environment:
#   ALLOW_RUSTUP_DOWNLOAD=1   let step 2 try `rustup target add wasm32-unknown-unknown`
#                             once (for a normal laptop; off by default because the
#                             build machines must not fetch from static.rust-lang.org).
#   SKIP_APT=1                skip step 1 (e.g. no root and everything is installed).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

T_START=$(now_s)
mkdir -p "$TOOLCHAIN_DIR"

# Serialise concurrent setups (several people build on the same machine).
if have flock; then
  exec 9>"$TOOLCHAIN_DIR/setup.lock"
  if ! flock -n 9; then log "another setup.sh is running; waiting for it"; flock 9; fi
fi

SUDO=()
if [[ $EUID -ne 0 ]]; then
  if have sudo; then
    if [[ -t 0 ]]; then SUDO=(sudo); else SUDO=(sudo -n); fi
  fi
fi
as_root() {
  if [[ $EUID -eq 0 || ${#SUDO[@]} -gt 0 ]]; then "${SUDO[@]}" "$@"
  else
    warn "need root for: $*"
    warn "run this script as root, install sudo, or run that command as root yourself"
    return 1
  fi
}

APT_PKGS_BASE=(build-essential pkg-config curl ca-certificates chromium)
APT_PKGS_RUST_WEB=(rustc-web cargo-web rust-web-src rust-web-llvm lld-22)

# The default rustup toolchain (e.g. stable-x86_64-unknown-linux-gnu), if rustup exists.
rustup_default() { have rustup && rustup default 2>/dev/null | awk 'NR==1{print $1}'; }
rustup_default_has_target() {
  local d; d=$(rustup_default) || return 1; [[ -n "$d" ]] || return 1
  rustup target list --installed --toolchain "$d" 2>/dev/null | grep -qx "$WASM_TARGET"
}
# The Debian route is needed unless a rustup toolchain already has the target.
need_debian_rust() {
  if [[ -s "$TOOLCHAIN_FILE" ]]; then
    case "$(head -n1 "$TOOLCHAIN_FILE")" in web|system) return 0 ;; *) return 1 ;; esac
  fi
  ! rustup_default_has_target
}

# ------------------------------------------------------------------ 1. apt --
apt_missing() {
  local p
  for p in "$@"; do
    [[ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" == installed ]] || printf '%s\n' "$p"
  done
}
step_apt() {
  if [[ "${SKIP_APT:-}" == 1 ]]; then log "SKIP_APT=1: skipping"; return 0; fi
  if ! have dpkg-query || ! have apt-get; then
    warn "not a Debian/Ubuntu system: skipping apt. Needed: a C toolchain, Chromium/Chrome,"
    warn "and rustup with the $WASM_TARGET target (rustup target add $WASM_TARGET)."
    return 0
  fi
  local want=("${APT_PKGS_BASE[@]}")
  if need_debian_rust; then want+=("${APT_PKGS_RUST_WEB[@]}"); fi
  local missing
  mapfile -t missing < <(apt_missing "${want[@]}")
  if (( ${#missing[@]} == 0 )); then
    log "already installed: ${want[*]}"
    return 0
  fi
  log "installing: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
}

# ------------------------------------------------------------ 2. rust-wasm --
# Build std/core/alloc/test for wasm32 from the Debian rust-web sources with
# -Zbuild-std and install the rlibs into the system sysroot (/usr/lib/rustlib).
build_wasm_std() {
  local tc="$1" sysroot src vendor scratch dest
  sysroot=$(rustc_tc "$tc" --print sysroot)
  dest="$sysroot/lib/rustlib/$WASM_TARGET/lib"
  # The library sources that match this compiler: $sysroot/lib/rustlib/src/rust
  # (rust-web-src links it to /usr/src/rustc-<version>).
  src=""
  if [[ -d "$sysroot/lib/rustlib/src/rust/library" ]]; then
    src=$(readlink -f "$sysroot/lib/rustlib/src/rust")
  else
    local v; v=$(rustc_tc "$tc" --version | awk '{print $2}')
    for d in /usr/src/rustc-"$v" /usr/src/rustc-*; do [[ -d "$d/library" ]] && { src="$d"; break; }; done
  fi
  [[ -n "$src" && -d "$src/library" ]] || { warn "no Rust library sources found (apt package rust-web-src)"; return 1; }
  vendor="$src/library/vendor"
  [[ -d "$vendor" ]] || { warn "no vendored std dependencies at $vendor"; return 1; }
  log "building std for $WASM_TARGET from $src/library (takes about a minute)"

  scratch=$(mktemp -d "${TMPDIR:-/tmp}/wasm-std-build.XXXXXX")
  # shellcheck disable=SC2064
  trap "rm -rf '$scratch'" EXIT   # steps run in a subshell: this fires when the step ends
  mkdir -p "$scratch/src" "$scratch/.cargo"
  cat > "$scratch/Cargo.toml" <<'TOML'
[package]
name = "wasm_std_scratch"
version = "0.0.0"
edition = "2021"
publish = false

[lib]
path = "src/lib.rs"

[workspace]
TOML
  : > "$scratch/src/lib.rs"
  cat > "$scratch/.cargo/config.toml" <<TOML
[source.crates-io]
replace-with = "rust-std-vendor"

[source.rust-std-vendor]
directory = "$vendor"
TOML
  (
    cd "$scratch"
    unset CARGO_BUILD_RUSTFLAGS CARGO_ENCODED_RUSTFLAGS CARGO_BUILD_TARGET CARGO_TARGET_DIR
    export CARGO_TARGET_DIR="$scratch/target"
    RUSTC_BOOTSTRAP=1 RUSTFLAGS="-Cembed-bitcode=yes -Zforce-unstable-if-unmarked" \
      cargo_tc "$tc" build --offline --release --target "$WASM_TARGET" \
        -Zbuild-std=std,panic_abort,panic_unwind,test
  )
  local built=()
  for f in "$scratch/target/$WASM_TARGET/release/deps/"*.rlib; do
    case "$(basename "$f")" in libwasm_std_scratch-*) ;; *) built+=("$f") ;; esac
  done
  compgen -G "$scratch/target/$WASM_TARGET/release/deps/libstd-*.rlib" >/dev/null \
    || { warn "build-std produced no libstd rlib"; return 1; }
  log "installing ${#built[@]} rlibs into $dest"
  as_root mkdir -p "$dest"
  as_root find "$dest" -maxdepth 1 -name '*.rlib' -delete   # no stale duplicates
  as_root install -m 0644 "${built[@]}" "$dest/"
}

# Cheap end-to-end check: toolchain $1 compiles a simd128 cdylib that Node accepts.
verify_wasm_toolchain() {
  local tc="$1" tmp rc=0
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/wasm-tc-check.XXXXXX")
  cat > "$tmp/check.rs" <<'RS'
use std::arch::wasm32::*;
#[no_mangle]
pub extern "C" fn f(x: f32) -> f32 {
    let v = f32x4_mul(f32x4_splat(x), f32x4_splat(2.0));
    f32x4_extract_lane::<0>(v) + std::hint::black_box(vec![1.0f32])[0]
}
RS
  rustc_tc "$tc" --edition 2021 --target "$WASM_TARGET" --crate-type cdylib -O \
      -C target-feature=+simd128 -o "$tmp/check.wasm" "$tmp/check.rs" || rc=$?
  if (( rc == 0 )); then
    node -e '
      const b = require("fs").readFileSync(process.argv[1]);
      WebAssembly.instantiate(b).then(({instance}) => {
        const y = instance.exports.f(1.5);
        if (y !== 4) { console.error("wasm check: f(1.5) =", y, "expected 4"); process.exit(1); }
      }).catch(e => { console.error("wasm check:", e.message); process.exit(1); });' "$tmp/check.wasm" || rc=$?
  fi
  rm -rf "$tmp"
  return "$rc"
}

debian_toolchain() {
  # Prints the toolchain name to use for the Debian rustc-web compiler in /usr.
  [[ -x /usr/bin/rustc ]] || { warn "/usr/bin/rustc missing (apt package rustc-web)"; return 1; }
  if ! have rustup; then echo system; return 0; fi
  if ! rustup toolchain list 2>/dev/null | awk '{print $1}' | grep -qx web; then
    log "rustup toolchain link web /usr  ($(/usr/bin/rustc --version))" >&2
    rustup toolchain link web /usr >&2
  fi
  local sr; sr=$(rustc +web --print sysroot)
  [[ "$sr" == /usr ]] || { warn "toolchain 'web' points to $sr, expected /usr"; return 1; }
  echo web
}

step_rust_wasm() {
  local tc=""
  # Fast path: the recorded choice still works.
  if [[ -s "$TOOLCHAIN_FILE" ]]; then
    tc=$(head -n1 "$TOOLCHAIN_FILE")
    if toolchain_has_wasm_std "$tc" && verify_wasm_toolchain "$tc"; then
      log "toolchain '$tc' builds $WASM_TARGET (recorded in ${TOOLCHAIN_FILE#"$ROOT"/})"
      return 0
    fi
    warn "recorded toolchain '$tc' no longer builds $WASM_TARGET; choosing again"
    tc=""
  fi

  # A rustup toolchain that already has the target (a normal developer machine).
  if rustup_default_has_target; then
    tc=$(rustup_default)
    log "default rustup toolchain $tc has $WASM_TARGET"
  elif [[ "${ALLOW_RUSTUP_DOWNLOAD:-}" == 1 ]] && have rustup \
       && [[ ! -e "$TOOLCHAIN_DIR/rustup-target-add.failed" ]]; then
    log "trying: rustup target add $WASM_TARGET (once, 60 s timeout)"
    if timeout 60 rustup target add --toolchain "$(rustup_default)" "$WASM_TARGET"; then
      tc=$(rustup_default)
    else
      warn "rustup target add failed; using the Debian rustc-web route"
      date > "$TOOLCHAIN_DIR/rustup-target-add.failed"
    fi
  fi

  # Debian route: rustc-web 1.9x in /usr + a std built locally from rust-web-src.
  if [[ -z "$tc" ]]; then
    tc=$(debian_toolchain)
    if toolchain_has_wasm_std "$tc"; then
      log "std for $WASM_TARGET already in $(rustc_tc "$tc" --print sysroot)/lib/rustlib"
    else
      build_wasm_std "$tc"
    fi
  fi

  toolchain_has_wasm_std "$tc" || { warn "toolchain '$tc' has no std for $WASM_TARGET"; return 1; }
  verify_wasm_toolchain "$tc" || { warn "toolchain '$tc' cannot build a simd128 cdylib"; return 1; }
  printf '%s\n' "$tc" > "$TOOLCHAIN_FILE"
  log "using toolchain '$tc' for $WASM_TARGET ($(rustc_tc "$tc" --version)); written to ${TOOLCHAIN_FILE#"$ROOT"/}"
}

# ---------------------------------------------------------- 3. cargo-tools --
wait_for_other_cargo_installs() {
  # Someone else (another shell) may be installing these right now; don't race them.
  local waited=0
  while pgrep -f '^(\S*/)?cargo (\+\S+ )?install ' >/dev/null 2>&1; do
    (( waited == 0 )) && log "another 'cargo install' is running; waiting for it to finish"
    (( waited >= 3600 )) && { warn "gave up waiting after ${waited}s"; return 0; }
    sleep 5; waited=$(( waited + 5 ))
  done
}
cargo_install_pinned() {
  # cargo_install_pinned CRATE VERSION: --locked first; if the lock file names a crate
  # version that the registry does not have, resolve again without --locked.
  local crate="$1" version="$2"
  log "cargo install --locked $crate --version $version"
  if cargo install --locked "$crate" --version "$version"; then return 0; fi
  warn "cargo install --locked $crate failed; retrying without --locked"
  cargo install "$crate" --version "$version"
}
step_cargo_tools() {
  local pin; pin=$(wasm_bindgen_pin)
  have cargo || { warn "cargo not found (install rustup or apt package cargo-web)"; return 1; }
  bindgen_ok() {
    [[ "$(tool_version wasm-bindgen)" == "$pin" && "$(tool_version wasm-bindgen-test-runner)" == "$pin" ]]
  }
  pack_ok() { [[ "$(tool_version wasm-pack)" == "$WASM_PACK_VERSION" ]]; }
  if bindgen_ok && pack_ok; then
    log "wasm-bindgen $pin and wasm-pack $WASM_PACK_VERSION already installed"
    return 0
  fi
  wait_for_other_cargo_installs
  if bindgen_ok; then log "wasm-bindgen $pin already installed"
  else cargo_install_pinned wasm-bindgen-cli "$pin"; fi
  if pack_ok; then log "wasm-pack $WASM_PACK_VERSION already installed"
  else cargo_install_pinned wasm-pack "$WASM_PACK_VERSION"; fi
  bindgen_ok || { warn "wasm-bindgen on PATH is '$(tool_version wasm-bindgen)' ($(command -v wasm-bindgen || echo none)), need $pin"; return 1; }
  pack_ok || { warn "wasm-pack on PATH is '$(tool_version wasm-pack)', need $WASM_PACK_VERSION"; return 1; }
}

# ------------------------------------------------------------- 4. npm-deps --
step_npm() {
  have node || { warn "node not found (need Node >= 20)"; return 1; }
  local major; major=$(node -p 'process.versions.node.split(".")[0]')
  (( major >= 20 )) || { warn "Node $(node --version) is too old; need >= 20"; return 1; }
  local marker="node_modules/.package-lock.json"
  if [[ -f "$marker" ]] && ! newer package-lock.json "$marker" && ! newer package.json "$marker"; then
    log "node_modules is up to date with package-lock.json"
    return 0
  fi
  if [[ -f package-lock.json ]] && { [[ -n "${CI:-}" ]] || ! newer package.json package-lock.json; }; then
    log "npm ci"
    npm ci --no-audit --no-fund
  else
    log "npm install (package.json is newer than package-lock.json, or no lock file)"
    npm install --no-audit --no-fund
  fi
  touch "$marker"
}

# --------------------------------------------------------- 5. threads-src --
# -Zbuild-std resolves std's own dependencies (dlmalloc, hashbrown, ...) through
# crates.io; offline they come from the library sources' vendor/ directory. The crate's
# own dependencies (wasm-bindgen, ...) are vendored from cargo's cache beside them, and a
# cargo config (passed with --config by threads_cargo) replaces crates.io with the union.
step_threads_src() {
  local tc sysroot vendor_std crate_vendor d n
  tc=$(rust_wasm_toolchain)
  sysroot=$(rustc_tc "$tc" --print sysroot)
  vendor_std=$(readlink -f "$sysroot/lib/rustlib/src/rust/library/vendor" 2>/dev/null || true)
  if [[ -z "$vendor_std" || ! -d "$vendor_std" ]]; then
    warn "no std sources with vendored deps at $sysroot/lib/rustlib/src/rust/library/vendor:"
    warn "the threads module cannot be built (THREADS=0 scripts/build.sh builds without it)"
    return 0
  fi
  if [[ -s "$THREADS_CARGO_CONFIG" && -d "$THREADS_VENDOR_DIR" ]] \
     && ! newer Cargo.lock "$THREADS_CARGO_CONFIG" && ! newer "$vendor_std" "$THREADS_CARGO_CONFIG"; then
    log "threads vendor directory is up to date"
    return 0
  fi
  crate_vendor="$TOOLCHAIN_DIR/threads-vendor-crate"
  rm -rf "$crate_vendor" "$THREADS_VENDOR_DIR"
  # From cargo's cache when the crate has been built before; otherwise fetched as any
  # cargo build would.
  cargo_tc "$tc" vendor --versioned-dirs --locked "$crate_vendor" >/dev/null
  mkdir -p "$THREADS_VENDOR_DIR"
  for d in "$crate_vendor"/* "$vendor_std"/*; do
    n=$(basename "$d")
    [[ -e "$THREADS_VENDOR_DIR/$n" ]] || ln -s "$(readlink -f "$d")" "$THREADS_VENDOR_DIR/$n"
  done
  cat > "$THREADS_CARGO_CONFIG" <<TOML
# Written by scripts/setup.sh (step threads-src); used by threads_cargo in scripts/lib.sh.
[source.crates-io]
replace-with = "threads-vendor"

[source.threads-vendor]
directory = "$THREADS_VENDOR_DIR"
TOML
  log "threads vendor directory: $(find "$THREADS_VENDOR_DIR" -mindepth 1 -maxdepth 1 | wc -l) crates"
}

# ---------------------------------------------------------------- 6. check --
step_check() {
  local wasm_opt="$ROOT/node_modules/.bin/wasm-opt"
  [[ -x "$wasm_opt" ]] || { warn "node_modules/.bin/wasm-opt missing (npm package binaryen)"; return 1; }
  "$wasm_opt" --version >/dev/null || { warn "wasm-opt does not run"; return 1; }
  grep -Eq '^[[:space:]]*wasm-opt[[:space:]]*=[[:space:]]*false' crate/wasm/Cargo.toml \
    || { warn "crate/wasm/Cargo.toml must set [package.metadata.wasm-pack.profile.release] wasm-opt = false (or wasm-pack downloads binaryen)"; return 1; }
  # The format and lint gates of scripts/test.sh (rustup's default profile has both).
  local component
  for component in fmt clippy; do
    cargo "$component" --version >/dev/null 2>&1 \
      || { warn "cargo $component is missing: the gates need it (rustup's default profile, or Debian's rustfmt / rust-clippy)"; return 1; }
  done
  local chromium
  if chromium=$(find_chromium); then :; else
    warn "no Chromium found: the browser tests will fail (apt package chromium, or set CHROMIUM_PATH)"
    chromium="(none)"
  fi
  log "rust wasm toolchain: $(rust_wasm_toolchain) — $(rustc_tc "$(rust_wasm_toolchain)" --version)"
  log "wasm-bindgen:        $(tool_version wasm-bindgen) ($(command -v wasm-bindgen))"
  log "wasm-pack:           $(tool_version wasm-pack) ($(command -v wasm-pack))"
  log "wasm-opt:            $("$wasm_opt" --version) (node_modules/binaryen)"
  log "node:                $(node --version), npm $(npm --version)"
  log "chromium:            $chromium"
}

step "apt-packages" step_apt
step "rust-wasm"    step_rust_wasm
step "cargo-tools"  step_cargo_tools
step "npm-deps"     step_npm
step "threads-src"  step_threads_src
step "check"        step_check
log "setup complete in $(( $(now_s) - T_START ))s"
