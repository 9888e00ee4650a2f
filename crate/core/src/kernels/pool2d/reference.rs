//! The definitions the fast paths are tested against.

use super::{Pool2dGeometry, WindowIndex};

/// The definition: every window scanned cell by cell, channel by channel.
pub fn max_pool2d_forward_reference<T: WindowIndex>(
    g: &Pool2dGeometry,
    batch: usize,
    x: &[f32],
    y: &mut [f32],
    argmax: &mut [T],
) {
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
