//! `ModelHandle`: one core `Sequential` model behind a JS class. Arguments are decoded
//! (codes.rs) and forwarded; flat `Float32Array`s in and out.

use crate::codes;
use wasm_autoencoders_core::layers::{shape_len, Layer};
use wasm_autoencoders_core::model::{ensure_available, ModelError, Sequential};
use wasm_autoencoders_core::optim::OptimizerState;
use wasm_bindgen::prelude::*;

/// Errors cross as JS `Error`s whose message starts with a tag the SDK maps to its typed errors.
fn to_js(e: ModelError) -> JsError {
    match e {
        ModelError::Shape(m) => JsError::new(&format!("[ShapeError] {m}")),
        ModelError::Value(m) => JsError::new(&format!("[ValueError] {m}")),
        ModelError::OutOfMemory(m) => JsError::new(&format!("[OutOfMemoryError] {m}")),
    }
}

fn value_error(m: String) -> JsError {
    to_js(ModelError::Value(m))
}

#[wasm_bindgen]
pub struct ModelHandle {
    model: Sequential,
    /// Batch buffers the SDK writes straight into (through a view on Wasm memory), so a
    /// training step copies each sample once and allocates nothing.
    staged_input: Vec<f32>,
    staged_target: Vec<f32>,
}

/// Grows `buffer` to at least `len` values (never shrinks) and returns its address.
fn stage(buffer: &mut Vec<f32>, len: usize) -> Result<u32, JsError> {
    if buffer.len() < len {
        ensure_available(len, || format!("the staged batch's {len} values")).map_err(to_js)?;
        buffer.resize(len, 0.0);
    }
    Ok(buffer.as_ptr() as u32)
}

#[wasm_bindgen]
impl ModelHandle {
    #[wasm_bindgen(constructor)]
    pub fn new(input_shape: &[u32], layer_codes: &[u32], seed: f64) -> Result<ModelHandle, JsError> {
        if !(seed.is_finite() && seed >= 0.0 && seed.fract() == 0.0 && seed <= 9_007_199_254_740_991.0) {
            return Err(value_error(format!("seed must be a non-negative safe integer, got {seed}")));
        }
        let shape: Vec<usize> = input_shape.iter().map(|&d| d as usize).collect();
        let specs = codes::decode_layers(layer_codes).map_err(to_js)?;
        let model = Sequential::new(&shape, &specs, seed as u64).map_err(to_js)?;
        Ok(ModelHandle { model, staged_input: Vec::new(), staged_target: Vec::new() })
    }

    /// `optimizer`: 0 = Adam(lr, β1, β2, ε), 1 = SGD(lr). `loss`: 0 = MSE, 1 = binary cross-entropy.
    pub fn compile(
        &mut self,
        optimizer: u32,
        learning_rate: f64,
        beta1: f64,
        beta2: f64,
        epsilon: f64,
        loss_code: u32,
    ) -> Result<(), JsError> {
        let optimizer = codes::optimizer(optimizer, learning_rate, beta1, beta2, epsilon).map_err(to_js)?;
        let loss = codes::loss(loss_code).map_err(to_js)?;
        self.model.compile(optimizer, loss);
        Ok(())
    }

    #[wasm_bindgen(js_name = layerCount)]
    pub fn layer_count(&self) -> u32 {
        self.model.layers().len() as u32
    }

    #[wasm_bindgen(js_name = layerKind)]
    pub fn layer_kind(&self, layer: u32) -> Result<String, JsError> {
        self.layer(layer).map(|l| l.kind().to_string())
    }

    #[wasm_bindgen(js_name = layerOutputShape)]
    pub fn layer_output_shape(&self, layer: u32) -> Result<Vec<u32>, JsError> {
        self.layer(layer).map(|l| l.output_shape().iter().map(|&d| d as u32).collect())
    }

    /// Parameter shapes of one layer, flattened as `[rank, dims..., rank, dims...]`.
    #[wasm_bindgen(js_name = layerParamShapes)]
    pub fn layer_param_shapes(&self, layer: u32) -> Result<Vec<u32>, JsError> {
        let mut out = Vec::new();
        for shape in self.layer(layer)?.param_shapes() {
            out.push(shape.len() as u32);
            out.extend(shape.iter().map(|&d| d as u32));
        }
        Ok(out)
    }

    fn layer(&self, layer: u32) -> Result<&dyn Layer, JsError> {
        self.model
            .layers()
            .get(layer as usize)
            .map(|l| l.as_ref())
            .ok_or_else(|| value_error(format!("layer {layer} does not exist")))
    }

    #[wasm_bindgen(js_name = paramCount)]
    pub fn param_count(&self) -> u32 {
        self.model.param_count() as u32
    }

    /// Every parameter, Keras order, as one flat array.
    pub fn weights(&self) -> Vec<f32> {
        self.model.params().to_vec()
    }

    #[wasm_bindgen(js_name = setWeights)]
    pub fn set_weights(&mut self, values: &[f32]) -> Result<(), JsError> {
        self.model.set_params(values).map_err(to_js)
    }

    /// Address (in Wasm memory) of the input staging buffer, sized for `batch` samples.
    /// Stays valid until the next `stage*` call; views on it must be made after both.
    #[wasm_bindgen(js_name = stageInput)]
    pub fn stage_input(&mut self, batch: u32) -> Result<u32, JsError> {
        let len = batch as usize * self.model.input_len_of(0);
        stage(&mut self.staged_input, len)
    }

    #[wasm_bindgen(js_name = stageTarget)]
    pub fn stage_target(&mut self, batch: u32) -> Result<u32, JsError> {
        let last = self.model.layers().len() - 1;
        let len = batch as usize * self.model.output_len_of(last);
        stage(&mut self.staged_target, len)
    }

    /// One optimizer step on the first `batch` samples of the staging buffers; with
    /// `target_is_input` (an autoencoder fit on clean data) the staged inputs are the
    /// targets too, and nothing need be staged as a target.
    #[wasm_bindgen(js_name = trainStaged)]
    pub fn train_staged(&mut self, batch: u32, target_is_input: bool) -> Result<f32, JsError> {
        let batch = batch as usize;
        let last = self.model.layers().len() - 1;
        let (x_len, y_len) = (batch * self.model.input_len_of(0), batch * self.model.output_len_of(last));
        let targets = if target_is_input { &self.staged_input } else { &self.staged_target };
        if x_len > self.staged_input.len() || y_len > targets.len() {
            return Err(value_error(format!("{batch} samples were not staged: call stageInput/stageTarget first")));
        }
        if target_is_input && x_len != y_len {
            return Err(value_error(format!(
                "the inputs cannot be the targets: {x_len} input values, {y_len} output values"
            )));
        }
        self.model.train_step(&self.staged_input[..x_len], &targets[..y_len], batch).map_err(to_js)
    }

    /// Layers `from..to` on `samples` samples, `chunk` at a time.
    pub fn predict(&mut self, x: &[f32], samples: u32, from: u32, to: u32, chunk: u32) -> Result<Vec<f32>, JsError> {
        let (from, to) = (from as usize, to as usize);
        if from >= to || to > self.model.layers().len() {
            return Err(value_error(format!(
                "layer range {from}..{to} is not within 0..{}",
                self.model.layers().len()
            )));
        }
        let out_len = shape_len(self.model.layers()[to - 1].output_shape());
        let floats = (samples as usize).saturating_mul(out_len);
        ensure_available(floats, || format!("the outputs of {samples} samples")).map_err(to_js)?;
        let mut out = vec![0.0; floats];
        self.model.predict(from, to, x, samples as usize, chunk as usize, &mut out).map_err(to_js)?;
        Ok(out)
    }

    pub fn evaluate(&mut self, x: &[f32], y: &[f32], samples: u32, chunk: u32, loss_code: u32) -> Result<f64, JsError> {
        let loss = codes::loss(loss_code).map_err(to_js)?;
        self.model.evaluate(x, y, samples as usize, chunk as usize, loss).map_err(to_js)
    }

    /// Optimizer steps taken since the last compile.
    pub fn iterations(&self) -> f64 {
        self.model.optimizer_iterations() as f64
    }

    /// A new learning rate, the optimizer's state kept (ReduceLROnPlateau).
    #[wasm_bindgen(js_name = setLearningRate)]
    pub fn set_learning_rate(&mut self, learning_rate: f64) -> Result<(), JsError> {
        self.model.set_learning_rate(learning_rate).map_err(to_js)
    }

    /// The optimizer's slots (Adam: m then v), to save with the weights.
    #[wasm_bindgen(js_name = optimizerSlots)]
    pub fn optimizer_slots(&self) -> Vec<f32> {
        self.model.optimizer_slots()
    }

    /// Continues the optimizer from a saved step count and slots; nothing changes when refused.
    #[wasm_bindgen(js_name = restoreOptimizer)]
    pub fn restore_optimizer(&mut self, iterations: f64, slots: &[f32]) -> Result<(), JsError> {
        if !(iterations >= 0.0 && iterations.fract() == 0.0 && iterations <= 2f64.powi(53)) {
            return Err(value_error(format!("optimizer iterations must be a whole number ≥ 0, got {iterations}")));
        }
        self.model.restore_optimizer(OptimizerState { iterations: iterations as u64, slots }).map_err(to_js)
    }
}
