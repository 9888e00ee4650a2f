//! The direct path: convolution as an implicit GEMM, no im2col.
//!
//! Forward and input gradient are both a stride-1 correlation of a zero-padded image with
//! a packed weight matrix (the input gradient correlates dy with the kernel flipped in
//! space and transposed in channels, over the complementary padding), so one engine,
//! [`Corr`], serves both. The kernel gradient is the same correlation's weight gradient.
//!
//! Per sample, the image is first copied into a zero-padded frame in the caller's scratch
//! (skipped when it needs no padding: 'valid' or 1×1); every receptive field is then a
//! fixed set of offsets from its pixel, and a kernel row's taps (kw, c) are one contiguous
//! run of the frame, so the micro-kernels read the frame in place: R output pixels × 8
//! channels in 2R f32x4 accumulators (the GEMM micro-tile, with the pixels' windows as the
//! rows of A), or for a single output channel R pixels' dot products over the runs.
//!
//! Here: the correlation's geometry and frame, the packed weights and the prepared plans;
//! the engine and its micro-kernels are in [`correlate`], the weight gradient's in
//! [`kernel_grad`].

mod correlate;
mod kernel_grad;

use super::Conv2dGeometry;
use core::mem::MaybeUninit;
use correlate::correlate;
use kernel_grad::{kernel_grad_narrow, kernel_grad_wide};

/// Output channels per packed weight panel (two f32x4).
const NR: usize = 8;
/// Capacity of the packed weights on the stack (64 KiB). A layer whose packed kernel is
/// larger takes the im2col + GEMM path.
const WCAP: usize = 16 * 1024;

/// A stride-1 correlation: out[oh, ow, j] = Σ_{kh, kw, ch} frame[oh + kh, ow + kw, ch] · W[(kh, kw, ch), j],
/// where the frame (out_h + kh - 1 rows × out_w + kw - 1 columns) is `src` (src_h × src_w × c)
/// placed at (pad_t, pad_l) in zeros, and cut off where `src` reaches past it.
#[derive(Clone, Copy, Debug)]
pub(super) struct Corr {
    kh: usize,
    kw: usize,
    /// Channels of the correlated image.
    c: usize,
    /// Channels of the result.
    n: usize,
    src_h: usize,
    src_w: usize,
    pub(super) pad_t: usize,
    pub(super) pad_l: usize,
    out_h: usize,
    out_w: usize,
    /// Floats from one frame row to the next: frame_w·c for a frame of its own, more for a
    /// window of a wider frame (see [`Corr::in_frame`]).
    stride: usize,
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
            stride: (g.out_w() + g.kernel_w - 1) * g.in_c,
        }
    }

    /// Any correlation: `src` is `src`[0] × `src`[1] × `c`, the kernel `k`[0] × `k`[1] × `c` × `n`,
    /// the output `out`[0] × `out`[1] × `n`, with `pad` zero rows and columns before `src`.
    pub(super) fn new(k: [usize; 2], c: usize, n: usize, src: [usize; 2], pad: [usize; 2], out: [usize; 2]) -> Corr {
        let stride = (out[1] + k[1] - 1) * c;
        Corr {
            kh: k[0],
            kw: k[1],
            c,
            n,
            src_h: src[0],
            src_w: src[1],
            pad_t: pad[0],
            pad_l: pad[1],
            out_h: out[0],
            out_w: out[1],
            stride,
        }
    }

    /// This correlation over a window of a wider frame, `frame_w` pixels a row: the caller
    /// makes the frame and runs the plans with `run_in`.
    pub(super) fn in_frame(&self, frame_w: usize) -> Corr {
        debug_assert!(frame_w >= self.frame_w());
        Corr { stride: frame_w * self.c, ..*self }
    }

    /// The input gradient of this correlation as a correlation: dsrc[i, w, ci] =
    /// Σ dout[i + kh' - (KH-1-pt), w + kw' - (KW-1-pl), j] · W[(KH-1-kh', KW-1-kw', ci), j],
    /// dout over the complementary padding. Needs pad_t < kh and pad_l < kw.
    fn transposed(&self) -> Corr {
        Corr {
            kh: self.kh,
            kw: self.kw,
            c: self.n,
            n: self.c,
            src_h: self.out_h,
            src_w: self.out_w,
            pad_t: self.kh - 1 - self.pad_t,
            pad_l: self.kw - 1 - self.pad_l,
            out_h: self.src_h,
            out_w: self.src_w,
            stride: (self.src_w + self.kw - 1) * self.n,
        }
    }

    /// Whether [`transposed`](Self::transposed) is a correlation: its padding is not negative
    /// and dout fits its frame (true for every Conv2D geometry).
    pub(super) fn transposable(&self) -> bool {
        self.pad_t < self.kh
            && self.pad_l < self.kw
            && self.kh - 1 - self.pad_t + self.out_h < self.src_h + self.kh
            && self.kw - 1 - self.pad_l + self.out_w < self.src_w + self.kw
    }

    fn frame_h(&self) -> usize {
        self.out_h + self.kh - 1
    }
    pub(super) fn frame_w(&self) -> usize {
        self.out_w + self.kw - 1
    }
    /// Floats a frame spans (from its first to its last element).
    pub(super) fn frame_len(&self) -> usize {
        (self.frame_h() - 1) * self.stride + self.frame_w() * self.c
    }
    /// Scratch the frames of this correlation and of its input gradient need.
    pub(super) fn scratch_len(&self) -> usize {
        self.frame_len().max(if self.transposable() { self.transposed().frame_len() } else { 0 })
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
    pub(super) fn unpadded(&self) -> bool {
        self.pad_t == 0 && self.pad_l == 0 && self.src_h == self.frame_h() && self.src_w == self.frame_w()
    }
    /// Frame rows [zero_top, data_end) hold the source; the rest are zeros.
    fn data_rows(&self) -> (usize, usize) {
        if self.unpadded() {
            (0, self.frame_h())
        } else {
            (self.pad_t, self.pad_t + self.src_h)
        }
    }
    fn panels(&self) -> usize {
        self.n.div_ceil(NR)
    }

    /// The frame of one sample: `src` itself, or `src` copied into `scratch` with its padding.
    pub(super) fn frame<'a>(&self, src: &'a [f32], scratch: &'a mut [f32]) -> &'a [f32] {
        debug_assert_eq!(src.len(), self.src_len());
        debug_assert_eq!(self.stride, self.frame_w() * self.c, "a window's frame is its caller's to make");
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
/// n) when n > 1, or one contiguous column when n == 1; then the bias the micro-kernels
/// add as they store (zeros without one), padded to whole panels.
struct Packed {
    buf: MaybeUninit<[f32; WCAP]>,
    /// Floats of weights; the bias follows.
    len: usize,
    bias_len: usize,
}

impl Packed {
    /// Packs W(T, j) = `weight(T, j)` and `bias`, or None when they do not fit.
    fn new(p: &Corr, weight: impl Fn(usize, usize) -> f32, bias: Option<&[f32]>) -> Option<Packed> {
        let taps = p.taps();
        let (len, bias_len) = if p.n == 1 { (taps, 1) } else { (p.panels() * taps * NR, p.panels() * NR) };
        if len + bias_len > WCAP {
            return None;
        }
        let mut w = Packed { buf: MaybeUninit::uninit(), len, bias_len };
        let dst = w.buf.as_mut_ptr() as *mut f32;
        // SAFETY: every index written is < len + bias_len <= WCAP.
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
            for j in 0..bias_len {
                dst.add(len + j).write(bias.and_then(|b| b.get(j).copied()).unwrap_or(0.0));
            }
        }
        Some(w)
    }

    fn weights(&self) -> &[f32] {
        // SAFETY: new() wrote the first `len` floats.
        unsafe { core::slice::from_raw_parts(self.buf.as_ptr() as *const f32, self.len) }
    }

    fn bias(&self) -> &[f32] {
        // SAFETY: new() wrote `bias_len` floats after the weights.
        unsafe { core::slice::from_raw_parts((self.buf.as_ptr() as *const f32).add(self.len), self.bias_len) }
    }
}

/// A prepared correlation, forward or input gradient: its geometry, packed weights and
/// bias, and whether a ReLU follows.
pub struct Plan {
    p: Corr,
    w: Packed,
    /// Whether the stores add the bias (and apply `relu`).
    epilogue: bool,
    relu: bool,
}

impl Plan {
    /// y = conv(x, kernel); None when the packed kernel does not fit the stack buffer or
    /// the padded frame does not fit `scratch` floats.
    pub fn forward(g: &Conv2dGeometry, kernel: &[f32], scratch: usize) -> Option<Plan> {
        Plan::forward_epilogue(g, kernel, None, false, scratch)
    }

    /// y = conv(x, kernel) + bias, then max(·, 0) when `relu` (`relu` needs a bias: the
    /// epilogue runs only with one): the bias and the ReLU
    /// applied as the micro-kernels store, while y is in registers, instead of in another
    /// pass over y (on a 28×28×32 output that pass cost a sixth of the forward).
    pub fn forward_epilogue(
        g: &Conv2dGeometry,
        kernel: &[f32],
        bias: Option<&[f32]>,
        relu: bool,
        scratch: usize,
    ) -> Option<Plan> {
        Plan::correlation(Corr::forward(g), |t, j| kernel[t * g.out_c + j], bias, relu, scratch)
    }

    /// dx = ∂<y, dy>/∂x: dy correlated with the kernel flipped in space and transposed
    /// in channels.
    pub fn backward_input(g: &Conv2dGeometry, kernel: &[f32], scratch: usize) -> Option<Plan> {
        Plan::correlation_input_grad(Corr::forward(g), |t, j| kernel[t * g.out_c + j], scratch)
    }

    /// `p` with weights W(T, j) = `weight(T, j)` (T = (kh, kw, ch) row-major), plus `bias`
    /// and then max(·, 0) when `relu`, as the stores happen.
    pub(super) fn correlation(
        p: Corr,
        weight: impl Fn(usize, usize) -> f32,
        bias: Option<&[f32]>,
        relu: bool,
        scratch: usize,
    ) -> Option<Plan> {
        Plan::new(p, scratch, weight, bias, relu)
    }

    /// The input gradient of correlation `p` (weights as for [`Plan::correlation`]): dout
    /// correlated with the weights flipped in space and transposed in channels.
    pub(super) fn correlation_input_grad(
        p: Corr,
        weight: impl Fn(usize, usize) -> f32,
        scratch: usize,
    ) -> Option<Plan> {
        if !p.transposable() {
            return None;
        }
        let (kh, kw, c, n) = (p.kh, p.kw, p.c, p.n);
        // Row T' = (kh', kw', j) of W', column ch: W((kh - 1 - kh', kw - 1 - kw', ch), j).
        let flipped = |t: usize, ch: usize| {
            let (tap, j) = (t / n, t % n);
            let (r, s) = (kh - 1 - tap / kw, kw - 1 - tap % kw);
            weight((r * kw + s) * c + ch, j)
        };
        Plan::new(p.transposed(), scratch, flipped, None, false)
    }

    fn new(
        p: Corr,
        scratch: usize,
        weight: impl Fn(usize, usize) -> f32,
        bias: Option<&[f32]>,
        relu: bool,
    ) -> Option<Plan> {
        if p.src_len() == 0 || p.out_len() == 0 || (!p.unpadded() && scratch < p.frame_len()) {
            return None;
        }
        Some(Plan { p, w: Packed::new(&p, weight, bias)?, epilogue: bias.is_some(), relu })
    }

    /// One sample: `out` (overwritten) from `src`, with `scratch` for the padded frame.
    pub fn run(&self, src: &[f32], out: &mut [f32], scratch: &mut [f32]) {
        let frame = self.p.frame(src, scratch);
        self.run_in(frame, out);
    }

    /// One sample: `out` (overwritten) from its frame, made by the caller.
    pub(super) fn run_in(&self, frame: &[f32], out: &mut [f32]) {
        let (w, bias) = (self.w.weights(), self.w.bias());
        if self.epilogue {
            correlate::<true>(&self.p, frame, w, bias, self.relu, out);
        } else {
            correlate::<false>(&self.p, frame, w, bias, self.relu, out);
        }
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
        KernelGrad::correlation(Corr::forward(g), scratch)
    }

    /// The weight gradient of correlation `p`, W laid out [(kh, kw, ch), j].
    pub(super) fn correlation(p: Corr, scratch: usize) -> Option<KernelGrad> {
        let wide = p.n.is_multiple_of(NR);
        let narrow = p.n < NR && p.run().is_multiple_of(4);
        let fits = p.unpadded() || scratch >= p.frame_len();
        (p.src_len() > 0 && p.out_len() > 0 && (wide || narrow) && fits).then_some(KernelGrad { p, wide })
    }

    /// One sample: dkernel += ∂<y, dy>/∂kernel.
    pub fn run(&self, x: &[f32], dy: &[f32], dkernel: &mut [f32], scratch: &mut [f32]) {
        let frame = self.p.frame(x, scratch);
        self.run_in(frame, dy, dkernel);
    }

    /// One sample: dkernel += ∂<y, dy>/∂kernel, from x's frame, made by the caller.
    pub(super) fn run_in(&self, frame: &[f32], dy: &[f32], dkernel: &mut [f32]) {
        if self.wide {
            kernel_grad_wide(&self.p, frame, dy, dkernel);
        } else {
            kernel_grad_narrow(&self.p, frame, dy, dkernel);
        }
    }
}
