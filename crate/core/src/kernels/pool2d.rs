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
//!
//! The usual 2×2 windows with stride 2 and byte indices take a path of their own (every
//! model's pooling): an input row's two cells of each window at once, 16 channels at a
//! time, the indices built as bytes in registers; the backward writes each row of dx
//! once. Other geometries, u32 indices, and the clipped last column of 'same' pooling over
//! an odd width go cell by cell.

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

    /// 2×2 windows with stride 2 from the input's corner: they tile it, whole but for a
    /// clipped last row or column ('same' over an odd size).
    fn tiles_2x2(&self) -> bool {
        (self.pool_h, self.pool_w, self.stride_h, self.stride_w) == (2, 2, 2, 2) && self.pad_top() == 0 && self.pad_left() == 0
    }

    /// The 2×2 path applies: 2×2 tiling windows, byte indices.
    fn path_2x2<T: WindowIndex>(&self) -> bool {
        self.tiles_2x2() && T::bytes(&[]).is_some()
    }

    /// Elements of an output row the 2×2 path computes (all but a clipped last column),
    /// 0 when it does not apply.
    fn whole_2x2<T: WindowIndex>(&self) -> usize {
        if self.path_2x2::<T>() { self.in_w / 2 * self.channels } else { 0 }
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
    /// The indices as bytes when they are bytes (the 2×2 path handles 16 at a time).
    fn bytes(_: &[Self]) -> Option<&[u8]> {
        None
    }
    fn bytes_mut(_: &mut [Self]) -> Option<&mut [u8]> {
        None
    }
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
    fn bytes(s: &[u8]) -> Option<&[u8]> {
        Some(s)
    }
    fn bytes_mut(s: &mut [u8]) -> Option<&mut [u8]> {
        Some(s)
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
    let (out_h, row, ch) = (g.out_h(), g.out_w() * g.channels, g.channels);
    if ch == 0 {
        return;
    }
    for b in 0..batch {
        for oh in 0..out_h {
            let o = (b * out_h + oh) * row;
            let (y, argmax) = (&mut y[o..o + row], &mut argmax[o..o + row]);
            let whole = g.whole_2x2::<T>();
            if let (Some(a), true) = (T::bytes_mut(&mut argmax[..whole]), whole > 0) {
                // Input row by input row, as forward_windows says why; the row of y and
                // indices being built stays in cache between the two.
                let (top, n) = ((b * g.in_h + 2 * oh) * g.in_w * ch, 2 * whole);
                imp::max_2x2_row::<0>(&x[top..top + n], ch, &mut y[..whole], a);
                if 2 * oh + 1 < g.in_h {
                    let bottom = top + g.in_w * ch;
                    imp::max_2x2_row::<2>(&x[bottom..bottom + n], ch, &mut y[..whole], a);
                }
            }
            forward_windows(g, b, oh, whole / ch, x, y, argmax);
        }
    }
}

/// Windows `from..out_w` of output row `oh` of sample `b` (`y` and `argmax` that row), cell
/// by cell. Input row by input row (each window's cells still in row-major order, so ties
/// keep the first maximum): x is read sequentially, and the output row being built stays
/// in cache. Reading window by window (two input rows interleaved) took twice as long at
/// 256×28×28×32, for u32 element indices updated in memory and for window-cell indices
/// kept in registers alike (also for the 2×2 path: its bytes built in registers from a
/// window's four cells took 2.4 ms, row by row 1.35 ms).
fn forward_windows<T: WindowIndex>(g: &Pool2dGeometry, b: usize, oh: usize, from: usize, x: &[f32], y: &mut [f32], argmax: &mut [T]) {
    let ch = g.channels;
    let (pad_top, pad_left) = (g.pad_top(), g.pad_left());
    let (h0, h1, ph0) = Pool2dGeometry::span(oh, g.stride_h, pad_top, g.pool_h, g.in_h);
    for ih in h0..h1 {
        let ph = ph0 + ih - h0;
        for ow in from..y.len() / ch {
            let (w0, w1, pw0) = Pool2dGeometry::span(ow, g.stride_w, pad_left, g.pool_w, g.in_w);
            let (y, argmax) = (&mut y[ow * ch..(ow + 1) * ch], &mut argmax[ow * ch..(ow + 1) * ch]);
            for iw in w0..w1 {
                let cell = ((b * g.in_h + ih) * g.in_w + iw) * ch;
                let k = ph * g.pool_w + pw0 + iw - w0;
                imp::visit(&x[cell..cell + ch], k, ih == h0 && iw == w0, y, argmax);
            }
        }
    }
}

/// dx = 0, then dx[the cell argmax[o] names in window o] += dy[o] (overlapping windows may
/// pick the same element). `argmax` as [`max_pool2d_forward`] leaves it: an index naming a
/// padding cell or none of the window panics in the scatter below, and its gradient is
/// dropped when dx is written window by window.
///
/// When the windows tile the input (stride = pool) and are 2×2 with byte indices, or the
/// input is large (dx of at least 4 MiB), dx is instead written once, input row by input row:
/// each cell gets dy where its window's index names it, else 0 (a fill and a scatter of
/// read-modify-writes cost about three times as much at 256×28×28×32).
pub fn max_pool2d_backward<T: WindowIndex>(g: &Pool2dGeometry, batch: usize, dy: &[f32], argmax: &[T], dx: &mut [f32]) {
    g.check::<T>(batch, dx.len(), dy.len(), argmax.len());
    let (out_h, out_w, ch) = (g.out_h(), g.out_w(), g.channels);
    let (pad_top, pad_left) = (g.pad_top(), g.pad_left());
    // Small maps stay in cache, where the fill and scatter are cheaper than visiting cells
    // one by one (not than the 2×2 path's whole windows).
    let tiling = g.stride_h == g.pool_h && g.stride_w == g.pool_w;
    let window_writes = tiling && (dx.len() >= WINDOW_WRITES_MIN || g.path_2x2::<T>());
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
    let row = out_w * ch;
    for b in 0..batch {
        for oh in 0..out_h {
            if window_writes {
                let o = (b * out_h + oh) * row;
                let (dy, argmax) = (&dy[o..o + row], &argmax[o..o + row]);
                let whole = g.whole_2x2::<T>();
                if let (Some(a), true) = (T::bytes(&argmax[..whole]), whole > 0) {
                    let (top, n) = ((b * g.in_h + 2 * oh) * g.in_w * ch, 2 * whole);
                    imp::route_2x2_row::<0>(&dy[..whole], a, ch, &mut dx[top..top + n]);
                    if 2 * oh + 1 < g.in_h {
                        let bottom = top + g.in_w * ch;
                        imp::route_2x2_row::<2>(&dy[..whole], a, ch, &mut dx[bottom..bottom + n]);
                    }
                }
                route_windows(g, b, oh, whole / ch, dy, argmax, dx);
                continue;
            }
            let (h0, h1, ph0) = Pool2dGeometry::span(oh, g.stride_h, pad_top, g.pool_h, g.in_h);
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

/// The cells of windows `from..out_w` of output row `oh` of sample `b` (`dy` and `argmax`
/// that row) in tiling windows, cell by cell: dy where the window's index names the cell,
/// else 0.
fn route_windows<T: WindowIndex>(g: &Pool2dGeometry, b: usize, oh: usize, from: usize, dy: &[f32], argmax: &[T], dx: &mut [f32]) {
    let ch = g.channels;
    let (pad_top, pad_left) = (g.pad_top(), g.pad_left());
    let (h0, h1, ph0) = Pool2dGeometry::span(oh, g.stride_h, pad_top, g.pool_h, g.in_h);
    for ih in h0..h1 {
        for ow in from..dy.len() / ch {
            let (w0, w1, pw0) = Pool2dGeometry::span(ow, g.stride_w, pad_left, g.pool_w, g.in_w);
            let (d, a) = (&dy[ow * ch..(ow + 1) * ch], &argmax[ow * ch..(ow + 1) * ch]);
            let k = (ph0 + ih - h0) * g.pool_w + pw0;
            for iw in w0..w1 {
                let cell = ((b * g.in_h + ih) * g.in_w + iw) * ch;
                imp::route(&mut dx[cell..cell + ch], k + iw - w0, d, a);
            }
        }
    }
}

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
    unsafe fn route_group<const K0: u8, const G: usize>(dy: *const f32, argmax: *const u8, c: usize, cells: [*mut f32; 2]) {
        let bytes = load_bytes::<G>(argmax.add(c));
        let (lo, hi) = (u16x8_extend_low_u8x16(bytes), u16x8_extend_high_u8x16(bytes));
        let index = [u32x4_extend_low_u16x8(lo), u32x4_extend_high_u16x8(lo), u32x4_extend_low_u16x8(hi), u32x4_extend_high_u16x8(hi)];
        let d: [v128; G] = core::array::from_fn(|i| v128_load(dy.add(c + 4 * i) as *const v128));
        for (cell, k) in cells.iter().zip(K0..) {
            let kv = u32x4_splat(k.into());
            for (i, d) in d.iter().enumerate() {
                v128_store(cell.add(c + 4 * i) as *mut v128, v128_and(*d, i32x4_eq(index[i], kv)));
            }
        }
    }

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

    /// Values from a small set: ties, signed zeros, infinities and NaN.
    fn awkward(seed: u64, len: usize) -> Vec<f32> {
        let set = [-1.0, 0.0, -0.0, 1.0, 2.0, f32::NAN, f32::INFINITY, f32::NEG_INFINITY];
        let mut rng = Rng::new(seed);
        (0..len).map(|_| set[(rng.next_u64() % set.len() as u64) as usize]).collect()
    }

    /// Forward bit for bit as the reference, backward as the scatter of its indices, on
    /// awkward values.
    fn check_awkward<T: WindowIndex + PartialEq + core::fmt::Debug>(g: Pool2dGeometry, batch: usize) {
        let x = awkward(g.input_len() as u64, batch * g.input_len());
        let n = batch * g.output_len();
        let (mut y, mut argmax, mut y_ref, mut argmax_ref) = (vec![0.0; n], vec![T::default(); n], vec![0.0; n], vec![T::default(); n]);
        max_pool2d_forward(&g, batch, &x, &mut y, &mut argmax);
        max_pool2d_forward_reference(&g, batch, &x, &mut y_ref, &mut argmax_ref);
        let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&y), bits(&y_ref), "{g:?}");
        assert_eq!(argmax, argmax_ref, "{g:?}");
        // No -0.0 in dy: the scatter's 0 + -0 is +0 where the backward writes dy itself.
        let dy: Vec<f32> = awkward(7, n).into_iter().map(|v| if v == 0.0 { 0.0 } else { v }).collect();
        let mut dx = vec![f32::NAN; x.len()];
        max_pool2d_backward(&g, batch, &dy, &argmax, &mut dx);
        assert_eq!(bits(&dx), bits(&scatter(&g, batch, &argmax, &dy)), "{g:?}");
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn windows_2x2_keep_ties_nan_and_clipped_edges() {
        // The 2×2 path, 16, 8 and 4 channels at a time and one by one: whole windows, a
        // clipped last row and column ('same' over odd sizes), a 'valid' remainder, a
        // single input row or column; batch > 1. Ties go to the first cell, a NaN in cell 0
        // wins, elsewhere never; byte and u32 indices alike.
        use Padding::{Same, Valid};
        for (h, w, ch, padding) in [(7, 9, 29, Same), (8, 6, 12, Same), (9, 7, 3, Valid), (6, 5, 32, Valid), (1, 3, 20, Same), (3, 1, 4, Same), (5, 5, 16, Same)] {
            let g = geom(h, w, ch, (2, 2), (2, 2), padding);
            check_awkward::<u8>(g, 3);
            check_awkward::<u32>(g, 3);
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
