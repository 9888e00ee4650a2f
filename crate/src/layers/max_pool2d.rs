//! MaxPooling2D with Keras 'same'/'valid' padding; the gradient flows to each window's arg-max.

use super::{image_shape, Layer, ShapeError};
use crate::kernels::pool2d::{max_pool2d_backward, max_pool2d_forward, Pool2dGeometry};
use crate::kernels::Padding;
use crate::parallel::{block, parallel_for, tasks_for, Disjoint};

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

    /// Image blocks (one with one thread): each window lies inside one image, so blocks
    /// write disjoint parts of y, argmax and dx, and nothing is reduced.
    fn forward(&mut self, batch: usize, _params: &[f32], x: &[f32], y: &mut [f32]) {
        self.prepare(batch);
        let g = &self.geometry;
        let (il, ol) = (g.input_len(), g.output_len());
        let tasks = tasks_for(batch, 2);
        let (y, argmax) = (Disjoint::new(y), Disjoint::new(&mut self.argmax[..batch * ol]));
        parallel_for(tasks, |t, _| {
            let images = block(batch, tasks, t);
            let outputs = images.start * ol..images.end * ol;
            // SAFETY: image blocks are disjoint.
            let (yb, ab) = unsafe { (y.part(outputs.clone()), argmax.part(outputs)) };
            max_pool2d_forward(g, images.len(), &x[images.start * il..images.end * il], yb, ab);
        });
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
        let Some(dx) = dx else { return };
        let g = &self.geometry;
        let (il, ol) = (g.input_len(), g.output_len());
        let tasks = tasks_for(batch, 2);
        let dx = Disjoint::new(dx);
        parallel_for(tasks, |t, _| {
            let images = block(batch, tasks, t);
            let outputs = images.start * ol..images.end * ol;
            // SAFETY: image blocks are disjoint.
            let dxb = unsafe { dx.part(images.start * il..images.end * il) };
            max_pool2d_backward(g, images.len(), &dy[outputs.clone()], &self.argmax[outputs], dxb);
        });
    }
}
