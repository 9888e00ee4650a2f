//! wasm-autoencoders-core: kernels → layers → model, with no JavaScript in sight.
//!
//! Data flows one way: `kernels` are pure slice functions; `layers` own parameters and
//! call kernels; `optim` updates parameters; `model` sequences layers, computes the loss
//! and runs a training step. `parallel` is how layers split a batch across threads
//! (serial unless built with wasm32 `atomics`). The wasm-bindgen boundary is a separate
//! crate (`crate/wasm`) that depends on this one, as do the dev benches (`crate/bench`).

// The threads build (wasm32 + atomics, nightly-only `-Zbuild-std` anyway) sleeps helper
// threads with `memory.atomic.wait32`.
#![cfg_attr(all(target_arch = "wasm32", target_feature = "atomics"), feature(stdarch_wasm_atomic_wait))]

pub mod kernels;
pub mod layers;
pub mod model;
pub mod optim;
pub mod parallel;
pub mod rng;

#[cfg(test)]
pub mod testing;
