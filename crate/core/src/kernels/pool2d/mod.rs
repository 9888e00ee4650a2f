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
//! model's pooling, `row2x2`): an input row's two cells of each window at once, 16
//! channels at a time, the indices built as bytes in registers; the backward writes each
//! row of dx once. Other geometries, u32 indices, and the clipped last column of 'same'
//! pooling over an odd width go cell by cell (`cells`).
//!
//! Here: the geometry, the index types and the entry points; the definitions are in
//! `reference`, their comparison in `tests`.

mod cells;
mod reference;
mod row2x2;
#[cfg(test)]
mod tests;

pub use reference::{max_pool2d_backward_reference, max_pool2d_forward_reference};

use super::simd::U4;
use super::{GeometryError, Padding, Window2d};

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
    /// Output size and padding, from [`Pool2dGeometry::new`] (which only it can build).
    window: Window2d,
}

impl Pool2dGeometry {
    /// The pooling of `pool` windows moved by `strides` over an `[h, w, channels]` input;
    /// an error when a window does not fit ('valid' padding) or a size is zero.
    pub fn new(
        input: [usize; 3],
        pool: [usize; 2],
        strides: [usize; 2],
        padding: Padding,
    ) -> Result<Pool2dGeometry, GeometryError> {
        let [in_h, in_w, channels] = input;
        let window = Window2d::new("pool", padding, [in_h, in_w], pool, strides)?;
        let [pool_h, pool_w, stride_h, stride_w] = [pool[0], pool[1], strides[0], strides[1]];
        Ok(Pool2dGeometry { in_h, in_w, channels, pool_h, pool_w, stride_h, stride_w, padding, window })
    }

    pub fn out_h(&self) -> usize {
        self.window.out[0]
    }

    pub fn out_w(&self) -> usize {
        self.window.out[1]
    }

    pub fn pad_top(&self) -> usize {
        self.window.pad_before[0]
    }

    pub fn pad_left(&self) -> usize {
        self.window.pad_before[1]
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
        (self.pool_h, self.pool_w, self.stride_h, self.stride_w) == (2, 2, 2, 2)
            && self.pad_top() == 0
            && self.pad_left() == 0
    }

    /// The 2×2 path applies: 2×2 tiling windows, byte indices.
    fn path_2x2<T: WindowIndex>(&self) -> bool {
        self.tiles_2x2() && T::bytes(&[]).is_some()
    }

    /// Elements of an output row the 2×2 path computes (all but a clipped last column),
    /// 0 when it does not apply.
    fn whole_2x2<T: WindowIndex>(&self) -> usize {
        if self.path_2x2::<T>() {
            self.in_w / 2 * self.channels
        } else {
            0
        }
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
    unsafe fn load4(p: *const Self) -> U4;
    /// Stores four u32 lanes (each below CELLS) at `p`.
    ///
    /// # Safety
    /// Four elements writable at `p`.
    unsafe fn store4(v: U4, p: *mut Self);
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
    #[inline(always)]
    unsafe fn load4(p: *const u8) -> U4 {
        U4::load_bytes(p)
    }
    #[inline(always)]
    unsafe fn store4(v: U4, p: *mut u8) {
        v.store_bytes(p)
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
    #[inline(always)]
    unsafe fn load4(p: *const u32) -> U4 {
        U4::load(p)
    }
    #[inline(always)]
    unsafe fn store4(v: U4, p: *mut u32) {
        v.store(p)
    }
}

/// y = max over each window; argmax[o] = the window cell (ph·pool_w + pw) it came from.
pub fn max_pool2d_forward<T: WindowIndex>(
    g: &Pool2dGeometry,
    batch: usize,
    x: &[f32],
    y: &mut [f32],
    argmax: &mut [T],
) {
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
                row2x2::max_2x2_row::<0>(&x[top..top + n], ch, &mut y[..whole], a);
                if 2 * oh + 1 < g.in_h {
                    let bottom = top + g.in_w * ch;
                    row2x2::max_2x2_row::<2>(&x[bottom..bottom + n], ch, &mut y[..whole], a);
                }
            }
            cells::forward_windows(g, b, oh, whole / ch, x, y, argmax);
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
                    row2x2::route_2x2_row::<0>(&dy[..whole], a, ch, &mut dx[top..top + n]);
                    if 2 * oh + 1 < g.in_h {
                        let bottom = top + g.in_w * ch;
                        row2x2::route_2x2_row::<2>(&dy[..whole], a, ch, &mut dx[bottom..bottom + n]);
                    }
                }
                cells::route_windows(g, b, oh, whole / ch, dy, argmax, dx);
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

/// Input size (floats, 4 MiB) from which the backward writes dx window by window.
const WINDOW_WRITES_MIN: usize = 1 << 20;
