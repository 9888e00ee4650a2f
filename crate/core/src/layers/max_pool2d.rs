//! MaxPooling2D with Keras 'same'/'valid' padding; the gradient flows to each window's arg-max.

use super::{image_shape, BackwardPass, Layer, ShapeError};
use crate::kernels::pool2d::{max_pool2d_backward, max_pool2d_forward, Pool2dGeometry, WindowIndex};
use crate::kernels::Padding;
use crate::parallel::{block, for_each_sample_block, parallel_for, tasks_for, Disjoint};

pub struct MaxPooling2d {
    geometry: Pool2dGeometry,
    input: [usize; 3],
    output: [usize; 3],
    /// Where each output came from in the last forward pass; sized per batch.
    argmax: Argmax,
}

/// The window cell of each output's maximum: a byte when the window has at most 256
/// cells (a quarter of the memory traffic), else a u32.
enum Argmax {
    Byte(Vec<u8>),
    Word(Vec<u32>),
}

impl MaxPooling2d {
    pub fn new(
        input_shape: &[usize],
        pool: [usize; 2],
        strides: [usize; 2],
        padding: Padding,
    ) -> Result<Self, ShapeError> {
        let [h, w, c] = image_shape("MaxPooling2D", input_shape)?;
        super::positive("MaxPooling2D", "pool size and strides", &[pool[0], pool[1], strides[0], strides[1]])?;
        let geometry = Pool2dGeometry::new([h, w, c], pool, strides, padding)
            .map_err(|e| ShapeError(format!("MaxPooling2D: {e}")))?;
        let (out_h, out_w) = (geometry.out_h(), geometry.out_w());
        let argmax =
            if geometry.window_cells() <= u8::CELLS { Argmax::Byte(Vec::new()) } else { Argmax::Word(Vec::new()) };
        Ok(MaxPooling2d { geometry, input: [h, w, c], output: [out_h, out_w, c], argmax })
    }
}

impl MaxPooling2d {
    pub fn geometry(&self) -> Pool2dGeometry {
        self.geometry
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
        match &mut self.argmax {
            Argmax::Byte(a) => grow(a, needed),
            Argmax::Word(a) => grow(a, needed),
        }
    }

    fn forward(&mut self, batch: usize, _params: &[f32], x: &[f32], y: &mut [f32]) {
        self.prepare(batch);
        let g = &self.geometry;
        match &mut self.argmax {
            Argmax::Byte(a) => forward(g, batch, x, y, a),
            Argmax::Word(a) => forward(g, batch, x, y, a),
        }
    }

    fn backward(&mut self, batch: usize, _params: &[f32], pass: BackwardPass<'_>) {
        let BackwardPass { dy, dx, .. } = pass;
        let Some(dx) = dx else { return };
        let g = &self.geometry;
        match &self.argmax {
            Argmax::Byte(a) => backward(g, batch, dy, a, dx),
            Argmax::Word(a) => backward(g, batch, dy, a, dx),
        }
    }
}

fn grow<T: WindowIndex>(argmax: &mut Vec<T>, len: usize) {
    if argmax.len() < len {
        argmax.resize(len, T::default());
    }
}

/// Image blocks (one with one thread): each window lies inside one image, so blocks
/// write disjoint parts of y, argmax and dx, and nothing is reduced.
fn forward<T: WindowIndex>(g: &Pool2dGeometry, batch: usize, x: &[f32], y: &mut [f32], argmax: &mut [T]) {
    let (il, ol) = (g.input_len(), g.output_len());
    let tasks = tasks_for(batch, 2);
    let (y, argmax) = (Disjoint::new(y), Disjoint::new(&mut argmax[..batch * ol]));
    parallel_for(tasks, |t, _| {
        let images = block(batch, tasks, t);
        let outputs = images.start * ol..images.end * ol;
        // SAFETY: image blocks are disjoint.
        let (yb, ab) = unsafe { (y.part(outputs.clone()), argmax.part(outputs)) };
        max_pool2d_forward(g, images.len(), &x[images.start * il..images.end * il], yb, ab);
    });
}

fn backward<T: WindowIndex>(g: &Pool2dGeometry, batch: usize, dy: &[f32], argmax: &[T], dx: &mut [f32]) {
    let ol = g.output_len();
    for_each_sample_block(batch, 2, dx, g.input_len(), |images, dxb| {
        let outputs = images.start * ol..images.end * ol;
        max_pool2d_backward(g, images.len(), &dy[outputs.clone()], &argmax[outputs], dxb);
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::pool2d::{max_pool2d_backward_reference, max_pool2d_forward_reference};
    use crate::testing::{random_vec, wasm_bindgen_test};

    /// Both argmax types (a byte up to 256 window cells, a u32 beyond) give the
    /// definition's y and dx through the layer.
    #[wasm_bindgen_test(unsupported = test)]
    fn byte_and_word_indices_match_the_definition() {
        for (shape, pool, byte) in
            [([6, 5, 3], [2, 2], true), ([17, 17, 2], [16, 16], true), ([17, 17, 2], [17, 16], false)]
        {
            let mut layer = MaxPooling2d::new(&shape, pool, pool, Padding::Same).unwrap();
            assert_eq!(matches!(layer.argmax, Argmax::Byte(_)), byte);
            let (g, batch) = (layer.geometry, 3);
            let x = random_vec(1, batch * g.input_len(), -1.0, 1.0);
            let mut y = vec![f32::NAN; batch * g.output_len()];
            layer.forward(batch, &[], &x, &mut y);
            let (mut y_ref, mut idx) = (vec![0.0; y.len()], vec![0u32; y.len()]);
            max_pool2d_forward_reference(&g, batch, &x, &mut y_ref, &mut idx);
            assert_eq!(y, y_ref, "{shape:?} {pool:?}: y");
            let mut dy = random_vec(2, y.len(), -1.0, 1.0);
            let mut dx = vec![f32::NAN; x.len()];
            layer.backward(batch, &[], BackwardPass { x: &x, y: &y, dy: &mut dy, grads: &mut [], dx: Some(&mut dx) });
            let mut dx_ref = vec![0.0; x.len()];
            max_pool2d_backward_reference(&g, batch, &x, &dy, &mut dx_ref);
            assert_eq!(dx, dx_ref, "{shape:?} {pool:?}: dx");
        }
    }
}
