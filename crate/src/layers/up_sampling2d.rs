//! UpSampling2D, nearest neighbour (Keras's default interpolation).

use super::{image_shape, Layer, ShapeError};
use crate::kernels::upsample2d::{upsample2d_backward, upsample2d_forward};

pub struct UpSampling2d {
    input: [usize; 3],
    output: [usize; 3],
    size: [usize; 2],
}

impl UpSampling2d {
    pub fn new(input_shape: &[usize], size: [usize; 2]) -> Result<Self, ShapeError> {
        let [h, w, c] = image_shape("UpSampling2D", input_shape)?;
        super::positive("UpSampling2D", "size", &size)?;
        Ok(UpSampling2d { input: [h, w, c], output: [h * size[0], w * size[1], c], size })
    }
}

impl Layer for UpSampling2d {
    fn kind(&self) -> &'static str {
        "UpSampling2D"
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

    fn forward(&mut self, batch: usize, _params: &[f32], x: &[f32], y: &mut [f32]) {
        let [h, w, c] = self.input;
        upsample2d_forward(batch, h, w, c, self.size[0], self.size[1], x, y);
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
            let [h, w, c] = self.input;
            upsample2d_backward(batch, h, w, c, self.size[0], self.size[1], dy, dx);
        }
    }
}
