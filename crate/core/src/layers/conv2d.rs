//! Conv2D, stride 1: y = act(conv(x, K) + b), K stored [kh, kw, in, out] like Keras.
//!
//! The model can fuse it with its neighbours (see `layers::fuse`): the same layer can take
//! the image *before* an UpSampling2D and convolve the upsampled image without it ever
//! being made ([`Conv2d::after_upsampling`], crate::kernels::conv2d::UpsampledConv2d), or
//! fold the MaxPooling2D after it in, so that its full-size output never leaves the cache
//! ([`Conv2d::before_pooling`], crate::kernels::conv2d::PooledConv2d).

use super::{image_shape, init::glorot_uniform, Layer, ShapeError};
use crate::kernels::conv2d::{conv2d_backward, conv2d_forward_bias_activation, Conv2dGeometry, PooledConv2d, UpsampledConv2d};
use crate::kernels::pool2d::Pool2dGeometry;
use crate::kernels::{Activation, Padding};
use crate::parallel::{block, parallel_for, reduce_into, tasks_for, threads, Disjoint};
use crate::rng::Rng;

pub struct Conv2d {
    geometry: Conv2dGeometry,
    op: Op,
    input: [usize; 3],
    output: [usize; 3],
    activation: Activation,
    /// Kernel scratch for one sample per pool thread (one with one thread), reused by every call.
    cols: Vec<f32>,
    /// With a pooling inside: where each pooled value came from in the last forward pass.
    argmax: Vec<u8>,
    /// Threads build: per-task gradient partials (tasks 1.., kernel then bias each).
    partials: Vec<f32>,
}

/// What the layer computes besides (or around) its convolution.
enum Op {
    Plain,
    /// Reads the image before an UpSampling2D (`input` is that image).
    Upsampled(UpsampledConv2d),
    /// A MaxPooling2D follows inside (`output` is the pooled image).
    Pooled(PooledConv2d),
}

impl Conv2d {
    pub fn new(
        input_shape: &[usize],
        filters: usize,
        kernel: [usize; 2],
        padding: Padding,
        activation: Activation,
    ) -> Result<Self, ShapeError> {
        let [h, w, c] = image_shape("Conv2D", input_shape)?;
        super::positive("Conv2D", "filters and kernel size", &[filters, kernel[0], kernel[1]])?;
        let geometry = Conv2dGeometry::new([h, w, c], kernel, filters, padding).map_err(|e| ShapeError(format!("Conv2D: {e}")))?;
        let (out_h, out_w) = (geometry.out_h(), geometry.out_w());
        Ok(Conv2d { geometry, op: Op::Plain, input: [h, w, c], output: [out_h, out_w, filters], activation, cols: Vec::new(), argmax: Vec::new(), partials: Vec::new() })
    }

    /// This layer behind an UpSampling2D of `size`, as one layer: its input is the image
    /// before the upsampling, its parameters and output are this layer's. None when the
    /// fused kernel cannot run this geometry, or would not be faster (the model then runs
    /// the two layers).
    pub fn after_upsampling(&self, size: [usize; 2]) -> Option<Conv2d> {
        // Measured on the tutorial's decoder (crate/dev/model_profile.rs, batch 256): fused,
        // a 28×28 image's pair took 0.48× the time of the two layers and a 16×16 one's
        // 0.74×, but an 8×8 one's 1.3×: on small images the classes' per-sample overheads
        // outweigh the saved work.
        const MIN_PIXELS: usize = 256;
        if self.geometry.in_h * self.geometry.in_w < MIN_PIXELS {
            return None;
        }
        let op = UpsampledConv2d::new(self.geometry, size)?;
        let [h, w, c] = self.input;
        Some(self.with(Op::Upsampled(op), [h / size[0], w / size[1], c], self.output))
    }

    /// This layer and a MaxPooling2D of geometry `pool` after it, as one layer: its input
    /// and parameters are this layer's, its output the pooling's. None when they do not fit
    /// together (the model then runs the two layers).
    pub fn before_pooling(&self, pool: Pool2dGeometry) -> Option<Conv2d> {
        let op = PooledConv2d::new(self.geometry, pool)?;
        Some(self.with(Op::Pooled(op), self.input, [pool.out_h(), pool.out_w(), pool.channels]))
    }

    fn with(&self, op: Op, input: [usize; 3], output: [usize; 3]) -> Conv2d {
        let (geometry, activation) = (self.geometry, self.activation);
        Conv2d { geometry, op, input, output, activation, cols: Vec::new(), argmax: Vec::new(), partials: Vec::new() }
    }

    /// Scratch floats per thread for one sample's kernel work.
    fn scratch_len(&self) -> usize {
        match &self.op {
            Op::Plain => self.geometry.cols_len(),
            Op::Upsampled(op) => op.scratch_len(),
            Op::Pooled(op) => op.scratch_len(),
        }
    }

    fn output_len(&self) -> usize {
        self.output.iter().product()
    }

    fn input_len(&self) -> usize {
        self.input.iter().product()
    }
}

impl Layer for Conv2d {
    fn kind(&self) -> &'static str {
        "Conv2D"
    }
    fn input_shape(&self) -> &[usize] {
        &self.input
    }
    fn output_shape(&self) -> &[usize] {
        &self.output
    }
    fn param_shapes(&self) -> Vec<Vec<usize>> {
        let g = &self.geometry;
        vec![vec![g.kernel_h, g.kernel_w, g.in_c, g.out_c], vec![g.out_c]]
    }

    fn init_params(&self, rng: &mut Rng, params: &mut [f32]) {
        let g = &self.geometry;
        let (kernel, bias) = params.split_at_mut(g.kernel_len());
        let receptive = g.kernel_h * g.kernel_w;
        glorot_uniform(rng, receptive * g.in_c, receptive * g.out_c, kernel);
        bias.fill(0.0);
    }

    fn prepare(&mut self, batch: usize) {
        let per_thread = if Self::tasks(batch) > 1 { threads() } else { 1 };
        let needed = self.scratch_len() * per_thread;
        if self.cols.len() != needed {
            self.cols.resize(needed, 0.0);
        }
        let outputs = batch * self.output_len();
        if matches!(self.op, Op::Pooled(_)) && self.argmax.len() < outputs {
            self.argmax.resize(outputs, 0);
        }
    }

    /// Image blocks (one with one thread): disjoint outputs, scratch per thread. The fused
    /// kernel adds the bias and applies the activation while each image is still in cache.
    fn forward(&mut self, batch: usize, params: &[f32], x: &[f32], y: &mut [f32]) {
        self.prepare(batch);
        let g = self.geometry;
        let (kernel, bias) = params.split_at(g.kernel_len());
        let tasks = Self::tasks(batch);
        let (il, ol, cl) = (self.input_len(), self.output_len(), self.scratch_len());
        let (y, cols, argmax) = (Disjoint::new(y), Disjoint::new(&mut self.cols), Disjoint::new(&mut self.argmax));
        let (activation, op) = (self.activation, &self.op);
        parallel_for(tasks, |t, thread| {
            let images = block(batch, tasks, t);
            let outputs = images.start * ol..images.end * ol;
            // SAFETY: image blocks are disjoint per task, scratch slots per thread.
            let (yb, cols) = unsafe { (y.part(outputs.clone()), cols.part(thread * cl..(thread + 1) * cl)) };
            let xb = &x[images.start * il..images.end * il];
            match op {
                Op::Plain => conv2d_forward_bias_activation(&g, images.len(), xb, kernel, bias, activation, yb, cols),
                Op::Upsampled(op) => op.forward_bias_activation(images.len(), xb, kernel, bias, activation, yb, cols),
                // SAFETY: as y's.
                Op::Pooled(op) => op.forward(images.len(), xb, kernel, bias, activation, yb, unsafe { argmax.part(outputs) }, cols),
            }
        });
    }

    /// Each image block scales its dy by act'(y) and computes its partial ∂L/∂K, ∂L/∂b (task 0
    /// straight into `grads`, the others into `partials`) and its images' dx, in one fused
    /// kernel call; the partials are then added in task order, so the result depends on the
    /// thread count only, never on scheduling.
    fn backward(
        &mut self,
        batch: usize,
        params: &[f32],
        x: &[f32],
        y: &[f32],
        dy: &mut [f32],
        grads: &mut [f32],
        dx: Option<&mut [f32]>,
    ) {
        self.prepare(batch);
        let tasks = Self::tasks(batch);
        let g = self.geometry;
        let (il, ol, cl) = (self.input_len(), self.output_len(), self.scratch_len());
        let kernel_len = g.kernel_len();
        let grad_len = kernel_len + g.out_c;
        let needed = (tasks - 1) * grad_len;
        if self.partials.len() < needed {
            self.partials.resize(needed, 0.0);
        }
        let (activation, op, argmax) = (self.activation, &self.op, &self.argmax[..]);
        let kernel = &params[..kernel_len];
        let want_dx = dx.is_some();
        let dy = Disjoint::new(dy);
        let dx = Disjoint::new(dx.unwrap_or(&mut []));
        let cols = Disjoint::new(&mut self.cols);
        let task0 = Disjoint::new(&mut *grads);
        let partials = Disjoint::new(&mut self.partials[..needed]);
        parallel_for(tasks, |t, thread| {
            let images = block(batch, tasks, t);
            // SAFETY: image blocks and gradient buffers are disjoint per task, scratch per thread.
            let (dyb, cols) = unsafe { (dy.part(images.start * ol..images.end * ol), cols.part(thread * cl..(thread + 1) * cl)) };
            let grad = unsafe { if t == 0 { task0.part(0..grad_len) } else { partials.part((t - 1) * grad_len..t * grad_len) } };
            let (dkernel, dbias) = grad.split_at_mut(kernel_len);
            let dxb = if want_dx { Some(unsafe { dx.part(images.start * il..images.end * il) }) } else { None };
            let (xb, yb) = (&x[images.start * il..images.end * il], &y[images.start * ol..images.end * ol]);
            match op {
                Op::Plain => conv2d_backward(&g, images.len(), xb, yb, dyb, kernel, activation, dkernel, dbias, dxb, cols),
                Op::Upsampled(op) => op.backward(images.len(), xb, yb, dyb, kernel, activation, dkernel, dbias, dxb, cols),
                Op::Pooled(op) => {
                    let ab = &argmax[images.start * ol..images.end * ol];
                    op.backward(images.len(), xb, yb, dyb, ab, kernel, activation, dkernel, dbias, dxb, cols)
                }
            }
        });
        reduce_into(grads, &self.partials[..needed], tasks - 1);
    }
}

impl Conv2d {
    /// Tasks for a batch: image blocks, 4 per thread (1 with one thread).
    fn tasks(batch: usize) -> usize {
        tasks_for(batch, 4)
    }
}
