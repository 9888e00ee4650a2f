//! Kernels: pure functions over `f32` slices, NHWC layout, no allocation.
//!
//! Every kernel `foo` has a naive scalar `foo_reference` beside it (the definition we
//! test against) and a fast path, written once over the vectors of [`simd`]: `v128` on
//! `wasm32` with `simd128`, plain arrays elsewhere. Tests compare the two with
//! [`crate::testing`] helpers, natively and as wasm.
//!
//! Shapes are passed explicitly; every kernel asserts (debug) that slice lengths match.
//! Callers (layers) validate shapes before calling, so kernels never see bad input.

pub mod activation;
pub mod adam;
pub mod bias;
pub mod conv2d;
pub mod gemm;
pub mod loss;
pub mod pool2d;
pub mod simd;
pub mod upsample2d;

pub use activation::Activation;

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

/// A window sliding over an image (a Conv2D kernel, a pooling window): its output length
/// and padding before the first element along the rows and the columns, as the layer
/// geometries report them. `what` starts the panic message when the window does not fit
/// ('valid' with a window larger than the input): "conv2d: kernel".
#[derive(Clone, Copy, Debug)]
pub(crate) struct Window2d {
    pub padding: Padding,
    pub input: [usize; 2],
    pub window: [usize; 2],
    pub stride: [usize; 2],
    pub what: &'static str,
}

impl Window2d {
    /// (out_h, pad_top).
    pub fn rows(&self) -> (usize, usize) {
        self.axis(0, "taller")
    }

    /// (out_w, pad_left).
    pub fn cols(&self) -> (usize, usize) {
        self.axis(1, "wider")
    }

    fn axis(&self, i: usize, larger: &str) -> (usize, usize) {
        let what = self.what;
        self.padding
            .output_and_pad_before(self.input[i], self.window[i], self.stride[i])
            .unwrap_or_else(|| panic!("{what} {larger} than the input ('valid')"))
    }
}
