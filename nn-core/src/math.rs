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

/// `e^x` by range reduction and a polynomial (Cephes' `expf`): within 2 ulp of the exact
/// value for `x` in `[-87, 88]`, clamped outside (so never infinite, and `e^x` of a very
/// negative `x` is about 1e-38 rather than 0). Unlike [`exp`] it has no branch, so loops of
/// it vectorise: the recurrent layers' gates, the [`sigmoid_slice`] and [`tanh_slice`]
/// activations and those built on [`exp_m1_poly`] and [`softplus_poly`] use it.
#[inline(always)]
#[must_use]
pub fn exp_poly(x: f32) -> f32 {
    const LOG2E: f32 = core::f32::consts::LOG2_E;
    // ln 2 split in two, the first part exact in few bits, so that `x - n ln 2` is exact.
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // 1.5 * 2^23: adding it rounds a float of magnitude below 2^22 to an integer.
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    let shifted = x * LOG2E + ROUND;
    let n = shifted - ROUND;
    let r = x - n * LN2_HI - n * LN2_LO;
    let mut p = 1.987_569_1e-4;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 5e-1;
    let y = p * r * r + r + 1.0;
    // 2^n from the integer n in the low bits of `shifted` (n + 127 in 1..=254: a normal).
    #[allow(clippy::cast_sign_loss)]
    let bits = (shifted.to_bits().wrapping_sub(ROUND.to_bits()) as i32).wrapping_add(127) as u32;
    y * f32::from_bits(bits << 23)
}

/// The natural logarithm of a positive normal `x` (not 0, subnormal, infinite or NaN: those
/// give a meaningless value) by range reduction and a series, within 3 ulp of the exact
/// value. With `x = 2^k · m`, `m` in `[√½, √2)`: `ln x = k ln 2 + 2 atanh(t)`,
/// `t = (m - 1) / (m + 1)` in `[-0.172, 0.172]`, and `atanh(t) = t + t³/3 + t⁵/5 + t⁷/7 + t⁹/9`
/// leaves out less than `t¹¹/11`, a relative `2·10⁻⁹`. Unlike [`ln`] it has no branch, so
/// loops of it vectorise: [`Rng::fill_normal`](crate::rng::Rng::fill_normal) uses it.
#[inline(always)]
#[must_use]
pub(crate) fn ln_poly(x: f32) -> f32 {
    /// The bits of `√½` rounded to f32: subtracting them leaves `k` in the exponent field.
    const SQRT_HALF_BITS: i32 = 0x3F35_04F3;
    #[allow(clippy::cast_possible_wrap)]
    let shifted = x.to_bits() as i32 - SQRT_HALF_BITS;
    #[allow(clippy::cast_sign_loss)]
    let m = f32::from_bits(((shifted & 0x007F_FFFF) + SQRT_HALF_BITS) as u32);
    #[allow(clippy::cast_precision_loss)]
    let k = (shifted >> 23) as f32;
    let t = (m - 1.0) / (m + 1.0);
    let t2 = t * t;
    let series = 2.0 + t2 * (2.0 / 3.0 + t2 * (2.0 / 5.0 + t2 * (2.0 / 7.0 + t2 * (2.0 / 9.0))));
    k * core::f32::consts::LN_2 + t * series
}

/// The logistic function by [`exp_poly`]: branch-free, so that loops of it vectorise; within
/// a few ulp of the exact value, exactly 0.5 at 0, and in `(0, 1]` everywhere.
#[inline(always)]
#[must_use]
pub fn sigmoid_poly(x: f32) -> f32 {
    1.0 / (1.0 + exp_poly(-x))
}

/// The hyperbolic tangent by [`exp_poly`] (Cephes' `tanhf`): an odd polynomial below
/// `|x| = 0.625`, `1 - 2 / (e^{2|x|} + 1)` above, with the sign of `x`; branch-free, so that
/// loops of it vectorise. Within a few ulp of the exact value; exactly ±1 beyond `|x| = 9.02`.
#[inline(always)]
#[must_use]
pub fn tanh_poly(x: f32) -> f32 {
    let a = x.abs();
    let z = x * x;
    let small =
        ((((-5.704_988_7e-3 * z + 2.063_909e-2) * z - 5.373_971_6e-2) * z + 1.333_144_2e-1) * z
            - 3.333_328e-1)
            * z
            * x
            + x;
    let large = (1.0 - 2.0 / (exp_poly(2.0 * a.min(10.0)) + 1.0)).copysign(x);
    if a < 0.625 {
        small
    } else {
        large
    }
}

/// `e^x - 1` by [`exp_poly`], accurate for small `x`: its Taylor series to `x^9/9!` below
/// `|x| = 0.5` (the terms left out are below a relative `3·10⁻¹⁰`), `exp_poly(x) - 1` from
/// there (where `|e^x - 1|` is over 0.39, so that the subtraction loses under two bits).
/// Within 4 ulp of the exact value, -1 below about -17, clamped as [`exp_poly`] above 88;
/// branch-free, so that loops of it vectorise: the ELU, SELU and softplus activations use it.
#[inline(always)]
#[must_use]
pub fn exp_m1_poly(x: f32) -> f32 {
    let series = x + x
        * x
        * (1.0 / 2.0
            + x * (1.0 / 6.0
                + x * (1.0 / 24.0
                    + x * (1.0 / 120.0
                        + x * (1.0 / 720.0
                            + x * (1.0 / 5040.0 + x * (1.0 / 40320.0 + x / 362_880.0)))))));
    let large = exp_poly(x) - 1.0;
    if x.abs() < 0.5 {
        series
    } else {
        large
    }
}

/// `ln(1 + e^x)` (softplus) by [`exp_poly`] and the polynomial logarithm `ln_poly`:
/// `max(x, 0) + ln(1 + u)` with `u = e^-|x|` (0 beyond `|x| = 87`, where the term is below
/// the last place of `x` or below 2^-125), and `ln(1 + u)` as
/// `ln_poly(1 + u) · u / ((1 + u) - 1)`, which cancels the rounding of `1 + u` (and is `u`
/// where `1 + u` rounds to 1). Within 5 ulp of the exact value; branch-free, so that loops
/// of it vectorise.
#[inline(always)]
#[must_use]
pub fn softplus_poly(x: f32) -> f32 {
    let a = x.abs();
    let u = if a > 87.0 { 0.0 } else { exp_poly(-a) };
    let w = 1.0 + u;
    let ln_1p = if w == 1.0 {
        u
    } else {
        ln_poly(w) * (u / (w - 1.0))
    };
    x.max(0.0) + ln_1p
}

/// The standard normal CDF `Φ(x)`, accurate in both tails, by [`exp_poly`]: with
/// `t = |x|`, the upper tail is `Q(t) = Φ(-t) = u e^(-t²/2 + f(u))`, `u = 1 / (1 + 0.35 t)`,
/// where `f` is a polynomial of degree 9 in `u - 1/2` fitted to `ln(Q(t) / u) + t²/2` over
/// `0 <= t <= 14` (Chebyshev least squares against `erfc` in f64; the fit is within
/// `5·10⁻⁸`); `t²` is split into an exact `th²` and a small rest, so that the exponent loses
/// nothing for large `t`. `Φ(x)` is `Q(t)` below 0 and `1 - Q(t)` above; 0 below -13.1 (where
/// `Φ` is under `2·10⁻³⁹`). Within 8 ulp of the exact value where that is a normal float;
/// branch-free, so that loops of it vectorise: the GELU activation uses it.
#[inline(always)]
#[must_use]
pub fn normal_cdf_poly(x: f32) -> f32 {
    /// `f`'s coefficients, of `(u - 1/2)^0` up.
    const F: [f32; 10] = [
        -1.373_400_7,
        1.354_389,
        0.205_821_81,
        -0.369_415_88,
        -0.172_402_74,
        0.271_191_12,
        0.126_894_65,
        -0.257_389_46,
        -0.048_550_57,
        0.153_016_7,
    ];
    let t = x.abs();
    let u = 1.0 / (1.0 + 0.35 * t);
    let s = u - 0.5;
    let mut f = F[9];
    for c in F[..9].iter().rev() {
        f = f * s + c;
    }
    // `th`: `t` to 12 significant bits, so that `th²` is exact; `t² = th² + tl (t + th)`.
    let th = f32::from_bits(t.to_bits() & 0xFFFF_F000);
    let tl = t - th;
    let q = u * exp_poly(-0.5 * (th * th)) * exp_poly(f - 0.5 * (tl * (t + th)));
    let q = if t > 13.1 { 0.0 } else { q };
    if x < 0.0 {
        q
    } else {
        1.0 - q
    }
}

/// [`sigmoid_poly`] of every value, in place.
#[inline(always)]
pub fn sigmoid_slice(values: &mut [f32]) {
    for v in values {
        *v = sigmoid_poly(*v);
    }
}

/// [`tanh_poly`] of every value, in place.
#[inline(always)]
pub fn tanh_slice(values: &mut [f32]) {
    for v in values {
        *v = tanh_poly(*v);
    }
}

/// `x` rounded to the nearest integer, half away from zero (C's `round`).
#[must_use]
pub fn round_f64(x: f64) -> f64 {
    libm::round(x)
}

/// `x = m · 2^e` with `m` in `[0.5, 1)` (C's `frexp`); `(0, 0)` for 0.
#[must_use]
pub fn frexp(x: f64) -> (f64, i32) {
    libm::frexp(x)
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
    /// Units in the last place between `a` and the f64 value `exact`.
    fn ulps(a: f32, exact: f64) -> f64 {
        let e = exact as f32;
        let ulp = f64::from(f32::from_bits(e.abs().to_bits() + 1) - e.abs());
        (f64::from(a) - exact).abs() / ulp
    }

    /// 200,001 evenly spaced floats over a range, its ends included.
    fn sweep(low: f32, high: f32) -> impl Iterator<Item = f32> {
        let n = 200_000;
        (0..=n).map(move |i| low + (high - low) * (i as f32 / n as f32))
    }

    #[test]
    fn the_polynomial_exp_is_within_two_ulp() {
        let worst = sweep(-87.0, 88.0)
            .map(|x| ulps(super::exp_poly(x), f64::from(x).exp()))
            .fold(0.0, f64::max);
        assert!(worst <= 2.0, "{worst} ulp");
        assert_eq!(super::exp_poly(0.0), 1.0);
        assert!(super::exp_poly(1e4).is_finite() && super::exp_poly(-1e4) >= 0.0);
        assert!(super::exp_poly(f32::NAN).is_nan());
    }

    #[test]
    fn the_polynomial_exp_m1_is_within_four_ulp() {
        let worst = sweep(-20.0, 20.0)
            .chain(sweep(-0.6, 0.6))
            .chain(sweep(-1e-3, 1e-3))
            .filter(|&x| x != 0.0)
            .map(|x| ulps(super::exp_m1_poly(x), f64::from(x).exp_m1()))
            .fold(0.0, f64::max);
        assert!(worst <= 4.0, "{worst} ulp");
        assert_eq!(super::exp_m1_poly(0.0), 0.0);
        assert_eq!(super::exp_m1_poly(-100.0), -1.0);
        assert_eq!(super::exp_m1_poly(f32::NEG_INFINITY), -1.0);
        assert!(super::exp_m1_poly(f32::NAN).is_nan());
        // Tiny arguments keep their value (the series' first term), not 0 as `e^x - 1` gives.
        assert_eq!(super::exp_m1_poly(1e-10), 1e-10);
    }

    #[test]
    fn the_polynomial_softplus_is_within_five_ulp() {
        // ln(1 + e^x) in f64: exact enough where e^x is far from overflow.
        let exact = |x: f64| x.max(0.0) + (-x.abs()).exp().ln_1p();
        let worst = sweep(-80.0, 80.0)
            .chain(sweep(-2.0, 2.0))
            .map(|x| ulps(super::softplus_poly(x), exact(f64::from(x))))
            .fold(0.0, f64::max);
        assert!(worst <= 5.0, "{worst} ulp");
        assert_eq!(super::softplus_poly(1e4), 1e4);
        assert_eq!(super::softplus_poly(-1e4), 0.0);
        assert_eq!(super::softplus_poly(f32::INFINITY), f32::INFINITY);
        assert_eq!(super::softplus_poly(f32::NEG_INFINITY), 0.0);
        assert!(super::softplus_poly(f32::NAN).is_nan());
    }

    #[test]
    fn the_polynomial_normal_cdf_is_within_eight_ulp() {
        // Φ(x) = erfc(-x / √2) / 2, from libm's f64 erfc (an independent implementation).
        let exact = |x: f64| 0.5 * libm::erfc(-x * core::f64::consts::FRAC_1_SQRT_2);
        let worst = sweep(-13.0, 10.0)
            .chain(sweep(-1.0, 1.0))
            .filter(|&x| (exact(f64::from(x)) as f32).is_normal())
            .map(|x| ulps(super::normal_cdf_poly(x), exact(f64::from(x))))
            .fold(0.0, f64::max);
        assert!(worst <= 8.0, "{worst} ulp");
        // Below the normal range, close in absolute terms; 0 and 1 far out.
        for x in sweep(-14.0, -12.5) {
            let err = (f64::from(super::normal_cdf_poly(x)) - exact(f64::from(x))).abs();
            assert!(err < 1e-38, "{x}: {err}");
        }
        assert_eq!(super::normal_cdf_poly(-20.0), 0.0);
        assert_eq!(super::normal_cdf_poly(f32::NEG_INFINITY), 0.0);
        assert_eq!(super::normal_cdf_poly(20.0), 1.0);
        assert_eq!(super::normal_cdf_poly(f32::INFINITY), 1.0);
        assert!(super::normal_cdf_poly(f32::NAN).is_nan());
    }

    #[test]
    fn the_polynomial_ln_is_within_three_ulp_on_every_binade() {
        // Log-spaced over all positive normal floats, every binade's two halves (about √2),
        // its ends and 1 ± a few ulp, where ln is near 0.
        let mut worst: f64 = 0.0;
        let mut x = f32::MIN_POSITIVE;
        let near_one = [
            1.0f32,
            1.0 - f32::EPSILON / 2.0,
            1.0 + f32::EPSILON,
            0.999,
            1.001,
        ];
        while x < f32::MAX / 1.001 {
            for x in [x, x * core::f32::consts::SQRT_2, x.next_down()]
                .into_iter()
                .chain(near_one)
                .filter(|&x| x.is_normal())
            {
                let exact = f64::from(x).ln();
                let got = super::ln_poly(x);
                if exact == 0.0 {
                    assert_eq!(got, 0.0);
                } else {
                    worst = worst.max(ulps(got, exact));
                }
            }
            x *= 1.000_37;
        }
        assert!(worst <= 3.0, "{worst} ulp");
    }

    #[test]
    fn polynomial_sigmoid_and_tanh_are_within_a_few_ulp() {
        let mut worst_s: f64 = 0.0;
        let mut worst_t: f64 = 0.0;
        for x in sweep(-20.0, 20.0).chain(sweep(-1e-3, 1e-3)) {
            let exact = 1.0 / (1.0 + (-f64::from(x)).exp());
            worst_s = worst_s.max(ulps(super::sigmoid_poly(x), exact));
            worst_t = worst_t.max(ulps(super::tanh_poly(x), f64::from(x).tanh()));
        }
        assert!(worst_s <= 4.0, "sigmoid: {worst_s} ulp");
        assert!(worst_t <= 4.0, "tanh: {worst_t} ulp");
        assert_eq!(super::sigmoid_poly(0.0), 0.5);
        assert_eq!(super::tanh_poly(0.0), 0.0);
        assert_eq!(super::tanh_poly(1e4), 1.0);
        assert_eq!(super::tanh_poly(-1e4), -1.0);
        assert_eq!(super::sigmoid_poly(1e4), 1.0);
        assert!(super::sigmoid_poly(-1e4) < 1e-37);
        let mut v = [-3.0, 0.25, 4.0];
        super::tanh_slice(&mut v);
        assert_eq!(v, [-3.0f32, 0.25, 4.0].map(super::tanh_poly));
        super::sigmoid_slice(&mut v);
        assert!(v.iter().all(|&s| s > 0.0 && s < 1.0));
    }
}
