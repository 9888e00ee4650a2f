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
    vector::column_sums(rows, cols, dy, dbias, false);
}

/// dbias[c] += Σ_r dy[r, c]: [`bias_grad`] added to what dbias holds (a batch summed
/// sample by sample).
pub fn bias_grad_accumulate(rows: usize, cols: usize, dy: &[f32], dbias: &mut [f32]) {
    assert_eq!(dy.len(), rows * cols, "bias_grad_accumulate: dy is not rows×cols");
    assert_eq!(dbias.len(), cols, "bias_grad_accumulate: dbias is not cols long");
    vector::column_sums(rows, cols, dy, dbias, true);
}

/// dy ← act'(y)·dy, then dbias[c] += Σ_r dy[r, c]: [`activation_backward`] and
/// [`bias_grad_accumulate`] in one pass over dy (the same results: each element's slope,
/// then the same column sums in the same order). With a column count that is a multiple
/// of 4 (channels per pixel of a Conv2D), each dy vector is scaled and summed while
/// loaded; otherwise the two passes.
///
/// [`activation_backward`]: super::activation::activation_backward
pub fn activation_backward_bias_grad_accumulate(
    act: Activation,
    rows: usize,
    cols: usize,
    y: &[f32],
    dy: &mut [f32],
    dbias: &mut [f32],
) {
    assert_eq!(dy.len(), rows * cols, "activation_backward_bias_grad_accumulate: dy is not rows×cols");
    assert_eq!(y.len(), dy.len(), "activation_backward_bias_grad_accumulate: y and dy lengths differ");
    assert_eq!(dbias.len(), cols, "activation_backward_bias_grad_accumulate: dbias is not cols long");
    if cols.is_multiple_of(4) && act != Activation::Linear {
        vector::scaled_column_sums(act, rows, cols, y, dy, dbias);
        return;
    }
    super::activation::activation_backward(act, y, dy);
    vector::column_sums(rows, cols, dy, dbias, true);
}

/// The definition, summed in f64.
pub fn bias_grad_reference(rows: usize, cols: usize, dy: &[f32], dbias: &mut [f32]) {
    assert_eq!(dy.len(), rows * cols);
    assert_eq!(dbias.len(), cols);
    for (c, db) in dbias.iter_mut().enumerate() {
        *db = (0..rows).map(|r| dy[r * cols + c] as f64).sum::<f64>() as f32;
    }
}

/// The kernels, over [`V4`].
mod vector {
    use super::super::activation::{with_slope, Activation, SlopeUser};
    use crate::kernels::simd::{vector_period, V4};

    /// Column blocks of up to 32 (8 vectors) summed down all rows in one sweep each, so a
    /// row of up to 32 channels is read once. A column count that is not a multiple of 4
    /// (one channel, three, ...) instead sums dy as a flat array against the smallest
    /// whole-row period that is a multiple of 4, then folds the period's lanes into columns.
    pub fn column_sums(rows: usize, cols: usize, dy: &[f32], dbias: &mut [f32], accumulate: bool) {
        if cols == 0 {
            return;
        }
        if !cols.is_multiple_of(4) {
            let period = vector_period(cols);
            if period <= 4 * MAXV {
                if !accumulate {
                    dbias.fill(0.0);
                }
                periodic_sums(rows, cols, period, dy, dbias);
                return;
            }
        }
        let mut c0 = 0;
        while c0 + 4 <= cols {
            let v = ((cols - c0) / 4).min(MAXV);
            match v {
                8 => block::<8>(rows, cols, c0, dy, dbias, accumulate),
                7 => block::<7>(rows, cols, c0, dy, dbias, accumulate),
                6 => block::<6>(rows, cols, c0, dy, dbias, accumulate),
                5 => block::<5>(rows, cols, c0, dy, dbias, accumulate),
                4 => block::<4>(rows, cols, c0, dy, dbias, accumulate),
                3 => block::<3>(rows, cols, c0, dy, dbias, accumulate),
                2 => block::<2>(rows, cols, c0, dy, dbias, accumulate),
                _ => block::<1>(rows, cols, c0, dy, dbias, accumulate),
            }
            c0 += 4 * v;
        }
        for c in c0..cols {
            let sum: f32 = (0..rows).map(|r| dy[r * cols + c]).sum();
            dbias[c] = if accumulate { dbias[c] + sum } else { sum };
        }
    }

    const MAXV: usize = 8;

    /// dbias[c0..c0+4V] (+)= column sums, V vectors down all rows.
    #[inline(always)]
    fn block<const V: usize>(rows: usize, cols: usize, c0: usize, dy: &[f32], dbias: &mut [f32], accumulate: bool) {
        assert!(rows == 0 || (rows - 1) * cols + c0 + 4 * V <= dy.len());
        // SAFETY: the assert above bounds every read.
        unsafe { sweep::<V>(rows, cols, c0, dy.as_ptr(), |_, d| d, dbias, accumulate) }
    }

    /// The column sweep of [`block`], each dy vector (at element offset o) first mapped
    /// by `map(o, d)`.
    ///
    /// # Safety
    /// Rows r < rows of `dy` must have floats c0..c0+4V readable at r·cols, and `map`
    /// must accept those offsets.
    #[inline(always)]
    unsafe fn sweep<const V: usize>(
        rows: usize,
        cols: usize,
        c0: usize,
        dy: *const f32,
        map: impl Fn(usize, V4) -> V4,
        dbias: &mut [f32],
        accumulate: bool,
    ) {
        assert!(c0 + 4 * V <= dbias.len());
        let mut acc = [V4::zero(); V];
        let mut o = c0;
        for _ in 0..rows {
            for (v, acc) in acc.iter_mut().enumerate() {
                *acc = acc.add(map(o + 4 * v, V4::load(dy.add(o + 4 * v))));
            }
            o += cols;
        }
        for (v, acc) in acc.iter().enumerate() {
            let dst = dbias.as_mut_ptr().add(c0 + 4 * v);
            (if accumulate { V4::load(dst).add(*acc) } else { *acc }).store(dst);
        }
    }

    /// [`super::activation_backward_bias_grad_accumulate`] for cols a multiple of 4:
    /// column blocks as in [`column_sums`], each dy vector replaced by its slope as it is
    /// summed.
    pub fn scaled_column_sums(act: Activation, rows: usize, cols: usize, y: &[f32], dy: &mut [f32], dbias: &mut [f32]) {
        struct Sums<'a> {
            rows: usize,
            cols: usize,
            y: &'a [f32],
            dy: &'a mut [f32],
            dbias: &'a mut [f32],
        }
        impl SlopeUser<()> for Sums<'_> {
            fn call<F: Fn(V4, V4) -> V4>(self, slope: Option<F>) {
                let Sums { rows, cols, y, dy, dbias } = self;
                let Some(slope) = slope else { return column_sums(rows, cols, dy, dbias, true) };
                assert!(cols.is_multiple_of(4) && y.len() == rows * cols && dy.len() == rows * cols);
                let (yp, dp) = (y.as_ptr(), dy.as_mut_ptr());
                // Offsets o below rows·cols (sweep's rows and blocks): in y and dy.
                let map = |o: usize, d: V4| {
                    // SAFETY: o + 4 <= rows·cols, see above.
                    unsafe {
                        let g = slope(V4::load(yp.add(o)), d);
                        g.store(dp.add(o));
                        g
                    }
                };
                let mut c0 = 0;
                while c0 < cols {
                    let v = ((cols - c0) / 4).min(MAXV);
                    // SAFETY: row r, block c0..c0+4v is inside rows·cols.
                    unsafe {
                        match v {
                            8 => sweep::<8>(rows, cols, c0, dp, map, dbias, true),
                            7 => sweep::<7>(rows, cols, c0, dp, map, dbias, true),
                            6 => sweep::<6>(rows, cols, c0, dp, map, dbias, true),
                            5 => sweep::<5>(rows, cols, c0, dp, map, dbias, true),
                            4 => sweep::<4>(rows, cols, c0, dp, map, dbias, true),
                            3 => sweep::<3>(rows, cols, c0, dp, map, dbias, true),
                            2 => sweep::<2>(rows, cols, c0, dp, map, dbias, true),
                            _ => sweep::<1>(rows, cols, c0, dp, map, dbias, true),
                        }
                    }
                    c0 += 4 * v;
                }
            }
        }
        with_slope(act, Sums { rows, cols, y, dy, dbias });
    }

    /// cols not a multiple of 4: dy summed flat in `period`-long chunks (a whole number of
    /// rows, a multiple of 4 floats), lane i of the chunk sums added to column i mod cols.
    fn periodic_sums(rows: usize, cols: usize, period: usize, dy: &[f32], dbias: &mut [f32]) {
        let vecs = period / 4;
        let chunks = rows * cols / period;
        let mut acc = [V4::zero(); MAXV];
        // SAFETY: chunk k reads dy[k·period .. (k+1)·period] with (k+1)·period <= rows·cols.
        unsafe {
            let mut p = dy.as_ptr();
            for _ in 0..chunks {
                for (v, acc) in acc.iter_mut().enumerate().take(vecs) {
                    *acc = acc.add(V4::load(p.add(4 * v)));
                }
                p = p.add(period);
            }
        }
        let mut lanes = [0.0f32; 4 * MAXV];
        for (l, acc) in lanes.chunks_exact_mut(4).zip(&acc).take(vecs) {
            acc.write(l);
        }
        for (i, &l) in lanes[..period].iter().enumerate() {
            dbias[i % cols] += l;
        }
        // Rows after the last whole chunk.
        for (i, &g) in dy[chunks * period..rows * cols].iter().enumerate() {
            dbias[i % cols] += g;
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
        let bias: Vec<f32> =
            random_vec(cols as u64, cols, -0.5, 0.5).iter().map(|b| (b * 100.0).round() / 100.0 + 0.005).collect();
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
        let bw = Backward {
            wrt: &[0, 1],
            fast: &bf,
            reference: &br,
            tol: Tolerance::new(1e-5, 1e-5),
            eps: 1e-3,
            numeric_tol: Tolerance::new(3e-3, 3e-3),
        };
        let name = format!("bias+{act:?} {rows}x{cols}");
        helper_test_op(
            &name,
            &[y, bias],
            rows * cols,
            &fwd(bias_activation_forward),
            &fwd(bias_activation_forward_reference),
            TOL,
            Some(bw),
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn fused_forward_and_gradients() {
        for act in [Activation::Linear, Activation::Relu, Activation::Sigmoid, Activation::Tanh] {
            // Channel counts that are not multiples of 4 take the repeated-bias chunks when
            // there are enough rows: (100, 1), (70, 3), (33, 6), (41, 2).
            for &(rows, cols) in &[(1, 1), (3, 5), (2, 16), (4, 17), (5, 35), (100, 1), (70, 3), (33, 6), (41, 2)] {
                check(rows, cols, act);
            }
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn bias_grad_large_matches_reference() {
        for &(rows, cols) in &[
            (0, 3),
            (256, 64),
            (256, 784),
            (7, 33),
            (100, 1),
            (1001, 1),
            (333, 3),
            (99, 6),
            (50, 8),
            (40, 36),
            (30, 44),
        ] {
            let dy = random_vec(9, rows * cols, -1.0, 1.0);
            let (mut fast, mut reference) = (vec![f32::NAN; cols], vec![0.0; cols]);
            bias_grad(rows, cols, &dy, &mut fast);
            bias_grad_reference(rows, cols, &dy, &mut reference);
            assert_close(
                &format!("bias_grad {rows}x{cols}"),
                &fast,
                &reference,
                Tolerance::new(1e-5 * (rows as f64).sqrt(), 1e-5),
            );
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn bias_grad_accumulate_adds() {
        for &(rows, cols) in &[(0, 3), (256, 32), (100, 1), (333, 3), (30, 44), (50, 8)] {
            let dy = random_vec(11, rows * cols, -1.0, 1.0);
            let start = random_vec(12, cols, -1.0, 1.0);
            let mut fast = start.clone();
            bias_grad_accumulate(rows, cols, &dy, &mut fast);
            let mut reference = vec![0.0; cols];
            bias_grad_reference(rows, cols, &dy, &mut reference);
            for (r, s) in reference.iter_mut().zip(&start) {
                *r += s;
            }
            assert_close(
                &format!("bias_grad_accumulate {rows}x{cols}"),
                &fast,
                &reference,
                Tolerance::new(1e-5 * (rows as f64).sqrt(), 1e-5),
            );
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn fused_activation_backward_and_bias_grad_match_the_two_passes() {
        // Bit for bit: the same slope per element and the same column sums in the same
        // order. Column counts a multiple of 4 (one block, several, a short last block)
        // and not (the two-pass fallback).
        for act in [Activation::Linear, Activation::Relu, Activation::Sigmoid, Activation::Tanh] {
            for &(rows, cols) in &[(0, 8), (784, 32), (196, 8), (9, 36), (5, 4), (40, 44), (7, 3), (10, 1)] {
                let y = random_vec(13, rows * cols, -1.0, 1.0);
                let dy = random_vec(14, rows * cols, -1.0, 1.0);
                let start = random_vec(15, cols, -1.0, 1.0);
                let (mut dy_fused, mut db_fused) = (dy.clone(), start.clone());
                activation_backward_bias_grad_accumulate(act, rows, cols, &y, &mut dy_fused, &mut db_fused);
                let (mut dy_two, mut db_two) = (dy.clone(), start.clone());
                activation_backward(act, &y, &mut dy_two);
                bias_grad_accumulate(rows, cols, &dy_two, &mut db_two);
                assert_eq!(dy_fused, dy_two, "{act:?} {rows}x{cols}: dy");
                assert_eq!(db_fused, db_two, "{act:?} {rows}x{cols}: dbias");
                // And against the definitions.
                let mut dy_ref = dy.clone();
                activation_backward_reference(act, &y, &mut dy_ref);
                let mut db_ref = vec![0.0; cols];
                bias_grad_reference(rows, cols, &dy_ref, &mut db_ref);
                for (r, s) in db_ref.iter_mut().zip(&start) {
                    *r += s;
                }
                assert_close(
                    &format!("{act:?} {rows}x{cols}: dy vs reference"),
                    &dy_fused,
                    &dy_ref,
                    Tolerance::new(1e-6, 1e-5),
                );
                assert_close(
                    &format!("{act:?} {rows}x{cols}: dbias vs reference"),
                    &db_fused,
                    &db_ref,
                    Tolerance::new(1e-5 * (rows as f64).sqrt(), 1e-5),
                );
            }
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
