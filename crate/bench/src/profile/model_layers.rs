//! Per-layer forward/backward times of one training step (`run_profile` bits 1, 2, 4, 64).

use super::*;
use crate::host::{emit, now_seconds};
use wasm_autoencoders_core::kernels::conv2d::{Conv2dBackward, Conv2dForward, Conv2dGeometry, Conv2dGrads, Conv2dOp};
use wasm_autoencoders_core::layers::{self, shape_len, BackwardPass, LayerSpec};
use wasm_autoencoders_core::model;
use wasm_autoencoders_core::rng;

/// With `fused`, Conv2D layers are timed through the plain `Conv2dOp`'s forward and
/// backward (what the layer would call to adopt them) instead of the layer's own
/// forward/backward; the other layers and the train_step line are unchanged.
pub(crate) fn profile_model(name: &str, input_shape: &[usize], specs: &[LayerSpec], reps: usize, fused: bool) {
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
    let kind = |i: usize| {
        if first[i] < last[i] {
            format!("{}+{}", specs_kind(&specs[first[i]]), specs_kind(&specs[last[i]]))
        } else {
            specs_kind(&specs[first[i]]).to_string()
        }
    };
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
    emit(&format!(
        "{:<3} {:<20} {:<16} {:>8} {:>8} {:>8} {:>7} {:>7}",
        "#", "layer", "output", "fwd", "bwd", "total", "fwdGF", "bwdGF"
    ));
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
                Some((
                    Conv2dGeometry::new([h, w, c], kernel, filters, padding)
                        .expect("the layer built, so its geometry is valid"),
                    activation,
                ))
            }
            _ => None,
        };
        let (t_f, t_b);
        if let Some((g, act)) = conv {
            {
                let mut cols = vec![0.0; g.cols_len()];
                let (k, b) = params[i].split_at(g.kernel_len());
                let op = Conv2dOp::Plain(g);
                t_f = time_median(reps, || {
                    let (y, scratch) = (&mut output[..], &mut cols[..]);
                    op.forward(
                        BATCH,
                        Conv2dForward { x: input, kernel: k, bias: b, activation: act, y, argmax: &mut [], scratch },
                    )
                });
                let (dk, db) = grads[i].split_at_mut(g.kernel_len());
                t_b = time_median(reps, || {
                    dy.copy_from_slice(&dy0);
                    let dx = if need_dx { Some(&mut dx[..]) } else { None };
                    let grads = Conv2dGrads { dkernel: &mut *dk, dbias: &mut *db };
                    let args = Conv2dBackward {
                        x: input,
                        y: output,
                        dy: &mut dy,
                        argmax: &[],
                        kernel: k,
                        activation: act,
                        grads,
                        dx,
                        scratch: &mut cols,
                    };
                    op.backward(BATCH, args);
                });
            }
        } else {
            t_f = time_median(reps, || ls[i].forward(BATCH, &params[i], input, output));
            t_b = time_median(reps, || {
                dy.copy_from_slice(&dy0);
                let dx = if need_dx { Some(&mut dx[..]) } else { None };
                ls[i].backward(
                    BATCH,
                    &params[i],
                    BackwardPass { x: input, y: output, dy: &mut dy, grads: &mut grads[i], dx },
                );
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
        let gf = |fl: f64, t: f64| {
            if fl > 0.0 {
                format!("{:>7.1}", fl * BATCH as f64 / t / 1e9)
            } else {
                format!("{:>7}", "-")
            }
        };
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
        m.train_step(&x, &x[..BATCH * shape_len(&shape)], BATCH).unwrap();
    });
    emit(&format!(
        "    train_step {:>8.3} ms  → epoch (48,000 images) ≈ {:.2} s",
        t_step * 1e3,
        t_step * BATCHES_PER_EPOCH
    ));
}
