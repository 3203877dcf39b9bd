//! Class labels: one-hot rows from class ids ([`one_hot`]) and back ([`argmax_rows`]).

use alloc::vec;
use alloc::vec::Vec;

use crate::error::{Error, Result};

/// One-hot encodes class labels: row `i` of the result has `classes` values, all 0 except
/// a 1 at column `labels[i]`.
///
/// ```
/// use nn_core::data::one_hot;
/// assert_eq!(one_hot(&[2.0, 0.0], 3)?, [0.0, 0.0, 1.0, 1.0, 0.0, 0.0]);
/// assert!(one_hot(&[1.5], 3).is_err());
/// # Ok::<(), nn_core::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidLabel`] for a label that is negative, fractional, not finite or not below
/// `classes`; [`Error::InvalidArgument`] when `classes` is 0 or the result's size overflows.
pub fn one_hot(labels: &[f32], classes: usize) -> Result<Vec<f32>> {
    if classes == 0 {
        return Err(Error::InvalidArgument {
            name: "classes",
            reason: "must be at least 1",
        });
    }
    let Some(len) = labels.len().checked_mul(classes) else {
        return Err(Error::InvalidArgument {
            name: "classes",
            reason: "labels.len() * classes overflows",
        });
    };
    let mut out = vec![0.0f32; len];
    for (index, (&label, row)) in labels.iter().zip(out.chunks_exact_mut(classes)).enumerate() {
        let c = class_index(label, classes).ok_or(Error::InvalidLabel {
            index,
            label,
            classes,
        })?;
        row[c] = 1.0;
    }
    Ok(out)
}

/// `label` as a class index in `0..classes`, or `None` when it is not one.
fn class_index(label: f32, classes: usize) -> Option<usize> {
    #[allow(clippy::cast_precision_loss)]
    let ok =
        label.is_finite() && label >= 0.0 && libm::truncf(label) == label && label < classes as f32;
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let c = label as usize;
    (ok && c < classes).then_some(c)
}

/// Index of the largest value of each row of `width` values (the predicted class of each
/// row of scores). Ties go to the first index; NaNs are never chosen unless the whole row
/// is NaN (then 0).
///
/// ```
/// use nn_core::data::argmax_rows;
/// assert_eq!(argmax_rows(&[0.1, 0.7, 0.2, 0.9, 0.05, 0.05], 3)?, [1, 0]);
/// # Ok::<(), nn_core::Error>(())
/// ```
///
/// # Errors
/// [`Error::FeatureCount`] when `values.len()` is not a multiple of `width` or `width` is
/// 0. An empty `values` gives an empty result.
pub fn argmax_rows(values: &[f32], width: usize) -> Result<Vec<usize>> {
    if width == 0 || !values.len().is_multiple_of(width) {
        return Err(Error::FeatureCount {
            what: "values",
            expected: width,
            len: values.len(),
        });
    }
    Ok(values
        .chunks_exact(width)
        .map(|row| {
            let mut best = 0;
            for (i, &v) in row.iter().enumerate() {
                if v > row[best] || (row[best].is_nan() && !v.is_nan()) {
                    best = i;
                }
            }
            best
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_hot_and_its_errors() {
        assert_eq!(one_hot(&[1.0, 0.0], 2).unwrap(), [0.0, 1.0, 1.0, 0.0]);
        assert!(one_hot(&[], 3).unwrap().is_empty());
        for bad in [-1.0, 0.5, 3.0, f32::NAN, f32::INFINITY, 1e30] {
            match one_hot(&[0.0, bad], 3) {
                Err(Error::InvalidLabel {
                    index: 1,
                    classes: 3,
                    ..
                }) => {}
                other => panic!("{bad}: {other:?}"),
            }
        }
        assert!(matches!(
            one_hot(&[0.0], 0),
            Err(Error::InvalidArgument { .. })
        ));
        assert!(matches!(
            one_hot(&[0.0, 0.0], usize::MAX),
            Err(Error::InvalidArgument { .. })
        ));
    }

    #[test]
    fn argmax_rows_ties_nans_and_errors() {
        assert_eq!(argmax_rows(&[1.0, 1.0, 0.0], 3).unwrap(), [0]);
        assert_eq!(argmax_rows(&[f32::NAN, 2.0, 3.0], 3).unwrap(), [2]);
        assert_eq!(argmax_rows(&[f32::NAN, f32::NAN], 2).unwrap(), [0]);
        assert!(argmax_rows(&[], 2).unwrap().is_empty());
        assert!(argmax_rows(&[1.0, 2.0, 3.0], 2).is_err());
        assert!(argmax_rows(&[1.0], 0).is_err());
    }
}
