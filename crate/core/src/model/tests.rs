use super::*;
use crate::kernels::loss::Loss;
use crate::kernels::{Activation, Padding};
use crate::layers::LayerSpec;
use crate::optim::OptimizerState;
use crate::testing::{assert_gradient, random_vec, wasm_bindgen_test, Tolerance};

fn dense(units: usize, activation: Activation) -> LayerSpec {
    LayerSpec::Dense { units, activation }
}
fn conv(filters: usize, padding: Padding, activation: Activation) -> LayerSpec {
    LayerSpec::Conv2d { filters, kernel: [3, 3], padding, activation }
}
fn pool() -> LayerSpec {
    LayerSpec::MaxPooling2d { pool: [2, 2], strides: [2, 2], padding: Padding::Same }
}
fn up() -> LayerSpec {
    LayerSpec::UpSampling2d { size: [2, 2] }
}

fn tutorial_conv() -> Vec<LayerSpec> {
    use Activation::Relu;
    use Padding::{Same, Valid};
    vec![
        conv(32, Same, Relu),
        pool(),
        conv(8, Same, Relu),
        pool(),
        conv(8, Same, Relu),
        pool(),
        conv(8, Same, Relu),
        up(),
        conv(8, Same, Relu),
        up(),
        conv(32, Valid, Relu),
        up(),
        conv(1, Same, Relu),
    ]
}

#[wasm_bindgen_test(unsupported = test)]
fn tutorial_models_have_keras_parameter_counts_and_shapes() {
    use Activation::Relu;
    let vanilla = Sequential::new(&[784], &[dense(64, Relu), dense(784, Relu)], 0).unwrap();
    assert_eq!(vanilla.param_count(), 101_200);
    let widths = [512, 256, 128, 64, 128, 256, 512, 784];
    let deep: Vec<_> = widths.iter().map(|&w| dense(w, Relu)).collect();
    assert_eq!(Sequential::new(&[784], &deep, 0).unwrap().param_count(), 1_149_520);
    let conv = Sequential::new(&[28, 28, 1], &tutorial_conv(), 0).unwrap();
    assert_eq!(conv.param_count(), 7_009);
    assert_eq!(conv.layers()[5].output_shape(), &[4, 4, 8]);
    assert_eq!(conv.layers()[12].output_shape(), &[28, 28, 1]);
}

/// The whole training step's gradient (through every layer kind and the MSE) against
/// finite differences of `evaluate`. SGD with lr 0 leaves the weights where they were.
#[wasm_bindgen_test(unsupported = test)]
fn training_step_gradient_matches_finite_differences() {
    use Activation::{Sigmoid, Tanh};
    let specs =
        [conv(3, Padding::Same, Tanh), pool(), conv(2, Padding::Valid, Tanh), up(), conv(1, Padding::Same, Sigmoid)];
    let mut model = Sequential::new(&[20, 20, 1], &specs, 5).unwrap();
    assert_eq!(model.layers()[4].output_shape(), &[16, 16, 1]);
    // Conv2D + MaxPooling2D and UpSampling2D + Conv2D run as one layer each: theirs are
    // the gradients checked here.
    assert_eq!(model.fused_pairs(), [0, 3]);
    model.compile(OptimizerSpec::Sgd { learning_rate: 0.0 }, Loss::MeanSquaredError);
    let batch = 2;
    let x = random_vec(1, batch * 400, 0.0, 1.0);
    let y = random_vec(2, batch * 256, 0.0, 1.0);
    let params = model.params().to_vec();
    model.train_step(&x, &y, batch).unwrap();
    assert_eq!(model.params(), &params[..]);
    let analytic = model.last_gradients().to_vec();
    let tol = Tolerance { abs: 2e-5, rel: 2e-2 };
    assert_gradient("model ∂L/∂θ", &analytic, &params, 1e-3, tol, |p| {
        model.set_params(p).unwrap();
        model.evaluate(&x, &y, batch, batch, Loss::MeanSquaredError).unwrap()
    });
}

#[wasm_bindgen_test(unsupported = test)]
fn dense_model_gradient_matches_finite_differences() {
    let specs = [dense(4, Activation::Tanh), dense(6, Activation::Sigmoid)];
    let mut model = Sequential::new(&[6], &specs, 9).unwrap();
    model.compile(OptimizerSpec::Sgd { learning_rate: 0.0 }, Loss::BinaryCrossentropy);
    let x = random_vec(3, 3 * 6, 0.0, 1.0);
    let y = random_vec(4, 3 * 6, 0.0, 1.0);
    let params = model.params().to_vec();
    model.train_step(&x, &y, 3).unwrap();
    let analytic = model.last_gradients().to_vec();
    assert_gradient("dense model ∂L/∂θ", &analytic, &params, 1e-2, Tolerance { abs: 1e-4, rel: 2e-2 }, |p| {
        model.set_params(p).unwrap();
        model.evaluate(&x, &y, 3, 3, Loss::BinaryCrossentropy).unwrap()
    });
}

#[wasm_bindgen_test(unsupported = test)]
fn same_seed_same_training_and_loss_goes_down() {
    let specs = [dense(8, Activation::Relu), dense(16, Activation::Sigmoid)];
    let x = random_vec(7, 32 * 16, 0.0, 1.0);
    let run = || {
        let mut m = Sequential::new(&[16], &specs, 42).unwrap();
        let first = m.train_step(&x, &x, 32).unwrap();
        let mut last = first;
        for _ in 0..200 {
            last = m.train_step(&x, &x, 32).unwrap();
        }
        (m.params().to_vec(), first, last)
    };
    let (a, first, last) = run();
    let (b, _, _) = run();
    assert_eq!(a, b);
    assert!(last < 0.85 * first, "loss {first} → {last}");
    let other = Sequential::new(&[16], &specs, 43).unwrap();
    assert_ne!(other.params(), &a[..]);
}

#[wasm_bindgen_test(unsupported = test)]
fn refused_calls_leave_the_model_untouched() {
    let mut m = Sequential::new(&[4], &[dense(2, Activation::Relu)], 1).unwrap();
    let before = m.params().to_vec();
    assert!(matches!(m.train_step(&[0.0; 7], &[0.0; 4], 2), Err(ModelError::Shape(_))));
    assert!(matches!(m.train_step(&[], &[], 0), Err(ModelError::Shape(_))));
    assert!(matches!(m.set_params(&[0.0; 3]), Err(ModelError::Shape(_))));
    let mut bad = before.clone();
    bad[1] = f32::NAN;
    assert!(matches!(m.set_params(&bad), Err(ModelError::Value(_))));
    let mut out = [0.0; 2];
    assert!(m.predict(1, 1, &[0.0; 4], 1, 1, &mut out).is_err());
    assert_eq!(m.params(), &before[..]);
    assert_eq!(m.optimizer_iterations(), 0);
}

#[wasm_bindgen_test(unsupported = test)]
fn predict_in_chunks_equals_one_pass_and_encode_then_decode_equals_predict() {
    use Activation::Relu;
    let mut m = Sequential::new(&[784], &[dense(64, Relu), dense(784, Relu)], 3).unwrap();
    let x = random_vec(5, 10 * 784, 0.0, 1.0);
    let mut whole = vec![0.0; 10 * 784];
    m.predict(0, 2, &x, 10, 10, &mut whole).unwrap();
    let mut chunked = vec![0.0; 10 * 784];
    m.predict(0, 2, &x, 10, 3, &mut chunked).unwrap();
    assert_eq!(whole, chunked);
    let mut code = vec![0.0; 10 * 64];
    m.predict(0, 1, &x, 10, 4, &mut code).unwrap();
    let mut decoded = vec![0.0; 10 * 784];
    m.predict(1, 2, &code, 10, 4, &mut decoded).unwrap();
    assert_eq!(whole, decoded);
}

#[wasm_bindgen_test(unsupported = test)]
fn a_training_step_allocates_nothing_once_the_batch_size_was_seen() {
    let mut model = Sequential::new(&[28, 28, 1], &tutorial_conv(), 1).unwrap();
    let x = random_vec(8, 4 * 784, 0.0, 1.0);
    model.train_step(&x, &x, 4).unwrap();
    let smaller = &x[..3 * 784];
    model.train_step(smaller, smaller, 3).unwrap();
    let allocations = crate::testing::allocations_during(|| {
        model.train_step(&x, &x, 4).unwrap();
        model.train_step(smaller, smaller, 3).unwrap();
    });
    assert_eq!(allocations, 0);
}

/// The tutorial's encoder runs each Conv2D + MaxPooling2D as one layer, its decoder
/// UpSampling2D + Conv2D (its two larger pairs: the 8×8 one is faster unfused, see
/// `Conv2d::after_upsampling`); training
/// and predicting give what the layers one by one give, to float rounding, and a range that
/// splits a pair (decoding from its Conv2D) runs the layers on their own.
#[wasm_bindgen_test(unsupported = test)]
fn fused_upsampling_conv_pairs_equal_the_layers_one_by_one() {
    let fused = Sequential::new(&[28, 28, 1], &tutorial_conv(), 4).unwrap();
    assert_eq!(fused.fused_pairs(), [0, 2, 4, 9, 11]);
    let mut fused = fused;
    let mut plain = Sequential::new(&[28, 28, 1], &tutorial_conv(), 4).unwrap().without_fusion();
    assert!(plain.fused_pairs().is_empty());
    let batch = 5;
    let x = random_vec(11, batch * 784, 0.0, 1.0);
    let close = Tolerance::new(1e-6, 1e-4);
    let loss = |m: &mut Sequential| m.train_step(&x, &x, batch).unwrap();
    let (a, b) = (loss(&mut fused), loss(&mut plain));
    assert!((a - b).abs() <= 1e-6 * b.abs(), "loss {a} vs {b}");
    crate::testing::assert_close(
        "gradients, fused vs one by one",
        fused.last_gradients(),
        plain.last_gradients(),
        close,
    );
    // Same weights in both, then every way of predicting.
    fused.set_params(plain.params()).unwrap();
    let out_len = batch * 784;
    let predict = |m: &mut Sequential, from: usize, to: usize, input: &[f32]| {
        let mut out = vec![f32::NAN; batch * m.output_len_of(to - 1)];
        m.predict(from, to, input, batch, 2, &mut out).unwrap();
        out
    };
    let whole = predict(&mut plain, 0, 13, &x);
    assert_eq!(whole.len(), out_len);
    crate::testing::assert_close("predict, fused", &predict(&mut fused, 0, 13, &x), &whole, close);
    // Ranges that end inside a pair (0..1: a Conv2D without its pooling; 0..9: an
    // UpSampling2D without its Conv2D) and start inside one (1.., 10..).
    for cut in [1, 2, 9, 10, 11] {
        let head = predict(&mut fused, 0, cut, &x);
        crate::testing::assert_close(&format!("split at {cut}"), &predict(&mut fused, cut, 13, &head), &whole, close);
    }
}

/// Conv2D + MaxPooling2D fused computes exactly what the two layers compute: the same
/// kernels on the same values, only the intermediate stays in cache.
#[wasm_bindgen_test(unsupported = test)]
fn fused_conv_pool_pairs_are_bit_identical_to_the_layers() {
    use Activation::{Relu, Sigmoid, Tanh};
    let specs =
        [conv(8, Padding::Same, Relu), pool(), conv(4, Padding::Same, Tanh), pool(), conv(2, Padding::Valid, Sigmoid)];
    let mut fused = Sequential::new(&[12, 10, 3], &specs, 6).unwrap();
    assert_eq!(fused.fused_pairs(), [0, 2]);
    let mut plain = Sequential::new(&[12, 10, 3], &specs, 6).unwrap().without_fusion();
    let batch = 3;
    let out = batch * plain.output_len_of(4);
    let x = random_vec(12, batch * 360, -1.0, 1.0);
    let y = random_vec(13, out, 0.0, 1.0);
    for step in 0..3 {
        let (a, b) = (fused.train_step(&x, &y, batch).unwrap(), plain.train_step(&x, &y, batch).unwrap());
        assert_eq!(a.to_bits(), b.to_bits(), "loss, step {step}");
        assert_eq!(fused.last_gradients(), plain.last_gradients(), "gradients, step {step}");
        assert_eq!(fused.params(), plain.params(), "weights after step {step}");
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn a_non_finite_loss_or_gradient_updates_nothing() {
    let specs = [dense(8, Activation::Relu), dense(16, Activation::Linear)];
    let mut m = Sequential::new(&[16], &specs, 3).unwrap();
    let x = random_vec(5, 4 * 16, 0.0, 1.0);
    m.train_step(&x, &x, 4).unwrap();
    let (params, slots) = (m.params().to_vec(), m.optimizer_slots());
    // A target of 1e30 squares past f32's range: an infinite loss.
    let huge = vec![1e30f32; 4 * 16];
    assert!(m.train_step(&x, &huge, 4).unwrap().is_infinite());
    // A NaN target: a NaN loss.
    let mut nan = x.clone();
    nan[3] = f32::NAN;
    assert!(m.train_step(&x, &nan, 4).unwrap().is_nan());
    assert_eq!(m.params(), &params[..]);
    assert_eq!(m.optimizer_slots(), slots);
    assert_eq!(m.optimizer_iterations(), 1);
    // The run goes on from the same state once the data are sane.
    assert!(m.train_step(&x, &x, 4).unwrap().is_finite());
    assert_eq!(m.optimizer_iterations(), 2);
}

#[wasm_bindgen_test(unsupported = test)]
fn a_restored_optimizer_continues_the_run_bit_for_bit() {
    let specs = [dense(8, Activation::Relu), dense(16, Activation::Sigmoid)];
    let x = random_vec(9, 8 * 16, 0.0, 1.0);
    let mut straight = Sequential::new(&[16], &specs, 4).unwrap();
    for _ in 0..4 {
        straight.train_step(&x, &x, 8).unwrap();
    }
    let mut first = Sequential::new(&[16], &specs, 4).unwrap();
    for _ in 0..2 {
        first.train_step(&x, &x, 8).unwrap();
    }
    // A new model from the saved weights and optimizer state, as fromBytes builds it.
    let mut resumed = Sequential::new(&[16], &specs, 99).unwrap();
    resumed.set_params(first.params()).unwrap();
    let slots = first.optimizer_slots();
    assert_eq!(slots.len(), 2 * first.params().len());
    resumed.restore_optimizer(OptimizerState { iterations: 2, slots: &slots }).unwrap();
    for _ in 0..2 {
        resumed.train_step(&x, &x, 8).unwrap();
    }
    assert_eq!(resumed.params(), straight.params());
    assert_eq!(resumed.optimizer_slots(), straight.optimizer_slots());
    assert_eq!(resumed.optimizer_iterations(), 4);
    // A state of the wrong size or with negative second moments is refused, changing nothing.
    assert!(resumed.restore_optimizer(OptimizerState { iterations: 1, slots: &slots[1..] }).is_err());
    let mut negative = slots.clone();
    *negative.last_mut().unwrap() = -1.0;
    assert!(resumed.restore_optimizer(OptimizerState { iterations: 1, slots: &negative }).is_err());
    assert_eq!(resumed.optimizer_iterations(), 4);
}

#[wasm_bindgen_test(unsupported = test)]
fn a_new_learning_rate_keeps_the_optimizer_state() {
    let specs = [dense(8, Activation::Relu), dense(16, Activation::Sigmoid)];
    let x = random_vec(12, 8 * 16, 0.0, 1.0);
    // Two steps at 1e-3, then two at 1e-4 ...
    let mut changed = Sequential::new(&[16], &specs, 5).unwrap();
    changed.train_step(&x, &x, 8).unwrap();
    changed.train_step(&x, &x, 8).unwrap();
    let slots = changed.optimizer_slots();
    changed.set_learning_rate(1e-4).unwrap();
    assert_eq!(changed.optimizer_slots(), slots);
    assert_eq!(changed.optimizer_iterations(), 2);
    changed.train_step(&x, &x, 8).unwrap();
    changed.train_step(&x, &x, 8).unwrap();
    // ... equal a model compiled at 1e-4 that continues from the same state.
    let mut first = Sequential::new(&[16], &specs, 5).unwrap();
    first.train_step(&x, &x, 8).unwrap();
    first.train_step(&x, &x, 8).unwrap();
    let mut other = Sequential::new(&[16], &specs, 5).unwrap();
    other.compile(
        OptimizerSpec::Adam { learning_rate: 1e-4, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 },
        Loss::MeanSquaredError,
    );
    other.set_params(first.params()).unwrap();
    other.restore_optimizer(OptimizerState { iterations: 2, slots: &first.optimizer_slots() }).unwrap();
    other.train_step(&x, &x, 8).unwrap();
    other.train_step(&x, &x, 8).unwrap();
    assert_eq!(changed.params(), other.params());
    assert!(changed.set_learning_rate(f64::NAN).is_err());
    assert!(changed.set_learning_rate(-1.0).is_err());
}
