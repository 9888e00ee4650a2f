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
//! Besides the three kernels the layers call, [`conv2d_forward_bias_activation`] and
//! [`conv2d_backward`] run a whole Conv2D layer's forward or backward sample by sample, so
//! the bias, activation and bias gradient touch each sample while it is in cache instead
//! of making extra passes over the whole batch. On the direct path the forward's bias and
//! ReLU (or no activation) are applied as the micro-kernels store, and the backward's
//! activation derivative and bias gradient share one pass over the sample's dy.
//!
//! [`UpsampledConv2d`] runs a Conv2D over a nearest-neighbour upsampled image from the
//! image itself (UpSampling2D + Conv2D fused; `upsampled`): one direct-path correlation
//! with summed weights per output residue class, 4/9 of the work for 2× and 3×3.
//!
//! Here: the geometry, the public entry points and the per-sample dispatch. The direct
//! path is in `direct` (its correlation engine and its kernel gradient, over the four-lane
//! vector of `kernels::simd`), the fallback in `im2col`, the definitions in `reference`, their
//! comparison in `tests`.

mod direct;
mod im2col;
mod pooled;
mod reference;
#[cfg(test)]
mod tests;
mod upsampled;

pub use reference::{conv2d_backward_input_reference, conv2d_backward_kernel_reference, conv2d_forward_reference};
pub use pooled::PooledConv2d;
pub use upsampled::UpsampledConv2d;

use super::activation::Activation;
use super::bias::{activation_backward_bias_grad_accumulate, bias_activation_forward, bias_grad_accumulate};
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
    pub fn new(input: [usize; 3], kernel: [usize; 2], out_c: usize, padding: Padding) -> Result<Conv2dGeometry, GeometryError> {
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

/// y = act(conv(x, kernel) + bias), overwriting y: [`conv2d_forward`] followed by
/// [`bias_activation_forward`] over `batch·out_h·out_w` rows of `out_c`, but sample by
/// sample, while each sample's output is still in cache (one pass over y instead of two).
#[allow(clippy::too_many_arguments)]
pub fn conv2d_forward_bias_activation(
    g: &Conv2dGeometry,
    batch: usize,
    x: &[f32],
    kernel: &[f32],
    bias: &[f32],
    act: Activation,
    y: &mut [f32],
    cols: &mut [f32],
) {
    g.check(batch, x.len(), kernel.len(), y.len());
    g.check_scratch(cols.len());
    assert_eq!(bias.len(), g.out_c, "conv2d: bias length is not out_c");
    let forward = LayerForward::new(g, kernel, bias, act, cols.len());
    let (il, ol) = (g.input_len(), g.output_len());
    for b in 0..batch {
        forward.run(&x[b * il..][..il], &mut y[b * ol..][..ol], cols);
    }
}

/// What every Conv2D backward entry point (`what`: plain, upsampled, pooled) does first:
/// checks that dy matches y, dkernel and dbias the convolution `g`, and dx (when given) x,
/// and clears dkernel and dbias, which its samples then add to.
#[allow(clippy::too_many_arguments)]
fn start_backward(what: &str, g: &Conv2dGeometry, x: &[f32], y: &[f32], dy: &[f32], dkernel: &mut [f32], dbias: &mut [f32], dx: Option<&[f32]>) {
    assert_eq!(y.len(), dy.len(), "{what}: y and dy lengths differ");
    assert_eq!(dkernel.len(), g.kernel_len(), "{what}: dkernel length is not kernel_len");
    assert_eq!(dbias.len(), g.out_c, "{what}: dbias length is not out_c");
    if let Some(dx) = dx {
        assert_eq!(dx.len(), x.len(), "{what}: dx length differs from x");
    }
    dkernel.fill(0.0);
    dbias.fill(0.0);
}

/// A Conv2D layer's forward, y = act(conv(x, K) + b), prepared once (the kernel packed)
/// and run sample by sample.
struct LayerForward<'a> {
    g: &'a Conv2dGeometry,
    kernel: &'a [f32],
    bias: &'a [f32],
    act: Activation,
    plan: Option<direct::Plan>,
    /// The plan's stores add the bias and apply the activation.
    done: bool,
}

impl<'a> LayerForward<'a> {
    fn new(g: &'a Conv2dGeometry, kernel: &'a [f32], bias: &'a [f32], act: Activation, scratch: usize) -> Self {
        // The direct path adds the bias and applies a ReLU as it stores y; other activations
        // (and the im2col path) take a pass over each sample's y after it.
        let epilogue = matches!(act, Activation::Relu | Activation::Linear);
        let plan = if epilogue {
            direct::Plan::forward_epilogue(g, kernel, Some(bias), act == Activation::Relu, scratch)
        } else {
            direct::Plan::forward(g, kernel, scratch)
        };
        let done = epilogue && plan.is_some();
        LayerForward { g, kernel, bias, act, plan, done }
    }

    /// One sample: `yb` (overwritten) from `xb`.
    fn run(&self, xb: &[f32], yb: &mut [f32], cols: &mut [f32]) {
        let g = self.g;
        forward_sample(g, self.plan.as_ref(), xb, self.kernel, yb, cols);
        if !self.done {
            bias_activation_forward(g.out_h() * g.out_w(), g.out_c, yb, self.bias, self.act);
        }
    }
}

/// A Conv2D layer's backward, prepared once and run sample by sample; each run adds its
/// sample's share to dkernel and dbias.
struct LayerBackward<'a> {
    g: &'a Conv2dGeometry,
    kernel: &'a [f32],
    act: Activation,
    grad: Option<direct::KernelGrad>,
    input: Option<direct::Plan>,
}

impl<'a> LayerBackward<'a> {
    fn new(g: &'a Conv2dGeometry, kernel: &'a [f32], act: Activation, want_dx: bool, scratch: usize) -> Self {
        let grad = direct::KernelGrad::new(g, scratch);
        let input = if want_dx { direct::Plan::backward_input(g, kernel, scratch) } else { None };
        LayerBackward { g, kernel, act, grad, input }
    }

    /// One sample: dyb ← act'(yb)·dyb (`yb` None: dyb is already the gradient before the
    /// activation), then dbias += Σ dyb, dkernel += ∂/∂K, and dxb (overwritten).
    #[allow(clippy::too_many_arguments)]
    fn run(&self, xb: &[f32], yb: Option<&[f32]>, dyb: &mut [f32], dkernel: &mut [f32], dbias: &mut [f32], dxb: Option<&mut [f32]>, cols: &mut [f32]) {
        let g = self.g;
        let pixels = g.out_h() * g.out_w();
        match yb {
            Some(yb) => activation_backward_bias_grad_accumulate(self.act, pixels, g.out_c, yb, dyb, dbias),
            None => bias_grad_accumulate(pixels, g.out_c, dyb, dbias),
        }
        backward_kernel_sample(g, self.grad.as_ref(), xb, dyb, dkernel, cols);
        if let Some(dxb) = dxb {
            backward_input_sample(g, self.input.as_ref(), dyb, self.kernel, dxb, cols);
        }
    }
}

/// dx = ∂<y, dy>/∂x, overwriting dx. `dcols` is scratch of at least `g.cols_len()`.
pub fn conv2d_backward_input(g: &Conv2dGeometry, batch: usize, dy: &[f32], kernel: &[f32], dx: &mut [f32], dcols: &mut [f32]) {
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
pub fn conv2d_backward_kernel(g: &Conv2dGeometry, batch: usize, x: &[f32], dy: &[f32], dkernel: &mut [f32], cols: &mut [f32]) {
    g.check(batch, x.len(), dkernel.len(), dy.len());
    g.check_scratch(cols.len());
    dkernel.fill(0.0);
    let plan = direct::KernelGrad::new(g, cols.len());
    let (il, ol) = (g.input_len(), g.output_len());
    for b in 0..batch {
        backward_kernel_sample(g, plan.as_ref(), &x[b * il..][..il], &dy[b * ol..][..ol], dkernel, cols);
    }
}

/// The whole backward pass of a Conv2D layer y = act(conv(x, K) + b), sample by sample so
/// that each sample's gradient stays in cache across its four uses:
/// `dy` ← act'(y)·dy (in place: dy is consumed), `dbias` = Σ dy over pixels and batch,
/// `dkernel` = Σ ∂<y, dy>/∂K, and when `dx` is given, dx = ∂<y, dy>/∂x. The same results
/// as [`activation_backward`](super::activation::activation_backward), [`bias_grad`](super::bias::bias_grad), [`conv2d_backward_kernel`] and
/// [`conv2d_backward_input`] called in turn on the whole batch (up to summation order).
/// `cols` is scratch of at least `g.cols_len()`.
#[allow(clippy::too_many_arguments)]
pub fn conv2d_backward(
    g: &Conv2dGeometry,
    batch: usize,
    x: &[f32],
    y: &[f32],
    dy: &mut [f32],
    kernel: &[f32],
    act: Activation,
    dkernel: &mut [f32],
    dbias: &mut [f32],
    mut dx: Option<&mut [f32]>,
    cols: &mut [f32],
) {
    g.check(batch, x.len(), kernel.len(), dy.len());
    g.check_scratch(cols.len());
    start_backward("conv2d", g, x, y, dy, dkernel, dbias, dx.as_deref());
    let backward = LayerBackward::new(g, kernel, act, dx.is_some(), cols.len());
    let (il, ol) = (g.input_len(), g.output_len());
    for b in 0..batch {
        let dxb = dx.as_deref_mut().map(|dx| &mut dx[b * il..][..il]);
        backward.run(&x[b * il..][..il], Some(&y[b * ol..][..ol]), &mut dy[b * ol..][..ol], dkernel, dbias, dxb, cols);
    }
}

/// One sample's forward: the direct path when prepared, else im2col + GEMM.
fn forward_sample(g: &Conv2dGeometry, plan: Option<&direct::Plan>, xb: &[f32], kernel: &[f32], yb: &mut [f32], cols: &mut [f32]) {
    match plan {
        Some(plan) => plan.run(xb, yb, cols),
        None => im2col::forward_sample(g, xb, kernel, yb, cols),
    }
}

/// One sample's input gradient: the direct path when prepared, else GEMM + col2im.
fn backward_input_sample(g: &Conv2dGeometry, plan: Option<&direct::Plan>, dyb: &[f32], kernel: &[f32], dxb: &mut [f32], dcols: &mut [f32]) {
    match plan {
        Some(plan) => plan.run(dyb, dxb, dcols),
        None => im2col::backward_input_sample(g, dyb, kernel, dxb, dcols),
    }
}

/// One sample's kernel gradient, added to dkernel: the direct path when prepared, else
/// im2col + GEMM.
fn backward_kernel_sample(g: &Conv2dGeometry, plan: Option<&direct::KernelGrad>, xb: &[f32], dyb: &[f32], dkernel: &mut [f32], cols: &mut [f32]) {
    match plan {
        Some(plan) => plan.run(xb, dyb, dkernel, cols),
        None => im2col::backward_kernel_sample(g, xb, dyb, dkernel, cols),
    }
}
