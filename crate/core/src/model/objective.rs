//! The loss of a training step and its gradient, split across the pool.
//!
//! The batch's output is cut into the loss kernel's fixed chunks (`LOSS_CHUNK` elements,
//! whatever the thread count); tasks take runs of chunks, each chunk's sum goes to its own
//! slot, and the slots are added in chunk order. So the loss is bit-identical to the
//! serial `loss_and_grad` for any thread count, and so is the gradient (elementwise).

use crate::kernels::loss::{loss_chunk, loss_sum_and_grad, Loss, LOSS_CHUNK};
use crate::parallel::{block, parallel_for, tasks_for, Disjoint};

/// Scratch slots [`loss_and_grad_split`] needs for `len` outputs.
pub fn chunk_count(len: usize) -> usize {
    len.div_ceil(LOSS_CHUNK)
}

/// `grad = ∂loss/∂pred`; returns the mean loss. `chunk_sums` is scratch of at least
/// [`chunk_count`]`(pred.len())` slots.
pub fn loss_and_grad_split(kind: Loss, pred: &[f32], target: &[f32], grad: &mut [f32], chunk_sums: &mut [f64]) -> f32 {
    let len = pred.len();
    assert!(target.len() == len && grad.len() == len, "loss_and_grad_split: lengths differ");
    if len == 0 {
        return 0.0;
    }
    let chunks = chunk_count(len);
    assert!(chunk_sums.len() >= chunks, "loss_and_grad_split: chunk_sums too short");
    let tasks = tasks_for(chunks, 1);
    let (sums, grad) = (Disjoint::new(&mut chunk_sums[..chunks]), Disjoint::new(grad));
    parallel_for(tasks, |t, _| {
        for c in block(chunks, tasks, t) {
            let r = loss_chunk(c, len);
            // SAFETY: chunk c (its slot and its elements) belongs to this task alone.
            let (slot, g) = unsafe { (sums.part(c..c + 1), grad.part(r.clone())) };
            slot[0] = loss_sum_and_grad(kind, &pred[r.clone()], &target[r], g, len);
        }
    });
    let sum: f64 = chunk_sums[..chunks].iter().sum();
    (sum / len as f64) as f32
}

#[cfg(all(test, not(all(target_arch = "wasm32", target_feature = "atomics"))))]
mod tests {
    use super::*;
    use crate::kernels::loss::loss_and_grad;
    use crate::parallel::with_simulated_threads;
    use crate::testing::random_vec;

    /// Any thread count gives exactly the serial kernel's loss and gradient.
    #[test]
    fn split_matches_the_serial_kernel_bit_for_bit() {
        for len in [1, 100, LOSS_CHUNK, 3 * LOSS_CHUNK + 5] {
            let (pred, target) = (random_vec(5, len, 0.05, 0.95), random_vec(6, len, 0.0, 1.0));
            for kind in [Loss::MeanSquaredError, Loss::BinaryCrossentropy] {
                let mut serial = vec![0.0; len];
                let expected = loss_and_grad(kind, &pred, &target, &mut serial);
                for threads in [1, 2, 3] {
                    let (mut g, mut scratch) = (vec![0.0; len], vec![0.0; chunk_count(len)]);
                    let l = with_simulated_threads(threads, || {
                        loss_and_grad_split(kind, &pred, &target, &mut g, &mut scratch)
                    });
                    assert_eq!(l, expected, "{kind:?}, len {len}, {threads} threads");
                    assert_eq!(g, serial, "{kind:?}, len {len}, {threads} threads");
                }
            }
        }
    }
}
