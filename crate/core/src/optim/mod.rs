//! Optimizers update the model's flat parameter buffer from its flat gradient buffer.

mod adam;
mod sgd;

pub use adam::Adam;
pub use sgd::Sgd;

pub enum Optimizer {
    Adam(Adam),
    Sgd(Sgd),
}

/// What an optimizer has learned beyond its hyper-parameters: its update count and its
/// per-parameter slots (Adam: the first moments, then the second; SGD: none). Saved with a
/// model (`toBytes({ includeOptimizer: true })`) so a resumed run continues bit for bit.
pub struct OptimizerState<'a> {
    pub iterations: u64,
    pub slots: &'a [f32],
}

impl Optimizer {
    pub fn step(&mut self, params: &mut [f32], grads: &[f32]) {
        match self {
            Optimizer::Adam(adam) => adam.step(params, grads),
            Optimizer::Sgd(sgd) => sgd.step(params, grads),
        }
    }

    /// Changes the learning rate without touching the state (Keras's
    /// `optimizer.learning_rate = x`, what ReduceLROnPlateau does).
    pub fn set_learning_rate(&mut self, learning_rate: f64) {
        match self {
            Optimizer::Adam(adam) => adam.learning_rate = learning_rate,
            Optimizer::Sgd(sgd) => sgd.learning_rate = learning_rate as f32,
        }
    }

    /// The slots, concatenated (see `OptimizerState`).
    pub fn slots(&self) -> Vec<f32> {
        match self {
            Optimizer::Adam(adam) => adam.slots(),
            Optimizer::Sgd(_) => Vec::new(),
        }
    }

    /// Continues from a saved state; refused (and nothing changed) when it does not fit.
    pub fn restore(&mut self, state: OptimizerState) -> Result<(), String> {
        match self {
            Optimizer::Adam(adam) => adam.restore(state),
            Optimizer::Sgd(sgd) => sgd.restore(state),
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
