//! The numeric codes the SDK (ts/layers.ts, ts/compile.ts) sends for layers, activations,
//! padding, losses and optimizers, decoded into the core's types. Each enumeration is one
//! table whose index is the code; the SDK's tables must list them in the same order
//! (test/boundary-codes.test.ts round-trips every kind and activation through a model).

use wasm_autoencoders_core::kernels::loss::Loss;
use wasm_autoencoders_core::kernels::{Activation, Padding};
use wasm_autoencoders_core::layers::LayerSpec;
use wasm_autoencoders_core::model::{ModelError, OptimizerSpec};

/// Numbers per layer in the encoded layer list the SDK sends.
pub const LAYER_CODE_LEN: usize = 6;

/// Code → activation (ts/layers.ts `ACTIVATION_CODES`).
pub const ACTIVATIONS: [Activation; 4] = [Activation::Linear, Activation::Relu, Activation::Sigmoid, Activation::Tanh];
/// Code → padding.
pub const PADDINGS: [Padding; 2] = [Padding::Same, Padding::Valid];
/// Code → loss.
pub const LOSSES: [Loss; 2] = [Loss::MeanSquaredError, Loss::BinaryCrossentropy];
/// Code → layer kind, as `Layer::kind()` names it.
pub const LAYER_KINDS: [&str; 4] = ["Dense", "Conv2D", "MaxPooling2D", "UpSampling2D"];

fn value_error(m: String) -> ModelError {
    ModelError::Value(m)
}

fn by_code<T: Copy>(table: &[T], code: u32, what: &str) -> Result<T, ModelError> {
    table.get(code as usize).copied().ok_or_else(|| value_error(format!("unknown {what} code {code}")))
}

pub fn activation(code: u32) -> Result<Activation, ModelError> {
    by_code(&ACTIVATIONS, code, "activation")
}

pub fn padding(code: u32) -> Result<Padding, ModelError> {
    by_code(&PADDINGS, code, "padding")
}

pub fn loss(code: u32) -> Result<Loss, ModelError> {
    by_code(&LOSSES, code, "loss")
}

/// Decodes `[kind, a, b, c, d, e]` per layer:
/// dense `[0, units, act]`, conv2d `[1, filters, kh, kw, padding, act]`,
/// max-pooling `[2, ph, pw, sh, sw, padding]`, up-sampling `[3, sh, sw]`.
pub fn decode_layers(codes: &[u32]) -> Result<Vec<LayerSpec>, ModelError> {
    if codes.is_empty() || !codes.len().is_multiple_of(LAYER_CODE_LEN) {
        return Err(value_error(format!("layer codes must be a non-empty multiple of {LAYER_CODE_LEN} numbers")));
    }
    codes
        .chunks(LAYER_CODE_LEN)
        .map(|c| {
            let u = |v: u32| v as usize;
            Ok(match by_code(&LAYER_KINDS, c[0], "layer kind")? {
                "Dense" => LayerSpec::Dense { units: u(c[1]), activation: activation(c[2])? },
                "Conv2D" => LayerSpec::Conv2d {
                    filters: u(c[1]),
                    kernel: [u(c[2]), u(c[3])],
                    padding: padding(c[4])?,
                    activation: activation(c[5])?,
                },
                "MaxPooling2D" => LayerSpec::MaxPooling2d {
                    pool: [u(c[1]), u(c[2])],
                    strides: [u(c[3]), u(c[4])],
                    padding: padding(c[5])?,
                },
                _ => LayerSpec::UpSampling2d { size: [u(c[1]), u(c[2])] },
            })
        })
        .collect()
}

/// The optimizer: 0 = Adam(lr, β1, β2, ε), 1 = SGD(lr); settings checked for range.
pub fn optimizer(
    code: u32,
    learning_rate: f64,
    beta1: f64,
    beta2: f64,
    epsilon: f64,
) -> Result<OptimizerSpec, ModelError> {
    let finite = [learning_rate, beta1, beta2, epsilon].iter().all(|v| v.is_finite());
    if !finite || learning_rate <= 0.0 || !(0.0..1.0).contains(&beta1) || !(0.0..1.0).contains(&beta2) || epsilon <= 0.0
    {
        return Err(value_error(format!(
            "optimizer settings out of range: learning rate {learning_rate}, β1 {beta1}, β2 {beta2}, ε {epsilon}"
        )));
    }
    match code {
        0 => Ok(OptimizerSpec::Adam { learning_rate, beta1, beta2, epsilon }),
        1 => Ok(OptimizerSpec::Sgd { learning_rate: learning_rate as f32 }),
        o => Err(value_error(format!("unknown optimizer code {o}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_autoencoders_core::model::Sequential;

    #[test]
    fn every_layer_kind_code_builds_a_layer_of_that_kind() {
        let inputs: [&[usize]; 4] = [&[6], &[4, 4, 1], &[4, 4, 2], &[2, 2, 3]];
        let layers: [[u32; LAYER_CODE_LEN]; 4] =
            [[0, 5, 1, 0, 0, 0], [1, 3, 3, 3, 0, 2], [2, 2, 2, 2, 2, 1], [3, 2, 2, 0, 0, 0]];
        for (code, (input, layer)) in inputs.iter().zip(layers).enumerate() {
            let specs = decode_layers(&layer).unwrap();
            let model = Sequential::new(input, &specs, 1).unwrap();
            assert_eq!(model.layers()[0].kind(), LAYER_KINDS[code], "code {code}");
        }
        assert!(decode_layers(&[4, 0, 0, 0, 0, 0]).is_err());
        assert!(decode_layers(&[0, 1, 0]).is_err());
    }

    #[test]
    fn activation_padding_and_loss_codes_are_their_table_order() {
        for (code, want) in ACTIVATIONS.iter().enumerate() {
            let specs = decode_layers(&[0, 2, code as u32, 0, 0, 0]).unwrap();
            assert!(matches!(specs[0], LayerSpec::Dense { activation, .. } if activation == *want));
        }
        for (code, want) in PADDINGS.iter().enumerate() {
            let specs = decode_layers(&[2, 2, 2, 2, 2, code as u32]).unwrap();
            assert!(matches!(specs[0], LayerSpec::MaxPooling2d { padding, .. } if padding == *want));
        }
        assert!(activation(4).is_err() && padding(2).is_err() && loss(2).is_err());
        assert!(matches!(loss(1), Ok(Loss::BinaryCrossentropy)));
        assert!(optimizer(0, 1e-3, 0.9, 0.999, 1e-7).is_ok() && optimizer(2, 1e-3, 0.9, 0.999, 1e-7).is_err());
        assert!(optimizer(0, f64::NAN, 0.9, 0.999, 1e-7).is_err());
    }
}
