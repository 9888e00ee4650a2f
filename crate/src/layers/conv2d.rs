//! Conv2D, stride 1: y = act(conv(x, K) + b), K stored [kh, kw, in, out] like Keras.

use super::{image_shape, init::glorot_uniform, Layer, ShapeError};
use crate::kernels::activation::activation_backward;
use crate::kernels::bias::{bias_activation_forward, bias_grad};
use crate::kernels::conv2d::{conv2d_backward_input, conv2d_backward_kernel, conv2d_forward, Conv2dGeometry};
use crate::kernels::{Activation, Padding};
use crate::rng::Rng;

pub struct Conv2d {
    geometry: Conv2dGeometry,
    input: [usize; 3],
    output: [usize; 3],
    activation: Activation,
    /// im2col scratch for one sample, reused by every call.
    cols: Vec<f32>,
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
        let out_h = padding.output_and_pad_before(h, kernel[0], 1);
        let out_w = padding.output_and_pad_before(w, kernel[1], 1);
        let (Some((out_h, _)), Some((out_w, _))) = (out_h, out_w) else {
            return Err(ShapeError(format!(
                "Conv2D: a {}×{} kernel with 'valid' padding does not fit a {h}×{w} input",
                kernel[0], kernel[1]
            )));
        };
        let geometry = Conv2dGeometry {
            in_h: h,
            in_w: w,
            in_c: c,
            kernel_h: kernel[0],
            kernel_w: kernel[1],
            out_c: filters,
            padding,
        };
        Ok(Conv2d { geometry, input: [h, w, c], output: [out_h, out_w, filters], activation, cols: Vec::new() })
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

    fn prepare(&mut self, _batch: usize) {
        let needed = self.geometry.cols_len();
        if self.cols.len() != needed {
            self.cols.resize(needed, 0.0);
        }
    }

    fn forward(&mut self, batch: usize, params: &[f32], x: &[f32], y: &mut [f32]) {
        self.prepare(batch);
        let g = self.geometry;
        let (kernel, bias) = params.split_at(g.kernel_len());
        conv2d_forward(&g, batch, x, kernel, y, &mut self.cols);
        bias_activation_forward(batch * g.out_h() * g.out_w(), g.out_c, y, bias, self.activation);
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
        self.prepare(batch);
        let g = self.geometry;
        activation_backward(self.activation, y, dy);
        let (dkernel, dbias) = grads.split_at_mut(g.kernel_len());
        conv2d_backward_kernel(&g, batch, x, dy, dkernel, &mut self.cols);
        bias_grad(batch * g.out_h() * g.out_w(), g.out_c, dy, dbias);
        if let Some(dx) = dx {
            conv2d_backward_input(&g, batch, dy, &params[..g.kernel_len()], dx, &mut self.cols);
        }
    }
}
