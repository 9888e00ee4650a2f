//! Allocations that may fail. A `Vec` that cannot grow the memory aborts, which in Wasm is a
//! trap that leaves the module unusable; so before the model makes its large buffers (the
//! parameters and their companions, a batch's activations) it asks for their total once:
//! reserving and releasing that many bytes either grows the memory — and the buffers are
//! then carved from the released block — or fails with an error while nothing has changed.

use super::ModelError;

/// Slack on top of the buffers' own bytes, for the allocator's bookkeeping and alignment.
const SLACK: usize = 1 << 20;

/// Ok when `floats` float32 values can be allocated now; `what` names them in the error.
pub fn ensure_available(floats: usize, what: impl FnOnce() -> String) -> Result<(), ModelError> {
    let bytes = floats.checked_mul(4).and_then(|b| b.checked_add(SLACK));
    let mut probe: Vec<u8> = Vec::new();
    match bytes.map(|b| probe.try_reserve_exact(b)) {
        Some(Ok(())) => Ok(()),
        _ => Err(ModelError::OutOfMemory(format!(
            "{} need {:.0} MiB, and the memory could not grow that much",
            what(),
            floats as f64 * 4.0 / (1 << 20) as f64
        ))),
    }
}
