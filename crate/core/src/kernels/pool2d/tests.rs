use super::*;
use crate::rng::Rng;
use crate::testing::{helper_test_op, wasm_bindgen_test, Backward, Tolerance};

/// Distinct values 0.01 apart in random order: finite differences (eps 1e-3) never
/// change which element is the maximum.
fn distinct(seed: u64, len: usize) -> Vec<f32> {
    let mut v: Vec<f32> = (0..len).map(|i| i as f32 * 0.01 - len as f32 * 0.005).collect();
    let mut rng = Rng::new(seed);
    for i in (1..len).rev() {
        v.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
    }
    v
}

fn check(g: Pool2dGeometry, batch: usize) {
    check_with::<u8>(g, batch);
    check_with::<u32>(g, batch);
}

fn check_with<T: WindowIndex>(g: Pool2dGeometry, batch: usize) {
    let x = distinct(g.input_len() as u64, batch * g.input_len());
    let out_len = batch * g.output_len();
    let fwd = |f: fn(&Pool2dGeometry, usize, &[f32], &mut [f32], &mut [T])| {
        move |xs: &[&[f32]], out: &mut [f32]| {
            // Output: y then the argmax indices (exact small integers in f32).
            let (y, idx) = out.split_at_mut(out_len);
            let mut argmax = vec![T::from_cell(g.window_cells() - 1); out_len];
            f(&g, batch, xs[0], y, &mut argmax);
            for (o, &a) in idx.iter_mut().zip(&argmax) {
                *o = a.cell() as f32;
            }
        }
    };
    // Backward sees only the y half of dy: the index half has no gradient.
    let bf = move |xs: &[&[f32]], dy: &[f32], gr: &mut [Vec<f32>]| {
        let (mut y, mut argmax) = (vec![0.0; out_len], vec![T::default(); out_len]);
        max_pool2d_forward(&g, batch, xs[0], &mut y, &mut argmax);
        max_pool2d_backward(&g, batch, &dy[..out_len], &argmax, &mut gr[0]);
    };
    let br = move |xs: &[&[f32]], dy: &[f32], gr: &mut [Vec<f32>]| {
        max_pool2d_backward_reference(&g, batch, xs[0], &dy[..out_len], &mut gr[0])
    };
    let bw = Backward {
        wrt: &[0],
        fast: &bf,
        reference: &br,
        tol: Tolerance::EXACT,
        eps: 1e-3,
        numeric_tol: Tolerance::new(1e-3, 1e-3),
    };
    let name = format!("maxpool {g:?} batch {batch} {}", core::any::type_name::<T>());
    helper_test_op(
        &name,
        &[x],
        2 * out_len,
        &fwd(max_pool2d_forward::<T>),
        &fwd(max_pool2d_forward_reference::<T>),
        Tolerance::EXACT,
        Some(bw),
    );
}

/// dx[the element argmax[o] names] += dy[o], for every output: the definition of the
/// backward in terms of the indices.
fn scatter<T: WindowIndex>(g: &Pool2dGeometry, batch: usize, argmax: &[T], dy: &[f32]) -> Vec<f32> {
    let (out_h, out_w, ch) = (g.out_h(), g.out_w(), g.channels);
    let mut dx = vec![0.0f32; batch * g.input_len()];
    for (o, (&k, &d)) in argmax.iter().zip(dy).enumerate() {
        let (c, ow, oh, b) = (o % ch, o / ch % out_w, o / ch / out_w % out_h, o / ch / out_w / out_h);
        let ih = oh * g.stride_h + k.cell() / g.pool_w - g.pad_top();
        let iw = ow * g.stride_w + k.cell() % g.pool_w - g.pad_left();
        dx[((b * g.in_h + ih) * g.in_w + iw) * ch + c] += d;
    }
    dx
}

fn geom(
    in_h: usize,
    in_w: usize,
    channels: usize,
    pool: (usize, usize),
    stride: (usize, usize),
    padding: Padding,
) -> Pool2dGeometry {
    Pool2dGeometry::new([in_h, in_w, channels], [pool.0, pool.1], [stride.0, stride.1], padding).unwrap()
}

#[wasm_bindgen_test(unsupported = test)]
fn same_7x7_pool2_pads_bottom_right_only() {
    let g = geom(7, 7, 1, (2, 2), (2, 2), Padding::Same);
    assert_eq!((g.out_h(), g.out_w(), g.pad_top(), g.pad_left()), (4, 4, 0, 0));
    // x = 0..49 row-major: each window's max is its bottom-right cell, clipped at the
    // edge (window cell 3 = (1, 1); 2 = (1, 0) in the last column; 1 = (0, 1) in the
    // last row; 0 in the corner).
    let x: Vec<f32> = (0..49).map(|i| i as f32).collect();
    let (mut y, mut argmax) = (vec![0.0; 16], vec![0u8; 16]);
    max_pool2d_forward(&g, 1, &x, &mut y, &mut argmax);
    assert_eq!(argmax, [3, 3, 3, 2, 3, 3, 3, 2, 3, 3, 3, 2, 1, 1, 1, 0]);
    assert_eq!(y, [8, 10, 12, 13, 22, 24, 26, 27, 36, 38, 40, 41, 43, 45, 47, 48].map(|i| i as f32));
}

#[wasm_bindgen_test(unsupported = test)]
fn ties_pick_the_first_in_window_order() {
    let g = geom(2, 2, 5, (2, 2), (2, 2), Padding::Valid);
    let x = vec![1.0; 20];
    for f in [max_pool2d_forward::<u8>, max_pool2d_forward_reference::<u8>] {
        let (mut y, mut argmax) = (vec![0.0; 5], vec![9u8; 5]);
        f(&g, 1, &x, &mut y, &mut argmax);
        assert_eq!(argmax, vec![0; 5]);
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn fast_matches_reference_and_gradients() {
    use Padding::{Same, Valid};
    for g in [
        geom(7, 7, 1, (2, 2), (2, 2), Same),
        geom(7, 7, 3, (2, 2), (2, 2), Valid),
        geom(28, 28, 8, (2, 2), (2, 2), Same),
        geom(6, 9, 5, (3, 2), (2, 3), Same),
        geom(5, 5, 4, (3, 3), (1, 1), Same),
        geom(5, 6, 9, (3, 3), (2, 2), Valid),
        geom(4, 4, 16, (4, 4), (4, 4), Valid),
        geom(3, 3, 2, (1, 1), (1, 1), Same),
        // Stride larger than the window: cells no window covers get zeros.
        geom(7, 8, 4, (2, 2), (3, 3), Valid),
        geom(7, 8, 6, (2, 1), (3, 2), Same),
        // Tiling windows (the row-by-row backward), with channel tails and clipped edges.
        geom(9, 7, 6, (2, 2), (2, 2), Same),
        geom(9, 7, 7, (3, 2), (3, 2), Valid),
        geom(8, 8, 32, (2, 2), (2, 2), Same),
        // A window of 256 cells (the most a u8 index names), tiling and overlapping.
        geom(17, 16, 5, (16, 16), (16, 16), Same),
        geom(17, 16, 4, (16, 16), (1, 15), Valid),
    ] {
        check(g, 2);
    }
}

/// Values from a small set: ties, signed zeros, infinities and NaN.
fn awkward(seed: u64, len: usize) -> Vec<f32> {
    let set = [-1.0, 0.0, -0.0, 1.0, 2.0, f32::NAN, f32::INFINITY, f32::NEG_INFINITY];
    let mut rng = Rng::new(seed);
    (0..len).map(|_| set[(rng.next_u64() % set.len() as u64) as usize]).collect()
}

/// Forward bit for bit as the reference, backward as the scatter of its indices, on
/// awkward values.
fn check_awkward<T: WindowIndex + PartialEq + core::fmt::Debug>(g: Pool2dGeometry, batch: usize) {
    let x = awkward(g.input_len() as u64, batch * g.input_len());
    let n = batch * g.output_len();
    let (mut y, mut argmax, mut y_ref, mut argmax_ref) =
        (vec![0.0; n], vec![T::default(); n], vec![0.0; n], vec![T::default(); n]);
    max_pool2d_forward(&g, batch, &x, &mut y, &mut argmax);
    max_pool2d_forward_reference(&g, batch, &x, &mut y_ref, &mut argmax_ref);
    let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&y), bits(&y_ref), "{g:?}");
    assert_eq!(argmax, argmax_ref, "{g:?}");
    // No -0.0 in dy: the scatter's 0 + -0 is +0 where the backward writes dy itself.
    let dy: Vec<f32> = awkward(7, n).into_iter().map(|v| if v == 0.0 { 0.0 } else { v }).collect();
    let mut dx = vec![f32::NAN; x.len()];
    max_pool2d_backward(&g, batch, &dy, &argmax, &mut dx);
    assert_eq!(bits(&dx), bits(&scatter(&g, batch, &argmax, &dy)), "{g:?}");
}

#[wasm_bindgen_test(unsupported = test)]
fn windows_2x2_keep_ties_nan_and_clipped_edges() {
    // The 2×2 path, 16, 8 and 4 channels at a time and one by one: whole windows, a
    // clipped last row and column ('same' over odd sizes), a 'valid' remainder, a
    // single input row or column; batch > 1. Ties go to the first cell, a NaN in cell 0
    // wins, elsewhere never; byte and u32 indices alike.
    use Padding::{Same, Valid};
    for (h, w, ch, padding) in [
        (7, 9, 29, Same),
        (8, 6, 12, Same),
        (9, 7, 3, Valid),
        (6, 5, 32, Valid),
        (1, 3, 20, Same),
        (3, 1, 4, Same),
        (5, 5, 16, Same),
    ] {
        let g = geom(h, w, ch, (2, 2), (2, 2), padding);
        check_awkward::<u8>(g, 3);
        check_awkward::<u32>(g, 3);
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn large_maps_backward_window_by_window() {
    // dx of at least WINDOW_WRITES_MIN floats takes the window-by-window backward:
    // same-padded clipped edges, a valid remainder, and a channel tail.
    use Padding::{Same, Valid};
    for (g, batch) in [
        (geom(28, 28, 32, (2, 2), (2, 2), Same), 44),
        (geom(27, 25, 7, (2, 2), (2, 2), Same), 230),
        (geom(27, 25, 12, (3, 2), (3, 2), Valid), 130),
    ] {
        assert!(batch * g.input_len() >= WINDOW_WRITES_MIN);
        let x = distinct(g.input_len() as u64, batch * g.input_len());
        let dy = distinct(7, batch * g.output_len());
        let (mut y, mut argmax) = (vec![0.0; dy.len()], vec![0u8; dy.len()]);
        max_pool2d_forward(&g, batch, &x, &mut y, &mut argmax);
        let (mut y_ref, mut argmax_ref) = (vec![0.0; dy.len()], vec![0u8; dy.len()]);
        max_pool2d_forward_reference(&g, batch, &x, &mut y_ref, &mut argmax_ref);
        assert!(y == y_ref && argmax == argmax_ref, "{g:?}");
        let mut dx = vec![f32::NAN; x.len()];
        max_pool2d_backward(&g, batch, &dy, &argmax, &mut dx);
        assert_eq!(dx, scatter(&g, batch, &argmax, &dy), "{g:?}");
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn backward_routes_any_valid_index() {
    // Indices not from a forward pass (any cell of the window inside the input) get dy
    // where they point: tiling windows written cell by cell, overlapping ones scattered.
    for (g, stride) in
        [(geom(4, 4, 4, (2, 2), (2, 2), Padding::Valid), 2), (geom(4, 4, 4, (2, 2), (1, 1), Padding::Valid), 1)]
    {
        let n = g.output_len();
        let dy: Vec<f32> = (1..=n).map(|v| v as f32).collect();
        let argmax: Vec<u8> = (0..n).map(|o| ((o * 7 + o / 5) % 4) as u8).collect();
        let mut dx = vec![f32::NAN; 64];
        max_pool2d_backward(&g, 1, &dy, &argmax, &mut dx);
        assert_eq!(dx, scatter(&g, 1, &argmax, &dy), "stride {stride}");
    }
}

#[wasm_bindgen_test(unsupported = test)]
#[should_panic(expected = "pool2d: argmax names a cell outside the input")]
fn backward_rejects_an_index_into_the_padding() {
    // 'same' 3×3 windows with stride 1 over 3×3: window (0, 0) starts one row and
    // column above and left of the input; its cell 0 is padding.
    let g = geom(3, 3, 1, (3, 3), (1, 1), Padding::Same);
    max_pool2d_backward(&g, 1, &[1.0; 9], &[0u8; 9], &mut [0.0; 9]);
}

#[wasm_bindgen_test(unsupported = test)]
#[should_panic(expected = "pool2d: window has more cells than the argmax type can index")]
fn u8_indices_refuse_windows_over_256_cells() {
    let g = geom(17, 17, 1, (17, 16), (17, 16), Padding::Valid);
    max_pool2d_forward(&g, 1, &[0.0; 289], &mut [0.0], &mut [0u8]);
}

#[wasm_bindgen_test(unsupported = test)]
fn geometries_that_do_not_fit_are_refused_with_a_reason() {
    let err = Pool2dGeometry::new([3, 5, 1], [4, 2], [1, 1], Padding::Valid).unwrap_err();
    assert_eq!(err.to_string(), "a 4×2 pool with 'valid' padding does not fit a 3×5 input");
    let err = Pool2dGeometry::new([3, 5, 1], [2, 2], [0, 1], Padding::Same).unwrap_err();
    assert!(matches!(err, GeometryError::Empty { .. }), "{err}");
    // 'same' fits any window.
    assert_eq!(
        Pool2dGeometry::new([3, 5, 1], [4, 6], [1, 1], Padding::Same).map(|g| (g.out_h(), g.out_w())),
        Ok((3, 5))
    );
}
