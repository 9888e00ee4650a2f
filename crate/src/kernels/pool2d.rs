//! 2-D max pooling over NHWC tensors, remembering where each maximum came from.
//!
//! Padded cells never win (Keras pads max pooling with -∞), so a window is just clipped
//! to the input. Ties go to the first maximum in row-major window order.

use super::Padding;

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
    fn rows(&self) -> (usize, usize) {
        self.padding.output_and_pad_before(self.in_h, self.pool_h, self.stride_h).expect("pool2d: window taller than the input ('valid')")
    }

    fn cols(&self) -> (usize, usize) {
        self.padding.output_and_pad_before(self.in_w, self.pool_w, self.stride_w).expect("pool2d: window wider than the input ('valid')")
    }

    pub fn out_h(&self) -> usize {
        self.rows().0
    }

    pub fn out_w(&self) -> usize {
        self.cols().0
    }

    pub fn pad_top(&self) -> usize {
        self.rows().1
    }

    pub fn pad_left(&self) -> usize {
        self.cols().1
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
    for b in 0..batch {
        for oh in 0..out_h {
            let (h0, h1) = Pool2dGeometry::span(oh, g.stride_h, pad_top, g.pool_h, g.in_h);
            for ow in 0..out_w {
                let (w0, w1) = Pool2dGeometry::span(ow, g.stride_w, pad_left, g.pool_w, g.in_w);
                let o = ((b * out_h + oh) * out_w + ow) * ch;
                let win = Window { row0: (b * g.in_h + h0) * g.in_w, rows: h1 - h0, w0, cols: w1 - w0, in_w: g.in_w, ch };
                imp::window_max(x, &win, &mut y[o..o + ch], &mut argmax[o..o + ch]);
            }
        }
    }
}

/// One clipped window: pixels (row0 + r·in_w + w0 + c) for r < rows, c < cols, each `ch`
/// channels long (pixel indices, not element indices). Never empty: with Keras padding,
/// every window overlaps the input.
struct Window {
    row0: usize,
    rows: usize,
    w0: usize,
    cols: usize,
    in_w: usize,
    ch: usize,
}

impl Window {
    /// Element index in x of channel 0 of each cell, in row-major window order.
    fn cells(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.rows).flat_map(move |r| (0..self.cols).map(move |c| (self.row0 + r * self.in_w + self.w0 + c) * self.ch))
    }
}

/// dx = 0, then dx[argmax[o]] += dy[o] (overlapping windows may pick the same element).
/// One implementation: a scatter has nothing for SIMD to do.
pub fn max_pool2d_backward(g: &Pool2dGeometry, batch: usize, dy: &[f32], argmax: &[u32], dx: &mut [f32]) {
    g.check(batch, dx.len(), dy.len());
    assert_eq!(argmax.len(), dy.len(), "max_pool2d_backward: argmax length differs from dy");
    dx.fill(0.0);
    for (&i, &d) in argmax.iter().zip(dy) {
        dx[i as usize] += d;
    }
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
    use super::Window;
    use core::arch::wasm32::*;

    /// Four channels at a time: the running max and its index stay in registers across the
    /// window; a strictly-greater compare keeps the first maximum. Leftover channels scalar.
    pub fn window_max(x: &[f32], win: &Window, y: &mut [f32], argmax: &mut [u32]) {
        let ch = win.ch;
        let mut c = 0;
        while c + 4 <= ch {
            let mut cells = win.cells();
            let first = cells.next().expect("non-empty window") + c;
            let lane = u32x4(0, 1, 2, 3);
            // SAFETY: every cell index + ch <= x.len() (windows are clipped to the input),
            // and c + 4 <= ch; y and argmax are ch long.
            unsafe {
                let mut best = v128_load(x[first..first + 4].as_ptr() as *const v128);
                let mut idx = i32x4_add(u32x4_splat(first as u32), lane);
                for cell in cells {
                    let i = cell + c;
                    let v = v128_load(x[i..i + 4].as_ptr() as *const v128);
                    let gt = f32x4_gt(v, best);
                    best = v128_bitselect(v, best, gt);
                    idx = v128_bitselect(i32x4_add(u32x4_splat(i as u32), lane), idx, gt);
                }
                v128_store(y[c..c + 4].as_mut_ptr() as *mut v128, best);
                v128_store(argmax[c..c + 4].as_mut_ptr() as *mut v128, idx);
            }
            c += 4;
        }
        for c in c..ch {
            let mut cells = win.cells();
            let first = cells.next().expect("non-empty window") + c;
            let (mut best, mut at) = (x[first], first);
            for cell in cells {
                if x[cell + c] > best {
                    (best, at) = (x[cell + c], cell + c);
                }
            }
            y[c] = best;
            argmax[c] = at as u32;
        }
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod imp {
    use super::Window;

    /// The first cell initialises y/argmax; each later cell updates the channels it beats.
    /// Channels are the inner loop, so every access is contiguous.
    pub fn window_max(x: &[f32], win: &Window, y: &mut [f32], argmax: &mut [u32]) {
        let ch = win.ch;
        let mut cells = win.cells();
        let first = cells.next().expect("non-empty window");
        y.copy_from_slice(&x[first..first + ch]);
        for (c, a) in argmax.iter_mut().enumerate() {
            *a = (first + c) as u32;
        }
        for cell in cells {
            for (c, ((y, a), &v)) in y.iter_mut().zip(argmax.iter_mut()).zip(&x[cell..cell + ch]).enumerate() {
                if v > *y {
                    *y = v;
                    *a = (cell + c) as u32;
                }
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
        ] {
            check(g, 2);
        }
    }
}
