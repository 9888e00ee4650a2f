//! Adam exactly as Keras 3 applies it (keras/src/optimizers/adam.py):
//!   t += 1; α = lr·√(1−β2ᵗ)/(1−β1ᵗ)
//!   m += (g − m)(1 − β1); v += (g² − v)(1 − β2); p −= α·m/(√v + ε)
//! Note ε is added to √v *after* folding the bias correction into α, which is why Keras's
//! results differ slightly from the paper's formula; we follow Keras.

use super::OptimizerState;
use crate::kernels::adam::{adam_step, AdamStep};
use crate::parallel::{for_each_range, Disjoint, MIN_ELEMENTWISE_PIECE};

pub struct Adam {
    pub learning_rate: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub epsilon: f64,
    m: Vec<f32>,
    v: Vec<f32>,
    iterations: u64,
}

impl Adam {
    /// Keras defaults: `Adam(1e-3, 0.9, 0.999, 1e-7)`.
    pub const DEFAULTS: (f64, f64, f64, f64) = (1e-3, 0.9, 0.999, 1e-7);

    /// Hyper-parameters in f64, as JavaScript numbers and Keras's Python floats are.
    pub fn new(param_count: usize, learning_rate: f64, beta1: f64, beta2: f64, epsilon: f64) -> Self {
        Adam {
            learning_rate,
            beta1,
            beta2,
            epsilon,
            m: vec![0.0; param_count],
            v: vec![0.0; param_count],
            iterations: 0,
        }
    }

    pub fn iterations(&self) -> u64 {
        self.iterations
    }

    /// m then v.
    pub fn slots(&self) -> Vec<f32> {
        [self.m.as_slice(), self.v.as_slice()].concat()
    }

    pub fn restore(&mut self, state: OptimizerState) -> Result<(), String> {
        let n = self.m.len();
        if state.slots.len() != 2 * n {
            return Err(format!(
                "the saved Adam state holds {} values; this model's Adam needs {} (m and v for {n} parameters)",
                state.slots.len(),
                2 * n
            ));
        }
        let (m, v) = state.slots.split_at(n);
        if !m.iter().all(|x| x.is_finite()) || !v.iter().all(|x| x.is_finite() && *x >= 0.0) {
            return Err("the saved Adam state holds non-finite moments or negative second moments".into());
        }
        self.m.copy_from_slice(m);
        self.v.copy_from_slice(v);
        self.iterations = state.iterations;
        Ok(())
    }

    /// The step size with both bias corrections folded in, computed in f64 as the powers
    /// β^t underflow gracefully there.
    fn alpha(&self) -> f32 {
        let t = self.iterations as f64;
        (self.learning_rate * (1.0 - self.beta2.powf(t)).sqrt() / (1.0 - self.beta1.powf(t))) as f32
    }

    pub fn step(&mut self, params: &mut [f32], grads: &[f32]) {
        self.iterations += 1;
        let step = AdamStep {
            alpha: self.alpha(),
            decay1: (1.0 - self.beta1) as f32,
            decay2: (1.0 - self.beta2) as f32,
            epsilon: self.epsilon as f32,
        };
        assert_eq!(grads.len(), params.len(), "Adam: gradient and parameter counts differ");
        let (params, m, v) = (Disjoint::new(params), Disjoint::new(&mut self.m), Disjoint::new(&mut self.v));
        // Elementwise, so splitting across threads cannot change any result.
        for_each_range(grads.len(), MIN_ELEMENTWISE_PIECE, |r| {
            // SAFETY: the pieces are disjoint.
            let (p, m, v) = unsafe { (params.part(r.clone()), m.part(r.clone()), v.part(r.clone())) };
            adam_step(p, &grads[r], m, v, &step);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::wasm_bindgen_test;

    /// Two steps computed by hand in f64 from Keras's formula.
    #[wasm_bindgen_test(unsupported = test)]
    fn matches_hand_computed_keras_steps() {
        let mut adam = Adam::new(2, 1e-3, 0.9, 0.999, 1e-7);
        let mut p = [1.0f32, -2.0];
        let (g1, g2) = ([0.5f64, -3.0], [0.25f64, 1.0]);
        adam.step(&mut p, &[g1[0] as f32, g1[1] as f32]);
        adam.step(&mut p, &[g2[0] as f32, g2[1] as f32]);
        for (i, start) in [1.0f64, -2.0].into_iter().enumerate() {
            let mut expected = start;
            let (mut m, mut v) = (0.0f64, 0.0f64);
            for (t, g) in [(1.0f64, g1[i]), (2.0, g2[i])] {
                let alpha = 1e-3 * (1.0 - 0.999f64.powf(t)).sqrt() / (1.0 - 0.9f64.powf(t));
                m += (g - m) * (1.0 - 0.9);
                v += (g * g - v) * (1.0 - 0.999);
                expected -= alpha * m / (v.sqrt() + 1e-7);
            }
            assert!((p[i] as f64 - expected).abs() < 2e-7, "param {i}: {} vs {expected}", p[i]);
        }
        // The first Adam step moves every parameter by ≈ lr against the gradient's sign.
        assert!((p[0] - (1.0 - 2e-3)).abs() < 1e-4);
        assert_eq!(adam.iterations(), 2);
    }
}
