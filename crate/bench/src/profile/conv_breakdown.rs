//! Each Conv2D of the convolutional model split into its kernels (`run_profile` bit 8).

use super::*;
use crate::host::emit;
use wasm_autoencoders_core::kernels::activation::activation_backward;
use wasm_autoencoders_core::kernels::bias::{bias_activation_forward, bias_grad};
use wasm_autoencoders_core::kernels::conv2d::{conv2d_backward_input, conv2d_backward_kernel, conv2d_forward};
use wasm_autoencoders_core::kernels::conv2d::{Conv2dBackward, Conv2dForward, Conv2dGeometry, Conv2dGrads, Conv2dOp};
use wasm_autoencoders_core::kernels::{Activation, Padding};

/// Each Conv2D of the convolutional model, split into the kernels its layer calls.
pub(crate) fn conv_breakdown(reps: usize) {
    emit(&format!("== conv kernels per layer (batch {BATCH}, ms; GFLOP/s)"));
    emit(&format!(
        "{:<22} {:>13} {:>8} {:>8} {:>13} {:>8} {:>13} | {:>9} {:>9}",
        "geometry", "fwd(GF)", "bias+act", "act'", "dK(GF)", "db", "dX(GF)", "fused fwd", "fused bwd"
    ));
    let same = Padding::Same;
    // (in_h, in_w, in_c, out_c, padding, whether the layer needs dx): the convolutional model.
    let shapes = [
        (28, 28, 1, 32, same, false),
        (14, 14, 32, 8, same, true),
        (7, 7, 8, 8, same, true),
        (4, 4, 8, 8, same, true),
        (8, 8, 8, 8, same, true),
        (16, 16, 8, 32, Padding::Valid, true),
        (28, 28, 32, 1, same, true),
    ];
    let mut total = [0.0f64; 8];
    for &(h, w, ci, co, padding, need_dx) in &shapes {
        let g = Conv2dGeometry::new([h, w, ci], [3, 3], co, padding).unwrap();
        let x = random(3, BATCH * g.input_len(), 0.0, 1.0);
        let k = random(4, g.kernel_len(), -0.3, 0.3);
        let bias = random(5, co, -0.1, 0.1);
        let mut y = vec![0.0; BATCH * g.output_len()];
        let dy0 = random(6, y.len(), -1.0, 1.0);
        let mut dy = dy0.clone();
        let mut dk = vec![0.0; g.kernel_len()];
        let mut db = vec![0.0; co];
        let mut dx = vec![0.0; x.len()];
        let mut cols = vec![0.0; g.cols_len()];
        let rows = BATCH * g.out_h() * g.out_w();
        let t_f = time_median(reps, || conv2d_forward(&g, BATCH, &x, &k, &mut y, &mut cols));
        let t_ba = time_median(reps, || bias_activation_forward(rows, co, &mut y, &bias, Activation::Relu));
        let t_copy = time_median(reps, || dy.copy_from_slice(&dy0));
        let t_ab = time_median(reps, || {
            dy.copy_from_slice(&dy0);
            activation_backward(Activation::Relu, &y, &mut dy)
        }) - t_copy;
        let t_k = time_median(reps, || conv2d_backward_kernel(&g, BATCH, &x, &dy, &mut dk, &mut cols));
        let t_db = time_median(reps, || bias_grad(rows, co, &dy, &mut db));
        let t_x = if need_dx {
            time_median(reps, || conv2d_backward_input(&g, BATCH, &dy, &k, &mut dx, &mut cols))
        } else {
            0.0
        };
        let (op, activation) = (Conv2dOp::Plain(g), Activation::Relu);
        let (t_ff, t_fb) = (
            time_median(reps, || {
                let (y, scratch) = (&mut y[..], &mut cols[..]);
                op.forward(
                    BATCH,
                    Conv2dForward { x: &x, kernel: &k, bias: &bias, activation, y, argmax: &mut [], scratch },
                )
            }),
            time_median(reps, || {
                dy.copy_from_slice(&dy0);
                let dx = if need_dx { Some(&mut dx[..]) } else { None };
                let grads = Conv2dGrads { dkernel: &mut dk, dbias: &mut db };
                op.backward(
                    BATCH,
                    Conv2dBackward {
                        x: &x,
                        y: &y,
                        dy: &mut dy,
                        argmax: &[],
                        kernel: &k,
                        activation,
                        grads,
                        dx,
                        scratch: &mut cols,
                    },
                )
            }) - t_copy,
        );
        let fl = 2.0 * (BATCH * g.output_len() * 9 * ci) as f64;
        let gf = |t: f64| fl / t / 1e9;
        emit(&format!(
            "{:<22} {:>6.3}({:>5.1}) {:>8.3} {:>8.3} {:>6.3}({:>5.1}) {:>8.3} {:>6.3}({:>5.1}) | {:>9.3} {:>9.3}",
            format!("{h}x{w}x{ci}->{co} {:?}", padding),
            t_f * 1e3,
            gf(t_f),
            t_ba * 1e3,
            t_ab.max(0.0) * 1e3,
            t_k * 1e3,
            gf(t_k),
            t_db * 1e3,
            t_x * 1e3,
            gf(t_x),
            t_ff * 1e3,
            t_fb.max(0.0) * 1e3,
        ));
        for (s, t) in total.iter_mut().zip([t_f, t_ba, t_ab.max(0.0), t_k, t_db, t_x, t_ff, t_fb.max(0.0)]) {
            *s += t;
        }
    }
    let t: Vec<f64> = total.iter().map(|t| t * 1e3).collect();
    emit(&format!(
        "{:<22} {:>13.3} {:>8.3} {:>8.3} {:>13.3} {:>8.3} {:>13.3} | {:>9.3} {:>9.3}",
        "total", t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7]
    ));
    emit(&format!(
        "conv layers, unfused (as the layers call them now): {:.2} ms; fused entry points: {:.2} ms",
        t[..6].iter().sum::<f64>(),
        t[6] + t[7]
    ));
}
