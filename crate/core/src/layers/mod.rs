//! Layers: each knows its shapes, its parameters (Keras order and layout) and how to run
//! forward and backward by calling kernels. Parameters and their gradients live in flat
//! buffers owned by the model; a layer receives its own slice of each, so one optimizer
//! call updates every parameter and `get_weights` is a plain copy.

mod conv2d;
mod dense;
mod init;
mod max_pool2d;
mod up_sampling2d;

pub use conv2d::Conv2d;
pub use dense::Dense;
pub use max_pool2d::MaxPooling2d;
pub use up_sampling2d::UpSampling2d;

use crate::kernels::{Activation, Padding};
use crate::rng::Rng;
use std::fmt;

/// What a user asks for; `build` checks it against the incoming shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayerSpec {
    Dense { units: usize, activation: Activation },
    Conv2d { filters: usize, kernel: [usize; 2], padding: Padding, activation: Activation },
    MaxPooling2d { pool: [usize; 2], strides: [usize; 2], padding: Padding },
    UpSampling2d { size: [usize; 2] },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShapeError(pub String);

impl fmt::Display for ShapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The interface the model drives. Shapes are per sample (no batch axis).
pub trait Layer {
    fn kind(&self) -> &'static str;
    fn input_shape(&self) -> &[usize];
    fn output_shape(&self) -> &[usize];
    /// Shapes of the parameter tensors in Keras order (kernel, then bias); empty if none.
    fn param_shapes(&self) -> Vec<Vec<usize>>;
    fn param_count(&self) -> usize {
        self.param_shapes().iter().map(|s| s.iter().product::<usize>()).sum()
    }
    /// Keras defaults: Glorot-uniform kernel, zero bias.
    fn init_params(&self, _rng: &mut Rng, _params: &mut [f32]) {}
    /// Sizes the layer's own scratch for `batch` samples (allocates only when it grows).
    fn prepare(&mut self, _batch: usize) {}
    /// `y` = layer(`x`) for `batch` samples.
    fn forward(&mut self, batch: usize, params: &[f32], x: &[f32], y: &mut [f32]);
    /// The gradients of `batch` samples: see [`BackwardPass`].
    fn backward(&mut self, batch: usize, params: &[f32], pass: BackwardPass<'_>);
}

/// What a layer's backward reads and writes.
pub struct BackwardPass<'a> {
    /// The forward pass's input.
    pub x: &'a [f32],
    /// The forward pass's output.
    pub y: &'a [f32],
    /// ∂L/∂y, consumed: the layer may overwrite it.
    pub dy: &'a mut [f32],
    /// ∂L/∂params, overwritten (the layer's own slice, kernel then bias).
    pub grads: &'a mut [f32],
    /// ∂L/∂x, overwritten, when the layer before needs it.
    pub dx: Option<&'a mut [f32]>,
}

pub fn shape_len(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// Builds a layer for an input of `input_shape` (per sample), or says why it cannot.
pub fn build(spec: &LayerSpec, input_shape: &[usize]) -> Result<Box<dyn Layer>, ShapeError> {
    Ok(match *spec {
        LayerSpec::Dense { units, activation } => Box::new(Dense::new(input_shape, units, activation)?),
        LayerSpec::Conv2d { filters, kernel, padding, activation } => {
            Box::new(Conv2d::new(input_shape, filters, kernel, padding, activation)?)
        }
        LayerSpec::MaxPooling2d { pool, strides, padding } => {
            Box::new(MaxPooling2d::new(input_shape, pool, strides, padding)?)
        }
        LayerSpec::UpSampling2d { size } => Box::new(UpSampling2d::new(input_shape, size)?),
    })
}

/// Layers `first` then `second`, built for `input_shape`, as one layer that computes the
/// same function faster, when there is one: an UpSampling2D followed by a Conv2D becomes
/// the Conv2D reading the image before the upsampling (no upsampled tensor is made), and a
/// Conv2D followed by a MaxPooling2D one layer that pools each image's activation while
/// it is in cache.
pub fn fuse(first: &LayerSpec, second: &LayerSpec, input_shape: &[usize]) -> Option<Box<dyn Layer>> {
    match (*first, *second) {
        (LayerSpec::UpSampling2d { size }, LayerSpec::Conv2d { filters, kernel, padding, activation }) => {
            let upsampled = UpSampling2d::new(input_shape, size).ok()?;
            let conv = Conv2d::new(upsampled.output_shape(), filters, kernel, padding, activation).ok()?;
            Some(Box::new(conv.after_upsampling(size)?))
        }
        (
            LayerSpec::Conv2d { filters, kernel, padding, activation },
            LayerSpec::MaxPooling2d { pool, strides, padding: pool_padding },
        ) => {
            let conv = Conv2d::new(input_shape, filters, kernel, padding, activation).ok()?;
            let pooling = MaxPooling2d::new(conv.output_shape(), pool, strides, pool_padding).ok()?;
            Some(Box::new(conv.before_pooling(pooling.geometry())?))
        }
        _ => None,
    }
}

/// Image layers take `[height, width, channels]`.
fn image_shape(kind: &str, input_shape: &[usize]) -> Result<[usize; 3], ShapeError> {
    match input_shape {
        &[h, w, c] if h > 0 && w > 0 && c > 0 => Ok([h, w, c]),
        _ => {
            Err(ShapeError(format!("{kind} expects an input of shape [height, width, channels], got {input_shape:?}")))
        }
    }
}

fn positive(kind: &str, what: &str, values: &[usize]) -> Result<(), ShapeError> {
    if values.iter().all(|&v| v > 0) {
        Ok(())
    } else {
        Err(ShapeError(format!("{kind}: {what} must be positive integers, got {values:?}")))
    }
}

#[cfg(test)]
mod tests;
