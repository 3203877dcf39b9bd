//! Feature scaling: [`StandardScaler`], after scikit-learn's.

use alloc::vec;
use alloc::vec::Vec;

use crate::error::{check_finite, rows, Result};

/// Standardises features to zero mean and unit variance, as scikit-learn's `StandardScaler`.
///
/// [`fit`](Self::fit) learns each feature's mean and population standard deviation
/// (`ddof = 0`); [`transform`](Self::transform) then maps `v` to `(v - mean) / scale`. A
/// constant feature gets scale 1 (it is only centred), as in scikit-learn. Statistics are
/// accumulated in `f64`.
///
/// ```
/// use nn_core::data::StandardScaler;
/// // Two samples of two features.
/// let mut x = vec![1.0, 10.0, 3.0, 10.0];
/// let scaler = StandardScaler::fit_transform(&mut x, 2)?;
/// assert_eq!(scaler.mean(), &[2.0, 10.0]);
/// assert_eq!(scaler.scale(), &[1.0, 1.0]); // the second feature is constant
/// assert_eq!(x, [-1.0, 0.0, 1.0, 0.0]);
/// scaler.inverse_transform(&mut x)?;
/// assert_eq!(x, [1.0, 10.0, 3.0, 10.0]);
/// # Ok::<(), nn_core::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct StandardScaler {
    mean: Vec<f32>,
    scale: Vec<f32>,
}

impl StandardScaler {
    /// Learns the mean and standard deviation of each of the `features` columns of `x`.
    ///
    /// # Errors
    /// [`Error::EmptyData`](crate::Error::EmptyData) for an empty `x`, [`Error::FeatureCount`](crate::Error::FeatureCount) when `x.len()` is not a
    /// multiple of `features` (or `features` is 0), [`Error::NonFinite`](crate::Error::NonFinite) for a NaN or
    /// infinite value.
    pub fn fit(x: &[f32], features: usize) -> Result<Self> {
        let n = rows("x", x, features)?;
        check_finite("x", x)?;
        #[allow(clippy::cast_precision_loss)]
        let nf = n as f64;
        let mut mean = vec![0.0f64; features];
        for row in x.chunks_exact(features) {
            for (m, &v) in mean.iter_mut().zip(row) {
                *m += f64::from(v);
            }
        }
        for m in &mut mean {
            *m /= nf;
        }
        // Second pass over the deviations: numerically better than E[x^2] - E[x]^2.
        let mut var = vec![0.0f64; features];
        for row in x.chunks_exact(features) {
            for ((s, &m), &v) in var.iter_mut().zip(&mean).zip(row) {
                let d = f64::from(v) - m;
                *s += d * d;
            }
        }
        let scale = var
            .iter()
            .zip(&mean)
            .map(|(&s, &m)| {
                let v = s / nf;
                // scikit-learn's `_is_constant_feature`: a variance within the rounding error
                // of its computation counts as zero.
                let eps = f64::EPSILON;
                let bound = nf * eps * v + (nf * m * eps) * (nf * m * eps);
                if v <= bound {
                    1.0
                } else {
                    #[allow(clippy::cast_possible_truncation)]
                    let s = libm::sqrt(v) as f32;
                    s
                }
            })
            .collect();
        #[allow(clippy::cast_possible_truncation)]
        let mean = mean.into_iter().map(|m| m as f32).collect();
        Ok(Self { mean, scale })
    }

    /// A scaler of checked parts (see `from_parts`).
    pub(super) fn new_unchecked(mean: Vec<f32>, scale: Vec<f32>) -> Self {
        Self { mean, scale }
    }

    /// Fits the scaler to `x`, then standardises `x` in place.
    ///
    /// # Errors
    /// As [`fit`](Self::fit); `x` is left unchanged on error.
    pub fn fit_transform(x: &mut [f32], features: usize) -> Result<Self> {
        let scaler = Self::fit(x, features)?;
        scaler.apply(x, |v, m, s| (v - m) / s);
        Ok(scaler)
    }

    /// Number of features the scaler was fitted on.
    #[must_use]
    pub fn features(&self) -> usize {
        self.mean.len()
    }

    /// Per-feature mean learned by [`fit`](Self::fit).
    #[must_use]
    pub fn mean(&self) -> &[f32] {
        &self.mean
    }

    /// Per-feature scale: the population standard deviation, or 1 for a constant feature.
    #[must_use]
    pub fn scale(&self) -> &[f32] {
        &self.scale
    }

    /// Standardises `x` in place: `(v - mean) / scale` per feature. An empty `x` is left as
    /// it is.
    ///
    /// # Errors
    /// [`Error::FeatureCount`](crate::Error::FeatureCount) when `x.len()` is not a multiple of the fitted feature count,
    /// [`Error::NonFinite`](crate::Error::NonFinite) for a NaN or infinite value (`x` is then left unchanged).
    pub fn transform(&self, x: &mut [f32]) -> Result<()> {
        self.check(x)?;
        self.apply(x, |v, m, s| (v - m) / s);
        Ok(())
    }

    /// Undoes [`transform`](Self::transform) in place: `v * scale + mean` per feature.
    ///
    /// # Errors
    /// As [`transform`](Self::transform).
    pub fn inverse_transform(&self, x: &mut [f32]) -> Result<()> {
        self.check(x)?;
        self.apply(x, |v, m, s| v * s + m);
        Ok(())
    }

    fn check(&self, x: &[f32]) -> Result<()> {
        if x.is_empty() {
            return Ok(());
        }
        rows("x", x, self.features())?;
        check_finite("x", x)
    }

    fn apply(&self, x: &mut [f32], f: impl Fn(f32, f32, f32) -> f32) {
        for row in x.chunks_exact_mut(self.features()) {
            for ((v, &m), &s) in row.iter_mut().zip(&self.mean).zip(&self.scale) {
                *v = f(*v, m, s);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    fn close(a: f32, b: f32, tol: f32) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn scaler_matches_sklearn() {
        // sklearn: StandardScaler().fit([[1, 2], [3, 6], [5, 7], [7, 1]])
        // mean_ = [4, 4], scale_ = [2.23606798, 2.54950976]
        let x = [1.0, 2.0, 3.0, 6.0, 5.0, 7.0, 7.0, 1.0];
        let s = StandardScaler::fit(&x, 2).unwrap();
        assert_eq!(s.mean(), &[4.0, 4.0]);
        assert!(close(s.scale()[0], 2.236_068, 1e-6));
        assert!(close(s.scale()[1], 2.549_51, 1e-6));
        let mut t = x;
        s.transform(&mut t).unwrap();
        let col0: Vec<f32> = t.iter().step_by(2).copied().collect();
        let mean: f32 = col0.iter().sum::<f32>() / 4.0;
        let var: f32 = col0.iter().map(|v| v * v).sum::<f32>() / 4.0;
        assert!(close(mean, 0.0, 1e-6) && close(var, 1.0, 1e-5));
        s.inverse_transform(&mut t).unwrap();
        for (a, b) in t.iter().zip(&x) {
            assert!(close(*a, *b, 1e-5));
        }
    }

    #[test]
    fn scaler_is_accurate_with_a_large_offset() {
        // Values 1e4 + {0, 1}: f32 accumulation of squares would lose the variance.
        let x: Vec<f32> = (0..1000).map(|i| 10_000.0 + (i % 2) as f32).collect();
        let s = StandardScaler::fit(&x, 1).unwrap();
        assert!(close(s.mean()[0], 10_000.5, 1e-3));
        assert!(close(s.scale()[0], 0.5, 1e-6));
    }

    #[test]
    fn scaler_constant_feature_gets_scale_one() {
        let x = [0.1f32; 30];
        let s = StandardScaler::fit(&x, 3).unwrap();
        assert_eq!(s.scale(), &[1.0, 1.0, 1.0]);
        let mut t = x;
        s.transform(&mut t).unwrap();
        assert!(t.iter().all(|&v| v == 0.0));
    }

    #[test]
    fn scaler_errors() {
        assert!(matches!(
            StandardScaler::fit(&[], 2),
            Err(Error::EmptyData { .. })
        ));
        assert!(matches!(
            StandardScaler::fit(&[1.0, 2.0, 3.0], 2),
            Err(Error::FeatureCount { .. })
        ));
        assert!(matches!(
            StandardScaler::fit(&[1.0, 2.0], 0),
            Err(Error::FeatureCount { .. })
        ));
        assert!(matches!(
            StandardScaler::fit(&[1.0, f32::NAN], 1),
            Err(Error::NonFinite { index: 1, .. })
        ));
        let s = StandardScaler::fit(&[1.0, 2.0, 3.0, 4.0], 2).unwrap();
        let mut bad = [1.0, 2.0, 3.0];
        assert!(matches!(
            s.transform(&mut bad),
            Err(Error::FeatureCount { expected: 2, .. })
        ));
        assert_eq!(bad, [1.0, 2.0, 3.0]);
        assert!(matches!(
            s.inverse_transform(&mut bad),
            Err(Error::FeatureCount { .. })
        ));
        let mut inf = [1.0, f32::INFINITY];
        assert!(matches!(
            s.transform(&mut inf),
            Err(Error::NonFinite { .. })
        ));
        s.transform(&mut []).unwrap();
        let mut x = [f32::NAN, 1.0];
        assert!(StandardScaler::fit_transform(&mut x, 2).is_err());
        assert!(x[0].is_nan() && x[1] == 1.0);
    }
}
