//! Every layer's backward against central finite differences of its own forward pass:
//! with a random upstream gradient r, L(x, θ) = Σ r ⊙ layer(x; θ), so backward(r) must give
//! ∂L/∂x and ∂L/∂θ.

use super::*;
use crate::testing::{assert_gradient, random_vec, wasm_bindgen_test, Tolerance};

const TOL: Tolerance = Tolerance { abs: 2e-3, rel: 2e-2 };
const EPS: f32 = 1e-2;

fn projected(layer: &mut dyn Layer, batch: usize, params: &[f32], x: &[f32], r: &[f32]) -> f64 {
    let mut y = vec![0.0; r.len()];
    layer.forward(batch, params, x, &mut y);
    y.iter().zip(r).map(|(a, b)| *a as f64 * *b as f64).sum()
}

fn check_layer(spec: LayerSpec, input_shape: &[usize], batch: usize, seed: u64) {
    let mut layer = build(&spec, input_shape).unwrap();
    let in_len = batch * shape_len(input_shape);
    let out_len = batch * shape_len(layer.output_shape());
    let mut params = vec![0.0; layer.param_count()];
    layer.init_params(&mut Rng::new(seed), &mut params);
    // Non-zero biases so their effect is visible through the activation.
    let n_bias = layer.param_shapes().last().map(|s| s.iter().product()).unwrap_or(0);
    let n = params.len();
    params[n - n_bias..].copy_from_slice(&random_vec(seed + 1, n_bias, -0.3, 0.3));
    let x = random_vec(seed + 2, in_len, -1.0, 1.0);
    let r = random_vec(seed + 3, out_len, -1.0, 1.0);

    layer.prepare(batch);
    let mut y = vec![0.0; out_len];
    layer.forward(batch, &params, &x, &mut y);
    let mut dy = r.clone();
    let mut grads = vec![f32::NAN; params.len()];
    let mut dx = vec![f32::NAN; in_len];
    layer.backward(batch, &params, BackwardPass { x: &x, y: &y, dy: &mut dy, grads: &mut grads, dx: Some(&mut dx) });

    let what = format!("{} {input_shape:?}", layer.kind());
    assert_gradient(&format!("{what} ∂/∂x"), &dx, &x, EPS, TOL, |xp| {
        projected(layer.as_mut(), batch, &params, xp, &r)
    });
    if !params.is_empty() {
        assert_gradient(&format!("{what} ∂/∂θ"), &grads, &params, EPS, TOL, |pp| {
            projected(layer.as_mut(), batch, pp, &x, &r)
        });
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn dense_backward_matches_finite_differences() {
    for act in [Activation::Linear, Activation::Sigmoid, Activation::Tanh] {
        check_layer(LayerSpec::Dense { units: 5, activation: act }, &[7], 3, 11);
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn conv2d_backward_matches_finite_differences() {
    for (padding, kernel, input) in [
        (Padding::Same, [3, 3], [6, 5, 2]),
        (Padding::Valid, [3, 3], [6, 6, 3]),
        (Padding::Same, [2, 3], [4, 5, 1]),
        (Padding::Valid, [1, 1], [3, 3, 4]),
    ] {
        check_layer(LayerSpec::Conv2d { filters: 3, kernel, padding, activation: Activation::Tanh }, &input, 2, 21);
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn max_pooling_backward_matches_finite_differences() {
    for (padding, input) in [(Padding::Same, [7, 7, 2]), (Padding::Valid, [6, 5, 3]), (Padding::Same, [4, 4, 1])] {
        check_layer(LayerSpec::MaxPooling2d { pool: [2, 2], strides: [2, 2], padding }, &input, 2, 31);
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn up_sampling_backward_matches_finite_differences() {
    check_layer(LayerSpec::UpSampling2d { size: [2, 2] }, &[3, 4, 2], 2, 41);
    check_layer(LayerSpec::UpSampling2d { size: [3, 1] }, &[2, 2, 1], 1, 42);
}

#[wasm_bindgen_test(unsupported = test)]
fn keras_shapes_for_the_tutorial_layers() {
    let pool = |shape: &[usize]| {
        build(&LayerSpec::MaxPooling2d { pool: [2, 2], strides: [2, 2], padding: Padding::Same }, shape).unwrap()
    };
    assert_eq!(pool(&[7, 7, 8]).output_shape(), &[4, 4, 8]);
    let conv = build(
        &LayerSpec::Conv2d { filters: 32, kernel: [3, 3], padding: Padding::Valid, activation: Activation::Relu },
        &[16, 16, 8],
    )
    .unwrap();
    assert_eq!(conv.output_shape(), &[14, 14, 32]);
    assert_eq!(conv.param_count(), 3 * 3 * 8 * 32 + 32);
}

#[wasm_bindgen_test(unsupported = test)]
fn bad_shapes_are_refused_with_a_reason() {
    let dense = build(&LayerSpec::Dense { units: 4, activation: Activation::Relu }, &[28, 28, 1]);
    assert!(dense.err().unwrap().0.contains("flatten"));
    let conv = build(
        &LayerSpec::Conv2d { filters: 1, kernel: [5, 5], padding: Padding::Valid, activation: Activation::Relu },
        &[3, 3, 1],
    );
    assert!(conv.err().unwrap().0.contains("does not fit"));
    assert!(build(&LayerSpec::UpSampling2d { size: [0, 2] }, &[2, 2, 1]).is_err());
}
