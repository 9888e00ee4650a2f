//! A four-lane f32 vector: `v128` with SIMD128, a plain array elsewhere (LLVM vectorizes
//! it for the native target), so the direct path's micro-kernels are written once.

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub use simd128::V4;
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
pub use portable::V4;

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd128 {
    use core::arch::wasm32::*;

    #[derive(Clone, Copy)]
    pub struct V4(v128);

    impl V4 {
        #[inline(always)]
        pub fn zero() -> V4 {
            V4(f32x4_splat(0.0))
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
        /// self + a·b (a multiply and an add: no FMA without relaxed SIMD).
        #[inline(always)]
        pub fn mul_add(self, a: V4, b: V4) -> V4 {
            V4(f32x4_add(self.0, f32x4_mul(a.0, b.0)))
        }
        #[inline(always)]
        pub fn add(self, o: V4) -> V4 {
            V4(f32x4_add(self.0, o.0))
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
        pub fn lanes(self) -> [f32; 4] {
            [f32x4_extract_lane::<0>(self.0), f32x4_extract_lane::<1>(self.0), f32x4_extract_lane::<2>(self.0), f32x4_extract_lane::<3>(self.0)]
        }
        #[inline(always)]
        pub fn hsum(self) -> f32 {
            let l = self.lanes();
            (l[0] + l[1]) + (l[2] + l[3])
        }
        /// (Σ v[0], Σ v[1], Σ v[2], Σ v[3]): four horizontal sums in one vector.
        #[inline(always)]
        pub fn hsum4(v: [V4; 4]) -> V4 {
            let s01 = f32x4_add(i32x4_shuffle::<0, 4, 1, 5>(v[0].0, v[1].0), i32x4_shuffle::<2, 6, 3, 7>(v[0].0, v[1].0));
            let s23 = f32x4_add(i32x4_shuffle::<0, 4, 1, 5>(v[2].0, v[3].0), i32x4_shuffle::<2, 6, 3, 7>(v[2].0, v[3].0));
            V4(f32x4_add(i64x2_shuffle::<0, 2>(s01, s23), i64x2_shuffle::<1, 3>(s01, s23)))
        }
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod portable {
    #[derive(Clone, Copy)]
    pub struct V4([f32; 4]);

    impl V4 {
        #[inline(always)]
        pub fn zero() -> V4 {
            V4([0.0; 4])
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
        pub fn mul_add(self, a: V4, b: V4) -> V4 {
            V4(core::array::from_fn(|l| self.0[l] + a.0[l] * b.0[l]))
        }
        #[inline(always)]
        pub fn add(self, o: V4) -> V4 {
            V4(core::array::from_fn(|l| self.0[l] + o.0[l]))
        }
        /// max(self, 0) as the portable activation kernels compute ReLU.
        #[inline(always)]
        pub fn relu(self) -> V4 {
            V4(core::array::from_fn(|l| self.0[l].max(0.0)))
        }
        /// [`V4::relu`] of one float.
        #[inline(always)]
        pub fn relu1(x: f32) -> f32 {
            x.max(0.0)
        }
        #[inline(always)]
        pub fn lanes(self) -> [f32; 4] {
            self.0
        }
        #[inline(always)]
        pub fn hsum(self) -> f32 {
            (self.0[0] + self.0[1]) + (self.0[2] + self.0[3])
        }
        /// (Σ v[0], Σ v[1], Σ v[2], Σ v[3]).
        #[inline(always)]
        pub fn hsum4(v: [V4; 4]) -> V4 {
            V4(core::array::from_fn(|i| v[i].hsum()))
        }
    }
}
