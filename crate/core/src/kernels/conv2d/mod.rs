//! 2-D convolution (Keras `Conv2D`, stride 1, cross-correlation, no bias) over NHWC.
//!
//! Fast path (`direct`), per sample, no im2col: forward and input gradient are one
//! correlation engine over the sample copied into a zero-padded frame in the caller's
//! scratch (skipped when no padding is needed), with the kernel packed once per call into
//! 8-column panels on the stack; the kernel gradient is that correlation's weight gradient.
//! Its micro-kernels hold R output pixels × 8 channels (or R dot products for a single
//! output channel) in registers, like the GEMM's, and read the frame in place.
//!
//! Fallback (a packed kernel over 64 KiB, dy's padded frame larger than the scratch, or a
//! kernel gradient with out_c neither a multiple of 8 nor below 8 with kw·in_c a multiple
//! of 4): im2col + GEMM, the convolution as one matrix product per sample.
//!
//! Besides the three convolution kernels, [`Conv2dOp`] (`op`) runs a whole Conv2D layer's
//! forward or backward sample by sample, so the bias, activation and bias gradient touch
//! each sample while it is in cache instead of making extra passes over the whole batch
//! (`sample`). On the direct path the forward's bias and ReLU (or no activation) are
//! applied as the micro-kernels store, and the backward's activation derivative and bias
//! gradient share one pass over the sample's dy. The op is plain, or fused with a
//! neighbour: [`UpsampledConv2d`] runs a Conv2D over a nearest-neighbour upsampled image
//! from the image itself (UpSampling2D + Conv2D; `upsampled`): one direct-path
//! correlation with summed weights per output residue class, 4/9 of the work for 2× and
//! 3×3; [`PooledConv2d`] pools each sample's activation while it is in cache (`pooled`).
//!
//! Here: the geometry, the three kernels and the per-sample dispatch between the direct
//! path and the fallback. The direct path is in `direct` (its correlation engine and its
//! kernel gradient, over `kernels::simd::V4`), the fallback in `im2col`, the
//! definitions in `reference`, their comparison in `tests`.

mod direct;
mod im2col;
mod op;
mod pooled;
mod reference;
mod sample;
#[cfg(test)]
mod tests;
mod upsampled;

pub use op::{Conv2dBackward, Conv2dForward, Conv2dGrads, Conv2dOp};
pub use pooled::PooledConv2d;
pub use reference::{conv2d_backward_input_reference, conv2d_backward_kernel_reference, conv2d_forward_reference};
pub use upsampled::UpsampledConv2d;

use super::{GeometryError, Padding, Window2d};

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
    /// Output size and padding, from [`Conv2dGeometry::new`] (which only it can build).
    window: Window2d,
}

impl Conv2dGeometry {
    /// The convolution of an `[h, w, in_c]` input with a `kernel` (h, w) to `out_c`
    /// channels; an error when the kernel does not fit ('valid' padding) or a size is zero.
    pub fn new(
        input: [usize; 3],
        kernel: [usize; 2],
        out_c: usize,
        padding: Padding,
    ) -> Result<Conv2dGeometry, GeometryError> {
        let [in_h, in_w, in_c] = input;
        let window = Window2d::new("kernel", padding, [in_h, in_w], kernel, [1, 1])?;
        Ok(Conv2dGeometry { in_h, in_w, in_c, kernel_h: kernel[0], kernel_w: kernel[1], out_c, padding, window })
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
    let plan = direct::Plan::forward(g, kernel, cols.len());
    let (il, ol) = (g.input_len(), g.output_len());
    for b in 0..batch {
        forward_sample(g, plan.as_ref(), &x[b * il..][..il], kernel, &mut y[b * ol..][..ol], cols);
    }
}

/// dx = ∂<y, dy>/∂x, overwriting dx. `dcols` is scratch of at least `g.cols_len()`.
pub fn conv2d_backward_input(
    g: &Conv2dGeometry,
    batch: usize,
    dy: &[f32],
    kernel: &[f32],
    dx: &mut [f32],
    dcols: &mut [f32],
) {
    g.check(batch, dx.len(), kernel.len(), dy.len());
    g.check_scratch(dcols.len());
    let plan = direct::Plan::backward_input(g, kernel, dcols.len());
    let (il, ol) = (g.input_len(), g.output_len());
    for b in 0..batch {
        backward_input_sample(g, plan.as_ref(), &dy[b * ol..][..ol], kernel, &mut dx[b * il..][..il], dcols);
    }
}

/// dkernel = Σ over the batch of ∂<y, dy>/∂kernel, overwriting dkernel. `cols` is scratch
/// of at least `g.cols_len()`.
pub fn conv2d_backward_kernel(
    g: &Conv2dGeometry,
    batch: usize,
    x: &[f32],
    dy: &[f32],
    dkernel: &mut [f32],
    cols: &mut [f32],
) {
    g.check(batch, x.len(), dkernel.len(), dy.len());
    g.check_scratch(cols.len());
    dkernel.fill(0.0);
    let plan = direct::KernelGrad::new(g, cols.len());
    let (il, ol) = (g.input_len(), g.output_len());
    for b in 0..batch {
        backward_kernel_sample(g, plan.as_ref(), &x[b * il..][..il], &dy[b * ol..][..ol], dkernel, cols);
    }
}

/// One sample's forward: the direct path when prepared, else im2col + GEMM.
fn forward_sample(
    g: &Conv2dGeometry,
    plan: Option<&direct::Plan>,
    xb: &[f32],
    kernel: &[f32],
    yb: &mut [f32],
    cols: &mut [f32],
) {
    match plan {
        Some(plan) => plan.run(xb, yb, cols),
        None => im2col::forward_sample(g, xb, kernel, yb, cols),
    }
}

/// One sample's input gradient: the direct path when prepared, else GEMM + col2im.
fn backward_input_sample(
    g: &Conv2dGeometry,
    plan: Option<&direct::Plan>,
    dyb: &[f32],
    kernel: &[f32],
    dxb: &mut [f32],
    dcols: &mut [f32],
) {
    match plan {
        Some(plan) => plan.run(dyb, dxb, dcols),
        None => im2col::backward_input_sample(g, dyb, kernel, dxb, dcols),
    }
}

/// One sample's kernel gradient, added to dkernel: the direct path when prepared, else
/// im2col + GEMM.
fn backward_kernel_sample(
    g: &Conv2dGeometry,
    plan: Option<&direct::KernelGrad>,
    xb: &[f32],
    dyb: &[f32],
    dkernel: &mut [f32],
    cols: &mut [f32],
) {
    match plan {
        Some(plan) => plan.run(xb, dyb, dkernel, cols),
        None => im2col::backward_kernel_sample(g, xb, dyb, dkernel, cols),
    }
}
