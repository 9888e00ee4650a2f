//! 2-D convolution (Keras `Conv2D`, stride 1, cross-correlation, no bias) over NHWC.
//!
//! Fast path, per sample: im2col lays every output pixel's receptive field out as one
//! row of `cols` (ordered (kh, kw, in_c), the kernel's own layout), so the convolution is
//! one GEMM with the kernel viewed as a (kh·kw·in_c) × out_c matrix:
//! forward `y = cols · K` (NN), kernel gradient `dK += colsᵀ · dy` (TN), input gradient
//! `dcols = dy · Kᵀ` (NT) scattered back by col2im. A 1×1 kernel needs no im2col at
//! all: the input already is that matrix.

use super::gemm::gemm;
use super::Padding;

/// Shape of a convolution: one sample's input, the kernel and the padding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dGeometry {
    pub in_h: usize,
    pub in_w: usize,
    pub in_c: usize,
    pub kernel_h: usize,
    pub kernel_w: usize,
    pub out_c: usize,
    pub padding: Padding,
}

impl Conv2dGeometry {
    fn rows(&self) -> (usize, usize) {
        self.padding.output_and_pad_before(self.in_h, self.kernel_h, 1).expect("conv2d: kernel taller than the input ('valid')")
    }

    fn cols(&self) -> (usize, usize) {
        self.padding.output_and_pad_before(self.in_w, self.kernel_w, 1).expect("conv2d: kernel wider than the input ('valid')")
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
        self.in_h * self.in_w * self.in_c
    }

    /// Elements per output sample.
    pub fn output_len(&self) -> usize {
        self.out_h() * self.out_w() * self.out_c
    }

    /// Elements of the kernel, [kernel_h, kernel_w, in_c, out_c].
    pub fn kernel_len(&self) -> usize {
        self.kernel_h * self.kernel_w * self.in_c * self.out_c
    }

    /// Scratch per sample for im2col: out_h·out_w rows of kernel_h·kernel_w·in_c.
    pub fn cols_len(&self) -> usize {
        self.out_h() * self.out_w() * self.patch_len()
    }

    /// One row of `cols`: a receptive field.
    fn patch_len(&self) -> usize {
        self.kernel_h * self.kernel_w * self.in_c
    }

    /// A 1×1 kernel (stride 1, no padding under either mode): cols would equal x.
    fn pointwise(&self) -> bool {
        self.kernel_h == 1 && self.kernel_w == 1
    }

    fn check(&self, batch: usize, x: usize, kernel: usize, y: usize) {
        assert_eq!(x, batch * self.input_len(), "conv2d: input length is not batch × input_len");
        assert_eq!(kernel, self.kernel_len(), "conv2d: kernel length is not kernel_len");
        assert_eq!(y, batch * self.output_len(), "conv2d: output length is not batch × output_len");
    }

    fn check_scratch(&self, cols: usize) {
        assert!(self.pointwise() || cols >= self.cols_len(), "conv2d: scratch shorter than cols_len");
    }

    /// For output column `ow`, the kernel columns whose input column lies inside the
    /// image: `[lo, hi)`. Those form one contiguous run of x (NHWC keeps a row's pixels
    /// and their channels together), so each (output pixel, kernel row) is one copy.
    fn kw_range(&self, ow: usize, pad_left: usize) -> (usize, usize) {
        let lo = pad_left.saturating_sub(ow).min(self.kernel_w);
        let hi = (self.in_w + pad_left).saturating_sub(ow).min(self.kernel_w);
        (lo, hi.max(lo))
    }
}

/// y = conv(x, kernel), overwriting y. `cols` is scratch of at least `g.cols_len()`.
pub fn conv2d_forward(g: &Conv2dGeometry, batch: usize, x: &[f32], kernel: &[f32], y: &mut [f32], cols: &mut [f32]) {
    g.check(batch, x.len(), kernel.len(), y.len());
    g.check_scratch(cols.len());
    let (m, k) = (g.out_h() * g.out_w(), g.patch_len());
    let (il, ol) = (g.input_len(), g.output_len());
    for b in 0..batch {
        let (xb, yb) = (&x[b * il..][..il], &mut y[b * ol..][..ol]);
        if g.pointwise() {
            gemm(m, g.out_c, k, xb, false, kernel, false, yb, false);
        } else {
            let cols = &mut cols[..g.cols_len()];
            im2col(g, xb, cols);
            gemm(m, g.out_c, k, cols, false, kernel, false, yb, false);
        }
    }
}

/// dx = ∂<y, dy>/∂x, overwriting dx. `dcols` is scratch of at least `g.cols_len()`.
pub fn conv2d_backward_input(g: &Conv2dGeometry, batch: usize, dy: &[f32], kernel: &[f32], dx: &mut [f32], dcols: &mut [f32]) {
    g.check(batch, dx.len(), kernel.len(), dy.len());
    g.check_scratch(dcols.len());
    let (m, k) = (g.out_h() * g.out_w(), g.patch_len());
    let (il, ol) = (g.input_len(), g.output_len());
    for b in 0..batch {
        let (dyb, dxb) = (&dy[b * ol..][..ol], &mut dx[b * il..][..il]);
        if g.pointwise() {
            gemm(m, k, g.out_c, dyb, false, kernel, true, dxb, false);
        } else {
            let dcols = &mut dcols[..g.cols_len()];
            gemm(m, k, g.out_c, dyb, false, kernel, true, dcols, false);
            col2im(g, dcols, dxb);
        }
    }
}

/// dkernel = Σ over the batch of ∂<y, dy>/∂kernel, overwriting dkernel. `cols` is scratch
/// of at least `g.cols_len()`.
pub fn conv2d_backward_kernel(g: &Conv2dGeometry, batch: usize, x: &[f32], dy: &[f32], dkernel: &mut [f32], cols: &mut [f32]) {
    g.check(batch, x.len(), dkernel.len(), dy.len());
    g.check_scratch(cols.len());
    let (m, k) = (g.out_h() * g.out_w(), g.patch_len());
    if batch == 0 || m == 0 {
        dkernel.fill(0.0);
        return;
    }
    let (il, ol) = (g.input_len(), g.output_len());
    for b in 0..batch {
        let (xb, dyb) = (&x[b * il..][..il], &dy[b * ol..][..ol]);
        // The first sample overwrites, the rest accumulate.
        if g.pointwise() {
            gemm(k, g.out_c, m, xb, true, dyb, false, dkernel, b > 0);
        } else {
            let cols = &mut cols[..g.cols_len()];
            im2col(g, xb, cols);
            gemm(k, g.out_c, m, cols, true, dyb, false, dkernel, b > 0);
        }
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

/// Input element (b, oh + kh - pad_top, ow + kw - pad_left) for the reference loops, or
/// None in the padding.
fn input_pixel(g: &Conv2dGeometry, b: usize, oh: usize, ow: usize, kh: usize, kw: usize) -> Option<usize> {
    let ih = (oh + kh).checked_sub(g.pad_top()).filter(|&h| h < g.in_h)?;
    let iw = (ow + kw).checked_sub(g.pad_left()).filter(|&w| w < g.in_w)?;
    Some(((b * g.in_h + ih) * g.in_w + iw) * g.in_c)
}

/// The definition: y[b, oh, ow, co] = Σ_{kh, kw, ci} x[b, oh+kh-pt, ow+kw-pl, ci]·K[kh, kw, ci, co], in f64.
pub fn conv2d_forward_reference(g: &Conv2dGeometry, batch: usize, x: &[f32], kernel: &[f32], y: &mut [f32]) {
    g.check(batch, x.len(), kernel.len(), y.len());
    let (out_h, out_w) = (g.out_h(), g.out_w());
    for b in 0..batch {
        for oh in 0..out_h {
            for ow in 0..out_w {
                for co in 0..g.out_c {
                    let mut sum = 0.0f64;
                    for kh in 0..g.kernel_h {
                        for kw in 0..g.kernel_w {
                            let Some(xi) = input_pixel(g, b, oh, ow, kh, kw) else { continue };
                            for ci in 0..g.in_c {
                                sum += x[xi + ci] as f64 * kernel[((kh * g.kernel_w + kw) * g.in_c + ci) * g.out_c + co] as f64;
                            }
                        }
                    }
                    y[((b * out_h + oh) * out_w + ow) * g.out_c + co] = sum as f32;
                }
            }
        }
    }
}

/// The definition: each dy element sends dy·K back to the inputs it saw, in f64.
pub fn conv2d_backward_input_reference(g: &Conv2dGeometry, batch: usize, dy: &[f32], kernel: &[f32], dx: &mut [f32]) {
    g.check(batch, dx.len(), kernel.len(), dy.len());
    let (out_h, out_w) = (g.out_h(), g.out_w());
    let mut acc = vec![0.0f64; dx.len()];
    for b in 0..batch {
        for oh in 0..out_h {
            for ow in 0..out_w {
                for co in 0..g.out_c {
                    let d = dy[((b * out_h + oh) * out_w + ow) * g.out_c + co] as f64;
                    for kh in 0..g.kernel_h {
                        for kw in 0..g.kernel_w {
                            let Some(xi) = input_pixel(g, b, oh, ow, kh, kw) else { continue };
                            for ci in 0..g.in_c {
                                acc[xi + ci] += d * kernel[((kh * g.kernel_w + kw) * g.in_c + ci) * g.out_c + co] as f64;
                            }
                        }
                    }
                }
            }
        }
    }
    for (d, a) in dx.iter_mut().zip(acc) {
        *d = a as f32;
    }
}

/// The definition: dK[kh, kw, ci, co] = Σ_{b, oh, ow} x[b, oh+kh-pt, ow+kw-pl, ci]·dy[b, oh, ow, co], in f64.
pub fn conv2d_backward_kernel_reference(g: &Conv2dGeometry, batch: usize, x: &[f32], dy: &[f32], dkernel: &mut [f32]) {
    g.check(batch, x.len(), dkernel.len(), dy.len());
    let (out_h, out_w) = (g.out_h(), g.out_w());
    for kh in 0..g.kernel_h {
        for kw in 0..g.kernel_w {
            for ci in 0..g.in_c {
                for co in 0..g.out_c {
                    let mut sum = 0.0f64;
                    for b in 0..batch {
                        for oh in 0..out_h {
                            for ow in 0..out_w {
                                let Some(xi) = input_pixel(g, b, oh, ow, kh, kw) else { continue };
                                sum += x[xi + ci] as f64 * dy[((b * out_h + oh) * out_w + ow) * g.out_c + co] as f64;
                            }
                        }
                    }
                    dkernel[((kh * g.kernel_w + kw) * g.in_c + ci) * g.out_c + co] = sum as f32;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_close, helper_test_op, random_vec, wasm_bindgen_test, Backward, Tolerance};

    fn geom(in_h: usize, in_w: usize, in_c: usize, kernel: (usize, usize), out_c: usize, padding: Padding) -> Conv2dGeometry {
        Conv2dGeometry { in_h, in_w, in_c, kernel_h: kernel.0, kernel_w: kernel.1, out_c, padding }
    }

    /// Fast vs reference for forward and both gradients; finite differences when small.
    fn check(g: Conv2dGeometry, batch: usize) {
        let seed = (g.input_len() * 7 + g.kernel_len()) as u64;
        let x = random_vec(seed, batch * g.input_len(), -1.0, 1.0);
        let kernel = random_vec(seed + 1, g.kernel_len(), -0.5, 0.5);
        let out_len = batch * g.output_len();
        // Scratch one element longer than needed: kernels must accept a larger buffer.
        let scratch = g.cols_len() + 1;
        let fwd = move |xs: &[&[f32]], out: &mut [f32]| conv2d_forward(&g, batch, xs[0], xs[1], out, &mut vec![f32::NAN; scratch]);
        let fwd_ref = move |xs: &[&[f32]], out: &mut [f32]| conv2d_forward_reference(&g, batch, xs[0], xs[1], out);
        let bwd = move |xs: &[&[f32]], dy: &[f32], gr: &mut [Vec<f32>]| {
            let (dx, dk) = gr.split_at_mut(1);
            conv2d_backward_input(&g, batch, dy, xs[1], &mut dx[0], &mut vec![f32::NAN; scratch]);
            conv2d_backward_kernel(&g, batch, xs[0], dy, &mut dk[0], &mut vec![f32::NAN; scratch]);
        };
        let bwd_ref = move |xs: &[&[f32]], dy: &[f32], gr: &mut [Vec<f32>]| {
            let (dx, dk) = gr.split_at_mut(1);
            conv2d_backward_input_reference(&g, batch, dy, xs[1], &mut dx[0]);
            conv2d_backward_kernel_reference(&g, batch, xs[0], dy, &mut dk[0]);
        };
        let patch = (g.kernel_h * g.kernel_w * g.in_c) as f64;
        let reduce = (batch * g.out_h() * g.out_w()) as f64;
        let tol = Tolerance::new(2e-6 * patch.sqrt(), 1e-5);
        let small = x.len() + kernel.len() <= 600;
        let name = format!("conv {g:?} batch {batch}");
        if small {
            let bw = Backward {
                wrt: &[0, 1],
                fast: &bwd,
                reference: &bwd_ref,
                tol: Tolerance::new(2e-6 * reduce.max(patch).sqrt(), 1e-5),
                eps: 1e-2,
                numeric_tol: Tolerance::new(2e-3, 2e-3),
            };
            helper_test_op(&name, &[x, kernel], out_len, &fwd, &fwd_ref, tol, Some(bw));
        } else {
            helper_test_op(&name, &[x.clone(), kernel.clone()], out_len, &fwd, &fwd_ref, tol, None);
            // Large shapes: gradients against the reference only (finite differences would take too long).
            let dy = random_vec(seed + 2, out_len, -1.0, 1.0);
            let mut fast = vec![vec![f32::NAN; x.len()], vec![f32::NAN; kernel.len()]];
            let mut reference = fast.clone();
            bwd(&[&x, &kernel], &dy, &mut fast);
            bwd_ref(&[&x, &kernel], &dy, &mut reference);
            let gtol = Tolerance::new(2e-6 * reduce.max(patch).sqrt(), 1e-5);
            assert_close(&format!("{name}: dx"), &fast[0], &reference[0], gtol);
            assert_close(&format!("{name}: dkernel"), &fast[1], &reference[1], gtol);
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn small_shapes_with_finite_differences() {
        for padding in [Padding::Same, Padding::Valid] {
            for kernel in [(3, 3), (1, 1), (2, 3)] {
                for &(in_c, out_c) in &[(1, 1), (1, 3), (3, 1), (3, 8), (8, 3)] {
                    check(geom(5, 4, in_c, kernel, out_c, padding), 2);
                }
            }
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn layer_sized_shapes() {
        for padding in [Padding::Same, Padding::Valid] {
            for kernel in [(3, 3), (1, 1), (2, 3)] {
                for &(in_c, out_c) in &[(1, 32), (32, 8), (8, 1), (32, 32), (3, 8)] {
                    check(geom(14, 13, in_c, kernel, out_c, padding), 2);
                }
            }
        }
        // The autoencoder's first layer on a full image.
        check(geom(28, 28, 1, (3, 3), 32, Padding::Same), 1);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn geometry() {
        let same = geom(28, 28, 1, (3, 3), 32, Padding::Same);
        assert_eq!((same.out_h(), same.out_w(), same.pad_top(), same.pad_left()), (28, 28, 1, 1));
        assert_eq!((same.input_len(), same.output_len(), same.kernel_len(), same.cols_len()), (784, 784 * 32, 288, 784 * 9));
        let valid = geom(7, 6, 2, (2, 3), 4, Padding::Valid);
        assert_eq!((valid.out_h(), valid.out_w(), valid.pad_top(), valid.pad_left()), (6, 4, 0, 0));
        // Keras 'same' with an even kernel pads the extra row/column after: 2 → 0 before, 1 after.
        let even = geom(5, 5, 1, (2, 2), 1, Padding::Same);
        assert_eq!((even.out_h(), even.pad_top()), (5, 0));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn hand_computed_3x3() {
        // x = [1 2 3; 4 5 6; 7 8 9]; kernel [0 1 0; 0 0 0; 0 0 2] (no flip: Keras correlates),
        // so y[i][j] = x[i-1][j] + 2·x[i+1][j+1], zero outside:
        //   row 0: 0 + 2·5 = 10, 0 + 2·6 = 12, 0 + 0 = 0
        //   row 1: 1 + 2·8 = 17, 2 + 2·9 = 20, 3 + 0 = 3
        //   row 2: 4, 5, 6 (the bottom kernel row is all padding)
        let x: Vec<f32> = (1..=9).map(|v| v as f32).collect();
        let kernel = [0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 2.0];
        let same = geom(3, 3, 1, (3, 3), 1, Padding::Same);
        let expected = [10.0, 12.0, 0.0, 17.0, 20.0, 3.0, 4.0, 5.0, 6.0];
        let (mut y, mut y_ref, mut cols) = ([0.0f32; 9], [0.0f32; 9], [0.0f32; 81]);
        conv2d_forward(&same, 1, &x, &kernel, &mut y, &mut cols);
        conv2d_forward_reference(&same, 1, &x, &kernel, &mut y_ref);
        assert_eq!(y, expected);
        assert_eq!(y_ref, expected);
        // 'valid': only the centre, 20.
        let valid = Conv2dGeometry { padding: Padding::Valid, ..same };
        let mut y = [0.0f32];
        conv2d_forward(&valid, 1, &x, &kernel, &mut y, &mut cols);
        assert_eq!(y, [20.0]);
        // Kernel gradient with dy = 1 at the centre only: dK = the 3×3 window around it = x.
        let mut dk = [0.0f32; 9];
        conv2d_backward_kernel(&valid, 1, &x, &[1.0], &mut dk, &mut cols);
        assert_eq!(dk.to_vec(), x);
        // Input gradient with dy = 1 at the centre: dx = kernel.
        let mut dx = [9.0f32; 9];
        conv2d_backward_input(&valid, 1, &[1.0], &kernel, &mut dx, &mut cols);
        assert_eq!(dx, kernel);
    }
}
