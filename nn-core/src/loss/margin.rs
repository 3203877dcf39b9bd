//! Hinge loss, for classifiers that output a score whose sign is the class.

use super::reduce::mean_pointwise;
use super::{backward_through, LossFn, Targets};
use crate::activations::ActivationFn;
use crate::error::{Error, Result, TargetProblem};

/// Hinge loss `mean max(0, 1 - t y)` over all elements, with targets `-1` or `1` (Keras'
/// `Hinge`, which also takes `0`/`1` targets and maps 0 to -1, as this does); its gradient
/// is `-t / elements` where the margin is below 1. Outputs are scores (a linear or tanh
/// output), not probabilities.
///
/// ```
/// use nn_core::activations::Linear;
/// use nn_core::loss::{Hinge, LossFn};
/// let (y, t) = ([0.5, 2.0, -0.5], [1.0, 1.0, 0.0]);
/// let mut d = [0.0; 3];
/// let l = Hinge.forward_backward(&Linear, &y, &y, &t, 3, &mut d);
/// assert_eq!((l, d), ((0.5 + 0.0 + 0.5) / 3.0, [-1.0 / 3.0, 0.0, 1.0 / 3.0]));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Hinge;

fn hinge(y: f32, t: f32) -> (f32, f32) {
    let t = if t == 0.0 { -1.0 } else { t };
    let margin = 1.0 - t * y;
    if margin > 0.0 {
        (margin, -t)
    } else {
        (0.0, 0.0)
    }
}

impl LossFn for Hinge {
    fn name(&self) -> &'static str {
        "hinge"
    }
    fn targets(&self) -> Targets {
        Targets::Values
    }
    /// Targets must be -1, 0 or 1.
    fn check_targets(&self, targets: &[f32], _outputs: usize) -> Result<()> {
        match targets
            .iter()
            .position(|&t| t != -1.0 && t != 0.0 && t != 1.0)
        {
            None => Ok(()),
            Some(index) => Err(Error::InvalidTargets {
                loss: self.name(),
                problem: TargetProblem::OutOfRange {
                    index,
                    value: targets[index],
                    expected: "targets -1 or 1 (or 0 for -1)",
                    fix: "encode the two classes as -1 and 1 (or 0 and 1)",
                },
            }),
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
        let value = mean_pointwise(outputs, targets, Some(d_logits), hinge);
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
        mean_pointwise(outputs, targets, None, hinge)
    }
}
