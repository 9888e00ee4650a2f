//! wasm-autoencoders: kernels → layers → model → a thin wasm-bindgen boundary.
//!
//! Data flows one way: `kernels` are pure slice functions; `layers` own parameters and
//! call kernels; `optim` updates parameters; `model` sequences layers, computes the loss
//! and runs a training step; `boundary` exposes the model to JavaScript.

pub mod kernels;
pub mod layers;
pub mod model;
pub mod optim;
pub mod rng;
pub mod boundary;

#[cfg(test)]
pub mod testing;
