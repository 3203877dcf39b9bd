//! [`ConfusionMatrix`]: counts of true against predicted classes, and the per-class report
//! scikit-learn's `classification_report` prints.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use crate::error::{Error, Result};

/// `counts[true][predicted]`: how many samples of each true class were predicted as each
/// class (scikit-learn's `confusion_matrix`: rows are true classes, columns predictions).
///
/// ```
/// use nn_core::metrics::ConfusionMatrix;
/// let m = ConfusionMatrix::new(&[0, 0, 1, 2, 2, 2], &[0, 1, 1, 2, 2, 0], 3)?;
/// assert_eq!(m.count(2, 0), 1);
/// assert_eq!(m.precision(0), 0.5);
/// assert!((m.recall(2) - 2.0 / 3.0).abs() < 1e-12);
/// assert!((m.accuracy() - 4.0 / 6.0).abs() < 1e-12);
/// # Ok::<(), nn_core::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfusionMatrix {
    classes: usize,
    counts: Vec<usize>,
}

#[allow(clippy::cast_precision_loss)]
fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

impl ConfusionMatrix {
    /// Counts the pairs of `truth` and `predicted` class ids, each below `classes`.
    ///
    /// # Errors
    /// [`Error::SampleCountMismatch`] for slices of different lengths,
    /// [`Error::InvalidArgument`] for a class id not below `classes`.
    pub fn new(truth: &[usize], predicted: &[usize], classes: usize) -> Result<Self> {
        if truth.len() != predicted.len() {
            return Err(Error::SampleCountMismatch {
                x: predicted.len(),
                y: truth.len(),
            });
        }
        let mut counts = alloc::vec![0; classes * classes];
        for (&t, &p) in truth.iter().zip(predicted) {
            if t >= classes || p >= classes {
                return Err(Error::InvalidArgument {
                    name: "ConfusionMatrix",
                    reason: "a class id is not below the number of classes",
                });
            }
            counts[t * classes + p] += 1;
        }
        Ok(Self { classes, counts })
    }
    /// Number of classes.
    #[must_use]
    pub fn classes(&self) -> usize {
        self.classes
    }
    /// Samples of true class `truth` predicted as `predicted`.
    #[must_use]
    pub fn count(&self, truth: usize, predicted: usize) -> usize {
        self.counts[truth * self.classes + predicted]
    }
    /// The counts, row by row (true classes), `classes * classes` of them.
    #[must_use]
    pub fn counts(&self) -> &[usize] {
        &self.counts
    }
    /// Samples of true class `c`.
    #[must_use]
    pub fn support(&self, c: usize) -> usize {
        (0..self.classes).map(|p| self.count(c, p)).sum()
    }
    /// Samples predicted as `c`.
    fn predicted(&self, c: usize) -> usize {
        (0..self.classes).map(|t| self.count(t, c)).sum()
    }
    /// All samples.
    #[must_use]
    pub fn total(&self) -> usize {
        self.counts.iter().sum()
    }
    /// Fraction of samples on the diagonal.
    #[must_use]
    pub fn accuracy(&self) -> f64 {
        ratio(
            (0..self.classes).map(|c| self.count(c, c)).sum(),
            self.total(),
        )
    }
    /// Of the samples predicted as `c`, the fraction that are `c` (0 if none is).
    #[must_use]
    pub fn precision(&self, c: usize) -> f64 {
        ratio(self.count(c, c), self.predicted(c))
    }
    /// Of the samples of class `c`, the fraction predicted as `c` (0 if there are none).
    #[must_use]
    pub fn recall(&self, c: usize) -> f64 {
        ratio(self.count(c, c), self.support(c))
    }
    /// Harmonic mean of precision and recall of class `c` (0 when both are 0).
    #[must_use]
    pub fn f1(&self, c: usize) -> f64 {
        ratio(2 * self.count(c, c), self.support(c) + self.predicted(c))
    }
    /// Unweighted mean of the per-class F1 scores (scikit-learn's `average="macro"`).
    #[must_use]
    pub fn macro_f1(&self) -> f64 {
        (0..self.classes).map(|c| self.f1(c)).sum::<f64>() / self.classes.max(1) as f64
    }

    /// The per-class report, as scikit-learn's `classification_report`: precision, recall,
    /// F1 and support of each class (named by `names`, else by id), then accuracy and the
    /// macro and weighted averages.
    #[must_use]
    #[allow(clippy::cast_precision_loss)]
    pub fn report(&self, names: &[String]) -> String {
        let name = |c: usize| {
            names
                .get(c)
                .cloned()
                .unwrap_or_else(|| alloc::format!("{c}"))
        };
        let width = (0..self.classes)
            .map(|c| name(c).len())
            .chain([12])
            .max()
            .unwrap_or(12);
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:>width$} {:>9} {:>9} {:>9} {:>9}",
            "", "precision", "recall", "f1-score", "support"
        );
        for c in 0..self.classes {
            let _ = writeln!(
                out,
                "{:>width$} {:>9.4} {:>9.4} {:>9.4} {:>9}",
                name(c),
                self.precision(c),
                self.recall(c),
                self.f1(c),
                self.support(c)
            );
        }
        let total = self.total();
        let k = self.classes.max(1) as f64;
        let mean = |f: &dyn Fn(usize) -> f64| (0..self.classes).map(f).sum::<f64>() / k;
        let weighted = |f: &dyn Fn(usize) -> f64| {
            (0..self.classes)
                .map(|c| f(c) * self.support(c) as f64)
                .sum::<f64>()
                / total.max(1) as f64
        };
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{:>width$} {:>9} {:>9} {:>9.4} {:>9}",
            "accuracy",
            "",
            "",
            self.accuracy(),
            total
        );
        let _ = writeln!(
            out,
            "{:>width$} {:>9.4} {:>9.4} {:>9.4} {:>9}",
            "macro avg",
            mean(&|c| self.precision(c)),
            mean(&|c| self.recall(c)),
            mean(&|c| self.f1(c)),
            total
        );
        let _ = writeln!(
            out,
            "{:>width$} {:>9.4} {:>9.4} {:>9.4} {:>9}",
            "weighted avg",
            weighted(&|c| self.precision(c)),
            weighted(&|c| self.recall(c)),
            weighted(&|c| self.f1(c)),
            total
        );
        out
    }
}
