//! The dev benchmarks: scripts that print figures, never tests. They depend on
//! `wasm-autoencoders-core` as a library, so what they time is what the SDK runs.
//!
//! Built natively (the bins in `src/bin/`) and as one bare wasm32 + simd128 module whose
//! `extern "C"` exports are driven from Node (crate/dev/run_wasm_bench.mjs,
//! bench/gemm/run.mjs), the host supplying a clock and a print (host.rs).
//!
//! - `kernels`: GEMM and conv kernels' GFLOP/s on the layers' shapes (`run_with`).
//! - `shapes`: GEMM / conv GFLOP/s per call, for `npm run bench` (`bench_gemm`, `bench_conv`,
//!   `bench_ceiling`).
//! - `profile`: where a training step's time goes (`run_profile`).
//! - `ceiling`: the register-only and memory-stream ceilings the others are compared with.

pub mod ceiling;
pub mod host;
pub mod kernels;
pub mod profile;
// Its ceiling is wasm SIMD only (natively LLVM sees through a register-only loop).
#[cfg(target_arch = "wasm32")]
pub mod shapes;
