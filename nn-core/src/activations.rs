//! Activation functions, applied in place to rows of a row-major batch.
//!
//! Each activation is a small `Copy` value implementing [`ActivationFn`]: a `forward` that
//! turns pre-activations into outputs, and a `backward` directly below it. Every built-in
//! derivative is written **in terms of the output** (`y`), so a training pass keeps only
//! post-activation values; an activation whose derivative needs its input (GELU, say)
//! declares [`ActivationFn::USES_INPUT`], and the layers that apply it keep the input too.
//!
//! The contract is open: a type of your own that implements [`ActivationFn`] works wherever
//! the built-ins do, in `model!` (`Dense(64, my_crate::Swish)`, `Activation(my_crate::Swish)`)
//! and in training.
//!
//! | type | Keras name | forward | derivative from the output |
//! |---|---|---|---|
//! | [`Linear`] | `linear` | `x` | `1` |
//! | [`Relu`] | `relu` | `max(x, 0)` | `y > 0` |
//! | [`LeakyRelu`] | `leaky_relu` | `x` or `alpha * x` | `1` or `alpha` (by the sign of `y`) |
//! | [`Sigmoid`] | `sigmoid` | `1 / (1 + e^-x)` | `y (1 - y)` |
//! | [`Tanh`] | `tanh` | `tanh x` | `1 - y^2` |
//! | [`Softmax`] | `softmax` | `e^x_i / sum e^x_j` per row | `y_i (dy_i - sum_j y_j dy_j)` |
//! | [`Elu`] | `elu` | `x` or `alpha (e^x - 1)` | `1` or `y + alpha` (by the sign of `y`) |
//! | [`Selu`] | `selu` | `scale x` or `scale alpha (e^x - 1)` | `scale` or `y + scale alpha` |
//! | [`Softplus`] | `softplus` | `ln(1 + e^x)` | `1 - e^-y` |
//! | [`HardSigmoid`] | `hard_sigmoid` | `clamp(x / 6 + 1/2, 0, 1)` | `1/6` where `0 < y < 1`, else `0` |
//!
//! Two built-ins need their input for the derivative ([`ActivationFn::USES_INPUT`]):
//!
//! | type | Keras name | forward | derivative from the input |
//! |---|---|---|---|
//! | [`Gelu`] | `gelu` | `x Φ(x)` (exact, with the normal CDF `Φ`, as PyTorch's default) | `Φ(x) + x φ(x)` |
//! | [`Silu`] | `silu` (or `swish`) | `x σ(x)` | `σ(x) (1 + x (1 - σ(x)))` |
//!
//! The ones added after the first six ([`Gelu`], [`Elu`], [`Selu`], [`Silu`], [`Softplus`],
//! [`HardSigmoid`]) are not variants of [`ActivationKind`]: no loss fuses them, so they
//! implement the contract on their own, exactly as a type of yours would.
//!
//! ```
//! use nn_core::activations::{ActivationFn, Softmax};
//! let mut row = [1.0, 2.0, 3.0];
//! Softmax.forward(&mut row, 3);
//! assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
//! ```

use crate::{kernels, math};

/// The built-in activations as one value type: chosen at run time, and recognised by the
/// losses, which fuse softmax with cross-entropy and sigmoid with binary cross-entropy.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ActivationKind {
    /// Identity.
    Linear,
    /// Rectified linear unit.
    Relu,
    /// Leaky rectified linear unit with the given negative slope.
    LeakyRelu(f32),
    /// Logistic sigmoid.
    Sigmoid,
    /// Hyperbolic tangent.
    Tanh,
    /// Row-wise softmax.
    Softmax,
}

/// An activation function applied in place to whole rows of `width` values: the contract
/// of the built-ins and of your own.
///
/// ```
/// use nn_core::activations::ActivationFn;
///
/// /// `x * sigmoid(x)` (SiLU), whose derivative needs the input.
/// #[derive(Clone, Copy, Debug)]
/// struct Swish;
///
/// impl ActivationFn for Swish {
///     const USES_INPUT: bool = true;
///     fn name(&self) -> &'static str { "swish" }
///     fn forward(&self, values: &mut [f32], _width: usize) {
///         for v in values { *v *= 1.0 / (1.0 + (-*v).exp()); }
///     }
///     fn backward(&self, x: &[f32], _y: &[f32], grad: &mut [f32], _width: usize) {
///         for (g, &x) in grad.iter_mut().zip(x) {
///             let s = 1.0 / (1.0 + (-x).exp());
///             *g *= s * (1.0 + x * (1.0 - s));
///         }
///     }
/// }
/// let mut v = [0.0, 2.0];
/// Swish.forward(&mut v, 2);
/// assert!((v[1] - 1.7616).abs() < 1e-4);
/// ```
pub trait ActivationFn: Copy + Send + Sync + 'static {
    /// Whether [`backward`](Self::backward) reads the input `x` (otherwise it is given an
    /// empty slice, and only the output is kept for it).
    const USES_INPUT: bool = false;

    /// Keras' name, e.g. `"relu"` (for summaries and error messages).
    fn name(&self) -> &'static str;

    /// Turns pre-activations into outputs, in place. `values` holds whole rows of `width`.
    fn forward(&self, values: &mut [f32], width: usize);

    /// Turns the gradient with respect to the outputs `y` into the gradient with respect to
    /// the inputs `x` (the pre-activations), in place in `grad`. `x` is empty unless
    /// [`USES_INPUT`](Self::USES_INPUT).
    fn backward(&self, x: &[f32], y: &[f32], grad: &mut [f32], width: usize);

    /// Which built-in this is, if one: the losses fuse softmax and sigmoid outputs.
    fn builtin(&self) -> Option<ActivationKind> {
        None
    }

    /// Whether each output depends only on the input in its place (every built-in but
    /// softmax), so that [`forward`](Self::forward) may run on any part of a row: a dense
    /// layer then applies it to each part of its output as its product computes the part,
    /// on that part's thread. `false` unless said: the activation then gets whole rows.
    fn elementwise(&self) -> bool {
        false
    }
}

/// Identity: `f(x) = x`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Linear;

impl ActivationFn for Linear {
    fn elementwise(&self) -> bool {
        true
    }
    fn name(&self) -> &'static str {
        "linear"
    }
    fn builtin(&self) -> Option<ActivationKind> {
        Some(ActivationKind::Linear)
    }
    #[inline]
    fn forward(&self, _values: &mut [f32], _width: usize) {}
    #[inline]
    fn backward(&self, _x: &[f32], _y: &[f32], _grad: &mut [f32], _width: usize) {}
}

/// Rectified linear unit: `f(x) = max(x, 0)`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Relu;

impl ActivationFn for Relu {
    fn elementwise(&self) -> bool {
        true
    }
    fn name(&self) -> &'static str {
        "relu"
    }
    fn builtin(&self) -> Option<ActivationKind> {
        Some(ActivationKind::Relu)
    }
    #[inline]
    fn forward(&self, values: &mut [f32], _width: usize) {
        kernels::map(values, &|values| {
            for v in values {
                *v = v.max(0.0);
            }
        });
    }
    #[inline]
    fn backward(&self, _x: &[f32], y: &[f32], grad: &mut [f32], _width: usize) {
        // `g` where `y > 0`, else 0. The `+ 0.0` (which turns a gradient of -0 into +0, the
        // same number) makes the value stored a new one in both cases: without it, the
        // compiler stores only the zeros, with a masked store (`vmaskmovps` at AVX2, slow
        // on AMD's cores) or a branch per value, 3 to 4 times slower on values of mixed signs.
        kernels::map_with(grad, y, &|grad, y| {
            for (g, &y) in grad.iter_mut().zip(y) {
                *g = (if y > 0.0 { *g } else { 0.0 }) + 0.0;
            }
        });
    }
}

/// Leaky rectified linear unit: `f(x) = x` for `x > 0`, else `alpha * x` (`alpha > 0`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LeakyRelu(pub f32);

impl Default for LeakyRelu {
    /// Keras' default slope, 0.3 (PyTorch's is 0.01).
    fn default() -> Self {
        Self(0.3)
    }
}

impl ActivationFn for LeakyRelu {
    fn elementwise(&self) -> bool {
        true
    }
    fn name(&self) -> &'static str {
        "leaky_relu"
    }
    fn builtin(&self) -> Option<ActivationKind> {
        Some(ActivationKind::LeakyRelu(self.0))
    }
    #[inline]
    fn forward(&self, values: &mut [f32], _width: usize) {
        let alpha = self.0;
        // `move`: `alpha` is the closure's own, so the loop reads it once; captured by
        // reference, it was read in the loop (the stores might change it, for all the
        // compiler knew), which kept the loop scalar, with a branch: 5 times slower.
        kernels::map(values, &move |values| {
            for v in values {
                *v *= if *v < 0.0 { alpha } else { 1.0 };
            }
        });
    }
    #[inline]
    fn backward(&self, _x: &[f32], y: &[f32], grad: &mut [f32], _width: usize) {
        // With alpha > 0 the output has the sign of the input.
        let alpha = self.0;
        // `move`, as in `forward`.
        kernels::map_with(grad, y, &move |grad, y| {
            for (g, &y) in grad.iter_mut().zip(y) {
                *g *= if y < 0.0 { alpha } else { 1.0 };
            }
        });
    }
}

/// Logistic sigmoid: `f(x) = 1 / (1 + e^-x)`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Sigmoid;

impl ActivationFn for Sigmoid {
    fn elementwise(&self) -> bool {
        true
    }
    fn name(&self) -> &'static str {
        "sigmoid"
    }
    fn builtin(&self) -> Option<ActivationKind> {
        Some(ActivationKind::Sigmoid)
    }
    #[inline]
    fn forward(&self, values: &mut [f32], _width: usize) {
        // Branch-free (`sigmoid_poly`, within a few ulp), at the kernels' vector width.
        kernels::map(values, &|part| {
            kernels::vectorized(|| math::sigmoid_slice(part))
        });
    }
    #[inline]
    fn backward(&self, _x: &[f32], y: &[f32], grad: &mut [f32], _width: usize) {
        kernels::map_with(grad, y, &|grad, y| {
            for (g, &y) in grad.iter_mut().zip(y) {
                *g *= y * (1.0 - y);
            }
        });
    }
}

/// Hyperbolic tangent.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Tanh;

impl ActivationFn for Tanh {
    fn elementwise(&self) -> bool {
        true
    }
    fn name(&self) -> &'static str {
        "tanh"
    }
    fn builtin(&self) -> Option<ActivationKind> {
        Some(ActivationKind::Tanh)
    }
    #[inline]
    fn forward(&self, values: &mut [f32], _width: usize) {
        // Branch-free (within a few ulp of the exact value), so that the loop runs at the
        // kernels' vector width: libm's `tanhf`, one value at a time, was 8% of a GAN epoch.
        // `vectorized` here, not only around the caller: the compiler does not inline a
        // function this large into the caller's wide context, and a part of a dense
        // layer's output ran 4 lanes wide (2.2 ns a value instead of 0.9).
        kernels::map(values, &|part| {
            kernels::vectorized(|| math::tanh_slice(part))
        });
    }
    #[inline]
    fn backward(&self, _x: &[f32], y: &[f32], grad: &mut [f32], _width: usize) {
        kernels::map_with(grad, y, &|grad, y| {
            for (g, &y) in grad.iter_mut().zip(y) {
                *g *= 1.0 - y * y;
            }
        });
    }
}

/// Softmax over each row: `f(x)_i = e^(x_i - max x) / sum_j e^(x_j - max x)`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Softmax;

impl ActivationFn for Softmax {
    fn name(&self) -> &'static str {
        "softmax"
    }
    fn builtin(&self) -> Option<ActivationKind> {
        Some(ActivationKind::Softmax)
    }
    fn forward(&self, values: &mut [f32], width: usize) {
        kernels::softmax_in_place(values, width);
    }
    fn backward(&self, _x: &[f32], y: &[f32], grad: &mut [f32], width: usize) {
        for (g, y) in grad.chunks_exact_mut(width).zip(y.chunks_exact(width)) {
            let dot: f32 = g.iter().zip(y).map(|(g, y)| g * y).sum();
            for (g, &y) in g.iter_mut().zip(y) {
                *g = y * (*g - dot);
            }
        }
    }
}

/// Gaussian error linear unit, exact: `f(x) = x Φ(x)` with `Φ` the standard normal CDF
/// (PyTorch's `gelu` without the tanh approximation).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Gelu;

impl ActivationFn for Gelu {
    fn elementwise(&self) -> bool {
        true
    }
    const USES_INPUT: bool = true;
    fn name(&self) -> &'static str {
        "gelu"
    }
    fn forward(&self, values: &mut [f32], _width: usize) {
        // Branch-free (`normal_cdf_poly`, within 8 ulp), at the kernels' vector width.
        // `#[inline(always)]` on the closure: without it the compiler kept this loop out of
        // `vectorized`'s wide context, 4 lanes wide (416 µs instead of 97 for 128 × 512).
        kernels::map(values, &|part| {
            kernels::vectorized(
                #[inline(always)]
                || gelu_forward(part),
            );
        });
    }
    fn backward(&self, x: &[f32], _y: &[f32], grad: &mut [f32], _width: usize) {
        kernels::map_with(grad, x, &|grad, x| {
            kernels::vectorized(
                #[inline(always)]
                || gelu_backward(x, grad),
            );
        });
    }
}

/// GELU's forward pass over `values`, in place.
#[inline(always)]
fn gelu_forward(values: &mut [f32]) {
    for v in values {
        *v *= math::normal_cdf_poly(*v);
    }
}

/// GELU's backward pass: `grad` times `Φ(x) + x φ(x)`, in place.
#[inline(always)]
fn gelu_backward(x: &[f32], grad: &mut [f32]) {
    // 1 / √(2π).
    const FRAC_1_SQRT_2PI: f32 = 0.398_942_3;
    for (g, &x) in grad.iter_mut().zip(x) {
        // φ(x), 0 where it is below 2^-126 (`exp_poly` stops at e^-87).
        let density = FRAC_1_SQRT_2PI * math::exp_poly(-0.5 * x * x);
        let density = if x.abs() > 13.1 { 0.0 } else { density };
        *g *= math::normal_cdf_poly(x) + x * density;
    }
}

/// Exponential linear unit: `f(x) = x` for `x > 0`, else `alpha (e^x - 1)` (`alpha > 0`;
/// Keras' and PyTorch's default 1).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Elu(pub f32);

impl Default for Elu {
    /// `alpha = 1`, Keras' and PyTorch's default.
    fn default() -> Self {
        Self(1.0)
    }
}

impl ActivationFn for Elu {
    fn elementwise(&self) -> bool {
        true
    }
    fn name(&self) -> &'static str {
        "elu"
    }
    fn forward(&self, values: &mut [f32], _width: usize) {
        scaled_elu_forward(values, 1.0, self.0);
    }
    fn backward(&self, _x: &[f32], y: &[f32], grad: &mut [f32], _width: usize) {
        scaled_elu_backward(y, grad, 1.0, self.0);
    }
}

/// `scale · elu(x, alpha)` of every value, in place: `scale · x` for `x > 0`, else
/// `scale · (alpha (e^x - 1))` (ELU with `scale` 1, where the product is exact, and SELU).
fn scaled_elu_forward(values: &mut [f32], scale: f32, alpha: f32) {
    kernels::map(values, &move |part| {
        kernels::vectorized(|| {
            for v in part {
                let negative = alpha * math::exp_m1_poly(*v);
                *v = scale * if *v > 0.0 { *v } else { negative };
            }
        });
    });
}

/// The backward pass of [`scaled_elu_forward`] from its output `y`: with `alpha > 0` the
/// output has the sign of the input, and below 0, `f' = f + scale · alpha`.
fn scaled_elu_backward(y: &[f32], grad: &mut [f32], scale: f32, alpha: f32) {
    let below = scale * alpha;
    kernels::map_with(grad, y, &move |grad, y| {
        for (g, &y) in grad.iter_mut().zip(y) {
            *g *= if y > 0.0 { scale } else { y + below };
        }
    });
}

/// Scaled exponential linear unit (self-normalising networks): `scale * elu(x, alpha)`
/// with PyTorch's and Keras' constants.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Selu;

impl Selu {
    /// The ELU's `alpha`.
    pub const ALPHA: f32 = 1.673_263_2;
    /// The output scale.
    pub const SCALE: f32 = 1.050_701;
}

impl ActivationFn for Selu {
    fn elementwise(&self) -> bool {
        true
    }
    fn name(&self) -> &'static str {
        "selu"
    }
    fn forward(&self, values: &mut [f32], _width: usize) {
        scaled_elu_forward(values, Self::SCALE, Self::ALPHA);
    }
    fn backward(&self, _x: &[f32], y: &[f32], grad: &mut [f32], _width: usize) {
        scaled_elu_backward(y, grad, Self::SCALE, Self::ALPHA);
    }
}

/// Sigmoid linear unit, also called swish: `f(x) = x σ(x)`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Silu;

impl ActivationFn for Silu {
    fn elementwise(&self) -> bool {
        true
    }
    const USES_INPUT: bool = true;
    fn name(&self) -> &'static str {
        "silu"
    }
    fn forward(&self, values: &mut [f32], _width: usize) {
        kernels::map(values, &|part| {
            kernels::vectorized(|| {
                for v in part {
                    *v *= math::sigmoid_poly(*v);
                }
            });
        });
    }
    fn backward(&self, x: &[f32], _y: &[f32], grad: &mut [f32], _width: usize) {
        kernels::map_with(grad, x, &|grad, x| {
            kernels::vectorized(|| {
                for (g, &x) in grad.iter_mut().zip(x) {
                    let s = math::sigmoid_poly(x);
                    *g *= s * (1.0 + x * (1.0 - s));
                }
            });
        });
    }
}

/// Softplus: `f(x) = ln(1 + e^x)`, a smooth ReLU.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Softplus;

impl ActivationFn for Softplus {
    fn elementwise(&self) -> bool {
        true
    }
    fn name(&self) -> &'static str {
        "softplus"
    }
    fn forward(&self, values: &mut [f32], _width: usize) {
        kernels::map(values, &|part| {
            kernels::vectorized(|| {
                for v in part {
                    *v = math::softplus_poly(*v);
                }
            });
        });
    }
    fn backward(&self, _x: &[f32], y: &[f32], grad: &mut [f32], _width: usize) {
        // f' = σ(x) = 1 - e^-f(x).
        kernels::map_with(grad, y, &|grad, y| {
            kernels::vectorized(|| {
                for (g, &y) in grad.iter_mut().zip(y) {
                    *g *= -math::exp_m1_poly(-y);
                }
            });
        });
    }
}

/// Hard sigmoid, piecewise linear: `f(x) = clamp(x / 6 + 1/2, 0, 1)` (PyTorch's
/// `Hardsigmoid` and Keras 3's `hard_sigmoid`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct HardSigmoid;

impl ActivationFn for HardSigmoid {
    fn elementwise(&self) -> bool {
        true
    }
    fn name(&self) -> &'static str {
        "hard_sigmoid"
    }
    fn forward(&self, values: &mut [f32], _width: usize) {
        kernels::map(values, &|part| {
            for v in part {
                *v = (*v / 6.0 + 0.5).clamp(0.0, 1.0);
            }
        });
    }
    fn backward(&self, _x: &[f32], y: &[f32], grad: &mut [f32], _width: usize) {
        kernels::map_with(grad, y, &|grad, y| {
            for (g, &y) in grad.iter_mut().zip(y) {
                *g *= if y > 0.0 && y < 1.0 { 1.0 / 6.0 } else { 0.0 };
            }
        });
    }
}

impl ActivationFn for ActivationKind {
    fn elementwise(&self) -> bool {
        !matches!(self, Self::Softmax)
    }
    fn name(&self) -> &'static str {
        match self {
            Self::Linear => "linear",
            Self::Relu => "relu",
            Self::LeakyRelu(_) => "leaky_relu",
            Self::Sigmoid => "sigmoid",
            Self::Tanh => "tanh",
            Self::Softmax => "softmax",
        }
    }
    fn builtin(&self) -> Option<ActivationKind> {
        Some(*self)
    }
    fn forward(&self, values: &mut [f32], width: usize) {
        match *self {
            Self::Linear => Linear.forward(values, width),
            Self::Relu => Relu.forward(values, width),
            Self::LeakyRelu(a) => LeakyRelu(a).forward(values, width),
            Self::Sigmoid => Sigmoid.forward(values, width),
            Self::Tanh => Tanh.forward(values, width),
            Self::Softmax => Softmax.forward(values, width),
        }
    }
    fn backward(&self, x: &[f32], y: &[f32], grad: &mut [f32], width: usize) {
        match *self {
            Self::Linear => Linear.backward(x, y, grad, width),
            Self::Relu => Relu.backward(x, y, grad, width),
            Self::LeakyRelu(a) => LeakyRelu(a).backward(x, y, grad, width),
            Self::Sigmoid => Sigmoid.backward(x, y, grad, width),
            Self::Tanh => Tanh.backward(x, y, grad, width),
            Self::Softmax => Softmax.backward(x, y, grad, width),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{ActivationFn, ActivationKind};

    const ALL: [ActivationKind; 6] = [
        ActivationKind::Linear,
        ActivationKind::Relu,
        ActivationKind::LeakyRelu(0.2),
        ActivationKind::Sigmoid,
        ActivationKind::Tanh,
        ActivationKind::Softmax,
    ];

    /// Central differences of `sum(f(x) * dy)` against `backward`, in f32 with points chosen
    /// away from the ReLU kink.
    #[test]
    fn backward_matches_finite_differences() {
        let x = [-1.3f32, -0.4, 0.25, 0.9, 1.7, -2.2, 0.6, 0.05];
        let dy = [0.3f32, -1.1, 0.8, 2.0, -0.5, 0.7, 1.3, -0.9];
        let width = 4;
        for act in ALL {
            let objective = |x: &[f32]| -> f64 {
                let mut y = x.to_vec();
                act.forward(&mut y, width);
                y.iter()
                    .zip(&dy)
                    .map(|(a, b)| f64::from(*a) * f64::from(*b))
                    .sum()
            };
            let mut y = x.to_vec();
            act.forward(&mut y, width);
            let mut grad = dy.to_vec();
            act.backward(&x, &y, &mut grad, width);
            for i in 0..x.len() {
                let h = 1e-2f32;
                let (mut xp, mut xm) = (x.to_vec(), x.to_vec());
                xp[i] += h;
                xm[i] -= h;
                let numeric = (objective(&xp) - objective(&xm)) / (2.0 * f64::from(h));
                let err = (f64::from(grad[i]) - numeric).abs();
                assert!(
                    err <= 2e-3 + 2e-3 * numeric.abs(),
                    "{act:?} index {i}: analytic {} numeric {numeric}",
                    grad[i]
                );
            }
        }
    }

    /// `backward` of `act` against central differences of `sum(f(x) * dy)`, in f64 through
    /// `forward` on f32 points chosen away from kinks.
    fn check_against_finite_differences<A: ActivationFn + core::fmt::Debug>(act: A) {
        let x = [-2.7f32, -1.3, -0.4, 0.25, 0.9, 1.7, -2.2, 0.6, 0.05, 4.1];
        let dy = [0.3f32, -1.1, 0.8, 2.0, -0.5, 0.7, 1.3, -0.9, 1.6, -0.4];
        let objective = |x: &[f32]| -> f64 {
            let mut y = x.to_vec();
            act.forward(&mut y, 1);
            y.iter()
                .zip(&dy)
                .map(|(a, b)| f64::from(*a) * f64::from(*b))
                .sum()
        };
        let mut y = x.to_vec();
        act.forward(&mut y, 1);
        let mut grad = dy.to_vec();
        let input: &[f32] = if A::USES_INPUT { &x } else { &[] };
        act.backward(input, &y, &mut grad, 1);
        let report = crate::gradcheck::check(&x, &grad, 0..x.len(), 1e-2, 1e-3, 1e-6, objective);
        assert!(report.passed(), "{act:?}: {report}");
    }

    #[test]
    fn newer_activations_match_finite_differences() {
        check_against_finite_differences(super::Gelu);
        check_against_finite_differences(super::Elu(1.0));
        check_against_finite_differences(super::Elu(0.4));
        check_against_finite_differences(super::Selu);
        check_against_finite_differences(super::Silu);
        check_against_finite_differences(super::Softplus);
        check_against_finite_differences(super::HardSigmoid);
    }

    /// Closed forms at a few points: values a wrong constant or branch would miss.
    #[test]
    fn newer_activations_match_closed_forms() {
        let run = |act: &dyn Fn(&mut [f32]), x: f32| {
            let mut v = [x];
            act(&mut v);
            v[0]
        };
        let close = |a: f32, b: f64| assert!((f64::from(a) - b).abs() < 1e-6, "{a} vs {b}");
        // Φ(1) = 0.841344746...; SELU(-1) = scale alpha (e^-1 - 1).
        close(run(&|v| super::Gelu.forward(v, 1), 1.0), 0.841_344_746);
        close(run(&|v| super::Selu.forward(v, 1), -1.0), -1.111_330_737);
        close(run(&|v| super::Selu.forward(v, 1), 2.0), 2.101_401_9);
        close(
            run(&|v| super::Elu(0.5).forward(v, 1), -2.0),
            -0.432_332_358,
        );
        close(run(&|v| super::Silu.forward(v, 1), 1.0), 0.731_058_579);
        close(
            run(&|v| super::Softplus.forward(v, 1), 0.0),
            core::f64::consts::LN_2,
        );
        close(run(&|v| super::HardSigmoid.forward(v, 1), 1.5), 0.75);
        close(run(&|v| super::HardSigmoid.forward(v, 1), -4.0), 0.0);
    }

    /// PyTorch's `threshold_backward`: the gradient where the output is positive, else 0,
    /// whatever the gradient there (NaN and infinity included, which a product with a 0/1
    /// factor would pass on), and 0 where the output is NaN; over a slice long enough for
    /// the kernels' parts.
    #[test]
    fn relu_backward_keeps_the_gradient_only_where_the_output_is_positive() {
        let pattern = [
            (1.5f32, 2.0f32),
            (0.0, 3.0),
            (-0.0, -4.0),
            (2.0, f32::NAN),
            (-1.0, f32::NAN),
            (0.0, f32::INFINITY),
            (f32::NAN, 5.0),
            (1e-30, -7.0),
        ];
        let n = 64 * 1024;
        let y: std::vec::Vec<f32> = (0..n).map(|i| pattern[i % 8].0).collect();
        let mut grad: std::vec::Vec<f32> = (0..n).map(|i| pattern[i % 8].1).collect();
        super::Relu.backward(&[], &y, &mut grad, 8);
        for (i, g) in grad.iter().enumerate() {
            let (y, dy) = pattern[i % 8];
            if y > 0.0 {
                assert!(
                    g.to_bits() == dy.to_bits() || (g.is_nan() && dy.is_nan()),
                    "{i}"
                );
            } else {
                assert_eq!(g.to_bits(), 0, "{i}: +0 where the output is {y}");
            }
        }
    }

    #[test]
    fn softmax_rows_sum_to_one_and_survive_huge_logits() {
        let mut v = [1e4f32, 0.0, -1e4, 3.0, 3.0, 3.0];
        super::Softmax.forward(&mut v, 3);
        assert_eq!(&v[..3], &[1.0, 0.0, 0.0]);
        for p in &v[3..] {
            assert!((p - 1.0 / 3.0).abs() < 1e-6);
        }
    }
}
