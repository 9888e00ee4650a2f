//! One Conv2D operation type: a Conv2D layer's whole computation, y = act(conv(x, K) + b),
//! either plain or fused with a neighbouring layer, behind one forward and one backward
//! signature. The arguments travel in small structs; every shape is checked here, once.

use super::sample::{Epilogue, SampleBackward, SampleForward};
use super::{Conv2dGeometry, PooledConv2d, UpsampledConv2d};
use crate::kernels::activation::Activation;

/// What a Conv2D layer computes.
#[derive(Clone, Debug)]
pub enum Conv2dOp {
    /// The convolution over its input.
    Plain(Conv2dGeometry),
    /// The convolution over the nearest-neighbour upsampling of its input (UpSampling2D +
    /// Conv2D, without the upsampled image).
    Upsampled(UpsampledConv2d),
    /// The convolution followed by a MaxPooling2D: the output is the pooled image.
    Pooled(PooledConv2d),
}

/// The forward's arguments, for `batch` samples.
pub struct Conv2dForward<'a> {
    pub x: &'a [f32],
    pub kernel: &'a [f32],
    pub bias: &'a [f32],
    pub activation: Activation,
    /// Overwritten.
    pub y: &'a mut [f32],
    /// Pooled: each output's cell in its window, overwritten (as long as y). Else empty.
    pub argmax: &'a mut [u8],
    /// At least [`Conv2dOp::scratch_len`] floats (per call, so per thread).
    pub scratch: &'a mut [f32],
}

/// The weight gradients, overwritten by a backward.
pub struct Conv2dGrads<'a> {
    pub dkernel: &'a mut [f32],
    pub dbias: &'a mut [f32],
}

impl Conv2dGrads<'_> {
    /// The same buffers, for one sample's share to be added to.
    pub(super) fn reborrow(&mut self) -> Conv2dGrads<'_> {
        Conv2dGrads { dkernel: self.dkernel, dbias: self.dbias }
    }
}

/// The backward's arguments, for `batch` samples.
pub struct Conv2dBackward<'a> {
    /// The forward's input and output.
    pub x: &'a [f32],
    pub y: &'a [f32],
    /// ∂L/∂y, consumed: overwritten with act'(y)·dy.
    pub dy: &'a mut [f32],
    /// Pooled: the forward's argmax. Else empty.
    pub argmax: &'a [u8],
    pub kernel: &'a [f32],
    pub activation: Activation,
    pub grads: Conv2dGrads<'a>,
    /// ∂L/∂x, overwritten, when wanted.
    pub dx: Option<&'a mut [f32]>,
    /// As the forward's.
    pub scratch: &'a mut [f32],
}

impl Conv2dOp {
    /// The convolution's geometry (over the upsampled image when upsampled, into the
    /// unpooled one when pooled).
    pub fn conv(&self) -> &Conv2dGeometry {
        match self {
            Conv2dOp::Plain(g) => g,
            Conv2dOp::Upsampled(op) => op.conv(),
            Conv2dOp::Pooled(op) => op.conv(),
        }
    }

    /// Elements per input sample.
    pub fn input_len(&self) -> usize {
        match self {
            Conv2dOp::Upsampled(op) => op.input_len(),
            _ => self.conv().input_len(),
        }
    }

    /// Elements per output sample.
    pub fn output_len(&self) -> usize {
        match self {
            Conv2dOp::Pooled(op) => op.output_len(),
            _ => self.conv().output_len(),
        }
    }

    /// Scratch floats a call needs.
    pub fn scratch_len(&self) -> usize {
        match self {
            Conv2dOp::Plain(g) => g.cols_len(),
            Conv2dOp::Upsampled(op) => op.scratch_len(),
            Conv2dOp::Pooled(op) => op.scratch_len(),
        }
    }

    /// Whether the calls take an argmax (the output is pooled).
    pub fn pools(&self) -> bool {
        matches!(self, Conv2dOp::Pooled(_))
    }

    fn name(&self) -> &'static str {
        match self {
            Conv2dOp::Plain(_) => "conv2d",
            Conv2dOp::Upsampled(_) => "upsampled conv2d",
            Conv2dOp::Pooled(_) => "pooled conv2d",
        }
    }

    /// y = act(conv(x, kernel) + bias) (upsampled, pooled as the op says), overwriting y, sample
    /// by sample: the bias and activation touch each sample while it is in cache (on the direct
    /// path, for ReLU and no activation, as the micro-kernels store).
    pub fn forward(&self, batch: usize, args: Conv2dForward) {
        self.check(batch, args.x.len(), args.kernel.len(), args.y.len(), args.argmax.len(), args.scratch.len());
        assert_eq!(args.bias.len(), self.conv().out_c, "{}: bias length is not out_c", self.name());
        let epilogue = Epilogue::new(self.conv(), args.activation);
        match self {
            Conv2dOp::Plain(g) => plain_forward(g, batch, args, epilogue),
            Conv2dOp::Upsampled(op) => op.forward(batch, args, epilogue),
            Conv2dOp::Pooled(op) => op.forward(batch, args, epilogue),
        }
    }

    /// The whole backward pass, sample by sample so that each sample's gradient stays in
    /// cache across its uses: `dy` ← act'(y)·dy, `dbias` = Σ dy over pixels and batch,
    /// `dkernel` = Σ ∂<y, dy>/∂K and, when wanted, dx = ∂<y, dy>/∂x. For a plain op the
    /// same results as [`activation_backward`](crate::kernels::activation::activation_backward),
    /// [`bias_grad`](crate::kernels::bias::bias_grad), [`conv2d_backward_kernel`](super::conv2d_backward_kernel)
    /// and [`conv2d_backward_input`](super::conv2d_backward_input) in turn on the whole batch
    /// (up to summation order).
    pub fn backward(&self, batch: usize, args: Conv2dBackward) {
        self.check(batch, args.x.len(), args.kernel.len(), args.dy.len(), args.argmax.len(), args.scratch.len());
        let (g, what) = (self.conv(), self.name());
        assert_eq!(args.y.len(), args.dy.len(), "{what}: y and dy lengths differ");
        assert_eq!(args.grads.dkernel.len(), g.kernel_len(), "{what}: dkernel length is not kernel_len");
        assert_eq!(args.grads.dbias.len(), g.out_c, "{what}: dbias length is not out_c");
        if let Some(dx) = &args.dx {
            assert_eq!(dx.len(), args.x.len(), "{what}: dx length differs from x");
        }
        // The samples add to these.
        args.grads.dkernel.fill(0.0);
        args.grads.dbias.fill(0.0);
        let epilogue = Epilogue::new(g, args.activation);
        match self {
            Conv2dOp::Plain(g) => plain_backward(g, batch, args, epilogue),
            Conv2dOp::Upsampled(op) => op.backward(batch, args, epilogue),
            Conv2dOp::Pooled(op) => op.backward(batch, args, epilogue),
        }
    }

    /// The lengths every call checks: x, the kernel, y (or dy), the argmax and the scratch.
    fn check(&self, batch: usize, x: usize, kernel: usize, y: usize, argmax: usize, scratch: usize) {
        let (g, what) = (self.conv(), self.name());
        assert_eq!(x, batch * self.input_len(), "{what}: input length is not batch × input_len");
        assert_eq!(kernel, g.kernel_len(), "{what}: kernel length is not kernel_len");
        assert_eq!(y, batch * self.output_len(), "{what}: output length is not batch × output_len");
        let argmax_len = if self.pools() { y } else { 0 };
        assert_eq!(argmax, argmax_len, "{what}: argmax length differs from the output's (none unless pooled)");
        // A 1×1 plain convolution needs no scratch: its input already is the im2col matrix.
        let pointwise = matches!(self, Conv2dOp::Plain(g) if g.pointwise());
        assert!(pointwise || scratch >= self.scratch_len(), "{what}: scratch shorter than scratch_len");
    }
}

/// The plain forward: each sample convolved, then its epilogue (unless the stores applied it).
fn plain_forward(g: &Conv2dGeometry, batch: usize, args: Conv2dForward, epilogue: Epilogue) {
    let Conv2dForward { x, kernel, bias, y, scratch, .. } = args;
    let forward = SampleForward::new(g, kernel, bias, epilogue, scratch.len());
    let (il, ol) = (g.input_len(), g.output_len());
    for b in 0..batch {
        forward.run(&x[b * il..][..il], &mut y[b * ol..][..ol], scratch);
    }
}

/// The plain backward: each sample's epilogue backward, then its kernel and input gradients.
fn plain_backward(g: &Conv2dGeometry, batch: usize, args: Conv2dBackward, epilogue: Epilogue) {
    let Conv2dBackward { x, y, dy, kernel, mut grads, mut dx, scratch, .. } = args;
    let backward = SampleBackward::new(g, kernel, epilogue, dx.is_some(), scratch.len());
    let (il, ol) = (g.input_len(), g.output_len());
    for b in 0..batch {
        let dxb = dx.as_deref_mut().map(|dx| &mut dx[b * il..][..il]);
        backward.run(
            &x[b * il..][..il],
            Some(&y[b * ol..][..ol]),
            &mut dy[b * ol..][..ol],
            grads.reborrow(),
            dxb,
            scratch,
        );
    }
}
