//! GEMM microbenchmark: times `gemm` against `gemm_reference` on the shapes the layers use
//! and prints GFLOP/s (2·m·n·k per call). A script that prints figures, not a test.
//!
//! It includes the kernel sources directly (`#[path]`), so it builds with plain `rustc`
//! whatever state the rest of the crate is in; `dev/bench.sh` builds and runs it natively
//! and, when the wasm32 target and node are available, as wasm with SIMD128 in node.

#[allow(dead_code, unused_imports)]
#[path = "../src/kernels/mod.rs"]
mod kernels;

use kernels::gemm::{gemm, gemm_reference};

/// (name, m, n, k, trans_a, trans_b): dense forward NN, its weight gradient TN (Xᵀ·dY)
/// and input gradient NT (dY·Wᵀ); conv per image (im2col) NN and the TN/NT counterparts.
const SHAPES: &[(&str, usize, usize, usize, bool, bool)] = &[
    ("dense fwd 256x784->64   NN", 256, 64, 784, false, false),
    ("dense dW  784x64 (k256) TN", 784, 64, 256, true, false),
    ("dense dX  256x784 (k64) NT", 256, 784, 64, false, true),
    ("dense fwd 256x64->784   NN", 256, 784, 64, false, false),
    ("dense dW  64x784 (k256) TN", 64, 784, 256, true, false),
    ("dense dX  256x64 (k784) NT", 256, 64, 784, false, true),
    ("dense fwd 256x784->512  NN", 256, 512, 784, false, false),
    ("dense dW  784x512       TN", 784, 512, 256, true, false),
    ("dense dX  256x784 (k512)NT", 256, 784, 512, false, true),
    ("conv fwd  784x32 k9     NN", 784, 32, 9, false, false),
    ("conv dK   9x32 k784     TN", 9, 32, 784, true, false),
    ("conv dcol 784x9 k32     NT", 784, 9, 32, false, true),
    ("conv fwd  196x8 k288    NN", 196, 8, 288, false, false),
    ("conv dK   288x8 k196    TN", 288, 8, 196, true, false),
    ("conv dcol 196x288 k8    NT", 196, 288, 8, false, true),
    ("conv fwd  784x1 k288    NN", 784, 1, 288, false, false),
    ("conv dK   288x1 k784    TN", 288, 1, 784, true, false),
    ("conv dcol 784x288 k1    NT", 784, 288, 1, false, true),
];

#[cfg(not(target_arch = "wasm32"))]
fn now_seconds() -> f64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64()
}

#[cfg(target_arch = "wasm32")]
fn now_seconds() -> f64 {
    #[link(wasm_import_module = "env")]
    extern "C" {
        /// `performance.now()` in milliseconds, supplied by dev/run_wasm_bench.mjs.
        fn now_ms() -> f64;
    }
    unsafe { now_ms() / 1000.0 }
}

#[cfg(target_arch = "wasm32")]
fn emit(line: &str) {
    #[link(wasm_import_module = "env")]
    extern "C" {
        fn print(ptr: *const u8, len: usize);
    }
    unsafe { print(line.as_ptr(), line.len()) }
}

#[cfg(not(target_arch = "wasm32"))]
fn emit(line: &str) {
    println!("{line}");
}

type Gemm = fn(usize, usize, usize, &[f32], bool, &[f32], bool, &mut [f32], bool);

/// GFLOP/s of the best of a few timed batches, each at least `min_seconds` long.
fn gflops(f: Gemm, m: usize, n: usize, k: usize, ta: bool, tb: bool, min_seconds: f64) -> f64 {
    let a: Vec<f32> = (0..m * k).map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5).collect();
    let b: Vec<f32> = (0..k * n).map(|i| ((i * 104_729) % 1000) as f32 / 1000.0 - 0.5).collect();
    let mut c = vec![0.0f32; m * n];
    f(m, n, k, &a, ta, &b, tb, &mut c, false); // warm-up
    let mut best = 0.0f64;
    for _ in 0..3 {
        let (start, mut calls) = (now_seconds(), 0u64);
        let mut elapsed = 0.0;
        while elapsed < min_seconds {
            f(m, n, k, &a, ta, &b, tb, &mut c, false);
            calls += 1;
            elapsed = now_seconds() - start;
        }
        best = best.max(2.0 * (m * n * k) as f64 * calls as f64 / elapsed / 1e9);
    }
    std::hint::black_box(&c);
    best
}

#[no_mangle]
pub extern "C" fn run() {
    emit(&format!("{:<28} {:>10} {:>10} {:>8}", "shape", "gemm", "reference", "speedup"));
    let (mut total_fast, mut total_ref) = (0.0, 0.0);
    for &(name, m, n, k, ta, tb) in SHAPES {
        let fast = gflops(gemm, m, n, k, ta, tb, 0.1);
        let reference = gflops(gemm_reference, m, n, k, ta, tb, 0.1);
        total_fast += fast.ln();
        total_ref += reference.ln();
        emit(&format!("{name:<28} {fast:>10.2} {reference:>10.2} {:>7.1}x", fast / reference));
    }
    let count = SHAPES.len() as f64;
    emit(&format!("{:<28} {:>10.2} {:>10.2}   (geometric mean GFLOP/s)", "all", (total_fast / count).exp(), (total_ref / count).exp()));
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    run();
}
