//! Plain SGD without momentum: Keras's `SGD()` with its default learning rate 0.01.

use super::OptimizerState;
use crate::kernels::adam::sgd_step;
use crate::parallel::{for_each_range, Disjoint, MIN_ELEMENTWISE_PIECE};

pub struct Sgd {
    pub learning_rate: f32,
    iterations: u64,
}

impl Sgd {
    pub const DEFAULT_LEARNING_RATE: f32 = 0.01;

    pub fn new(learning_rate: f32) -> Self {
        Sgd { learning_rate, iterations: 0 }
    }

    pub fn iterations(&self) -> u64 {
        self.iterations
    }

    /// SGD without momentum keeps no slots: only the step count is restored.
    pub fn restore(&mut self, state: OptimizerState) -> Result<(), String> {
        if !state.slots.is_empty() {
            return Err(format!("the saved state holds {} optimizer values; SGD keeps none", state.slots.len()));
        }
        self.iterations = state.iterations;
        Ok(())
    }

    pub fn step(&mut self, params: &mut [f32], grads: &[f32]) {
        self.iterations += 1;
        assert_eq!(grads.len(), params.len(), "SGD: gradient and parameter counts differ");
        let params = Disjoint::new(params);
        for_each_range(grads.len(), MIN_ELEMENTWISE_PIECE, |r| {
            // SAFETY: the pieces are disjoint.
            sgd_step(unsafe { params.part(r.clone()) }, &grads[r], self.learning_rate);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn moves_against_the_gradient_by_lr() {
        let mut sgd = Sgd::new(Sgd::DEFAULT_LEARNING_RATE);
        let mut p = [1.0f32, 2.0];
        sgd.step(&mut p, &[10.0, -1.0]);
        assert_eq!(p, [1.0 - 0.1, 2.0 + 0.01]);
    }
}
