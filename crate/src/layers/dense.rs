//! Dense: y = act(x·W + b), W stored [in, out] like Keras.

use super::{init::glorot_uniform, Layer, ShapeError};
use crate::kernels::activation::activation_backward;
use crate::kernels::bias::{bias_activation_forward, bias_grad};
use crate::kernels::gemm::gemm;
use crate::kernels::Activation;
use crate::rng::Rng;

pub struct Dense {
    input: [usize; 1],
    output: [usize; 1],
    activation: Activation,
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
        Ok(Dense { input: [inputs], output: [units], activation })
    }

    fn kernel_len(&self) -> usize {
        self.input[0] * self.output[0]
    }
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
        gemm(batch, units, inputs, x, false, kernel, false, y, false);
        bias_activation_forward(batch, units, y, bias, self.activation);
    }

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
        let (inputs, units) = (self.input[0], self.output[0]);
        activation_backward(self.activation, y, dy);
        let (dkernel, dbias) = grads.split_at_mut(self.kernel_len());
        // ∂L/∂W = xᵀ·dy, ∂L/∂b = Σ_rows dy, ∂L/∂x = dy·Wᵀ.
        gemm(inputs, units, batch, x, true, dy, false, dkernel, false);
        bias_grad(batch, units, dy, dbias);
        if let Some(dx) = dx {
            let kernel = &params[..self.kernel_len()];
            gemm(batch, inputs, units, dy, false, kernel, true, dx, false);
        }
    }
}
