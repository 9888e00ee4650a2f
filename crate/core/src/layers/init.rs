//! Keras's default initialisers.

use crate::rng::Rng;

/// Glorot (Xavier) uniform: U(-l, l) with l = √(6 / (fan_in + fan_out)), as Keras computes
/// the fans: Dense [in, out] → (in, out); Conv2D [kh, kw, in, out] → (kh·kw·in, kh·kw·out).
pub fn glorot_uniform(rng: &mut Rng, fan_in: usize, fan_out: usize, out: &mut [f32]) {
    let limit = (6.0 / (fan_in + fan_out) as f64).sqrt() as f32;
    for w in out.iter_mut() {
        *w = rng.uniform(-limit, limit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn glorot_stays_within_limit_and_fills_it() {
        let mut rng = Rng::new(1);
        let mut w = vec![0.0; 784 * 64];
        glorot_uniform(&mut rng, 784, 64, &mut w);
        let limit = (6.0f32 / (784.0 + 64.0)).sqrt();
        assert!(w.iter().all(|v| v.abs() <= limit));
        let max = w.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(max > 0.99 * limit);
        // Variance of U(-l, l) is l²/3 = 2 / (fan_in + fan_out).
        let var = w.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / w.len() as f64;
        assert!((var - 2.0 / 848.0).abs() < 0.05 * 2.0 / 848.0, "variance {var}");
    }
}
