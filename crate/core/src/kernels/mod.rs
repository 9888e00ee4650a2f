//! Kernels: pure functions over `f32` slices, NHWC layout, no allocation.
//!
//! Every kernel `foo` has a naive scalar `foo_reference` beside it (the definition we
//! test against) and a fast path, written once over the vectors of [`simd`]: `v128` on
//! `wasm32` with `simd128`, plain arrays elsewhere. Tests compare the two with
//! [`crate::testing`] helpers, natively and as wasm.
//!
//! Shapes are passed explicitly; every kernel asserts that slice lengths match. Window
//! geometries (Conv2D, pooling) exist only through their fallible constructors, which the
//! layers call to validate, so kernels never see a window that does not fit.

pub mod activation;
pub mod adam;
pub mod bias;
pub mod conv2d;
pub mod finite;
pub mod gemm;
pub mod loss;
pub mod pool2d;
pub mod simd;
pub mod upsample2d;

pub use activation::Activation;

use std::fmt;

/// Keras padding modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Padding {
    /// Output `ceil(in / stride)`; the padding is split with the extra row/column at the bottom/right.
    Same,
    /// Output `floor((in - window) / stride) + 1`; no padding.
    Valid,
}

impl Padding {
    /// Output length and padding before the first element along one axis, exactly as Keras/TF compute it.
    /// Returns `None` when the window does not fit ('valid' with `window > input`).
    pub fn output_and_pad_before(self, input: usize, window: usize, stride: usize) -> Option<(usize, usize)> {
        match self {
            Padding::Valid => {
                if window > input {
                    None
                } else {
                    Some(((input - window) / stride + 1, 0))
                }
            }
            Padding::Same => {
                let out = input.div_ceil(stride);
                let needed = (out - 1) * stride + window;
                let total = needed.saturating_sub(input);
                Some((out, total / 2))
            }
        }
    }
}

/// Why a window (a Conv2D kernel, a pooling window) cannot slide over an image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GeometryError {
    /// 'valid' padding with a window taller or wider than the input.
    DoesNotFit { what: &'static str, window: [usize; 2], input: [usize; 2] },
    /// A window size, stride or input size of zero.
    Empty { what: &'static str, window: [usize; 2], stride: [usize; 2], input: [usize; 2] },
}

impl fmt::Display for GeometryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            GeometryError::DoesNotFit { what, window: [wh, ww], input: [h, w] } => {
                write!(f, "a {wh}×{ww} {what} with 'valid' padding does not fit a {h}×{w} input")
            }
            GeometryError::Empty { what, window: [wh, ww], stride: [sh, sw], input: [h, w] } => write!(
                f,
                "{what} size, strides and input size must be positive, got a {wh}×{ww} {what} with strides {sh}×{sw} over a {h}×{w} input"
            ),
        }
    }
}

impl std::error::Error for GeometryError {}

/// A window sliding over an image: its output size and the padding before the first
/// row and column, computed once by [`Window2d::new`], which refuses windows that do not fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Window2d {
    /// (out_h, out_w).
    pub out: [usize; 2],
    /// (pad_top, pad_left).
    pub pad_before: [usize; 2],
}

impl Window2d {
    /// `what` names the window in the error ("kernel", "pool").
    pub fn new(
        what: &'static str,
        padding: Padding,
        input: [usize; 2],
        window: [usize; 2],
        stride: [usize; 2],
    ) -> Result<Window2d, GeometryError> {
        if input.contains(&0) || window.contains(&0) || stride.contains(&0) {
            return Err(GeometryError::Empty { what, window, stride, input });
        }
        let axis = |i: usize| padding.output_and_pad_before(input[i], window[i], stride[i]);
        match (axis(0), axis(1)) {
            (Some((out_h, pad_top)), Some((out_w, pad_left))) => {
                Ok(Window2d { out: [out_h, out_w], pad_before: [pad_top, pad_left] })
            }
            _ => Err(GeometryError::DoesNotFit { what, window, input }),
        }
    }
}
