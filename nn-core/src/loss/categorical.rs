//! Categorical cross-entropy against one-hot (or soft) rows or class indices, from logits
//! (fused with a softmax) or from clipped probabilities.

use super::reduce::{mean_rowwise, Rowwise};
use super::{clip, is_clipped};
use crate::math;

/// Keras' categorical cross-entropy on probabilities: per row `-sum_i t_i ln p_i` with `p`
/// clipped to `[EPSILON, 1 - EPSILON]`, mean over rows of `width`; writes
/// `d_probs = -t / p / batch` (zero where clipped). Rows are not renormalized.
pub fn categorical_crossentropy(
    probs: &[f32],
    targets: &[f32],
    width: usize,
    d_probs: &mut [f32],
) -> f32 {
    mean_rowwise(probs, targets, width, width, Some(d_probs), Rowwise::CE)
}

/// Like [`categorical_crossentropy`] with one class index (as `f32`) per row in `labels`
/// instead of a one-hot row.
pub fn sparse_categorical_crossentropy(
    probs: &[f32],
    labels: &[f32],
    width: usize,
    d_probs: &mut [f32],
) -> f32 {
    mean_rowwise(probs, labels, width, 1, Some(d_probs), Rowwise::SPARSE_CE)
}

/// Softmax cross-entropy from logits against one-hot (or soft) targets: per row
/// `sum_i t_i (logsumexp(z) - z_i)`, mean over rows of `width`; writes
/// `d_logits = (softmax(z) sum(t) - t) / batch`.
pub fn softmax_cross_entropy(
    logits: &[f32],
    onehot: &[f32],
    width: usize,
    d_logits: &mut [f32],
) -> f32 {
    mean_rowwise(
        logits,
        onehot,
        width,
        width,
        Some(d_logits),
        Rowwise::SOFTMAX_CE,
    )
}

/// Softmax cross-entropy from logits against one class index (as `f32`) per row: per row
/// `logsumexp(z) - z_label`, mean over rows of `width`; writes
/// `d_logits = (softmax(z) - onehot(label)) / batch`.
pub fn sparse_softmax_cross_entropy(
    logits: &[f32],
    labels: &[f32],
    width: usize,
    d_logits: &mut [f32],
) -> f32 {
    mean_rowwise(
        logits,
        labels,
        width,
        1,
        Some(d_logits),
        Rowwise::SPARSE_SOFTMAX_CE,
    )
}

impl Rowwise {
    pub(super) const CE: Self = Self {
        loss: ce,
        grad: ce_grad,
    };
    pub(super) const SPARSE_CE: Self = Self {
        loss: sparse_ce,
        grad: sparse_ce_grad,
    };
    pub(super) const SOFTMAX_CE: Self = Self {
        loss: softmax_ce,
        grad: softmax_ce_grad,
    };
    pub(super) const SPARSE_SOFTMAX_CE: Self = Self {
        loss: sparse_softmax_ce,
        grad: sparse_softmax_ce_grad,
    };
}

/// `-ln p` with `p` clipped as Keras does.
fn clipped_nll(p: f32) -> f32 {
    -math::ln(clip(p))
}
fn clipped_nll_grad(p: f32) -> f32 {
    if is_clipped(p) {
        0.0
    } else {
        -1.0 / p
    }
}
fn ce(p: &[f32], t: &[f32]) -> f32 {
    p.iter().zip(t).map(|(&p, &t)| t * clipped_nll(p)).sum()
}
fn ce_grad(p: &[f32], t: &[f32], d: &mut [f32]) {
    for ((d, &p), &t) in d.iter_mut().zip(p).zip(t) {
        *d = t * clipped_nll_grad(p);
    }
}

fn sparse_ce(p: &[f32], label: &[f32]) -> f32 {
    clipped_nll(p[class_index(label, p.len())])
}
fn sparse_ce_grad(p: &[f32], label: &[f32], d: &mut [f32]) {
    let c = class_index(label, p.len());
    d.fill(0.0);
    d[c] = clipped_nll_grad(p[c]);
}

/// `sum_i t_i (logsumexp(z) - z_i)`: each term is non-negative, so nothing cancels.
fn softmax_ce(z: &[f32], t: &[f32]) -> f32 {
    let lse = logsumexp(z);
    z.iter().zip(t).map(|(&z, &t)| t * (lse - z)).sum()
}
fn softmax_ce_grad(z: &[f32], t: &[f32], d: &mut [f32]) {
    let lse = logsumexp(z);
    let total: f32 = t.iter().sum();
    for ((d, &z), &t) in d.iter_mut().zip(z).zip(t) {
        *d = math::exp(z - lse) * total - t;
    }
}

fn sparse_softmax_ce(z: &[f32], label: &[f32]) -> f32 {
    logsumexp(z) - z[class_index(label, z.len())]
}
fn sparse_softmax_ce_grad(z: &[f32], label: &[f32], d: &mut [f32]) {
    let lse = logsumexp(z);
    for (d, &z) in d.iter_mut().zip(z) {
        *d = math::exp(z - lse);
    }
    d[class_index(label, z.len())] -= 1.0;
}

/// `ln sum_i e^(z_i)`, with the maximum subtracted first so no term overflows.
fn logsumexp(z: &[f32]) -> f32 {
    let max = z.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    let sum: f32 = z.iter().map(|&v| math::exp(v - max)).sum();
    max + math::ln(sum)
}

/// The class index stored in `label[0]`, clamped into `0..classes` (labels are validated
/// by the caller; this only guarantees no out-of-bounds access).
fn class_index(label: &[f32], classes: usize) -> usize {
    let label = label[0];
    debug_assert!(
        label >= 0.0 && label < classes as f32 && label == (label as usize) as f32,
        "label {label} is not a class index in 0..{classes}"
    );
    // `as` saturates: negative and NaN labels become 0.
    (label as usize).min(classes.saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_labels_are_clamped_in_release_builds() {
        assert_eq!(class_index(&[2.0], 3), 2);
        if !cfg!(debug_assertions) {
            assert_eq!(class_index(&[7.0], 3), 2);
            assert_eq!(class_index(&[-1.0], 3), 0);
            assert_eq!(class_index(&[f32::NAN], 3), 0);
        }
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "not a class index")]
    fn out_of_range_labels_fail_a_debug_assertion() {
        let _ = class_index(&[3.0], 3);
    }
}
