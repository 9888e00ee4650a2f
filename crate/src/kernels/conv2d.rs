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
//! of 4): im2col lays every output pixel's receptive field out as one row of `cols`
//! (ordered (kh, kw, in_c), the kernel's own layout), so the convolution is one GEMM with
//! the kernel viewed as a (kh·kw·in_c) × out_c matrix: forward `y = cols · K` (NN), kernel
//! gradient `dK += colsᵀ · dy` (TN), input gradient `dcols = dy · Kᵀ` (NT) scattered back
//! by col2im. A 1×1 kernel needs no im2col at all: the input already is that matrix.
//!
//! Besides the three kernels the layers call, [`conv2d_forward_bias_activation`] and
//! [`conv2d_backward`] run a whole Conv2D layer's forward or backward sample by sample, so
//! the bias, activation and bias gradient touch each sample while it is in cache instead
//! of making extra passes over the whole batch.

use super::activation::{activation_backward, Activation};
use super::bias::{bias_activation_forward, bias_grad_accumulate};
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
    let plan = direct::Plan::forward(g, kernel, cols.len());
    let (il, ol, pixels) = (g.input_len(), g.output_len(), g.out_h() * g.out_w());
    for b in 0..batch {
        let yb = &mut y[b * ol..][..ol];
        forward_sample(g, plan.as_ref(), &x[b * il..][..il], kernel, yb, cols);
        bias_activation_forward(pixels, g.out_c, yb, bias, act);
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
/// as [`activation_backward`], [`bias_grad`](super::bias::bias_grad), [`conv2d_backward_kernel`] and
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
    assert_eq!(y.len(), dy.len(), "conv2d: y and dy lengths differ");
    assert_eq!(dkernel.len(), g.kernel_len(), "conv2d: dkernel length is not kernel_len");
    assert_eq!(dbias.len(), g.out_c, "conv2d: dbias length is not out_c");
    if let Some(dx) = dx.as_deref() {
        assert_eq!(dx.len(), x.len(), "conv2d: dx length differs from x");
    }
    let grad = direct::KernelGrad::new(g, cols.len());
    let input = if dx.is_some() { direct::Plan::backward_input(g, kernel, cols.len()) } else { None };
    let (il, ol, pixels) = (g.input_len(), g.output_len(), g.out_h() * g.out_w());
    dkernel.fill(0.0);
    dbias.fill(0.0);
    for b in 0..batch {
        let (xb, yb, dyb) = (&x[b * il..][..il], &y[b * ol..][..ol], &mut dy[b * ol..][..ol]);
        activation_backward(act, yb, dyb);
        bias_grad_accumulate(pixels, g.out_c, dyb, dbias);
        backward_kernel_sample(g, grad.as_ref(), xb, dyb, dkernel, cols);
        if let Some(dx) = dx.as_deref_mut() {
            backward_input_sample(g, input.as_ref(), dyb, kernel, &mut dx[b * il..][..il], cols);
        }
    }
}

/// One sample's forward: the direct path when prepared, else im2col + GEMM.
fn forward_sample(g: &Conv2dGeometry, plan: Option<&direct::Plan>, xb: &[f32], kernel: &[f32], yb: &mut [f32], cols: &mut [f32]) {
    let (m, k) = (g.out_h() * g.out_w(), g.patch_len());
    if let Some(plan) = plan {
        plan.run(xb, yb, cols);
    } else if g.pointwise() {
        gemm(m, g.out_c, k, xb, false, kernel, false, yb, false);
    } else {
        let cols = &mut cols[..g.cols_len()];
        im2col(g, xb, cols);
        gemm(m, g.out_c, k, cols, false, kernel, false, yb, false);
    }
}

/// One sample's input gradient: the direct path when prepared, else GEMM + col2im.
fn backward_input_sample(g: &Conv2dGeometry, plan: Option<&direct::Plan>, dyb: &[f32], kernel: &[f32], dxb: &mut [f32], dcols: &mut [f32]) {
    let (m, k) = (g.out_h() * g.out_w(), g.patch_len());
    if let Some(plan) = plan {
        plan.run(dyb, dxb, dcols);
    } else if g.pointwise() {
        gemm(m, k, g.out_c, dyb, false, kernel, true, dxb, false);
    } else {
        let dcols = &mut dcols[..g.cols_len()];
        gemm(m, k, g.out_c, dyb, false, kernel, true, dcols, false);
        col2im(g, dcols, dxb);
    }
}

/// One sample's kernel gradient, added to dkernel: the direct path when prepared, else
/// im2col + GEMM.
fn backward_kernel_sample(g: &Conv2dGeometry, plan: Option<&direct::KernelGrad>, xb: &[f32], dyb: &[f32], dkernel: &mut [f32], cols: &mut [f32]) {
    let (m, k) = (g.out_h() * g.out_w(), g.patch_len());
    if let Some(plan) = plan {
        plan.run(xb, dyb, dkernel, cols);
    } else if g.pointwise() {
        gemm(k, g.out_c, m, xb, true, dyb, false, dkernel, true);
    } else {
        let cols = &mut cols[..g.cols_len()];
        im2col(g, xb, cols);
        gemm(k, g.out_c, m, cols, true, dyb, false, dkernel, true);
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

/// The direct path: convolution as an implicit GEMM, no im2col.
///
/// Forward and input gradient are both a stride-1 correlation of a zero-padded image with
/// a packed weight matrix (the input gradient correlates dy with the kernel flipped in
/// space and transposed in channels, over the complementary padding), so one engine,
/// [`Corr`], serves both. The kernel gradient is the same correlation's weight gradient.
///
/// Per sample, the image is first copied into a zero-padded frame in the caller's scratch
/// (skipped when it needs no padding: 'valid' or 1×1); every receptive field is then a
/// fixed set of offsets from its pixel, and a kernel row's taps (kw, c) are one contiguous
/// run of the frame, so the micro-kernels read the frame in place: R output pixels × 8
/// channels in 2R f32x4 accumulators (the GEMM micro-tile, with the pixels' windows as the
/// rows of A), or for a single output channel R pixels' dot products over the runs.
mod direct {
    use super::Conv2dGeometry;
    use core::mem::MaybeUninit;

    /// Output channels per packed weight panel (two f32x4).
    const NR: usize = 8;
    /// Capacity of the packed weights on the stack (64 KiB). A layer whose packed kernel is
    /// larger takes the im2col + GEMM path.
    const WCAP: usize = 16 * 1024;

    /// A stride-1 correlation: out[oh, ow, j] = Σ_{kh, kw, ch} frame[oh + kh, ow + kw, ch] · W[(kh, kw, ch), j],
    /// where the frame is `src` (src_h × src_w × c) placed at (pad_t, pad_l) in zeros.
    #[derive(Clone, Copy, Debug)]
    struct Corr {
        kh: usize,
        kw: usize,
        /// Channels of the correlated image.
        c: usize,
        /// Channels of the result.
        n: usize,
        src_h: usize,
        src_w: usize,
        pad_t: usize,
        pad_l: usize,
        out_h: usize,
        out_w: usize,
    }

    impl Corr {
        fn forward(g: &Conv2dGeometry) -> Corr {
            Corr {
                kh: g.kernel_h,
                kw: g.kernel_w,
                c: g.in_c,
                n: g.out_c,
                src_h: g.in_h,
                src_w: g.in_w,
                pad_t: g.pad_top(),
                pad_l: g.pad_left(),
                out_h: g.out_h(),
                out_w: g.out_w(),
            }
        }

        /// dx[ih, iw, ci] = Σ dy[ih + kh' - (KH-1-pt), iw + kw' - (KW-1-pl), co] · K[KH-1-kh', KW-1-kw', ci, co].
        fn backward_input(g: &Conv2dGeometry) -> Corr {
            Corr {
                kh: g.kernel_h,
                kw: g.kernel_w,
                c: g.out_c,
                n: g.in_c,
                src_h: g.out_h(),
                src_w: g.out_w(),
                pad_t: g.kernel_h - 1 - g.pad_top(),
                pad_l: g.kernel_w - 1 - g.pad_left(),
                out_h: g.in_h,
                out_w: g.in_w,
            }
        }

        fn frame_h(&self) -> usize {
            self.out_h + self.kh - 1
        }
        fn frame_w(&self) -> usize {
            self.out_w + self.kw - 1
        }
        fn frame_len(&self) -> usize {
            self.frame_h() * self.frame_w() * self.c
        }
        /// Taps of one kernel row: kw·c floats, contiguous in the frame.
        fn run(&self) -> usize {
            self.kw * self.c
        }
        /// Rows of W: kh·kw·c.
        fn taps(&self) -> usize {
            self.kh * self.run()
        }
        fn src_len(&self) -> usize {
            self.src_h * self.src_w * self.c
        }
        fn out_len(&self) -> usize {
            self.out_h * self.out_w * self.n
        }
        /// The source already is its frame: no padding on any side.
        fn unpadded(&self) -> bool {
            self.pad_t == 0 && self.pad_l == 0 && self.src_h == self.frame_h() && self.src_w == self.frame_w()
        }
        fn panels(&self) -> usize {
            self.n.div_ceil(NR)
        }

        /// The frame of one sample: `src` itself, or `src` copied into `scratch` with its padding.
        fn frame<'a>(&self, src: &'a [f32], scratch: &'a mut [f32]) -> &'a [f32] {
            debug_assert_eq!(src.len(), self.src_len());
            if self.unpadded() {
                return src;
            }
            let (fh, fw, c) = (self.frame_h(), self.frame_w(), self.c);
            let frame = &mut scratch[..self.frame_len()];
            let row_len = fw * c;
            let (left, body) = (self.pad_l * c, self.src_w * c);
            for (r, row) in frame.chunks_exact_mut(row_len).enumerate().take(fh) {
                match r.checked_sub(self.pad_t).filter(|&sr| sr < self.src_h) {
                    Some(sr) => {
                        row[..left].fill(0.0);
                        row[left..left + body].copy_from_slice(&src[sr * body..][..body]);
                        row[left + body..].fill(0.0);
                    }
                    None => row.fill(0.0),
                }
            }
            frame
        }
    }

    /// Weights packed for the micro-kernels: NR-column panels (taps × NR each, zero past
    /// n) when n > 1, or one contiguous column when n == 1.
    struct Packed {
        buf: MaybeUninit<[f32; WCAP]>,
        len: usize,
    }

    impl Packed {
        /// Packs W(T, j) = `weight(T, j)`, or None when it does not fit.
        fn new(p: &Corr, weight: impl Fn(usize, usize) -> f32) -> Option<Packed> {
            let taps = p.taps();
            let len = if p.n == 1 { taps } else { p.panels() * taps * NR };
            if len > WCAP {
                return None;
            }
            let mut w = Packed { buf: MaybeUninit::uninit(), len };
            let dst = w.buf.as_mut_ptr() as *mut f32;
            // SAFETY: every index written is < len <= WCAP.
            unsafe {
                if p.n == 1 {
                    for t in 0..taps {
                        dst.add(t).write(weight(t, 0));
                    }
                } else {
                    for q in 0..p.panels() {
                        for t in 0..taps {
                            for j in 0..NR {
                                let col = q * NR + j;
                                dst.add((q * taps + t) * NR + j).write(if col < p.n { weight(t, col) } else { 0.0 });
                            }
                        }
                    }
                }
            }
            Some(w)
        }

        fn as_slice(&self) -> &[f32] {
            // SAFETY: new() wrote the first `len` floats.
            unsafe { core::slice::from_raw_parts(self.buf.as_ptr() as *const f32, self.len) }
        }
    }

    /// A prepared correlation, forward or input gradient: its geometry and packed weights.
    pub struct Plan {
        p: Corr,
        w: Packed,
    }

    impl Plan {
        /// y = conv(x, kernel); None when the packed kernel does not fit the stack buffer or
        /// the padded frame does not fit `scratch` floats.
        pub fn forward(g: &Conv2dGeometry, kernel: &[f32], scratch: usize) -> Option<Plan> {
            let p = Corr::forward(g);
            let oc = g.out_c;
            Plan::new(p, scratch, |t, j| kernel[t * oc + j])
        }

        /// dx = ∂<y, dy>/∂x: dy correlated with the kernel flipped in space and transposed
        /// in channels.
        pub fn backward_input(g: &Conv2dGeometry, kernel: &[f32], scratch: usize) -> Option<Plan> {
            let p = Corr::backward_input(g);
            let (kh, kw, ic, oc) = (g.kernel_h, g.kernel_w, g.in_c, g.out_c);
            // Row T' = (kh', kw', co) of W', column ci: K[kh - 1 - kh', kw - 1 - kw', ci, co].
            Plan::new(p, scratch, |t, ci| {
                let (tap, co) = (t / oc, t % oc);
                let (r, s) = (kh - 1 - tap / kw, kw - 1 - tap % kw);
                kernel[((r * kw + s) * ic + ci) * oc + co]
            })
        }

        fn new(p: Corr, scratch: usize, weight: impl Fn(usize, usize) -> f32) -> Option<Plan> {
            if p.src_len() == 0 || p.out_len() == 0 || (!p.unpadded() && scratch < p.frame_len()) {
                return None;
            }
            Some(Plan { p, w: Packed::new(&p, weight)? })
        }

        /// One sample: `out` (overwritten) from `src`, with `scratch` for the padded frame.
        pub fn run(&self, src: &[f32], out: &mut [f32], scratch: &mut [f32]) {
            let frame = self.p.frame(src, scratch);
            correlate(&self.p, frame, self.w.as_slice(), out);
        }
    }

    /// The prepared kernel gradient: handles out_c a multiple of 8, or below 8 with
    /// kw·in_c a multiple of 4.
    pub struct KernelGrad {
        p: Corr,
        wide: bool,
    }

    impl KernelGrad {
        pub fn new(g: &Conv2dGeometry, scratch: usize) -> Option<KernelGrad> {
            let p = Corr::forward(g);
            let wide = p.n.is_multiple_of(NR);
            let narrow = p.n < NR && p.run().is_multiple_of(4);
            let fits = p.unpadded() || scratch >= p.frame_len();
            (p.src_len() > 0 && p.out_len() > 0 && (wide || narrow) && fits).then_some(KernelGrad { p, wide })
        }

        /// One sample: dkernel += ∂<y, dy>/∂kernel.
        pub fn run(&self, x: &[f32], dy: &[f32], dkernel: &mut [f32], scratch: &mut [f32]) {
            let frame = self.p.frame(x, scratch);
            if self.wide {
                kernel_grad_wide(&self.p, frame, dy, dkernel);
            } else {
                kernel_grad_narrow(&self.p, frame, dy, dkernel);
            }
        }
    }

    /// One sample: out = frame ⋆ W.
    #[inline(never)]
    fn correlate(p: &Corr, frame: &[f32], w: &[f32], out: &mut [f32]) {
        let (c, n, run, kh) = (p.c, p.n, p.run(), p.kh);
        let seg = p.frame_w() * c;
        // Every frame read is below frame_h·frame_w·c: the last tap of the last pixel is
        // (out_h-1+kh-1, out_w-1+kw-1, c-1). Every write is inside out.
        assert!(frame.len() >= p.frame_len() && out.len() == p.out_len() && p.out_len() > 0);
        let (f, o) = (frame.as_ptr(), out.as_mut_ptr());
        // Frame rows outside [pad_t, pad_t + src_h) are zeros: kernel rows that would only
        // read them are skipped (a 'same' layer's first and last rows, and more for the
        // input gradient of a 'valid' one). The source itself has no zero rows.
        let (zero_top, data_end) = if p.unpadded() { (0, p.frame_h()) } else { (p.pad_t, p.pad_t + p.src_h) };
        for oh in 0..p.out_h {
            let s0 = zero_top.saturating_sub(oh).min(kh);
            let kh = data_end.saturating_sub(oh).min(kh).max(s0) - s0;
            let w = &w[s0 * run * if n == 1 { 1 } else { NR }..];
            let mut ow = 0;
            while ow < p.out_w {
                let left = p.out_w - ow;
                // SAFETY: pixels ow..ow+R < out_w of row oh, kernel rows s0..s0+kh < p.kh;
                // see the assert above.
                unsafe {
                    let a = f.add((oh + s0) * seg + ow * c);
                    let y = o.add((oh * p.out_w + ow) * n);
                    if n == 1 && p.kw == 3 && c.is_multiple_of(4) && left >= 4 {
                        // Each frame vector serves the three taps of its kernel row.
                        let w = w.as_ptr();
                        ow += if left >= 8 { micro::dot_k3::<8>(a, c, seg, kh, w, y) } else { micro::dot_k3::<4>(a, c, seg, kh, w, y) };
                    } else if n == 1 {
                        let w = w.as_ptr();
                        ow += match left {
                            8.. => micro::dot::<8>(a, c, seg, kh, run, w, y),
                            4..=7 => micro::dot::<4>(a, c, seg, kh, run, w, y),
                            2 | 3 => micro::dot::<2>(a, c, seg, kh, run, w, y),
                            _ => micro::dot::<1>(a, c, seg, kh, run, w, y),
                        };
                    } else {
                        let taps = p.taps();
                        let r = left.min(4);
                        for q in 0..p.panels() {
                            // Panel q starts q·taps·NR floats in; `w` starts at row s0.
                            let panel = w.as_ptr().add(q * taps * NR);
                            let nr = NR.min(n - q * NR);
                            let y = y.add(q * NR);
                            if c == 1 && p.kw == 3 && r == 4 {
                                // One input channel: the four pixels' three taps per kernel
                                // row read six distinct frame values, each loaded once.
                                micro::tile_c1k3::<4>(a, seg, kh, panel, y, n, nr);
                                continue;
                            }
                            match r {
                                4 => micro::tile::<4>(a, c, seg, kh, run, panel, y, n, nr),
                                3 => micro::tile::<3>(a, c, seg, kh, run, panel, y, n, nr),
                                2 => micro::tile::<2>(a, c, seg, kh, run, panel, y, n, nr),
                                _ => micro::tile::<1>(a, c, seg, kh, run, panel, y, n, nr),
                            }
                        }
                        ow += r;
                    }
                }
            }
        }
    }

    /// One sample, n a multiple of 8: dW[T][j] += Σ_pixels frame(pixel, T) · gy[pixel][j],
    /// R ≤ 4 rows of W × 8 columns at a time.
    #[inline(never)]
    fn kernel_grad_wide(p: &Corr, frame: &[f32], gy: &[f32], dw: &mut [f32]) {
        let (taps, run, n) = (p.taps(), p.run(), p.n);
        let seg = p.frame_w() * p.c;
        assert!(frame.len() >= p.frame_len() && gy.len() == p.out_len() && dw.len() == taps * n && n.is_multiple_of(NR));
        // Tiles of up to 4 consecutive taps inside one kernel row's run (kw·c taps whose
        // frame offsets are consecutive too), each run split as evenly as possible
        // (3 → 3, 9 → 3+3+3, 96 → 24×4).
        let (zero_top, data_end) = if p.unpadded() { (0, p.frame_h()) } else { (p.pad_t, p.pad_t + p.src_h) };
        for s in 0..p.kh {
            // Output rows whose frame row oh + s is padding add nothing.
            let oh0 = zero_top.saturating_sub(s).min(p.out_h);
            let oh1 = data_end.saturating_sub(s).min(p.out_h).max(oh0);
            let tiles = run.div_ceil(4);
            let mut t = 0;
            for i in 0..tiles {
                let rows = run / tiles + usize::from(i < run % tiles);
                let t0 = s * run + t;
                for q in 0..n / NR {
                    // SAFETY: frame reads (oh·seg + s·seg + ow·c + t + r, r < rows) are bounded
                    // as in `correlate`; gy reads are pixel·n + q·8 + 8 <= out_len; dw rows
                    // t0..t0+rows <= taps.
                    unsafe {
                        let f = frame.as_ptr().add((oh0 + s) * seg + t);
                        let g = gy.as_ptr().add(oh0 * p.out_w * n + q * NR);
                        let d = dw.as_mut_ptr().add(t0 * n + q * NR);
                        let (c, h, w) = (p.c, oh1 - oh0, p.out_w);
                        match rows {
                            4 => micro::grad_tile::<4>(f, c, seg, h, w, g, n, d),
                            3 => micro::grad_tile::<3>(f, c, seg, h, w, g, n, d),
                            2 => micro::grad_tile::<2>(f, c, seg, h, w, g, n, d),
                            _ => micro::grad_tile::<1>(f, c, seg, h, w, g, n, d),
                        }
                    }
                }
                t += rows;
            }
        }
    }

    /// One sample, n < 8 and run a multiple of 4: for each output channel, up to 32
    /// consecutive taps of one kernel row at a time in 8 vectors, gy broadcast per pixel.
    #[inline(never)]
    fn kernel_grad_narrow(p: &Corr, frame: &[f32], gy: &[f32], dw: &mut [f32]) {
        let (run, n) = (p.run(), p.n);
        let seg = p.frame_w() * p.c;
        assert!(frame.len() >= p.frame_len() && gy.len() == p.out_len() && dw.len() == p.taps() * n && run.is_multiple_of(4));
        if p.kw == 3 && p.c.is_multiple_of(8) && (p.out_w + 4) * p.out_h <= GPAD {
            kernel_grad_k3(p, frame, gy, dw);
            return;
        }
        for j in 0..n {
            for s in 0..p.kh {
                let mut t = 0;
                while t < run {
                    let vecs = ((run - t) / 4).min(8);
                    // SAFETY: taps s·run + t .. + 4·vecs <= taps; frame and gy reads as in kernel_grad_wide.
                    unsafe {
                        let (f, g, d) = (frame.as_ptr().add(s * seg + t), gy.as_ptr().add(j), dw.as_mut_ptr().add((s * run + t) * n + j));
                        match vecs {
                            8 => micro::grad_cols::<8>(f, p.c, seg, p.out_h, p.out_w, g, n, d),
                            4..=7 => micro::grad_cols::<4>(f, p.c, seg, p.out_h, p.out_w, g, n, d),
                            2 | 3 => micro::grad_cols::<2>(f, p.c, seg, p.out_h, p.out_w, g, n, d),
                            _ => micro::grad_cols::<1>(f, p.c, seg, p.out_h, p.out_w, g, n, d),
                        }
                        t += 4 * match vecs {
                            8 => 8,
                            4..=7 => 4,
                            2 | 3 => 2,
                            _ => 1,
                        };
                    }
                }
            }
        }
    }

    /// Capacity (floats) of the zero-bordered copy of one output channel of gy that
    /// [`kernel_grad_k3`] keeps on the stack.
    const GPAD: usize = 4096;

    /// kernel_grad_narrow for 3-wide kernel rows and c a multiple of 8: for each output
    /// channel, gy is copied with two zeros on either side of each row, so that every
    /// frame vector, loaded once, feeds the three taps of its kernel row (gy at ow, ow-1, ow-2).
    #[inline(never)]
    fn kernel_grad_k3(p: &Corr, frame: &[f32], gy: &[f32], dw: &mut [f32]) {
        let (c, n, gw) = (p.c, p.n, p.out_w + 4);
        let seg = p.frame_w() * c;
        assert!(p.kw == 3 && c.is_multiple_of(8) && gw * p.out_h <= GPAD);
        assert!(frame.len() >= p.frame_len() && gy.len() == p.out_len() && dw.len() == p.taps() * n);
        let mut gpad = [0.0f32; GPAD];
        for j in 0..n {
            for oh in 0..p.out_h {
                let row = &mut gpad[oh * gw..][..gw];
                for (ow, g) in row[2..2 + p.out_w].iter_mut().enumerate() {
                    *g = gy[(oh * p.out_w + ow) * n + j];
                }
            }
            for s in 0..p.kh {
                for v in (0..c).step_by(8) {
                    // SAFETY: frame reads are (oh + s)·seg + q·c + v + 8 with q < out_w + 2 =
                    // frame_w and v + 8 <= c, inside the frame; gpad reads q + 2 < gw per row;
                    // dw rows (s·3 + kw)·c + v + 8 <= taps, column j < n.
                    unsafe {
                        micro::grad_k3(frame.as_ptr().add(s * seg + v), c, seg, p.out_h, p.out_w, gpad.as_ptr(), gw, dw.as_mut_ptr().add(((s * 3) * c + v) * n + j), n, c * n);
                    }
                }
            }
        }
    }

    /// The micro-kernels, written once over [`V4`] (f32x4 on wasm SIMD, [f32; 4] elsewhere).
    mod micro {
        use super::super::v4::V4;
        use super::NR;

        /// out[r][0..nr] = Σ_{s<kh} Σ_{t<run} a[s·seg + r·c + t] · panel[(s·run + t)·8 ..][..8]
        /// for R consecutive pixels (row r of out at out + r·ldo).
        ///
        /// # Safety
        /// Every read of a (see above) and of the panel (kh·run rows of 8) must be in bounds,
        /// and out rows r < R must have nr writable floats.
        #[allow(clippy::too_many_arguments)]
        #[inline(always)]
        pub unsafe fn tile<const R: usize>(a: *const f32, c: usize, seg: usize, kh: usize, run: usize, panel: *const f32, out: *mut f32, ldo: usize, nr: usize) {
            let mut acc = [[V4::zero(); 2]; R];
            let rows: [*const f32; R] = core::array::from_fn(|r| a.add(r * c));
            let mut bp = panel;
            for s in 0..kh {
                let o = s * seg;
                for t in 0..run {
                    let b0 = V4::load(bp);
                    let b1 = V4::load(bp.add(4));
                    for (r, acc) in acc.iter_mut().enumerate() {
                        let av = V4::splat_load(rows[r].add(o + t));
                        acc[0] = acc[0].mul_add(av, b0);
                        acc[1] = acc[1].mul_add(av, b1);
                    }
                    bp = bp.add(NR);
                }
            }
            for (r, acc) in acc.iter().enumerate() {
                let dst = out.add(r * ldo);
                if nr == NR {
                    acc[0].store(dst);
                    acc[1].store(dst.add(4));
                } else {
                    let lanes = [acc[0].lanes(), acc[1].lanes()];
                    for j in 0..nr {
                        *dst.add(j) = lanes[j / 4][j % 4];
                    }
                }
            }
        }

        /// out[r·ldo] = Σ_{s<kh} Σ_{t<run} a[s·seg + r·c + t] · w[s·run + t] for R pixels,
        /// four taps at a time; returns R.
        ///
        /// # Safety
        /// As [`tile`], with `w` holding kh·run floats and out[r·ldo] writable for r < R.
        #[allow(clippy::too_many_arguments)]
        #[inline(always)]
        pub unsafe fn dot<const R: usize>(a: *const f32, c: usize, seg: usize, kh: usize, run: usize, w: *const f32, out: *mut f32) -> usize {
            let ldo = 1;
            let mut acc = [V4::zero(); R];
            let mut tail = [0.0f32; R];
            let rows: [*const f32; R] = core::array::from_fn(|r| a.add(r * c));
            let body = run / 4 * 4;
            for s in 0..kh {
                let (o, ws) = (s * seg, w.add(s * run));
                let mut t = 0;
                while t < body {
                    let wv = V4::load(ws.add(t));
                    for (r, acc) in acc.iter_mut().enumerate() {
                        *acc = acc.mul_add(V4::load(rows[r].add(o + t)), wv);
                    }
                    t += 4;
                }
                for t in body..run {
                    let wt = *ws.add(t);
                    for (r, tail) in tail.iter_mut().enumerate() {
                        *tail += *rows[r].add(o + t) * wt;
                    }
                }
            }
            for r in 0..R {
                *out.add(r * ldo) = acc[r].hsum() + tail[r];
            }
            R
        }

        /// [`tile`] for c = 1 and kw = 3: per kernel row, the R + 2 frame values are
        /// broadcast once and each used by up to three taps.
        ///
        /// # Safety
        /// As [`tile`] with c = 1, run = 3.
        #[allow(clippy::too_many_arguments)]
        #[inline(always)]
        pub unsafe fn tile_c1k3<const R: usize>(a: *const f32, seg: usize, kh: usize, panel: *const f32, out: *mut f32, ldo: usize, nr: usize) {
            let mut acc = [[V4::zero(); 2]; R];
            let mut bp = panel;
            let mut row = a;
            for _ in 0..kh {
                let xs: [V4; 6] = core::array::from_fn(|i| if i < R + 2 { V4::splat_load(row.add(i)) } else { V4::zero() });
                for kw in 0..3 {
                    let b0 = V4::load(bp.add(kw * NR));
                    let b1 = V4::load(bp.add(kw * NR + 4));
                    for (r, acc) in acc.iter_mut().enumerate() {
                        acc[0] = acc[0].mul_add(xs[r + kw], b0);
                        acc[1] = acc[1].mul_add(xs[r + kw], b1);
                    }
                }
                bp = bp.add(3 * NR);
                row = row.add(seg);
            }
            for (r, acc) in acc.iter().enumerate() {
                let dst = out.add(r * ldo);
                if nr == NR {
                    acc[0].store(dst);
                    acc[1].store(dst.add(4));
                } else {
                    let lanes = [acc[0].lanes(), acc[1].lanes()];
                    for j in 0..nr {
                        *dst.add(j) = lanes[j / 4][j % 4];
                    }
                }
            }
        }

        /// out[r] = Σ_{s<kh} Σ_{kw<3} Σ_{ch<c} a[s·seg + (r + kw)·c + ch] · w[(s·3 + kw)·c + ch] for
        /// R consecutive pixels of a single output channel (c a multiple of 4): each frame
        /// vector is loaded once per kernel row and used for the (up to) three pixels whose
        /// windows contain it. Returns R.
        ///
        /// # Safety
        /// Frame reads up to (kh-1)·seg + (R+2)·c, w reads up to kh·3·c, R outputs.
        #[inline(always)]
        pub unsafe fn dot_k3<const R: usize>(a: *const f32, c: usize, seg: usize, kh: usize, w: *const f32, out: *mut f32) -> usize {
            let mut acc = [V4::zero(); R];
            for s in 0..kh {
                let (row, ws) = (a.add(s * seg), w.add(s * 3 * c));
                let mut v = 0;
                while v < c {
                    let w0 = V4::load(ws.add(v));
                    let w1 = V4::load(ws.add(c + v));
                    let w2 = V4::load(ws.add(2 * c + v));
                    let mut xp = row.add(v);
                    for j in 0..R + 2 {
                        let x = V4::load(xp);
                        if j < R {
                            acc[j] = acc[j].mul_add(x, w0);
                        }
                        if j >= 1 && j <= R {
                            acc[j - 1] = acc[j - 1].mul_add(x, w1);
                        }
                        if j >= 2 {
                            acc[j - 2] = acc[j - 2].mul_add(x, w2);
                        }
                        xp = xp.add(c);
                    }
                    v += 4;
                }
            }
            let mut r = 0;
            while r + 4 <= R {
                V4::hsum4([acc[r], acc[r + 1], acc[r + 2], acc[r + 3]]).store(out.add(r));
                r += 4;
            }
            R
        }

        /// For kernel row s (frame already offset to it and to channel v): dw[(kw·c + l)·ldd]
        /// += Σ_{oh,ow} frame[oh·seg + (ow + kw)·c + l] · g[oh][ow] for kw < 3, l < 8. `g` is one
        /// output channel with two zeros before and after each row (rows `gw` apart), so the
        /// sweep over the frame columns q reads g at q, q-1 and q-2 for the three taps.
        ///
        /// # Safety
        /// Frame reads up to (out_h-1)·seg + (out_w+1)·c + 8, g reads up to out_h·gw, and dw
        /// at (2·c + 7)·ldd must be in bounds.
        #[allow(clippy::too_many_arguments)]
        #[inline(always)]
        pub unsafe fn grad_k3(frame: *const f32, c: usize, seg: usize, out_h: usize, out_w: usize, g: *const f32, gw: usize, dw: *mut f32, ldd: usize, tap_stride: usize) {
            debug_assert_eq!(tap_stride, c * ldd);
            let mut acc = [[V4::zero(); 2]; 3];
            for oh in 0..out_h {
                let mut xp = frame.add(oh * seg);
                let mut gp = g.add(oh * gw + 2);
                let (mut g1, mut g2) = (V4::zero(), V4::zero());
                for _ in 0..out_w + 2 {
                    let g0 = V4::splat_load(gp);
                    let x0 = V4::load(xp);
                    let x1 = V4::load(xp.add(4));
                    acc[0][0] = acc[0][0].mul_add(x0, g0);
                    acc[0][1] = acc[0][1].mul_add(x1, g0);
                    acc[1][0] = acc[1][0].mul_add(x0, g1);
                    acc[1][1] = acc[1][1].mul_add(x1, g1);
                    acc[2][0] = acc[2][0].mul_add(x0, g2);
                    acc[2][1] = acc[2][1].mul_add(x1, g2);
                    g2 = g1;
                    g1 = g0;
                    xp = xp.add(c);
                    gp = gp.add(1);
                }
            }
            for (kw, acc) in acc.iter().enumerate() {
                for (h, acc) in acc.iter().enumerate() {
                    for (l, x) in acc.lanes().iter().enumerate() {
                        *dw.add(kw * tap_stride + (4 * h + l) * ldd) += x;
                    }
                }
            }
        }

        /// dw[r·ldg + 0..8] += Σ_pixels frame[pixel·c + r] · g[pixel·ldg ..][..8] for R
        /// consecutive taps (frame already offset to the first) over the out_h × out_w pixels
        /// (frame rows `seg` apart, g rows out_w·ldg apart): one frame pointer for all R
        /// broadcasts keeps the loop's integer registers few enough for V8 not to spill.
        ///
        /// # Safety
        /// Every frame, g and dw access above must be in bounds.
        #[allow(clippy::too_many_arguments)]
        #[inline(always)]
        pub unsafe fn grad_tile<const R: usize>(frame: *const f32, c: usize, seg: usize, out_h: usize, out_w: usize, g: *const f32, ldg: usize, dw: *mut f32) {
            let mut acc = [[V4::zero(); 2]; R];
            let mut gp = g;
            for oh in 0..out_h {
                let mut xp = frame.add(oh * seg);
                for _ in 0..out_w {
                    let b0 = V4::load(gp);
                    let b1 = V4::load(gp.add(4));
                    for (r, acc) in acc.iter_mut().enumerate() {
                        let av = V4::splat_load(xp.add(r));
                        acc[0] = acc[0].mul_add(av, b0);
                        acc[1] = acc[1].mul_add(av, b1);
                    }
                    gp = gp.add(ldg);
                    xp = xp.add(c);
                }
            }
            for (r, acc) in acc.iter().enumerate() {
                let d = dw.add(r * ldg);
                V4::load(d).add(acc[0]).store(d);
                V4::load(d.add(4)).add(acc[1]).store(d.add(4));
            }
        }

        /// dw[(4v + l)·ldg] += Σ_pixels frame[pixel·c + 4v + l] · g[pixel·ldg] for V vectors
        /// of consecutive taps (one output channel: g and dw already offset to it).
        ///
        /// # Safety
        /// As [`grad_tile`].
        #[allow(clippy::too_many_arguments)]
        #[inline(always)]
        pub unsafe fn grad_cols<const V: usize>(frame: *const f32, c: usize, seg: usize, out_h: usize, out_w: usize, g: *const f32, ldg: usize, dw: *mut f32) {
            let mut acc = [V4::zero(); V];
            let mut gp = g;
            for oh in 0..out_h {
                let row = frame.add(oh * seg);
                let mut o = 0;
                for _ in 0..out_w {
                    let gv = V4::splat_load(gp);
                    for (v, acc) in acc.iter_mut().enumerate() {
                        *acc = acc.mul_add(V4::load(row.add(o + 4 * v)), gv);
                    }
                    gp = gp.add(ldg);
                    o += c;
                }
            }
            for (v, acc) in acc.iter().enumerate() {
                for (l, x) in acc.lanes().iter().enumerate() {
                    *dw.add((4 * v + l) * ldg) += x;
                }
            }
        }
    }
}

/// A four-lane f32 vector: `v128` with SIMD128, a plain array elsewhere (LLVM vectorizes
/// it for the native target), so the micro-kernels are written once.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod v4 {
    use core::arch::wasm32::*;

    #[derive(Clone, Copy)]
    pub struct V4(v128);

    impl V4 {
        #[inline(always)]
        pub fn zero() -> V4 {
            V4(f32x4_splat(0.0))
        }
        /// # Safety
        /// Four floats readable at `p`.
        #[inline(always)]
        pub unsafe fn load(p: *const f32) -> V4 {
            V4(v128_load(p as *const v128))
        }
        /// # Safety
        /// One float readable at `p`.
        #[inline(always)]
        pub unsafe fn splat_load(p: *const f32) -> V4 {
            V4(v128_load32_splat(p as *const u32))
        }
        /// # Safety
        /// Four floats writable at `p`.
        #[inline(always)]
        pub unsafe fn store(self, p: *mut f32) {
            v128_store(p as *mut v128, self.0)
        }
        /// self + a·b (a multiply and an add: no FMA without relaxed SIMD).
        #[inline(always)]
        pub fn mul_add(self, a: V4, b: V4) -> V4 {
            V4(f32x4_add(self.0, f32x4_mul(a.0, b.0)))
        }
        #[inline(always)]
        pub fn add(self, o: V4) -> V4 {
            V4(f32x4_add(self.0, o.0))
        }
        #[inline(always)]
        pub fn lanes(self) -> [f32; 4] {
            [f32x4_extract_lane::<0>(self.0), f32x4_extract_lane::<1>(self.0), f32x4_extract_lane::<2>(self.0), f32x4_extract_lane::<3>(self.0)]
        }
        #[inline(always)]
        pub fn hsum(self) -> f32 {
            let l = self.lanes();
            (l[0] + l[1]) + (l[2] + l[3])
        }
        /// (Σ v[0], Σ v[1], Σ v[2], Σ v[3]): four horizontal sums in one vector.
        #[inline(always)]
        pub fn hsum4(v: [V4; 4]) -> V4 {
            let s01 = f32x4_add(i32x4_shuffle::<0, 4, 1, 5>(v[0].0, v[1].0), i32x4_shuffle::<2, 6, 3, 7>(v[0].0, v[1].0));
            let s23 = f32x4_add(i32x4_shuffle::<0, 4, 1, 5>(v[2].0, v[3].0), i32x4_shuffle::<2, 6, 3, 7>(v[2].0, v[3].0));
            V4(f32x4_add(i64x2_shuffle::<0, 2>(s01, s23), i64x2_shuffle::<1, 3>(s01, s23)))
        }
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod v4 {
    #[derive(Clone, Copy)]
    pub struct V4([f32; 4]);

    impl V4 {
        #[inline(always)]
        pub fn zero() -> V4 {
            V4([0.0; 4])
        }
        /// # Safety
        /// Four floats readable at `p`.
        #[inline(always)]
        pub unsafe fn load(p: *const f32) -> V4 {
            V4(core::ptr::read_unaligned(p as *const [f32; 4]))
        }
        /// # Safety
        /// One float readable at `p`.
        #[inline(always)]
        pub unsafe fn splat_load(p: *const f32) -> V4 {
            V4([*p; 4])
        }
        /// # Safety
        /// Four floats writable at `p`.
        #[inline(always)]
        pub unsafe fn store(self, p: *mut f32) {
            core::ptr::write_unaligned(p as *mut [f32; 4], self.0)
        }
        #[inline(always)]
        pub fn mul_add(self, a: V4, b: V4) -> V4 {
            V4(core::array::from_fn(|l| self.0[l] + a.0[l] * b.0[l]))
        }
        #[inline(always)]
        pub fn add(self, o: V4) -> V4 {
            V4(core::array::from_fn(|l| self.0[l] + o.0[l]))
        }
        #[inline(always)]
        pub fn lanes(self) -> [f32; 4] {
            self.0
        }
        #[inline(always)]
        pub fn hsum(self) -> f32 {
            (self.0[0] + self.0[1]) + (self.0[2] + self.0[3])
        }
        /// (Σ v[0], Σ v[1], Σ v[2], Σ v[3]).
        #[inline(always)]
        pub fn hsum4(v: [V4; 4]) -> V4 {
            V4(core::array::from_fn(|i| v[i].hsum()))
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

    /// The fused layer entry points against the unfused references: forward with bias and
    /// activation, then the whole backward (dy consumed, dkernel, dbias, dx).
    fn check_fused(g: Conv2dGeometry, batch: usize, x: &[f32], kernel: &[f32], seed: u64) {
        use crate::kernels::activation::{activation_backward_reference, activation_forward_reference};
        use crate::kernels::bias::bias_grad_reference;
        let act = [Activation::Relu, Activation::Tanh, Activation::Linear][(seed % 3) as usize];
        let bias = random_vec(seed + 3, g.out_c, -0.3, 0.3);
        let out_len = batch * g.output_len();
        let scratch = g.cols_len();
        let patch = (g.kernel_h * g.kernel_w * g.in_c) as f64;
        let reduce = (batch * g.out_h() * g.out_w()) as f64;
        let tol = Tolerance::new(2e-6 * patch.max(reduce).sqrt(), 1e-5);
        let name = format!("fused conv {g:?} batch {batch} {act:?}");

        let mut y = vec![f32::NAN; out_len];
        conv2d_forward_bias_activation(&g, batch, x, kernel, &bias, act, &mut y, &mut vec![f32::NAN; scratch]);
        let mut y_ref = vec![0.0; out_len];
        conv2d_forward_reference(&g, batch, x, kernel, &mut y_ref);
        for (i, v) in y_ref.iter_mut().enumerate() {
            *v += bias[i % g.out_c.max(1)];
        }
        activation_forward_reference(act, &mut y_ref);
        assert_close(&format!("{name}: forward"), &y, &y_ref, tol);

        let dy0 = random_vec(seed + 4, out_len, -1.0, 1.0);
        for with_dx in [true, false] {
            let mut dy = dy0.clone();
            let (mut dk, mut db) = (vec![f32::NAN; g.kernel_len()], vec![f32::NAN; g.out_c]);
            let mut dx = vec![f32::NAN; x.len()];
            let dx_arg = if with_dx { Some(&mut dx[..]) } else { None };
            conv2d_backward(&g, batch, x, &y_ref, &mut dy, kernel, act, &mut dk, &mut db, dx_arg, &mut vec![f32::NAN; scratch]);
            let mut dy_ref = dy0.clone();
            activation_backward_reference(act, &y_ref, &mut dy_ref);
            let (mut dk_ref, mut db_ref, mut dx_ref) = (vec![0.0; g.kernel_len()], vec![0.0; g.out_c], vec![0.0; x.len()]);
            bias_grad_reference(batch * g.out_h() * g.out_w(), g.out_c, &dy_ref, &mut db_ref);
            conv2d_backward_kernel_reference(&g, batch, x, &dy_ref, &mut dk_ref);
            conv2d_backward_input_reference(&g, batch, &dy_ref, kernel, &mut dx_ref);
            assert_close(&format!("{name}: dy after the activation"), &dy, &dy_ref, Tolerance::new(1e-6, 1e-5));
            assert_close(&format!("{name}: dbias"), &db, &db_ref, tol);
            assert_close(&format!("{name}: dkernel"), &dk, &dk_ref, tol);
            if with_dx {
                assert_close(&format!("{name}: dx"), &dx, &dx_ref, tol);
            }
        }
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
        check_fused(g, batch, &x, &kernel, seed);
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
    fn every_path() {
        // Kernels too large for the direct path's packed buffer (im2col + GEMM instead),
        // channel counts that are not multiples of 8 (edge panels; the kernel gradient's
        // fallback), one output or input channel (dot products; per-channel kernel
        // gradient), wide and tall kernels, and a batch of 3 (frames reused).
        for padding in [Padding::Same, Padding::Valid] {
            check(geom(6, 5, 64, (3, 3), 32, padding), 1);
            check(geom(5, 7, 12, (1, 4), 1, padding), 3);
            check(geom(7, 5, 4, (4, 1), 13, padding), 3);
            check(geom(9, 9, 16, (3, 3), 16, padding), 3);
            check(geom(9, 6, 1, (3, 2), 24, padding), 2);
            check(geom(8, 8, 40, (3, 3), 2, padding), 2);
        }
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
