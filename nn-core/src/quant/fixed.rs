//! Fixed-point requantization, as gemmlowp defines it and TensorFlow Lite and CMSIS-NN use
//! it: a real multiplier `M > 0` is held as a Q31 integer `m` in `[2^30, 2^31)` and a shift
//! `e` with `M ≈ m · 2^(e − 31)`, and applied to an int32 accumulator with two roundings to
//! the nearest integer (the first with ties upwards, as gemmlowp's nudge of `2^30` or
//! `1 − 2^30` followed by a truncating division gives; the second with ties away from zero):
//!
//! ```text
//! SaturatingRoundingDoublingHighMul(a, b) = ⌊a · b / 2^31 + 1/2⌋     (INT32_MAX for MIN · MIN)
//! RoundingDivideByPOT(x, n)              = round(x / 2^n), ties away from zero
//! MultiplyByQuantizedMultiplier(x, m, e) = RoundingDivideByPOT(
//!     SaturatingRoundingDoublingHighMul(x · 2^max(e, 0), m), max(−e, 0))
//! ```
//!
//! ```
//! use nn_core::quant::{multiply_by_quantized_multiplier, quantize_multiplier};
//! let (m, e) = quantize_multiplier(0.3);
//! assert_eq!((m, e), (1_288_490_189, -1)); // 0.3 = 0.6 · 2^-1, 0.6 · 2^31 rounded
//! assert_eq!(multiply_by_quantized_multiplier(1000, m, e), 300);
//! assert_eq!(multiply_by_quantized_multiplier(-5, m, e), -2); // -1.5 rounds away from 0
//! ```

/// `a · b / 2^31` to the nearest integer, ties upwards, saturating the one overflow
/// (`i32::MIN · i32::MIN`) to `i32::MAX`: gemmlowp's `SaturatingRoundingDoublingHighMul`.
#[inline(always)]
#[must_use]
pub fn saturating_rounding_doubling_high_mul(a: i32, b: i32) -> i32 {
    if a == b && a == i32::MIN {
        return i32::MAX;
    }
    let ab = i64::from(a) * i64::from(b);
    let nudge: i64 = if ab >= 0 { 1 << 30 } else { 1 - (1 << 30) };
    // Division truncating towards zero, as C++'s.
    #[allow(clippy::cast_possible_truncation)]
    let high = ((ab + nudge) / (1i64 << 31)) as i32;
    high
}

/// `round(x / 2^exponent)`, ties away from zero: gemmlowp's `RoundingDivideByPOT`, for an
/// exponent in `0..=31` (clamped to it).
#[inline(always)]
#[must_use]
pub fn rounding_divide_by_pot(x: i32, exponent: i32) -> i32 {
    let exponent = exponent.clamp(0, 31);
    let mask = ((1i64 << exponent) - 1) as i32;
    let remainder = x & mask;
    let threshold = (mask >> 1) + i32::from(x < 0);
    (x >> exponent) + i32::from(remainder > threshold)
}

/// `x · M` for the real multiplier held as `(multiplier, shift)` by [`quantize_multiplier`]:
/// TensorFlow Lite's `MultiplyByQuantizedMultiplier`. A shift outside `-31..=30` (never
/// produced by [`quantize_multiplier`] for the multipliers quantization meets) is clamped;
/// the left shift wraps like the C code's two's-complement product.
#[inline(always)]
#[must_use]
pub fn multiply_by_quantized_multiplier(x: i32, multiplier: i32, shift: i32) -> i32 {
    let shift = shift.clamp(-31, 30);
    let left = shift.max(0);
    let right = (-shift).max(0);
    rounding_divide_by_pot(
        saturating_rounding_doubling_high_mul(x.wrapping_mul(1 << left), multiplier),
        right,
    )
}

/// The Q31 multiplier and the shift of a real multiplier (TensorFlow Lite's
/// `QuantizeMultiplier`): `real = q · 2^shift` with `q` in `[0.5, 1)` (`frexp`),
/// `multiplier = round(q · 2^31)` (`2^31` becomes `2^30` with the shift one higher); 0 gives
/// `(0, 0)`, as does a multiplier below `2^-32`.
#[must_use]
pub fn quantize_multiplier(real: f64) -> (i32, i32) {
    if real == 0.0 || !real.is_finite() {
        return (0, 0);
    }
    let (q, mut shift) = crate::math::frexp(real);
    #[allow(clippy::cast_possible_truncation)]
    let mut fixed = crate::math::round_f64(q * (1i64 << 31) as f64) as i64;
    if fixed == 1 << 31 {
        fixed /= 2;
        shift += 1;
    }
    if shift < -31 {
        return (0, 0);
    }
    #[allow(clippy::cast_possible_truncation)]
    let fixed = fixed as i32;
    (fixed, shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values worked out by hand from gemmlowp's definition (a · b / 2^31, nudged by 2^30
    /// or 1 - 2^30, truncated).
    #[test]
    fn high_mul_rounds_half_up_and_saturates() {
        assert_eq!(
            saturating_rounding_doubling_high_mul(1 << 30, 1 << 30),
            1 << 29
        );
        // 3 · 2^30 / 2^31 = 1.5 -> 2; -1.5 -> -1 (ties upwards).
        assert_eq!(saturating_rounding_doubling_high_mul(3, 1 << 30), 2);
        assert_eq!(saturating_rounding_doubling_high_mul(-3, 1 << 30), -1);
        // 1.25 -> 1, -1.25 -> -1.
        assert_eq!(saturating_rounding_doubling_high_mul(5, 1 << 29), 1);
        assert_eq!(saturating_rounding_doubling_high_mul(-5, 1 << 29), -1);
        assert_eq!(
            saturating_rounding_doubling_high_mul(i32::MIN, i32::MIN),
            i32::MAX
        );
        assert_eq!(
            saturating_rounding_doubling_high_mul(i32::MIN, i32::MAX),
            -i32::MAX
        );
    }

    #[test]
    fn divide_by_power_of_two_rounds_half_away_from_zero() {
        assert_eq!(rounding_divide_by_pot(5, 1), 3); // 2.5
        assert_eq!(rounding_divide_by_pot(-5, 1), -3);
        assert_eq!(rounding_divide_by_pot(7, 2), 2); // 1.75
        assert_eq!(rounding_divide_by_pot(-7, 2), -2);
        assert_eq!(rounding_divide_by_pot(-6, 2), -2); // -1.5
        assert_eq!(rounding_divide_by_pot(6, 2), 2);
        assert_eq!(rounding_divide_by_pot(123, 0), 123);
        assert_eq!(rounding_divide_by_pot(i32::MIN, 31), -1);
    }

    #[test]
    fn multipliers_are_q31_with_a_shift() {
        assert_eq!(quantize_multiplier(0.5), (1 << 30, 0));
        assert_eq!(quantize_multiplier(1.0), (1 << 30, 1));
        assert_eq!(quantize_multiplier(0.25), (1 << 30, -1));
        assert_eq!(quantize_multiplier(0.0), (0, 0));
        // Just below 1: rounds up to 2^31, becomes 2^30 with the shift one higher.
        assert_eq!(quantize_multiplier(1.0 - 1e-12), (1 << 30, 1));
        for real in [3.1e-4, 0.0123, 0.5, 0.77, 1.9, 37.5] {
            let (m, e) = quantize_multiplier(real);
            let back = f64::from(m) * 2f64.powi(e - 31);
            assert!((back / real - 1.0).abs() < 1e-9, "{real}: {m} {e}");
            // 100000 · M against the real product.
            let y = multiply_by_quantized_multiplier(100_000, m, e);
            assert!(
                (f64::from(y) - 100_000.0 * real).abs() <= 1.0,
                "{real}: {y}"
            );
        }
    }
}
