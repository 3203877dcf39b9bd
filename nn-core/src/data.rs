//! Data helpers: feature scaling, train/test splits, a synthetic classification data set,
//! one-hot encoding.
//!
//! A data set is a flat row-major `&[f32]` of `samples * features` values, one sample after
//! the other; targets are a flat `&[f32]` too (class indices as `f32`, or rows of regression
//! targets).
//!
//! ```
//! use nn_core::data::{train_test_split, Classification, StandardScaler};
//! let (x, y) = Classification::new(200, 5).seed(1).generate()?;
//! let mut split = train_test_split(&x, &y, 5, 1, 0.25, 7)?;
//! assert_eq!(split.x_test.len(), 50 * 5);
//! let scaler = StandardScaler::fit_transform(&mut split.x_train, 5)?;
//! scaler.transform(&mut split.x_test)?;
//! # Ok::<(), nn_core::Error>(())
//! ```

use alloc::collections::BTreeSet;
use alloc::vec;
use alloc::vec::Vec;

use crate::error::{check_finite, rows, Error, Result};
use crate::rng::Rng;

// ---------------------------------------------------------------------------------------------
// StandardScaler
// ---------------------------------------------------------------------------------------------

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
    /// [`Error::EmptyData`] for an empty `x`, [`Error::FeatureCount`] when `x.len()` is not a
    /// multiple of `features` (or `features` is 0), [`Error::NonFinite`] for a NaN or
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
    /// [`Error::FeatureCount`] when `x.len()` is not a multiple of the fitted feature count,
    /// [`Error::NonFinite`] for a NaN or infinite value (`x` is then left unchanged).
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

// ---------------------------------------------------------------------------------------------
// train_test_split
// ---------------------------------------------------------------------------------------------

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
fn test_count(test_size: f32, n: usize) -> usize {
    #[allow(clippy::cast_precision_loss)]
    let t = f64::from(test_size) * n as f64;
    let t = t * (1.0 - f64::from(f32::EPSILON));
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let c = libm::ceil(t) as usize;
    c.max(1)
}

// ---------------------------------------------------------------------------------------------
// make_classification
// ---------------------------------------------------------------------------------------------

/// A random classification problem, after scikit-learn's `make_classification`.
///
/// Each class is made of `clusters_per_class` Gaussian clusters. Cluster centroids are
/// distinct vertices of a hypercube of side `2 * class_sep` in the space of the
/// `informative` features, centred on the origin; each cluster's points are standard normal
/// samples multiplied by a random matrix (entries uniform in `[-1, 1)`) and shifted to the
/// centroid. The next `redundant` features are random linear combinations of the informative
/// ones, the remaining features are standard normal noise. A fraction `flip_y` of the samples
/// then get a random class (which may be their own), and finally samples and feature columns
/// are shuffled. Classes are balanced: samples are spread as evenly as possible over the
/// clusters.
///
/// The result is seeded and deterministic, but not bit-identical to scikit-learn (the
/// random number generators differ). As in scikit-learn, which vertex goes to which class is
/// random: with the defaults (2 informative features, 2 classes of 2 clusters) about one seed
/// in three puts each class on a diagonal of the square, an XOR layout that no linear model
/// separates; use `clusters_per_class(1)` for a linearly separable problem.
///
/// ```
/// use nn_core::data::Classification;
/// let (x, y) = Classification::new(100, 6).classes(3).clusters_per_class(1).seed(3).generate()?;
/// assert_eq!(x.len(), 100 * 6);
/// assert_eq!(y.len(), 100);
/// assert!(y.iter().all(|&c| c == 0.0 || c == 1.0 || c == 2.0));
/// # Ok::<(), nn_core::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[must_use]
pub struct Classification {
    n_samples: usize,
    n_features: usize,
    informative: usize,
    redundant: usize,
    classes: usize,
    clusters_per_class: usize,
    class_sep: f32,
    flip_y: f32,
    seed: u64,
}

impl Classification {
    /// A problem of `n_samples` samples of `n_features` features, with scikit-learn's
    /// defaults: 2 informative and 2 redundant features, 2 classes of 2 clusters each,
    /// `class_sep` 1.0, `flip_y` 0.01, seed 0.
    pub fn new(n_samples: usize, n_features: usize) -> Self {
        Self {
            n_samples,
            n_features,
            informative: 2,
            redundant: 2,
            classes: 2,
            clusters_per_class: 2,
            class_sep: 1.0,
            flip_y: 0.01,
            seed: 0,
        }
    }

    /// Number of informative features (default 2).
    pub fn informative(mut self, k: usize) -> Self {
        self.informative = k;
        self
    }

    /// Number of redundant features: linear combinations of the informative ones
    /// (default 2).
    pub fn redundant(mut self, k: usize) -> Self {
        self.redundant = k;
        self
    }

    /// Number of classes (default 2).
    pub fn classes(mut self, c: usize) -> Self {
        self.classes = c;
        self
    }

    /// Number of Gaussian clusters per class (default 2).
    pub fn clusters_per_class(mut self, k: usize) -> Self {
        self.clusters_per_class = k;
        self
    }

    /// Half the side of the hypercube whose vertices are the cluster centroids (default
    /// 1.0); larger values make the problem easier.
    pub fn class_sep(mut self, f: f32) -> Self {
        self.class_sep = f;
        self
    }

    /// Fraction of samples whose class is replaced by a random one (default 0.01).
    pub fn flip_y(mut self, f: f32) -> Self {
        self.flip_y = f;
        self
    }

    /// Seed of the random generator (default 0).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Generates the data: `x` with `n_samples * n_features` values, row-major, and the
    /// labels (class indices as `f32`), one per sample.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when `n_samples`, `n_features`, `informative`, `classes`
    /// or `clusters_per_class` is 0, `informative + redundant > n_features`,
    /// `classes * clusters_per_class > 2^informative`, `class_sep` is not finite, `flip_y`
    /// is not in `[0, 1]`, or `n_samples * n_features` overflows.
    pub fn generate(&self) -> Result<(Vec<f32>, Vec<f32>)> {
        let (n, f, inf, red) = (
            self.n_samples,
            self.n_features,
            self.informative,
            self.redundant,
        );
        let bad = |name, reason| Err(Error::InvalidArgument { name, reason });
        if n == 0 {
            return bad("n_samples", "must be at least 1");
        }
        if f == 0 {
            return bad("n_features", "must be at least 1");
        }
        if inf == 0 {
            return bad("informative", "must be at least 1");
        }
        if self.classes == 0 {
            return bad("classes", "must be at least 1");
        }
        if self.clusters_per_class == 0 {
            return bad("clusters_per_class", "must be at least 1");
        }
        if inf.checked_add(red).is_none_or(|s| s > f) {
            return bad(
                "informative",
                "informative + redundant features must not exceed n_features",
            );
        }
        let Some(n_clusters) = self.classes.checked_mul(self.clusters_per_class) else {
            return bad("classes", "classes * clusters_per_class overflows");
        };
        if inf < 64 && n_clusters as u64 > 1u64 << inf {
            return bad(
                "clusters_per_class",
                "classes * clusters_per_class must not exceed 2^informative (the hypercube's vertices)",
            );
        }
        if !self.class_sep.is_finite() {
            return bad("class_sep", "must be finite");
        }
        if !(0.0..=1.0).contains(&self.flip_y) {
            return bad("flip_y", "must be a fraction in [0, 1]");
        }
        let Some(len) = n.checked_mul(f) else {
            return bad("n_samples", "n_samples * n_features overflows");
        };

        let mut rng = Rng::new(self.seed);

        // Samples per cluster: equal class weights, remainder spread one by one.
        let mut per_cluster = vec![n / n_clusters; n_clusters];
        for c in per_cluster.iter_mut().take(n % n_clusters) {
            *c += 1;
        }

        let centroids = hypercube_vertices(n_clusters, inf, &mut rng);
        let sep = self.class_sep;

        let mut x = vec![0.0f32; len];
        let mut y = vec![0.0f32; n];
        let mut z = vec![0.0f32; inf];
        let mut a = vec![0.0f32; inf * inf];
        let mut start = 0;
        for (k, &count) in per_cluster.iter().enumerate() {
            for v in &mut a {
                *v = rng.uniform(-1.0, 1.0);
            }
            let centroid = &centroids[k * inf..(k + 1) * inf];
            #[allow(clippy::cast_precision_loss)]
            let label = (k % self.classes) as f32;
            for i in start..start + count {
                y[i] = label;
                for v in &mut z {
                    *v = rng.normal();
                }
                let row = &mut x[i * f..i * f + inf];
                // row = z A + centroid, with centroid coordinates in {-sep, +sep}.
                for (j, out) in row.iter_mut().enumerate() {
                    let dot: f32 = z
                        .iter()
                        .enumerate()
                        .map(|(r, &zr)| zr * a[r * inf + j])
                        .sum();
                    *out = dot + if centroid[j] { sep } else { -sep };
                }
            }
            start += count;
        }

        if red > 0 {
            let b: Vec<f32> = (0..inf * red).map(|_| rng.uniform(-1.0, 1.0)).collect();
            for row in x.chunks_exact_mut(f) {
                let (informative, rest) = row.split_at_mut(inf);
                for (j, out) in rest[..red].iter_mut().enumerate() {
                    *out = informative
                        .iter()
                        .enumerate()
                        .map(|(r, &v)| v * b[r * red + j])
                        .sum();
                }
            }
        }
        if inf + red < f {
            for row in x.chunks_exact_mut(f) {
                for v in &mut row[inf + red..] {
                    *v = rng.normal();
                }
            }
        }

        if self.flip_y > 0.0 {
            for label in &mut y {
                if rng.next_f32() < self.flip_y {
                    #[allow(clippy::cast_precision_loss)]
                    let c = rng.below(self.classes) as f32;
                    *label = c;
                }
            }
        }

        // Shuffle the samples, then the feature columns.
        let mut order: Vec<usize> = (0..n).collect();
        rng.shuffle(&mut order);
        let mut columns: Vec<usize> = (0..f).collect();
        rng.shuffle(&mut columns);
        let mut xs = Vec::with_capacity(len);
        let mut ys = Vec::with_capacity(n);
        for &i in &order {
            let row = &x[i * f..(i + 1) * f];
            xs.extend(columns.iter().map(|&c| row[c]));
            ys.push(y[i]);
        }
        Ok((xs, ys))
    }
}

/// `count` distinct random vertices of the `dims`-dimensional unit hypercube, flat
/// (`count * dims` coordinates, `true` for the upper side). Needs `count <= 2^dims`.
fn hypercube_vertices(count: usize, dims: usize, rng: &mut Rng) -> Vec<bool> {
    // Distinctness is drawn on the first (up to) 62 coordinates; further ones are free
    // random bits, as scikit-learn does beyond 30.
    let low = dims.min(62);
    let space = 1u64 << low;
    let codes: Vec<u64> = if space <= 2 * count as u64 {
        // Small cube: a partial Fisher-Yates over all vertices (at most 2 * count of them).
        let mut all: Vec<u64> = (0..space).collect();
        for i in 0..count {
            let j = i + rng.below(all.len() - i);
            all.swap(i, j);
        }
        all.truncate(count);
        all
    } else {
        // Large cube: rejection sampling, which rarely rejects.
        let mut seen = BTreeSet::new();
        let mut codes = Vec::with_capacity(count);
        while codes.len() < count {
            let c = rng.next_u64() & (space - 1);
            if seen.insert(c) {
                codes.push(c);
            }
        }
        codes
    };
    let mut out = Vec::with_capacity(count * dims);
    for code in codes {
        out.extend((0..low).map(|b| code >> b & 1 == 1));
        out.extend((low..dims).map(|_| rng.next_u64() & 1 == 1));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Labels
// ---------------------------------------------------------------------------------------------

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
    use alloc::vec::Vec;

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

    #[test]
    fn classification_shapes_balance_and_determinism() {
        let gen = Classification::new(301, 7)
            .classes(3)
            .clusters_per_class(1)
            .flip_y(0.0)
            .seed(5);
        let (x, y) = gen.generate().unwrap();
        assert_eq!((x.len(), y.len()), (301 * 7, 301));
        assert!(x.iter().all(|v| v.is_finite()));
        let mut counts = [0usize; 3];
        for &c in &y {
            counts[c as usize] += 1;
        }
        assert_eq!(counts, [101, 100, 100]);
        assert_eq!(gen.generate().unwrap(), (x.clone(), y.clone()));
        let (x2, _) = gen.clone().seed(6).generate().unwrap();
        assert_ne!(x, x2);
    }

    #[test]
    fn classification_redundant_features_are_linear_in_informative_ones() {
        // 3 informative + 2 redundant = rank 3 among 5 columns, no noise columns.
        let (x, _) = Classification::new(200, 5)
            .informative(3)
            .redundant(2)
            .seed(1)
            .generate()
            .unwrap();
        // Gram matrix of the columns; rank via Gaussian elimination in f64.
        let mut g = [[0.0f64; 5]; 5];
        for row in x.chunks(5) {
            for i in 0..5 {
                for j in 0..5 {
                    g[i][j] += f64::from(row[i]) * f64::from(row[j]);
                }
            }
        }
        let scale = (0..5).map(|i| g[i][i]).fold(0.0, f64::max);
        let mut rank = 0;
        for col in 0..5 {
            let Some(p) = (rank..5).max_by(|&a, &b| g[a][col].abs().total_cmp(&g[b][col].abs()))
            else {
                break;
            };
            if g[p][col].abs() < 1e-4 * scale {
                continue;
            }
            g.swap(rank, p);
            for r in 0..5 {
                if r != rank {
                    let f = g[r][col] / g[rank][col];
                    let pivot = g[rank];
                    for (v, p) in g[r].iter_mut().zip(pivot) {
                        *v -= f * p;
                    }
                }
            }
            rank += 1;
        }
        assert_eq!(rank, 3);
    }

    #[test]
    fn classification_flip_y_changes_labels() {
        let base = Classification::new(1000, 4).seed(2);
        let (_, clean) = base.clone().flip_y(0.0).generate().unwrap();
        let (_, noisy) = base.flip_y(0.5).generate().unwrap();
        // Without flips the classes are exactly balanced; half of the labels re-drawn at
        // random must change some of them.
        assert_ne!(clean, noisy);
        let ones = clean.iter().filter(|&&c| c == 1.0).count();
        assert_eq!(ones, 500);
    }

    #[test]
    fn classification_errors() {
        let e = |c: Classification| c.generate().unwrap_err();
        assert!(matches!(
            e(Classification::new(0, 4)),
            Error::InvalidArgument {
                name: "n_samples",
                ..
            }
        ));
        assert!(matches!(
            e(Classification::new(10, 3)),
            Error::InvalidArgument {
                name: "informative",
                ..
            }
        ));
        assert!(matches!(
            e(Classification::new(10, 4).classes(3)),
            Error::InvalidArgument { .. }
        ));
        assert!(matches!(
            e(Classification::new(10, 4).classes(0)),
            Error::InvalidArgument { .. }
        ));
        assert!(matches!(
            e(Classification::new(10, 4).flip_y(1.5)),
            Error::InvalidArgument { .. }
        ));
        assert!(matches!(
            e(Classification::new(10, 4).class_sep(f32::NAN)),
            Error::InvalidArgument { .. }
        ));
        assert!(matches!(
            e(Classification::new(usize::MAX, 4)),
            Error::InvalidArgument { .. }
        ));
        // Exactly 2^informative clusters is allowed.
        Classification::new(10, 4)
            .classes(4)
            .clusters_per_class(1)
            .generate()
            .unwrap();
        Classification::new(10, 80)
            .informative(70)
            .redundant(0)
            .classes(5)
            .generate()
            .unwrap();
    }

    #[test]
    fn classification_is_learnable_by_logistic_regression() {
        let (n, f) = (1000, 20);
        let (x, y) = Classification::new(n, f).seed(42).generate().unwrap();
        let mut split = train_test_split(&x, &y, f, 1, 0.25, 1).unwrap();
        let scaler = StandardScaler::fit_transform(&mut split.x_train, f).unwrap();
        scaler.transform(&mut split.x_test).unwrap();

        // Plain full-batch gradient descent on the mean logistic loss.
        let (mut w, mut b) = (vec![0.0f32; f], 0.0f32);
        let m = split.y_train.len() as f32;
        for _ in 0..500 {
            let (mut gw, mut gb) = (vec![0.0f32; f], 0.0f32);
            for (row, &t) in split.x_train.chunks(f).zip(&split.y_train) {
                let z: f32 = row.iter().zip(&w).map(|(a, b)| a * b).sum::<f32>() + b;
                let d = crate::math::sigmoid(z) - t;
                for (g, &v) in gw.iter_mut().zip(row) {
                    *g += d * v;
                }
                gb += d;
            }
            for (wi, g) in w.iter_mut().zip(&gw) {
                *wi -= 0.5 * g / m;
            }
            b -= 0.5 * gb / m;
        }
        let accuracy = |xs: &[f32], ys: &[f32]| {
            let right = xs
                .chunks(f)
                .zip(ys)
                .filter(|(row, &t)| {
                    let z: f32 = row.iter().zip(&w).map(|(a, b)| a * b).sum::<f32>() + b;
                    (z > 0.0) == (t == 1.0)
                })
                .count();
            right as f32 / ys.len() as f32
        };
        let train = accuracy(&split.x_train, &split.y_train);
        let test = accuracy(&split.x_test, &split.y_test);
        assert!(
            train > 0.8 && test > 0.8,
            "train accuracy {train}, test accuracy {test}"
        );

        let (x2, y2) = Classification::new(n, f).seed(43).generate().unwrap();
        assert_ne!(x, x2);
        assert_ne!(y, y2);
    }

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
