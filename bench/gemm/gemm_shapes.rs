//! GEMM GFLOP/s on the shapes of issue 3, with the library's own `gemm` (the kernel
//! sources are included straight from crate/src/kernels, as crate/dev/gemm_bench.rs
//! does, so this builds with plain rustc whatever the state of the rest of the crate).
//!
//! Built by bench/gemm/run.mjs as a bare wasm32 + simd128 cdylib and driven from Node:
//! the host supplies `env.now_ms` (performance.now()); `bench_gemm` returns GFLOP/s.

#[allow(dead_code, unused_imports)]
#[path = "../../crate/src/kernels/mod.rs"]
mod kernels;

use kernels::gemm::gemm;

#[link(wasm_import_module = "env")]
extern "C" {
    fn now_ms() -> f64;
}

fn now_seconds() -> f64 {
    unsafe { now_ms() / 1000.0 }
}

/// C (m×n) = op(A)·op(B) with k the inner size, `calls` independent products per
/// timed unit (for per-image conv GEMMs: `calls` images of one batch, each its own
/// A and C, one shared B). Best of `rounds` timed runs of at least `min_seconds`
/// each, after one warm-up unit. Returns GFLOP/s counting 2·m·n·k per product.
#[no_mangle]
pub extern "C" fn bench_gemm(m: usize, n: usize, k: usize, trans_a: u32, trans_b: u32, calls: usize, min_seconds: f64, rounds: u32) -> f64 {
    let (ta, tb) = (trans_a != 0, trans_b != 0);
    let a: Vec<f32> = (0..calls * m * k).map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5).collect();
    let b: Vec<f32> = (0..k * n).map(|i| ((i * 104_729) % 1000) as f32 / 1000.0 - 0.5).collect();
    let mut c = vec![0.0f32; calls * m * n];
    let unit = |c: &mut [f32]| {
        for i in 0..calls {
            gemm(m, n, k, &a[i * m * k..(i + 1) * m * k], ta, &b, tb, &mut c[i * m * n..(i + 1) * m * n], false);
        }
    };
    unit(&mut c); // warm-up
    let mut best = 0.0f64;
    for _ in 0..rounds.max(1) {
        let start = now_seconds();
        let mut units = 0u64;
        let mut elapsed = 0.0;
        while elapsed < min_seconds || units == 0 {
            unit(&mut c);
            units += 1;
            elapsed = now_seconds() - start;
        }
        best = best.max(2.0 * (m * n * k * calls) as f64 * units as f64 / elapsed / 1e9);
    }
    std::hint::black_box(&c);
    best
}
