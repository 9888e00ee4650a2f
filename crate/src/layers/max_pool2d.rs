//! MaxPooling2D with Keras 'same'/'valid' padding; the gradient flows to each window's arg-max.

use super::{image_shape, Layer, ShapeError};
use crate::kernels::pool2d::{max_pool2d_backward, max_pool2d_forward, Pool2dGeometry};
use crate::kernels::Padding;

pub struct MaxPooling2d {
    geometry: Pool2dGeometry,
    input: [usize; 3],
    output: [usize; 3],
    /// Where each output came from in the last forward pass; sized per batch.
    argmax: Vec<u32>,
}

impl MaxPooling2d {
    pub fn new(input_shape: &[usize], pool: [usize; 2], strides: [usize; 2], padding: Padding) -> Result<Self, ShapeError> {
        let [h, w, c] = image_shape("MaxPooling2D", input_shape)?;
        super::positive("MaxPooling2D", "pool size and strides", &[pool[0], pool[1], strides[0], strides[1]])?;
        let out_h = padding.output_and_pad_before(h, pool[0], strides[0]);
        let out_w = padding.output_and_pad_before(w, pool[1], strides[1]);
        let (Some((out_h, _)), Some((out_w, _))) = (out_h, out_w) else {
            return Err(ShapeError(format!(
                "MaxPooling2D: a {}×{} pool with 'valid' padding does not fit a {h}×{w} input",
                pool[0], pool[1]
            )));
        };
        let geometry = Pool2dGeometry {
            in_h: h,
            in_w: w,
            channels: c,
            pool_h: pool[0],
            pool_w: pool[1],
            stride_h: strides[0],
            stride_w: strides[1],
            padding,
        };
        Ok(MaxPooling2d { geometry, input: [h, w, c], output: [out_h, out_w, c], argmax: Vec::new() })
    }
}

impl Layer for MaxPooling2d {
    fn kind(&self) -> &'static str {
        "MaxPooling2D"
    }
    fn input_shape(&self) -> &[usize] {
        &self.input
    }
    fn output_shape(&self) -> &[usize] {
        &self.output
    }
    fn param_shapes(&self) -> Vec<Vec<usize>> {
        Vec::new()
    }

    fn prepare(&mut self, batch: usize) {
        let needed = batch * self.geometry.output_len();
        if self.argmax.len() < needed {
            self.argmax.resize(needed, 0);
        }
    }

    fn forward(&mut self, batch: usize, _params: &[f32], x: &[f32], y: &mut [f32]) {
        self.prepare(batch);
        let n = batch * self.geometry.output_len();
        max_pool2d_forward(&self.geometry, batch, x, y, &mut self.argmax[..n]);
    }

    fn backward(
        &mut self,
        batch: usize,
        _params: &[f32],
        _x: &[f32],
        _y: &[f32],
        dy: &mut [f32],
        _grads: &mut [f32],
        dx: Option<&mut [f32]>,
    ) {
        if let Some(dx) = dx {
            let n = batch * self.geometry.output_len();
            max_pool2d_backward(&self.geometry, batch, dy, &self.argmax[..n], dx);
        }
    }
}
