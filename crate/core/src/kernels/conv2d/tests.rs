//! Every path of the fast kernels and the fused entry points against the references.

use super::*;
use crate::kernels::Activation;
use crate::testing::{assert_close, helper_test_op, random_vec, wasm_bindgen_test, Backward, Tolerance};

fn geom(
    in_h: usize,
    in_w: usize,
    in_c: usize,
    kernel: (usize, usize),
    out_c: usize,
    padding: Padding,
) -> Conv2dGeometry {
    Conv2dGeometry::new([in_h, in_w, in_c], [kernel.0, kernel.1], out_c, padding)
        .unwrap_or_else(|e| panic!("conv2d: {e}"))
}

/// The fused layer entry points against the unfused references: forward with bias and
/// activation, then the whole backward (dy consumed, dkernel, dbias, dx).
fn check_fused(g: Conv2dGeometry, batch: usize, x: &[f32], kernel: &[f32], seed: u64) {
    use crate::kernels::activation::{activation_backward_reference, activation_forward_reference};
    use crate::kernels::bias::bias_grad_reference;
    let act = [Activation::Relu, Activation::Tanh, Activation::Linear][(seed % 3) as usize];
    let bias = random_vec(seed + 3, g.out_c, -0.3, 0.3);
    let out_len = batch * g.output_len();
    let scratch = g.cols_len();
    let patch = (g.kernel_h * g.kernel_w * g.in_c) as f64;
    let reduce = (batch * g.out_h() * g.out_w()) as f64;
    let tol = Tolerance::new(2e-6 * patch.max(reduce).sqrt(), 1e-5);
    let name = format!("fused conv {g:?} batch {batch} {act:?}");

    let mut y = vec![f32::NAN; out_len];
    let op = Conv2dOp::Plain(g);
    let scratch_y = &mut vec![f32::NAN; scratch];
    op.forward(
        batch,
        Conv2dForward { x, kernel, bias: &bias, activation: act, y: &mut y, argmax: &mut [], scratch: scratch_y },
    );
    let mut y_ref = vec![0.0; out_len];
    conv2d_forward_reference(&g, batch, x, kernel, &mut y_ref);
    for (i, v) in y_ref.iter_mut().enumerate() {
        *v += bias[i % g.out_c.max(1)];
    }
    activation_forward_reference(act, &mut y_ref);
    assert_close(&format!("{name}: forward"), &y, &y_ref, tol);

    let dy0 = random_vec(seed + 4, out_len, -1.0, 1.0);
    for with_dx in [true, false] {
        let mut dy = dy0.clone();
        let (mut dk, mut db) = (vec![f32::NAN; g.kernel_len()], vec![f32::NAN; g.out_c]);
        let mut dx = vec![f32::NAN; x.len()];
        let dx_arg = if with_dx { Some(&mut dx[..]) } else { None };
        let (grads, scratch) = (Conv2dGrads { dkernel: &mut dk, dbias: &mut db }, &mut vec![f32::NAN; scratch]);
        op.backward(
            batch,
            Conv2dBackward {
                x,
                y: &y_ref,
                dy: &mut dy,
                argmax: &[],
                kernel,
                activation: act,
                grads,
                dx: dx_arg,
                scratch,
            },
        );
        let mut dy_ref = dy0.clone();
        activation_backward_reference(act, &y_ref, &mut dy_ref);
        let (mut dk_ref, mut db_ref, mut dx_ref) = (vec![0.0; g.kernel_len()], vec![0.0; g.out_c], vec![0.0; x.len()]);
        bias_grad_reference(batch * g.out_h() * g.out_w(), g.out_c, &dy_ref, &mut db_ref);
        conv2d_backward_kernel_reference(&g, batch, x, &dy_ref, &mut dk_ref);
        conv2d_backward_input_reference(&g, batch, &dy_ref, kernel, &mut dx_ref);
        assert_close(&format!("{name}: dy after the activation"), &dy, &dy_ref, Tolerance::new(1e-6, 1e-5));
        assert_close(&format!("{name}: dbias"), &db, &db_ref, tol);
        assert_close(&format!("{name}: dkernel"), &dk, &dk_ref, tol);
        if with_dx {
            assert_close(&format!("{name}: dx"), &dx, &dx_ref, tol);
        }
    }
}

/// Fast vs reference for forward and both gradients; finite differences when small.
fn check(g: Conv2dGeometry, batch: usize) {
    let seed = (g.input_len() * 7 + g.kernel_len()) as u64;
    let x = random_vec(seed, batch * g.input_len(), -1.0, 1.0);
    let kernel = random_vec(seed + 1, g.kernel_len(), -0.5, 0.5);
    let out_len = batch * g.output_len();
    // Scratch one element longer than needed: kernels must accept a larger buffer.
    let scratch = g.cols_len() + 1;
    let fwd = move |xs: &[&[f32]], out: &mut [f32]| {
        conv2d_forward(&g, batch, xs[0], xs[1], out, &mut vec![f32::NAN; scratch])
    };
    let fwd_ref = move |xs: &[&[f32]], out: &mut [f32]| conv2d_forward_reference(&g, batch, xs[0], xs[1], out);
    let bwd = move |xs: &[&[f32]], dy: &[f32], gr: &mut [Vec<f32>]| {
        let (dx, dk) = gr.split_at_mut(1);
        conv2d_backward_input(&g, batch, dy, xs[1], &mut dx[0], &mut vec![f32::NAN; scratch]);
        conv2d_backward_kernel(&g, batch, xs[0], dy, &mut dk[0], &mut vec![f32::NAN; scratch]);
    };
    let bwd_ref = move |xs: &[&[f32]], dy: &[f32], gr: &mut [Vec<f32>]| {
        let (dx, dk) = gr.split_at_mut(1);
        conv2d_backward_input_reference(&g, batch, dy, xs[1], &mut dx[0]);
        conv2d_backward_kernel_reference(&g, batch, xs[0], dy, &mut dk[0]);
    };
    let patch = (g.kernel_h * g.kernel_w * g.in_c) as f64;
    let reduce = (batch * g.out_h() * g.out_w()) as f64;
    let tol = Tolerance::new(2e-6 * patch.sqrt(), 1e-5);
    let small = x.len() + kernel.len() <= 600;
    let name = format!("conv {g:?} batch {batch}");
    check_fused(g, batch, &x, &kernel, seed);
    if small {
        let bw = Backward {
            wrt: &[0, 1],
            fast: &bwd,
            reference: &bwd_ref,
            tol: Tolerance::new(2e-6 * reduce.max(patch).sqrt(), 1e-5),
            eps: 1e-2,
            numeric_tol: Tolerance::new(2e-3, 2e-3),
        };
        helper_test_op(&name, &[x, kernel], out_len, &fwd, &fwd_ref, tol, Some(bw));
    } else {
        helper_test_op(&name, &[x.clone(), kernel.clone()], out_len, &fwd, &fwd_ref, tol, None);
        // Large shapes: gradients against the reference only (finite differences would take too long).
        let dy = random_vec(seed + 2, out_len, -1.0, 1.0);
        let mut fast = vec![vec![f32::NAN; x.len()], vec![f32::NAN; kernel.len()]];
        let mut reference = fast.clone();
        bwd(&[&x, &kernel], &dy, &mut fast);
        bwd_ref(&[&x, &kernel], &dy, &mut reference);
        let gtol = Tolerance::new(2e-6 * reduce.max(patch).sqrt(), 1e-5);
        assert_close(&format!("{name}: dx"), &fast[0], &reference[0], gtol);
        assert_close(&format!("{name}: dkernel"), &fast[1], &reference[1], gtol);
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn small_shapes_with_finite_differences() {
    for padding in [Padding::Same, Padding::Valid] {
        for kernel in [(3, 3), (1, 1), (2, 3)] {
            for &(in_c, out_c) in &[(1, 1), (1, 3), (3, 1), (3, 8), (8, 3)] {
                check(geom(5, 4, in_c, kernel, out_c, padding), 2);
            }
        }
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn layer_sized_shapes() {
    for padding in [Padding::Same, Padding::Valid] {
        for kernel in [(3, 3), (1, 1), (2, 3)] {
            for &(in_c, out_c) in &[(1, 32), (32, 8), (8, 1), (32, 32), (3, 8)] {
                check(geom(14, 13, in_c, kernel, out_c, padding), 2);
            }
        }
    }
    // The autoencoder's first and last layers on a full image.
    check(geom(28, 28, 1, (3, 3), 32, Padding::Same), 1);
    check(geom(28, 28, 32, (3, 3), 1, Padding::Same), 1);
}

#[wasm_bindgen_test(unsupported = test)]
fn every_path() {
    // Kernels too large for the direct path's packed buffer (im2col + GEMM instead),
    // channel counts that are not multiples of 8 (edge panels; the kernel gradient's
    // fallback), one output or input channel (dot products; per-channel kernel
    // gradient), wide and tall kernels, and a batch of 3 (frames reused).
    for padding in [Padding::Same, Padding::Valid] {
        check(geom(6, 5, 64, (3, 3), 32, padding), 1);
        check(geom(5, 7, 12, (1, 4), 1, padding), 3);
        check(geom(7, 5, 4, (4, 1), 13, padding), 3);
        check(geom(9, 9, 16, (3, 3), 16, padding), 3);
        check(geom(9, 6, 1, (3, 2), 24, padding), 2);
        check(geom(8, 8, 40, (3, 3), 2, padding), 2);
        // The 3-wide kernel gradient (below 8 output channels) over images shorter or
        // narrower than the kernel's reach: kernel rows with no source row, one column.
        check(geom(2, 5, 16, (3, 3), 3, Padding::Same), 2);
        check(geom(5, 3, 8, (3, 3), 1, padding), 3);
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn geometry() {
    let same = geom(28, 28, 1, (3, 3), 32, Padding::Same);
    assert_eq!((same.out_h(), same.out_w(), same.pad_top(), same.pad_left()), (28, 28, 1, 1));
    assert_eq!(
        (same.input_len(), same.output_len(), same.kernel_len(), same.cols_len()),
        (784, 784 * 32, 288, 784 * 9)
    );
    let valid = geom(7, 6, 2, (2, 3), 4, Padding::Valid);
    assert_eq!((valid.out_h(), valid.out_w(), valid.pad_top(), valid.pad_left()), (6, 4, 0, 0));
    // Keras 'same' with an even kernel pads the extra row/column after: 2 → 0 before, 1 after.
    let even = geom(5, 5, 1, (2, 2), 1, Padding::Same);
    assert_eq!((even.out_h(), even.pad_top()), (5, 0));
}

#[wasm_bindgen_test(unsupported = test)]
#[should_panic(expected = "conv2d: a 3×3 kernel with 'valid' padding does not fit a 5×2 input")]
fn valid_kernel_wider_than_the_input() {
    geom(5, 2, 1, (3, 3), 1, Padding::Valid).out_w();
}

#[wasm_bindgen_test(unsupported = test)]
fn hand_computed_3x3() {
    // x = [1 2 3; 4 5 6; 7 8 9]; kernel [0 1 0; 0 0 0; 0 0 2] (no flip: Keras correlates),
    // so y[i][j] = x[i-1][j] + 2·x[i+1][j+1], zero outside:
    //   row 0: 0 + 2·5 = 10, 0 + 2·6 = 12, 0 + 0 = 0
    //   row 1: 1 + 2·8 = 17, 2 + 2·9 = 20, 3 + 0 = 3
    //   row 2: 4, 5, 6 (the bottom kernel row is all padding)
    let x: Vec<f32> = (1..=9).map(|v| v as f32).collect();
    let kernel = [0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 2.0];
    let same = geom(3, 3, 1, (3, 3), 1, Padding::Same);
    let expected = [10.0, 12.0, 0.0, 17.0, 20.0, 3.0, 4.0, 5.0, 6.0];
    let (mut y, mut y_ref, mut cols) = ([0.0f32; 9], [0.0f32; 9], [0.0f32; 81]);
    conv2d_forward(&same, 1, &x, &kernel, &mut y, &mut cols);
    conv2d_forward_reference(&same, 1, &x, &kernel, &mut y_ref);
    assert_eq!(y, expected);
    assert_eq!(y_ref, expected);
    // 'valid': only the centre, 20.
    let valid = geom(3, 3, 1, (3, 3), 1, Padding::Valid);
    let mut y = [0.0f32];
    conv2d_forward(&valid, 1, &x, &kernel, &mut y, &mut cols);
    assert_eq!(y, [20.0]);
    // Kernel gradient with dy = 1 at the centre only: dK = the 3×3 window around it = x.
    let mut dk = [0.0f32; 9];
    conv2d_backward_kernel(&valid, 1, &x, &[1.0], &mut dk, &mut cols);
    assert_eq!(dk.to_vec(), x);
    // Input gradient with dy = 1 at the centre: dx = kernel.
    let mut dx = [9.0f32; 9];
    conv2d_backward_input(&valid, 1, &[1.0], &kernel, &mut dx, &mut cols);
    assert_eq!(dx, kernel);
}

/// UpSampling2D(`size`) then Conv2D through [`UpsampledConv2d`] against the two layers'
/// references in turn: forward and both gradients (and finite differences when small),
/// then with a bias and each activation the whole fused backward (dy, dbias, dkernel, dx).
fn check_upsampled(
    source: [usize; 3],
    size: [usize; 2],
    kernel: (usize, usize),
    out_c: usize,
    padding: Padding,
    batch: usize,
) {
    use crate::kernels::activation::{activation_backward_reference, activation_forward_reference};
    use crate::kernels::bias::bias_grad_reference;
    use crate::kernels::upsample2d::{upsample2d_backward_reference, upsample2d_forward_reference, Upsampling};
    let [h, w, c] = source;
    let g = geom(h * size[0], w * size[1], c, kernel, out_c, padding);
    let op = Conv2dOp::Upsampled(
        UpsampledConv2d::new(g, size).unwrap_or_else(|| panic!("no sub-pixel path for {g:?}, size {size:?}")),
    );
    let name = format!("upsampled conv {g:?} size {size:?} batch {batch}");
    let (src_len, up_len, out_len) = (batch * h * w * c, batch * g.input_len(), batch * g.output_len());
    let upsample = |x: &[f32]| {
        let mut u = vec![0.0; up_len];
        upsample2d_forward_reference(
            &Upsampling { batch, in_h: h, in_w: w, channels: c, size_h: size[0], size_w: size[1] },
            x,
            &mut u,
        );
        u
    };
    let upsample_grad = |du: &[f32]| {
        let mut dx = vec![0.0; src_len];
        upsample2d_backward_reference(
            &Upsampling { batch, in_h: h, in_w: w, channels: c, size_h: size[0], size_w: size[1] },
            du,
            &mut dx,
        );
        dx
    };
    // Scratch one element longer than needed, NaN-filled: nothing may read it unwritten.
    let scratch = || vec![f32::NAN; op.scratch_len() + 1];
    let zero_bias = vec![0.0; out_c];
    let fwd = |xs: &[&[f32]], out: &mut [f32]| {
        let (x, kernel, bias, activation) = (xs[0], xs[1], &zero_bias[..], Activation::Linear);
        op.forward(
            batch,
            Conv2dForward { x, kernel, bias, activation, y: out, argmax: &mut [], scratch: &mut scratch() },
        );
    };
    let fwd_ref = |xs: &[&[f32]], out: &mut [f32]| conv2d_forward_reference(&g, batch, &upsample(xs[0]), xs[1], out);
    let bwd = |xs: &[&[f32]], dy: &[f32], gr: &mut [Vec<f32>]| {
        let (dx, dk) = gr.split_at_mut(1);
        let (mut dy, y, mut db) = (dy.to_vec(), vec![0.0; dy.len()], vec![f32::NAN; out_c]);
        let (x, kernel, activation, grads) =
            (xs[0], xs[1], Activation::Linear, Conv2dGrads { dkernel: &mut dk[0], dbias: &mut db });
        op.backward(
            batch,
            Conv2dBackward {
                x,
                y: &y,
                dy: &mut dy,
                argmax: &[],
                kernel,
                activation,
                grads,
                dx: Some(&mut dx[0]),
                scratch: &mut scratch(),
            },
        );
    };
    let bwd_ref = |xs: &[&[f32]], dy: &[f32], gr: &mut [Vec<f32>]| {
        let (dx, dk) = gr.split_at_mut(1);
        conv2d_backward_kernel_reference(&g, batch, &upsample(xs[0]), dy, &mut dk[0]);
        let mut du = vec![0.0; up_len];
        conv2d_backward_input_reference(&g, batch, dy, xs[1], &mut du);
        dx[0].copy_from_slice(&upsample_grad(&du));
    };
    let seed = (src_len * 7 + g.kernel_len() + size[0] * 3 + size[1]) as u64;
    let x = random_vec(seed, src_len, -1.0, 1.0);
    let k = random_vec(seed + 1, g.kernel_len(), -0.5, 0.5);
    let terms = ((g.kernel_h * g.kernel_w * c * size[0] * size[1]) as f64)
        .max((batch * g.out_h() * g.out_w() * size[0] * size[1]) as f64);
    let tol = Tolerance::new(3e-6 * terms.sqrt(), 2e-5);
    let small = x.len() + k.len() <= 600;
    let bw = Backward {
        wrt: &[0, 1],
        fast: &bwd,
        reference: &bwd_ref,
        tol,
        eps: 1e-2,
        numeric_tol: Tolerance::new(2e-3, 2e-3),
    };
    helper_test_op(&name, &[x.clone(), k.clone()], out_len, &fwd, &fwd_ref, tol, small.then_some(bw));
    if !small {
        let dy = random_vec(seed + 2, out_len, -1.0, 1.0);
        let mut fast = vec![vec![f32::NAN; x.len()], vec![f32::NAN; k.len()]];
        let mut reference = fast.clone();
        bwd(&[&x, &k], &dy, &mut fast);
        bwd_ref(&[&x, &k], &dy, &mut reference);
        assert_close(&format!("{name}: dx"), &fast[0], &reference[0], tol);
        assert_close(&format!("{name}: dkernel"), &fast[1], &reference[1], tol);
    }

    // With a bias and an activation: applied as the kernels store (ReLU, linear) or after.
    let bias = random_vec(seed + 3, out_c, -0.3, 0.3);
    let dy0 = random_vec(seed + 4, out_len, -1.0, 1.0);
    for act in [Activation::Relu, Activation::Sigmoid, Activation::Tanh, Activation::Linear] {
        let name = format!("{name} {act:?}");
        let mut y = vec![f32::NAN; out_len];
        op.forward(
            batch,
            Conv2dForward {
                x: &x,
                kernel: &k,
                bias: &bias,
                activation: act,
                y: &mut y,
                argmax: &mut [],
                scratch: &mut scratch(),
            },
        );
        let mut y_ref = vec![0.0; out_len];
        fwd_ref(&[&x, &k], &mut y_ref);
        y_ref.iter_mut().enumerate().for_each(|(i, v)| *v += bias[i % out_c]);
        activation_forward_reference(act, &mut y_ref);
        assert_close(&format!("{name}: forward"), &y, &y_ref, tol);
        for with_dx in [true, false] {
            let (mut dy, mut dk, mut db, mut dx) =
                (dy0.clone(), vec![f32::NAN; k.len()], vec![f32::NAN; out_c], vec![f32::NAN; x.len()]);
            let (grads, dx_arg) = (Conv2dGrads { dkernel: &mut dk, dbias: &mut db }, with_dx.then_some(&mut dx[..]));
            let args = Conv2dBackward {
                x: &x,
                y: &y_ref,
                dy: &mut dy,
                argmax: &[],
                kernel: &k,
                activation: act,
                grads,
                dx: dx_arg,
                scratch: &mut scratch(),
            };
            op.backward(batch, args);
            let mut dy_ref = dy0.clone();
            activation_backward_reference(act, &y_ref, &mut dy_ref);
            let (mut db_ref, mut grads_ref) = (vec![0.0; out_c], vec![vec![0.0; x.len()], vec![0.0; k.len()]]);
            bias_grad_reference(batch * g.out_h() * g.out_w(), out_c, &dy_ref, &mut db_ref);
            bwd_ref(&[&x, &k], &dy_ref, &mut grads_ref);
            assert_close(&format!("{name}: dy after the activation"), &dy, &dy_ref, Tolerance::new(1e-6, 1e-5));
            assert_close(&format!("{name}: dbias"), &db, &db_ref, tol);
            assert_close(&format!("{name}: dkernel"), &dk, &grads_ref[1], tol);
            if with_dx {
                assert_close(&format!("{name}: dx"), &dx, &grads_ref[0], tol);
            }
        }
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn upsampled_small_shapes_with_finite_differences() {
    for padding in [Padding::Same, Padding::Valid] {
        // Odd and even kernels, square and mixed sizes (one to three classes per axis), one
        // and several channels (the kernel gradient's wide and narrow micro-kernels); a
        // size of 1 is a plain convolution.
        for &(size, kernel) in &[
            ([2, 2], (3, 3)),
            ([2, 2], (2, 2)),
            ([3, 2], (3, 3)),
            ([2, 3], (1, 4)),
            ([1, 1], (3, 3)),
            ([2, 2], (5, 3)),
        ] {
            for &(in_c, out_c) in &[(1, 8), (4, 1), (2, 8), (4, 3)] {
                check_upsampled([3, 4, in_c], size, kernel, out_c, padding, 2);
            }
        }
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn upsampled_autoencoder_layers() {
    // The convolutional autoencoder's decoder: UpSampling2D(2) into a 'valid' 3×3 conv, 8 → 32
    // channels on 8×8, and into the last 'same' 3×3 conv, 32 → 1 channel on 14×14; batches
    // longer than a chunk, with a partial chunk.
    check_upsampled([8, 8, 8], [2, 2], (3, 3), 32, Padding::Valid, 11);
    check_upsampled([14, 14, 32], [2, 2], (3, 3), 1, Padding::Same, 9);
    check_upsampled([4, 4, 8], [2, 2], (3, 3), 8, Padding::Same, 3);
}

#[wasm_bindgen_test(unsupported = test)]
fn upsampled_declines_what_the_direct_path_cannot_run() {
    // A kernel gradient with 3 output channels over runs of 2·3 floats has no micro-kernel
    // (out_c neither a multiple of 8 nor below 8 with kw·in_c a multiple of 4): the caller
    // must run the two layers unfused.
    assert!(UpsampledConv2d::new(geom(8, 8, 3, (3, 3), 3, Padding::Same), [2, 2]).is_none());
    // Sizes that do not divide the upsampled image are not an upsampled image.
    assert!(UpsampledConv2d::new(geom(9, 8, 4, (3, 3), 8, Padding::Same), [2, 2]).is_none());
    assert!(UpsampledConv2d::new(geom(8, 8, 4, (3, 3), 8, Padding::Same), [2, 2]).is_some());
}
