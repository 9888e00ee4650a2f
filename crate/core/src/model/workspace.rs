//! Activation and gradient buffers for one batch size, kept between steps so a training
//! step allocates nothing once the batch size has been seen.

use super::memory::ensure_available;
use super::objective::chunk_count;
use super::ModelError;

pub struct Workspace {
    batch: usize,
    /// outputs[i] = output of layer i for the current batch.
    pub outputs: Vec<Vec<f32>>,
    /// deltas[i] = ∂L/∂outputs[i]; empty until a training step needs them.
    pub deltas: Vec<Vec<f32>>,
    /// The loss's per-chunk sums (see `objective`).
    pub loss_chunk_sums: Vec<f64>,
}

impl Workspace {
    pub fn new(layer_count: usize) -> Self {
        Workspace {
            batch: 0,
            outputs: vec![Vec::new(); layer_count],
            deltas: vec![Vec::new(); layer_count],
            loss_chunk_sums: Vec::new(),
        }
    }

    /// Sizes the buffers for `batch` samples. Buffers only grow (a smaller last batch uses
    /// a prefix), so alternating batch sizes does not reallocate. Refused, with nothing
    /// changed, when the memory cannot hold the larger buffers.
    pub fn ensure(
        &mut self,
        batch: usize,
        output_lens: impl Iterator<Item = usize> + Clone,
        with_deltas: bool,
    ) -> Result<(), ModelError> {
        // What must grow, in floats (a buffer's new size: growing may move it).
        let mut growth: usize = 0;
        for (i, per_sample) in output_lens.clone().enumerate() {
            let needed = batch.saturating_mul(per_sample);
            if self.outputs[i].len() < needed {
                growth = growth.saturating_add(needed);
            }
            if with_deltas && self.deltas[i].len() < needed {
                growth = growth.saturating_add(needed);
            }
        }
        if growth > 0 {
            ensure_available(growth, || format!("the activations of a batch of {batch} samples"))?;
        }
        let mut last = 0;
        for (i, per_sample) in output_lens.enumerate() {
            let needed = batch * per_sample;
            if self.outputs[i].len() < needed {
                self.outputs[i].resize(needed, 0.0);
            }
            if with_deltas && self.deltas[i].len() < needed {
                self.deltas[i].resize(needed, 0.0);
            }
            last = needed;
        }
        let chunks = chunk_count(last);
        if with_deltas && self.loss_chunk_sums.len() < chunks {
            self.loss_chunk_sums.resize(chunks, 0.0);
        }
        self.batch = batch;
        Ok(())
    }

    pub fn batch(&self) -> usize {
        self.batch
    }
}
