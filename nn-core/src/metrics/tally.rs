//! [`Tally`]: what a metric accumulates over the batches of an epoch or an evaluation, with
//! optional per-sample weights (Keras' weighted metrics), and the metric's value from it.

use alloc::vec::Vec;

use super::{argmax, Metric};

/// Bins of [`Metric::Auc`] over `[0, 1]`.
const AUC_BINS: usize = 1000;

/// Running sums of one metric over batches ([`Metric::update`]), read with
/// [`Metric::result`]. Sums are `f64`; a tally is reset without freeing its buffer, so after
/// the first batch an epoch accumulates without allocating.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tally {
    sums: [f64; 3],
    values: Vec<f64>,
}

impl Tally {
    /// Back to zero, keeping the buffer.
    pub fn reset(&mut self) {
        self.sums = [0.0; 3];
        self.values.iter_mut().for_each(|v| *v = 0.0);
    }
    /// Adds `other`'s sums (of the same metric) to this one's.
    pub fn merge(&mut self, other: &Self) {
        for (a, b) in self.sums.iter_mut().zip(&other.sums) {
            *a += b;
        }
        if self.values.len() < other.values.len() {
            self.values.resize(other.values.len(), 0.0);
        }
        for (a, b) in self.values.iter_mut().zip(&other.values) {
            *a += b;
        }
    }
    fn values(&mut self, len: usize) -> &mut [f64] {
        if self.values.len() != len {
            self.values.clear();
            self.values.resize(len, 0.0);
        }
        &mut self.values
    }
}

#[allow(clippy::cast_precision_loss)]
fn as_f64(n: usize) -> f64 {
    n as f64
}

/// Samples of `outputs` (rows of `width`) whose target class is among the `k` largest
/// outputs; `targets` holds a class id per row, or a row per row (its argmax is the class).
pub(super) fn top_k_matches(outputs: &[f32], targets: &[f32], width: usize, k: usize) -> usize {
    let rows = outputs.len() / width.max(1);
    (0..rows)
        .filter(|&i| {
            in_top_k(
                &outputs[i * width..(i + 1) * width],
                class_of(targets, i, rows, width),
                k,
            )
        })
        .count()
}

/// The class of sample `i`: its id, or the argmax of its target row.
fn class_of(targets: &[f32], i: usize, rows: usize, width: usize) -> Option<usize> {
    if targets.len() == rows {
        let t = targets[i];
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let id = t as usize;
        #[allow(clippy::cast_precision_loss)]
        (t >= 0.0 && id as f32 == t && id < width).then_some(id)
    } else {
        Some(argmax(&targets[i * width..(i + 1) * width]))
    }
}

/// Whether fewer than `k` outputs of `row` are larger than that of `class`.
fn in_top_k(row: &[f32], class: Option<usize>, k: usize) -> bool {
    class.is_some_and(|c| row.iter().filter(|&&v| v > row[c]).count() < k)
}

impl Metric {
    /// Adds one batch to `tally`: `outputs` rows of `width` (after the output activation),
    /// `targets` as the loss reads them, and optionally one weight per sample (Keras'
    /// `sample_weight`: each sample counts `weight` times; `None` is weight 1).
    pub fn update(
        self,
        tally: &mut Tally,
        outputs: &[f32],
        targets: &[f32],
        width: usize,
        weights: Option<&[f32]>,
    ) {
        if width == 0 {
            return;
        }
        let rows = outputs.len() / width;
        let w = |i: usize| weights.map_or(1.0, |w| f64::from(w[i]));
        let per_row = if targets.len() == rows { 1 } else { width };
        let target_row = |i: usize| &targets[i * per_row..(i + 1) * per_row];
        let out_row = |i: usize| &outputs[i * width..(i + 1) * width];
        match self.resolve_for(crate::loss::Targets::Values, width) {
            Self::Precision | Self::Recall | Self::F1 => {
                for i in 0..rows {
                    for (&o, &t) in out_row(i).iter().zip(target_row(i)) {
                        let slot = match (o > 0.5, t > 0.5) {
                            (true, true) => 0,
                            (true, false) => 1,
                            (false, true) => 2,
                            (false, false) => continue,
                        };
                        tally.sums[slot] += w(i);
                    }
                }
            }
            Self::Auc => {
                let bins = tally.values(2 * AUC_BINS);
                for i in 0..rows {
                    for (&o, &t) in out_row(i).iter().zip(target_row(i)) {
                        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                        let bin =
                            ((o.clamp(0.0, 1.0) * AUC_BINS as f32) as usize).min(AUC_BINS - 1);
                        bins[2 * bin + usize::from(t > 0.5)] += w(i);
                    }
                }
            }
            Self::Mae | Self::Mse | Self::Rmse => {
                let square = self != Self::Mae;
                for i in 0..rows {
                    let e: f64 = out_row(i)
                        .iter()
                        .zip(target_row(i))
                        .map(|(&o, &t)| {
                            let d = f64::from(o) - f64::from(t);
                            if square {
                                d * d
                            } else {
                                d.abs()
                            }
                        })
                        .sum();
                    tally.sums[0] += w(i) * e;
                    tally.sums[1] += w(i) * as_f64(width);
                }
            }
            Self::R2 => {
                // Per output: sum of weights, of w y, of w y^2, of w (y - p)^2.
                let cols = tally.values(4 * width);
                for i in 0..rows {
                    let wi = w(i);
                    for (j, (&o, &t)) in out_row(i).iter().zip(target_row(i)).enumerate() {
                        let (o, t) = (f64::from(o), f64::from(t));
                        cols[4 * j] += wi;
                        cols[4 * j + 1] += wi * t;
                        cols[4 * j + 2] += wi * t * t;
                        cols[4 * j + 3] += wi * (t - o) * (t - o);
                    }
                }
            }
            resolved => {
                // Accuracies: weighted counts of correct predictions.
                for i in 0..rows {
                    let correct = match resolved {
                        Self::TopKAccuracy(k) => {
                            usize::from(in_top_k(out_row(i), class_of(targets, i, rows, width), k))
                        }
                        m => m.correct(out_row(i), target_row(i), width),
                    };
                    tally.sums[0] += w(i) * as_f64(correct);
                    tally.sums[1] += w(i) * as_f64(resolved.max_correct(1, width));
                }
            }
        }
    }

    /// The metric's value from a tally (0 for a tally that saw nothing).
    #[must_use]
    #[allow(clippy::cast_possible_truncation)]
    pub fn result(self, tally: &Tally) -> f32 {
        let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
        let [a, b, c] = tally.sums;
        let value = match self {
            Self::Precision => ratio(a, a + b),
            Self::Recall => ratio(a, a + c),
            Self::F1 => ratio(2.0 * a, 2.0 * a + b + c),
            Self::Auc => auc(&tally.values),
            Self::Mae | Self::Mse => ratio(a, b),
            Self::Rmse => libm::sqrt(ratio(a, b)),
            Self::R2 => r2(&tally.values),
            _ => ratio(a, b),
        };
        value as f32
    }

    /// The metric on one set of outputs and targets (a fresh [`Tally`], one
    /// [`update`](Self::update)).
    ///
    /// ```
    /// use nn_core::metrics::Metric;
    /// let r2 = Metric::R2.compute(&[2.5, 0.0, 2.0, 8.0], &[3.0, -0.5, 2.0, 7.0], 1, None);
    /// assert!((r2 - 0.948_608_1).abs() < 1e-6); // scikit-learn's r2_score example
    /// ```
    #[must_use]
    pub fn compute(
        self,
        outputs: &[f32],
        targets: &[f32],
        width: usize,
        weights: Option<&[f32]>,
    ) -> f32 {
        let mut tally = Tally::default();
        self.update(&mut tally, outputs, targets, width, weights);
        self.result(&tally)
    }
}

/// Trapezoidal area under the ROC curve from (negatives, positives) counts per bin, the
/// threshold going down from the highest bin.
fn auc(bins: &[f64]) -> f64 {
    let (negatives, positives) = bins
        .chunks_exact(2)
        .fold((0.0, 0.0), |(n, p), b| (n + b[0], p + b[1]));
    if negatives <= 0.0 || positives <= 0.0 {
        return 0.0;
    }
    let (mut tp, mut fp, mut area) = (0.0, 0.0, 0.0);
    for b in bins.chunks_exact(2).rev() {
        let (new_tp, new_fp) = (tp + b[1], fp + b[0]);
        area += (new_fp - fp) * (tp + new_tp) / 2.0;
        tp = new_tp;
        fp = new_fp;
    }
    area / (negatives * positives)
}

/// Mean over the outputs of `1 - SS_res / SS_tot` (scikit-learn's `force_finite`: an output
/// with constant targets scores 1 if predicted exactly, else 0).
fn r2(cols: &[f64]) -> f64 {
    let outputs = cols.len() / 4;
    if outputs == 0 {
        return 0.0;
    }
    let mut total = 0.0;
    for c in cols.chunks_exact(4) {
        let (w, sy, syy, res) = (c[0], c[1], c[2], c[3]);
        let tot = if w > 0.0 { syy - sy * sy / w } else { 0.0 };
        total += if tot > 1e-12 * syy.max(f64::MIN_POSITIVE) {
            1.0 - res / tot
        } else if res == 0.0 {
            1.0
        } else {
            0.0
        };
    }
    total / as_f64(outputs)
}
