//! The model: a sequence of layers, a loss and an optimizer, and the training step.

mod memory;
mod objective;
mod sequential;
mod workspace;

pub use memory::ensure_available;
pub use sequential::{ModelError, OptimizerSpec, Sequential};

#[cfg(test)]
mod tests;
// Serial builds only: they simulate thread counts (a threads build's tests have no pool).
#[cfg(all(test, not(all(target_arch = "wasm32", target_feature = "atomics"))))]
mod thread_split_tests;
