//! The fallback: im2col lays every output pixel's receptive field out as one row of
//! `cols` (ordered (kh, kw, in_c), the kernel's own layout), so a sample's convolution is
//! one GEMM with the kernel viewed as a (kh·kw·in_c) × out_c matrix. A 1×1 kernel needs no
//! im2col: the input already is that matrix.

use super::super::gemm::{gemm, MatMut, MatRef, Store};
use super::Conv2dGeometry;

/// The kernel as the (kh·kw·in_c) × out_c matrix the products use.
fn kernel_matrix<'a>(g: &Conv2dGeometry, kernel: &'a [f32]) -> MatRef<'a> {
    MatRef::new(kernel, g.patch_len(), g.out_c)
}

/// y = cols · K.
pub(super) fn forward_sample(g: &Conv2dGeometry, xb: &[f32], kernel: &[f32], yb: &mut [f32], cols: &mut [f32]) {
    let (pixels, patch) = (g.out_h() * g.out_w(), g.patch_len());
    let y = MatMut::new(yb, pixels, g.out_c);
    if g.pointwise() {
        gemm(MatRef::new(xb, pixels, patch), kernel_matrix(g, kernel), y, Store::Overwrite);
    } else {
        let cols = &mut cols[..g.cols_len()];
        im2col(g, xb, cols);
        gemm(MatRef::new(cols, pixels, patch), kernel_matrix(g, kernel), y, Store::Overwrite);
    }
}

/// dcols = dy · Kᵀ, scattered back into dx by col2im.
pub(super) fn backward_input_sample(
    g: &Conv2dGeometry,
    dyb: &[f32],
    kernel: &[f32],
    dxb: &mut [f32],
    dcols: &mut [f32],
) {
    let (pixels, patch) = (g.out_h() * g.out_w(), g.patch_len());
    let dy = MatRef::new(dyb, pixels, g.out_c);
    if g.pointwise() {
        gemm(dy, kernel_matrix(g, kernel).t(), MatMut::new(dxb, pixels, patch), Store::Overwrite);
    } else {
        let dcols = &mut dcols[..g.cols_len()];
        gemm(dy, kernel_matrix(g, kernel).t(), MatMut::new(dcols, pixels, patch), Store::Overwrite);
        col2im(g, dcols, dxb);
    }
}

/// dK += colsᵀ · dy.
pub(super) fn backward_kernel_sample(
    g: &Conv2dGeometry,
    xb: &[f32],
    dyb: &[f32],
    dkernel: &mut [f32],
    cols: &mut [f32],
) {
    let (pixels, patch) = (g.out_h() * g.out_w(), g.patch_len());
    let (dy, dk) = (MatRef::new(dyb, pixels, g.out_c), MatMut::new(dkernel, patch, g.out_c));
    if g.pointwise() {
        gemm(MatRef::new(xb, pixels, patch).t(), dy, dk, Store::Accumulate);
    } else {
        let cols = &mut cols[..g.cols_len()];
        im2col(g, xb, cols);
        gemm(MatRef::new(cols, pixels, patch).t(), dy, dk, Store::Accumulate);
    }
}

/// Row (oh·out_w + ow) of `cols` = the receptive field of output pixel (oh, ow), zero
/// where it hangs over the padding.
fn im2col(g: &Conv2dGeometry, x: &[f32], cols: &mut [f32]) {
    let (out_w, pad_top, pad_left) = (g.out_w(), g.pad_top(), g.pad_left());
    let run = g.kernel_w * g.in_c;
    for (row, patch) in cols.chunks_exact_mut(g.patch_len()).enumerate() {
        let (oh, ow) = (row / out_w, row % out_w);
        let (lo, hi) = g.kw_range(ow, pad_left);
        for (kh, seg) in patch.chunks_exact_mut(run).enumerate() {
            let ih = (oh + kh).wrapping_sub(pad_top);
            if ih >= g.in_h || lo == hi {
                seg.fill(0.0);
                continue;
            }
            seg[..lo * g.in_c].fill(0.0);
            seg[hi * g.in_c..].fill(0.0);
            let src = (ih * g.in_w + ow + lo - pad_left) * g.in_c;
            seg[lo * g.in_c..hi * g.in_c].copy_from_slice(&x[src..src + (hi - lo) * g.in_c]);
        }
    }
}

/// The adjoint of im2col: dx = 0, then every element of `dcols` is added to the input
/// element it was copied from.
fn col2im(g: &Conv2dGeometry, dcols: &[f32], dx: &mut [f32]) {
    let (out_w, pad_top, pad_left) = (g.out_w(), g.pad_top(), g.pad_left());
    let run = g.kernel_w * g.in_c;
    dx.fill(0.0);
    for (row, patch) in dcols.chunks_exact(g.patch_len()).enumerate() {
        let (oh, ow) = (row / out_w, row % out_w);
        let (lo, hi) = g.kw_range(ow, pad_left);
        for (kh, seg) in patch.chunks_exact(run).enumerate() {
            let ih = (oh + kh).wrapping_sub(pad_top);
            if ih >= g.in_h || lo == hi {
                continue;
            }
            let dst = (ih * g.in_w + ow + lo - pad_left) * g.in_c;
            for (d, &s) in dx[dst..dst + (hi - lo) * g.in_c].iter_mut().zip(&seg[lo * g.in_c..hi * g.in_c]) {
                *d += s;
            }
        }
    }
}
