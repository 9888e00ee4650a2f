//! Test helpers shared by kernel and layer tests (compiled only under `cfg(test)`).
//!
//! # Test attribute: write every test as
//!
//! ```ignore
//! use crate::testing::wasm_bindgen_test;
//!
//! #[wasm_bindgen_test(unsupported = test)]
//! fn adds_up() { /* ... */ }
//! ```
//!
//! Why: `wasm-bindgen-test-runner` (0.3.80) only runs functions registered by
//! `#[wasm_bindgen_test]`; a plain `#[test]` compiles for wasm32 but is never run there
//! (its README: "The normal `#[test]` cannot be used and will not work"). Conversely,
//! `#[wasm_bindgen_test]` alone is *not* a native test: natively it only marks the function
//! `allow(dead_code)`. Its `unsupported = test` argument adds
//! `#[cfg_attr(not(target_family = "wasm"), test)]`, so one attribute gives a libtest test
//! under `cargo test` and a runner test under
//! `cargo test --target wasm32-unknown-unknown` (`.cargo/config.toml` sets the runner).
//! `#[should_panic]` and `#[ignore]` work on both when written after it.
//!
//! # Checking an op
//! [`helper_test_op`] (after tinygrad's helper of the same name) is the one generic check:
//! fast forward vs reference forward, and, when a [`Backward`] is given, fast backward vs
//! reference backward and vs central finite differences of `<forward(inputs), dy>` for a
//! random upstream gradient `dy`. Tolerances are always explicit ([`Tolerance`]).

pub use wasm_bindgen_test::wasm_bindgen_test;

use crate::rng::Rng;

/// Elementwise tolerance: `|actual - expected| <= abs + rel * |expected|`.
#[derive(Clone, Copy, Debug)]
pub struct Tolerance {
    pub abs: f64,
    pub rel: f64,
}

impl Tolerance {
    pub const fn new(abs: f64, rel: f64) -> Self {
        Tolerance { abs, rel }
    }

    /// Bit-for-bit (also used for integer-valued results such as indices).
    pub const EXACT: Tolerance = Tolerance::new(0.0, 0.0);
}

/// `len` values uniform in `[lo, hi)`, the same for a seed on every platform.
pub fn random_vec(seed: u64, len: usize, lo: f32, hi: f32) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    (0..len).map(|_| rng.uniform(lo, hi)).collect()
}

/// Panics naming the first element out of tolerance, how many are, and the worst one.
/// NaN or infinity never matches anything except the identical value.
pub fn assert_close(what: &str, actual: &[f32], expected: &[f32], tol: Tolerance) {
    assert_eq!(actual.len(), expected.len(), "{what}: length {} != expected {}", actual.len(), expected.len());
    let mut first = None;
    let mut bad = 0usize;
    // The worst element by how far past its allowance it is (err / allowed).
    let mut worst: Option<(usize, f64)> = None;
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        let (a64, e64) = (a as f64, e as f64);
        let err = (a64 - e64).abs();
        let allowed = tol.abs + tol.rel * e64.abs();
        let ok = if a.is_finite() && e.is_finite() {
            err <= allowed
        } else {
            a.to_bits() == e.to_bits() || (a.is_nan() && e.is_nan())
        };
        if !ok {
            bad += 1;
            first.get_or_insert(i);
            let ratio = if err.is_finite() && allowed > 0.0 { err / allowed } else { f64::INFINITY };
            if worst.is_none_or(|(_, r)| ratio > r) {
                worst = Some((i, ratio));
            }
        }
    }
    if let (Some(i), Some((w, ratio))) = (first, worst) {
        panic!(
            "{what}: {bad} of {} elements out of tolerance (abs {}, rel {}); first at [{i}]: actual {} expected {}; \
             worst at [{w}]: actual {} expected {} (error {:.3e}, {ratio:.1}x the allowance)",
            actual.len(),
            tol.abs,
            tol.rel,
            actual[i],
            expected[i],
            actual[w],
            expected[w],
            (actual[w] as f64 - expected[w] as f64).abs(),
        );
    }
}

/// Central finite differences of a scalar function evaluated in f64, one coordinate at a time.
///
/// The step actually taken is measured from the perturbed f32 values, so rounding of
/// `x ± eps` to f32 does not bias the quotient.
pub fn numeric_gradient(x: &[f32], eps: f32, mut f: impl FnMut(&[f32]) -> f64) -> Vec<f64> {
    let mut probe = x.to_vec();
    (0..x.len())
        .map(|i| {
            let (up, down) = (x[i] + eps, x[i] - eps);
            probe[i] = up;
            let f_up = f(&probe);
            probe[i] = down;
            let f_down = f(&probe);
            probe[i] = x[i];
            (f_up - f_down) / (up as f64 - down as f64)
        })
        .collect()
}

/// Compares an analytic gradient of `f` at `x` with [`numeric_gradient`].
pub fn assert_gradient(
    what: &str,
    analytic: &[f32],
    x: &[f32],
    eps: f32,
    tol: Tolerance,
    f: impl FnMut(&[f32]) -> f64,
) {
    let numeric: Vec<f32> = numeric_gradient(x, eps, f).into_iter().map(|g| g as f32).collect();
    assert_close(&format!("{what} (vs finite differences)"), analytic, &numeric, tol);
}

/// Forward of an op under test: `(inputs, output)`. The output buffer arrives filled with
/// NaN, so a kernel that leaves an element unwritten fails; an op that accumulates into its
/// output copies its own initial value in first.
pub type ForwardFn<'a> = &'a dyn Fn(&[&[f32]], &mut [f32]);

/// Backward of an op under test: `(inputs, dy, grads)`, where `grads[i]` (NaN-filled, the
/// length of `inputs[wrt[i]]`) receives `d<output, dy>/d inputs[wrt[i]]`.
pub type BackwardFn<'a> = &'a dyn Fn(&[&[f32]], &[f32], &mut [Vec<f32>]);

/// The backward half of [`helper_test_op`].
#[derive(Clone, Copy)]
pub struct Backward<'a> {
    /// Indices of the inputs that get a gradient, in the order `grads` is filled.
    pub wrt: &'a [usize],
    pub fast: BackwardFn<'a>,
    pub reference: BackwardFn<'a>,
    /// Fast backward vs reference backward.
    pub tol: Tolerance,
    /// Finite-difference step.
    pub eps: f32,
    /// Fast backward vs finite differences of the reference forward.
    pub numeric_tol: Tolerance,
}

/// tinygrad's `helper_test_op`: one generic check for any kernel.
///
/// 1. `forward` vs `forward_reference` on `inputs` (within `tol`);
/// 2. with `backward`: a random upstream gradient `dy` (seeded, in [-1, 1)), then fast vs
///    reference gradients (within `backward.tol`), and fast gradients vs central finite
///    differences of `<forward_reference(inputs), dy>` (within `backward.numeric_tol`).
pub fn helper_test_op(
    name: &str,
    inputs: &[Vec<f32>],
    output_len: usize,
    forward: ForwardFn<'_>,
    forward_reference: ForwardFn<'_>,
    tol: Tolerance,
    backward: Option<Backward<'_>>,
) {
    let views: Vec<&[f32]> = inputs.iter().map(Vec::as_slice).collect();
    let run = |f: ForwardFn<'_>, xs: &[&[f32]]| {
        let mut out = vec![f32::NAN; output_len];
        f(xs, &mut out);
        out
    };
    let expected = run(forward_reference, &views);
    let actual = run(forward, &views);
    assert_close(&format!("{name}: forward"), &actual, &expected, tol);

    let Some(bw) = backward else { return };
    let dy = random_vec(0xD1 ^ output_len as u64, output_len, -1.0, 1.0);
    let grads = |f: BackwardFn<'_>| {
        let mut g: Vec<Vec<f32>> = bw.wrt.iter().map(|&i| vec![f32::NAN; inputs[i].len()]).collect();
        f(&views, &dy, &mut g);
        g
    };
    let fast = grads(bw.fast);
    let reference = grads(bw.reference);
    for (slot, &i) in bw.wrt.iter().enumerate() {
        assert_close(&format!("{name}: backward d/input{i} vs reference"), &fast[slot], &reference[slot], bw.tol);
        let projected = |xi: &[f32]| {
            let mut xs = views.clone();
            xs[i] = xi;
            let out = run(forward_reference, &xs);
            out.iter().zip(&dy).map(|(&o, &d)| o as f64 * d as f64).sum::<f64>()
        };
        assert_gradient(
            &format!("{name}: backward d/input{i}"),
            &fast[slot],
            inputs[i].as_slice(),
            bw.eps,
            bw.numeric_tol,
            projected,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The wasm test build must exercise the SIMD128 kernels, not the portable ones.
    #[wasm_bindgen_test(unsupported = test)]
    fn wasm_builds_have_simd128() {
        assert_eq!(cfg!(target_arch = "wasm32"), cfg!(all(target_arch = "wasm32", target_feature = "simd128")));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn numeric_gradient_of_a_cubic() {
        let x = [0.5f32, -1.25, 2.0];
        let g = numeric_gradient(&x, 1e-2, |v| v.iter().map(|&t| (t as f64).powi(3)).sum());
        for (gi, &xi) in g.iter().zip(&x) {
            assert!((gi - 3.0 * (xi as f64).powi(2)).abs() < 1e-3, "{gi} vs {}", 3.0 * xi * xi);
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    #[should_panic(expected = "worst at [2]")]
    fn assert_close_reports_the_worst_element() {
        assert_close("demo", &[1.0, 2.5, 9.0], &[1.0, 2.0, 3.0], Tolerance::new(0.1, 0.0));
    }

    #[wasm_bindgen_test(unsupported = test)]
    #[should_panic(expected = "out of tolerance")]
    fn assert_close_rejects_nan() {
        assert_close("nan", &[f32::NAN], &[0.0], Tolerance::new(1.0, 1.0));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn helper_checks_a_square_op() {
        let square: ForwardFn = &|xs, out| {
            for (o, &x) in out.iter_mut().zip(xs[0]) {
                *o = x * x;
            }
        };
        let grad: BackwardFn = &|xs, dy, g| {
            for ((gi, &x), &d) in g[0].iter_mut().zip(xs[0]).zip(dy) {
                *gi = 2.0 * x * d;
            }
        };
        let bw = Backward {
            wrt: &[0],
            fast: grad,
            reference: grad,
            tol: Tolerance::EXACT,
            eps: 1e-2,
            numeric_tol: Tolerance::new(1e-4, 1e-4),
        };
        helper_test_op("square", &[random_vec(1, 7, -2.0, 2.0)], 7, square, square, Tolerance::EXACT, Some(bw));
    }
}

/// Counts heap allocations made by the current thread, so a test can assert that a hot
/// path (the training step) allocates nothing once warmed up.
mod allocation_counter {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    thread_local! {
        static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
    }

    pub struct CountingAllocator;

    fn count() {
        // `try_with`: the allocator may run while thread-locals are being torn down.
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
    }

    unsafe impl GlobalAlloc for CountingAllocator {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            count();
            unsafe { System.alloc(layout) }
        }
        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            count();
            unsafe { System.alloc_zeroed(layout) }
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            count();
            unsafe { System.realloc(ptr, layout, new_size) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    #[global_allocator]
    static GLOBAL: CountingAllocator = CountingAllocator;

    /// How many allocations `f` made on this thread.
    pub fn allocations_during(f: impl FnOnce()) -> usize {
        let before = ALLOCATIONS.with(Cell::get);
        f();
        ALLOCATIONS.with(Cell::get) - before
    }
}

pub use allocation_counter::allocations_during;
