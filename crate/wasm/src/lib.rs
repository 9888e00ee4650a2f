//! The wasm-bindgen boundary, and nothing else: the SDK's calls decoded (codes.rs) and
//! forwarded to a core model (handle.rs), plus the threads build's pool entry points
//! (threads.rs). Every check here is the last line behind the SDK's validation, so a bad
//! call is an exception, never a trap. The kernels, layers and model live in
//! `wasm-autoencoders-core` (crate/core), which knows nothing of JavaScript.

mod codes;
mod handle;
#[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
mod threads;

pub use handle::ModelHandle;
