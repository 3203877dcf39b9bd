//! Scalar math that works the same with and without `std`.
//!
//! `core` has no `exp`, `ln`, `tanh` or `sqrt` for floats; these wrappers route them through
//! [`libm`], so results are identical in `std` and bare-metal builds.

/// `e^x`.
#[inline]
#[must_use]
pub fn exp(x: f32) -> f32 {
    libm::expf(x)
}

/// Natural logarithm.
#[inline]
#[must_use]
pub fn ln(x: f32) -> f32 {
    libm::logf(x)
}

/// `ln(1 + x)`, accurate for small `x`.
#[inline]
#[must_use]
pub fn ln_1p(x: f32) -> f32 {
    libm::log1pf(x)
}

/// `e^x - 1`, accurate for small `x`.
#[inline]
#[must_use]
pub fn exp_m1(x: f32) -> f32 {
    libm::expm1f(x)
}

/// The complementary error function `1 - erf(x)`, accurate where `erf(x)` is close to 1.
#[inline]
#[must_use]
pub fn erfc(x: f32) -> f32 {
    libm::erfcf(x)
}

/// Hyperbolic tangent.
#[inline]
#[must_use]
pub fn tanh(x: f32) -> f32 {
    libm::tanhf(x)
}

/// Square root. IEEE 754 rounds it exactly, so the inline instruction used with `std`
/// (which vectorises inside loops) and libm's version give identical results.
#[inline]
#[must_use]
pub fn sqrt(x: f32) -> f32 {
    #[cfg(feature = "std")]
    return x.sqrt();
    #[cfg(not(feature = "std"))]
    libm::sqrtf(x)
}

/// The logistic function `1 / (1 + e^-x)`, without overflow for large `|x|`.
#[inline]
#[must_use]
pub fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + exp(-x))
    } else {
        let e = exp(x);
        e / (1.0 + e)
    }
}

/// `ln(1 + e^x)` (softplus), without overflow for large `x`.
#[inline]
#[must_use]
pub fn softplus(x: f32) -> f32 {
    x.max(0.0) + ln_1p(exp(-x.abs()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn sigmoid_is_stable_at_the_extremes() {
        assert_eq!(super::sigmoid(1e4), 1.0);
        assert_eq!(super::sigmoid(-1e4), 0.0);
        assert!((super::sigmoid(0.0) - 0.5).abs() < 1e-7);
    }

    #[test]
    fn softplus_matches_the_naive_formula_where_that_is_safe() {
        for x in [-5.0f32, -0.5, 0.0, 0.7, 6.0] {
            let naive = (1.0 + x.exp()).ln();
            assert!((super::softplus(x) - naive).abs() < 1e-6);
        }
        assert_eq!(super::softplus(1e4), 1e4);
        assert_eq!(super::softplus(-1e4), 0.0);
    }
}
