//! 2-D max pooling over NHWC tensors, remembering where each maximum came from.
//!
//! Padded cells never win (Keras pads max pooling with -∞), so a window is just clipped
//! to the input. Ties go to the first maximum in row-major window order.

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

    /// The input rows (or columns) a window starting at output index `o` covers, clipped
    /// to the input: `[lo, hi)`.
    fn span(o: usize, stride: usize, pad: usize, window: usize, input: usize) -> (usize, usize) {
        let start = o * stride;
        let lo = start.saturating_sub(pad);
        let hi = (start + window).saturating_sub(pad).min(input);
        (lo, hi)
    }

    fn check(&self, batch: usize, x_len: usize, out_len: usize) {
        assert_eq!(x_len, batch * self.input_len(), "pool2d: input length is not batch × input_len");
        assert_eq!(out_len, batch * self.output_len(), "pool2d: output length is not batch × output_len");
        assert!(x_len <= u32::MAX as usize, "pool2d: input too large for u32 argmax indices");
    }
}

/// y = max over each window; argmax[o] = index into `x` (the whole batch) of the chosen element.
pub fn max_pool2d_forward(g: &Pool2dGeometry, batch: usize, x: &[f32], y: &mut [f32], argmax: &mut [u32]) {
    g.check(batch, x.len(), y.len());
    assert_eq!(argmax.len(), y.len(), "max_pool2d_forward: argmax length differs from y");
    let (out_h, out_w, ch) = (g.out_h(), g.out_w(), g.channels);
    let (pad_top, pad_left) = (g.pad_top(), g.pad_left());
    if ch == 0 {
        return;
    }
    // Input row by input row (each window's cells still in row-major order, so ties keep
    // the first maximum): x is read sequentially, and the output row being built stays in
    // cache. Reading window by window (two input rows interleaved) took twice as long at
    // 256×28×28×32.
    for b in 0..batch {
        for oh in 0..out_h {
            let (h0, h1) = Pool2dGeometry::span(oh, g.stride_h, pad_top, g.pool_h, g.in_h);
            for ih in h0..h1 {
                for ow in 0..out_w {
                    let (w0, w1) = Pool2dGeometry::span(ow, g.stride_w, pad_left, g.pool_w, g.in_w);
                    let o = ((b * out_h + oh) * out_w + ow) * ch;
                    let (y, argmax) = (&mut y[o..o + ch], &mut argmax[o..o + ch]);
                    for iw in w0..w1 {
                        let cell = ((b * g.in_h + ih) * g.in_w + iw) * ch;
                        imp::visit(&x[cell..cell + ch], cell, ih == h0 && iw == w0, y, argmax);
                    }
                }
            }
        }
    }
}

/// dx = 0, then dx[argmax[o]] += dy[o] (overlapping windows may pick the same element).
///
/// When the windows tile a large input (stride = pool, as in the usual 2×2/2; dx of at
/// least 4 MiB), dx is instead written once, input row by input row: each cell gets dy where its window's argmax points
/// at it, else 0 (a fill and a scatter of read-modify-writes cost about three times as
/// much at 256×28×28×32). Every argmax lying in its own window, as `max_pool2d_forward`
/// leaves them, is checked by counting the matches; otherwise the call falls back to the
/// fill and scatter.
pub fn max_pool2d_backward(g: &Pool2dGeometry, batch: usize, dy: &[f32], argmax: &[u32], dx: &mut [f32]) {
    g.check(batch, dx.len(), dy.len());
    assert_eq!(argmax.len(), dy.len(), "max_pool2d_backward: argmax length differs from dy");
    // Small maps stay in cache, where the fill and scatter are cheaper than visiting cells.
    let large = dx.len() >= WINDOW_WRITES_MIN;
    if large && g.stride_h == g.pool_h && g.stride_w == g.pool_w && g.channels > 0 && window_writes(g, batch, dy, argmax, dx) {
        return;
    }
    dx.fill(0.0);
    for (&i, &d) in argmax.iter().zip(dy) {
        dx[i as usize] += d;
    }
}

/// Input size (floats, 4 MiB) from which the backward writes dx window by window.
const WINDOW_WRITES_MIN: usize = 1 << 20;

/// The row-by-row backward for tiling windows; false when some argmax was not in its own
/// window (dx is then garbage, to be recomputed).
fn window_writes(g: &Pool2dGeometry, batch: usize, dy: &[f32], argmax: &[u32], dx: &mut [f32]) -> bool {
    let (out_h, out_w, ch) = (g.out_h(), g.out_w(), g.channels);
    let (pad_top, pad_left) = (g.pad_top(), g.pad_left());
    // A 'valid' remainder (input rows or columns no window reaches) gets zeros first.
    if out_h * g.stride_h < g.in_h + pad_top || out_w * g.stride_w < g.in_w + pad_left {
        dx.fill(0.0);
    }
    let mut hits = 0usize;
    for b in 0..batch {
        for oh in 0..out_h {
            let (h0, h1) = Pool2dGeometry::span(oh, g.stride_h, pad_top, g.pool_h, g.in_h);
            for ih in h0..h1 {
                for ow in 0..out_w {
                    let (w0, w1) = Pool2dGeometry::span(ow, g.stride_w, pad_left, g.pool_w, g.in_w);
                    let o = ((b * out_h + oh) * out_w + ow) * ch;
                    let (d, a) = (&dy[o..o + ch], &argmax[o..o + ch]);
                    for iw in w0..w1 {
                        let cell = ((b * g.in_h + ih) * g.in_w + iw) * ch;
                        hits += imp::route(&mut dx[cell..cell + ch], cell, d, a);
                    }
                }
            }
        }
    }
    hits == dy.len()
}

/// The definition: every window scanned cell by cell, channel by channel.
pub fn max_pool2d_forward_reference(g: &Pool2dGeometry, batch: usize, x: &[f32], y: &mut [f32], argmax: &mut [u32]) {
    g.check(batch, x.len(), y.len());
    assert_eq!(argmax.len(), y.len());
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
                                best = Some((x[i], i));
                            }
                        }
                    }
                    let (v, i) = best.expect("every window overlaps the input");
                    let o = ((b * out_h + oh) * out_w + ow) * ch + c;
                    y[o] = v;
                    argmax[o] = i as u32;
                }
            }
        }
    }
}

/// The definition: the maximum is recomputed from x, and its gradient routed back.
pub fn max_pool2d_backward_reference(g: &Pool2dGeometry, batch: usize, x: &[f32], dy: &[f32], dx: &mut [f32]) {
    let mut y = vec![0.0; dy.len()];
    let mut argmax = vec![0u32; dy.len()];
    max_pool2d_forward_reference(g, batch, x, &mut y, &mut argmax);
    dx.fill(0.0);
    for (&i, &d) in argmax.iter().zip(dy) {
        dx[i as usize] += d;
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod imp {
    use core::arch::wasm32::*;

    /// One cell (`ch` channels at element index `cell`): dx = dy where argmax points at the
    /// element, else 0, four channels at a time. Returns how many pointed at it.
    #[inline(always)]
    pub fn route(dx: &mut [f32], cell: usize, dy: &[f32], argmax: &[u32]) -> usize {
        let ch = dx.len();
        assert!(dy.len() == ch && argmax.len() == ch);
        let lane = u32x4(0, 1, 2, 3);
        // Matches count down from 0 in each lane (a match is all ones, i.e. -1).
        let mut count = u32x4_splat(0);
        let mut c = 0;
        while c + 4 <= ch {
            // SAFETY: c + 4 <= ch, the length of dx, dy and argmax.
            unsafe {
                let d = v128_load(dy.as_ptr().add(c) as *const v128);
                let a = v128_load(argmax.as_ptr().add(c) as *const v128);
                let m = i32x4_eq(a, i32x4_add(u32x4_splat((cell + c) as u32), lane));
                count = i32x4_add(count, m);
                v128_store(dx.as_mut_ptr().add(c) as *mut v128, v128_and(d, m));
            }
            c += 4;
        }
        let lanes = [i32x4_extract_lane::<0>(count), i32x4_extract_lane::<1>(count), i32x4_extract_lane::<2>(count), i32x4_extract_lane::<3>(count)];
        let mut hits = lanes.iter().map(|&l| l.unsigned_abs() as usize).sum::<usize>();
        for c in c..ch {
            let is = argmax[c] as usize == cell + c;
            hits += usize::from(is);
            dx[c] = if is { dy[c] } else { 0.0 };
        }
        hits
    }

    /// One cell of a window (`ch` channels at element index `cell` of x): the window's first
    /// cell initialises y/argmax, later ones replace the channels they strictly beat (so
    /// ties keep the first maximum). Four channels at a time, leftovers scalar.
    #[inline(always)]
    pub fn visit(x: &[f32], cell: usize, first: bool, y: &mut [f32], argmax: &mut [u32]) {
        let ch = x.len();
        assert!(y.len() == ch && argmax.len() == ch);
        let lane = u32x4(0, 1, 2, 3);
        let mut c = 0;
        while c + 4 <= ch {
            // SAFETY: c + 4 <= ch, the length of x, y and argmax.
            unsafe {
                let v = v128_load(x.as_ptr().add(c) as *const v128);
                let vi = i32x4_add(u32x4_splat((cell + c) as u32), lane);
                let (yp, ap) = (y.as_mut_ptr().add(c) as *mut v128, argmax.as_mut_ptr().add(c) as *mut v128);
                if first {
                    v128_store(yp, v);
                    v128_store(ap, vi);
                } else {
                    let (best, idx) = (v128_load(yp), v128_load(ap));
                    let gt = f32x4_gt(v, best);
                    v128_store(yp, v128_bitselect(v, best, gt));
                    v128_store(ap, v128_bitselect(vi, idx, gt));
                }
            }
            c += 4;
        }
        for c in c..ch {
            if first || x[c] > y[c] {
                y[c] = x[c];
                argmax[c] = (cell + c) as u32;
            }
        }
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod imp {

    /// One cell (`ch` channels at element index `cell`): dx = dy where argmax points at the
    /// element, else 0. Returns how many pointed at it.
    #[inline(always)]
    pub fn route(dx: &mut [f32], cell: usize, dy: &[f32], argmax: &[u32]) -> usize {
        let mut hits = 0;
        for (c, ((d, &g), &a)) in dx.iter_mut().zip(dy).zip(argmax).enumerate() {
            let is = a as usize == cell + c;
            hits += usize::from(is);
            *d = if is { g } else { 0.0 };
        }
        hits
    }

    /// One cell of a window: the window's first cell initialises y/argmax, later ones
    /// replace the channels they strictly beat. Channels are the inner loop, contiguous.
    #[inline(always)]
    pub fn visit(x: &[f32], cell: usize, first: bool, y: &mut [f32], argmax: &mut [u32]) {
        for (c, ((y, a), &v)) in y.iter_mut().zip(argmax.iter_mut()).zip(x).enumerate() {
            if first || v > *y {
                *y = v;
                *a = (cell + c) as u32;
            }
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
        let x = distinct(g.input_len() as u64, batch * g.input_len());
        let out_len = batch * g.output_len();
        let fwd = |f: fn(&Pool2dGeometry, usize, &[f32], &mut [f32], &mut [u32])| {
            move |xs: &[&[f32]], out: &mut [f32]| {
                // Output: y then the argmax indices (exact small integers in f32).
                let (y, idx) = out.split_at_mut(out_len);
                let mut argmax = vec![u32::MAX; out_len];
                f(&g, batch, xs[0], y, &mut argmax);
                for (o, &a) in idx.iter_mut().zip(&argmax) {
                    *o = a as f32;
                }
            }
        };
        // Backward sees only the y half of dy: the index half has no gradient.
        let bf = move |xs: &[&[f32]], dy: &[f32], gr: &mut [Vec<f32>]| {
            let (mut y, mut argmax) = (vec![0.0; out_len], vec![0; out_len]);
            max_pool2d_forward(&g, batch, xs[0], &mut y, &mut argmax);
            max_pool2d_backward(&g, batch, &dy[..out_len], &argmax, &mut gr[0]);
        };
        let br = move |xs: &[&[f32]], dy: &[f32], gr: &mut [Vec<f32>]| max_pool2d_backward_reference(&g, batch, xs[0], &dy[..out_len], &mut gr[0]);
        let bw = Backward { wrt: &[0], fast: &bf, reference: &br, tol: Tolerance::EXACT, eps: 1e-3, numeric_tol: Tolerance::new(1e-3, 1e-3) };
        let name = format!("maxpool {g:?} batch {batch}");
        helper_test_op(&name, &[x], 2 * out_len, &fwd(max_pool2d_forward), &fwd(max_pool2d_forward_reference), Tolerance::EXACT, Some(bw));
    }

    fn geom(in_h: usize, in_w: usize, channels: usize, pool: (usize, usize), stride: (usize, usize), padding: Padding) -> Pool2dGeometry {
        Pool2dGeometry { in_h, in_w, channels, pool_h: pool.0, pool_w: pool.1, stride_h: stride.0, stride_w: stride.1, padding }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn same_7x7_pool2_pads_bottom_right_only() {
        let g = geom(7, 7, 1, (2, 2), (2, 2), Padding::Same);
        assert_eq!((g.out_h(), g.out_w(), g.pad_top(), g.pad_left()), (4, 4, 0, 0));
        // x = 0..49 row-major: each window's max is its bottom-right cell, clipped at the edge.
        let x: Vec<f32> = (0..49).map(|i| i as f32).collect();
        let (mut y, mut argmax) = (vec![0.0; 16], vec![0; 16]);
        max_pool2d_forward(&g, 1, &x, &mut y, &mut argmax);
        let expected = [8, 10, 12, 13, 22, 24, 26, 27, 36, 38, 40, 41, 43, 45, 47, 48];
        assert_eq!(argmax, expected);
        assert_eq!(y, expected.map(|i| i as f32));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn ties_pick_the_first_in_window_order() {
        let g = geom(2, 2, 5, (2, 2), (2, 2), Padding::Valid);
        let x = vec![1.0; 20];
        for f in [max_pool2d_forward, max_pool2d_forward_reference] {
            let (mut y, mut argmax) = (vec![0.0; 5], vec![9; 5]);
            f(&g, 1, &x, &mut y, &mut argmax);
            assert_eq!(argmax, vec![0, 1, 2, 3, 4]);
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
            let (mut y, mut argmax) = (vec![0.0; dy.len()], vec![0; dy.len()]);
            max_pool2d_forward(&g, batch, &x, &mut y, &mut argmax);
            let mut dx = vec![f32::NAN; x.len()];
            max_pool2d_backward(&g, batch, &dy, &argmax, &mut dx);
            let mut expected = vec![0.0f32; x.len()];
            for (&i, &d) in argmax.iter().zip(&dy) {
                expected[i as usize] += d;
            }
            assert_eq!(dx, expected, "{g:?}");
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn backward_accepts_any_argmax() {
        // An argmax outside its own window (not what forward produces) still gets dy added
        // where it points, as the definition says.
        let g = geom(4, 4, 4, (2, 2), (2, 2), Padding::Valid);
        let dy: Vec<f32> = (1..=16).map(|v| v as f32).collect();
        let mut argmax: Vec<u32> = (0..16).map(|o| ((o / 4) * 8 + (o % 4)) as u32 % 64).collect();
        argmax[5] = 63;
        argmax[6] = 63;
        let mut expected = vec![0.0f32; 64];
        for (&i, &d) in argmax.iter().zip(&dy) {
            expected[i as usize] += d;
        }
        let mut dx = vec![f32::NAN; 64];
        max_pool2d_backward(&g, 1, &dy, &argmax, &mut dx);
        assert_eq!(dx, expected);
    }
}
