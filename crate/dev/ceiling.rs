//! The ceiling our kernels are measured against: f32x4 mul + add into 8 register
//! accumulators, no memory traffic. Wasm SIMD has no fused multiply-add (without relaxed
//! SIMD), so every GEMM and convolution micro-kernel here is this loop plus loads.
//! Included by crate/dev/gemm_bench.rs and bench/gemm/gemm_shapes.rs (`#[path]`).

/// Floating-point operations per iteration of [`run`]: 8 accumulators × 4 lanes × (mul + add).
pub const FLOPS_PER_ITERATION: usize = 64;

/// `n` iterations of the loop; returns a value the caller must consume (black_box).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(never)]
pub fn run(n: usize, x: f32) -> f32 {
    use core::arch::wasm32::*;
    #[inline(never)]
    fn body(n: usize, x: v128, y: v128) -> v128 {
        let mut acc = [f32x4_splat(0.0); 8];
        let mut b = [x, y];
        for _ in 0..n {
            for (i, a) in acc.iter_mut().enumerate() {
                *a = f32x4_add(*a, f32x4_mul(b[i & 1], b[(i >> 1) & 1]));
            }
            b[0] = f32x4_add(b[0], b[1]);
        }
        acc.iter().fold(f32x4_splat(0.0), |s, a| f32x4_add(s, *a))
    }
    let x = std::hint::black_box(f32x4_splat(x));
    f32x4_extract_lane::<0>(std::hint::black_box(body(std::hint::black_box(n), x, x)))
}
