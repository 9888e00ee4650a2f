//! UpSampling2D, nearest neighbour (Keras's default interpolation).

use super::{image_shape, shape_len, BackwardPass, Layer, ShapeError};
use crate::kernels::upsample2d::{upsample2d_backward, upsample2d_forward, Upsampling};
use crate::parallel::for_each_sample_block;

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

    /// Image blocks (one with one thread) write disjoint parts of y and dx.
    fn forward(&mut self, batch: usize, _params: &[f32], x: &[f32], y: &mut [f32]) {
        let [h, w, c] = self.input;
        let [sh, sw] = self.size;
        let (il, ol) = (h * w * c, shape_len(&self.output));
        for_each_sample_block(batch, 2, y, ol, |images, yb| {
            upsample2d_forward(
                &Upsampling { batch: images.len(), in_h: h, in_w: w, channels: c, size_h: sh, size_w: sw },
                &x[images.start * il..images.end * il],
                yb,
            );
        });
    }

    fn backward(&mut self, batch: usize, _params: &[f32], pass: BackwardPass<'_>) {
        let BackwardPass { dy, dx, .. } = pass;
        let Some(dx) = dx else { return };
        let [h, w, c] = self.input;
        let [sh, sw] = self.size;
        let (il, ol) = (h * w * c, shape_len(&self.output));
        for_each_sample_block(batch, 2, dx, il, |images, dxb| {
            upsample2d_backward(
                &Upsampling { batch: images.len(), in_h: h, in_w: w, channels: c, size_h: sh, size_w: sw },
                &dy[images.start * ol..images.end * ol],
                dxb,
            );
        });
    }
}
