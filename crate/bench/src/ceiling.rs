//! The ceilings our kernels are measured against. Compute: f32x4 mul + add into 8 register
//! accumulators, no memory traffic. Wasm SIMD has no fused multiply-add (without relaxed
//! SIMD), so every GEMM and convolution micro-kernel here is this loop plus loads. Memory:
//! [`memory`], streams of f32x4 loads and stores for the kernels that are not FLOP-bound.
//! Used by kernels.rs, shapes.rs and the profiles.

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

/// The other ceiling: memory speed, for the kernels that do a few operations per element
/// (activations, bias, pooling, upsampling, loss, Adam), which no FLOP count describes.
/// Four f32x4 streams, the simplest loop for each way of moving data; the caller runs them
/// over a working set as large as the kernel's, so that both run from the same level of the
/// cache hierarchy, and counts bytes as for the kernel (each element read or written once).
/// Each is `#[inline(never)]` and passes its buffer through black_box: V8 swaps optimized
/// code in at a function's next call, so the timing loop must call it many times, and the
/// optimizer drops repeated calls that only read (or only fill) memory.
/// Used by crate/dev/model_profile.rs; other includers leave it unused.
#[allow(dead_code)]
pub mod memory {
    /// Read only: Σ src into 4 independent vector sums (no add latency chain to wait on;
    /// with 8, V8's code ran at half the speed in cache, measured on Zen 4).
    /// What a reduction can reach (bias gradient, a loss's sum). Returns the sum, for black_box.
    #[inline(never)]
    pub fn read(src: &[f32]) -> f32 {
        imp::read(std::hint::black_box(src))
    }

    /// Load + store, dst = src, one vector at a time: what a kernel that reads one tensor and
    /// writes another can reach (pooling, upsampling, Adam, loss + gradient). Not
    /// `copy_from_slice`: that is `memory.copy`, which V8 runs as memmove, not a kernel's loop.
    #[inline(never)]
    pub fn copy(src: &[f32], dst: &mut [f32]) {
        assert_eq!(src.len(), dst.len(), "memory::copy: lengths differ");
        imp::copy(src, std::hint::black_box(dst));
    }

    /// dst += src: what a kernel that updates a tensor in place can reach (activations and
    /// their gradients, Adam's p, m and v): its writes go to lines it has just read, so
    /// unlike copy's they cost no read of their own (see fill).
    #[inline(never)]
    pub fn update(src: &[f32], dst: &mut [f32]) {
        assert_eq!(src.len(), dst.len(), "memory::update: lengths differ");
        imp::update(src, std::hint::black_box(dst));
    }

    /// Store only: dst = value. Printed beside copy, compared with no kernel: on x86 a store
    /// to a line that is not in cache first reads it (write-allocate), so writing alone is
    /// not as cheap as it looks.
    #[inline(never)]
    pub fn fill(dst: &mut [f32], value: f32) {
        imp::fill(std::hint::black_box(dst), value);
    }

    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    mod imp {
        use core::arch::wasm32::*;

        pub fn read(src: &[f32]) -> f32 {
            let (body, p) = (src.len() / 16 * 16, src.as_ptr());
            let mut a = [f32x4_splat(0.0); 4];
            for i in (0..body).step_by(16) {
                // SAFETY: i + 16 <= body <= src.len().
                unsafe {
                    a[0] = f32x4_add(a[0], v128_load(p.add(i) as *const v128));
                    a[1] = f32x4_add(a[1], v128_load(p.add(i + 4) as *const v128));
                    a[2] = f32x4_add(a[2], v128_load(p.add(i + 8) as *const v128));
                    a[3] = f32x4_add(a[3], v128_load(p.add(i + 12) as *const v128));
                }
            }
            let s = f32x4_add(f32x4_add(a[0], a[1]), f32x4_add(a[2], a[3]));
            let tail: f32 = src[body..].iter().sum();
            tail + f32x4_extract_lane::<0>(s)
                + f32x4_extract_lane::<1>(s)
                + f32x4_extract_lane::<2>(s)
                + f32x4_extract_lane::<3>(s)
        }

        pub fn copy(src: &[f32], dst: &mut [f32]) {
            let body = src.len() / 4 * 4;
            for i in (0..body).step_by(4) {
                // SAFETY: i + 4 <= body <= the length of both.
                unsafe {
                    v128_store(dst.as_mut_ptr().add(i) as *mut v128, v128_load(src.as_ptr().add(i) as *const v128))
                };
            }
            dst[body..].copy_from_slice(&src[body..]);
        }

        pub fn update(src: &[f32], dst: &mut [f32]) {
            let body = src.len() / 4 * 4;
            for i in (0..body).step_by(4) {
                // SAFETY: i + 4 <= body <= the length of both.
                unsafe {
                    let d = dst.as_mut_ptr().add(i) as *mut v128;
                    v128_store(d, f32x4_add(v128_load(d), v128_load(src.as_ptr().add(i) as *const v128)));
                }
            }
            for (d, s) in dst[body..].iter_mut().zip(&src[body..]) {
                *d += s;
            }
        }

        pub fn fill(dst: &mut [f32], value: f32) {
            let (v, body) = (f32x4_splat(value), dst.len() / 4 * 4);
            for i in (0..body).step_by(4) {
                // SAFETY: i + 4 <= body <= dst.len().
                unsafe { v128_store(dst.as_mut_ptr().add(i) as *mut v128, v) };
            }
            dst[body..].fill(value);
        }
    }

    /// Natively (bench.sh profile-native): plain loops, which the compiler vectorizes (and
    /// may turn into memcpy/memset).
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    mod imp {
        pub fn read(src: &[f32]) -> f32 {
            let mut acc = [0.0f32; 16];
            for c in src.chunks_exact(16) {
                for (a, &x) in acc.iter_mut().zip(c) {
                    *a += x;
                }
            }
            acc.iter().sum::<f32>() + src.chunks_exact(16).remainder().iter().sum::<f32>()
        }

        pub fn copy(src: &[f32], dst: &mut [f32]) {
            dst.copy_from_slice(src);
        }

        pub fn update(src: &[f32], dst: &mut [f32]) {
            for (d, s) in dst.iter_mut().zip(src) {
                *d += s;
            }
        }

        pub fn fill(dst: &mut [f32], value: f32) {
            dst.fill(value);
        }
    }
}
