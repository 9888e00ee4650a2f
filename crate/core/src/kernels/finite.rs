//! Whether every value of a slice is finite: the training step's guard against applying a
//! NaN or infinite gradient (a diverging run must leave the weights as they were).
//!
//! The fast path reads exponent bits with integer operations, which are associative, so
//! the compiler vectorises the reduction (a float reduction it may not reorder); the
//! reference beside it is `f32::is_finite`.

/// True when no value is NaN or ±infinity.
pub fn all_finite(values: &[f32]) -> bool {
    // An f32 is NaN or infinite exactly when its 8 exponent bits are all ones; adding one
    // exponent step to those bits then carries into bit 31, and only then.
    let mut carry = 0u32;
    for v in values {
        carry |= (v.to_bits() & 0x7f80_0000).wrapping_add(0x0080_0000);
    }
    carry & 0x8000_0000 == 0
}

pub fn all_finite_reference(values: &[f32]) -> bool {
    values.iter().all(|v| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{random_vec, wasm_bindgen_test};

    #[wasm_bindgen_test(unsupported = test)]
    fn agrees_with_the_reference_on_every_kind_of_value() {
        let specials = [
            f32::NAN,
            -f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::MAX,
            f32::MIN,
            f32::MIN_POSITIVE,
            1e-45, // the smallest subnormal
            -0.0,
            0.0,
            f32::from_bits(0x7f80_0001), // a signalling NaN
            f32::from_bits(0xffff_ffff),
        ];
        for len in [0usize, 1, 3, 4, 7, 16, 33, 1000] {
            let base = random_vec(len as u64 + 1, len, -1e30, 1e30);
            assert!(all_finite(&base) && all_finite_reference(&base));
            for (k, &special) in specials.iter().enumerate() {
                for at in [0, len / 2, len.saturating_sub(1)] {
                    if len == 0 {
                        continue;
                    }
                    let mut v = base.clone();
                    v[at] = special;
                    assert_eq!(all_finite(&v), all_finite_reference(&v), "special {k} at {at} of {len}");
                }
            }
        }
    }
}
