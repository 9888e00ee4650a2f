//! Sequential: layers in order over flat parameter/gradient buffers, one loss, one optimizer.

use super::memory::ensure_available;
use super::objective::loss_and_grad_split;
use super::workspace::Workspace;
use crate::kernels::finite::all_finite;
use crate::kernels::loss::{loss_value, Loss};
use crate::layers::{self, shape_len, BackwardPass, Layer, LayerSpec};
use crate::optim::{Adam, Optimizer, OptimizerState, Sgd};
use crate::rng::Rng;
use std::fmt;
use std::ops::Range;

/// Why a model call was refused. The model is left exactly as it was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModelError {
    /// A shape or length did not match what the model expects.
    Shape(String),
    /// A value was out of range (a bad layer index, a non-finite weight, ...).
    Value(String),
    /// The memory could not grow to hold what was asked (nothing was changed).
    OutOfMemory(String),
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelError::Shape(m) | ModelError::Value(m) | ModelError::OutOfMemory(m) => f.write_str(m),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OptimizerSpec {
    Adam { learning_rate: f64, beta1: f64, beta2: f64, epsilon: f64 },
    Sgd { learning_rate: f32 },
}

impl Default for OptimizerSpec {
    fn default() -> Self {
        let (learning_rate, beta1, beta2, epsilon) = Adam::DEFAULTS;
        OptimizerSpec::Adam { learning_rate, beta1, beta2, epsilon }
    }
}

pub struct Sequential {
    input_shape: Vec<usize>,
    layers: Vec<Box<dyn Layer>>,
    /// `fused[i]`: layers i and i + 1 as one layer (see [`layers::fuse`]), which a forward
    /// or backward runs instead of the two whenever both are in its range. The two stay
    /// in `layers`: they are what the model is (its summary, its weights, its sub-ranges).
    fused: Vec<Option<Box<dyn Layer>>>,
    /// Where each layer's parameters sit in `params` / `grads`.
    param_ranges: Vec<Range<usize>>,
    /// Per-sample output length of each layer.
    output_lens: Vec<usize>,
    params: Vec<f32>,
    grads: Vec<f32>,
    optimizer: Optimizer,
    loss: Loss,
    workspace: Workspace,
}

impl Sequential {
    /// Builds the layers in order, checking each against the shape coming in, and
    /// initialises parameters from `seed` (Glorot-uniform kernels, zero biases).
    pub fn new(input_shape: &[usize], specs: &[LayerSpec], seed: u64) -> Result<Self, ModelError> {
        if specs.is_empty() {
            return Err(ModelError::Shape("a model needs at least one layer".into()));
        }
        if input_shape.is_empty() || input_shape.contains(&0) {
            return Err(ModelError::Shape(format!("input shape must be positive integers, got {input_shape:?}")));
        }
        let mut layers: Vec<Box<dyn Layer>> = Vec::with_capacity(specs.len());
        let mut shape = input_shape.to_vec();
        for (i, spec) in specs.iter().enumerate() {
            let layer = layers::build(spec, &shape).map_err(|e| ModelError::Shape(format!("layer {i}: {e}")))?;
            shape = layer.output_shape().to_vec();
            layers.push(layer);
        }
        // Pairs from the left, none overlapping (Conv2D between an UpSampling2D and a
        // MaxPooling2D joins the first): a forward from the left and a backward from the
        // right then see the same pairs.
        let mut fused: Vec<Option<Box<dyn Layer>>> = Vec::with_capacity(specs.len());
        for i in 0..specs.len() {
            let free = i == 0 || fused[i - 1].is_none();
            let pair = if free {
                specs.get(i + 1).and_then(|next| layers::fuse(&specs[i], next, layers[i].input_shape()))
            } else {
                None
            };
            fused.push(pair);
        }
        let mut param_ranges = Vec::with_capacity(layers.len());
        let mut total: usize = 0;
        for layer in &layers {
            let count = layer.param_count();
            let end = total.checked_add(count).ok_or_else(|| {
                ModelError::OutOfMemory(format!("the layers hold more parameters than {} can count", usize::MAX))
            })?;
            param_ranges.push(total..end);
            total = end;
        }
        // Parameters, gradients and Adam's two moments.
        let floats = total.saturating_mul(4);
        ensure_available(floats, || format!("{total} parameters (weights, gradients and Adam's moments)"))?;
        let mut params = vec![0.0; total];
        let mut rng = Rng::new(seed);
        for (layer, range) in layers.iter().zip(&param_ranges) {
            layer.init_params(&mut rng, &mut params[range.clone()]);
        }
        let output_lens = layers.iter().map(|l| shape_len(l.output_shape())).collect();
        let workspace = Workspace::new(layers.len());
        let optimizer = Self::make_optimizer(OptimizerSpec::default(), total);
        Ok(Sequential {
            input_shape: input_shape.to_vec(),
            layers,
            fused,
            param_ranges,
            output_lens,
            params,
            grads: vec![0.0; total],
            optimizer,
            loss: Loss::MeanSquaredError,
            workspace,
        })
    }

    fn make_optimizer(spec: OptimizerSpec, params: usize) -> Optimizer {
        match spec {
            OptimizerSpec::Adam { learning_rate, beta1, beta2, epsilon } => {
                Optimizer::Adam(Adam::new(params, learning_rate, beta1, beta2, epsilon))
            }
            OptimizerSpec::Sgd { learning_rate } => Optimizer::Sgd(Sgd::new(learning_rate)),
        }
    }

    /// Like Keras's `compile`: a fresh optimizer (its state starts over) and the loss.
    pub fn compile(&mut self, optimizer: OptimizerSpec, loss: Loss) {
        self.optimizer = Self::make_optimizer(optimizer, self.params.len());
        self.loss = loss;
    }

    pub fn input_shape(&self) -> &[usize] {
        &self.input_shape
    }
    pub fn layers(&self) -> &[Box<dyn Layer>] {
        &self.layers
    }
    /// The layers i whose pair (i, i + 1) runs fused when both are in a call's range.
    pub fn fused_pairs(&self) -> Vec<usize> {
        self.fused.iter().enumerate().filter_map(|(i, f)| f.as_ref().map(|_| i)).collect()
    }

    /// The same model running every layer on its own (to test the fused pairs against).
    #[cfg(test)]
    pub(crate) fn without_fusion(mut self) -> Self {
        self.fused.iter_mut().for_each(|f| *f = None);
        self
    }

    pub fn param_count(&self) -> usize {
        self.params.len()
    }
    /// All parameters, layer after layer, each kernel then bias (Keras's `get_weights` order).
    pub fn params(&self) -> &[f32] {
        &self.params
    }
    pub fn optimizer_iterations(&self) -> u64 {
        self.optimizer.iterations()
    }

    /// A new learning rate for the optimizer, its state kept (unlike `compile`).
    pub fn set_learning_rate(&mut self, learning_rate: f64) -> Result<(), ModelError> {
        if !(learning_rate.is_finite() && learning_rate >= 0.0) {
            return Err(ModelError::Value(format!("learning rate must be a finite number ≥ 0, got {learning_rate}")));
        }
        self.optimizer.set_learning_rate(learning_rate);
        Ok(())
    }

    /// The optimizer's slots (see `OptimizerState`), to save with the weights.
    pub fn optimizer_slots(&self) -> Vec<f32> {
        self.optimizer.slots()
    }

    /// Continues the optimizer from a saved state (after `compile` with the saved settings).
    pub fn restore_optimizer(&mut self, state: OptimizerState) -> Result<(), ModelError> {
        self.optimizer.restore(state).map_err(ModelError::Value)
    }

    pub fn set_params(&mut self, values: &[f32]) -> Result<(), ModelError> {
        if values.len() != self.params.len() {
            return Err(ModelError::Shape(format!(
                "expected {} weight values, got {}",
                self.params.len(),
                values.len()
            )));
        }
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(ModelError::Value(format!("weight value {i} is not finite ({})", values[i])));
        }
        self.params.copy_from_slice(values);
        Ok(())
    }

    fn layer_range(&self, from: usize, to: usize) -> Result<(), ModelError> {
        if from >= to || to > self.layers.len() {
            return Err(ModelError::Value(format!("layer range {from}..{to} is not within 0..{}", self.layers.len())));
        }
        Ok(())
    }

    /// Per-sample input length of layer `from`.
    pub fn input_len_of(&self, layer: usize) -> usize {
        shape_len(self.layers[layer].input_shape())
    }
    pub fn output_len_of(&self, layer: usize) -> usize {
        self.output_lens[layer]
    }

    fn check_batch(&self, what: &str, data: &[f32], batch: usize, per_sample: usize) -> Result<(), ModelError> {
        if batch == 0 {
            return Err(ModelError::Shape(format!("{what}: batch is empty")));
        }
        if data.len() != batch * per_sample {
            return Err(ModelError::Shape(format!(
                "{what}: expected {batch} × {per_sample} = {} values, got {}",
                batch * per_sample,
                data.len()
            )));
        }
        Ok(())
    }

    /// Runs layers `from..to` on `batch` samples into the workspace; the result is
    /// `workspace.outputs[to - 1][..batch * output_len_of(to - 1)]`. A fused pair's first
    /// layer writes no output (it gets no buffer unless another range needs one).
    fn run_forward(
        &mut self,
        from: usize,
        to: usize,
        batch: usize,
        x: &[f32],
        with_deltas: bool,
    ) -> Result<(), ModelError> {
        let Sequential { layers, fused, param_ranges, output_lens: lens, params, workspace, .. } = self;
        let skipped = |i: usize| i >= from && i + 1 < to && fused[i].is_some();
        workspace.ensure(
            batch,
            lens.iter().enumerate().map(|(i, &len)| if skipped(i) { 0 } else { len }),
            with_deltas,
        )?;
        let mut i = from;
        while i < to {
            let (last, layer) = match fused[i].as_deref_mut() {
                Some(pair) if i + 1 < to => (i + 1, pair),
                _ => (i, layers[i].as_mut()),
            };
            let (done, rest) = workspace.outputs.split_at_mut(last);
            let input = if i == from { x } else { &done[i - 1][..batch * lens[i - 1]] };
            let output = &mut rest[0][..batch * lens[last]];
            // A pair's parameters are its layers' (one of the two has none), contiguous.
            layer.forward(batch, &params[param_ranges[i].start..param_ranges[last].end], input, output);
            i = last + 1;
        }
        Ok(())
    }

    /// Forward through layers `from..to` (encode = 0..encoder_length, decode = the rest),
    /// processing at most `chunk` samples at a time, into `out`.
    pub fn predict(
        &mut self,
        from: usize,
        to: usize,
        x: &[f32],
        samples: usize,
        chunk: usize,
        out: &mut [f32],
    ) -> Result<(), ModelError> {
        self.layer_range(from, to)?;
        let (in_len, out_len) = (self.input_len_of(from), self.output_len_of(to - 1));
        self.check_batch("predict input", x, samples, in_len)?;
        self.check_batch("predict output", out, samples, out_len)?;
        let chunk = chunk.max(1);
        let mut start = 0;
        while start < samples {
            let n = chunk.min(samples - start);
            self.run_forward(from, to, n, &x[start * in_len..(start + n) * in_len], false)?;
            out[start * out_len..(start + n) * out_len].copy_from_slice(&self.workspace.outputs[to - 1][..n * out_len]);
            start += n;
        }
        Ok(())
    }

    /// Mean loss over all samples (each chunk weighted by its size), like Keras's `evaluate`.
    pub fn evaluate(
        &mut self,
        x: &[f32],
        y: &[f32],
        samples: usize,
        chunk: usize,
        loss: Loss,
    ) -> Result<f64, ModelError> {
        let last = self.layers.len();
        let (in_len, out_len) = (self.input_len_of(0), self.output_len_of(last - 1));
        self.check_batch("evaluate input", x, samples, in_len)?;
        self.check_batch("evaluate target", y, samples, out_len)?;
        let chunk = chunk.max(1);
        let (mut start, mut total) = (0, 0.0f64);
        while start < samples {
            let n = chunk.min(samples - start);
            self.run_forward(0, last, n, &x[start * in_len..(start + n) * in_len], false)?;
            let pred = &self.workspace.outputs[last - 1][..n * out_len];
            total += loss_value(loss, pred, &y[start * out_len..(start + n) * out_len]) as f64 * n as f64;
            start += n;
        }
        Ok(total / samples as f64)
    }

    /// One training step on a batch: forward, loss, backward through every layer, optimizer
    /// update. Returns the batch loss (before the update, as Keras reports it). When the
    /// loss or a gradient is NaN or infinite, nothing is updated (weights, moments, step
    /// count) and the returned loss is not finite: the run has diverged.
    pub fn train_step(&mut self, x: &[f32], y: &[f32], batch: usize) -> Result<f32, ModelError> {
        let last = self.layers.len();
        let (in_len, out_len) = (self.input_len_of(0), self.output_len_of(last - 1));
        self.check_batch("training input", x, batch, in_len)?;
        self.check_batch("training target", y, batch, out_len)?;
        self.run_forward(0, last, batch, x, true)?;

        let Sequential { layers, fused, param_ranges, params, grads, workspace, optimizer, loss, .. } = self;
        let n_out = batch * out_len;
        let loss_value = loss_and_grad_split(
            *loss,
            &workspace.outputs[last - 1][..n_out],
            y,
            &mut workspace.deltas[last - 1][..n_out],
            &mut workspace.loss_chunk_sums,
        );
        if !loss_value.is_finite() {
            return Ok(loss_value);
        }
        // Steps from the last layer back: one layer, or a fused pair (first..=hi) as in the forward.
        let mut end = last;
        while end > 0 {
            let hi = end - 1;
            let (first, layer) = match hi.checked_sub(1).map(|p| (p, fused[p].as_deref_mut())) {
                Some((p, Some(pair))) => (p, pair),
                _ => (hi, layers[hi].as_mut()),
            };
            let in_len = batch * shape_len(layer.input_shape());
            let out_len = batch * shape_len(layer.output_shape());
            let input = if first == 0 { x } else { &workspace.outputs[first - 1][..in_len] };
            let output = &workspace.outputs[hi][..out_len];
            let (before, rest) = workspace.deltas.split_at_mut(hi);
            let dy = &mut rest[0][..out_len];
            let dx = if first == 0 { None } else { Some(&mut before[first - 1][..in_len]) };
            let range = param_ranges[first].start..param_ranges[hi].end;
            layer.backward(
                batch,
                &params[range.clone()],
                BackwardPass { x: input, y: output, dy, grads: &mut grads[range], dx },
            );
            end = first;
        }
        // A NaN or infinite gradient would poison the weights and Adam's moments for good:
        // refuse the step (the caller sees a non-finite loss and stops, ts/fit.ts).
        if !all_finite(grads) {
            return Ok(f32::NAN);
        }
        optimizer.step(params, grads);
        Ok(loss_value)
    }

    /// The gradient of the last `train_step` (for tests and diagnostics).
    pub fn last_gradients(&self) -> &[f32] {
        &self.grads
    }

    pub fn workspace_batch(&self) -> usize {
        self.workspace.batch()
    }
}
