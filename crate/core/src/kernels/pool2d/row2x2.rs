//! The 2×2 path: whole 2×2 windows with stride 2 and byte indices (every model's pooling),
//! one input row at a time. An input row holds two cells of each window along an output
//! row; the top row starts the maxima and indices, the bottom row updates them, and the
//! backward writes each row of dx once.
//!
//! Hand-written on wasm SIMD rather than over `kernels::simd`: it builds the indices as
//! bytes, 16 channels to a vector, by narrowing four lane masks; the u32 lanes of the cell
//! path would move four times the index bytes through registers. Elsewhere, scalar loops.

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
pub use portable::{max_2x2_row, route_2x2_row};
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub use simd128::{max_2x2_row, route_2x2_row};

/// Cells k0 and k0 + 1 of a whole 2×2 window, one channel, as the reference scans them:
/// the top row's (k0 = 0) start the maximum, the bottom row's update it; a cell replaces
/// the maximum so far only if it beats it, so ties keep the first, and a NaN never wins
/// unless it is cell 0 (then nothing beats it).
#[inline(always)]
fn max_pair(k0: u8, v: [f32; 2], y: &mut f32, argmax: &mut u8) {
    let mut best = if k0 == 0 { (v[0], 0) } else { (*y, *argmax) };
    for (v, k) in v.into_iter().zip(k0..) {
        if v > best.0 {
            best = (v, k);
        }
    }
    (*y, *argmax) = best;
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd128 {
    use core::arch::wasm32::*;

    /// One input row of whole 2×2 windows along an output row: window w's cells K0 and
    /// K0 + 1 are x[2w] and x[2w + 1] (cells of `ch` channels). The top row (K0 = 0) starts
    /// y and argmax, the bottom row (K0 = 2) updates them. 16 channels at a time (one
    /// 16-byte store of indices), then 8, 4, 1.
    pub fn max_2x2_row<const K0: u8>(x: &[f32], ch: usize, y: &mut [f32], argmax: &mut [u8]) {
        let n = y.len();
        assert!(argmax.len() == n && x.len() == 2 * n && n % ch == 0);
        for o in (0..n).step_by(ch) {
            let mut c = 0;
            // SAFETY: the groups read cells 2o..2o + 2ch of x and outputs o..o + ch, below 2n
            // and n; channels c..c + 4G with c + 4G <= ch.
            unsafe {
                let cells = [x.as_ptr().add(2 * o), x.as_ptr().add(2 * o + ch)];
                let (yp, ap) = (y.as_mut_ptr().add(o), argmax.as_mut_ptr().add(o));
                while c + 16 <= ch {
                    max_group::<K0, 4>(cells, c, yp, ap);
                    c += 16;
                }
                if c + 8 <= ch {
                    max_group::<K0, 2>(cells, c, yp, ap);
                    c += 8;
                }
                if c + 4 <= ch {
                    max_group::<K0, 1>(cells, c, yp, ap);
                    c += 4;
                }
            }
            for c in o + c..o + ch {
                super::max_pair(K0, [x[o + c], x[o + c + ch]], &mut y[c], &mut argmax[c]);
            }
        }
    }

    /// Channels c..c + 4G of one window's cells K0 and K0 + 1 ([`super::max_pair`]): where
    /// m < v, v replaces m (f32x4_pmax is that select in one instruction) and the index
    /// becomes the cell's. The masks are narrowed to bytes first, so the indices cost a few
    /// byte-vector operations per 16 channels.
    #[inline(always)]
    unsafe fn max_group<const K0: u8, const G: usize>(cells: [*const f32; 2], c: usize, y: *mut f32, argmax: *mut u8) {
        let load = |p: *const f32, i: usize| v128_load(p.add(c + 4 * i) as *const v128);
        let a = argmax.add(c);
        let (mut m, mut index): ([v128; G], v128) = if K0 == 0 {
            (core::array::from_fn(|i| load(cells[0], i)), u8x16_splat(0))
        } else {
            (core::array::from_fn(|i| load(y, i)), load_bytes::<G>(a))
        };
        // The top row's first cell started m: it beats nothing.
        for (cell, k) in cells.iter().zip(K0..).skip(usize::from(K0 == 0)) {
            let beats: [v128; G] = core::array::from_fn(|i| {
                let v = load(*cell, i);
                let gt = f32x4_lt(m[i], v);
                m[i] = f32x4_pmax(m[i], v);
                gt
            });
            // Cells come in increasing order: the latest to beat the maximum is the largest.
            index = u8x16_max(index, v128_and(narrow(beats), u8x16_splat(k)));
        }
        for (i, m) in m.iter().enumerate() {
            v128_store(y.add(c + 4 * i) as *mut v128, *m);
        }
        match G {
            4 => v128_store(a as *mut v128, index),
            2 => v128_store64_lane::<0>(index, a as *mut u64),
            _ => v128_store32_lane::<0>(index, a as *mut u32),
        }
    }

    /// 4G bytes at `p` (the rest zero).
    #[inline(always)]
    unsafe fn load_bytes<const G: usize>(p: *const u8) -> v128 {
        match G {
            4 => v128_load(p as *const v128),
            2 => v128_load64_zero(p as *const u64),
            _ => v128_load32_zero(p as *const u32),
        }
    }

    /// 4G lane masks (-1 or 0 in i32 lanes) as the first 4G bytes: signed narrowing keeps
    /// -1 and 0, so i16 narrowing twice does (a mask's i16 halves are equal). LLVM turns
    /// i16x8_narrow_i32x4 into a clamp and a shuffle, four operations instead of one.
    #[inline(always)]
    fn narrow<const G: usize>(m: [v128; G]) -> v128 {
        let half = |i: usize| i8x16_narrow_i16x8(m[i % G], m[(i + 1) % G]);
        let high = if G == 4 { half(2) } else { half(0) };
        i8x16_narrow_i16x8(half(0), high)
    }

    /// One input row of whole 2×2 windows, the cells as in [`max_2x2_row`]: each gets dy
    /// where its window's index names it, else 0, so that row of dx is written once.
    pub fn route_2x2_row<const K0: u8>(dy: &[f32], argmax: &[u8], ch: usize, dx: &mut [f32]) {
        let n = dy.len();
        assert!(argmax.len() == n && dx.len() == 2 * n && n % ch == 0);
        for o in (0..n).step_by(ch) {
            let mut c = 0;
            // SAFETY: as in max_2x2_row, reading and writing the other way round.
            unsafe {
                let cells = [dx.as_mut_ptr().add(2 * o), dx.as_mut_ptr().add(2 * o + ch)];
                let (dp, ap) = (dy.as_ptr().add(o), argmax.as_ptr().add(o));
                while c + 16 <= ch {
                    route_group::<K0, 4>(dp, ap, c, cells);
                    c += 16;
                }
                if c + 8 <= ch {
                    route_group::<K0, 2>(dp, ap, c, cells);
                    c += 8;
                }
                if c + 4 <= ch {
                    route_group::<K0, 1>(dp, ap, c, cells);
                    c += 4;
                }
            }
            for c in o + c..o + ch {
                for (cell, k) in [o + c, o + c + ch].into_iter().zip(K0..) {
                    dx[cell] = if argmax[c] == k { dy[c] } else { 0.0 };
                }
            }
        }
    }

    /// Channels c..c + 4G of one window's cells K0 and K0 + 1: the indices widened to i32
    /// lanes once, then each cell's lanes are dy where they equal its cell, else 0.
    #[inline(always)]
    unsafe fn route_group<const K0: u8, const G: usize>(
        dy: *const f32,
        argmax: *const u8,
        c: usize,
        cells: [*mut f32; 2],
    ) {
        let bytes = load_bytes::<G>(argmax.add(c));
        let (lo, hi) = (u16x8_extend_low_u8x16(bytes), u16x8_extend_high_u8x16(bytes));
        let index = [
            u32x4_extend_low_u16x8(lo),
            u32x4_extend_high_u16x8(lo),
            u32x4_extend_low_u16x8(hi),
            u32x4_extend_high_u16x8(hi),
        ];
        let d: [v128; G] = core::array::from_fn(|i| v128_load(dy.add(c + 4 * i) as *const v128));
        for (cell, k) in cells.iter().zip(K0..) {
            let kv = u32x4_splat(k.into());
            for (i, d) in d.iter().enumerate() {
                v128_store(cell.add(c + 4 * i) as *mut v128, v128_and(*d, i32x4_eq(index[i], kv)));
            }
        }
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod portable {
    use super::super::cells::route;

    /// One input row of whole 2×2 windows along an output row: window w's cells K0 and
    /// K0 + 1 are x[2w] and x[2w + 1] (cells of `ch` channels).
    pub fn max_2x2_row<const K0: u8>(x: &[f32], ch: usize, y: &mut [f32], argmax: &mut [u8]) {
        for ((y, a), x) in y.chunks_exact_mut(ch).zip(argmax.chunks_exact_mut(ch)).zip(x.chunks_exact(2 * ch)) {
            for c in 0..ch {
                super::max_pair(K0, [x[c], x[ch + c]], &mut y[c], &mut a[c]);
            }
        }
    }

    /// One input row of whole 2×2 windows, the cells as in [`max_2x2_row`]: each gets dy
    /// where its window's index names it, else 0.
    pub fn route_2x2_row<const K0: u8>(dy: &[f32], argmax: &[u8], ch: usize, dx: &mut [f32]) {
        for ((d, a), dx) in dy.chunks_exact(ch).zip(argmax.chunks_exact(ch)).zip(dx.chunks_exact_mut(2 * ch)) {
            let (left, right) = dx.split_at_mut(ch);
            route(left, K0.into(), d, a);
            route(right, usize::from(K0) + 1, d, a);
        }
    }
}
