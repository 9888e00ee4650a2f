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
//! 32 memory-bound kernels (activations, bias gradient, loss, Adam, pooling, upsampling) in
//! GB/s against this machine's memory speed, 64 convolutional with its Conv2D layers through
//! the fused entry points.

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
// The memory-speed reference of the memory-bound kernels (its FLOP ceiling is unused here).
#[allow(dead_code)]
mod ceiling;
use ceiling::memory;

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
fn specs_kind(spec: &LayerSpec) -> &'static str {
    match spec {
        LayerSpec::Dense { .. } => "Dense",
        LayerSpec::Conv2d { .. } => "Conv2D",
        LayerSpec::MaxPooling2d { .. } => "MaxPooling2D",
        LayerSpec::UpSampling2d { .. } => "UpSampling2D",
    }
}

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
    // The steps the model runs: one layer, or a pair it fuses (UpSampling2D + Conv2D), timed
    // as one row. `last[i]` is the spec of the step's last layer, `first[i]` its first.
    let (mut ls, mut first, mut last) = (Vec::new(), Vec::new(), Vec::new());
    let mut shape = input_shape.to_vec();
    let mut i = 0;
    while i < specs.len() {
        let fused_pair = specs.get(i + 1).and_then(|next| layers::fuse(&specs[i], next, &shape));
        let (l, end) = match fused_pair {
            Some(l) => (l, i + 1),
            None => (layers::build(&specs[i], &shape).unwrap(), i),
        };
        shape = l.output_shape().to_vec();
        ls.push(l);
        first.push(i);
        last.push(end);
        i = end + 1;
    }
    let kind = |i: usize| if first[i] < last[i] { format!("{}+{}", specs_kind(&specs[first[i]]), specs_kind(&specs[last[i]])) } else { specs_kind(&specs[first[i]]).to_string() };
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
    emit(&format!("{:<3} {:<20} {:<16} {:>8} {:>8} {:>8} {:>7} {:>7}", "#", "layer", "output", "fwd", "bwd", "total", "fwdGF", "bwdGF"));
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
        let conv = match specs[last[i]] {
            LayerSpec::Conv2d { filters, kernel, padding, activation } if fused && first[i] == last[i] => {
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
        // A fused pair counts the FLOPs of its Conv2D as the layers one by one would run it
        // (over the upsampled image, into the unpooled one), so its GFLOP/s say how much
        // faster the pair runs.
        let (ff, fw, fx) = match (&specs[first[i]], &specs[last[i]]) {
            (LayerSpec::UpSampling2d { .. }, conv) => {
                let upsampled = layers::build(&specs[first[i]], ls[i].input_shape()).unwrap();
                layer_flops(conv, upsampled.output_shape(), ls[i].output_shape())
            }
            (conv @ LayerSpec::Conv2d { .. }, LayerSpec::MaxPooling2d { .. }) => {
                let unpooled = layers::build(conv, ls[i].input_shape()).unwrap();
                layer_flops(conv, ls[i].input_shape(), unpooled.output_shape())
            }
            (spec, _) => layer_flops(spec, ls[i].input_shape(), ls[i].output_shape()),
        };
        let fb = fw + if need_dx { fx } else { 0.0 };
        let gf = |fl: f64, t: f64| if fl > 0.0 { format!("{:>7.1}", fl * BATCH as f64 / t / 1e9) } else { format!("{:>7}", "-") };
        emit(&format!(
            "{:<3} {:<20} {:<16} {:>8.3} {:>8.3} {:>8.3} {} {}",
            first[i],
            kind(i),
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
        "    {:<37} {:>8.3} {:>8.3} {:>8.3} ({:.1} GFLOP/s overall, {:.2} GFLOP per step)",
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

/// Bytes a memory-bound kernel must move at the least, and the buffers it touches.
/// Counting rule: every element of every operand it reads, once, plus every element it
/// writes, once (f32 4 bytes, max-pool's window-cell indices 1 byte); an operand updated
/// in place counts as read and written; per-channel vectors (bias, dbias) count too. Not
/// counted: what the caches add (re-reads, and the read of a line before it is written).
struct Traffic {
    read: usize,
    written: usize,
    /// Distinct bytes of its operands (in-place ones once): the working set, which decides
    /// the level of the cache hierarchy the kernel and its reference stream run from.
    footprint: usize,
}

/// `f()`, never inlined: in node a wasm function runs the code it was entered with (V8
/// swaps in optimized code at the next call, not within a running loop), so a kernel
/// inlined into `time_median`'s loop would be timed as Liftoff's baseline code throughout.
#[inline(never)]
fn call(f: &mut impl FnMut()) {
    f()
}

/// Seconds per call of `f`, a memory-bound kernel or stream: [`time_median`] of batches of
/// [`call`]s, each batch about 0.2 ms (a read of node's CPU-time clock costs around a
/// microsecond: a fifth of Adam on the conv model's 7,009 parameters). The first 20 ms of
/// calls size the batch and let V8 swap in optimized code (with 2 ms, the first stream
/// timed ran at two thirds of its speed).
fn time_calls(reps: usize, mut f: impl FnMut()) -> f64 {
    let (start, mut calls) = (now_seconds(), 0usize);
    while now_seconds() - start < 0.02 {
        call(&mut f);
        calls += 1;
    }
    let batch = (calls / 100).max(1);
    time_median(reps, || (0..batch).for_each(|_| call(&mut f))) / batch as f64
}

const F32: usize = 4;
const MB: f64 = 1e6;

/// Which `ceiling::memory` stream a kernel is measured against: the one that moves data
/// as it does. Read: it reduces (writes next to nothing); Update: it writes over operands
/// it reads (in place); Copy: it writes into other buffers than it reads.
#[derive(Clone, Copy)]
enum Stream {
    Read,
    Copy,
    Update,
}

/// GB/s of `stream` over a working set as large as the kernel's: `buf[..footprint]`, in two
/// halves (copy and update: source and destination), bytes counted by the same rule.
fn reference(stream: Stream, t: &Traffic, buf: &mut [f32], reps: usize) -> (f64, &'static str) {
    let n = t.footprint / F32;
    let (src, dst) = buf[..n].split_at_mut(n / 2);
    let dst = &mut dst[..n / 2];
    let (s, moved, name) = match stream {
        Stream::Read => (time_calls(reps, || _ = std::hint::black_box([memory::read(src), memory::read(dst)])), n / 2 * 2, "read"),
        Stream::Copy => (time_calls(reps, || memory::copy(src, dst)), n / 2 * 2, "copy"),
        Stream::Update => (time_calls(reps, || memory::update(src, dst)), n / 2 * 3, "update"),
    };
    let moved = (moved * F32) as f64;
    (moved / s / 1e9, name)
}

/// Times `f` (a library kernel moving `t`), then the `stream` it is measured against;
/// prints one row.
fn memory_kernel(name: &str, shape: &str, stream: Stream, t: Traffic, buf: &mut [f32], reps: usize, f: impl FnMut()) {
    let s = time_calls(reps, f);
    let moved = (t.read + t.written) as f64;
    let gbps = moved / s / 1e9;
    let (rg, r) = reference(stream, &t, buf, reps);
    emit(&format!(
        "{name:<22}  {shape:<24}  {:>8.3}  {:>8.2}  {gbps:>6.1}  {r:<6}  {rg:>8.1}  {:>7.0}%",
        s * 1e3,
        moved / MB,
        100.0 * gbps / rg
    ));
}

/// The memory-bound kernels of the four models' training steps, each at its largest shape
/// there, against this machine's memory speed (`ceiling::memory`) over the same working set.
/// The Conv2D forward's bias + ReLU is not among them: it happens in the micro-kernels'
/// stores. Sigmoid would be bias+ReLU's pass with another function; no model uses it.
fn memory_kernels() {
    use kernels::activation::activation_backward;
    use kernels::adam::adam_step;
    use kernels::bias::activation_backward_bias_grad_accumulate;
    use kernels::loss::{loss_and_grad, Loss};
    use kernels::pool2d::{max_pool2d_backward, max_pool2d_forward, Pool2dGeometry};
    use kernels::upsample2d::{upsample2d_backward, upsample2d_forward};
    use Stream::{Copy, Read, Update};
    let reps = 5;
    // Dense layers' outputs (the widest, 784 units) and every model's loss: 256×784.
    let (rows, cols) = (BATCH, 784);
    let n = rows * cols;
    // The conv model's big tensors: 28×28×32 around its first and last pooling/upsampling.
    let (big, small) = (BATCH * 28 * 28 * 32, BATCH * 14 * 14 * 32);
    // Reference streams run over the front of one buffer, filled so every page is backed
    // (an untouched page reads as the shared zero page: far faster than memory).
    let mut buf = vec![1.0f32; 2 * big];
    emit(&format!("== memory-bound kernels vs this machine's memory speed (best of {reps} rounds, CPU time)"));
    // The streams at the two tensor sizes: one buffer of that size (copy, update: two).
    for (shape, len) in [("256x784", n), ("256x28x28x32", big)] {
        let (src, dst) = buf.split_at_mut(len);
        let dst = &mut dst[..len];
        let gbps = |bytes: usize, s: f64| (bytes * len * F32) as f64 / s / 1e9;
        let r = gbps(1, time_calls(reps, || {
            std::hint::black_box(memory::read(src));
        }));
        let c = gbps(2, time_calls(reps, || memory::copy(src, dst)));
        let u = gbps(3, time_calls(reps, || memory::update(src, dst)));
        let f = gbps(1, time_calls(reps, || memory::fill(dst, 1.0)));
        emit(&format!("memory speed, {shape} f32 ({:.1} MB): read {r:.1}, copy {c:.1}, update {u:.1}, fill {f:.1} GB/s", (len * F32) as f64 / MB));
    }
    emit("GB/s = minimum bytes moved / time; ref = the stream that moves data as the kernel does (read: reduces; update: in place; copy: into other buffers), over a working set of the kernel's size");
    emit(&format!("{:<22}  {:<24}  {:>8}  {:>8}  {:>6}  {:<6}  {:>8}  {:>8}", "kernel", "shape", "ms", "MB moved", "GB/s", "ref", "ref GB/s", "% of ref"));

    // Dense: y = relu(y + b) in place; dy ← relu'(y)·dy in place; db = Σ dy.
    let (y, mut dy, bias, mut db) = (random(1, n, -1.0, 1.0), random(2, n, -1.0, 1.0), random(3, cols, -0.1, 0.1), vec![0.0; cols]);
    let mut out = y.clone();
    let (dn, bc) = ("256x784", cols * F32);
    let t = Traffic { read: n * F32 + bc, written: n * F32, footprint: n * F32 + bc };
    memory_kernel("bias+ReLU", dn, Update, t, &mut buf, reps, || bias_activation_forward(rows, cols, &mut out, &bias, Activation::Relu));
    let t = Traffic { read: 2 * n * F32, written: n * F32, footprint: 2 * n * F32 };
    memory_kernel("ReLU'", dn, Update, t, &mut buf, reps, || activation_backward(Activation::Relu, &y, &mut dy));
    let t = Traffic { read: n * F32, written: bc, footprint: n * F32 + bc };
    memory_kernel("bias grad", dn, Read, t, &mut buf, reps, || bias_grad(rows, cols, &dy, &mut db));
    // Every model's loss: pred and target in, gradient out (the model splits it into
    // LOSS_CHUNK chunks across threads; one thread runs the same chunks).
    let t = Traffic { read: 2 * n * F32, written: n * F32, footprint: 3 * n * F32 };
    memory_kernel("MSE + grad", dn, Copy, t, &mut buf, reps, || {
        std::hint::black_box(loss_and_grad(Loss::MeanSquaredError, &y, &dy, &mut out));
    });
    // Adam over each model's parameters: p, g, m, v in; p, m, v out, in place.
    for (model, params) in [("vanilla", 101_200), ("deep", 1_149_520), ("conv", 7_009)] {
        let (mut p, g, mut m, mut v) = (random(4, params, -1.0, 1.0), random(5, params, -1.0, 1.0), vec![0.0; params], vec![0.0; params]);
        let t = Traffic { read: 4 * params * F32, written: 3 * params * F32, footprint: 4 * params * F32 };
        memory_kernel(&format!("Adam, {model}"), &format!("{params} params"), Update, t, &mut buf, reps, || {
            adam_step(&mut p, &g, &mut m, &mut v, 1e-3, 0.1, 1e-3, 1e-7)
        });
    }

    // Conv: the first Conv2D's backward pass over its 256×28×28×32 output (the layer runs it
    // sample by sample, between the kernel-gradient and input-gradient passes).
    let (cy, mut cdy, mut cdb) = (random(6, big, -1.0, 1.0), random(7, big, -1.0, 1.0), vec![0.0; 32]);
    let t = Traffic { read: 2 * big * F32 + 32 * F32, written: big * F32 + 32 * F32, footprint: 2 * big * F32 };
    memory_kernel("ReLU'+bias grad (conv)", "256x28x28x32", Update, t, &mut buf, reps, || {
        activation_backward_bias_grad_accumulate(Activation::Relu, BATCH * 28 * 28, 32, &cy, &mut cdy, &mut cdb)
    });
    drop(cdy);
    // Max-pool 2×2/2 'same' 28×28×32 → 14×14×32 with one-byte window-cell indices, as the
    // layer keeps them; then the last UpSampling2D, 2×2 14×14×32 → 28×28×32.
    let g = Pool2dGeometry { in_h: 28, in_w: 28, channels: 32, pool_h: 2, pool_w: 2, stride_h: 2, stride_w: 2, padding: Padding::Same };
    let (mut pooled, mut arg, mut dx) = (vec![0.0; small], vec![0u8; small], vec![0.0; big]);
    let (pool, up, index) = ("256x28x28x32 -> 14x14x32", "256x14x14x32 -> 28x28x32", small);
    let (fwd, bwd) = (Traffic { read: big * F32, written: small * F32 + index, footprint: (big + small) * F32 + index }, Traffic { read: small * F32 + index, written: big * F32, footprint: (big + small) * F32 + index });
    memory_kernel("max-pool fwd", pool, Copy, fwd, &mut buf, reps, || max_pool2d_forward(&g, BATCH, &cy, &mut pooled, &mut arg));
    memory_kernel("max-pool bwd", pool, Copy, bwd, &mut buf, reps, || max_pool2d_backward(&g, BATCH, &pooled, &arg, &mut dx));
    let (fwd, bwd) = (Traffic { read: small * F32, written: big * F32, footprint: (small + big) * F32 }, Traffic { read: big * F32, written: small * F32, footprint: (small + big) * F32 });
    // At this size the convolutional model no longer calls these (its UpSampling2D is fused
    // into the next Conv2D); they run unfused for smaller images and other models.
    memory_kernel("upsample fwd (unfused)", up, Copy, fwd, &mut buf, reps, || upsample2d_forward(BATCH, 14, 14, 32, 2, 2, &pooled, &mut dx));
    memory_kernel("upsample bwd (unfused)", up, Copy, bwd, &mut buf, reps, || upsample2d_backward(BATCH, 14, 14, 32, 2, 2, &cy, &mut pooled));
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
