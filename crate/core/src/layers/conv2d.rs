//! Conv2D, stride 1: y = act(conv(x, K) + b), K stored [kh, kw, in, out] like Keras.
//!
//! The model can fuse it with its neighbours (see `layers::fuse`): the same layer can take
//! the image *before* an UpSampling2D and convolve the upsampled image without it ever
//! being made ([`Conv2d::after_upsampling`], crate::kernels::conv2d::UpsampledConv2d), or
//! fold the MaxPooling2D after it in, so that its full-size output never leaves the cache
//! ([`Conv2d::before_pooling`], crate::kernels::conv2d::PooledConv2d).

use super::{image_shape, init::glorot_uniform, BackwardPass, Layer, ShapeError};
use crate::kernels::conv2d::{
    Conv2dBackward, Conv2dForward, Conv2dGeometry, Conv2dGrads, Conv2dOp, PooledConv2d, UpsampledConv2d,
};
use crate::kernels::pool2d::Pool2dGeometry;
use crate::kernels::{Activation, Padding};
use crate::parallel::{block, for_each_sample_block_reduced, parallel_for, tasks_for, threads, Disjoint};
use crate::rng::Rng;

pub struct Conv2d {
    /// The convolution, plain or fused with a neighbour.
    op: Conv2dOp,
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
        let geometry =
            Conv2dGeometry::new([h, w, c], kernel, filters, padding).map_err(|e| ShapeError(format!("Conv2D: {e}")))?;
        let (out_h, out_w) = (geometry.out_h(), geometry.out_w());
        let (op, input, output) = (Conv2dOp::Plain(geometry), [h, w, c], [out_h, out_w, filters]);
        Ok(Conv2d { op, input, output, activation, cols: Vec::new(), argmax: Vec::new(), partials: Vec::new() })
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
        let g = *self.geometry();
        if g.in_h * g.in_w < MIN_PIXELS {
            return None;
        }
        let op = UpsampledConv2d::new(g, size)?;
        let [h, w, c] = self.input;
        Some(self.with(Conv2dOp::Upsampled(op), [h / size[0], w / size[1], c], self.output))
    }

    /// This layer and a MaxPooling2D of geometry `pool` after it, as one layer: its input
    /// and parameters are this layer's, its output the pooling's. None when they do not fit
    /// together (the model then runs the two layers).
    pub fn before_pooling(&self, pool: Pool2dGeometry) -> Option<Conv2d> {
        let op = PooledConv2d::new(*self.geometry(), pool)?;
        Some(self.with(Conv2dOp::Pooled(op), self.input, [pool.out_h(), pool.out_w(), pool.channels]))
    }

    fn with(&self, op: Conv2dOp, input: [usize; 3], output: [usize; 3]) -> Conv2d {
        Conv2d {
            op,
            input,
            output,
            activation: self.activation,
            cols: Vec::new(),
            argmax: Vec::new(),
            partials: Vec::new(),
        }
    }

    /// The convolution's geometry (over the upsampled image when fused after an upsampling).
    fn geometry(&self) -> &Conv2dGeometry {
        self.op.conv()
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
        let g = self.geometry();
        vec![vec![g.kernel_h, g.kernel_w, g.in_c, g.out_c], vec![g.out_c]]
    }

    fn init_params(&self, rng: &mut Rng, params: &mut [f32]) {
        let g = self.geometry();
        let (kernel, bias) = params.split_at_mut(g.kernel_len());
        let receptive = g.kernel_h * g.kernel_w;
        glorot_uniform(rng, receptive * g.in_c, receptive * g.out_c, kernel);
        bias.fill(0.0);
    }

    fn prepare(&mut self, batch: usize) {
        let per_thread = if Self::tasks(batch) > 1 { threads() } else { 1 };
        let needed = self.op.scratch_len() * per_thread;
        if self.cols.len() != needed {
            self.cols.resize(needed, 0.0);
        }
        let outputs = batch * self.output_len();
        if self.op.pools() && self.argmax.len() < outputs {
            self.argmax.resize(outputs, 0);
        }
    }

    /// Image blocks (one with one thread): disjoint outputs, scratch per thread. The op adds
    /// the bias and applies the activation while each image is still in cache.
    fn forward(&mut self, batch: usize, params: &[f32], x: &[f32], y: &mut [f32]) {
        self.prepare(batch);
        let (kernel, bias) = params.split_at(self.geometry().kernel_len());
        let tasks = Self::tasks(batch);
        let (il, ol, sl) = (self.input_len(), self.output_len(), self.op.scratch_len());
        let (y, scratch, argmax) = (Disjoint::new(y), Disjoint::new(&mut self.cols), Disjoint::new(&mut self.argmax));
        let (activation, op) = (self.activation, &self.op);
        parallel_for(tasks, |t, thread| {
            let images = block(batch, tasks, t);
            let outputs = images.start * ol..images.end * ol;
            // SAFETY: image blocks are disjoint per task (y, argmax), scratch slots per thread.
            let (y, scratch) = unsafe { (y.part(outputs.clone()), scratch.part(thread * sl..(thread + 1) * sl)) };
            let argmax = if op.pools() { unsafe { argmax.part(outputs) } } else { &mut [] };
            let x = &x[images.start * il..images.end * il];
            op.forward(images.len(), Conv2dForward { x, kernel, bias, activation, y, argmax, scratch });
        });
    }

    /// Image blocks: each scales its dy by act'(y) and computes its part of ∂L/∂K, ∂L/∂b and
    /// its images' dx in one op call; [`for_each_sample_block_reduced`] adds the parts up in
    /// task order, so the result depends on the thread count only, never on scheduling.
    fn backward(&mut self, batch: usize, params: &[f32], pass: BackwardPass<'_>) {
        self.prepare(batch);
        let BackwardPass { x, y, dy, grads, dx } = pass;
        let kernel_len = self.geometry().kernel_len();
        let (il, ol, sl) = (self.input_len(), self.output_len(), self.op.scratch_len());
        let (activation, op, argmax) = (self.activation, &self.op, &self.argmax[..]);
        let kernel = &params[..kernel_len];
        let want_dx = dx.is_some();
        let (dy, dx, scratch) =
            (Disjoint::new(dy), Disjoint::new(dx.unwrap_or(&mut [])), Disjoint::new(&mut self.cols));
        for_each_sample_block_reduced(
            batch,
            Self::IMAGE_BLOCKS_PER_THREAD,
            grads,
            &mut self.partials,
            |images, thread, grads| {
                let (inputs, outputs) = (images.start * il..images.end * il, images.start * ol..images.end * ol);
                // SAFETY: image blocks are disjoint per task (dy, dx), scratch slots per thread.
                let (dy, scratch) = unsafe { (dy.part(outputs.clone()), scratch.part(thread * sl..(thread + 1) * sl)) };
                let dx = if want_dx { Some(unsafe { dx.part(inputs.clone()) }) } else { None };
                let argmax = if op.pools() { &argmax[outputs.clone()] } else { &[] };
                let (dkernel, dbias) = grads.split_at_mut(kernel_len);
                let grads = Conv2dGrads { dkernel, dbias };
                op.backward(
                    images.len(),
                    Conv2dBackward {
                        x: &x[inputs],
                        y: &y[outputs],
                        dy,
                        argmax,
                        kernel,
                        activation,
                        grads,
                        dx,
                        scratch,
                    },
                );
            },
        );
    }
}

impl Conv2d {
    /// Image blocks per thread (1 block in all with one thread).
    const IMAGE_BLOCKS_PER_THREAD: usize = 4;

    fn tasks(batch: usize) -> usize {
        tasks_for(batch, Self::IMAGE_BLOCKS_PER_THREAD)
    }
}
