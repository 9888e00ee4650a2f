//! Optimizer updates, elementwise over a flat parameter buffer.

use super::simd::V4;

/// The scalars of one Adam step. The caller passes alpha = lr·√(1-β2ᵗ)/(1-β1ᵗ) and the
/// decays `1-β1`, `1-β2` themselves: Keras computes 1-β in double precision before rounding
/// to f32 (1-f32(0.999) would be 1.3e-5 off).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamStep {
    pub alpha: f32,
    pub decay1: f32,
    pub decay2: f32,
    pub epsilon: f32,
}

/// Keras 3 Adam: m += (g-m)(1-β1); v += (g²-v)(1-β2); p -= alpha·m/(√v+ε).
pub fn adam_step(params: &mut [f32], grads: &[f32], m: &mut [f32], v: &mut [f32], step: &AdamStep) {
    let n = params.len();
    assert!(grads.len() == n && m.len() == n && v.len() == n, "adam_step: buffer lengths differ");
    adam_lanes(params, grads, m, v, step);
}

/// The definition, in f64.
pub fn adam_step_reference(params: &mut [f32], grads: &[f32], m: &mut [f32], v: &mut [f32], step: &AdamStep) {
    let n = params.len();
    assert!(grads.len() == n && m.len() == n && v.len() == n);
    let (alpha, decay1, decay2, epsilon) =
        (step.alpha as f64, step.decay1 as f64, step.decay2 as f64, step.epsilon as f64);
    for i in 0..n {
        let g = grads[i] as f64;
        let mi = m[i] as f64 + (g - m[i] as f64) * decay1;
        let vi = v[i] as f64 + (g * g - v[i] as f64) * decay2;
        params[i] = (params[i] as f64 - alpha * mi / (vi.sqrt() + epsilon)) as f32;
        m[i] = mi as f32;
        v[i] = vi as f32;
    }
}

/// p -= lr·g.
pub fn sgd_step(params: &mut [f32], grads: &[f32], learning_rate: f32) {
    assert_eq!(params.len(), grads.len(), "sgd_step: buffer lengths differ");
    sgd_lanes(params, grads, learning_rate);
}

/// The definition, in f64.
pub fn sgd_step_reference(params: &mut [f32], grads: &[f32], learning_rate: f32) {
    assert_eq!(params.len(), grads.len());
    for (p, &g) in params.iter_mut().zip(grads) {
        *p = (*p as f64 - learning_rate as f64 * g as f64) as f32;
    }
}

/// Four parameters per step; the tail goes through the scalar formula, which is the same
/// arithmetic lane by lane.
fn adam_lanes(params: &mut [f32], grads: &[f32], m: &mut [f32], v: &mut [f32], step: &AdamStep) {
    let AdamStep { alpha, decay1: one_minus_b1, decay2: one_minus_b2, epsilon: eps } = *step;
    let n = params.len();
    assert!(grads.len() == n && m.len() == n && v.len() == n);
    let body = n / 4 * 4;
    let (va, vb1, vb2, veps) = (V4::splat(alpha), V4::splat(one_minus_b1), V4::splat(one_minus_b2), V4::splat(eps));
    for i in (0..body).step_by(4) {
        // SAFETY: i + 4 <= body <= n, the length of all four buffers (asserted above).
        unsafe {
            let (pp, gp, mp, vp) =
                (params.as_mut_ptr().add(i), grads.as_ptr().add(i), m.as_mut_ptr().add(i), v.as_mut_ptr().add(i));
            let (g, m0, v0) = (V4::load(gp), V4::load(mp), V4::load(vp));
            let mi = m0.mul_add(g.sub(m0), vb1);
            let vi = v0.mul_add(g.mul(g).sub(v0), vb2);
            let step = va.mul(mi).div(vi.sqrt().add(veps));
            V4::load(pp).sub(step).store(pp);
            mi.store(mp);
            vi.store(vp);
        }
    }
    for i in body..n {
        scalar_adam(&mut params[i], grads[i], &mut m[i], &mut v[i], step);
    }
}

/// p -= lr·g, four parameters per step.
fn sgd_lanes(params: &mut [f32], grads: &[f32], lr: f32) {
    assert_eq!(params.len(), grads.len());
    let body = params.len() / 4 * 4;
    let vlr = V4::splat(lr);
    for (p, g) in params[..body].chunks_exact_mut(4).zip(grads.chunks_exact(4)) {
        V4::read(p).sub(vlr.mul(V4::read(g))).write(p);
    }
    for i in body..params.len() {
        params[i] -= lr * grads[i];
    }
}

/// One parameter's Adam update in f32 (the same operation order as the vector code).
#[inline(always)]
fn scalar_adam(p: &mut f32, g: f32, m: &mut f32, v: &mut f32, step: &AdamStep) {
    *m += (g - *m) * step.decay1;
    *v += (g * g - *v) * step.decay2;
    *p -= step.alpha * *m / (v.sqrt() + step.epsilon);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_close, helper_test_op, random_vec, wasm_bindgen_test, Tolerance};

    type AdamFn = fn(&mut [f32], &[f32], &mut [f32], &mut [f32], &AdamStep);

    /// Bias-corrected step size, as the optimizer computes it.
    fn alpha(lr: f64, b1: f64, b2: f64, t: i32) -> f32 {
        (lr * (1.0 - b2.powi(t)).sqrt() / (1.0 - b1.powi(t))) as f32
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn hand_computed_adam_steps() {
        // p = 1, g = 0.5, m = v = 0, t = 1, lr = 1e-3, β1 = 0.9, β2 = 0.999, ε = 1e-7 (f64):
        //   m = 0.5·0.1 = 0.05;  v = 0.25·0.001 = 0.00025;  √v = 0.0158113883008419
        //   alpha = 1e-3·√0.001/0.1 = 3.16227766016838e-4
        //   m/(√v+ε) = 0.05/0.0158114883008419 = 3.16225766029487
        //   p = 1 - 3.16227766016838e-4·3.16225766029487 = 0.999000006324515
        // (without ε the step would be exactly lr: Adam's first step is lr·sign(g)).
        let (d1, d2, eps) = ((1.0 - 0.9f64) as f32, (1.0 - 0.999f64) as f32, 1e-7f32);
        for step in [adam_step as AdamFn, adam_step_reference] {
            let (mut p, mut m, mut v) = ([1.0f32], [0.0f32], [0.0f32]);
            step(
                &mut p,
                &[0.5],
                &mut m,
                &mut v,
                &AdamStep { alpha: alpha(1e-3, 0.9, 0.999, 1), decay1: d1, decay2: d2, epsilon: eps },
            );
            assert_close("m", &m, &[0.05], Tolerance::new(0.0, 1e-7));
            assert_close("v", &v, &[0.00025], Tolerance::new(0.0, 1e-7));
            assert_close("p after step 1", &p, &[0.999_000_006_324_515_f64 as f32], Tolerance::new(1.2e-7, 0.0));
            // Step 2, g = -0.25: m = 0.05 + (-0.25-0.05)·0.1 = 0.02; v = 0.00025 + (0.0625-0.00025)·0.001
            // = 0.00031225; alpha = 1e-3·√(1-0.999²)/(1-0.9²) = 2.35316725327453e-4;
            // p = 0.999000006324515 - alpha·0.02/(√0.00031225 + 1e-7) = 0.998733670792079.
            step(
                &mut p,
                &[-0.25],
                &mut m,
                &mut v,
                &AdamStep { alpha: alpha(1e-3, 0.9, 0.999, 2), decay1: d1, decay2: d2, epsilon: eps },
            );
            assert_close("p after step 2", &p, &[0.998_733_670_792_079_f64 as f32], Tolerance::new(1.2e-7, 0.0));
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn adam_fast_matches_reference() {
        for len in [0, 1, 3, 4, 7, 100] {
            let inputs = [
                random_vec(1, len, -1.0, 1.0),
                random_vec(2, len, -1.0, 1.0),
                random_vec(3, len, -0.1, 0.1),
                random_vec(4, len, 0.0, 0.01),
            ];
            // Output: the updated params, m and v, concatenated.
            let run = |f: AdamFn| {
                move |xs: &[&[f32]], out: &mut [f32]| {
                    let (mut p, mut m, mut v) = (xs[0].to_vec(), xs[2].to_vec(), xs[3].to_vec());
                    f(
                        &mut p,
                        xs[1],
                        &mut m,
                        &mut v,
                        &AdamStep { alpha: 1e-3, decay1: 0.1, decay2: 0.001, epsilon: 1e-7 },
                    );
                    out.copy_from_slice(&[p, m, v].concat());
                }
            };
            helper_test_op(
                &format!("adam len {len}"),
                &inputs,
                3 * len,
                &run(adam_step),
                &run(adam_step_reference),
                Tolerance::new(1e-7, 1e-6),
                None,
            );
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn sgd_fast_matches_reference() {
        for len in [0, 1, 5, 64] {
            let run = |f: fn(&mut [f32], &[f32], f32)| {
                move |xs: &[&[f32]], out: &mut [f32]| {
                    out.copy_from_slice(xs[0]);
                    f(out, xs[1], 0.01);
                }
            };
            let inputs = [random_vec(5, len, -1.0, 1.0), random_vec(6, len, -1.0, 1.0)];
            helper_test_op(
                &format!("sgd len {len}"),
                &inputs,
                len,
                &run(sgd_step),
                &run(sgd_step_reference),
                Tolerance::new(1e-7, 1e-7),
                None,
            );
        }
        let mut p = [1.0f32, 2.0];
        sgd_step(&mut p, &[0.5, -1.0], 0.1);
        assert_eq!(p, [0.95, 2.1]);
    }
}
