//! Bias add (fused with the activation) and its gradient. `y` is `rows × cols` row-major,
//! one bias per column (per output unit, or per channel in NHWC).

use super::activation::{activation_forward_reference, forward_with_bias, Activation};

/// y[r, c] = act(y[r, c] + bias[c]), in one pass over y.
pub fn bias_activation_forward(rows: usize, cols: usize, y: &mut [f32], bias: &[f32], act: Activation) {
    assert_eq!(y.len(), rows * cols, "bias_activation_forward: y is not rows×cols");
    assert_eq!(bias.len(), cols, "bias_activation_forward: bias is not cols long");
    if cols > 0 {
        forward_with_bias(act, y, bias);
    }
}

/// The definition: add, then the reference activation.
pub fn bias_activation_forward_reference(rows: usize, cols: usize, y: &mut [f32], bias: &[f32], act: Activation) {
    assert_eq!(y.len(), rows * cols);
    assert_eq!(bias.len(), cols);
    for row in y.chunks_exact_mut(cols.max(1)) {
        for (v, &b) in row.iter_mut().zip(bias) {
            *v += b;
        }
    }
    activation_forward_reference(act, y);
}

/// dbias[c] = Σ_r dy[r, c] (overwrites dbias).
pub fn bias_grad(rows: usize, cols: usize, dy: &[f32], dbias: &mut [f32]) {
    assert_eq!(dy.len(), rows * cols, "bias_grad: dy is not rows×cols");
    assert_eq!(dbias.len(), cols, "bias_grad: dbias is not cols long");
    imp::column_sums(rows, cols, dy, dbias);
}

/// The definition, summed in f64.
pub fn bias_grad_reference(rows: usize, cols: usize, dy: &[f32], dbias: &mut [f32]) {
    assert_eq!(dy.len(), rows * cols);
    assert_eq!(dbias.len(), cols);
    for (c, db) in dbias.iter_mut().enumerate() {
        *db = (0..rows).map(|r| dy[r * cols + c] as f64).sum::<f64>() as f32;
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod imp {
    use core::arch::wasm32::*;

    /// 16 columns at a time held in 4 vectors down all rows (one store per column instead
    /// of one per row); leftover columns one by one.
    pub fn column_sums(rows: usize, cols: usize, dy: &[f32], dbias: &mut [f32]) {
        const W: usize = 16;
        let mut c0 = 0;
        while c0 + W <= cols {
            let mut acc = [f32x4_splat(0.0); W / 4];
            for r in 0..rows {
                let src = &dy[r * cols + c0..][..W];
                for (v, acc) in acc.iter_mut().enumerate() {
                    // SAFETY: src has W = 4·(W/4) elements.
                    *acc = f32x4_add(*acc, unsafe { v128_load(src.as_ptr().add(4 * v) as *const v128) });
                }
            }
            let dst = &mut dbias[c0..][..W];
            for (v, acc) in acc.iter().enumerate() {
                // SAFETY: as above.
                unsafe { v128_store(dst.as_mut_ptr().add(4 * v) as *mut v128, *acc) };
            }
            c0 += W;
        }
        for c in c0..cols {
            dbias[c] = (0..rows).map(|r| dy[r * cols + c]).sum();
        }
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod imp {
    /// Row by row into dbias: contiguous, so it vectorizes.
    pub fn column_sums(_rows: usize, cols: usize, dy: &[f32], dbias: &mut [f32]) {
        dbias.fill(0.0);
        for row in dy.chunks_exact(cols.max(1)) {
            for (d, &g) in dbias.iter_mut().zip(row) {
                *d += g;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::activation::{activation_backward, activation_backward_reference};
    use crate::testing::{assert_close, helper_test_op, random_vec, wasm_bindgen_test, Backward, Tolerance};

    const TOL: Tolerance = Tolerance::new(1e-6, 2e-6);

    #[allow(clippy::type_complexity)]
    fn check(rows: usize, cols: usize, act: Activation) {
        // Offsets away from zero so relu's kink is not inside a finite-difference step.
        let y = random_vec(rows as u64 * 31 + cols as u64, rows * cols, -2.0, 2.0);
        let bias: Vec<f32> = random_vec(cols as u64, cols, -0.5, 0.5).iter().map(|b| (b * 100.0).round() / 100.0 + 0.005).collect();
        let y: Vec<f32> = y.iter().map(|v| (v * 100.0).round() / 100.0).collect();
        let fwd = |f: fn(usize, usize, &mut [f32], &[f32], Activation)| {
            move |xs: &[&[f32]], out: &mut [f32]| {
                out.copy_from_slice(xs[0]);
                f(rows, cols, out, xs[1], act);
            }
        };
        let bwd = |f: fn(usize, usize, &mut [f32], &[f32], Activation),
                   ab: fn(Activation, &[f32], &mut [f32]),
                   bg: fn(usize, usize, &[f32], &mut [f32])| {
            move |xs: &[&[f32]], dy: &[f32], g: &mut [Vec<f32>]| {
                let mut out = xs[0].to_vec();
                f(rows, cols, &mut out, xs[1], act);
                g[0].copy_from_slice(dy);
                ab(act, &out, &mut g[0]);
                let (dz, db) = g.split_at_mut(1);
                bg(rows, cols, &dz[0], &mut db[0]);
            }
        };
        let bf = bwd(bias_activation_forward, activation_backward, bias_grad);
        let br = bwd(bias_activation_forward_reference, activation_backward_reference, bias_grad_reference);
        let bw = Backward { wrt: &[0, 1], fast: &bf, reference: &br, tol: Tolerance::new(1e-5, 1e-5), eps: 1e-3, numeric_tol: Tolerance::new(3e-3, 3e-3) };
        let name = format!("bias+{act:?} {rows}x{cols}");
        helper_test_op(&name, &[y, bias], rows * cols, &fwd(bias_activation_forward), &fwd(bias_activation_forward_reference), TOL, Some(bw));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn fused_forward_and_gradients() {
        for act in [Activation::Linear, Activation::Relu, Activation::Sigmoid, Activation::Tanh] {
            for &(rows, cols) in &[(1, 1), (3, 5), (2, 16), (4, 17), (5, 35)] {
                check(rows, cols, act);
            }
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn bias_grad_large_matches_reference() {
        for &(rows, cols) in &[(0, 3), (256, 64), (256, 784), (7, 33), (100, 1)] {
            let dy = random_vec(9, rows * cols, -1.0, 1.0);
            let (mut fast, mut reference) = (vec![f32::NAN; cols], vec![0.0; cols]);
            bias_grad(rows, cols, &dy, &mut fast);
            bias_grad_reference(rows, cols, &dy, &mut reference);
            assert_close(&format!("bias_grad {rows}x{cols}"), &fast, &reference, Tolerance::new(1e-5 * (rows as f64).sqrt(), 1e-5));
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn known_values() {
        let mut y = vec![1.0, -2.0, 3.0, -4.0];
        bias_activation_forward(2, 2, &mut y, &[0.5, 1.0], Activation::Relu);
        assert_eq!(y, vec![1.5, 0.0, 3.5, 0.0]);
        let mut db = vec![9.0; 2];
        bias_grad(2, 2, &[1.0, 2.0, 3.0, 4.0], &mut db);
        assert_eq!(db, vec![4.0, 6.0]);
    }
}
