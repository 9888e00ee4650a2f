//! Conv2D followed by MaxPooling2D, sample by sample: Keras's `Conv2D(activation=...)`
//! then `MaxPooling2D`, without the convolution's full-size output ever leaving the cache.
//!
//! Why: on the convolutional autoencoder's first layer the convolution's output (28×28×32
//! per image, 25.7 MB a batch of 256) is written, read back by the pooling, and in the
//! backward pass its gradient is written by the pooling and read back twice by the
//! convolution: four passes over main memory for tensors that are only needed one sample
//! at a time. Here each sample's activation is made in scratch and pooled at once; the
//! backward routes the pooled gradient into a scratch activation gradient and runs the
//! convolution's backward on it while it is in cache.
//!
//! The results are the two layers', bit for bit: the same kernels run on the same values
//! in the same order, only where the intermediate tensor lives changes. The activation's
//! derivative is taken at the pooled values, which are the activations at the arg-max
//! cells, the only cells the gradient reaches (elsewhere it is zero either way).

use super::sample::{Epilogue, SampleBackward, SampleForward};
use super::{Conv2dBackward, Conv2dForward, Conv2dGeometry};
use crate::kernels::activation::activation_backward;
use crate::kernels::pool2d::{max_pool2d_backward, max_pool2d_forward, Pool2dGeometry};

/// A Conv2D of geometry `conv` and a MaxPooling2D of geometry `pool` over its output.
#[derive(Clone, Copy, Debug)]
pub struct PooledConv2d {
    conv: Conv2dGeometry,
    pool: Pool2dGeometry,
}

impl PooledConv2d {
    /// None unless the pooling takes the convolution's output and its windows fit a byte index.
    pub fn new(conv: Conv2dGeometry, pool: Pool2dGeometry) -> Option<PooledConv2d> {
        let fits = pool.in_h == conv.out_h() && pool.in_w == conv.out_w() && pool.channels == conv.out_c;
        (fits && pool.window_cells() <= 256 && conv.output_len() > 0).then_some(PooledConv2d { conv, pool })
    }

    pub fn conv(&self) -> &Conv2dGeometry {
        &self.conv
    }

    /// Elements per output sample (the pooled image).
    pub fn output_len(&self) -> usize {
        self.pool.output_len()
    }

    /// Scratch floats the calls need: one sample's activation (or its gradient) and the
    /// convolution's own scratch.
    pub fn scratch_len(&self) -> usize {
        self.conv.output_len() + self.conv.cols_len()
    }

    /// y = maxpool(act(conv(x, kernel) + bias)) and each output's window cell, overwritten
    /// (the arguments checked by [`Conv2dOp::forward`](super::Conv2dOp::forward)).
    pub(super) fn forward(&self, batch: usize, args: Conv2dForward, epilogue: Epilogue) {
        let Conv2dForward { x, kernel, bias, y, argmax, scratch, .. } = args;
        let (activation, cols) = scratch.split_at_mut(self.conv.output_len());
        let forward = SampleForward::new(&self.conv, kernel, bias, epilogue, cols.len());
        let (il, ol) = (self.conv.input_len(), self.output_len());
        for b in 0..batch {
            forward.run(&x[b * il..][..il], activation, cols);
            max_pool2d_forward(&self.pool, 1, activation, &mut y[b * ol..][..ol], &mut argmax[b * ol..][..ol]);
        }
    }

    /// The backward pass of y = maxpool(act(conv(x, K) + b)): `dy` (the pooled gradient) ←
    /// act'(y)·dy in place, the gradients and, when wanted, `dx` (checked and the gradients
    /// cleared by [`Conv2dOp::backward`](super::Conv2dOp::backward)).
    pub(super) fn backward(&self, batch: usize, args: Conv2dBackward, epilogue: Epilogue) {
        let Conv2dBackward { x, y, dy, argmax, kernel, activation, mut grads, mut dx, scratch } = args;
        let (grad, cols) = scratch.split_at_mut(self.conv.output_len());
        // The activation's derivative is applied before routing, at the pooled values; the
        // convolution's backward then sees a gradient with no activation left to apply.
        let backward = SampleBackward::new(&self.conv, kernel, epilogue, dx.is_some(), cols.len());
        let (il, ol) = (self.conv.input_len(), self.output_len());
        activation_backward(activation, y, dy);
        for b in 0..batch {
            max_pool2d_backward(&self.pool, 1, &dy[b * ol..][..ol], &argmax[b * ol..][..ol], grad);
            let dxb = dx.as_deref_mut().map(|dx| &mut dx[b * il..][..il]);
            backward.run(&x[b * il..][..il], None, grad, grads.reborrow(), dxb, cols);
        }
    }
}
