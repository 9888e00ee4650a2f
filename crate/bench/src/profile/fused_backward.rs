//! The fused Conv2D backward against its four unfused calls (`run_profile` bit 16).

use super::*;
use crate::host::emit;
use wasm_autoencoders_core::kernels::activation::activation_backward;
use wasm_autoencoders_core::kernels::bias::bias_grad;
use wasm_autoencoders_core::kernels::conv2d::{
    conv2d_backward_input, conv2d_backward_kernel, Conv2dBackward, Conv2dGeometry, Conv2dGrads, Conv2dOp,
};
use wasm_autoencoders_core::kernels::{Activation, Padding};

/// The backward of the 16×16×8 → 32 'valid' layer, unfused (four calls) against
/// the plain [`Conv2dOp`]'s backward, alternately, 5 times each.
pub(crate) fn fused_ab() {
    let g = Conv2dGeometry::new([16, 16, 8], [3, 3], 32, Padding::Valid).unwrap();
    let x = random(3, BATCH * g.input_len(), 0.0, 1.0);
    let k = random(4, g.kernel_len(), -0.3, 0.3);
    let y = random(5, BATCH * g.output_len(), 0.0, 1.0);
    let dy0 = random(6, y.len(), -1.0, 1.0);
    let mut dy = dy0.clone();
    let (mut dk, mut db, mut dx) = (vec![0.0; g.kernel_len()], vec![0.0; 32], vec![0.0; x.len()]);
    let mut cols = vec![0.0; g.cols_len()];
    let rows = BATCH * g.out_h() * g.out_w();
    for _ in 0..5 {
        let t_u = time_median(3, || {
            dy.copy_from_slice(&dy0);
            activation_backward(Activation::Relu, &y, &mut dy);
            conv2d_backward_kernel(&g, BATCH, &x, &dy, &mut dk, &mut cols);
            bias_grad(rows, 32, &dy, &mut db);
            conv2d_backward_input(&g, BATCH, &dy, &k, &mut dx, &mut cols);
        });
        let t_f = time_median(3, || {
            dy.copy_from_slice(&dy0);
            let (grads, activation) = (Conv2dGrads { dkernel: &mut dk, dbias: &mut db }, Activation::Relu);
            let args = Conv2dBackward {
                x: &x,
                y: &y,
                dy: &mut dy,
                argmax: &[],
                kernel: &k,
                activation,
                grads,
                dx: Some(&mut dx),
                scratch: &mut cols,
            };
            Conv2dOp::Plain(g).backward(BATCH, args);
        });
        emit(&format!("16x16x8->32 valid backward: unfused {:.3} ms, fused {:.3} ms", t_u * 1e3, t_f * 1e3));
    }
}
