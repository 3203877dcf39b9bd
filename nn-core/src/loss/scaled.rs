//! A loss times a constant factor.

use super::{LossFn, Targets};
use crate::activations::ActivationFn;
use crate::error::Result;

/// `factor` times `loss` (PyTorch's `factor * loss_fn(y, t)`): the value and the gradient
/// both scaled, the targets and their checks the inner loss's.
///
/// The loss of a batch is a mean, so a batch made of two equal halves with
/// `Scaled::new(2.0, loss)` gives the sum of the halves' mean losses, and each sample the
/// gradient it gets in a pass over its own half: a GAN's discriminator step
/// `bce(D(real), 1) + bce(D(fake), 0)` in one pass (`examples/gan_mnist.rs`).
///
/// ```
/// use nn_core::activations::Linear;
/// use nn_core::loss::{LossFn, MeanAbsoluteError, Scaled};
/// let (y, t) = ([0.5, 2.0, 1.0], [1.0, 1.0, 1.0]);
/// let mut d = [0.0; 3];
/// let l = Scaled::new(2.0, MeanAbsoluteError).forward_backward(&Linear, &y, &y, &t, 3, &mut d);
/// assert_eq!((l, d), (1.0, [-2.0 / 3.0, 2.0 / 3.0, 0.0]));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scaled<L> {
    factor: f32,
    loss: L,
}

impl<L> Scaled<L> {
    /// `factor` times `loss`.
    #[must_use]
    pub const fn new(factor: f32, loss: L) -> Self {
        Self { factor, loss }
    }
}

impl<L: LossFn> LossFn for Scaled<L> {
    fn name(&self) -> &'static str {
        "scaled"
    }

    fn targets(&self) -> Targets {
        self.loss.targets()
    }

    fn check_targets(&self, targets: &[f32], outputs: usize) -> Result<()> {
        self.loss.check_targets(targets, outputs)
    }

    fn confusable_target_width(&self, outputs: usize) -> Option<usize> {
        self.loss.confusable_target_width(outputs)
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
        let value = self
            .loss
            .forward_backward(activation, logits, outputs, targets, width, d_logits);
        for d in d_logits.iter_mut() {
            *d *= self.factor;
        }
        self.factor * value
    }

    fn value<A: ActivationFn>(
        &self,
        activation: &A,
        logits: &[f32],
        outputs: &[f32],
        targets: &[f32],
        width: usize,
    ) -> f32 {
        self.factor * self.loss.value(activation, logits, outputs, targets, width)
    }
}

#[cfg(test)]
mod tests {
    use super::Scaled;
    use crate::activations::{Linear, Sigmoid};
    use crate::loss::{BinaryCrossentropyWithLogits, LossFn, MeanAbsoluteError};

    /// Twice the mean over two halves is the sum of the halves' means, and each sample's
    /// gradient is the one of a pass over its half; closed form for the binary cross-entropy
    /// on logits: `softplus(x) - t x`, gradient `(sigmoid(x) - t) / n`.
    #[test]
    fn twice_the_mean_of_two_halves_is_the_sum_of_their_passes() {
        let x = [0.3f32, -1.2, 2.0, 0.0, -0.4, 1.5];
        let t = [1.0f32, 1.0, 1.0, 0.0, 0.0, 0.0];
        let y: std::vec::Vec<f32> = x.iter().map(|&v| 1.0 / (1.0 + (-v).exp())).collect();
        let mut d = [0.0f32; 6];
        let scaled = Scaled::new(2.0, BinaryCrossentropyWithLogits);
        let value = scaled.forward_backward(&Sigmoid, &x, &y, &t, 1, &mut d);
        let mut want = 0.0f64;
        for i in 0..6 {
            let xi = f64::from(x[i]);
            want += ((1.0 + xi.exp()).ln() - f64::from(t[i]) * xi) / 3.0;
            let grad = (1.0 / (1.0 + (-xi).exp()) - f64::from(t[i])) / 3.0;
            assert!(
                (f64::from(d[i]) - grad).abs() < 1e-6,
                "sample {i}: {} vs {grad}",
                d[i]
            );
        }
        assert!((f64::from(value) - want).abs() < 1e-6, "{value} vs {want}");
        let only = scaled.value(&Sigmoid, &x, &y, &t, 1);
        assert!((only - value).abs() < 1e-6, "value {only} vs {value}");
        assert_eq!(scaled.targets(), BinaryCrossentropyWithLogits.targets());
    }

    #[test]
    fn the_inner_loss_checks_the_targets() {
        let scaled = Scaled::new(0.5, BinaryCrossentropyWithLogits);
        assert!(scaled.check_targets(&[0.0, 1.0], 1).is_ok());
        assert!(scaled.check_targets(&[2.0], 1).is_err());
        let mut d = [0.0f32; 2];
        let l = Scaled::new(-1.0, MeanAbsoluteError).forward_backward(
            &Linear,
            &[1.0, 3.0],
            &[1.0, 3.0],
            &[0.0, 0.0],
            2,
            &mut d,
        );
        assert_eq!((l, d), (-2.0, [-0.5, -0.5]));
    }
}
