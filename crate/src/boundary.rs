//! The wasm-bindgen boundary: a model handle and flat `Float32Array`s in and out. It only
//! decodes arguments and forwards to `model`; the TypeScript SDK validates everything
//! first and these checks are the last line, so a bad call is an exception, never a trap.

use crate::kernels::loss::Loss;
use crate::kernels::{Activation, Padding};
use crate::layers::{shape_len, LayerSpec};
use crate::model::{ModelError, OptimizerSpec, Sequential};
use wasm_bindgen::prelude::*;

/// Numbers per layer in the encoded layer list the SDK sends.
pub const LAYER_CODE_LEN: usize = 6;

/// Errors cross as JS `Error`s whose message starts with a tag the SDK maps to its typed errors.
fn to_js(e: ModelError) -> JsError {
    match e {
        ModelError::Shape(m) => JsError::new(&format!("[ShapeError] {m}")),
        ModelError::Value(m) => JsError::new(&format!("[ValueError] {m}")),
    }
}

fn value_error(m: String) -> JsError {
    to_js(ModelError::Value(m))
}

fn activation(code: u32) -> Result<Activation, JsError> {
    Ok(match code {
        0 => Activation::Linear,
        1 => Activation::Relu,
        2 => Activation::Sigmoid,
        3 => Activation::Tanh,
        _ => return Err(value_error(format!("unknown activation code {code}"))),
    })
}

fn padding(code: u32) -> Result<Padding, JsError> {
    Ok(match code {
        0 => Padding::Same,
        1 => Padding::Valid,
        _ => return Err(value_error(format!("unknown padding code {code}"))),
    })
}

/// Decodes `[kind, a, b, c, d, e]` per layer:
/// dense `[0, units, act]`, conv2d `[1, filters, kh, kw, padding, act]`,
/// max-pooling `[2, ph, pw, sh, sw, padding]`, up-sampling `[3, sh, sw]`.
fn decode_layers(codes: &[u32]) -> Result<Vec<LayerSpec>, JsError> {
    if codes.is_empty() || !codes.len().is_multiple_of(LAYER_CODE_LEN) {
        return Err(value_error(format!("layer codes must be a non-empty multiple of {LAYER_CODE_LEN} numbers")));
    }
    codes
        .chunks(LAYER_CODE_LEN)
        .map(|c| {
            let u = |v: u32| v as usize;
            Ok(match c[0] {
                0 => LayerSpec::Dense { units: u(c[1]), activation: activation(c[2])? },
                1 => LayerSpec::Conv2d {
                    filters: u(c[1]),
                    kernel: [u(c[2]), u(c[3])],
                    padding: padding(c[4])?,
                    activation: activation(c[5])?,
                },
                2 => LayerSpec::MaxPooling2d { pool: [u(c[1]), u(c[2])], strides: [u(c[3]), u(c[4])], padding: padding(c[5])? },
                3 => LayerSpec::UpSampling2d { size: [u(c[1]), u(c[2])] },
                k => return Err(value_error(format!("unknown layer kind code {k}"))),
            })
        })
        .collect()
}

fn loss(code: u32) -> Result<Loss, JsError> {
    match code {
        0 => Ok(Loss::MeanSquaredError),
        1 => Ok(Loss::BinaryCrossentropy),
        _ => Err(value_error(format!("unknown loss code {code}"))),
    }
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
fn stage(buffer: &mut Vec<f32>, len: usize) -> u32 {
    if buffer.len() < len {
        buffer.resize(len, 0.0);
    }
    buffer.as_ptr() as u32
}

#[wasm_bindgen]
impl ModelHandle {
    #[wasm_bindgen(constructor)]
    pub fn new(input_shape: &[u32], layer_codes: &[u32], seed: f64) -> Result<ModelHandle, JsError> {
        if !(seed.is_finite() && seed >= 0.0 && seed.fract() == 0.0 && seed <= 9_007_199_254_740_991.0) {
            return Err(value_error(format!("seed must be a non-negative safe integer, got {seed}")));
        }
        let shape: Vec<usize> = input_shape.iter().map(|&d| d as usize).collect();
        let specs = decode_layers(layer_codes)?;
        let model = Sequential::new(&shape, &specs, seed as u64).map_err(to_js)?;
        Ok(ModelHandle { model, staged_input: Vec::new(), staged_target: Vec::new() })
    }

    /// `optimizer`: 0 = Adam(lr, β1, β2, ε), 1 = SGD(lr). `loss`: 0 = MSE, 1 = binary cross-entropy.
    pub fn compile(&mut self, optimizer: u32, learning_rate: f64, beta1: f64, beta2: f64, epsilon: f64, loss_code: u32) -> Result<(), JsError> {
        let finite = [learning_rate, beta1, beta2, epsilon].iter().all(|v| v.is_finite());
        if !finite || learning_rate <= 0.0 || !(0.0..1.0).contains(&beta1) || !(0.0..1.0).contains(&beta2) || epsilon <= 0.0 {
            return Err(value_error(format!(
                "optimizer settings out of range: learning rate {learning_rate}, β1 {beta1}, β2 {beta2}, ε {epsilon}"
            )));
        }
        let optimizer = match optimizer {
            0 => OptimizerSpec::Adam { learning_rate, beta1, beta2, epsilon },
            1 => OptimizerSpec::Sgd { learning_rate: learning_rate as f32 },
            o => return Err(value_error(format!("unknown optimizer code {o}"))),
        };
        let loss = loss(loss_code)?;
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

    fn layer(&self, layer: u32) -> Result<&dyn crate::layers::Layer, JsError> {
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
    pub fn stage_input(&mut self, batch: u32) -> u32 {
        let len = batch as usize * self.model.input_len_of(0);
        stage(&mut self.staged_input, len)
    }

    #[wasm_bindgen(js_name = stageTarget)]
    pub fn stage_target(&mut self, batch: u32) -> u32 {
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
            return Err(value_error(format!("the inputs cannot be the targets: {x_len} input values, {y_len} output values")));
        }
        self.model.train_step(&self.staged_input[..x_len], &targets[..y_len], batch).map_err(to_js)
    }

    /// Layers `from..to` on `samples` samples, `chunk` at a time.
    pub fn predict(&mut self, x: &[f32], samples: u32, from: u32, to: u32, chunk: u32) -> Result<Vec<f32>, JsError> {
        let (from, to) = (from as usize, to as usize);
        if from >= to || to > self.model.layers().len() {
            return Err(value_error(format!("layer range {from}..{to} is not within 0..{}", self.model.layers().len())));
        }
        let out_len = shape_len(self.model.layers()[to - 1].output_shape());
        let mut out = vec![0.0; samples as usize * out_len];
        self.model.predict(from, to, x, samples as usize, chunk as usize, &mut out).map_err(to_js)?;
        Ok(out)
    }

    pub fn evaluate(&mut self, x: &[f32], y: &[f32], samples: u32, chunk: u32, loss_code: u32) -> Result<f64, JsError> {
        let loss = loss(loss_code)?;
        self.model.evaluate(x, y, samples as usize, chunk as usize, loss).map_err(to_js)
    }

    /// Optimizer steps taken since the last compile.
    pub fn iterations(&self) -> f64 {
        self.model.optimizer_iterations() as f64
    }
}

/// The threads build's pool (wasm32 + atomics only; absent from the single-thread module).
/// The SDK (ts/threads.ts) calls `threadPoolStart(helpers)` on the driving thread, then
/// instantiates the same module over the same shared memory in each helper Worker, where
/// `threadPoolHelper()` runs until `threadPoolStop()`.
#[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
mod threads {
    use crate::parallel::pool;
    use wasm_bindgen::prelude::*;

    /// `driver_can_block`: false on a browser's main thread (no `atomic.wait` there).
    #[wasm_bindgen(js_name = threadPoolStart)]
    pub fn thread_pool_start(helpers: u32, driver_can_block: bool) {
        pool::start(helpers, driver_can_block);
    }

    /// A helper's entry point: takes tasks until `threadPoolStop()`.
    #[wasm_bindgen(js_name = threadPoolHelper)]
    pub fn thread_pool_helper() {
        pool::helper_loop();
    }

    #[wasm_bindgen(js_name = threadPoolStop)]
    pub fn thread_pool_stop() {
        pool::stop();
    }

    /// Called by the SDK on a helper whose loop trapped; see `parallel::pool::helper_failed`.
    #[wasm_bindgen(js_name = threadPoolHelperFailed)]
    pub fn thread_pool_helper_failed() {
        pool::helper_failed();
    }

    /// Tests only: a job whose tasks trap on every helper; see `parallel::pool::trap_on_helpers`.
    #[wasm_bindgen(js_name = threadPoolTrapOnHelpers)]
    pub fn thread_pool_trap_on_helpers(tasks: u32, driver_spins: u32) {
        pool::trap_on_helpers(tasks as usize, driver_spins);
    }

    /// Benchmarks only: pause (1 thread) or resume the pool; see `parallel::pool::pause`.
    #[wasm_bindgen(js_name = threadPoolPause)]
    pub fn thread_pool_pause(paused: bool) {
        pool::pause(paused);
    }

    /// Threads the layers split a batch across (helpers + 1).
    #[wasm_bindgen(js_name = threadPoolSize)]
    pub fn thread_pool_size() -> u32 {
        crate::parallel::threads() as u32
    }
}
