//! Dense: y = act(x·W + b), W stored [in, out] like Keras.

use super::{init::glorot_uniform, BackwardPass, Layer, ShapeError};
use crate::kernels::activation::activation_backward;
use crate::kernels::bias::{bias_activation_forward, bias_grad};
use crate::kernels::gemm::{gemm, MatMut, MatRef, Store};
use crate::kernels::Activation;
use crate::parallel::{for_each_sample_block, for_each_sample_block_reduced, Disjoint};
use crate::rng::Rng;

pub struct Dense {
    input: [usize; 1],
    output: [usize; 1],
    activation: Activation,
    /// Threads build: per-task gradient partials (tasks 1.., kernel then bias each);
    /// empty with one thread.
    partials: Vec<f32>,
}

impl Dense {
    pub fn new(input_shape: &[usize], units: usize, activation: Activation) -> Result<Self, ShapeError> {
        let &[inputs] = input_shape else {
            return Err(ShapeError(format!(
                "Dense expects a flat input [features], got {input_shape:?}; flatten images to [N, {}] first",
                input_shape.iter().product::<usize>()
            )));
        };
        super::positive("Dense", "input features and units", &[inputs, units])?;
        Ok(Dense { input: [inputs], output: [units], activation, partials: Vec::new() })
    }

    fn kernel_len(&self) -> usize {
        self.input[0] * self.output[0]
    }

    /// Row blocks of a batch per thread (1 block in all with one thread).
    const ROW_BLOCKS_PER_THREAD: usize = 2;
}

impl Layer for Dense {
    fn kind(&self) -> &'static str {
        "Dense"
    }
    fn input_shape(&self) -> &[usize] {
        &self.input
    }
    fn output_shape(&self) -> &[usize] {
        &self.output
    }
    fn param_shapes(&self) -> Vec<Vec<usize>> {
        vec![vec![self.input[0], self.output[0]], vec![self.output[0]]]
    }

    fn init_params(&self, rng: &mut Rng, params: &mut [f32]) {
        let (kernel, bias) = params.split_at_mut(self.kernel_len());
        glorot_uniform(rng, self.input[0], self.output[0], kernel);
        bias.fill(0.0);
    }

    fn forward(&mut self, batch: usize, params: &[f32], x: &[f32], y: &mut [f32]) {
        let (inputs, units) = (self.input[0], self.output[0]);
        let (kernel, bias) = params.split_at(self.kernel_len());
        // Row blocks of the batch (one with one thread): disjoint outputs, nothing to reduce.
        for_each_sample_block(batch, Self::ROW_BLOCKS_PER_THREAD, y, units, |rows, yb| {
            let n = rows.len();
            let xb = MatRef::new(&x[rows.start * inputs..rows.end * inputs], n, inputs);
            gemm(xb, MatRef::new(kernel, inputs, units), MatMut::new(yb, n, units), Store::Overwrite);
            bias_activation_forward(n, units, yb, bias, self.activation);
        });
    }

    /// Row blocks of the batch (one with one thread): each scales its block of dy, writes its
    /// rows of dx and its part of ∂L/∂W = xᵀ·dy, ∂L/∂b = Σ dy, which
    /// [`for_each_sample_block_reduced`] adds up in a fixed order.
    fn backward(&mut self, batch: usize, params: &[f32], pass: BackwardPass<'_>) {
        let BackwardPass { x, y, dy, grads, dx } = pass;
        let (inputs, units) = (self.input[0], self.output[0]);
        let kernel_len = self.kernel_len();
        let activation = self.activation;
        let kernel = MatRef::new(&params[..kernel_len], inputs, units);
        let want_dx = dx.is_some();
        let dy = Disjoint::new(dy);
        let dx = Disjoint::new(dx.unwrap_or(&mut []));
        for_each_sample_block_reduced(
            batch,
            Self::ROW_BLOCKS_PER_THREAD,
            grads,
            &mut self.partials,
            |rows, _, grads| {
                let n = rows.len();
                // SAFETY: row blocks of dy and dx are disjoint.
                let dyb = unsafe { dy.part(rows.start * units..rows.end * units) };
                let (dkernel, dbias) = grads.split_at_mut(kernel_len);
                activation_backward(activation, &y[rows.start * units..rows.end * units], dyb);
                let xb = MatRef::new(&x[rows.start * inputs..rows.end * inputs], n, inputs);
                gemm(xb.t(), MatRef::new(dyb, n, units), MatMut::new(dkernel, inputs, units), Store::Overwrite);
                bias_grad(n, units, dyb, dbias);
                if want_dx {
                    let dxb = unsafe { dx.part(rows.start * inputs..rows.end * inputs) };
                    gemm(MatRef::new(dyb, n, units), kernel.t(), MatMut::new(dxb, n, inputs), Store::Overwrite);
                }
            },
        );
    }
}
