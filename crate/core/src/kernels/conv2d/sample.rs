//! One sample of a Conv2D layer, y = act(conv(x, K) + b): the forward and backward the
//! plain and pooled operations prepare once (the kernel packed) and run sample by sample,
//! and the bias-and-activation epilogue every operation applies around its convolution.

use super::{backward_input_sample, backward_kernel_sample, direct, forward_sample, Conv2dGeometry, Conv2dGrads};
use crate::kernels::activation::Activation;
use crate::kernels::bias::{activation_backward_bias_grad_accumulate, bias_activation_forward, bias_grad_accumulate};

/// The bias and activation around one sample's convolution (out_h·out_w pixels of out_c).
#[derive(Clone, Copy)]
pub(super) struct Epilogue {
    pixels: usize,
    out_c: usize,
    act: Activation,
}

impl Epilogue {
    pub fn new(g: &Conv2dGeometry, act: Activation) -> Self {
        Epilogue { pixels: g.out_h() * g.out_w(), out_c: g.out_c, act }
    }

    /// What the direct path's stores are to apply, while y is in registers: the bias and
    /// whether a ReLU follows, when they can do the whole epilogue (ReLU or no activation);
    /// else (None, false) and [`forward`](Self::forward) runs after the convolution.
    pub fn in_stores<'b>(&self, bias: &'b [f32]) -> (Option<&'b [f32]>, bool) {
        match self.act {
            Activation::Relu => (Some(bias), true),
            Activation::Linear => (Some(bias), false),
            _ => (None, false),
        }
    }

    /// After a sample's convolution, unless its stores did it: yb ← act(yb + bias).
    pub fn forward(&self, yb: &mut [f32], bias: &[f32]) {
        bias_activation_forward(self.pixels, self.out_c, yb, bias, self.act);
    }

    /// Before a sample's convolution backward: dyb ← act'(yb)·dyb (`yb` None: dyb already is
    /// the gradient before the activation) and dbias += Σ dyb.
    pub fn backward(&self, yb: Option<&[f32]>, dyb: &mut [f32], dbias: &mut [f32]) {
        match yb {
            Some(yb) => activation_backward_bias_grad_accumulate(self.act, self.pixels, self.out_c, yb, dyb, dbias),
            None => bias_grad_accumulate(self.pixels, self.out_c, dyb, dbias),
        }
    }
}

/// A Conv2D layer's forward, prepared once (the kernel packed) and run sample by sample.
pub(super) struct SampleForward<'a> {
    g: &'a Conv2dGeometry,
    kernel: &'a [f32],
    bias: &'a [f32],
    epilogue: Epilogue,
    plan: Option<direct::Plan>,
    /// The plan's stores apply the epilogue.
    done_by_stores: bool,
}

impl<'a> SampleForward<'a> {
    pub fn new(g: &'a Conv2dGeometry, kernel: &'a [f32], bias: &'a [f32], epilogue: Epilogue, scratch: usize) -> Self {
        let (store_bias, relu) = epilogue.in_stores(bias);
        let plan = direct::Plan::forward_epilogue(g, kernel, store_bias, relu, scratch);
        let done_by_stores = store_bias.is_some() && plan.is_some();
        SampleForward { g, kernel, bias, epilogue, plan, done_by_stores }
    }

    /// One sample: `yb` (overwritten) from `xb`.
    pub fn run(&self, xb: &[f32], yb: &mut [f32], cols: &mut [f32]) {
        forward_sample(self.g, self.plan.as_ref(), xb, self.kernel, yb, cols);
        if !self.done_by_stores {
            self.epilogue.forward(yb, self.bias);
        }
    }
}

/// A Conv2D layer's backward, prepared once and run sample by sample; each run adds its
/// sample's share to dkernel and dbias.
pub(super) struct SampleBackward<'a> {
    g: &'a Conv2dGeometry,
    kernel: &'a [f32],
    epilogue: Epilogue,
    grad: Option<direct::KernelGrad>,
    input: Option<direct::Plan>,
}

impl<'a> SampleBackward<'a> {
    pub fn new(g: &'a Conv2dGeometry, kernel: &'a [f32], epilogue: Epilogue, want_dx: bool, scratch: usize) -> Self {
        let grad = direct::KernelGrad::new(g, scratch);
        let input = if want_dx { direct::Plan::backward_input(g, kernel, scratch) } else { None };
        SampleBackward { g, kernel, epilogue, grad, input }
    }

    /// One sample: the epilogue's backward on dyb (see [`Epilogue::backward`]), then
    /// dkernel += ∂/∂K and dxb (overwritten).
    pub fn run(
        &self,
        xb: &[f32],
        yb: Option<&[f32]>,
        dyb: &mut [f32],
        grads: Conv2dGrads,
        dxb: Option<&mut [f32]>,
        cols: &mut [f32],
    ) {
        self.epilogue.backward(yb, dyb, grads.dbias);
        backward_kernel_sample(self.g, self.grad.as_ref(), xb, dyb, grads.dkernel, cols);
        if let Some(dxb) = dxb {
            backward_input_sample(self.g, self.input.as_ref(), dyb, self.kernel, dxb, cols);
        }
    }
}
