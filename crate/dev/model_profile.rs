//! Training-step profile: times each layer's forward and backward, and the whole
//! `Sequential::train_step`, for one batch of 256 of the tutorial's models (vanilla, deep,
//! convolutional), and breaks each Conv2D layer down into the kernels it calls. A script
//! that prints figures, not a test.
//!
//! It includes the library's own sources (`#[path]`: kernels, layers, model, optimizer,
//! rng; everything but the wasm-bindgen boundary), so the layers timed here are the
//! library's layers. `dev/bench.sh profile` builds it as wasm32 + simd128 and runs it in
//! node (`dev/bench.sh profile-native` natively; `dev/bench.sh profile-baseline` with the
//! kernels saved by `dev/bench.sh save-baseline`).
//!
//! Usage of the wasm module: `run_profile(mask)`, where `mask` is a bit set: 1 vanilla,
//! 2 deep, 4 convolutional, 8 conv kernel breakdown, 16 fused-vs-unfused backward A/B,
//! 32 memory-bound kernels, 64 convolutional with its Conv2D layers through the fused
//! entry points.

// With `--cfg baseline` (bench.sh profile-baseline), the kernels saved by
// `bench.sh save-baseline` instead of the current ones, under the same layers.
#[allow(dead_code, unused_imports)]
#[cfg_attr(not(baseline), path = "../src/kernels/mod.rs")]
#[cfg_attr(baseline, path = "../../target/bench-baseline/kernels/mod.rs")]
mod kernels;
#[allow(dead_code, unused_imports)]
#[path = "../src/layers/mod.rs"]
mod layers;
#[allow(dead_code, unused_imports)]
#[path = "../src/model/mod.rs"]
mod model;
#[allow(dead_code, unused_imports)]
#[path = "../src/optim/mod.rs"]
mod optim;
#[allow(dead_code, unused_imports)]
#[path = "../src/rng.rs"]
mod rng;
// The layers' batch splitting for the threads build (serial here); bench.sh passes
// `--cfg has_parallel` when the crate has it.
#[cfg(has_parallel)]
#[allow(dead_code, unused_imports)]
#[path = "../src/parallel.rs"]
mod parallel;

use kernels::activation::activation_backward;
use kernels::bias::{bias_activation_forward, bias_grad};
use kernels::conv2d::{conv2d_backward_input, conv2d_backward_kernel, conv2d_forward, Conv2dGeometry};
#[cfg(not(baseline))]
use kernels::conv2d::{conv2d_backward, conv2d_forward_bias_activation};
use kernels::{Activation, Padding};
use layers::{shape_len, LayerSpec};

mod host;
use host::{emit, now_seconds};

const BATCH: usize = 256;
/// Batches per epoch of 48,000 images.
const BATCHES_PER_EPOCH: f64 = 48_000.0 / BATCH as f64;

/// Seconds per call of `f`: the fastest of `rounds` rounds, each calling `f` until at least
/// 20 ms have passed (the clock in node is CPU time, coarse for single short calls).
fn time_median(rounds: usize, mut f: impl FnMut()) -> f64 {
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

fn random(seed: u64, len: usize, lo: f32, hi: f32) -> Vec<f32> {
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

fn models() -> Vec<(&'static str, Vec<usize>, Vec<LayerSpec>)> {
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
fn layer_flops(spec: &LayerSpec, input: &[usize], output: &[usize]) -> (f64, f64, f64) {
    let f = match *spec {
        LayerSpec::Dense { .. } => 2.0 * (input[0] * output[0]) as f64,
        LayerSpec::Conv2d { kernel, .. } => 2.0 * (output[0] * output[1] * output[2] * kernel[0] * kernel[1] * input[2]) as f64,
        _ => 0.0,
    };
    (f, f, f)
}

/// With `fused`, Conv2D layers are timed through `conv2d_forward_bias_activation` and
/// `conv2d_backward` (what the layer would call to adopt them) instead of the layer's own
/// forward/backward; the other layers and the train_step line are unchanged.
fn profile_model(name: &str, input_shape: &[usize], specs: &[LayerSpec], reps: usize, fused: bool) {
    let how = if fused { ", Conv2D layers through the fused entry points" } else { "" };
    emit(&format!("== {name}: batch {BATCH}, best of {reps} rounds (ms; GFLOP/s of the layer's GEMM work){how}"));
    let mut ls = Vec::new();
    let mut shape = input_shape.to_vec();
    for spec in specs {
        let l = layers::build(spec, &shape).unwrap();
        shape = l.output_shape().to_vec();
        ls.push(l);
    }
    let mut r = rng::Rng::new(7);
    let params: Vec<Vec<f32>> = ls
        .iter()
        .map(|l| {
            let mut p = vec![0.0; l.param_count()];
            l.init_params(&mut r, &mut p);
            p
        })
        .collect();
    let mut grads: Vec<Vec<f32>> = ls.iter().map(|l| vec![0.0; l.param_count()]).collect();
    let x = random(1, BATCH * shape_len(input_shape), 0.0, 1.0);
    let mut outs: Vec<Vec<f32>> = ls.iter().map(|l| vec![0.0; BATCH * shape_len(l.output_shape())]).collect();
    // Warm-up: V8 first runs Liftoff code and swaps in TurboFan's in the background, so
    // train for a while before timing anything.
    {
        let mut m = model::Sequential::new(input_shape, specs, 1).unwrap();
        let target = x[..BATCH * shape_len(&shape)].to_vec();
        let start = now_seconds();
        while now_seconds() - start < 0.5 {
            m.train_step(&x, &target, BATCH).unwrap();
        }
    }
    // Forward once so every input is realistic.
    for i in 0..ls.len() {
        let (done, rest) = outs.split_at_mut(i);
        let input = if i == 0 { &x[..] } else { &done[i - 1][..] };
        ls[i].forward(BATCH, &params[i], input, &mut rest[0]);
    }
    emit(&format!("{:<3} {:<14} {:<16} {:>8} {:>8} {:>8} {:>7} {:>7}", "#", "layer", "output", "fwd", "bwd", "total", "fwdGF", "bwdGF"));
    let (mut sum_f, mut sum_b, mut flops) = (0.0, 0.0, 0.0);
    for i in 0..ls.len() {
        let in_len = if i == 0 { x.len() } else { outs[i - 1].len() };
        let (done, rest) = outs.split_at_mut(i);
        let input: &[f32] = if i == 0 { &x } else { &done[i - 1] };
        let output = &mut rest[0];
        let dy0 = random(2, output.len(), -1e-3, 1e-3);
        let mut dy = dy0.clone();
        let mut dx = vec![0.0; in_len];
        let need_dx = i > 0;
        let conv = match specs[i] {
            LayerSpec::Conv2d { filters, kernel, padding, activation } if fused => {
                let [h, w, c] = [ls[i].input_shape()[0], ls[i].input_shape()[1], ls[i].input_shape()[2]];
                Some((Conv2dGeometry { in_h: h, in_w: w, in_c: c, kernel_h: kernel[0], kernel_w: kernel[1], out_c: filters, padding }, activation))
            }
            _ => None,
        };
        let (t_f, t_b);
        if let Some((g, act)) = conv {
            #[cfg(not(baseline))]
            {
                let mut cols = vec![0.0; g.cols_len()];
                let (k, b) = params[i].split_at(g.kernel_len());
                t_f = time_median(reps, || conv2d_forward_bias_activation(&g, BATCH, input, k, b, act, output, &mut cols));
                let (dk, db) = grads[i].split_at_mut(g.kernel_len());
                t_b = time_median(reps, || {
                    dy.copy_from_slice(&dy0);
                    let dx = if need_dx { Some(&mut dx[..]) } else { None };
                    conv2d_backward(&g, BATCH, input, output, &mut dy, k, act, dk, db, dx, &mut cols);
                });
            }
            #[cfg(baseline)]
            {
                let _ = (g, act);
                unreachable!("no fused entry points in the baseline");
            }
        } else {
            t_f = time_median(reps, || ls[i].forward(BATCH, &params[i], input, output));
            t_b = time_median(reps, || {
                dy.copy_from_slice(&dy0);
                ls[i].backward(BATCH, &params[i], input, output, &mut dy, &mut grads[i], if need_dx { Some(&mut dx) } else { None });
            });
        }
        // The copy of dy is part of the timed backward; subtract its cost.
        let t_copy = time_median(reps, || dy.copy_from_slice(&dy0));
        let t_b = (t_b - t_copy).max(0.0);
        let (ff, fw, fx) = layer_flops(&specs[i], ls[i].input_shape(), ls[i].output_shape());
        let fb = fw + if need_dx { fx } else { 0.0 };
        let gf = |fl: f64, t: f64| if fl > 0.0 { format!("{:>7.1}", fl * BATCH as f64 / t / 1e9) } else { format!("{:>7}", "-") };
        emit(&format!(
            "{:<3} {:<14} {:<16} {:>8.3} {:>8.3} {:>8.3} {} {}",
            i,
            ls[i].kind(),
            format!("{:?}", ls[i].output_shape()),
            t_f * 1e3,
            t_b * 1e3,
            (t_f + t_b) * 1e3,
            gf(ff, t_f),
            gf(fb, t_b)
        ));
        sum_f += t_f;
        sum_b += t_b;
        flops += (ff + fb) * BATCH as f64;
    }
    emit(&format!(
        "    {:<31} {:>8.3} {:>8.3} {:>8.3} ({:.1} GFLOP/s overall, {:.2} GFLOP per step)",
        "sum of layers",
        sum_f * 1e3,
        sum_b * 1e3,
        (sum_f + sum_b) * 1e3,
        flops / (sum_f + sum_b) / 1e9,
        flops / 1e9
    ));

    // The real training step: forward, loss, backward, Adam.
    let mut m = model::Sequential::new(input_shape, specs, 1).unwrap();
    let t_step = time_median(reps, || {
        m.train_step(&x, &x[..BATCH * shape_len(&shape)].to_vec(), BATCH).unwrap();
    });
    // The target copy above is part of the timed closure; measure and subtract it.
    let t_copy = time_median(reps, || {
        std::hint::black_box(x[..BATCH * shape_len(&shape)].to_vec());
    });
    let t_step = t_step - t_copy;
    emit(&format!(
        "    train_step {:>8.3} ms  → epoch (48,000 images) ≈ {:.2} s",
        t_step * 1e3,
        t_step * BATCHES_PER_EPOCH
    ));
}

/// Each Conv2D of the convolutional model, split into the kernels its layer calls.
fn conv_breakdown(reps: usize) {
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
        let g = Conv2dGeometry { in_h: h, in_w: w, in_c: ci, kernel_h: 3, kernel_w: 3, out_c: co, padding };
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
        let t_x = if need_dx { time_median(reps, || conv2d_backward_input(&g, BATCH, &dy, &k, &mut dx, &mut cols)) } else { 0.0 };
        #[cfg(not(baseline))]
        let (t_ff, t_fb) = (
            time_median(reps, || conv2d_forward_bias_activation(&g, BATCH, &x, &k, &bias, Activation::Relu, &mut y, &mut cols)),
            time_median(reps, || {
                dy.copy_from_slice(&dy0);
                let dx = if need_dx { Some(&mut dx[..]) } else { None };
                conv2d_backward(&g, BATCH, &x, &y, &mut dy, &k, Activation::Relu, &mut dk, &mut db, dx, &mut cols)
            }) - t_copy,
        );
        #[cfg(baseline)]
        let (t_ff, t_fb) = (f64::NAN, f64::NAN);
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

/// The backward of the 16×16×8 → 32 'valid' layer, unfused (four calls) against
/// `conv2d_backward`, alternately, 5 times each.
#[cfg(not(baseline))]
fn fused_ab() {
    let g = Conv2dGeometry { in_h: 16, in_w: 16, in_c: 8, kernel_h: 3, kernel_w: 3, out_c: 32, padding: Padding::Valid };
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
            conv2d_backward(&g, BATCH, &x, &y, &mut dy, &k, Activation::Relu, &mut dk, &mut db, Some(&mut dx), &mut cols);
        });
        emit(&format!("16x16x8->32 valid backward: unfused {:.3} ms, fused {:.3} ms", t_u * 1e3, t_f * 1e3));
    }
}

/// The memory-bound kernels of a dense step, at the vanilla model's sizes.
fn memory_kernels() {
    use kernels::adam::adam_step;
    use kernels::loss::{loss_and_grad, Loss};
    let (rows, cols) = (BATCH, 784);
    let y0 = random(1, rows * cols, -1.0, 1.0);
    let mut y = y0.clone();
    let dy0 = random(2, rows * cols, -1.0, 1.0);
    let mut dy = dy0.clone();
    let bias = random(3, cols, -0.1, 0.1);
    let mut db = vec![0.0; cols];
    let params = 101_200;
    let (mut p, g, mut m, mut v) = (random(4, params, -1.0, 1.0), random(5, params, -1.0, 1.0), vec![0.0; params], vec![0.0; params]);
    let reps = 3;
    let t_copy = time_median(reps, || y.copy_from_slice(&y0));
    let t_ba = time_median(reps, || {
        y.copy_from_slice(&y0);
        bias_activation_forward(rows, cols, &mut y, &bias, Activation::Relu)
    }) - t_copy;
    let t_ab = time_median(reps, || {
        dy.copy_from_slice(&dy0);
        activation_backward(Activation::Relu, &y0, &mut dy)
    }) - t_copy;
    let t_db = time_median(reps, || bias_grad(rows, cols, &dy0, &mut db));
    let t_loss = time_median(reps, || {
        std::hint::black_box(loss_and_grad(Loss::MeanSquaredError, &y0, &dy0, &mut dy));
    });
    let t_adam = time_median(reps, || adam_step(&mut p, &g, &mut m, &mut v, 1e-3, 0.1, 1e-3, 1e-7));
    let xs = random(6, BATCH * 14 * 14 * 32, -1.0, 1.0);
    let mut ys = vec![0.0; xs.len() * 4];
    let mut dxs = vec![0.0; xs.len()];
    let t_up = time_median(reps, || {
        kernels::upsample2d::upsample2d_forward(BATCH, 14, 14, 32, 2, 2, &xs, &mut ys);
        std::hint::black_box(&mut ys);
    });
    let t_upb = time_median(reps, || {
        kernels::upsample2d::upsample2d_backward(BATCH, 14, 14, 32, 2, 2, &ys, &mut dxs);
        std::hint::black_box(&mut dxs);
    });
    let pg = kernels::pool2d::Pool2dGeometry { in_h: 28, in_w: 28, channels: 32, pool_h: 2, pool_w: 2, stride_h: 2, stride_w: 2, padding: Padding::Same };
    // Window-cell indices as the layer keeps them for 2×2 windows: one byte each.
    let mut arg = vec![0u8; xs.len()];
    let mut pooled = vec![0.0; xs.len()];
    let t_pool = time_median(reps, || {
        kernels::pool2d::max_pool2d_forward(&pg, BATCH, &ys, &mut pooled, &mut arg);
        std::hint::black_box((&mut pooled, &mut arg));
    });
    let t_poolb = time_median(reps, || {
        kernels::pool2d::max_pool2d_backward(&pg, BATCH, &xs, &arg, &mut ys);
        std::hint::black_box(&mut ys);
    });
    emit(&format!(
        "== {BATCH}x28x28x32 (ms): upsample fwd {:.3} bwd {:.3}, max-pool fwd {:.3} bwd {:.3}",
        t_up * 1e3,
        t_upb * 1e3,
        t_pool * 1e3,
        t_poolb * 1e3
    ));
    emit(&format!(
        "== memory-bound kernels, {rows}x{cols} (ms): copy {:.3}, bias+relu {:.3}, relu' {:.3}, bias_grad {:.3}, mse+grad {:.3}, adam ({params} params) {:.3}",
        t_copy * 1e3,
        t_ba * 1e3,
        t_ab * 1e3,
        t_db * 1e3,
        t_loss * 1e3,
        t_adam * 1e3
    ));
}

#[no_mangle]
pub extern "C" fn run_profile(which: u32) {
    let reps = 3;
    for (bit, (name, shape, specs)) in models().into_iter().enumerate() {
        if which & (1 << bit) != 0 {
            profile_model(name, &shape, &specs, reps, false);
        }
        #[cfg(not(baseline))]
        if bit == 2 && which & 64 != 0 {
            profile_model(name, &shape, &specs, reps, true);
        }
    }
    if which & 8 != 0 {
        conv_breakdown(reps);
    }
    #[cfg(not(baseline))]
    if which & 16 != 0 {
        fused_ab();
    }
    if which & 32 != 0 {
        memory_kernels();
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    let which = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(15);
    run_profile(which);
}
