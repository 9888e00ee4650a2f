//! The kernels' one SIMD vocabulary: four-lane vectors of f32 ([`V4`]), of u32 ([`U4`], the
//! pooling's window indices), two-lane f64 ([`D2`], wide sums) and lane masks ([`M4`]).
//! With SIMD128 they are `v128`; elsewhere plain arrays with the same methods (LLVM
//! vectorizes them for the native target), so every kernel is written once.
//!
//! Both backends compute the same bits for every method but the transcendental ones:
//! [`V4::exp`] and [`V4::tanh`] are polynomials on wasm SIMD and libm elsewhere (as the
//! scalar kernels always were), and [`V4::relu`] is wasm's pmax or `f32::max`.
//!
//! This is the one file that tests `target_feature = "simd128"` for the vectors; the
//! pooling's byte-narrowing 2×2 path is the other (see `pool2d/row2x2.rs`).

// `add`, `mul`, ... mirror the wasm intrinsics (f32x4_add, ...) by name on both backends; operator
// traits would hide which lane operation runs.
#![allow(clippy::should_implement_trait)]

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
pub use portable::{D2, M4, U4, V4};
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub use simd128::{D2, M4, U4, V4};

/// The fewest floats that are both whole rows of `cols` floats and whole vectors (`cols`
/// rounded up to a common multiple with 4): the kernels walk rows whose length is not a
/// multiple of 4 in chunks of this many.
pub fn vector_period(cols: usize) -> usize {
    let gcd = match cols % 4 {
        0 => 4,
        2 => 2,
        _ => 1,
    };
    cols * 4 / gcd
}

/// Methods both backends define in terms of the others.
impl V4 {
    /// Four floats from the start of `s`.
    #[inline(always)]
    pub fn read(s: &[f32]) -> V4 {
        assert!(s.len() >= 4);
        // SAFETY: four floats readable, asserted above.
        unsafe { V4::load(s.as_ptr()) }
    }

    /// Into the first four floats of `s`.
    #[inline(always)]
    pub fn write(self, s: &mut [f32]) {
        assert!(s.len() >= 4);
        // SAFETY: four floats writable, asserted above.
        unsafe { self.store(s.as_mut_ptr()) }
    }

    /// The floats of `s` (fewer than four) in a zero-padded vector, so a short tail goes
    /// through the same vector code as the body.
    #[inline(always)]
    pub fn padded(s: &[f32]) -> V4 {
        let mut tmp = [0.0f32; 4];
        tmp[..s.len()].copy_from_slice(s);
        V4::read(&tmp)
    }

    /// The first `s.len()` (< 4) lanes into `s`.
    #[inline(always)]
    pub fn write_lanes(self, s: &mut [f32]) {
        let n = s.len();
        s.copy_from_slice(&self.lanes()[..n]);
    }

    #[inline(always)]
    pub fn hsum(self) -> f32 {
        let l = self.lanes();
        (l[0] + l[1]) + (l[2] + l[3])
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd128 {
    use core::arch::wasm32::*;

    /// Four f32 lanes.
    #[derive(Clone, Copy)]
    pub struct V4(v128);
    /// Four u32 lanes.
    #[derive(Clone, Copy)]
    pub struct U4(v128);
    /// Two f64 lanes.
    #[derive(Clone, Copy)]
    pub struct D2(v128);
    /// Four lane masks (all bits set or clear), from comparisons.
    #[derive(Clone, Copy)]
    pub struct M4(v128);

    impl V4 {
        #[inline(always)]
        pub fn zero() -> V4 {
            V4(f32x4_splat(0.0))
        }
        #[inline(always)]
        pub fn splat(x: f32) -> V4 {
            V4(f32x4_splat(x))
        }
        /// # Safety
        /// Four floats readable at `p`.
        #[inline(always)]
        pub unsafe fn load(p: *const f32) -> V4 {
            V4(v128_load(p as *const v128))
        }
        /// # Safety
        /// One float readable at `p`.
        #[inline(always)]
        pub unsafe fn splat_load(p: *const f32) -> V4 {
            V4(v128_load32_splat(p as *const u32))
        }
        /// # Safety
        /// Four floats writable at `p`.
        #[inline(always)]
        pub unsafe fn store(self, p: *mut f32) {
            v128_store(p as *mut v128, self.0)
        }
        #[inline(always)]
        pub fn add(self, o: V4) -> V4 {
            V4(f32x4_add(self.0, o.0))
        }
        #[inline(always)]
        pub fn sub(self, o: V4) -> V4 {
            V4(f32x4_sub(self.0, o.0))
        }
        #[inline(always)]
        pub fn mul(self, o: V4) -> V4 {
            V4(f32x4_mul(self.0, o.0))
        }
        #[inline(always)]
        pub fn div(self, o: V4) -> V4 {
            V4(f32x4_div(self.0, o.0))
        }
        /// self + a·b (a multiply and an add: no FMA without relaxed SIMD).
        #[inline(always)]
        pub fn mul_add(self, a: V4, b: V4) -> V4 {
            V4(f32x4_add(self.0, f32x4_mul(a.0, b.0)))
        }
        #[inline(always)]
        pub fn sqrt(self) -> V4 {
            V4(f32x4_sqrt(self.0))
        }
        #[inline(always)]
        pub fn neg(self) -> V4 {
            V4(f32x4_neg(self.0))
        }
        /// max(self, 0) as the activation kernels compute ReLU (pmax).
        #[inline(always)]
        pub fn relu(self) -> V4 {
            V4(f32x4_pmax(self.0, f32x4_splat(0.0)))
        }
        /// [`V4::relu`] of one float.
        #[inline(always)]
        pub fn relu1(x: f32) -> f32 {
            if x < 0.0 {
                0.0
            } else {
                x
            }
        }
        #[inline(always)]
        pub fn gt(self, o: V4) -> M4 {
            M4(f32x4_gt(self.0, o.0))
        }
        /// `if_true` where `m` is set, else `self`.
        #[inline(always)]
        pub fn select(self, m: M4, if_true: V4) -> V4 {
            V4(v128_bitselect(if_true.0, self.0, m.0))
        }
        /// self where `m` is set, else +0.
        #[inline(always)]
        pub fn keep(self, m: M4) -> V4 {
            V4(v128_and(self.0, m.0))
        }
        /// e^x for |x| up to ~87, Cephes-style: x = n·ln2 + r with |r| <= ln2/2, e^r by a
        /// degree-6 polynomial (about 1 ulp), then 2^n built in the exponent bits.
        #[inline(always)]
        pub fn exp(self) -> V4 {
            // Clamped so that 2^n stays a normal float: n in [-126, 127].
            let x = f32x4_min(f32x4_max(self.0, f32x4_splat(-87.3)), f32x4_splat(88.0));
            let n = f32x4_nearest(f32x4_mul(x, f32x4_splat(core::f32::consts::LOG2_E)));
            // ln2 split in two so n·ln2_hi is exact.
            let r = f32x4_sub(x, f32x4_mul(n, f32x4_splat(0.693_359_4)));
            let r = f32x4_sub(r, f32x4_mul(n, f32x4_splat(-2.121_944_4e-4)));
            let mut p = f32x4_splat(1.987_569_1e-4);
            for c in [1.398_199_9e-3, 8.333_452e-3, 4.166_579_6e-2, 1.666_666_5e-1, 5.000_000_1e-1] {
                p = f32x4_add(f32x4_mul(p, r), f32x4_splat(c));
            }
            let er = f32x4_add(f32x4_add(f32x4_mul(f32x4_mul(p, r), r), r), f32x4_splat(1.0));
            let two_n = i32x4_shl(i32x4_add(i32x4_trunc_sat_f32x4(n), i32x4_splat(127)), 23);
            V4(f32x4_mul(er, two_n))
        }
        /// tanh(x) = sign(x)·(1 - e^{-2|x|}) / (1 + e^{-2|x|}): the exponent is never
        /// positive, so nothing overflows.
        #[inline(always)]
        pub fn tanh(self) -> V4 {
            let t = V4(f32x4_mul(f32x4_abs(self.0), f32x4_splat(-2.0))).exp().0;
            let one = f32x4_splat(1.0);
            let mag = f32x4_div(f32x4_sub(one, t), f32x4_add(one, t));
            V4(v128_or(mag, v128_and(self.0, f32x4_splat(-0.0))))
        }
        #[inline(always)]
        pub fn lanes(self) -> [f32; 4] {
            [
                f32x4_extract_lane::<0>(self.0),
                f32x4_extract_lane::<1>(self.0),
                f32x4_extract_lane::<2>(self.0),
                f32x4_extract_lane::<3>(self.0),
            ]
        }
        /// (Σ v[0], Σ v[1], Σ v[2], Σ v[3]): four horizontal sums in one vector.
        #[inline(always)]
        pub fn hsum4(v: [V4; 4]) -> V4 {
            let s01 =
                f32x4_add(i32x4_shuffle::<0, 4, 1, 5>(v[0].0, v[1].0), i32x4_shuffle::<2, 6, 3, 7>(v[0].0, v[1].0));
            let s23 =
                f32x4_add(i32x4_shuffle::<0, 4, 1, 5>(v[2].0, v[3].0), i32x4_shuffle::<2, 6, 3, 7>(v[2].0, v[3].0));
            V4(f32x4_add(i64x2_shuffle::<0, 2>(s01, s23), i64x2_shuffle::<1, 3>(s01, s23)))
        }
        /// Lanes (0, 1) and (2, 3) widened to f64.
        #[inline(always)]
        pub fn widen(self) -> [D2; 2] {
            [
                D2(f64x2_promote_low_f32x4(self.0)),
                D2(f64x2_promote_low_f32x4(i32x4_shuffle::<2, 3, 0, 1>(self.0, self.0))),
            ]
        }
    }

    impl U4 {
        #[inline(always)]
        pub fn splat(x: u32) -> U4 {
            U4(u32x4_splat(x))
        }
        /// # Safety
        /// Four u32 readable at `p`.
        #[inline(always)]
        pub unsafe fn load(p: *const u32) -> U4 {
            U4(v128_load(p as *const v128))
        }
        /// # Safety
        /// Four u32 writable at `p`.
        #[inline(always)]
        pub unsafe fn store(self, p: *mut u32) {
            v128_store(p as *mut v128, self.0)
        }
        /// Four bytes at `p`, zero-extended.
        ///
        /// # Safety
        /// Four bytes readable at `p`.
        #[inline(always)]
        pub unsafe fn load_bytes(p: *const u8) -> U4 {
            U4(u32x4_extend_low_u16x8(u16x8_extend_low_u8x16(v128_load32_zero(p as *const u32))))
        }
        /// The lanes (each below 256) as four bytes at `p`.
        ///
        /// # Safety
        /// Four bytes writable at `p`.
        #[inline(always)]
        pub unsafe fn store_bytes(self, p: *mut u8) {
            let h = i16x8_narrow_i32x4(self.0, self.0);
            v128_store32_lane::<0>(u8x16_narrow_i16x8(h, h), p as *mut u32);
        }
        #[inline(always)]
        pub fn eq(self, o: U4) -> M4 {
            M4(i32x4_eq(self.0, o.0))
        }
        /// `if_true` where `m` is set, else `self`.
        #[inline(always)]
        pub fn select(self, m: M4, if_true: U4) -> U4 {
            U4(v128_bitselect(if_true.0, self.0, m.0))
        }
    }

    impl D2 {
        #[inline(always)]
        pub fn zero() -> D2 {
            D2(f64x2_splat(0.0))
        }
        #[inline(always)]
        pub fn add(self, o: D2) -> D2 {
            D2(f64x2_add(self.0, o.0))
        }
        #[inline(always)]
        pub fn lanes(self) -> [f64; 2] {
            [f64x2_extract_lane::<0>(self.0), f64x2_extract_lane::<1>(self.0)]
        }
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod portable {
    use core::array::from_fn;

    #[derive(Clone, Copy)]
    pub struct V4([f32; 4]);
    #[derive(Clone, Copy)]
    pub struct U4([u32; 4]);
    #[derive(Clone, Copy)]
    pub struct D2([f64; 2]);
    #[derive(Clone, Copy)]
    pub struct M4([bool; 4]);

    impl V4 {
        #[inline(always)]
        pub fn zero() -> V4 {
            V4([0.0; 4])
        }
        #[inline(always)]
        pub fn splat(x: f32) -> V4 {
            V4([x; 4])
        }
        /// # Safety
        /// Four floats readable at `p`.
        #[inline(always)]
        pub unsafe fn load(p: *const f32) -> V4 {
            V4(core::ptr::read_unaligned(p as *const [f32; 4]))
        }
        /// # Safety
        /// One float readable at `p`.
        #[inline(always)]
        pub unsafe fn splat_load(p: *const f32) -> V4 {
            V4([*p; 4])
        }
        /// # Safety
        /// Four floats writable at `p`.
        #[inline(always)]
        pub unsafe fn store(self, p: *mut f32) {
            core::ptr::write_unaligned(p as *mut [f32; 4], self.0)
        }
        #[inline(always)]
        pub fn add(self, o: V4) -> V4 {
            V4(from_fn(|l| self.0[l] + o.0[l]))
        }
        #[inline(always)]
        pub fn sub(self, o: V4) -> V4 {
            V4(from_fn(|l| self.0[l] - o.0[l]))
        }
        #[inline(always)]
        pub fn mul(self, o: V4) -> V4 {
            V4(from_fn(|l| self.0[l] * o.0[l]))
        }
        #[inline(always)]
        pub fn div(self, o: V4) -> V4 {
            V4(from_fn(|l| self.0[l] / o.0[l]))
        }
        #[inline(always)]
        pub fn mul_add(self, a: V4, b: V4) -> V4 {
            V4(from_fn(|l| self.0[l] + a.0[l] * b.0[l]))
        }
        #[inline(always)]
        pub fn sqrt(self) -> V4 {
            V4(self.0.map(f32::sqrt))
        }
        #[inline(always)]
        pub fn neg(self) -> V4 {
            V4(self.0.map(|x| -x))
        }
        /// max(self, 0) as the portable activation kernels compute ReLU.
        #[inline(always)]
        pub fn relu(self) -> V4 {
            V4(self.0.map(|x| x.max(0.0)))
        }
        /// [`V4::relu`] of one float.
        #[inline(always)]
        pub fn relu1(x: f32) -> f32 {
            x.max(0.0)
        }
        #[inline(always)]
        pub fn gt(self, o: V4) -> M4 {
            M4(from_fn(|l| self.0[l] > o.0[l]))
        }
        /// `if_true` where `m` is set, else `self`.
        #[inline(always)]
        pub fn select(self, m: M4, if_true: V4) -> V4 {
            V4(from_fn(|l| if m.0[l] { if_true.0[l] } else { self.0[l] }))
        }
        /// self where `m` is set, else +0.
        #[inline(always)]
        pub fn keep(self, m: M4) -> V4 {
            V4(from_fn(|l| if m.0[l] { self.0[l] } else { 0.0 }))
        }
        /// libm's e^x, lane by lane.
        #[inline(always)]
        pub fn exp(self) -> V4 {
            V4(self.0.map(f32::exp))
        }
        /// libm's tanh, lane by lane.
        #[inline(always)]
        pub fn tanh(self) -> V4 {
            V4(self.0.map(f32::tanh))
        }
        #[inline(always)]
        pub fn lanes(self) -> [f32; 4] {
            self.0
        }
        /// (Σ v[0], Σ v[1], Σ v[2], Σ v[3]).
        #[inline(always)]
        pub fn hsum4(v: [V4; 4]) -> V4 {
            V4(from_fn(|i| v[i].hsum()))
        }
        /// Lanes (0, 1) and (2, 3) widened to f64.
        #[inline(always)]
        pub fn widen(self) -> [D2; 2] {
            let l = self.0.map(f64::from);
            [D2([l[0], l[1]]), D2([l[2], l[3]])]
        }
    }

    impl U4 {
        #[inline(always)]
        pub fn splat(x: u32) -> U4 {
            U4([x; 4])
        }
        /// # Safety
        /// Four u32 readable at `p`.
        #[inline(always)]
        pub unsafe fn load(p: *const u32) -> U4 {
            U4(core::ptr::read_unaligned(p as *const [u32; 4]))
        }
        /// # Safety
        /// Four u32 writable at `p`.
        #[inline(always)]
        pub unsafe fn store(self, p: *mut u32) {
            core::ptr::write_unaligned(p as *mut [u32; 4], self.0)
        }
        /// Four bytes at `p`, zero-extended.
        ///
        /// # Safety
        /// Four bytes readable at `p`.
        #[inline(always)]
        pub unsafe fn load_bytes(p: *const u8) -> U4 {
            U4(core::ptr::read_unaligned(p as *const [u8; 4]).map(u32::from))
        }
        /// The lanes (each below 256) as four bytes at `p`.
        ///
        /// # Safety
        /// Four bytes writable at `p`.
        #[inline(always)]
        pub unsafe fn store_bytes(self, p: *mut u8) {
            core::ptr::write_unaligned(p as *mut [u8; 4], self.0.map(|x| x as u8))
        }
        #[inline(always)]
        pub fn eq(self, o: U4) -> M4 {
            M4(from_fn(|l| self.0[l] == o.0[l]))
        }
        /// `if_true` where `m` is set, else `self`.
        #[inline(always)]
        pub fn select(self, m: M4, if_true: U4) -> U4 {
            U4(from_fn(|l| if m.0[l] { if_true.0[l] } else { self.0[l] }))
        }
    }

    impl D2 {
        #[inline(always)]
        pub fn zero() -> D2 {
            D2([0.0; 2])
        }
        #[inline(always)]
        pub fn add(self, o: D2) -> D2 {
            D2([self.0[0] + o.0[0], self.0[1] + o.0[1]])
        }
        #[inline(always)]
        pub fn lanes(self) -> [f64; 2] {
            self.0
        }
    }
}
