//! Training-step profile: times each layer's forward and backward, and the whole
//! `Sequential::train_step`, for one batch of 256 of the tutorial's models (vanilla, deep,
//! convolutional), and breaks each Conv2D layer down into the kernels it calls. A script
//! that prints figures, not a test.
//!
//! It depends on `wasm-autoencoders-core` like any user of the library, so the layers timed
//! here are the library's layers. `crate/dev/bench.sh profile` builds this crate as wasm32 +
//! simd128 and runs it in node (`bench.sh profile-native` natively; `bench.sh baseline REF
//! profile` times another commit's build beside this one's).
//!
//! One file per profile: `model_layers.rs` (per-layer times of a training step),
//! `conv_breakdown.rs`, `fused_backward.rs`, `memory_bound.rs`; this file has what they share.
//!
//! Usage of the wasm module: `run_profile(mask)`, where `mask` is a bit set: 1 vanilla,
//! 2 deep, 4 convolutional, 8 conv kernel breakdown, 16 fused-vs-unfused backward A/B,
//! 32 memory-bound kernels (activations, bias gradient, loss, Adam, pooling, upsampling) in
//! GB/s against this machine's memory speed, 64 convolutional with its Conv2D layers through
//! the fused entry points.

mod conv_breakdown;
mod fused_backward;
mod memory_bound;
mod model_layers;

use crate::host::now_seconds;
use wasm_autoencoders_core::kernels::{Activation, Padding};
use wasm_autoencoders_core::layers::LayerSpec;
use wasm_autoencoders_core::rng;

pub(crate) const BATCH: usize = 256;
/// Batches per epoch of 48,000 images.
pub(crate) const BATCHES_PER_EPOCH: f64 = 48_000.0 / BATCH as f64;

/// Seconds per call of `f`: the fastest of `rounds` rounds, each calling `f` until at least
/// 20 ms have passed (the clock in node is CPU time, coarse for single short calls).
pub(crate) fn time_median(rounds: usize, mut f: impl FnMut()) -> f64 {
    f();
    let mut best = f64::INFINITY;
    for _ in 0..rounds {
        let (start, mut calls) = (now_seconds(), 0u32);
        let mut elapsed = 0.0;
        while elapsed < 0.02 {
            f();
            calls += 1;
            elapsed = now_seconds() - start;
        }
        best = best.min(elapsed / calls as f64);
    }
    best
}

pub(crate) fn random(seed: u64, len: usize, lo: f32, hi: f32) -> Vec<f32> {
    let mut r = rng::Rng::new(seed);
    (0..len).map(|_| r.uniform(lo, hi)).collect()
}

fn relu(units: usize) -> LayerSpec {
    LayerSpec::Dense { units, activation: Activation::Relu }
}

fn conv(filters: usize, padding: Padding) -> LayerSpec {
    LayerSpec::Conv2d { filters, kernel: [3, 3], padding, activation: Activation::Relu }
}

fn pool() -> LayerSpec {
    LayerSpec::MaxPooling2d { pool: [2, 2], strides: [2, 2], padding: Padding::Same }
}

fn up() -> LayerSpec {
    LayerSpec::UpSampling2d { size: [2, 2] }
}

pub(crate) fn models() -> Vec<(&'static str, Vec<usize>, Vec<LayerSpec>)> {
    let same = Padding::Same;
    vec![
        ("vanilla", vec![784], vec![relu(64), relu(784)]),
        ("deep", vec![784], [512, 256, 128, 64, 128, 256, 512, 784].iter().map(|&w| relu(w)).collect()),
        (
            "convolutional",
            vec![28, 28, 1],
            vec![
                conv(32, same),
                pool(),
                conv(8, same),
                pool(),
                conv(8, same),
                pool(),
                conv(8, same),
                up(),
                conv(8, same),
                up(),
                conv(32, Padding::Valid),
                up(),
                conv(1, same),
            ],
        ),
    ]
}

/// FLOPs of the GEMM work of one layer per sample: forward, dW, dX (0 when not a conv/dense).
pub(crate) fn specs_kind(spec: &LayerSpec) -> &'static str {
    match spec {
        LayerSpec::Dense { .. } => "Dense",
        LayerSpec::Conv2d { .. } => "Conv2D",
        LayerSpec::MaxPooling2d { .. } => "MaxPooling2D",
        LayerSpec::UpSampling2d { .. } => "UpSampling2D",
    }
}

pub(crate) fn layer_flops(spec: &LayerSpec, input: &[usize], output: &[usize]) -> (f64, f64, f64) {
    let f = match *spec {
        LayerSpec::Dense { .. } => 2.0 * (input[0] * output[0]) as f64,
        LayerSpec::Conv2d { kernel, .. } => {
            2.0 * (output[0] * output[1] * output[2] * kernel[0] * kernel[1] * input[2]) as f64
        }
        _ => 0.0,
    };
    (f, f, f)
}

#[no_mangle]
pub extern "C" fn run_profile(which: u32) {
    let reps = 3;
    for (bit, (name, shape, specs)) in models().into_iter().enumerate() {
        if which & (1 << bit) != 0 {
            model_layers::profile_model(name, &shape, &specs, reps, false);
        }
        if bit == 2 && which & 64 != 0 {
            model_layers::profile_model(name, &shape, &specs, reps, true);
        }
    }
    if which & 8 != 0 {
        conv_breakdown::conv_breakdown(reps);
    }
    if which & 16 != 0 {
        fused_backward::fused_ab();
    }
    if which & 32 != 0 {
        memory_bound::memory_kernels();
    }
}
