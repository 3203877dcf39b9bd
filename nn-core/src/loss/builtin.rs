//! The built-in losses as one value type, [`Loss`], named as in Keras.

use super::reduce::{mean_elementwise, mean_rowwise, Pointwise, Rowwise};
use super::{backward_through, LossFn, Targets};
use crate::activations::{ActivationFn, ActivationKind};
use crate::error::{Error, Result, TargetProblem};

/// The built-in losses, named as in Keras; each implements [`LossFn`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loss {
    /// Mean of the squared differences over all outputs (`"mean_squared_error"`, alias `"mse"`).
    MeanSquaredError,
    /// Binary cross-entropy of independent probabilities, averaged over all outputs; fused
    /// with a sigmoid output.
    BinaryCrossentropy,
    /// Cross-entropy of a distribution against one-hot (or soft) targets of the same width;
    /// fused with a softmax output.
    CategoricalCrossentropy,
    /// Cross-entropy against one class index per sample (stored as `f32`); fused with a
    /// softmax output.
    SparseCategoricalCrossentropy,
}

impl Loss {
    /// Largest difference from 1 accepted in the sum of a sample's categorical
    /// cross-entropy targets (see [`check_targets`](LossFn::check_targets)).
    pub const DISTRIBUTION_TOLERANCE: f32 = 1e-3;

    /// Whether the loss is computed from the logits rather than the outputs: for the
    /// built-in sigmoid with binary cross-entropy, softmax with the categorical ones.
    fn fused(self, activation: Option<ActivationKind>) -> bool {
        matches!(
            (self, activation),
            (Self::BinaryCrossentropy, Some(ActivationKind::Sigmoid))
                | (
                    Self::CategoricalCrossentropy | Self::SparseCategoricalCrossentropy,
                    Some(ActivationKind::Softmax)
                )
        )
    }

    /// The first target not accepted by `accept`, as [`Error::InvalidTargets`]: the loss
    /// `expected` such values and `fix` says what to do.
    fn out_of_range(
        self,
        targets: &[f32],
        accept: fn(f32) -> bool,
        expected: &'static str,
        fix: &'static str,
    ) -> Result<()> {
        match targets.iter().position(|&t| !accept(t)) {
            None => Ok(()),
            Some(index) => Err(Error::InvalidTargets {
                loss: self.name(),
                problem: TargetProblem::OutOfRange {
                    index,
                    value: targets[index],
                    expected,
                    fix,
                },
            }),
        }
    }

    /// Shared body of `forward_backward` and `value`: the gradient is written only when `d`
    /// is given.
    fn evaluate<A: ActivationFn>(
        self,
        activation: &A,
        logits: &[f32],
        outputs: &[f32],
        targets: &[f32],
        width: usize,
        mut d: Option<&mut [f32]>,
    ) -> f32 {
        debug_assert_eq!(logits.len(), outputs.len(), "logits and outputs lengths");
        let fused = self.fused(activation.builtin());
        let loss = match (self, fused) {
            (Self::MeanSquaredError, _) => {
                mean_elementwise(outputs, targets, d.as_deref_mut(), Pointwise::SQUARED_ERROR)
            }
            (Self::BinaryCrossentropy, true) => {
                mean_elementwise(logits, targets, d.as_deref_mut(), Pointwise::BCE_LOGITS)
            }
            (Self::BinaryCrossentropy, false) => {
                mean_elementwise(outputs, targets, d.as_deref_mut(), Pointwise::BCE_PROBS)
            }
            (Self::CategoricalCrossentropy, true) => mean_rowwise(
                logits,
                targets,
                width,
                width,
                d.as_deref_mut(),
                Rowwise::SOFTMAX_CE,
            ),
            (Self::CategoricalCrossentropy, false) => mean_rowwise(
                outputs,
                targets,
                width,
                width,
                d.as_deref_mut(),
                Rowwise::CE,
            ),
            (Self::SparseCategoricalCrossentropy, true) => mean_rowwise(
                logits,
                targets,
                width,
                1,
                d.as_deref_mut(),
                Rowwise::SPARSE_SOFTMAX_CE,
            ),
            (Self::SparseCategoricalCrossentropy, false) => mean_rowwise(
                outputs,
                targets,
                width,
                1,
                d.as_deref_mut(),
                Rowwise::SPARSE_CE,
            ),
        };
        if let (Some(d), false) = (d, fused) {
            backward_through(activation, logits, outputs, d, width);
        }
        loss
    }
}

impl LossFn for Loss {
    /// Keras' string name: `"mean_squared_error"` (Keras also accepts `"mse"`),
    /// `"binary_crossentropy"`, `"categorical_crossentropy"`,
    /// `"sparse_categorical_crossentropy"`.
    fn name(&self) -> &'static str {
        match self {
            Self::MeanSquaredError => "mean_squared_error",
            Self::BinaryCrossentropy => "binary_crossentropy",
            Self::CategoricalCrossentropy => "categorical_crossentropy",
            Self::SparseCategoricalCrossentropy => "sparse_categorical_crossentropy",
        }
    }

    /// Values for mean squared error, probabilities for binary cross-entropy, a
    /// distribution for categorical cross-entropy, class ids for the sparse one.
    fn targets(&self) -> Targets {
        match self {
            Self::MeanSquaredError => Targets::Values,
            Self::BinaryCrossentropy => Targets::Probabilities,
            Self::CategoricalCrossentropy => Targets::Distribution,
            Self::SparseCategoricalCrossentropy => Targets::ClassIds,
        }
    }

    /// Checks the targets against the loss's domain:
    ///
    /// - binary cross-entropy: every target in `[0, 1]` (hard labels 0 and 1, or soft
    ///   labels, as Keras allows);
    /// - categorical cross-entropy: every target `>= 0`, and each sample's targets sum to 1
    ///   within [`DISTRIBUTION_TOLERANCE`](Loss::DISTRIBUTION_TOLERANCE) (one-hot rows, or
    ///   soft / label-smoothed targets). A row of zeros or of class weights would silently
    ///   scale that sample's loss, so it is rejected;
    /// - sparse categorical cross-entropy: every label a whole number in `0..outputs`;
    /// - mean squared error: anything finite.
    ///
    /// ```
    /// use nn_core::loss::{Loss, LossFn};
    /// assert!(Loss::BinaryCrossentropy.check_targets(&[0.0, 1.0, 0.25], 1).is_ok());
    /// let e = Loss::BinaryCrossentropy.check_targets(&[0.0, 2.0], 1).unwrap_err();
    /// assert!(e.to_string().contains("index 1"));
    /// assert!(Loss::CategoricalCrossentropy.check_targets(&[-3.0, 2.0, 7.0], 3).is_err());
    /// ```
    fn check_targets(&self, targets: &[f32], outputs: usize) -> Result<()> {
        match *self {
            Self::MeanSquaredError => Ok(()),
            Self::BinaryCrossentropy => self.out_of_range(
                targets,
                |t| (0.0..=1.0).contains(&t),
                "targets in [0, 1] (the probability of class 1)",
                "encode the two classes as 0 and 1; for class ids 0, 1, 2, ... use a softmax \
                 output with `Loss::SparseCategoricalCrossentropy`",
            ),
            Self::CategoricalCrossentropy => {
                self.out_of_range(
                    targets,
                    |t| t >= 0.0,
                    "each sample's targets to be probabilities (>= 0, summing to 1, e.g. \
                     one-hot rows)",
                    "convert class ids with `one_hot`, or use \
                     `Loss::SparseCategoricalCrossentropy` with class ids",
                )?;
                if outputs == 0 {
                    return Ok(());
                }
                for (sample, row) in targets.chunks_exact(outputs).enumerate() {
                    let sum: f64 = row.iter().copied().map(f64::from).sum();
                    if (sum - 1.0).abs() > f64::from(Self::DISTRIBUTION_TOLERANCE) {
                        #[allow(clippy::cast_possible_truncation)]
                        let sum = sum as f32;
                        return Err(Error::InvalidTargets {
                            loss: self.name(),
                            problem: TargetProblem::NotADistribution { sample, sum },
                        });
                    }
                }
                Ok(())
            }
            Self::SparseCategoricalCrossentropy => {
                for (index, &label) in targets.iter().enumerate() {
                    #[allow(clippy::cast_precision_loss)]
                    let ok = label >= 0.0 && libm::truncf(label) == label && label < outputs as f32;
                    if !ok {
                        return Err(Error::InvalidLabel {
                            index,
                            label,
                            classes: outputs,
                        });
                    }
                }
                Ok(())
            }
        }
    }

    /// Fuses the output activation when it is the loss's partner (see the
    /// [module docs](super)); sparse labels must be class indices (out-of-range labels are
    /// clamped, never read out of bounds).
    fn forward_backward<A: ActivationFn>(
        &self,
        activation: &A,
        logits: &[f32],
        outputs: &[f32],
        targets: &[f32],
        width: usize,
        d_logits: &mut [f32],
    ) -> f32 {
        debug_assert_eq!(d_logits.len(), logits.len(), "d_logits length");
        self.evaluate(activation, logits, outputs, targets, width, Some(d_logits))
    }

    /// The value alone, without the gradient (and without allocating).
    fn value<A: ActivationFn>(
        &self,
        activation: &A,
        logits: &[f32],
        outputs: &[f32],
        targets: &[f32],
        width: usize,
    ) -> f32 {
        self.evaluate(activation, logits, outputs, targets, width, None)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::super::*;
    use super::*;
    use crate::math;
    use std::vec;
    use std::vec::Vec;

    const ACTIVATIONS: [ActivationKind; 6] = [
        ActivationKind::Linear,
        ActivationKind::Relu,
        ActivationKind::LeakyRelu(0.2),
        ActivationKind::Sigmoid,
        ActivationKind::Tanh,
        ActivationKind::Softmax,
    ];
    const LOSSES: [Loss; 4] = [
        Loss::MeanSquaredError,
        Loss::BinaryCrossentropy,
        Loss::CategoricalCrossentropy,
        Loss::SparseCategoricalCrossentropy,
    ];
    const WIDTH: usize = 3;

    fn outputs(activation: ActivationKind, logits: &[f32]) -> Vec<f32> {
        let mut y = logits.to_vec();
        activation.forward(&mut y, WIDTH);
        y
    }

    /// Targets for a batch of `rows` rows: soft targets in (0, 1) for MSE and BCE, one-hot
    /// rows for categorical, labels for sparse.
    fn targets(loss: Loss, rows: usize) -> Vec<f32> {
        (0..rows)
            .flat_map(|r| match loss {
                Loss::MeanSquaredError | Loss::BinaryCrossentropy => vec![0.2, 0.9, 0.5],
                Loss::CategoricalCrossentropy => {
                    let mut row = vec![0.0; WIDTH];
                    row[(r + 1) % WIDTH] = 1.0;
                    row
                }
                Loss::SparseCategoricalCrossentropy => vec![((r + 1) % WIDTH) as f32],
            })
            .collect()
    }

    /// Central differences of `value` with respect to the logits against `forward_backward`.
    fn check_gradient(loss: Loss, activation: ActivationKind, logits: &[f32], targets: &[f32]) {
        let y = outputs(activation, logits);
        let mut d = vec![f32::NAN; logits.len()];
        let l = loss.forward_backward(&activation, logits, &y, targets, WIDTH, &mut d);
        assert_eq!(
            l,
            loss.value(&activation, logits, &y, targets, WIDTH),
            "{loss:?} {activation:?}: value"
        );
        let h = 2e-3f32;
        for i in 0..logits.len() {
            let at = |delta: f32| {
                let mut z = logits.to_vec();
                z[i] += delta;
                f64::from(loss.value(&activation, &z, &outputs(activation, &z), targets, WIDTH))
            };
            let numeric = (at(h) - at(-h)) / (2.0 * f64::from(h));
            let err = (f64::from(d[i]) - numeric).abs();
            assert!(
                err <= 1e-3 + 1e-3 * numeric.abs(),
                "{loss:?} with {activation:?}, logit {i}: analytic {} numeric {numeric}",
                d[i]
            );
        }
    }

    #[test]
    fn gradients_match_finite_differences() {
        // Logits in (0, 1) keep every activation's output inside the clip range of the
        // probability losses and away from the ReLU kink.
        let inside = [0.3f32, 0.7, 0.45, 0.85, 0.15, 0.6];
        // Signed logits for losses and activations that accept any value.
        let signed = [1.2f32, -0.7, 0.3, -2.1, 0.4, 1.6];
        for loss in LOSSES {
            let t = targets(loss, 2);
            for activation in ACTIVATIONS {
                check_gradient(loss, activation, &inside, &t);
                let any_logit = loss == Loss::MeanSquaredError
                    || matches!(
                        activation,
                        ActivationKind::Sigmoid | ActivationKind::Softmax
                    );
                if any_logit {
                    check_gradient(loss, activation, &signed, &t);
                }
            }
        }
    }

    #[test]
    fn soft_categorical_targets_match_finite_differences() {
        let logits = [1.2f32, -0.7, 0.3, 0.2, 0.5, 0.25];
        let soft = [0.2f32, 0.5, 0.3, 0.0, 0.6, 0.6]; // the second row sums to 1.2
        for activation in [
            ActivationKind::Softmax,
            ActivationKind::Sigmoid,
            ActivationKind::Linear,
        ] {
            check_gradient(Loss::CategoricalCrossentropy, activation, &logits, &soft);
        }
    }

    #[test]
    fn extreme_logits_give_finite_losses_and_gradients() {
        let logits = [1e4f32, -1e4, 0.0, -1e4, 1e4, 1e4, 1e4, -1e4, -1e4];
        for loss in LOSSES {
            let t = targets(loss, 3);
            for activation in ACTIVATIONS {
                let y = outputs(activation, &logits);
                let mut d = vec![f32::NAN; logits.len()];
                let l = loss.forward_backward(&activation, &logits, &y, &t, WIDTH, &mut d);
                assert!(l.is_finite(), "{loss:?} {activation:?}: loss {l}");
                assert!(
                    d.iter().all(|g| g.is_finite()),
                    "{loss:?} {activation:?}: {d:?}"
                );
            }
        }
    }

    #[test]
    fn probabilities_of_exactly_zero_and_one_give_finite_losses_and_zero_gradients() {
        let probs = [0.0f32, 1.0, 0.0, 1.0, 0.0, 0.0];
        let onehot = [1.0f32, 0.0, 0.0, 1.0, 0.0, 0.0];
        let mut d = [f32::NAN; 6];
        let l = categorical_crossentropy(&probs, &onehot, WIDTH, &mut d);
        // Row 0 takes -ln(1e-7), row 1 takes -ln(1 - 1e-7) (about 1.2e-7 in f32).
        assert!((l - (-math::ln(EPSILON) / 2.0)).abs() < 1e-5, "{l}");
        assert_eq!(d, [0.0; 6]);
        let l = sparse_categorical_crossentropy(&probs, &[0.0, 0.0], WIDTH, &mut d);
        assert!((l - (-math::ln(EPSILON) / 2.0)).abs() < 1e-5, "{l}");
        assert_eq!(d, [0.0; 6]);
        let l = binary_crossentropy(&probs, &onehot, &mut d);
        assert!(l.is_finite() && l > 0.0, "{l}");
        assert_eq!(d, [0.0; 6]);
        // Through the losses, with activations that saturate to exactly 0 and 1.
        for loss in LOSSES {
            for activation in [
                ActivationKind::Linear,
                ActivationKind::Relu,
                ActivationKind::Softmax,
                ActivationKind::Sigmoid,
            ] {
                let mut d = [f32::NAN; 6];
                let t = targets(loss, 2);
                let l = loss.forward_backward(&activation, &probs, &probs, &t, WIDTH, &mut d);
                assert!(
                    l.is_finite() && d.iter().all(|g| g.is_finite()),
                    "{loss:?} {activation:?}: {l} {d:?}"
                );
            }
        }
    }

    #[test]
    fn helpers_give_known_values() {
        let mut d = [0.0; 2];
        assert!((mse(&[1.0, 3.0], &[0.0, 1.0], &mut d) - 2.5).abs() < 1e-6);
        assert_eq!(d, [1.0, 2.0]);
        let l = binary_crossentropy_from_logits(&[0.0, 1e4], &[1.0, 0.0], &mut d);
        assert!(
            (l - (core::f32::consts::LN_2 + 1e4) / 2.0).abs() < 1e-2,
            "{l}"
        );
        assert_eq!(d, [-0.25, 0.5]);
        let mut d = [0.0; 3];
        let l = sparse_softmax_cross_entropy(&[0.0, 0.0, 0.0], &[1.0], 3, &mut d);
        assert!((l - math::ln(3.0)).abs() < 1e-6);
        for (g, e) in d.iter().zip([1.0 / 3.0, -2.0 / 3.0, 1.0 / 3.0]) {
            assert!((g - e).abs() < 1e-6, "{d:?}");
        }
    }

    #[test]
    fn fused_and_plain_forms_agree() {
        let logits = [1.2f32, -0.7, 0.3, -2.1, 0.4, 1.6];
        let labels = [2.0f32, 0.0];
        let onehot = [0.0f32, 0.0, 1.0, 1.0, 0.0, 0.0];
        let (mut a, mut b) = ([0.0; 6], [0.0; 6]);
        let sparse = sparse_softmax_cross_entropy(&logits, &labels, WIDTH, &mut a);
        let dense = softmax_cross_entropy(&logits, &onehot, WIDTH, &mut b);
        assert!((sparse - dense).abs() < 1e-6);
        assert_eq!(a, b);
        // The fused sigmoid path agrees with the clipped one where nothing is clipped.
        let y = outputs(ActivationKind::Sigmoid, &logits);
        let t = [0.2, 0.9, 0.5, 0.0, 1.0, 0.3];
        let fused = Loss::BinaryCrossentropy.forward_backward(
            &ActivationKind::Sigmoid,
            &logits,
            &y,
            &t,
            WIDTH,
            &mut a,
        );
        let plain = binary_crossentropy(&y, &t, &mut b);
        ActivationKind::Sigmoid.backward(&[], &y, &mut b, WIDTH);
        assert!((fused - plain).abs() < 1e-5, "{fused} {plain}");
        for (a, b) in a.iter().zip(&b) {
            assert!((a - b).abs() < 1e-5, "{a} {b}");
        }
    }

    #[test]
    fn names_and_target_widths() {
        assert_eq!(Loss::MeanSquaredError.name(), "mean_squared_error");
        assert_eq!(Loss::BinaryCrossentropy.name(), "binary_crossentropy");
        assert_eq!(
            Loss::CategoricalCrossentropy.name(),
            "categorical_crossentropy"
        );
        assert_eq!(
            Loss::SparseCategoricalCrossentropy.name(),
            "sparse_categorical_crossentropy"
        );
        assert_eq!(Loss::SparseCategoricalCrossentropy.target_width(10), 1);
        assert_eq!(Loss::CategoricalCrossentropy.target_width(10), 10);
        assert_eq!(Loss::MeanSquaredError.target_width(4), 4);
    }

    /// The problem of an [`Error::InvalidTargets`].
    fn problem(result: crate::error::Result<()>) -> TargetProblem {
        match result {
            Err(Error::InvalidTargets { problem, .. }) => problem,
            other => panic!("expected InvalidTargets, got {other:?}"),
        }
    }

    #[test]
    fn targets_are_checked_against_the_loss_domain() {
        let bce = Loss::BinaryCrossentropy;
        bce.check_targets(&[0.0, 1.0, 0.3, 1.0], 2).unwrap();
        assert!(matches!(
            problem(bce.check_targets(&[0.0, 1.0, 1.0001], 1)),
            TargetProblem::OutOfRange {
                index: 2,
                value: 1.0001,
                ..
            }
        ));
        assert!(matches!(
            problem(bce.check_targets(&[-0.0, -1e-9], 1)),
            TargetProblem::OutOfRange { index: 1, .. }
        ));

        let cce = Loss::CategoricalCrossentropy;
        cce.check_targets(&[0.0, 1.0, 0.0, 0.1, 0.2, 0.7], 3)
            .unwrap();
        // Within the tolerance of a sum of 1.
        cce.check_targets(&[0.3334, 0.3334, 0.3334], 3).unwrap();
        assert_eq!(
            problem(cce.check_targets(&[1.0, 0.0, 0.0, 0.5, 0.5, 0.5], 3)),
            TargetProblem::NotADistribution {
                sample: 1,
                sum: 1.5
            }
        );
        assert!(matches!(
            problem(cce.check_targets(&[1.5, -0.5, 0.0], 3)),
            TargetProblem::OutOfRange {
                index: 1,
                value: -0.5,
                ..
            }
        ));

        let sparse = Loss::SparseCategoricalCrossentropy;
        sparse.check_targets(&[0.0, 2.0, 1.0], 3).unwrap();
        for bad in [3.0, -1.0, 0.5] {
            assert!(matches!(
                sparse.check_targets(&[0.0, bad], 3),
                Err(Error::InvalidLabel { index: 1, .. })
            ));
        }
        Loss::MeanSquaredError
            .check_targets(&[-1e30, 7.0], 1)
            .unwrap();
    }

    #[test]
    fn the_confusable_layout_is_the_other_categorical_one() {
        assert_eq!(
            Loss::CategoricalCrossentropy.confusable_target_width(10),
            Some(1)
        );
        assert_eq!(
            Loss::SparseCategoricalCrossentropy.confusable_target_width(10),
            Some(10)
        );
        assert_eq!(
            Loss::CategoricalCrossentropy.confusable_target_width(1),
            None
        );
        assert_eq!(Loss::BinaryCrossentropy.confusable_target_width(4), None);
        assert_eq!(Loss::MeanSquaredError.confusable_target_width(4), None);
    }
}
