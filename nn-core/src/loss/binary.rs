//! Binary cross-entropy, from logits (fused with a sigmoid) or from clipped probabilities.

use super::reduce::{mean_elementwise, Pointwise};
use super::{backward_through, clip, is_clipped, LossFn, Targets};
use crate::activations::ActivationFn;
use crate::error::{Error, Result, TargetProblem};
use crate::math;

/// Mean binary cross-entropy over all elements, from logits `z` (the sigmoid is applied
/// inside, stably: `max(z, 0) - z t + ln(1 + e^-|z|)`); writes
/// `dz = (sigmoid(z) - t) / elements`.
pub fn binary_crossentropy_from_logits(z: &[f32], t: &[f32], dz: &mut [f32]) -> f32 {
    mean_elementwise(z, t, Some(dz), Pointwise::BCE_LOGITS)
}

/// Mean binary cross-entropy over all elements, from probabilities clipped to
/// `[EPSILON, 1 - EPSILON]` (Keras); writes the gradient with respect to `probs`, zero where
/// a probability was clipped.
pub fn binary_crossentropy(probs: &[f32], targets: &[f32], d_probs: &mut [f32]) -> f32 {
    mean_elementwise(probs, targets, Some(d_probs), Pointwise::BCE_PROBS)
}

impl Pointwise {
    pub(super) const BCE_LOGITS: Self = Self {
        loss: bce_logits,
        grad: bce_logits_grad,
    };
    pub(super) const BCE_PROBS: Self = Self {
        loss: bce_probs,
        grad: bce_probs_grad,
    };
}

/// `softplus(z) - z t`, i.e. `-(t ln sigmoid(z) + (1 - t) ln(1 - sigmoid(z)))`.
fn bce_logits(z: f32, t: f32) -> f32 {
    math::softplus(z) - z * t
}
fn bce_logits_grad(z: f32, t: f32) -> f32 {
    math::sigmoid(z) - t
}

fn bce_probs(p: f32, t: f32) -> f32 {
    let p = clip(p);
    -(t * math::ln(p) + (1.0 - t) * math::ln(1.0 - p))
}
fn bce_probs_grad(p: f32, t: f32) -> f32 {
    if is_clipped(p) {
        0.0
    } else {
        (1.0 - t) / (1.0 - p) - t / p
    }
}

/// Binary cross-entropy on logits, one independent label per output (multi-label
/// classification; PyTorch's `BCEWithLogitsLoss`): the model's outputs are logits (a linear
/// output layer, `Dense(n)`), the sigmoid is applied inside, stably, and the loss is the mean
/// over all elements of `max(z, 0) - z t + ln(1 + e^-|z|)`, its gradient
/// `(sigmoid(z) - t) / elements`. A model whose output activation is already a sigmoid is
/// handled as [`Loss::BinaryCrossentropy`](super::Loss::BinaryCrossentropy) handles it: from
/// its logits.
///
/// Metrics read outputs as probabilities: with logit outputs, compute accuracies yourself
/// (`z > 0` is class 1).
///
/// ```
/// use nn_core::activations::Linear;
/// use nn_core::loss::{BinaryCrossentropyWithLogits, LossFn};
/// let (z, t) = ([0.0, 0.0, 0.0], [1.0, 0.0, 1.0]);
/// let mut d = [0.0; 3];
/// let l = BinaryCrossentropyWithLogits.forward_backward(&Linear, &z, &z, &t, 3, &mut d);
/// assert!((l - std::f32::consts::LN_2).abs() < 1e-6);
/// assert_eq!(d, [-0.5 / 3.0, 0.5 / 3.0, -0.5 / 3.0]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BinaryCrossentropyWithLogits;

impl BinaryCrossentropyWithLogits {
    /// The logits the loss reads: the model's, under a sigmoid output; else its outputs.
    fn logits<'a, A: ActivationFn>(
        activation: &A,
        logits: &'a [f32],
        outputs: &'a [f32],
    ) -> &'a [f32] {
        if activation.builtin() == Some(crate::activations::ActivationKind::Sigmoid) {
            logits
        } else {
            outputs
        }
    }
}

impl LossFn for BinaryCrossentropyWithLogits {
    fn name(&self) -> &'static str {
        "binary_crossentropy_with_logits"
    }
    fn targets(&self) -> Targets {
        Targets::Probabilities
    }
    /// Targets must be in `[0, 1]`.
    fn check_targets(&self, targets: &[f32], _outputs: usize) -> Result<()> {
        match targets.iter().position(|t| !(0.0..=1.0).contains(t)) {
            None => Ok(()),
            Some(index) => Err(Error::InvalidTargets {
                loss: self.name(),
                problem: TargetProblem::OutOfRange {
                    index,
                    value: targets[index],
                    expected: "targets in [0, 1] (the probability of each label)",
                    fix: "encode each label as 0 or 1",
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
        let z = Self::logits(activation, logits, outputs);
        let value = mean_elementwise(z, targets, Some(d_logits), Pointwise::BCE_LOGITS);
        if activation.builtin() != Some(crate::activations::ActivationKind::Sigmoid) {
            backward_through(activation, logits, outputs, d_logits, width);
        }
        value
    }
    fn value<A: ActivationFn>(
        &self,
        activation: &A,
        logits: &[f32],
        outputs: &[f32],
        targets: &[f32],
        _width: usize,
    ) -> f32 {
        let z = Self::logits(activation, logits, outputs);
        mean_elementwise(z, targets, None, Pointwise::BCE_LOGITS)
    }
}
