//! Optimizers update the model's flat parameter buffer from its flat gradient buffer.

mod adam;
mod sgd;

pub use adam::Adam;
pub use sgd::Sgd;

pub enum Optimizer {
    Adam(Adam),
    Sgd(Sgd),
}

impl Optimizer {
    pub fn step(&mut self, params: &mut [f32], grads: &[f32]) {
        match self {
            Optimizer::Adam(adam) => adam.step(params, grads),
            Optimizer::Sgd(sgd) => sgd.step(params, grads),
        }
    }

    /// Number of updates applied so far (Keras's `optimizer.iterations`).
    pub fn iterations(&self) -> u64 {
        match self {
            Optimizer::Adam(adam) => adam.iterations(),
            Optimizer::Sgd(sgd) => sgd.iterations(),
        }
    }
}
