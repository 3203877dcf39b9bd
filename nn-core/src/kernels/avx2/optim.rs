//! The optimizers' element-wise updates at the AVX2 level (Adam and AdamW, RMSprop with or
//! without momentum), 8 parameters at a time: bit for bit the portable loops of `update.rs` (the
//! same multiplies, adds, square roots and divisions, in the same order, never fused),
//! without a floating-point operation on a subnormal value in the common case.
//!
//! A moment whose gradient stays zero decays geometrically: the first moment of Adam by
//! `beta1` per step (the weight of an MNIST pixel that is blank in the batch reaches the
//! subnormal range after some hundred steps and stays there), RMSprop's mean square by
//! `rho`, RMSprop's momentum buffer by `momentum`. Every vector operation with a subnormal operand or result takes a microcode
//! assist of about 130 cycles on the Xeon we measure on (and is slow on AMD too): the
//! portable loop, which multiplies such moments, took twice as long per step of the MNIST
//! MLP's update after an epoch as on normal values. So a vector with a tiny moment computes
//! its lanes as follows, with the same bits as the portable loop:
//!
//! - a moment below 2^-125 times its decay (`beta1`, `rho`, at least 0.5) is computed in
//!   integers and f64 ([`scaled`]), then the portable loop's addition of the gradient's
//!   term: that term if it is at least 2^-90 (the moment is then below a quarter of its last
//!   place), the zero rule of IEEE addition if it is zero (anything else: the plain path);
//! - Adam's step from a first moment below 2^-90 (and a zero gradient term), or RMSprop's
//!   from a momentum buffer below 2^-90, is computed from a moment of zero, which gives the
//!   same parameter when the parameter (times AdamW's decay) is at least a bound
//!   (`p_min`) such that the true step is below a quarter of its last place (the parameter
//!   comes out unchanged either way);
//! - RMSprop's square root of a subnormal mean square is computed in f64 and rounded to
//!   f32 (double rounding is harmless for a square root from 53 to 24 bits).
//!
//! Where a check fails (a subnormal parameter, a gradient term between zero and 2^-90, a
//! rounding mode or subnormal handling other than the default in MXCSR), the vector takes
//! the plain path: the portable operations on the values as they are (exact, only slower).

use super::super::avx512::{default_mode, quarter_ulp_bound};
use super::super::update::{self, AdamStep, GradTransform, RmsPropStep};
use core::arch::x86_64::{
    __m256, __m256d, __m256i, _mm256_add_ps, _mm256_and_ps, _mm256_and_si256, _mm256_andnot_si256,
    _mm256_blendv_ps, _mm256_castps_si256, _mm256_castsi256_ps, _mm256_castsi256_si128,
    _mm256_cmpeq_epi32, _mm256_cmpgt_epi32, _mm256_cvtepi32_pd, _mm256_cvtpd_epi32,
    _mm256_cvtpd_ps, _mm256_div_ps, _mm256_extracti128_si256, _mm256_loadu_ps, _mm256_max_ps,
    _mm256_min_ps, _mm256_movemask_ps, _mm256_mul_pd, _mm256_mul_ps, _mm256_or_ps, _mm256_or_si256,
    _mm256_set1_epi32, _mm256_set1_pd, _mm256_set1_ps, _mm256_set_m128, _mm256_set_m128i,
    _mm256_setzero_ps, _mm256_setzero_si256, _mm256_sqrt_pd, _mm256_sqrt_ps, _mm256_storeu_ps,
    _mm256_sub_ps,
};

/// Lanes of a vector.
const LANES: usize = 8;

/// The bits of 2^-90: a moment below it is "tiny" (its vector takes the checks of this
/// module), a gradient term from it on swamps a moment below 2^-125.
const TINY: i32 = 37 << 23;

/// The bits of 2^-125: a moment below it times a decay of at least 0.5 may be subnormal
/// (and is computed by [`scaled`]); from it on, the product is normal.
const DEEP: i32 = 2 << 23;

/// Lanes as a mask (all ones or all zeros per lane, from a comparison).
type Mask = __m256i;

/// The bits of `|x|` (non-negative, so that they compare as the magnitudes do).
#[target_feature(enable = "avx2,fma")]
#[inline]
fn magnitude(x: __m256) -> __m256i {
    _mm256_and_si256(_mm256_castps_si256(x), _mm256_set1_epi32(0x7FFF_FFFF))
}

/// The lanes where `|x|` is below the float of bits `bits`.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn below(x: __m256, bits: i32) -> Mask {
    _mm256_cmpgt_epi32(_mm256_set1_epi32(bits), magnitude(x))
}

/// The lanes where `x` is not ±0.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn nonzero(x: __m256) -> Mask {
    _mm256_cmpgt_epi32(magnitude(x), _mm256_setzero_si256())
}

/// The lanes where `x` is ±0.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn zero(x: __m256) -> Mask {
    _mm256_cmpeq_epi32(magnitude(x), _mm256_setzero_si256())
}

/// Whether any lane is set.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn any(mask: Mask) -> bool {
    _mm256_movemask_ps(_mm256_castsi256_ps(mask)) != 0
}

/// `a` in the lanes of `mask`, `b` in the others.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn select(mask: Mask, a: __m256, b: __m256) -> __m256 {
    _mm256_blendv_ps(b, a, _mm256_castsi256_ps(mask))
}

/// The integers `x` in the lanes of `mask`, zero in the others.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn select_bits(mask: Mask, x: __m256i) -> __m256i {
    _mm256_and_si256(mask, x)
}

/// The lanes of `a` but not of `b`.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn and_not(a: Mask, b: Mask) -> Mask {
    _mm256_andnot_si256(b, a)
}

/// The effective gradient (`GradTransform::apply`): `g` clamped to `±limit` (`max` and
/// `min` return their second operand, `g`, unless it is out of range, so NaN stays as
/// `clamp` leaves it), times `scale`, plus `weight_decay * p`.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn effective(t: GradTransform, g: __m256, p: __m256) -> __m256 {
    let clamped = _mm256_min_ps(
        _mm256_set1_ps(t.limit),
        _mm256_max_ps(_mm256_set1_ps(-t.limit), g),
    );
    _mm256_add_ps(
        _mm256_mul_ps(clamped, _mm256_set1_ps(t.scale)),
        _mm256_mul_ps(_mm256_set1_ps(t.weight_decay), p),
    )
}

/// Whether `f32::clamp(-limit, limit)` accepts the bounds (it panics otherwise: then the
/// portable loop runs, and panics as it does).
fn clamp_bounds_ok(t: GradTransform) -> bool {
    -t.limit <= t.limit
}

/// `b x` rounded to f32 as the multiply does (to nearest, ties to even, with gradual
/// underflow), for `|x|` below 2^-125 (zero in the lanes not wanted) and `b` in [0.5, 1],
/// without a floating-point operation on a subnormal value: such an `x` is `k` 2^-149 with
/// `k` its magnitude's bits (below 2^24: the subnormal values and the lowest normal binade
/// share that spacing), `b k` is exact in f64 and at most 2^24, and its conversion to an
/// integer (to nearest, ties to even) is the bit pattern of the result's magnitude; the
/// sign is that of `x` (that of the product, also when it rounds to zero).
#[target_feature(enable = "avx2,fma")]
#[inline]
fn scaled(b: f64, x: __m256) -> __m256 {
    let bits = _mm256_castps_si256(x);
    let k = magnitude(x);
    let bd = _mm256_set1_pd(b);
    let round = |k| _mm256_cvtpd_epi32(_mm256_mul_pd(bd, _mm256_cvtepi32_pd(k)));
    let low = round(_mm256_castsi256_si128(k));
    let high = round(_mm256_extracti128_si256::<1>(k));
    let product = _mm256_set_m128i(high, low);
    let sign = _mm256_and_si256(bits, _mm256_set1_epi32(i32::MIN));
    _mm256_castsi256_ps(_mm256_or_si256(product, sign))
}

/// The portable loop's `r + t` where `r` is a decayed moment ([`scaled`]) and `t` the
/// gradient's term, in the lanes where `t` is zero or at least 2^-90 (`big`) and `|r|` at
/// most 2^-125: `t` where it is big (it swamps `r`); where it is zero, `r` unless `r` is
/// zero too, then the IEEE sum of two zeros (negative only if both are), the bitwise and.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn plus_term(r: __m256, t: __m256, big: Mask) -> __m256 {
    let r_or_zeros = _mm256_and_ps(r, _mm256_or_ps(t, _mm256_castsi256_ps(nonzero(r))));
    select(big, t, r_or_zeros)
}

/// The portable loop's `b m + t` (with `b = beta1` or `rho` in [0.5, 1)) in every lane,
/// given the lanes where `m` is nonzero and below 2^-90 (`tiny`), in which `t` must be zero
/// or at least 2^-90 (`big`): the multiply on the lanes where it is normal, [`scaled`] and
/// [`plus_term`] where it may not be.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn decayed(b: __m256, b64: f64, m: __m256, t: __m256, tiny: Mask, big: Mask) -> __m256 {
    let deep = _mm256_and_si256(tiny, below(m, DEEP));
    let plain = _mm256_add_ps(_mm256_mul_ps(b, select(deep, _mm256_setzero_ps(), m)), t);
    if !any(deep) {
        return plain;
    }
    let r = scaled(b64, select(deep, m, _mm256_setzero_ps()));
    select(deep, plus_term(r, t, big), plain)
}

/// The gradient term `t` is zero or at least 2^-90 in every lane of `tiny`: the lanes
/// where it is big, or `None`.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn zero_or_big(t: __m256, tiny: Mask) -> Option<Mask> {
    let big = _mm256_cmpeq_epi32(below(t, TINY), _mm256_setzero_si256());
    let ok = _mm256_or_si256(big, zero(t));
    (!any(and_not(tiny, ok))).then_some(big)
}

/// The constants of one Adam step in vector registers.
#[derive(Clone, Copy)]
struct AdamLanes {
    t: GradTransform,
    b1: __m256,
    b2: __m256,
    o1: __m256,
    o2: __m256,
    c1: __m256,
    c2: __m256,
    eps: __m256,
    lr: __m256,
    decay: __m256,
    /// `beta1` in f64, for [`scaled`].
    b1_64: f64,
    /// The bits of the smallest `|p decay|` (normal) for which a step from a first moment
    /// below 2^-90 is below a quarter of its last place; `None` if the tiny lanes may not
    /// take their own path (see [`AdamLanes::new`]).
    p_min: Option<i32>,
}

impl AdamLanes {
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn new(s: AdamStep) -> Self {
        // A first moment `|m| < 2^-90` gives `|round(m c1)| <= |m| c1 (1 + 2^-24) + 2^-150`,
        // `|a| = |round(lr (m c1))| <= |lr| c1 2^-90 (1 + 2^-24)^2 + (|lr| + 1) 2^-150` and
        // a step `|q| = |round(a / d)| <= |a| / eps (1 + 2^-24) + 2^-150` (the divisor
        // `d = sqrt(v c2) + eps` is at least eps, or NaN, then both steps are that NaN);
        // the factor 1.01 covers these roundings. Below a quarter of the last place of
        // `p decay` from `quarter_ulp_bound` on.
        let (lr, c1) = (f64::from(s.lr).abs(), f64::from(s.c1));
        let q_max = 1.01 * (lr * c1 * 2f64.powi(-90) + (lr + 1.0) * 2f64.powi(-149))
            / f64::from(s.epsilon)
            + 2f64.powi(-149);
        let usable = default_mode()
            && (0.5..1.0).contains(&s.beta1)
            && s.epsilon > 0.0
            && lr.is_finite()
            && c1 > 0.0
            && c1.is_finite();
        let p_min = quarter_ulp_bound(q_max).filter(|_| usable);
        AdamLanes {
            t: s.grad,
            b1: _mm256_set1_ps(s.beta1),
            b2: _mm256_set1_ps(s.beta2),
            o1: _mm256_set1_ps(1.0 - s.beta1),
            o2: _mm256_set1_ps(1.0 - s.beta2),
            c1: _mm256_set1_ps(s.c1),
            c2: _mm256_set1_ps(s.c2),
            eps: _mm256_set1_ps(s.epsilon),
            lr: _mm256_set1_ps(s.lr),
            decay: _mm256_set1_ps(s.decay),
            b1_64: f64::from(s.beta1),
            p_min,
        }
    }

    /// The portable loop's step from `p * decay` (`pd`) and the new moments `m1`, `v1`.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn parameter(&self, pd: __m256, m1: __m256, v1: __m256) -> __m256 {
        // p * decay - lr * (m * c1) / (sqrt(v * c2) + eps)
        let den = _mm256_add_ps(_mm256_sqrt_ps(_mm256_mul_ps(v1, self.c2)), self.eps);
        let q = _mm256_div_ps(_mm256_mul_ps(self.lr, _mm256_mul_ps(m1, self.c1)), den);
        _mm256_sub_ps(pd, q)
    }

    /// The update of the 8 parameters at `at_p` (moments at `at_m`, `at_v`) from their
    /// gradients at `at_g`.
    ///
    /// # Safety
    /// The 8 values at each pointer must be readable, those at `at_p`, `at_m` and `at_v`
    /// writable, and nothing else may access them meanwhile.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn update(&self, at_g: *const f32, at_p: *mut f32, at_m: *mut f32, at_v: *mut f32) {
        // SAFETY: the caller's contract.
        let (g, p, m, v) = unsafe {
            (
                _mm256_loadu_ps(at_g),
                _mm256_loadu_ps(at_p),
                _mm256_loadu_ps(at_m),
                _mm256_loadu_ps(at_v),
            )
        };
        let ([p1, m1, v1], _) = self.lanes(g, p, m, v);
        // SAFETY: the caller's contract.
        unsafe {
            _mm256_storeu_ps(at_m, m1);
            _mm256_storeu_ps(at_v, v1);
            _mm256_storeu_ps(at_p, p1);
        }
    }

    /// The parameters and the moments after the step from `p`, `m`, `v` and the gradients
    /// `g`, and whether tiny first moments took their own path ([`tiny_lanes`](Self::tiny_lanes)).
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn lanes(&self, g: __m256, p: __m256, m: __m256, v: __m256) -> ([__m256; 3], bool) {
        let ge = effective(self.t, g, p);
        // m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g g
        let t1 = _mm256_mul_ps(self.o1, ge);
        let v1 = _mm256_add_ps(
            _mm256_mul_ps(self.b2, v),
            _mm256_mul_ps(_mm256_mul_ps(self.o2, ge), ge),
        );
        let pd = _mm256_mul_ps(p, self.decay);
        let tiny = _mm256_and_si256(below(m, TINY), nonzero(m));
        if let Some(p_min) = self.p_min.filter(|_| any(tiny)) {
            if let Some((p1, m1)) = self.tiny_lanes(p_min, tiny, pd, m, t1, v1) {
                return ([p1, m1, v1], true);
            }
        }
        let m1 = _mm256_add_ps(_mm256_mul_ps(self.b1, m), t1);
        ([self.parameter(pd, m1, v1), m1, v1], false)
    }

    /// The new parameters and first moments of a vector with tiny first moments (the
    /// lanes `tiny`), without operating on subnormal values (see the module's
    /// documentation), or `None` if a check fails.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn tiny_lanes(
        &self,
        p_min: i32,
        tiny: Mask,
        pd: __m256,
        m: __m256,
        t1: __m256,
        v1: __m256,
    ) -> Option<(__m256, __m256)> {
        let big = zero_or_big(t1, tiny)?;
        let m1 = decayed(self.b1, self.b1_64, m, t1, tiny, big);
        // Below 2^-90 (at most |m|) where the gradient term is zero: their step is taken
        // as zero, which needs `|p decay| >= p_min` (or NaN: then both are NaN).
        let small = and_not(tiny, big);
        if any(_mm256_and_si256(small, below(pd, p_min))) {
            return None;
        }
        let m_step = select(small, _mm256_setzero_ps(), m1);
        Some((self.parameter(pd, m_step, v1), m1))
    }
}

/// Adam's update of one range of parameters (see `update::adam`), bit for bit.
#[target_feature(enable = "avx2,fma")]
pub(super) fn adam(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], s: AdamStep) {
    let n = p.len();
    if !clamp_bounds_ok(s.grad) || g.len() < n || m.len() < n || v.len() < n {
        update::adam(p, g, m, v, s);
        return;
    }
    let k = AdamLanes::new(s);
    let whole = n - n % LANES;
    let (pp, pg, pm, pv) = (p.as_mut_ptr(), g.as_ptr(), m.as_mut_ptr(), v.as_mut_ptr());
    for i in (0..whole).step_by(LANES) {
        // SAFETY: `i + 8 <= n`, inside the four slices (`p` is `n` long, the others at
        // least, checked); the mutable ones are borrowed mutably, so nothing else accesses
        // them.
        unsafe { k.update(pg.add(i), pp.add(i), pm.add(i), pv.add(i)) };
    }
    update::adam(
        &mut p[whole..],
        &g[whole..n],
        &mut m[whole..n],
        &mut v[whole..n],
        s,
    );
}

/// The constants of one RMSprop step in vector registers.
#[derive(Clone, Copy)]
struct RmsPropLanes {
    t: GradTransform,
    rho: __m256,
    o: __m256,
    eps: __m256,
    lr: __m256,
    momentum: __m256,
    /// `rho` in f64, for [`scaled`]; `None` if tiny mean squares may not take their own
    /// path (see [`RmsPropLanes::new`]).
    rho_64: Option<f64>,
    /// `momentum` in f64 and the bits of the smallest `|p|` (normal) for which `lr b`, from
    /// a momentum buffer `b` below 2^-90, is below a quarter of its last place; `None` if
    /// tiny buffers may not take their own path.
    momentum_64: Option<(f64, i32)>,
}

impl RmsPropLanes {
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn new(s: RmsPropStep) -> Self {
        let default = default_mode();
        // `|b| < 2^-90` gives `|round(lr b)| <= |lr| 2^-90 (1 + 2^-24) + 2^-150`; below a
        // quarter of the last place of `p` from `quarter_ulp_bound` on.
        let lr = f64::from(s.lr).abs();
        let q_max = 1.01 * lr * 2f64.powi(-90) + 2f64.powi(-149);
        let momentum_64 = quarter_ulp_bound(q_max)
            .filter(|_| default && (0.5..1.0).contains(&s.momentum))
            .map(|p_min| (f64::from(s.momentum), p_min));
        RmsPropLanes {
            t: s.grad,
            rho: _mm256_set1_ps(s.rho),
            o: _mm256_set1_ps(1.0 - s.rho),
            eps: _mm256_set1_ps(s.epsilon),
            lr: _mm256_set1_ps(s.lr),
            momentum: _mm256_set1_ps(s.momentum),
            rho_64: (default && (0.5..1.0).contains(&s.rho)).then_some(f64::from(s.rho)),
            momentum_64,
        }
    }

    /// The update of the 8 parameters at `at_p` (mean squares at `at_v`, momentum buffers
    /// at `at_b` if used) from their gradients at `at_g`.
    ///
    /// # Safety
    /// As [`AdamLanes::update`]'s, for `at_b` too.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn update(
        &self,
        at_g: *const f32,
        at_p: *mut f32,
        at_v: *mut f32,
        at_b: Option<*mut f32>,
    ) {
        // SAFETY: the caller's contract.
        let (g, p, v, b) = unsafe {
            (
                _mm256_loadu_ps(at_g),
                _mm256_loadu_ps(at_p),
                _mm256_loadu_ps(at_v),
                at_b.map(|at_b| _mm256_loadu_ps(at_b)),
            )
        };
        let ([p1, v1, b1], _) = self.lanes(g, p, v, b);
        // SAFETY: the caller's contract.
        unsafe {
            _mm256_storeu_ps(at_v, v1);
            if let Some(at_b) = at_b {
                _mm256_storeu_ps(at_b, b1);
            }
            _mm256_storeu_ps(at_p, p1);
        }
    }

    /// The parameters, the mean squares and the momentum buffers (`b`, if used; else the
    /// third result is meaningless) after the step from `p`, `v` and the gradients `g`, and
    /// whether tiny mean squares, and tiny buffers, took their own paths
    /// ([`tiny_squares`](Self::tiny_squares), [`tiny_buffers`](Self::tiny_buffers)).
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn lanes(
        &self,
        g: __m256,
        p: __m256,
        v: __m256,
        b: Option<__m256>,
    ) -> ([__m256; 3], [bool; 2]) {
        let ge = effective(self.t, g, p);
        // v = rho v + (1 - rho) g g
        let t = _mm256_mul_ps(_mm256_mul_ps(self.o, ge), ge);
        let tiny = _mm256_and_si256(below(v, TINY), nonzero(v));
        let mut out = None;
        if let Some(rho) = self.rho_64.filter(|_| any(tiny)) {
            out = self.tiny_squares(rho, tiny, v, t);
        }
        let squares = out.is_some();
        let (v1, root) = out.unwrap_or_else(|| {
            let v1 = _mm256_add_ps(_mm256_mul_ps(self.rho, v), t);
            (v1, _mm256_sqrt_ps(v1))
        });
        let den = _mm256_add_ps(root, self.eps);
        let Some(b) = b else {
            // p -= lr * g / (sqrt(v) + eps)
            let q = _mm256_div_ps(_mm256_mul_ps(self.lr, ge), den);
            return ([_mm256_sub_ps(p, q), v1, v1], [squares, false]);
        };
        // b = momentum b + g / (sqrt(v) + eps); p -= lr * b
        let u = _mm256_div_ps(ge, den);
        let tiny = _mm256_and_si256(below(b, TINY), nonzero(b));
        let mut out = None;
        if let Some((momentum, p_min)) = self.momentum_64.filter(|_| any(tiny)) {
            out = self.tiny_buffers(momentum, p_min, tiny, p, b, u);
        }
        let buffers = out.is_some();
        let (p1, b1) = out.unwrap_or_else(|| {
            let b1 = _mm256_add_ps(_mm256_mul_ps(self.momentum, b), u);
            (_mm256_sub_ps(p, _mm256_mul_ps(self.lr, b1)), b1)
        });
        ([p1, v1, b1], [squares, buffers])
    }

    /// The new parameters and momentum buffers of a vector with tiny buffers (the lanes
    /// `tiny`), without operating on subnormal values (as Adam's first moments, see the
    /// module's documentation), or `None` if a check fails.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn tiny_buffers(
        &self,
        momentum: f64,
        p_min: i32,
        tiny: Mask,
        p: __m256,
        b: __m256,
        u: __m256,
    ) -> Option<(__m256, __m256)> {
        let big = zero_or_big(u, tiny)?;
        let b1 = decayed(self.momentum, momentum, b, u, tiny, big);
        // Below 2^-90 where the gradient's term is zero: `lr b` is taken as zero, which
        // needs `|p| >= p_min` (or NaN: then both are NaN).
        let small = and_not(tiny, big);
        if any(_mm256_and_si256(small, below(p, p_min))) {
            return None;
        }
        let b_step = select(small, _mm256_setzero_ps(), b1);
        Some((_mm256_sub_ps(p, _mm256_mul_ps(self.lr, b_step)), b1))
    }

    /// The new mean squares and their square roots in a vector with tiny mean squares (the
    /// lanes `tiny`), without operating on subnormal values (see the module's
    /// documentation), or `None` if a check fails.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn tiny_squares(&self, rho: f64, tiny: Mask, v: __m256, t: __m256) -> Option<(__m256, __m256)> {
        let big = zero_or_big(t, tiny)?;
        let v1 = decayed(self.rho, rho, v, t, tiny, big);
        // Where `v1` may be subnormal: its root in f64 (the value `k 2^-149`, `k` its
        // magnitude's bits, is exact there; the root rounded to 53 bits then to 24 is the
        // root rounded to 24).
        let low = and_not(_mm256_and_si256(below(v1, DEEP), nonzero(v1)), big);
        let root = _mm256_sqrt_ps(select(low, _mm256_setzero_ps(), v1));
        if !any(low) {
            return Some((v1, root));
        }
        // A negative subnormal (sign bit set, as an integer below zero): its root is NaN,
        // left to the plain path (a rare assist).
        let v1_bits = _mm256_castps_si256(v1);
        if any(_mm256_and_si256(
            low,
            _mm256_cmpgt_epi32(_mm256_setzero_si256(), v1_bits),
        )) {
            return None;
        }
        let k = select_bits(low, v1_bits);
        let unit = |half: __m256d| _mm256_mul_pd(half, _mm256_set1_pd(2f64.powi(-149)));
        let root_of = |k| {
            let x = unit(_mm256_cvtepi32_pd(k));
            _mm256_cvtpd_ps(_mm256_sqrt_pd(x))
        };
        let exact = _mm256_set_m128(
            root_of(_mm256_extracti128_si256::<1>(k)),
            root_of(_mm256_castsi256_si128(k)),
        );
        Some((v1, select(low, exact, root)))
    }
}

/// RMSprop's update of one range of parameters (see `update::rmsprop`), bit for bit.
#[target_feature(enable = "avx2,fma")]
pub(super) fn rmsprop(
    p: &mut [f32],
    g: &[f32],
    v: &mut [f32],
    mut buf: Option<&mut [f32]>,
    s: RmsPropStep,
) {
    let n = p.len();
    if !clamp_bounds_ok(s.grad)
        || g.len() < n
        || v.len() < n
        || buf.as_ref().is_some_and(|b| b.len() < n)
    {
        update::rmsprop(p, g, v, buf, s);
        return;
    }
    let k = RmsPropLanes::new(s);
    let whole = n - n % LANES;
    let (pp, pg, pv) = (p.as_mut_ptr(), g.as_ptr(), v.as_mut_ptr());
    let pb = buf.as_deref_mut().map(<[f32]>::as_mut_ptr);
    for i in (0..whole).step_by(LANES) {
        // SAFETY: `i + 8 <= n`, inside every slice (`p` is `n` long, the others at least,
        // checked); the mutable ones are borrowed mutably, so nothing else accesses them.
        unsafe { k.update(pg.add(i), pp.add(i), pv.add(i), pb.map(|b| b.add(i))) };
    }
    let buf = buf.map(|b| &mut b[whole..n]);
    update::rmsprop(&mut p[whole..], &g[whole..n], &mut v[whole..n], buf, s);
}

#[cfg(test)]
mod tests {
    use super::{adam, rmsprop, scaled, AdamLanes, RmsPropLanes, LANES};
    use crate::kernels::update::{self, AdamStep, GradTransform, RmsPropStep};
    use crate::rng::Rng;
    use core::arch::x86_64::{_mm256_loadu_ps, _mm256_storeu_ps};
    use std::vec::Vec;

    /// Whether this CPU has the level (else the tests have nothing to test).
    fn has_avx2() -> bool {
        let has = std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma");
        if !has {
            std::eprintln!("no AVX2+FMA on this CPU: nothing to test");
        }
        has
    }

    /// The bits of each value, to compare them exactly (signs of zeros, NaNs).
    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    /// A value of either sign.
    fn sign(rng: &mut Rng, x: f32) -> f32 {
        if rng.below(2) == 0 {
            x
        } else {
            -x
        }
    }

    /// The gradients of step `t` (from 1) of a trajectory into the subnormal range: random
    /// at the first step, then zeros of either sign but for a kick every 500 steps in a
    /// quarter of the `n` lanes.
    fn kicks(rng: &mut Rng, n: usize, t: usize) -> Vec<f32> {
        (0..n)
            .map(|i| {
                if (i.is_multiple_of(4) && (t + i).is_multiple_of(500)) || t == 1 {
                    rng.uniform(-0.1, 0.1)
                } else {
                    sign(rng, 0.0)
                }
            })
            .collect()
    }

    /// A moment: zero, a few units of 2^-149, subnormal, in the lowest normal binade,
    /// tiny (2^-125 to 2^-89), around 2^-90, or normal, of either sign.
    fn moment(rng: &mut Rng) -> f32 {
        let x = match rng.below(8) {
            0 => 0.0,
            1 => f32::from_bits(1 + rng.below(8) as u32),
            2 => f32::from_bits(1 + rng.below((1 << 23) - 1) as u32),
            3 => f32::from_bits((1 << 23) + rng.below(1 << 23) as u32),
            4 => libm::exp2f(rng.uniform(-125.0, -89.0)),
            5 => libm::exp2f(rng.uniform(-92.0, -88.0)),
            _ => libm::exp2f(rng.uniform(-40.0, -5.0)),
        };
        sign(rng, x)
    }

    /// `scaled` is the multiply (to nearest, gradual underflow) for every magnitude up to
    /// 2^16 units of 2^-149 and random ones below 2^24, both signs, several factors.
    #[test]
    fn scaled_rounds_as_the_multiply_does() {
        if !has_avx2() {
            return;
        }
        let mut rng = Rng::new(5);
        let mut ks: Vec<u32> = (0..1 << 16).collect();
        ks.extend((0..1 << 16).map(|_| rng.below(1 << 24) as u32));
        for b in [0.5f32, 0.75, 0.9, 0.99, 0.999, 0.999_999_94, 0.618_034] {
            for chunk in ks.chunks_exact(LANES) {
                let x: Vec<f32> = chunk
                    .iter()
                    .enumerate()
                    .map(|(j, &k)| f32::from_bits(k | if j % 2 == 1 { 1 << 31 } else { 0 }))
                    .collect();
                let mut got = [0.0f32; LANES];
                // SAFETY: the CPU has AVX2 and FMA (`has_avx2`); `x` and `got` hold 8
                // values.
                unsafe {
                    _mm256_storeu_ps(
                        got.as_mut_ptr(),
                        scaled(f64::from(b), _mm256_loadu_ps(x.as_ptr())),
                    )
                };
                let want: Vec<f32> = x.iter().map(|&x| b * x).collect();
                assert_eq!(bits(&got), bits(&want), "b {b}, x {x:?}");
            }
        }
    }

    /// Adam's (and AdamW's) steps at this level and the portable loop from the same
    /// states, bit for bit: one step from random vectors mixing zero, subnormal, tiny and
    /// normal moments, parameters normal, tiny, subnormal, zero, infinite or NaN, gradients
    /// zero of either sign, tiny or normal, over several steps' constants and gradient
    /// transforms, with a tail of 5; then 1,500 steps of a trajectory whose gradients are
    /// zero but for a kick now and then, so that the first moments decay through the
    /// subnormal range and stay there. The tiny lanes' own path must take most of the
    /// vectors that have some.
    #[test]
    fn adam_on_tiny_moments_is_the_portable_loop_bit_for_bit() {
        if !has_avx2() {
            return;
        }
        let plain = GradTransform {
            limit: f32::INFINITY,
            scale: 1.0,
            weight_decay: 0.0,
            flush: false,
        };
        let clipped = GradTransform {
            limit: 0.5,
            scale: 0.8,
            weight_decay: 0.01,
            flush: false,
        };
        let adam_step = |b1: f32, b2: f32, lr: f32, eps: f32, t: i32, decay: f32, grad| AdamStep {
            grad,
            beta1: b1,
            beta2: b2,
            c1: 1.0 / (1.0 - b1.powi(t)),
            c2: 1.0 / (1.0 - b2.powi(t)),
            epsilon: eps,
            lr,
            decay,
        };
        let steps = [
            adam_step(0.9, 0.999, 1e-3, 1e-8, 1000, 1.0, plain),
            adam_step(0.9, 0.999, 1e-3, 1e-7, 1, 1.0, plain),
            adam_step(0.9, 0.999, 1e-3, 1e-8, 50, 0.999_99, plain),
            adam_step(0.5, 0.75, 0.1, 1e-3, 10, 0.99, plain),
            adam_step(0.75, 0.5, 1e3, 1e-30, 3, 1.0, plain),
            adam_step(0.9, 0.999, 1e-3, 1e-8, 7, 1.0, clipped),
            adam_step(0.99, 0.9999, 1e-6, 1.0, 100_000, 1.0, plain),
        ];
        let mut rng = Rng::new(17);
        let (mut taken, mut eligible) = (0usize, 0usize);
        let mut count = |s: AdamStep, p: &[f32], g: &[f32], m: &[f32], v: &[f32]| {
            // SAFETY: the CPU has AVX2 and FMA (`has_avx2`); each load reads 8 values
            // inside the slices.
            unsafe {
                let k = AdamLanes::new(s);
                for i in (0..p.len() - p.len() % LANES).step_by(LANES) {
                    let tiny = m[i..i + LANES]
                        .iter()
                        .any(|&m| m != 0.0 && m.abs() < libm::exp2f(-90.0));
                    let at = |x: &[f32]| _mm256_loadu_ps(x.as_ptr().add(i));
                    let (_, took) = k.lanes(at(g), at(p), at(m), at(v));
                    eligible += usize::from(tiny);
                    taken += usize::from(took);
                }
            }
        };
        let n = LANES * 400 + 5;
        for (o, &s) in steps.iter().enumerate() {
            let m: Vec<f32> = (0..n).map(|_| moment(&mut rng)).collect();
            let v: Vec<f32> = (0..n)
                .map(|i| match (rng.below(8), i.is_multiple_of(3)) {
                    (0, _) => 0.0,
                    (1, true) => f32::from_bits(1 + rng.below(1 << 23) as u32),
                    (2, true) => f32::INFINITY,
                    _ => libm::exp2f(rng.uniform(-60.0, -5.0)),
                })
                .collect();
            let p: Vec<f32> = (0..n)
                .map(|i| {
                    let x = match (rng.below(16), i.is_multiple_of(5)) {
                        (0, true) => 0.0,
                        (1, true) => f32::from_bits(1 + rng.below(1 << 23) as u32),
                        (2, true) => f32::NAN,
                        (3, true) => f32::INFINITY,
                        (4, _) => libm::exp2f(rng.uniform(-60.0, -10.0)),
                        _ => rng.uniform(0.001, 1.0),
                    };
                    sign(&mut rng, x)
                })
                .collect();
            let g: Vec<f32> = (0..n)
                .map(|i| match (rng.below(8), (i / LANES).is_multiple_of(4)) {
                    (0, true) => rng.uniform(-1.0, 1.0),
                    (1, true) => sign(&mut rng, 1e-30),
                    _ => sign(&mut rng, 0.0),
                })
                .collect();
            count(s, &p, &g, &m, &v);
            let (mut p1, mut m1, mut v1) = (p.clone(), m.clone(), v.clone());
            let (mut p2, mut m2, mut v2) = (p.clone(), m.clone(), v.clone());
            update::adam(&mut p1, &g, &mut m1, &mut v1, s);
            // SAFETY: the CPU has AVX2 and FMA (`has_avx2`).
            unsafe { adam(&mut p2, &g, &mut m2, &mut v2, s) };
            for (what, want, got) in [("p", &p1, &p2), ("m", &m1, &m2), ("v", &v1, &v2)] {
                for i in 0..n {
                    assert!(
                        want[i].to_bits() == got[i].to_bits(),
                        "step {o}, {what}[{i}]: {:e} (portable) vs {:e}, from p {:e} m {:e} \
                         v {:e} g {:e}",
                        want[i],
                        got[i],
                        p[i],
                        m[i],
                        v[i],
                        g[i]
                    );
                }
            }
        }
        // A trajectory of `kicks`: most first moments end up subnormal.
        let n = LANES * 64 + 3;
        for s0 in [steps[0], steps[2]] {
            let mut p: Vec<f32> = (0..n).map(|_| rng.uniform(-0.1, 0.1)).collect();
            let (mut m, mut v) = (std::vec![0.0f32; n], std::vec![0.0f32; n]);
            let (mut p2, mut m2, mut v2) = (p.clone(), m.clone(), v.clone());
            for t in 1..=1500 {
                let g = kicks(&mut rng, n, t);
                let s = AdamStep {
                    c1: 1.0 / (1.0 - s0.beta1.powi(t as i32)),
                    c2: 1.0 / (1.0 - s0.beta2.powi(t as i32)),
                    ..s0
                };
                count(s, &p2, &g, &m2, &v2);
                update::adam(&mut p, &g, &mut m, &mut v, s);
                // SAFETY: the CPU has AVX2 and FMA (`has_avx2`).
                unsafe { adam(&mut p2, &g, &mut m2, &mut v2, s) };
                assert!(
                    bits(&p) == bits(&p2) && bits(&m) == bits(&m2) && bits(&v) == bits(&v2),
                    "trajectory, step {t}: not the portable loop's bits"
                );
            }
            assert!(
                m.iter().filter(|m| m.is_subnormal()).count() > n / 2,
                "the trajectory drives the first moments into the subnormal range"
            );
        }
        assert!(
            taken * 10 >= eligible * 8 && taken > 1000,
            "the tiny lanes' path took {taken} of {eligible} vectors"
        );
    }

    /// RMSprop's steps (with and without momentum) at this level and the portable loop,
    /// bit for bit, as for Adam: random states with zero, subnormal, tiny and normal mean
    /// squares and momentum buffers, then trajectories whose mean squares (and buffers)
    /// decay through the subnormal range. The tiny lanes' own paths must take most of the
    /// vectors that have some.
    #[test]
    fn rmsprop_on_tiny_moments_is_the_portable_loop_bit_for_bit() {
        if !has_avx2() {
            return;
        }
        let step = |rho: f32, eps: f32, lr: f32, momentum: f32, limit: f32| RmsPropStep {
            grad: GradTransform {
                limit,
                scale: if limit.is_finite() { 0.8 } else { 1.0 },
                weight_decay: if limit.is_finite() { 0.01 } else { 0.0 },
                flush: false,
            },
            rho,
            epsilon: eps,
            lr,
            momentum,
        };
        let steps = [
            step(0.9, 1e-8, 1e-3, 0.0, f32::INFINITY),
            step(0.99, 1e-8, 1e-2, 0.0, f32::INFINITY),
            step(0.5, 1e-3, 0.1, 0.0, 0.5),
            step(0.9, 1e-30, 1e3, 0.0, f32::INFINITY),
            step(0.9, 1e-8, 1e-3, 0.9, f32::INFINITY),
            step(0.9, 1e-3, 0.1, 0.5, 0.5),
        ];
        let mut rng = Rng::new(23);
        // Vectors with tiny mean squares, with tiny buffers, and those that took the paths.
        let (mut taken, mut eligible) = ([0usize; 2], [0usize; 2]);
        let mut count = |s: RmsPropStep, p: &[f32], g: &[f32], v: &[f32], b: Option<&[f32]>| {
            // SAFETY: the CPU has AVX2 and FMA (`has_avx2`); each load reads 8 values
            // inside the slices.
            unsafe {
                let k = RmsPropLanes::new(s);
                for i in (0..p.len() - p.len() % LANES).step_by(LANES) {
                    let tiny = |x: &[f32]| {
                        x[i..i + LANES]
                            .iter()
                            .any(|&x| x != 0.0 && x.abs() < libm::exp2f(-90.0))
                    };
                    let at = |x: &[f32]| _mm256_loadu_ps(x.as_ptr().add(i));
                    let (_, took) = k.lanes(at(g), at(p), at(v), b.map(at));
                    for (j, tiny) in [tiny(v), b.is_some_and(tiny)].into_iter().enumerate() {
                        eligible[j] += usize::from(tiny);
                        taken[j] += usize::from(took[j]);
                    }
                }
            }
        };
        let n = LANES * 400 + 5;
        for (o, &s) in steps.iter().enumerate() {
            let v: Vec<f32> = (0..n)
                .map(|i| match (rng.below(16), i.is_multiple_of(5)) {
                    (0, true) => f32::INFINITY,
                    (1, true) => -moment(&mut rng).abs(),
                    _ => moment(&mut rng).abs(),
                })
                .collect();
            let p: Vec<f32> = (0..n)
                .map(|i| match (rng.below(16), i.is_multiple_of(5)) {
                    (0, true) => 0.0,
                    (1, true) => f32::NAN,
                    (2, true) => f32::from_bits(1 + rng.below(1 << 23) as u32),
                    _ => {
                        let x = rng.uniform(0.001, 1.0);
                        sign(&mut rng, x)
                    }
                })
                .collect();
            let g: Vec<f32> = (0..n)
                .map(|i| match (rng.below(8), (i / LANES).is_multiple_of(4)) {
                    (0, true) => rng.uniform(-1.0, 1.0),
                    (1, true) => sign(&mut rng, 1e-30),
                    (2, true) => sign(&mut rng, 1e-20),
                    _ => sign(&mut rng, 0.0),
                })
                .collect();
            let b: Vec<f32> = (0..n).map(|_| moment(&mut rng)).collect();
            let used = s.momentum != 0.0;
            count(s, &p, &g, &v, used.then_some(&b[..]));
            let (mut p1, mut v1, mut b1) = (p.clone(), v.clone(), b.clone());
            let (mut p2, mut v2, mut b2) = (p.clone(), v.clone(), b.clone());
            update::rmsprop(&mut p1, &g, &mut v1, used.then_some(&mut b1[..]), s);
            // SAFETY: the CPU has AVX2 and FMA (`has_avx2`).
            unsafe { rmsprop(&mut p2, &g, &mut v2, used.then_some(&mut b2[..]), s) };
            for (what, want, got) in [("p", &p1, &p2), ("v", &v1, &v2), ("b", &b1, &b2)] {
                for i in 0..n {
                    assert!(
                        want[i].to_bits() == got[i].to_bits(),
                        "step {o}, {what}[{i}]: {:e} (portable) vs {:e}, from p {:e} v {:e} \
                         g {:e}",
                        want[i],
                        got[i],
                        p[i],
                        v[i],
                        g[i]
                    );
                }
            }
        }
        let n = LANES * 64 + 3;
        for s in [steps[0], steps[3], steps[4]] {
            let used = s.momentum != 0.0;
            let mut p: Vec<f32> = (0..n).map(|_| rng.uniform(-0.1, 0.1)).collect();
            let (mut v, mut b) = (std::vec![0.0f32; n], std::vec![0.0f32; n]);
            let (mut p2, mut v2, mut b2) = (p.clone(), v.clone(), b.clone());
            for t in 1..=1500 {
                let g = kicks(&mut rng, n, t);
                count(s, &p2, &g, &v2, used.then_some(&b2[..]));
                update::rmsprop(&mut p, &g, &mut v, used.then_some(&mut b[..]), s);
                // SAFETY: the CPU has AVX2 and FMA (`has_avx2`).
                unsafe { rmsprop(&mut p2, &g, &mut v2, used.then_some(&mut b2[..]), s) };
                assert!(
                    bits(&p) == bits(&p2) && bits(&v) == bits(&v2) && bits(&b) == bits(&b2),
                    "trajectory, step {t}: not the portable loop's bits"
                );
            }
            let subnormal = |x: &[f32]| x.iter().filter(|x| x.is_subnormal()).count();
            assert!(
                subnormal(&v) > n / 2 && (!used || subnormal(&b) > n / 2),
                "the trajectory drives the mean squares (and buffers) into the subnormal range"
            );
        }
        for (what, taken, eligible) in [
            ("squares", taken[0], eligible[0]),
            ("buffers", taken[1], eligible[1]),
        ] {
            assert!(
                taken * 10 >= eligible * 8 && taken > 1000,
                "the path of tiny {what} took {taken} of {eligible} vectors"
            );
        }
    }
}
