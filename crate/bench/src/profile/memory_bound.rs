//! Memory-bound kernels in GB/s against this machine's memory speed (`run_profile` bit 32).

use super::*;
use crate::ceiling::memory;
use crate::host::{emit, now_seconds};
use wasm_autoencoders_core::kernels::bias::{bias_activation_forward, bias_grad};
use wasm_autoencoders_core::kernels::{Activation, Padding};

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
        Stream::Read => {
            (time_calls(reps, || _ = std::hint::black_box([memory::read(src), memory::read(dst)])), n / 2 * 2, "read")
        }
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
pub(crate) fn memory_kernels() {
    use wasm_autoencoders_core::kernels::activation::activation_backward;
    use wasm_autoencoders_core::kernels::adam::{adam_step, AdamStep};
    use wasm_autoencoders_core::kernels::bias::activation_backward_bias_grad_accumulate;
    use wasm_autoencoders_core::kernels::loss::{loss_and_grad, Loss};
    use wasm_autoencoders_core::kernels::pool2d::{max_pool2d_backward, max_pool2d_forward, Pool2dGeometry};
    use wasm_autoencoders_core::kernels::upsample2d::{upsample2d_backward, upsample2d_forward, Upsampling};
    let upsampling = Upsampling { batch: BATCH, in_h: 14, in_w: 14, channels: 32, size_h: 2, size_w: 2 };
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
        let r = gbps(
            1,
            time_calls(reps, || {
                std::hint::black_box(memory::read(src));
            }),
        );
        let c = gbps(2, time_calls(reps, || memory::copy(src, dst)));
        let u = gbps(3, time_calls(reps, || memory::update(src, dst)));
        let f = gbps(1, time_calls(reps, || memory::fill(dst, 1.0)));
        emit(&format!(
            "memory speed, {shape} f32 ({:.1} MB): read {r:.1}, copy {c:.1}, update {u:.1}, fill {f:.1} GB/s",
            (len * F32) as f64 / MB
        ));
    }
    emit("GB/s = minimum bytes moved / time; ref = the stream that moves data as the kernel does (read: reduces; update: in place; copy: into other buffers), over a working set of the kernel's size");
    emit(&format!(
        "{:<22}  {:<24}  {:>8}  {:>8}  {:>6}  {:<6}  {:>8}  {:>8}",
        "kernel", "shape", "ms", "MB moved", "GB/s", "ref", "ref GB/s", "% of ref"
    ));

    // Dense: y = relu(y + b) in place; dy ← relu'(y)·dy in place; db = Σ dy.
    let (y, mut dy, bias, mut db) =
        (random(1, n, -1.0, 1.0), random(2, n, -1.0, 1.0), random(3, cols, -0.1, 0.1), vec![0.0; cols]);
    let mut out = y.clone();
    let (dn, bc) = ("256x784", cols * F32);
    let t = Traffic { read: n * F32 + bc, written: n * F32, footprint: n * F32 + bc };
    memory_kernel("bias+ReLU", dn, Update, t, &mut buf, reps, || {
        bias_activation_forward(rows, cols, &mut out, &bias, Activation::Relu)
    });
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
        let (mut p, g, mut m, mut v) =
            (random(4, params, -1.0, 1.0), random(5, params, -1.0, 1.0), vec![0.0; params], vec![0.0; params]);
        let t = Traffic { read: 4 * params * F32, written: 3 * params * F32, footprint: 4 * params * F32 };
        memory_kernel(&format!("Adam, {model}"), &format!("{params} params"), Update, t, &mut buf, reps, || {
            adam_step(&mut p, &g, &mut m, &mut v, &AdamStep { alpha: 1e-3, decay1: 0.1, decay2: 1e-3, epsilon: 1e-7 })
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
    let g = Pool2dGeometry::new([28, 28, 32], [2, 2], [2, 2], Padding::Same).unwrap();
    let (mut pooled, mut arg, mut dx) = (vec![0.0; small], vec![0u8; small], vec![0.0; big]);
    let (pool, up, index) = ("256x28x28x32 -> 14x14x32", "256x14x14x32 -> 28x28x32", small);
    let (fwd, bwd) = (
        Traffic { read: big * F32, written: small * F32 + index, footprint: (big + small) * F32 + index },
        Traffic { read: small * F32 + index, written: big * F32, footprint: (big + small) * F32 + index },
    );
    memory_kernel("max-pool fwd", pool, Copy, fwd, &mut buf, reps, || {
        max_pool2d_forward(&g, BATCH, &cy, &mut pooled, &mut arg)
    });
    memory_kernel("max-pool bwd", pool, Copy, bwd, &mut buf, reps, || {
        max_pool2d_backward(&g, BATCH, &pooled, &arg, &mut dx)
    });
    let (fwd, bwd) = (
        Traffic { read: small * F32, written: big * F32, footprint: (small + big) * F32 },
        Traffic { read: big * F32, written: small * F32, footprint: (small + big) * F32 },
    );
    // At this size the convolutional model no longer calls these (its UpSampling2D is fused
    // into the next Conv2D); they run unfused for smaller images and other models.
    memory_kernel("upsample fwd (unfused)", up, Copy, fwd, &mut buf, reps, || {
        upsample2d_forward(&upsampling, &pooled, &mut dx)
    });
    memory_kernel("upsample bwd (unfused)", up, Copy, bwd, &mut buf, reps, || {
        upsample2d_backward(&upsampling, &cy, &mut pooled)
    });
}
