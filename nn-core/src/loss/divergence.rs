//! Kullback-Leibler divergence between target and predicted distributions.

use super::reduce::{mean_rowwise, Rowwise};
use super::{backward_through, LossFn, Targets};
use crate::activations::{ActivationFn, ActivationKind};
use crate::error::{Error, Result, TargetProblem};
use crate::math;

/// Kullback-Leibler divergence `KL(t || y) = sum_i t_i ln(t_i / y_i)` per sample, averaged
/// over the batch (Keras' `KLDivergence`; PyTorch's `KLDivLoss(reduction="batchmean")` on
/// `log(y)`). Targets are distributions (rows >= 0; terms with `t_i = 0` are 0); outputs are
/// probabilities, a softmax's usually. With a softmax output the gradient is computed from
/// the logits, exactly: `(softmax(z) sum(t) - t) / batch`, as for cross-entropy (the two
/// differ by the targets' entropy, a constant). Otherwise predictions are clipped to
/// `[EPSILON, 1]` as Keras does, with a zero gradient where clipped.
///
/// ```
/// use nn_core::activations::{ActivationFn, Softmax};
/// use nn_core::loss::{KlDivergence, LossFn};
/// let logits = [0.0, 0.0];
/// let mut y = logits;
/// Softmax.forward(&mut y, 2);
/// let mut d = [0.0; 2];
/// let l = KlDivergence.forward_backward(&Softmax, &logits, &y, &[0.5, 0.5], 2, &mut d);
/// assert_eq!((l, d), (0.0, [0.0, 0.0]));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KlDivergence;

/// `sum_i t_i ln(t_i / clip(y_i))`.
fn kl_row(y: &[f32], t: &[f32]) -> f32 {
    y.iter()
        .zip(t)
        .filter(|(_, &t)| t > 0.0)
        .map(|(&y, &t)| t * (math::ln(t) - math::ln(y.max(super::EPSILON))))
        .sum()
}

/// `-t_i / y_i`, zero where `y_i` was clipped.
fn kl_row_grad(y: &[f32], t: &[f32], d: &mut [f32]) {
    for ((d, &y), &t) in d.iter_mut().zip(y).zip(t) {
        *d = if y < super::EPSILON { 0.0 } else { -t / y };
    }
}

/// `sum_i t_i (ln t_i - log_softmax(z)_i)`, stable for any finite logits.
fn kl_logits_row(z: &[f32], t: &[f32]) -> f32 {
    let max = z.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    let log_sum = max + math::ln(z.iter().map(|&v| math::exp(v - max)).sum());
    z.iter()
        .zip(t)
        .filter(|(_, &t)| t > 0.0)
        .map(|(&z, &t)| t * (math::ln(t) - (z - log_sum)))
        .sum()
}

/// `softmax(z) sum(t) - t`.
fn kl_logits_row_grad(z: &[f32], t: &[f32], d: &mut [f32]) {
    d.copy_from_slice(z);
    crate::activations::Softmax.forward(d, z.len());
    let mass: f32 = t.iter().sum();
    for (d, &t) in d.iter_mut().zip(t) {
        *d = *d * mass - t;
    }
}

impl KlDivergence {
    fn evaluate<A: ActivationFn>(
        activation: &A,
        logits: &[f32],
        outputs: &[f32],
        targets: &[f32],
        width: usize,
        d: Option<&mut [f32]>,
    ) -> f32 {
        if activation.builtin() == Some(ActivationKind::Softmax) {
            let f = Rowwise {
                loss: kl_logits_row,
                grad: kl_logits_row_grad,
            };
            return mean_rowwise(logits, targets, width, width, d, f);
        }
        let f = Rowwise {
            loss: kl_row,
            grad: kl_row_grad,
        };
        match d {
            Some(d) => {
                let value = mean_rowwise(outputs, targets, width, width, Some(&mut *d), f);
                backward_through(activation, logits, outputs, d, width);
                value
            }
            None => mean_rowwise(outputs, targets, width, width, None, f),
        }
    }
}

impl LossFn for KlDivergence {
    fn name(&self) -> &'static str {
        "kl_divergence"
    }
    fn targets(&self) -> Targets {
        Targets::Distribution
    }
    /// Targets must be probabilities (>= 0).
    fn check_targets(&self, targets: &[f32], _outputs: usize) -> Result<()> {
        match targets.iter().position(|&t| t < 0.0) {
            None => Ok(()),
            Some(index) => Err(Error::InvalidTargets {
                loss: self.name(),
                problem: TargetProblem::OutOfRange {
                    index,
                    value: targets[index],
                    expected: "each sample's targets to be a distribution (values >= 0)",
                    fix: "give probabilities, e.g. a teacher's softmax outputs",
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
        Self::evaluate(activation, logits, outputs, targets, width, Some(d_logits))
    }
    fn value<A: ActivationFn>(
        &self,
        activation: &A,
        logits: &[f32],
        outputs: &[f32],
        targets: &[f32],
        width: usize,
    ) -> f32 {
        Self::evaluate(activation, logits, outputs, targets, width, None)
    }
}
