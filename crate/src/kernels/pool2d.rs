//! 2-D max pooling over NHWC tensors, remembering where each maximum came from.
//!
//! Padded cells never win (Keras pads max pooling with -∞), so a window is just clipped
//! to the input. Ties go to the first maximum in row-major window order.
//!
//! Where a maximum came from is kept as its cell's index in its own (unclipped) window,
//! ph·pool_w + pw, in a [`WindowIndex`]: a byte for windows of up to 256 cells, so the
//! forward writes and the backward reads a quarter of what u32 element indices took (on
//! the 256×28×28×32 pooling, 1.6 MB instead of 6.4 MB each way, beside 25.7 MB of x or
//! dx), and an index can only name a cell of its own window.

use super::{Padding, Window2d};

/// Shape of a pooling layer (per sample; channels are pooled independently).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool2dGeometry {
    pub in_h: usize,
    pub in_w: usize,
    pub channels: usize,
    pub pool_h: usize,
    pub pool_w: usize,
    pub stride_h: usize,
    pub stride_w: usize,
    pub padding: Padding,
}

impl Pool2dGeometry {
    fn window(&self) -> Window2d {
        let (input, window, stride) = ([self.in_h, self.in_w], [self.pool_h, self.pool_w], [self.stride_h, self.stride_w]);
        Window2d { padding: self.padding, input, window, stride, what: "pool2d: window" }
    }

    pub fn out_h(&self) -> usize {
        self.window().rows().0
    }

    pub fn out_w(&self) -> usize {
        self.window().cols().0
    }

    pub fn pad_top(&self) -> usize {
        self.window().rows().1
    }

    pub fn pad_left(&self) -> usize {
        self.window().cols().1
    }

    /// Elements per input sample.
    pub fn input_len(&self) -> usize {
        self.in_h * self.in_w * self.channels
    }

    /// Elements per output sample.
    pub fn output_len(&self) -> usize {
        self.out_h() * self.out_w() * self.channels
    }

    /// Cells of a window, pool_h·pool_w: the range of the argmax indices.
    pub fn window_cells(&self) -> usize {
        self.pool_h * self.pool_w
    }

    /// The input rows (or columns) a window starting at output index `o` covers, clipped
    /// to the input: `[lo, hi)`, and the window row (column) of `lo`.
    fn span(o: usize, stride: usize, pad: usize, window: usize, input: usize) -> (usize, usize, usize) {
        let start = o * stride;
        let lo = start.saturating_sub(pad);
        let hi = (start + window).saturating_sub(pad).min(input);
        (lo, hi, lo + pad - start)
    }

    fn check<T: WindowIndex>(&self, batch: usize, x_len: usize, out_len: usize, argmax_len: usize) {
        assert_eq!(x_len, batch * self.input_len(), "pool2d: input length is not batch × input_len");
        assert_eq!(out_len, batch * self.output_len(), "pool2d: output length is not batch × output_len");
        assert_eq!(argmax_len, out_len, "pool2d: argmax length differs from the output's");
        assert!(self.window_cells() <= T::CELLS, "pool2d: window has more cells than the argmax type can index");
    }
}

/// The type of the argmax indices (a cell of the window, ph·pool_w + pw): `u8` for windows
/// of up to 256 cells, `u32` for any.
pub trait WindowIndex: Copy + Default + Send + Sync + 'static {
    /// Cells it can index.
    const CELLS: usize;
    fn from_cell(k: usize) -> Self;
    fn cell(self) -> usize;
    /// Four indices at `p` as u32 lanes.
    ///
    /// # Safety
    /// Four elements readable at `p`.
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    unsafe fn load4(p: *const Self) -> core::arch::wasm32::v128;
    /// Stores four u32 lanes (each below CELLS) at `p`.
    ///
    /// # Safety
    /// Four elements writable at `p`.
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    unsafe fn store4(v: core::arch::wasm32::v128, p: *mut Self);
}

impl WindowIndex for u8 {
    const CELLS: usize = 256;
    #[inline(always)]
    fn from_cell(k: usize) -> u8 {
        k as u8
    }
    #[inline(always)]
    fn cell(self) -> usize {
        self as usize
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    #[inline(always)]
    unsafe fn load4(p: *const u8) -> core::arch::wasm32::v128 {
        use core::arch::wasm32::*;
        u32x4_extend_low_u16x8(u16x8_extend_low_u8x16(v128_load32_zero(p as *const u32)))
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    #[inline(always)]
    unsafe fn store4(v: core::arch::wasm32::v128, p: *mut u8) {
        use core::arch::wasm32::*;
        let h = i16x8_narrow_i32x4(v, v);
        v128_store32_lane::<0>(u8x16_narrow_i16x8(h, h), p as *mut u32);
    }
}

impl WindowIndex for u32 {
    const CELLS: usize = usize::MAX;
    #[inline(always)]
    fn from_cell(k: usize) -> u32 {
        u32::try_from(k).expect("pool2d: window too large for u32 indices")
    }
    #[inline(always)]
    fn cell(self) -> usize {
        self as usize
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    #[inline(always)]
    unsafe fn load4(p: *const u32) -> core::arch::wasm32::v128 {
        core::arch::wasm32::v128_load(p as *const core::arch::wasm32::v128)
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    #[inline(always)]
    unsafe fn store4(v: core::arch::wasm32::v128, p: *mut u32) {
        core::arch::wasm32::v128_store(p as *mut core::arch::wasm32::v128, v)
    }
}

/// y = max over each window; argmax[o] = the window cell (ph·pool_w + pw) it came from.
pub fn max_pool2d_forward<T: WindowIndex>(g: &Pool2dGeometry, batch: usize, x: &[f32], y: &mut [f32], argmax: &mut [T]) {
    g.check::<T>(batch, x.len(), y.len(), argmax.len());
    let (out_h, out_w, ch) = (g.out_h(), g.out_w(), g.channels);
    let (pad_top, pad_left) = (g.pad_top(), g.pad_left());
    if ch == 0 {
        return;
    }
    // Input row by input row (each window's cells still in row-major order, so ties keep
    // the first maximum): x is read sequentially, and the output row being built stays in
    // cache. Reading window by window (two input rows interleaved) took twice as long at
    // 256×28×28×32, for u32 element indices updated in memory and for window-cell indices
    // kept in registers alike.
    for b in 0..batch {
        for oh in 0..out_h {
            let (h0, h1, ph0) = Pool2dGeometry::span(oh, g.stride_h, pad_top, g.pool_h, g.in_h);
            for ih in h0..h1 {
                let ph = ph0 + ih - h0;
                for ow in 0..out_w {
                    let (w0, w1, pw0) = Pool2dGeometry::span(ow, g.stride_w, pad_left, g.pool_w, g.in_w);
                    let o = ((b * out_h + oh) * out_w + ow) * ch;
                    let (y, argmax) = (&mut y[o..o + ch], &mut argmax[o..o + ch]);
                    for iw in w0..w1 {
                        let cell = ((b * g.in_h + ih) * g.in_w + iw) * ch;
                        let k = ph * g.pool_w + pw0 + iw - w0;
                        imp::visit(&x[cell..cell + ch], k, ih == h0 && iw == w0, y, argmax);
                    }
                }
            }
        }
    }
}

/// dx = 0, then dx[the cell argmax[o] names in window o] += dy[o] (overlapping windows may
/// pick the same element). `argmax` as [`max_pool2d_forward`] leaves it: an index naming a
/// padding cell or none of the window panics in the scatter below, and its gradient is
/// dropped when dx is written window by window.
///
/// When the windows tile a large input (stride = pool, as in the usual 2×2/2; dx of at
/// least 4 MiB), dx is instead written once, input row by input row: each cell gets dy
/// where its window's index names it, else 0 (a fill and a scatter of read-modify-writes
/// cost about three times as much at 256×28×28×32).
pub fn max_pool2d_backward<T: WindowIndex>(g: &Pool2dGeometry, batch: usize, dy: &[f32], argmax: &[T], dx: &mut [f32]) {
    g.check::<T>(batch, dx.len(), dy.len(), argmax.len());
    let (out_h, out_w, ch) = (g.out_h(), g.out_w(), g.channels);
    let (pad_top, pad_left) = (g.pad_top(), g.pad_left());
    // Small maps stay in cache, where the fill and scatter are cheaper than visiting cells.
    let window_writes = g.stride_h == g.pool_h && g.stride_w == g.pool_w && dx.len() >= WINDOW_WRITES_MIN;
    // A 'valid' remainder (input rows or columns no window reaches) gets zeros first.
    if !window_writes || out_h * g.stride_h < g.in_h + pad_top || out_w * g.stride_w < g.in_w + pad_left {
        dx.fill(0.0);
    }
    if ch == 0 {
        return;
    }
    // For the scatter: window cell k → its element's offset from the window's first
    // element, from a table for small windows (a division per element would cost more
    // than the scatter).
    let cells = g.window_cells();
    let mut table = [0usize; 256];
    let tabled = cells <= table.len();
    if tabled && !window_writes {
        for (k, t) in table.iter_mut().enumerate().take(cells) {
            *t = ((k / g.pool_w) * g.in_w + k % g.pool_w) * ch;
        }
    }
    for b in 0..batch {
        for oh in 0..out_h {
            let (h0, h1, ph0) = Pool2dGeometry::span(oh, g.stride_h, pad_top, g.pool_h, g.in_h);
            if window_writes {
                for ih in h0..h1 {
                    for ow in 0..out_w {
                        let (w0, w1, pw0) = Pool2dGeometry::span(ow, g.stride_w, pad_left, g.pool_w, g.in_w);
                        let o = ((b * out_h + oh) * out_w + ow) * ch;
                        let (d, a) = (&dy[o..o + ch], &argmax[o..o + ch]);
                        let k = (ph0 + ih - h0) * g.pool_w + pw0;
                        for iw in w0..w1 {
                            let cell = ((b * g.in_h + ih) * g.in_w + iw) * ch;
                            imp::route(&mut dx[cell..cell + ch], k + iw - w0, d, a);
                        }
                    }
                }
                continue;
            }
            for ow in 0..out_w {
                let (w0, w1, pw0) = Pool2dGeometry::span(ow, g.stride_w, pad_left, g.pool_w, g.in_w);
                let o = ((b * out_h + oh) * out_w + ow) * ch;
                let cell0 = ((b * g.in_h + h0) * g.in_w + w0) * ch;
                let (dy, argmax) = (&dy[o..o + ch], &argmax[o..o + ch]);
                if tabled && h1 - h0 == g.pool_h && w1 - w0 == g.pool_w {
                    // A whole window: every cell is inside the input.
                    for (c, (&k, &d)) in argmax.iter().zip(dy).enumerate() {
                        let k = k.cell();
                        assert!(k < cells, "pool2d: argmax names a cell outside the input");
                        dx[cell0 + table[k] + c] += d;
                    }
                    continue;
                }
                for (c, (&k, &d)) in argmax.iter().zip(dy).enumerate() {
                    let k = k.cell();
                    let (r, q) = ((k / g.pool_w).wrapping_sub(ph0), (k % g.pool_w).wrapping_sub(pw0));
                    assert!(k < cells && r < h1 - h0 && q < w1 - w0, "pool2d: argmax names a cell outside the input");
                    dx[cell0 + (r * g.in_w + q) * ch + c] += d;
                }
            }
        }
    }
}

/// Input size (floats, 4 MiB) from which the backward writes dx window by window.
const WINDOW_WRITES_MIN: usize = 1 << 20;

/// The definition: every window scanned cell by cell, channel by channel.
pub fn max_pool2d_forward_reference<T: WindowIndex>(g: &Pool2dGeometry, batch: usize, x: &[f32], y: &mut [f32], argmax: &mut [T]) {
    g.check::<T>(batch, x.len(), y.len(), argmax.len());
    let (out_h, out_w, ch) = (g.out_h(), g.out_w(), g.channels);
    let (pad_top, pad_left) = (g.pad_top() as isize, g.pad_left() as isize);
    for b in 0..batch {
        for oh in 0..out_h {
            for ow in 0..out_w {
                for c in 0..ch {
                    let mut best: Option<(f32, usize)> = None;
                    for ph in 0..g.pool_h {
                        for pw in 0..g.pool_w {
                            let ih = (oh * g.stride_h + ph) as isize - pad_top;
                            let iw = (ow * g.stride_w + pw) as isize - pad_left;
                            if ih < 0 || iw < 0 || ih >= g.in_h as isize || iw >= g.in_w as isize {
                                continue;
                            }
                            let i = ((b * g.in_h + ih as usize) * g.in_w + iw as usize) * ch + c;
                            if best.is_none_or(|(v, _)| x[i] > v) {
                                best = Some((x[i], ph * g.pool_w + pw));
                            }
                        }
                    }
                    let (v, k) = best.expect("every window overlaps the input");
                    let o = ((b * out_h + oh) * out_w + ow) * ch + c;
                    y[o] = v;
                    argmax[o] = T::from_cell(k);
                }
            }
        }
    }
}

/// The definition: the maximum is recomputed from x, and its gradient routed back to its
/// element.
pub fn max_pool2d_backward_reference(g: &Pool2dGeometry, batch: usize, x: &[f32], dy: &[f32], dx: &mut [f32]) {
    let mut y = vec![0.0; dy.len()];
    let mut argmax = vec![0u32; dy.len()];
    max_pool2d_forward_reference(g, batch, x, &mut y, &mut argmax);
    dx.fill(0.0);
    let (out_h, out_w, ch) = (g.out_h(), g.out_w(), g.channels);
    for (o, (&k, &d)) in argmax.iter().zip(dy).enumerate() {
        let (c, ow, oh, b) = (o % ch, o / ch % out_w, o / ch / out_w % out_h, o / ch / out_w / out_h);
        let ih = oh * g.stride_h + k as usize / g.pool_w - g.pad_top();
        let iw = ow * g.stride_w + k as usize % g.pool_w - g.pad_left();
        dx[((b * g.in_h + ih) * g.in_w + iw) * ch + c] += d;
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod imp {
    use super::WindowIndex;
    use core::arch::wasm32::*;

    /// One cell (`ch` channels): dx = dy where argmax names window cell k, else 0, four
    /// channels at a time.
    #[inline(always)]
    pub fn route<T: WindowIndex>(dx: &mut [f32], k: usize, dy: &[f32], argmax: &[T]) {
        let ch = dx.len();
        assert!(dy.len() == ch && argmax.len() == ch);
        let kv = u32x4_splat(k as u32);
        let mut c = 0;
        while c + 4 <= ch {
            // SAFETY: c + 4 <= ch, the length of dx, dy and argmax.
            unsafe {
                let d = v128_load(dy.as_ptr().add(c) as *const v128);
                let m = i32x4_eq(T::load4(argmax.as_ptr().add(c)), kv);
                v128_store(dx.as_mut_ptr().add(c) as *mut v128, v128_and(d, m));
            }
            c += 4;
        }
        for c in c..ch {
            dx[c] = if argmax[c].cell() == k { dy[c] } else { 0.0 };
        }
    }

    /// One cell of a window (`ch` channels, window cell k): the window's first cell
    /// initialises y/argmax, later ones replace the channels they strictly beat (so ties
    /// keep the first maximum). Four channels at a time, leftovers scalar.
    #[inline(always)]
    pub fn visit<T: WindowIndex>(x: &[f32], k: usize, first: bool, y: &mut [f32], argmax: &mut [T]) {
        let ch = x.len();
        assert!(y.len() == ch && argmax.len() == ch);
        let kv = u32x4_splat(k as u32);
        let mut c = 0;
        while c + 4 <= ch {
            // SAFETY: c + 4 <= ch, the length of x, y and argmax.
            unsafe {
                let v = v128_load(x.as_ptr().add(c) as *const v128);
                let (yp, ap) = (y.as_mut_ptr().add(c), argmax.as_mut_ptr().add(c));
                if first {
                    v128_store(yp as *mut v128, v);
                    T::store4(kv, ap);
                } else {
                    let best = v128_load(yp as *const v128);
                    let gt = f32x4_gt(v, best);
                    v128_store(yp as *mut v128, v128_bitselect(v, best, gt));
                    T::store4(v128_bitselect(kv, T::load4(ap), gt), ap);
                }
            }
            c += 4;
        }
        super::scalar_visit(&x[c..], k, first, &mut y[c..], &mut argmax[c..]);
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod imp {
    use super::WindowIndex;

    /// One cell (`ch` channels): dx = dy where argmax names window cell k, else 0.
    #[inline(always)]
    pub fn route<T: WindowIndex>(dx: &mut [f32], k: usize, dy: &[f32], argmax: &[T]) {
        for ((d, &g), &a) in dx.iter_mut().zip(dy).zip(argmax) {
            *d = if a.cell() == k { g } else { 0.0 };
        }
    }

    /// One cell of a window: see [`super::scalar_visit`].
    #[inline(always)]
    pub fn visit<T: WindowIndex>(x: &[f32], k: usize, first: bool, y: &mut [f32], argmax: &mut [T]) {
        super::scalar_visit(x, k, first, y, argmax);
    }
}

/// One cell of a window (window cell k): the window's first cell initialises y/argmax,
/// later ones replace the channels they strictly beat. Channels are the inner loop,
/// contiguous.
#[inline(always)]
fn scalar_visit<T: WindowIndex>(x: &[f32], k: usize, first: bool, y: &mut [f32], argmax: &mut [T]) {
    for ((y, a), &v) in y.iter_mut().zip(argmax.iter_mut()).zip(x) {
        if first || v > *y {
            *y = v;
            *a = T::from_cell(k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use crate::testing::{helper_test_op, wasm_bindgen_test, Backward, Tolerance};

    /// Distinct values 0.01 apart in random order: finite differences (eps 1e-3) never
    /// change which element is the maximum.
    fn distinct(seed: u64, len: usize) -> Vec<f32> {
        let mut v: Vec<f32> = (0..len).map(|i| i as f32 * 0.01 - len as f32 * 0.005).collect();
        let mut rng = Rng::new(seed);
        for i in (1..len).rev() {
            v.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
        }
        v
    }

    fn check(g: Pool2dGeometry, batch: usize) {
        check_with::<u8>(g, batch);
        check_with::<u32>(g, batch);
    }

    fn check_with<T: WindowIndex>(g: Pool2dGeometry, batch: usize) {
        let x = distinct(g.input_len() as u64, batch * g.input_len());
        let out_len = batch * g.output_len();
        let fwd = |f: fn(&Pool2dGeometry, usize, &[f32], &mut [f32], &mut [T])| {
            move |xs: &[&[f32]], out: &mut [f32]| {
                // Output: y then the argmax indices (exact small integers in f32).
                let (y, idx) = out.split_at_mut(out_len);
                let mut argmax = vec![T::from_cell(g.window_cells() - 1); out_len];
                f(&g, batch, xs[0], y, &mut argmax);
                for (o, &a) in idx.iter_mut().zip(&argmax) {
                    *o = a.cell() as f32;
                }
            }
        };
        // Backward sees only the y half of dy: the index half has no gradient.
        let bf = move |xs: &[&[f32]], dy: &[f32], gr: &mut [Vec<f32>]| {
            let (mut y, mut argmax) = (vec![0.0; out_len], vec![T::default(); out_len]);
            max_pool2d_forward(&g, batch, xs[0], &mut y, &mut argmax);
            max_pool2d_backward(&g, batch, &dy[..out_len], &argmax, &mut gr[0]);
        };
        let br = move |xs: &[&[f32]], dy: &[f32], gr: &mut [Vec<f32>]| max_pool2d_backward_reference(&g, batch, xs[0], &dy[..out_len], &mut gr[0]);
        let bw = Backward { wrt: &[0], fast: &bf, reference: &br, tol: Tolerance::EXACT, eps: 1e-3, numeric_tol: Tolerance::new(1e-3, 1e-3) };
        let name = format!("maxpool {g:?} batch {batch} {}", core::any::type_name::<T>());
        helper_test_op(&name, &[x], 2 * out_len, &fwd(max_pool2d_forward::<T>), &fwd(max_pool2d_forward_reference::<T>), Tolerance::EXACT, Some(bw));
    }

    /// dx[the element argmax[o] names] += dy[o], for every output: the definition of the
    /// backward in terms of the indices.
    fn scatter<T: WindowIndex>(g: &Pool2dGeometry, batch: usize, argmax: &[T], dy: &[f32]) -> Vec<f32> {
        let (out_h, out_w, ch) = (g.out_h(), g.out_w(), g.channels);
        let mut dx = vec![0.0f32; batch * g.input_len()];
        for (o, (&k, &d)) in argmax.iter().zip(dy).enumerate() {
            let (c, ow, oh, b) = (o % ch, o / ch % out_w, o / ch / out_w % out_h, o / ch / out_w / out_h);
            let ih = oh * g.stride_h + k.cell() / g.pool_w - g.pad_top();
            let iw = ow * g.stride_w + k.cell() % g.pool_w - g.pad_left();
            dx[((b * g.in_h + ih) * g.in_w + iw) * ch + c] += d;
        }
        dx
    }

    fn geom(in_h: usize, in_w: usize, channels: usize, pool: (usize, usize), stride: (usize, usize), padding: Padding) -> Pool2dGeometry {
        Pool2dGeometry { in_h, in_w, channels, pool_h: pool.0, pool_w: pool.1, stride_h: stride.0, stride_w: stride.1, padding }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn same_7x7_pool2_pads_bottom_right_only() {
        let g = geom(7, 7, 1, (2, 2), (2, 2), Padding::Same);
        assert_eq!((g.out_h(), g.out_w(), g.pad_top(), g.pad_left()), (4, 4, 0, 0));
        // x = 0..49 row-major: each window's max is its bottom-right cell, clipped at the
        // edge (window cell 3 = (1, 1); 2 = (1, 0) in the last column; 1 = (0, 1) in the
        // last row; 0 in the corner).
        let x: Vec<f32> = (0..49).map(|i| i as f32).collect();
        let (mut y, mut argmax) = (vec![0.0; 16], vec![0u8; 16]);
        max_pool2d_forward(&g, 1, &x, &mut y, &mut argmax);
        assert_eq!(argmax, [3, 3, 3, 2, 3, 3, 3, 2, 3, 3, 3, 2, 1, 1, 1, 0]);
        assert_eq!(y, [8, 10, 12, 13, 22, 24, 26, 27, 36, 38, 40, 41, 43, 45, 47, 48].map(|i| i as f32));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn ties_pick_the_first_in_window_order() {
        let g = geom(2, 2, 5, (2, 2), (2, 2), Padding::Valid);
        let x = vec![1.0; 20];
        for f in [max_pool2d_forward::<u8>, max_pool2d_forward_reference::<u8>] {
            let (mut y, mut argmax) = (vec![0.0; 5], vec![9u8; 5]);
            f(&g, 1, &x, &mut y, &mut argmax);
            assert_eq!(argmax, vec![0; 5]);
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn fast_matches_reference_and_gradients() {
        use Padding::{Same, Valid};
        for g in [
            geom(7, 7, 1, (2, 2), (2, 2), Same),
            geom(7, 7, 3, (2, 2), (2, 2), Valid),
            geom(28, 28, 8, (2, 2), (2, 2), Same),
            geom(6, 9, 5, (3, 2), (2, 3), Same),
            geom(5, 5, 4, (3, 3), (1, 1), Same),
            geom(5, 6, 9, (3, 3), (2, 2), Valid),
            geom(4, 4, 16, (4, 4), (4, 4), Valid),
            geom(3, 3, 2, (1, 1), (1, 1), Same),
            // Stride larger than the window: cells no window covers get zeros.
            geom(7, 8, 4, (2, 2), (3, 3), Valid),
            geom(7, 8, 6, (2, 1), (3, 2), Same),
            // Tiling windows (the row-by-row backward), with channel tails and clipped edges.
            geom(9, 7, 6, (2, 2), (2, 2), Same),
            geom(9, 7, 7, (3, 2), (3, 2), Valid),
            geom(8, 8, 32, (2, 2), (2, 2), Same),
            // A window of 256 cells (the most a u8 index names), tiling and overlapping.
            geom(17, 16, 5, (16, 16), (16, 16), Same),
            geom(17, 16, 4, (16, 16), (1, 15), Valid),
        ] {
            check(g, 2);
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn large_maps_backward_window_by_window() {
        // dx of at least WINDOW_WRITES_MIN floats takes the window-by-window backward:
        // same-padded clipped edges, a valid remainder, and a channel tail.
        use Padding::{Same, Valid};
        for (g, batch) in [
            (geom(28, 28, 32, (2, 2), (2, 2), Same), 44),
            (geom(27, 25, 7, (2, 2), (2, 2), Same), 230),
            (geom(27, 25, 12, (3, 2), (3, 2), Valid), 130),
        ] {
            assert!(batch * g.input_len() >= WINDOW_WRITES_MIN);
            let x = distinct(g.input_len() as u64, batch * g.input_len());
            let dy = distinct(7, batch * g.output_len());
            let (mut y, mut argmax) = (vec![0.0; dy.len()], vec![0u8; dy.len()]);
            max_pool2d_forward(&g, batch, &x, &mut y, &mut argmax);
            let (mut y_ref, mut argmax_ref) = (vec![0.0; dy.len()], vec![0u8; dy.len()]);
            max_pool2d_forward_reference(&g, batch, &x, &mut y_ref, &mut argmax_ref);
            assert!(y == y_ref && argmax == argmax_ref, "{g:?}");
            let mut dx = vec![f32::NAN; x.len()];
            max_pool2d_backward(&g, batch, &dy, &argmax, &mut dx);
            assert_eq!(dx, scatter(&g, batch, &argmax, &dy), "{g:?}");
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn backward_routes_any_valid_index() {
        // Indices not from a forward pass (any cell of the window inside the input) get dy
        // where they point: tiling windows written cell by cell, overlapping ones scattered.
        for (g, stride) in [(geom(4, 4, 4, (2, 2), (2, 2), Padding::Valid), 2), (geom(4, 4, 4, (2, 2), (1, 1), Padding::Valid), 1)] {
            let n = g.output_len();
            let dy: Vec<f32> = (1..=n).map(|v| v as f32).collect();
            let argmax: Vec<u8> = (0..n).map(|o| ((o * 7 + o / 5) % 4) as u8).collect();
            let mut dx = vec![f32::NAN; 64];
            max_pool2d_backward(&g, 1, &dy, &argmax, &mut dx);
            assert_eq!(dx, scatter(&g, 1, &argmax, &dy), "stride {stride}");
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    #[should_panic(expected = "pool2d: argmax names a cell outside the input")]
    fn backward_rejects_an_index_into_the_padding() {
        // 'same' 3×3 windows with stride 1 over 3×3: window (0, 0) starts one row and
        // column above and left of the input; its cell 0 is padding.
        let g = geom(3, 3, 1, (3, 3), (1, 1), Padding::Same);
        max_pool2d_backward(&g, 1, &[1.0; 9], &[0u8; 9], &mut [0.0; 9]);
    }

    #[wasm_bindgen_test(unsupported = test)]
    #[should_panic(expected = "pool2d: window has more cells than the argmax type can index")]
    fn u8_indices_refuse_windows_over_256_cells() {
        let g = geom(17, 17, 1, (17, 16), (17, 16), Padding::Valid);
        max_pool2d_forward(&g, 1, &[0.0; 289], &mut [0.0], &mut [0u8]);
    }
}
