//! Metrics reported during training, named and computed as in Keras.
//!
//! [`Metric::correct`] returns a **count**, so the counts of several batches can be summed
//! and divided once by [`Metric::max_correct`] of all the samples seen. For every metric but
//! [`BinaryAccuracy`](Metric::BinaryAccuracy) with more than one output, the count is of
//! samples; see [`Metric::correct`].
//!
//! A metric reads the targets of the loss it is reported with, so which metrics fit a loss
//! is decided by what the loss says its targets are ([`LossFn::targets`]): the built-in
//! losses and your own are treated alike (see [`Metric::resolve`] and [`Metric::check`]).
//!
//! ```
//! use nn_core::loss::Loss;
//! use nn_core::metrics::Metric;
//! let metric = Metric::Accuracy.resolve(&Loss::SparseCategoricalCrossentropy, 3);
//! assert_eq!(metric, Metric::SparseCategoricalAccuracy);
//! let outputs = [0.1, 0.7, 0.2, 0.5, 0.3, 0.2];
//! assert_eq!(metric.correct(&outputs, &[1.0, 2.0], 3), 1);
//! ```

mod confusion;
mod tally;

pub use confusion::ConfusionMatrix;
pub use tally::Tally;

use crate::error::{Error, Result};
use crate::loss::{LossFn, Targets};

/// A metric reported during training, named as in Keras.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// Keras' generic `"accuracy"`: which accuracy depends on the loss, see
    /// [`resolve`](Metric::resolve).
    Accuracy,
    /// Outputs thresholded at 0.5 against targets thresholded at 0.5, element by element.
    BinaryAccuracy,
    /// Argmax of the outputs against argmax of one-hot targets.
    CategoricalAccuracy,
    /// Argmax of the outputs against one class index per sample (stored as `f32`).
    SparseCategoricalAccuracy,
    /// Whether the target class (a class id, or the argmax of a target row) is among the
    /// `k` largest outputs (Keras' `top_k_categorical_accuracy` and its sparse twin, with
    /// `k = 5` by default there); logged as `top_k_accuracy`.
    TopKAccuracy(usize),
    /// `tp / (tp + fp)`, outputs above 0.5 predicting positive, targets above 0.5 positive,
    /// over every output (Keras' `Precision`; 0 when nothing is predicted positive).
    Precision,
    /// `tp / (tp + fn)`, thresholds as [`Precision`](Self::Precision) (Keras' `Recall`).
    Recall,
    /// `2 precision recall / (precision + recall)` over every output (scikit-learn's
    /// `f1_score` of a binary task; 0 when both are 0).
    F1,
    /// Area under the ROC curve of outputs in `[0, 1]` against targets above 0.5, over every
    /// output (Keras' `AUC`): the outputs are counted in 1000 bins of width 0.001 and the
    /// curve is integrated by trapezoids, which equals the exact area (scikit-learn's
    /// `roc_auc_score`) when no positive shares a bin with a negative.
    Auc,
    /// Mean absolute error over every output.
    Mae,
    /// Mean squared error over every output.
    Mse,
    /// Square root of [`Mse`](Self::Mse) over the whole epoch or evaluation.
    Rmse,
    /// Coefficient of determination `1 - SS_res / SS_tot` per output, averaged over the
    /// outputs (Keras' `R2Score`, scikit-learn's `r2_score` with `uniform_average`); an
    /// output whose targets are constant scores 1 if predicted exactly, else 0.
    R2,
}

impl Metric {
    /// Every built-in metric once (accuracy as Keras' generic one, top-k with `k = 5`).
    pub const ALL: [Metric; 11] = [
        Metric::Accuracy,
        Metric::TopKAccuracy(5),
        Metric::Precision,
        Metric::Recall,
        Metric::F1,
        Metric::Auc,
        Metric::Mae,
        Metric::Mse,
        Metric::Rmse,
        Metric::R2,
        Metric::BinaryAccuracy,
    ];
}

impl Metric {
    /// Keras' string name: `"accuracy"`, `"binary_accuracy"`, `"categorical_accuracy"`,
    /// `"sparse_categorical_accuracy"`, `"top_k_accuracy"`, `"precision"`, `"recall"`,
    /// `"f1"`, `"auc"`, `"mae"`, `"mse"`, `"rmse"`, `"r2"`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Accuracy => "accuracy",
            Self::BinaryAccuracy => "binary_accuracy",
            Self::CategoricalAccuracy => "categorical_accuracy",
            Self::SparseCategoricalAccuracy => "sparse_categorical_accuracy",
            Self::TopKAccuracy(_) => "top_k_accuracy",
            Self::Precision => "precision",
            Self::Recall => "recall",
            Self::F1 => "f1",
            Self::Auc => "auc",
            Self::Mae => "mae",
            Self::Mse => "mse",
            Self::Rmse => "rmse",
            Self::R2 => "r2",
        }
    }

    /// The name of the metric weighted by the samples' weights (`weighted_` and
    /// [`name`](Self::name)), as [`Trainer::weighted_metrics`](crate::train::Trainer::weighted_metrics) logs it.
    #[must_use]
    pub fn weighted_name(self) -> &'static str {
        match self {
            Self::Accuracy => "weighted_accuracy",
            Self::BinaryAccuracy => "weighted_binary_accuracy",
            Self::CategoricalAccuracy => "weighted_categorical_accuracy",
            Self::SparseCategoricalAccuracy => "weighted_sparse_categorical_accuracy",
            Self::TopKAccuracy(_) => "weighted_top_k_accuracy",
            Self::Precision => "weighted_precision",
            Self::Recall => "weighted_recall",
            Self::F1 => "weighted_f1",
            Self::Auc => "weighted_auc",
            Self::Mae => "weighted_mae",
            Self::Mse => "weighted_mse",
            Self::Rmse => "weighted_rmse",
            Self::R2 => "weighted_r2",
        }
    }

    /// Resolves Keras' generic [`Accuracy`](Metric::Accuracy) from what the loss's targets
    /// are ([`LossFn::targets`]), as Keras does from the loss:
    ///
    /// | [`Targets`] | e.g. | `Accuracy` means |
    /// |---|---|---|
    /// | [`Probabilities`](Targets::Probabilities) | binary cross-entropy | [`BinaryAccuracy`](Metric::BinaryAccuracy) |
    /// | [`Distribution`](Targets::Distribution) | categorical cross-entropy | [`CategoricalAccuracy`](Metric::CategoricalAccuracy) |
    /// | [`ClassIds`](Targets::ClassIds) | sparse categorical cross-entropy | [`SparseCategoricalAccuracy`](Metric::SparseCategoricalAccuracy) |
    /// | [`Values`](Targets::Values) | mean squared error | `BinaryAccuracy` for one output, else `CategoricalAccuracy` |
    ///
    /// The other metrics return themselves.
    #[must_use]
    pub fn resolve<L: LossFn>(self, loss: &L, outputs: usize) -> Metric {
        self.resolve_for(loss.targets(), outputs)
    }

    /// [`resolve`](Self::resolve) from the kind of targets.
    fn resolve_for(self, targets: Targets, outputs: usize) -> Metric {
        if self != Self::Accuracy {
            return self;
        }
        match targets {
            Targets::Probabilities => Self::BinaryAccuracy,
            Targets::ClassIds => Self::SparseCategoricalAccuracy,
            Targets::Distribution => Self::CategoricalAccuracy,
            Targets::Values if outputs == 1 => Self::BinaryAccuracy,
            Targets::Values => Self::CategoricalAccuracy,
        }
    }

    /// Checks that the metric can be computed on the targets of `loss` for a model of
    /// `outputs` outputs ([`resolve`](Metric::resolve)d first, so `Accuracy` always fits a
    /// model of two or more outputs, or one output with targets other than class ids). What
    /// decides is the loss's [`targets`](LossFn::targets), so this holds for your own losses
    /// as for the built-ins:
    ///
    /// | metric | needs |
    /// |---|---|
    /// | `BinaryAccuracy` | one target per output (not class ids) |
    /// | `CategoricalAccuracy` | one target per output (not class ids) and 2 or more outputs |
    /// | `SparseCategoricalAccuracy` | one class id per sample ([`Targets::ClassIds`]) and 2 or more outputs |
    ///
    /// Binary accuracy on one-hot rows is allowed (Keras computes it, element by element).
    ///
    /// ```
    /// use nn_core::{loss::Loss, metrics::Metric};
    /// assert!(Metric::Accuracy.check(&Loss::SparseCategoricalCrossentropy, 10).is_ok());
    /// let e = Metric::CategoricalAccuracy.check(&Loss::SparseCategoricalCrossentropy, 10);
    /// assert!(e.unwrap_err().to_string().contains("SparseCategoricalAccuracy"));
    /// ```
    ///
    /// # Errors
    /// [`Error::MetricMismatch`] naming the metric, the loss and the metric to use instead.
    pub fn check<L: LossFn>(self, loss: &L, outputs: usize) -> Result<()> {
        let targets = loss.targets();
        match self.mismatch(targets, outputs) {
            None => Ok(()),
            Some(reason) => Err(Error::MetricMismatch {
                metric: self.resolve_for(targets, outputs).name(),
                loss: loss.name(),
                outputs,
                reason,
            }),
        }
    }

    /// Why the metric cannot be computed on `targets` with `outputs` outputs, and what to
    /// use instead; `None` when it can.
    fn mismatch(self, targets: Targets, outputs: usize) -> Option<&'static str> {
        let sparse = targets == Targets::ClassIds;
        match self.resolve_for(targets, outputs) {
            Self::BinaryAccuracy if sparse => Some(
                "it compares each output with the target at the same position, but the targets \
                 are one class id per sample; use `Metric::SparseCategoricalAccuracy` \
                 (`Metric::Accuracy` picks the accuracy that fits the loss)",
            ),
            Self::CategoricalAccuracy if sparse => Some(
                "it compares the argmax of each output row with that of a one-hot target row, but \
                 the targets are one class id per sample; use `Metric::SparseCategoricalAccuracy` \
                 (`Metric::Accuracy` picks the accuracy that fits the loss)",
            ),
            Self::CategoricalAccuracy | Self::SparseCategoricalAccuracy if outputs < 2 => Some(
                "the argmax of a single output is always 0, so every sample would count as the \
                 same class; use `Metric::BinaryAccuracy` \
                 (`Metric::Accuracy` picks the accuracy that fits the loss)",
            ),
            Self::SparseCategoricalAccuracy if !sparse => Some(
                "it compares the argmax of each output row with one class id per sample, but the \
                 targets are one value per output (one-hot rows); use \
                 `Metric::CategoricalAccuracy` \
                 (`Metric::Accuracy` picks the accuracy that fits the loss)",
            ),
            Self::TopKAccuracy(0) => Some("k must be at least 1"),
            Self::TopKAccuracy(_) if outputs < 2 => {
                Some("a single output has no ranking of classes; use `Metric::BinaryAccuracy`")
            }
            Self::Precision
            | Self::Recall
            | Self::F1
            | Self::Auc
            | Self::Mae
            | Self::Mse
            | Self::Rmse
            | Self::R2
                if sparse =>
            {
                Some(
                    "it compares each output with the target at the same position, but the \
                     targets are one class id per sample; one-hot encode them (with \
                     categorical cross-entropy), or compute it on `predict`'s outputs",
                )
            }
            _ => None,
        }
    }

    /// Number of correct predictions in the batch of rows of `width` outputs.
    ///
    /// - [`BinaryAccuracy`](Metric::BinaryAccuracy) counts **elements** where
    ///   `(output > 0.5) == (target > 0.5)`: with one output that is one per sample; with
    ///   `width > 1` it is up to `width` per sample, so the rate is the fraction of matching
    ///   elements, as Keras' mean over outputs then samples.
    /// - [`CategoricalAccuracy`](Metric::CategoricalAccuracy) counts samples where the argmax
    ///   of the output row equals the argmax of the target row (ties: first maximum wins).
    /// - [`SparseCategoricalAccuracy`](Metric::SparseCategoricalAccuracy) counts samples where
    ///   the argmax of the output row equals the label (one `f32` per sample).
    /// - An unresolved [`Accuracy`](Metric::Accuracy) counts as `BinaryAccuracy` for one
    ///   output and `CategoricalAccuracy` otherwise (call [`resolve`](Metric::resolve)
    ///   first for sparse targets).
    ///
    /// Divide the summed counts by [`max_correct`](Metric::max_correct) for the rate.
    #[must_use]
    pub fn correct(self, outputs: &[f32], targets: &[f32], width: usize) -> usize {
        if width == 0 {
            return 0;
        }
        match self.resolve_for(Targets::Values, width) {
            Self::BinaryAccuracy => binary_matches(outputs, targets, 0.5),
            Self::SparseCategoricalAccuracy => sparse_matches(outputs, targets, width),
            Self::TopKAccuracy(k) => tally::top_k_matches(outputs, targets, width, k),
            Self::Precision
            | Self::Recall
            | Self::F1
            | Self::Auc
            | Self::Mae
            | Self::Mse
            | Self::Rmse
            | Self::R2 => 0,
            _ => {
                debug_assert_eq!(outputs.len(), targets.len(), "outputs and targets lengths");
                outputs
                    .chunks_exact(width)
                    .zip(targets.chunks_exact(width))
                    .filter(|(o, t)| argmax(o) == argmax(t))
                    .count()
            }
        }
    }

    /// The largest count [`correct`](Metric::correct) can return for `samples` samples of
    /// `width` outputs: `samples * width` for binary accuracy, else `samples`. The rate is
    /// `correct / max_correct`.
    #[must_use]
    pub fn max_correct(self, samples: usize, width: usize) -> usize {
        match self.resolve_for(Targets::Values, width) {
            Self::BinaryAccuracy => samples * width,
            _ => samples,
        }
    }
}

/// Keras' `binary_accuracy`: the fraction of elements where `(output > threshold) ==
/// (target > 0.5)`; 0 for empty input.
#[must_use]
pub fn binary_accuracy(outputs: &[f32], targets: &[f32], threshold: f32) -> f32 {
    rate(binary_matches(outputs, targets, threshold), outputs.len())
}

/// Sparse categorical accuracy: the fraction of rows of `width` outputs whose argmax equals
/// the row's label in `labels` (one `f32` per row); 0 for empty input.
#[must_use]
pub fn accuracy(outputs: &[f32], labels: &[f32], width: usize) -> f32 {
    if width == 0 {
        return 0.0;
    }
    rate(
        sparse_matches(outputs, labels, width),
        outputs.len() / width,
    )
}

fn rate(count: usize, total: usize) -> f32 {
    if total == 0 {
        0.0
    } else {
        (count as f64 / total as f64) as f32
    }
}

fn binary_matches(outputs: &[f32], targets: &[f32], threshold: f32) -> usize {
    debug_assert_eq!(outputs.len(), targets.len(), "outputs and targets lengths");
    outputs
        .iter()
        .zip(targets)
        .filter(|&(&o, &t)| (o > threshold) == (t > 0.5))
        .count()
}

pub(crate) fn sparse_matches(outputs: &[f32], labels: &[f32], width: usize) -> usize {
    debug_assert_eq!(outputs.len(), labels.len() * width, "one label per row");
    // Compared as floats, as Keras does: a fractional or out-of-range label never matches.
    outputs
        .chunks_exact(width)
        .zip(labels)
        .filter(|&(o, &label)| argmax(o) as f32 == label)
        .count()
}

/// Index of the largest value; the first one on ties (and index 0 for an all-NaN row).
pub(crate) fn argmax(row: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate().skip(1) {
        if v > row[best] {
            best = i;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::activations::ActivationFn;
    use crate::loss::Loss;
    use alloc::string::ToString;

    #[test]
    fn names() {
        assert_eq!(Metric::Accuracy.name(), "accuracy");
        assert_eq!(Metric::BinaryAccuracy.name(), "binary_accuracy");
        assert_eq!(Metric::CategoricalAccuracy.name(), "categorical_accuracy");
        assert_eq!(
            Metric::SparseCategoricalAccuracy.name(),
            "sparse_categorical_accuracy"
        );
    }

    #[test]
    fn accuracy_resolves_from_the_loss() {
        let a = Metric::Accuracy;
        assert_eq!(
            a.resolve(&Loss::BinaryCrossentropy, 1),
            Metric::BinaryAccuracy
        );
        assert_eq!(
            a.resolve(&Loss::SparseCategoricalCrossentropy, 10),
            Metric::SparseCategoricalAccuracy
        );
        assert_eq!(
            a.resolve(&Loss::CategoricalCrossentropy, 10),
            Metric::CategoricalAccuracy
        );
        assert_eq!(
            a.resolve(&Loss::MeanSquaredError, 1),
            Metric::BinaryAccuracy
        );
        assert_eq!(
            a.resolve(&Loss::MeanSquaredError, 4),
            Metric::CategoricalAccuracy
        );
        for m in [
            Metric::BinaryAccuracy,
            Metric::CategoricalAccuracy,
            Metric::SparseCategoricalAccuracy,
        ] {
            assert_eq!(m.resolve(&Loss::SparseCategoricalCrossentropy, 1), m);
        }
    }

    #[test]
    fn a_metric_fits_a_loss_when_it_can_read_its_targets() {
        use Loss::{
            BinaryCrossentropy as Bce, CategoricalCrossentropy as Cce, MeanSquaredError as Mse,
            SparseCategoricalCrossentropy as Sparse,
        };
        use Metric::{
            Accuracy as A, BinaryAccuracy as B, CategoricalAccuracy as C,
            SparseCategoricalAccuracy as S,
        };
        // (metric, loss, outputs, fits)
        let table = [
            (A, Bce, 1, true),
            (A, Sparse, 10, true),
            (A, Cce, 10, true),
            (A, Mse, 1, true),
            (A, Mse, 3, true),
            (B, Cce, 10, true),
            (B, Bce, 4, true),
            (B, Sparse, 10, false),
            (C, Cce, 10, true),
            (C, Mse, 3, true),
            (C, Sparse, 10, false),
            (C, Bce, 1, false),
            (S, Sparse, 10, true),
            (S, Cce, 10, false),
            (S, Mse, 1, false),
            (S, Bce, 1, false),
            (A, Sparse, 1, false),
        ];
        for (metric, loss, outputs, fits) in table {
            let r = metric.check(&loss, outputs);
            assert_eq!(r.is_ok(), fits, "{metric:?} {loss:?} {outputs}: {r:?}");
            if let Err(e) = r {
                assert!(
                    matches!(e, Error::MetricMismatch { metric: m, .. }
                        if m == metric.resolve(&loss, outputs).name()),
                    "{e:?}"
                );
            }
        }
    }

    /// A loss of the test's own with targets of kind `.0`: only `targets` matters here.
    struct Custom(Targets);

    impl LossFn for Custom {
        fn name(&self) -> &'static str {
            "custom"
        }
        fn targets(&self) -> Targets {
            self.0
        }
        fn forward_backward<A: ActivationFn>(
            &self,
            _: &A,
            _: &[f32],
            _: &[f32],
            _: &[f32],
            _: usize,
            _: &mut [f32],
        ) -> f32 {
            0.0
        }
    }

    #[test]
    fn a_user_loss_fits_the_metrics_its_targets_allow() {
        // Each kind of targets resolves and checks as the built-in loss with those targets.
        for (loss, outputs) in [
            (Loss::MeanSquaredError, 1),
            (Loss::MeanSquaredError, 3),
            (Loss::BinaryCrossentropy, 2),
            (Loss::CategoricalCrossentropy, 4),
            (Loss::SparseCategoricalCrossentropy, 4),
            (Loss::SparseCategoricalCrossentropy, 1),
        ] {
            let custom = Custom(loss.targets());
            for metric in [
                Metric::Accuracy,
                Metric::BinaryAccuracy,
                Metric::CategoricalAccuracy,
                Metric::SparseCategoricalAccuracy,
            ] {
                assert_eq!(
                    metric.resolve(&custom, outputs),
                    metric.resolve(&loss, outputs)
                );
                assert_eq!(
                    metric.check(&custom, outputs).is_ok(),
                    metric.check(&loss, outputs).is_ok(),
                    "{metric:?} {loss:?} {outputs}"
                );
            }
        }
        // The error names the user's loss.
        let e = Metric::CategoricalAccuracy
            .check(&Custom(Targets::ClassIds), 5)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`custom`") && e.contains("SparseCategoricalAccuracy"),
            "{e}"
        );
    }

    #[test]
    fn binary_counts_samples_for_one_output_and_elements_otherwise() {
        let outputs = [0.9, 0.2, 0.5, 0.51];
        let targets = [1.0, 1.0, 0.0, 1.0];
        // 0.5 is not above the threshold, so it predicts 0.
        assert_eq!(Metric::BinaryAccuracy.correct(&outputs, &targets, 1), 3);
        assert_eq!(Metric::BinaryAccuracy.max_correct(4, 1), 4);
        assert_eq!(Metric::BinaryAccuracy.correct(&outputs, &targets, 2), 3);
        assert_eq!(Metric::BinaryAccuracy.max_correct(2, 2), 4);
        assert!((binary_accuracy(&outputs, &targets, 0.5) - 0.75).abs() < 1e-7);
        assert!((binary_accuracy(&outputs, &targets, 0.1) - 0.75).abs() < 1e-7);
        assert_eq!(binary_accuracy(&[], &[], 0.5), 0.0);
    }

    #[test]
    fn categorical_compares_argmaxes_with_first_maximum_winning_ties() {
        let outputs = [0.1, 0.7, 0.2, 0.4, 0.4, 0.2, 0.3, 0.3, 0.4];
        let targets = [0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0];
        // Row 1 ties at 0 and 1: index 0 wins, so it is wrong.
        assert_eq!(
            Metric::CategoricalAccuracy.correct(&outputs, &targets, 3),
            1
        );
        assert_eq!(Metric::CategoricalAccuracy.max_correct(3, 3), 3);
        assert_eq!(Metric::Accuracy.correct(&outputs, &targets, 3), 1);
    }

    #[test]
    fn sparse_compares_argmax_with_the_label() {
        let outputs = [0.1, 0.7, 0.2, 0.4, 0.4, 0.2, 0.3, 0.3, 0.4];
        assert_eq!(
            Metric::SparseCategoricalAccuracy.correct(&outputs, &[1.0, 0.0, 1.0], 3),
            2
        );
        assert_eq!(Metric::SparseCategoricalAccuracy.max_correct(3, 3), 3);
        assert!((accuracy(&outputs, &[1.0, 0.0, 2.0], 3) - 1.0).abs() < 1e-7);
        // Fractional and out-of-range labels never match.
        assert_eq!(accuracy(&outputs, &[1.5, 7.0, -1.0], 3), 0.0);
        assert_eq!(accuracy(&[], &[], 3), 0.0);
    }
}
