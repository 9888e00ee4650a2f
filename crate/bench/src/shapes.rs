//! GEMM GFLOP/s on the shapes of issue 3, with the library's own `gemm` and its direct
//! conv kernels (this crate depends on wasm-autoencoders-core).
//!
//! Built by bench/gemm/run.mjs as a bare wasm32 + simd128 cdylib and driven from Node:
//! the host supplies `env.now_ms` (performance.now()); `bench_gemm`, `bench_conv` and
//! `bench_ceiling` return GFLOP/s.

use crate::ceiling;
use crate::host::now_seconds;
use crate::kernels::operand;
use wasm_autoencoders_core::kernels;
use wasm_autoencoders_core::kernels::gemm::{gemm, MatMut, Store};

/// C (m×n) = op(A)·op(B) with k the inner size, `calls` independent products per
/// timed unit (each its own A and C, one shared B). Returns GFLOP/s counting 2·m·n·k
/// per product (see `best_gflops`).
#[no_mangle]
pub extern "C" fn bench_gemm(
    m: usize,
    n: usize,
    k: usize,
    trans_a: u32,
    trans_b: u32,
    calls: usize,
    min_seconds: f64,
    rounds: u32,
) -> f64 {
    let (ta, tb) = (trans_a != 0, trans_b != 0);
    let a: Vec<f32> = (0..calls * m * k).map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5).collect();
    let b: Vec<f32> = (0..k * n).map(|i| ((i * 104_729) % 1000) as f32 / 1000.0 - 0.5).collect();
    let mut c = vec![0.0f32; calls * m * n];
    let best = best_gflops(2.0 * (m * n * k * calls) as f64, min_seconds, rounds, || {
        for i in 0..calls {
            let (a, c) = (&a[i * m * k..(i + 1) * m * k], &mut c[i * m * n..(i + 1) * m * n]);
            gemm(operand(a, m, k, ta), operand(&b, k, n, tb), MatMut::new(c, m, n), Store::Overwrite);
        }
    });
    std::hint::black_box(&c);
    best
}

/// Times `unit` (one unit = `flops` floating-point operations): best of `rounds` runs of
/// at least `min_seconds` each, after one warm-up unit. GFLOP/s.
fn best_gflops(flops: f64, min_seconds: f64, rounds: u32, mut unit: impl FnMut()) -> f64 {
    unit();
    let mut best = 0.0f64;
    for _ in 0..rounds.max(1) {
        let start = now_seconds();
        let mut units = 0u64;
        let mut elapsed = 0.0;
        while elapsed < min_seconds || units == 0 {
            unit();
            units += 1;
            elapsed = now_seconds() - start;
        }
        best = best.max(flops * units as f64 / elapsed / 1e9);
    }
    best
}

/// This machine's ceiling for our kernels (crate/dev/ceiling.rs), GFLOP/s, 1 thread.
#[no_mangle]
pub extern "C" fn bench_ceiling(min_seconds: f64, rounds: u32) -> f64 {
    const N: usize = 1_000_000;
    best_gflops((N * ceiling::FLOPS_PER_ITERATION) as f64, min_seconds, rounds, || {
        std::hint::black_box(ceiling::run(N, 1e-9));
    })
}

/// A 3×3 'same' Conv2D over `batch` images of h×w×in_c into out_c channels, as the library
/// runs it (crate/core/src/kernels/conv2d: the direct kernels, im2col only as their fallback).
/// `pass`: 0 forward, 1 input gradient, 2 kernel gradient. GFLOP/s counting
/// 2·h·w·9·in_c·out_c per image and pass.
#[no_mangle]
pub extern "C" fn bench_conv(
    h: usize,
    w: usize,
    in_c: usize,
    out_c: usize,
    pass: u32,
    batch: usize,
    min_seconds: f64,
    rounds: u32,
) -> f64 {
    use kernels::conv2d::{conv2d_backward_input, conv2d_backward_kernel, conv2d_forward, Conv2dGeometry};
    let g = Conv2dGeometry::new([h, w, in_c], [3, 3], out_c, kernels::Padding::Same).unwrap();
    let x: Vec<f32> = (0..batch * g.input_len()).map(|i| ((i * 7919) % 1000) as f32 / 1000.0).collect();
    let dy: Vec<f32> = (0..batch * g.output_len()).map(|i| ((i * 104_729) % 1000) as f32 / 1000.0 - 0.5).collect();
    let kernel: Vec<f32> = (0..g.kernel_len()).map(|i| ((i * 31) % 100) as f32 / 100.0 - 0.5).collect();
    let (mut y, mut dx, mut dk) = (vec![0.0f32; dy.len()], vec![0.0f32; x.len()], vec![0.0f32; kernel.len()]);
    let mut cols = vec![0.0f32; g.cols_len()];
    let flops = 2.0 * (batch * h * w * 9 * in_c * out_c) as f64;
    let gflops = best_gflops(flops, min_seconds, rounds, || match pass {
        0 => conv2d_forward(&g, batch, &x, &kernel, &mut y, &mut cols),
        1 => conv2d_backward_input(&g, batch, &dy, &kernel, &mut dx, &mut cols),
        _ => conv2d_backward_kernel(&g, batch, &x, &dy, &mut dk, &mut cols),
    });
    std::hint::black_box((&y, &dx, &dk));
    gflops
}
