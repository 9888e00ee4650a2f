//! Kernel microbenchmark: GFLOP/s (2·m·n·k per GEMM) of `gemm` on the shapes the layers
//! use, and of the three convolution kernels on the convolutional model's layers. A script
//! that prints figures, not a test.
//!
//! `crate/dev/bench.sh` runs it natively and, when the wasm32 target and node are
//! available, as wasm with SIMD128 in node. To compare with another commit, `bench.sh
//! baseline REF` builds that commit in a git worktree and runs both, one after the other.

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use crate::ceiling;
use crate::host::{emit, now_seconds};
use wasm_autoencoders_core::kernels;
use wasm_autoencoders_core::kernels::conv2d::Conv2dGeometry;
use wasm_autoencoders_core::kernels::gemm::{MatMut, MatRef, Store};
use wasm_autoencoders_core::kernels::Padding;

/// (name, m, n, k, trans_a, trans_b): dense forward NN, its weight gradient TN (Xᵀ·dY)
/// and input gradient NT (dY·Wᵀ); conv per image (im2col) NN and the TN/NT counterparts.
const SHAPES: &[(&str, usize, usize, usize, bool, bool)] = &[
    ("dense fwd 256x784->64   NN", 256, 64, 784, false, false),
    ("dense dW  784x64 (k256) TN", 784, 64, 256, true, false),
    ("dense dX  256x784 (k64) NT", 256, 784, 64, false, true),
    ("dense fwd 256x64->784   NN", 256, 784, 64, false, false),
    ("dense dW  64x784 (k256) TN", 64, 784, 256, true, false),
    ("dense dX  256x64 (k784) NT", 256, 64, 784, false, true),
    ("dense fwd 256x784->512  NN", 256, 512, 784, false, false),
    ("dense dW  784x512       TN", 784, 512, 256, true, false),
    ("dense dX  256x784 (k512)NT", 256, 784, 512, false, true),
    ("dense fwd 256x512->256  NN", 256, 256, 512, false, false),
    ("dense fwd 256x128->64   NN", 256, 64, 128, false, false),
    ("conv fwd  784x32 k9     NN", 784, 32, 9, false, false),
    ("conv dK   9x32 k784     TN", 9, 32, 784, true, false),
    ("conv dcol 784x9 k32     NT", 784, 9, 32, false, true),
    ("conv fwd  196x8 k288    NN", 196, 8, 288, false, false),
    ("conv dK   288x8 k196    TN", 288, 8, 196, true, false),
    ("conv dcol 196x288 k8    NT", 196, 288, 8, false, true),
    ("conv fwd  784x1 k288    NN", 784, 1, 288, false, false),
    ("conv dK   288x1 k784    TN", 288, 1, 784, true, false),
    ("conv dcol 784x288 k1    NT", 784, 288, 1, false, true),
];

/// The convolutional model's Conv2D layers: (in_h, in_w, in_c, out_c, padding), 3×3 kernels.
const CONVS: &[(usize, usize, usize, usize, Padding)] = &[
    (28, 28, 1, 32, Padding::Same),
    (14, 14, 32, 8, Padding::Same),
    (7, 7, 8, 8, Padding::Same),
    (4, 4, 8, 8, Padding::Same),
    (8, 8, 8, 8, Padding::Same),
    (16, 16, 8, 32, Padding::Valid),
    (28, 28, 32, 1, Padding::Same),
];

/// Images per timed conv call.
const CONV_BATCH: usize = 16;

type Gemm = fn(MatRef, MatRef, MatMut, Store);

/// A `rows × cols` operand stored row-major, or stored as its transpose (the tables' flags).
pub(crate) fn operand(data: &[f32], rows: usize, cols: usize, transposed: bool) -> MatRef<'_> {
    if transposed {
        MatRef::new(data, cols, rows).t()
    } else {
        MatRef::new(data, rows, cols)
    }
}

fn data(len: usize, mul: usize) -> Vec<f32> {
    (0..len).map(|i| ((i * mul) % 1000) as f32 / 1000.0 - 0.5).collect()
}

/// Calls per second of `f`: the best of `rounds` timed batches, each at least
/// `min_seconds` long, after one warm-up call.
fn rate(mut f: impl FnMut(), rounds: usize, min_seconds: f64) -> f64 {
    f();
    let mut best = 0.0f64;
    for _ in 0..rounds {
        let (start, mut calls) = (now_seconds(), 0u64);
        let mut elapsed = 0.0;
        while elapsed < min_seconds {
            f();
            calls += 1;
            elapsed = now_seconds() - start;
        }
        best = best.max(calls as f64 / elapsed);
    }
    best
}

/// GFLOP/s of `fs` (timed alternately, so drifts in machine load hit all alike).
fn gemm_gflops(fs: &[Gemm], m: usize, n: usize, k: usize, ta: bool, tb: bool) -> Vec<f64> {
    let a = data(m * k, 7919);
    let b = data(k * n, 104_729);
    let mut c = vec![0.0f32; m * n];
    let flops = 2.0 * (m * n * k) as f64;
    let mut best = vec![0.0f64; fs.len()];
    for _ in 0..3 {
        for (f, best) in fs.iter().zip(&mut best) {
            let r = rate(
                || f(operand(&a, m, k, ta), operand(&b, k, n, tb), MatMut::new(&mut c, m, n), Store::Overwrite),
                1,
                0.05,
            );
            *best = best.max(r * flops / 1e9);
        }
    }
    std::hint::black_box(&c);
    best
}

/// A conv kernel: (geometry, batch, two inputs, the output, scratch).
type ConvKernel = fn(&Conv2dGeometry, usize, &[f32], &[f32], &mut [f32], &mut [f32]);

/// The three conv kernels of one implementation, with the im2col scratch they need.
struct Conv {
    forward: ConvKernel,
    backward_kernel: ConvKernel,
    backward_input: ConvKernel,
}

/// GFLOP/s of forward, dK and dX for each implementation.
fn conv_gflops(impls: &[(Conv, usize)], g: &Conv2dGeometry) -> Vec<[f64; 3]> {
    let b = CONV_BATCH;
    let x = data(b * g.input_len(), 7919);
    let kernel = data(g.kernel_len(), 104_729);
    let dy = data(b * g.output_len(), 3571);
    let mut y = vec![0.0f32; dy.len()];
    let mut dx = vec![0.0f32; x.len()];
    let mut dk = vec![0.0f32; kernel.len()];
    let flops = 2.0 * (b * g.output_len() * g.kernel_h * g.kernel_w * g.in_c) as f64;
    let mut best = vec![[0.0f64; 3]; impls.len()];
    for _ in 0..3 {
        for ((conv, scratch), best) in impls.iter().zip(&mut best) {
            let mut cols = vec![0.0f32; *scratch];
            let rates = [
                rate(|| (conv.forward)(g, b, &x, &kernel, &mut y, &mut cols), 1, 0.03),
                rate(|| (conv.backward_kernel)(g, b, &x, &dy, &mut dk, &mut cols), 1, 0.03),
                rate(|| (conv.backward_input)(g, b, &dy, &kernel, &mut dx, &mut cols), 1, 0.03),
            ];
            for (best, r) in best.iter_mut().zip(rates) {
                *best = best.max(r * flops / 1e9);
            }
        }
    }
    std::hint::black_box((&y, &dx, &dk));
    best
}

fn gemms() -> Vec<(&'static str, Gemm)> {
    vec![("gemm", kernels::gemm::gemm)]
}

fn convs(g: &Conv2dGeometry) -> Vec<(Conv, usize)> {
    use kernels::conv2d as c;
    vec![(
        Conv {
            forward: c::conv2d_forward,
            backward_kernel: c::conv2d_backward_kernel,
            backward_input: c::conv2d_backward_input,
        },
        g.cols_len(),
    )]
}

/// The ceiling (see ceiling.rs), GFLOP/s; compare kernels to it, since the clock of a shared
/// machine varies. Natively LLVM sees through a register-only loop (and the target has FMA
/// and wider vectors): no meaningful ceiling, NaN.
fn peak_gflops() -> f64 {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        let n = 10_000_000;
        let x = std::hint::black_box(1e-9f32);
        rate(
            || {
                std::hint::black_box(ceiling::run(n, x));
            },
            3,
            0.1,
        ) * (n * ceiling::FLOPS_PER_ITERATION) as f64
            / 1e9
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    f64::NAN
}

/// `flags`: bit 0 = GEMM shapes, bit 1 = conv layers, bit 2 = also time `gemm_reference`.
#[no_mangle]
pub extern "C" fn run_with(flags: u32) {
    let mut fs = gemms();
    if flags & 4 != 0 {
        fs.push(("reference", kernels::gemm::gemm_reference));
    }
    let head: String = fs.iter().map(|(name, _)| format!(" {name:>10}")).collect();
    let ratio_head = if fs.len() > 1 { format!(" {:>8}", format!("{}/{}", "new", "2nd")) } else { String::new() };
    let mut logs = vec![0.0f64; fs.len()];
    let peak = peak_gflops();
    emit(&format!("ceiling (f32x4 mul+add, 8 register accumulators): {peak:.1} GFLOP/s"));
    if flags & 1 != 0 {
        emit(&format!("{:<28}{head}{ratio_head}   (GFLOP/s)", "GEMM shape"));
        let funcs: Vec<Gemm> = fs.iter().map(|&(_, f)| f).collect();
        for &(name, m, n, k, ta, tb) in SHAPES {
            let g = gemm_gflops(&funcs, m, n, k, ta, tb);
            let cols: String = g.iter().map(|v| format!(" {v:>10.2}")).collect();
            let ratio = if g.len() > 1 { format!(" {:>7.2}x", g[0] / g[1]) } else { String::new() };
            emit(&format!("{name:<28}{cols}{ratio}"));
            for (l, v) in logs.iter_mut().zip(&g) {
                *l += v.ln();
            }
        }
        let count = SHAPES.len() as f64;
        let cols: String = logs.iter().map(|l| format!(" {:>10.2}", (l / count).exp())).collect();
        emit(&format!("{:<28}{cols}   (geometric mean)", "all"));
    }
    if flags & 2 != 0 {
        let names = ["current"];
        emit(&format!("conv layers, batch {CONV_BATCH}: forward / dkernel / dinput GFLOP/s ({})", names.join(" | ")));
        let mut total = vec![[0.0f64; 3]; names.len()];
        for &c in CONVS {
            let g = geom(c);
            let impls = convs(&g);
            let r = conv_gflops(&impls, &g);
            let cols: Vec<String> = r.iter().map(|v| format!("{:>6.1} {:>6.1} {:>6.1}", v[0], v[1], v[2])).collect();
            let ratio = if r.len() > 1 {
                format!("   ×{:.2} ×{:.2} ×{:.2}", r[0][0] / r[1][0], r[0][1] / r[1][1], r[0][2] / r[1][2])
            } else {
                String::new()
            };
            let label = format!("{}x{}x{}->{} {:?}", c.0, c.1, c.2, c.3, c.4);
            emit(&format!("{label:<22} {}{ratio}", cols.join("  |  ")));
            for (t, v) in total.iter_mut().zip(&r) {
                for i in 0..3 {
                    t[i] += v[i].ln();
                }
            }
        }
        let n = CONVS.len() as f64;
        let cols: Vec<String> = total
            .iter()
            .map(|t| format!("{:>6.1} {:>6.1} {:>6.1}", (t[0] / n).exp(), (t[1] / n).exp(), (t[2] / n).exp()))
            .collect();
        emit(&format!("{:<22} {}   (geometric mean)", "all", cols.join("  |  ")));
    }
}

fn geom(c: (usize, usize, usize, usize, Padding)) -> Conv2dGeometry {
    Conv2dGeometry::new([c.0, c.1, c.2], [3, 3], c.3, c.4).unwrap()
}

#[no_mangle]
pub extern "C" fn run() {
    run_with(3);
}
