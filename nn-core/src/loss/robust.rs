//! Regression losses that grow linearly for large errors: mean absolute error and Huber.

use super::reduce::mean_pointwise;
use super::{backward_through, LossFn, Targets};
use crate::activations::ActivationFn;
use crate::error::{Error, Result};

/// Mean absolute error over all elements, `mean |y - t|` (Keras' `mean_absolute_error`,
/// PyTorch's `L1Loss`); its gradient is `sign(y - t) / elements`, 0 where `y = t`.
///
/// ```
/// use nn_core::activations::Linear;
/// use nn_core::loss::{LossFn, MeanAbsoluteError};
/// let (y, t) = ([0.5, 2.0, 1.0], [1.0, 1.0, 1.0]);
/// let mut d = [0.0; 3];
/// let l = MeanAbsoluteError.forward_backward(&Linear, &y, &y, &t, 3, &mut d);
/// assert_eq!((l, d), (0.5, [-1.0 / 3.0, 1.0 / 3.0, 0.0]));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MeanAbsoluteError;

fn absolute_error(y: f32, t: f32) -> (f32, f32) {
    let e = y - t;
    let sign = if e > 0.0 {
        1.0
    } else if e < 0.0 {
        -1.0
    } else {
        0.0
    };
    (e.abs(), sign)
}

impl LossFn for MeanAbsoluteError {
    fn name(&self) -> &'static str {
        "mean_absolute_error"
    }
    fn targets(&self) -> Targets {
        Targets::Values
    }
    fn forward_backward<A: ActivationFn>(
        &self,
        activation: &A,
        logits: &[f32],
        outputs: &[f32],
        targets: &[f32],
        width: usize,
        d_logits: &mut [f32],
    ) -> f32 {
        let value = mean_pointwise(outputs, targets, Some(d_logits), absolute_error);
        backward_through(activation, logits, outputs, d_logits, width);
        value
    }
    fn value<A: ActivationFn>(
        &self,
        _activation: &A,
        _logits: &[f32],
        outputs: &[f32],
        targets: &[f32],
        _width: usize,
    ) -> f32 {
        mean_pointwise(outputs, targets, None, absolute_error)
    }
}

/// Huber loss over all elements with threshold `delta` (> 0; default 1): `e^2 / 2` for an
/// error `|e| <= delta`, else `delta (|e| - delta / 2)`, averaged (Keras' `Huber`,
/// PyTorch's `HuberLoss`). Quadratic near the target, linear far from it: outliers pull less
/// than with mean squared error.
///
/// ```
/// use nn_core::activations::Linear;
/// use nn_core::loss::{Huber, LossFn};
/// let (y, t) = ([0.5, 4.0], [0.0, 0.0]);
/// let mut d = [0.0; 2];
/// let l = Huber::default().forward_backward(&Linear, &y, &y, &t, 2, &mut d);
/// assert_eq!((l, d), ((0.125 + 3.5) / 2.0, [0.25, 0.5]));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Huber {
    /// Where the loss turns from quadratic to linear.
    pub delta: f32,
}

impl Default for Huber {
    /// `delta = 1`, Keras' and PyTorch's default.
    fn default() -> Self {
        Self { delta: 1.0 }
    }
}

impl Huber {
    fn pointwise(self) -> impl Fn(f32, f32) -> (f32, f32) {
        let delta = self.delta;
        move |y, t| {
            let e = y - t;
            if e.abs() <= delta {
                (0.5 * e * e, e)
            } else {
                (delta * (e.abs() - 0.5 * delta), delta * e.signum())
            }
        }
    }
}

impl LossFn for Huber {
    fn name(&self) -> &'static str {
        "huber"
    }
    fn targets(&self) -> Targets {
        Targets::Values
    }
    /// Accepts every finite target, but rejects a `delta` that is not finite and positive.
    fn check_targets(&self, _targets: &[f32], _outputs: usize) -> Result<()> {
        if self.delta.is_finite() && self.delta > 0.0 {
            Ok(())
        } else {
            Err(Error::InvalidSetting {
                owner: "Huber",
                name: "delta",
                value: f64::from(self.delta),
                expected: "finite and > 0",
            })
        }
    }
    fn forward_backward<A: ActivationFn>(
        &self,
        activation: &A,
        logits: &[f32],
        outputs: &[f32],
        targets: &[f32],
        width: usize,
        d_logits: &mut [f32],
    ) -> f32 {
        let value = mean_pointwise(outputs, targets, Some(d_logits), self.pointwise());
        backward_through(activation, logits, outputs, d_logits, width);
        value
    }
    fn value<A: ActivationFn>(
        &self,
        _activation: &A,
        _logits: &[f32],
        outputs: &[f32],
        targets: &[f32],
        _width: usize,
    ) -> f32 {
        mean_pointwise(outputs, targets, None, self.pointwise())
    }
}
