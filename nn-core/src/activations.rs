//! Activation functions, applied in place to rows of a row-major batch.
//!
//! Each activation is a small `Copy` value implementing [`Activation`]: a `forward` that
//! turns pre-activations into outputs, and a `backward` written **in terms of the output**
//! (`y`), directly below it. Because every derivative here is a function of the output, a
//! training pass keeps only post-activation values.
//!
//! | type | Keras name | forward | derivative from the output |
//! |---|---|---|---|
//! | [`Linear`] | `linear` | `x` | `1` |
//! | [`Relu`] | `relu` | `max(x, 0)` | `y > 0` |
//! | [`LeakyRelu`] | `leaky_relu` | `x` or `alpha * x` | `1` or `alpha` (by the sign of `y`) |
//! | [`Sigmoid`] | `sigmoid` | `1 / (1 + e^-x)` | `y (1 - y)` |
//! | [`Tanh`] | `tanh` | `tanh x` | `1 - y^2` |
//! | [`Softmax`] | `softmax` | `e^x_i / sum e^x_j` per row | `y_i (dy_i - sum_j y_j dy_j)` |
//!
//! ```
//! use nn_core::activations::{Activation, Softmax};
//! let mut row = [1.0, 2.0, 3.0];
//! Softmax.forward(&mut row, 3);
//! assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
//! ```

use crate::math;

/// Which activation, as a value: lets the training loop fuse the output activation with the
/// loss (softmax with cross-entropy, sigmoid with binary cross-entropy).
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

/// An activation applied in place to whole rows of `width` values.
pub trait Activation: Copy {
    /// This activation as an [`ActivationKind`].
    fn kind(&self) -> ActivationKind;

    /// Turns pre-activations into outputs, in place. `values` holds whole rows of `width`.
    fn forward(&self, values: &mut [f32], width: usize);

    /// Turns the gradient with respect to the outputs `y` into the gradient with respect to
    /// the pre-activations, in place in `grad`.
    fn backward(&self, y: &[f32], grad: &mut [f32], width: usize);
}

/// Identity: `f(x) = x`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Linear;

impl Activation for Linear {
    fn kind(&self) -> ActivationKind {
        ActivationKind::Linear
    }
    #[inline]
    fn forward(&self, _values: &mut [f32], _width: usize) {}
    #[inline]
    fn backward(&self, _y: &[f32], _grad: &mut [f32], _width: usize) {}
}

/// Rectified linear unit: `f(x) = max(x, 0)`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Relu;

impl Activation for Relu {
    fn kind(&self) -> ActivationKind {
        ActivationKind::Relu
    }
    #[inline]
    fn forward(&self, values: &mut [f32], _width: usize) {
        for v in values {
            *v = v.max(0.0);
        }
    }
    #[inline]
    fn backward(&self, y: &[f32], grad: &mut [f32], _width: usize) {
        // A select, not a branch, so that it vectorises.
        for (g, &y) in grad.iter_mut().zip(y) {
            *g = if y > 0.0 { *g } else { 0.0 };
        }
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

impl Activation for LeakyRelu {
    fn kind(&self) -> ActivationKind {
        ActivationKind::LeakyRelu(self.0)
    }
    #[inline]
    fn forward(&self, values: &mut [f32], _width: usize) {
        for v in values {
            *v *= if *v < 0.0 { self.0 } else { 1.0 };
        }
    }
    #[inline]
    fn backward(&self, y: &[f32], grad: &mut [f32], _width: usize) {
        // With alpha > 0 the output has the sign of the input.
        for (g, &y) in grad.iter_mut().zip(y) {
            *g *= if y < 0.0 { self.0 } else { 1.0 };
        }
    }
}

/// Logistic sigmoid: `f(x) = 1 / (1 + e^-x)`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Sigmoid;

impl Activation for Sigmoid {
    fn kind(&self) -> ActivationKind {
        ActivationKind::Sigmoid
    }
    #[inline]
    fn forward(&self, values: &mut [f32], _width: usize) {
        for v in values {
            *v = math::sigmoid(*v);
        }
    }
    #[inline]
    fn backward(&self, y: &[f32], grad: &mut [f32], _width: usize) {
        for (g, &y) in grad.iter_mut().zip(y) {
            *g *= y * (1.0 - y);
        }
    }
}

/// Hyperbolic tangent.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Tanh;

impl Activation for Tanh {
    fn kind(&self) -> ActivationKind {
        ActivationKind::Tanh
    }
    #[inline]
    fn forward(&self, values: &mut [f32], _width: usize) {
        for v in values {
            *v = math::tanh(*v);
        }
    }
    #[inline]
    fn backward(&self, y: &[f32], grad: &mut [f32], _width: usize) {
        for (g, &y) in grad.iter_mut().zip(y) {
            *g *= 1.0 - y * y;
        }
    }
}

/// Softmax over each row: `f(x)_i = e^(x_i - max x) / sum_j e^(x_j - max x)`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Softmax;

impl Activation for Softmax {
    fn kind(&self) -> ActivationKind {
        ActivationKind::Softmax
    }
    fn forward(&self, values: &mut [f32], width: usize) {
        for row in values.chunks_exact_mut(width) {
            let max = row.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
            let mut sum = 0.0;
            for v in row.iter_mut() {
                *v = math::exp(*v - max);
                sum += *v;
            }
            let inv = 1.0 / sum;
            for v in row.iter_mut() {
                *v *= inv;
            }
        }
    }
    fn backward(&self, y: &[f32], grad: &mut [f32], width: usize) {
        for (g, y) in grad.chunks_exact_mut(width).zip(y.chunks_exact(width)) {
            let dot: f32 = g.iter().zip(y).map(|(g, y)| g * y).sum();
            for (g, &y) in g.iter_mut().zip(y) {
                *g = y * (*g - dot);
            }
        }
    }
}

impl Activation for ActivationKind {
    fn kind(&self) -> ActivationKind {
        *self
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
    fn backward(&self, y: &[f32], grad: &mut [f32], width: usize) {
        match *self {
            Self::Linear => Linear.backward(y, grad, width),
            Self::Relu => Relu.backward(y, grad, width),
            Self::LeakyRelu(a) => LeakyRelu(a).backward(y, grad, width),
            Self::Sigmoid => Sigmoid.backward(y, grad, width),
            Self::Tanh => Tanh.backward(y, grad, width),
            Self::Softmax => Softmax.backward(y, grad, width),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Activation, ActivationKind};

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
            act.backward(&y, &mut grad, width);
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
