//! The model: a sequence of layers, a loss and an optimizer, and the training step.

mod objective;
mod sequential;
mod workspace;

pub use sequential::{ModelError, OptimizerSpec, Sequential};

#[cfg(test)]
mod tests;
