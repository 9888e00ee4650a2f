//! Losses, reduced like Keras: the mean over ALL elements (batch × features).
//!
//! The fast path computes each term in f32 and sums in f64 (MSE through eight independent
//! partial sums, as four two-lane f64 accumulators: the same sums, bit for bit, as the
//! scalar loop, which on wasm SIMD it was measured to run 4× faster than); the reference
//! does everything in f64. Binary cross-entropy (two logarithms a term) stays scalar.

use super::simd::{D2, V4};

/// A loss function, as Keras names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loss {
    MeanSquaredError,
    /// Keras `binary_crossentropy` with `from_logits=False`.
    BinaryCrossentropy,
}

/// Keras' `epsilon()`: BCE clips predictions to `[EPSILON, 1 - EPSILON]` (in f32).
const EPSILON: f32 = 1e-7;
const ONE_MINUS_EPSILON: f32 = 1.0 - EPSILON;

/// Losses are summed chunk by chunk, `LOSS_CHUNK` elements each, and the chunk sums added
/// in order: a caller that splits the chunks across threads (the model does) gets the same
/// sum, bit for bit, as one thread.
pub const LOSS_CHUNK: usize = 1 << 14;

/// Elements of chunk `c` of a buffer of `len` elements.
pub fn loss_chunk(c: usize, len: usize) -> std::ops::Range<usize> {
    c * LOSS_CHUNK..((c + 1) * LOSS_CHUNK).min(len)
}

/// The mean loss over all elements.
pub fn loss_value(kind: Loss, pred: &[f32], target: &[f32]) -> f32 {
    assert_eq!(pred.len(), target.len(), "loss_value: pred and target lengths differ");
    if pred.is_empty() {
        return 0.0;
    }
    let sum: f64 = pred
        .chunks(LOSS_CHUNK)
        .zip(target.chunks(LOSS_CHUNK))
        .map(|(p, t)| match kind {
            Loss::MeanSquaredError => squared_error_sum(p, t, None),
            Loss::BinaryCrossentropy => p.iter().zip(t).map(|(&p, &t)| bce_term(p, t) as f64).sum(),
        })
        .sum();
    (sum / pred.len() as f64) as f32
}

/// grad = dLoss/dpred (overwritten); returns the loss.
pub fn loss_and_grad(kind: Loss, pred: &[f32], target: &[f32], grad: &mut [f32]) -> f32 {
    assert_eq!(pred.len(), target.len(), "loss_and_grad: pred and target lengths differ");
    assert_eq!(pred.len(), grad.len(), "loss_and_grad: grad length differs");
    let len = pred.len();
    if len == 0 {
        return 0.0;
    }
    let mut sum = 0.0f64;
    for c in 0..len.div_ceil(LOSS_CHUNK) {
        let r = loss_chunk(c, len);
        sum += loss_sum_and_grad(kind, &pred[r.clone()], &target[r.clone()], &mut grad[r], len);
    }
    (sum / len as f64) as f32
}

/// One chunk of [`loss_and_grad`]: returns the sum of the chunk's loss terms (f64) and writes
/// grad = ∂(mean loss over all `total` elements of the batch)/∂pred for the chunk's elements.
pub fn loss_sum_and_grad(kind: Loss, pred: &[f32], target: &[f32], grad: &mut [f32], total: usize) -> f64 {
    assert!(pred.len() == target.len() && pred.len() == grad.len(), "loss_sum_and_grad: lengths differ");
    assert!(total >= pred.len(), "loss_sum_and_grad: total smaller than the chunk");
    let inv_n = 1.0 / total as f32;
    match kind {
        Loss::MeanSquaredError => squared_error_sum(pred, target, Some((grad, 2.0 * inv_n))),
        Loss::BinaryCrossentropy => {
            let mut sum = 0.0f64;
            for ((g, &p), &t) in grad.iter_mut().zip(pred).zip(target) {
                sum += bce_term(p, t) as f64;
                *g = if clipped(p) { 0.0 } else { (p - t) / (p * (1.0 - p)) * inv_n };
            }
            sum
        }
    }
}

/// Independent f64 partial sums of [`squared_error_sum`].
const LANES: usize = 8;

/// Σ (pred - target)² with each difference d computed and squared in f32 and summed in f64,
/// and with `grad`, grad[i] = scale·d. Element i goes to partial sum i % LANES, and the
/// partials are added pairwise at the end: the adds of LANES chains overlap instead of
/// each waiting on the previous one, and the order depends only on the length, so
/// [`loss_value`] and [`loss_and_grad`] return the same loss, on every path.
///
/// Eight elements a step: their squares (two [`V4`]) widened to f64 pairs, so lane l of the
/// four accumulators is partial sum l, as in the scalar definition
/// (`squared_error_sum_scalar`); the tail goes to partial sums 0.. in order, as there.
#[inline(always)]
fn squared_error_sum(pred: &[f32], target: &[f32], mut grad: Option<(&mut [f32], f32)>) -> f64 {
    let len = pred.len();
    assert!(target.len() == len && grad.as_ref().is_none_or(|(g, _)| g.len() == len));
    let body = len / LANES * LANES;
    let mut acc = [D2::zero(); LANES / 2];
    let scale = V4::splat(grad.as_ref().map_or(0.0, |g| g.1));
    for i in (0..body).step_by(LANES) {
        for half in 0..2 {
            let at = i + 4 * half;
            // SAFETY: at + 4 <= body <= len for pred, target and grad.
            unsafe {
                let d = V4::load(pred.as_ptr().add(at)).sub(V4::load(target.as_ptr().add(at)));
                let [lo, hi] = d.mul(d).widen();
                acc[2 * half] = acc[2 * half].add(lo);
                acc[2 * half + 1] = acc[2 * half + 1].add(hi);
                if let Some((g, _)) = grad.as_mut() {
                    scale.mul(d).store(g.as_mut_ptr().add(at));
                }
            }
        }
    }
    let mut lanes = [0.0f64; LANES];
    for (l, a) in lanes.chunks_exact_mut(2).zip(acc) {
        l.copy_from_slice(&a.lanes());
    }
    for (l, (&p, &t)) in pred[body..].iter().zip(&target[body..]).enumerate() {
        let d = p - t;
        lanes[l] += (d * d) as f64;
        if let Some((g, scale)) = grad.as_mut() {
            g[body + l] = *scale * d;
        }
    }
    sum_lanes(lanes)
}

/// [`squared_error_sum`] element by element: the order of operations the vector code must
/// keep, bit for bit.
#[cfg(test)]
fn squared_error_sum_scalar(pred: &[f32], target: &[f32], mut grad: Option<(&mut [f32], f32)>) -> f64 {
    let mut acc = [0.0f64; LANES];
    for (i, (&p, &t)) in pred.iter().zip(target).enumerate() {
        let d = p - t;
        acc[i % LANES] += (d * d) as f64;
        if let Some((g, scale)) = grad.as_mut() {
            g[i] = *scale * d;
        }
    }
    sum_lanes(acc)
}

/// The partial sums, added pairwise.
#[inline(always)]
fn sum_lanes([a0, a1, a2, a3, a4, a5, a6, a7]: [f64; LANES]) -> f64 {
    ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))
}

/// Clipping is a constant function of p there, so no gradient flows.
#[inline(always)]
fn clipped(p: f32) -> bool {
    !(EPSILON..=ONE_MINUS_EPSILON).contains(&p)
}

/// -(t ln p + (1-t) ln(1-p)) with p clipped as Keras does.
#[inline(always)]
fn bce_term(p: f32, t: f32) -> f32 {
    let p = p.clamp(EPSILON, ONE_MINUS_EPSILON);
    -(t * p.ln() + (1.0 - t) * (1.0 - p).ln())
}

/// The definition, in f64.
pub fn loss_value_reference(kind: Loss, pred: &[f32], target: &[f32]) -> f32 {
    assert_eq!(pred.len(), target.len());
    if pred.is_empty() {
        return 0.0;
    }
    let n = pred.len() as f64;
    let sum: f64 = pred
        .iter()
        .zip(target)
        .map(|(&p, &t)| {
            let (p, t) = (p as f64, t as f64);
            match kind {
                Loss::MeanSquaredError => (p - t) * (p - t),
                Loss::BinaryCrossentropy => {
                    let p = p.clamp(EPSILON as f64, ONE_MINUS_EPSILON as f64);
                    -(t * p.ln() + (1.0 - t) * (1.0 - p).ln())
                }
            }
        })
        .sum();
    (sum / n) as f32
}

/// The definition, in f64.
pub fn loss_and_grad_reference(kind: Loss, pred: &[f32], target: &[f32], grad: &mut [f32]) -> f32 {
    assert_eq!(pred.len(), grad.len());
    let n = pred.len() as f64;
    for ((g, &p), &t) in grad.iter_mut().zip(pred).zip(target) {
        let (p64, t64) = (p as f64, t as f64);
        *g = match kind {
            Loss::MeanSquaredError => 2.0 * (p64 - t64) / n,
            Loss::BinaryCrossentropy if clipped(p) => 0.0,
            Loss::BinaryCrossentropy => (-t64 / p64 + (1.0 - t64) / (1.0 - p64)) / n,
        } as f32;
    }
    loss_value_reference(kind, pred, target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_close, helper_test_op, random_vec, wasm_bindgen_test, Backward, Tolerance};

    const TOL: Tolerance = Tolerance::new(1e-6, 1e-5);

    fn check(kind: Loss, pred: Vec<f32>, target: Vec<f32>) {
        let len = pred.len();
        let fwd =
            |f: fn(Loss, &[f32], &[f32]) -> f32| move |xs: &[&[f32]], out: &mut [f32]| out[0] = f(kind, xs[0], xs[1]);
        let bwd = |f: fn(Loss, &[f32], &[f32], &mut [f32]) -> f32| {
            move |xs: &[&[f32]], dy: &[f32], g: &mut [Vec<f32>]| {
                f(kind, xs[0], xs[1], &mut g[0]);
                for v in g[0].iter_mut() {
                    *v *= dy[0];
                }
            }
        };
        let (bf, br) = (bwd(loss_and_grad), bwd(loss_and_grad_reference));
        let bw = Backward {
            wrt: &[0],
            fast: &bf,
            reference: &br,
            tol: TOL,
            eps: 1e-3,
            numeric_tol: Tolerance::new(1e-4, 2e-3),
        };
        helper_test_op(
            &format!("{kind:?} len {len}"),
            &[pred, target],
            1,
            &fwd(loss_value),
            &fwd(loss_value_reference),
            TOL,
            Some(bw),
        );
        // loss_and_grad returns the same loss as loss_value.
        let mut g = vec![0.0; len];
        let (pred, target) = (random_vec(1, len, 0.05, 0.95), random_vec(2, len, 0.0, 1.0));
        assert_eq!(loss_and_grad(kind, &pred, &target, &mut g), loss_value(kind, &pred, &target));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn losses_and_gradients() {
        // 13 and 67: partial sums over whole groups of lanes and a tail.
        for len in [1, 5, 13, 64, 67] {
            // Predictions inside (0, 1) and away from the clip bounds; soft and hard targets.
            let pred = random_vec(len as u64, len, 0.05, 0.95);
            let soft = random_vec(len as u64 + 7, len, 0.0, 1.0);
            let hard: Vec<f32> = soft.iter().map(|t| t.round()).collect();
            for kind in [Loss::MeanSquaredError, Loss::BinaryCrossentropy] {
                check(kind, pred.clone(), soft.clone());
                check(kind, pred.clone(), hard.clone());
            }
        }
    }

    /// Longer than a chunk: the chunked sum still matches the f64 definition, and
    /// loss_value agrees with loss_and_grad bit for bit.
    #[wasm_bindgen_test(unsupported = test)]
    fn several_chunks() {
        let len = 2 * LOSS_CHUNK + 77;
        let (pred, target) = (random_vec(3, len, 0.05, 0.95), random_vec(4, len, 0.0, 1.0));
        for kind in [Loss::MeanSquaredError, Loss::BinaryCrossentropy] {
            let (mut g, mut g_ref) = (vec![0.0; len], vec![0.0; len]);
            let l = loss_and_grad(kind, &pred, &target, &mut g);
            let l_ref = loss_and_grad_reference(kind, &pred, &target, &mut g_ref);
            assert_close(&format!("{kind:?} loss"), &[l], &[l_ref], TOL);
            assert_close(&format!("{kind:?} grad"), &g, &g_ref, TOL);
            assert_eq!(l, loss_value(kind, &pred, &target));
        }
    }

    /// The vector code's sums and gradient are the scalar definition's, bit for bit.
    #[wasm_bindgen_test(unsupported = test)]
    fn squared_error_paths_agree_bit_for_bit() {
        for len in [0, 3, 8, 13, 64, 67, 1000] {
            let (pred, target) = (random_vec(9, len, -2.0, 2.0), random_vec(10, len, -2.0, 2.0));
            let (mut g, mut g_scalar) = (vec![f32::NAN; len], vec![f32::NAN; len]);
            let sum = squared_error_sum(&pred, &target, Some((&mut g, 0.37)));
            let scalar = squared_error_sum_scalar(&pred, &target, Some((&mut g_scalar, 0.37)));
            assert_eq!(sum.to_bits(), scalar.to_bits(), "len {len}");
            assert_eq!(g, g_scalar, "len {len}");
            assert_eq!(squared_error_sum(&pred, &target, None).to_bits(), scalar.to_bits(), "len {len}, no gradient");
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn known_values() {
        // MSE: ((1-0)² + (2-0)²) / 2 = 2.5; grad 2(p-t)/n = [1, 2].
        let mut g = vec![0.0; 2];
        assert_eq!(loss_and_grad(Loss::MeanSquaredError, &[1.0, 2.0], &[0.0, 0.0], &mut g), 2.5);
        assert_eq!(g, vec![1.0, 2.0]);
        // BCE at p = 0.5: ln 2 whatever the target; grad (p-t)/(p(1-p))/n = ±2/2.
        let l = loss_and_grad(Loss::BinaryCrossentropy, &[0.5, 0.5], &[1.0, 0.0], &mut g);
        assert_close("bce ln2", &[l], &[core::f32::consts::LN_2], TOL);
        assert_eq!(g, vec![-1.0, 1.0]);
        // Clipped, no gradient: p = 0, t = 1 costs -ln(1e-7) = 16.118096; p = 1, t = 0 costs
        // -ln(1 - f32(1 - 1e-7)) = -ln(2⁻²³) = 15.942385 (1 - 1e-7 rounds to 1 - 2⁻²³ in f32,
        // as in Keras). Mean 16.030240.
        let l = loss_and_grad(Loss::BinaryCrossentropy, &[0.0, 1.0], &[1.0, 0.0], &mut g);
        assert_close("bce clipped", &[l], &[16.030_24], Tolerance::new(0.0, 1e-6));
        assert_eq!(g, vec![0.0, 0.0]);
        assert_eq!(loss_value(Loss::MeanSquaredError, &[], &[]), 0.0);
    }
}
