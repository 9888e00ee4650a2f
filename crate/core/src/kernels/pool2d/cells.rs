//! The cell-by-cell path: any window geometry, either index type, and what the 2×2 path
//! leaves (the clipped last column of 'same' pooling over an odd width).

use super::{Pool2dGeometry, WindowIndex};
use crate::kernels::simd::{U4, V4};

/// Windows `from..out_w` of output row `oh` of sample `b` (`y` and `argmax` that row), cell
/// by cell. Input row by input row (each window's cells still in row-major order, so ties
/// keep the first maximum): x is read sequentially, and the output row being built stays
/// in cache. Reading window by window (two input rows interleaved) took twice as long at
/// 256×28×28×32, for u32 element indices updated in memory and for window-cell indices
/// kept in registers alike (also for the 2×2 path: its bytes built in registers from a
/// window's four cells took 2.4 ms, row by row 1.35 ms).
pub(super) fn forward_windows<T: WindowIndex>(
    g: &Pool2dGeometry,
    b: usize,
    oh: usize,
    from: usize,
    x: &[f32],
    y: &mut [f32],
    argmax: &mut [T],
) {
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
                visit(&x[cell..cell + ch], k, ih == h0 && iw == w0, y, argmax);
            }
        }
    }
}

/// The cells of windows `from..out_w` of output row `oh` of sample `b` (`dy` and `argmax`
/// that row) in tiling windows, cell by cell: dy where the window's index names the cell,
/// else 0.
pub(super) fn route_windows<T: WindowIndex>(
    g: &Pool2dGeometry,
    b: usize,
    oh: usize,
    from: usize,
    dy: &[f32],
    argmax: &[T],
    dx: &mut [f32],
) {
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
                route(&mut dx[cell..cell + ch], k + iw - w0, d, a);
            }
        }
    }
}

/// One cell (`ch` channels): dx = dy where argmax names window cell k, else 0, four
/// channels at a time.
#[inline(always)]
pub fn route<T: WindowIndex>(dx: &mut [f32], k: usize, dy: &[f32], argmax: &[T]) {
    let ch = dx.len();
    assert!(dy.len() == ch && argmax.len() == ch);
    let kv = U4::splat(k as u32);
    let mut c = 0;
    while c + 4 <= ch {
        // SAFETY: c + 4 <= ch, the length of dx, dy and argmax.
        unsafe {
            let d = V4::load(dy.as_ptr().add(c));
            d.keep(T::load4(argmax.as_ptr().add(c)).eq(kv)).store(dx.as_mut_ptr().add(c));
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
    let kv = U4::splat(k as u32);
    let mut c = 0;
    while c + 4 <= ch {
        // SAFETY: c + 4 <= ch, the length of x, y and argmax.
        unsafe {
            let v = V4::load(x.as_ptr().add(c));
            let (yp, ap) = (y.as_mut_ptr().add(c), argmax.as_mut_ptr().add(c));
            if first {
                v.store(yp);
                T::store4(kv, ap);
            } else {
                let best = V4::load(yp);
                let gt = v.gt(best);
                best.select(gt, v).store(yp);
                T::store4(T::load4(ap).select(gt, kv), ap);
            }
        }
        c += 4;
    }
    scalar_visit(&x[c..], k, first, &mut y[c..], &mut argmax[c..]);
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
