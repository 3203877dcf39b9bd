//! Train/test splits: [`train_test_split`], after scikit-learn's.

use alloc::vec::Vec;

use crate::error::{rows, Error, Result};
use crate::rng::Rng;

/// The four parts of a [`train_test_split`], each flat row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Split {
    /// Training inputs.
    pub x_train: Vec<f32>,
    /// Test inputs.
    pub x_test: Vec<f32>,
    /// Training targets.
    pub y_train: Vec<f32>,
    /// Test targets.
    pub y_test: Vec<f32>,
}

/// Splits samples at random into a training and a test set, as scikit-learn's
/// `train_test_split` with `shuffle=True`.
///
/// `x` holds rows of `features` values, `y` rows of `targets` values, one row per sample in
/// both. The test set gets `ceil(test_size * n)` samples, the training set the rest; which
/// samples go where is fixed by `seed`.
///
/// ```
/// use nn_core::data::train_test_split;
/// let x: Vec<f32> = (0..20).map(|v| v as f32).collect(); // 10 samples of 2 features
/// let y: Vec<f32> = (0..10).map(|v| v as f32).collect();
/// let s = train_test_split(&x, &y, 2, 1, 0.25, 0)?;
/// assert_eq!((s.y_train.len(), s.y_test.len()), (7, 3)); // ceil(2.5) = 3
/// // Rows stay together.
/// for (row, &t) in s.x_test.chunks(2).zip(&s.y_test) {
///     assert_eq!(row, [2.0 * t, 2.0 * t + 1.0]);
/// }
/// # Ok::<(), nn_core::Error>(())
/// ```
///
/// # Errors
/// [`Error::EmptyData`] or [`Error::FeatureCount`] when `x` or `y` is empty or not whole
/// rows, [`Error::SampleCountMismatch`] when they hold different numbers of samples,
/// [`Error::InvalidArgument`] when `test_size` is not in `(0, 1)` or leaves the training set
/// empty.
pub fn train_test_split(
    x: &[f32],
    y: &[f32],
    features: usize,
    targets: usize,
    test_size: f32,
    seed: u64,
) -> Result<Split> {
    let n = rows("x", x, features)?;
    let ny = rows("y", y, targets)?;
    if n != ny {
        return Err(Error::SampleCountMismatch { x: n, y: ny });
    }
    if !(test_size > 0.0 && test_size < 1.0) {
        return Err(Error::InvalidArgument {
            name: "test_size",
            reason: "must be a fraction in (0, 1)",
        });
    }
    let n_test = test_count(test_size, n);
    if n_test >= n {
        return Err(Error::InvalidArgument {
            name: "test_size",
            reason:
                "leaves no sample for the training set (too few samples or too large a fraction)",
        });
    }
    let mut order: Vec<usize> = (0..n).collect();
    Rng::new(seed).shuffle(&mut order);
    let (test, train) = order.split_at(n_test);
    let gather = |idx: &[usize], data: &[f32], width: usize| -> Vec<f32> {
        let mut out = Vec::with_capacity(idx.len() * width);
        for &i in idx {
            out.extend_from_slice(&data[i * width..(i + 1) * width]);
        }
        out
    };
    Ok(Split {
        x_train: gather(train, x, features),
        x_test: gather(test, x, features),
        y_train: gather(train, y, targets),
        y_test: gather(test, y, targets),
    })
}

/// `ceil(test_size * n)`, at least 1, where `test_size` means the decimal fraction the user
/// wrote: `0.2_f32` is slightly above 0.2, so the product is shrunk by one `f32` rounding
/// error before rounding up (otherwise `0.2 * 100` would give 21).
pub(super) fn test_count(test_size: f32, n: usize) -> usize {
    #[allow(clippy::cast_precision_loss)]
    let t = f64::from(test_size) * n as f64;
    let t = t * (1.0 - f64::from(f32::EPSILON));
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let c = libm::ceil(t) as usize;
    c.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    #[test]
    fn split_sizes_follow_sklearn() {
        // sklearn: test = ceil(test_size * n), train = n - test.
        for (n, t, want) in [
            (100, 0.2, 20),
            (10, 0.25, 3),
            (7, 0.1, 1),
            (3, 0.5, 2),
            (1000, 0.3, 300),
        ] {
            let x: Vec<f32> = (0..n).map(|i| i as f32).collect();
            let s = train_test_split(&x, &x, 1, 1, t, 1).unwrap();
            assert_eq!(s.x_test.len(), want, "n {n} test_size {t}");
            assert_eq!(s.x_train.len(), n - want);
        }
    }

    #[test]
    fn split_is_a_seeded_partition_that_keeps_rows_together() {
        let n = 50;
        let x: Vec<f32> = (0..n * 3).map(|i| i as f32).collect();
        let y: Vec<f32> = (0..n * 2).map(|i| -(i as f32)).collect();
        let a = train_test_split(&x, &y, 3, 2, 0.3, 9).unwrap();
        assert_eq!(a, train_test_split(&x, &y, 3, 2, 0.3, 9).unwrap());
        assert_ne!(a, train_test_split(&x, &y, 3, 2, 0.3, 10).unwrap());
        assert_eq!((a.x_train.len(), a.x_test.len()), (35 * 3, 15 * 3));
        assert_eq!((a.y_train.len(), a.y_test.len()), (35 * 2, 15 * 2));
        let mut seen = Vec::new();
        for (xs, ys) in [(&a.x_train, &a.y_train), (&a.x_test, &a.y_test)] {
            for (xr, yr) in xs.chunks(3).zip(ys.chunks(2)) {
                let i = xr[0] as usize / 3;
                assert_eq!(
                    xr,
                    [3.0 * i as f32, 3.0 * i as f32 + 1.0, 3.0 * i as f32 + 2.0]
                );
                assert_eq!(yr, [-(2.0 * i as f32), -(2.0 * i as f32 + 1.0)]);
                seen.push(i);
            }
        }
        seen.sort_unstable();
        assert_eq!(seen, (0..n).collect::<Vec<_>>());
        // Shuffled, not the first rows in order.
        assert_ne!(a.y_test[..4], [0.0, -1.0, -2.0, -3.0]);
    }

    #[test]
    fn split_errors() {
        let x = [1.0, 2.0, 3.0, 4.0];
        assert!(matches!(
            train_test_split(&[], &[], 1, 1, 0.5, 0),
            Err(Error::EmptyData { .. })
        ));
        assert!(matches!(
            train_test_split(&x, &[1.0, 2.0, 3.0], 1, 1, 0.5, 0),
            Err(Error::SampleCountMismatch { x: 4, y: 3 })
        ));
        assert!(matches!(
            train_test_split(&x, &x, 3, 1, 0.5, 0),
            Err(Error::FeatureCount { .. })
        ));
        for t in [0.0, 1.0, -0.1, 1.5, f32::NAN, f32::INFINITY] {
            assert!(
                matches!(
                    train_test_split(&x, &x, 1, 1, t, 0),
                    Err(Error::InvalidArgument {
                        name: "test_size",
                        ..
                    })
                ),
                "{t}"
            );
        }
        // ceil(0.9 * 4) = 4 leaves the training set empty.
        assert!(matches!(
            train_test_split(&x, &x, 1, 1, 0.9, 0),
            Err(Error::InvalidArgument { .. })
        ));
        // One sample can never be split.
        assert!(train_test_split(&[1.0], &[1.0], 1, 1, 0.1, 0).is_err());
    }
}
