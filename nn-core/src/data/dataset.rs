//! [`Dataset`]: samples that carry their shape, with their targets, class and feature names.

use alloc::string::String;
use alloc::vec::Vec;

use super::labels::one_hot;
use crate::error::{check_finite, rows, Error, Result};
use crate::rng::Rng;

/// Samples and their targets, flat and row-major, with the shape of one sample (so that no
/// call repeats the feature count), and optionally the names of the features and of the
/// classes (as read from a CSV header and label column).
///
/// [`Trainer::fit_dataset`](crate::train::Trainer::fit_dataset),
/// [`evaluate_dataset`](crate::train::Trainer::evaluate_dataset) and
/// [`predict_dataset`](crate::train::Trainer::predict_dataset) take one and check its
/// sample shape against the model's input.
///
/// ```
/// use nn_core::data::Dataset;
/// // Six samples of 2 features, one class id each.
/// let x = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1];
/// let y = [0.0, 1.0, 0.0, 1.0, 0.0, 1.0];
/// let data = Dataset::from_slices(&x, &y, &[2], 1)?;
/// assert_eq!((data.len(), data.features(), data.classes()), (6, 2, 2));
/// let (train, test) = data.stratified_split(1.0 / 3.0, 7)?;
/// assert_eq!((train.len(), test.len()), (4, 2));
/// assert_eq!(test.class_counts(), [1, 1]);
/// # Ok::<(), nn_core::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    x: Vec<f32>,
    y: Vec<f32>,
    shape: Vec<usize>,
    target_width: usize,
    feature_names: Vec<String>,
    class_names: Vec<String>,
}

impl Dataset {
    /// Samples of shape `shape` in `x` and `target_width` targets per sample in `y` (1 for
    /// class ids).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an empty shape or a zero size or target width,
    /// [`Error::EmptyData`], [`Error::FeatureCount`] for buffers that are not whole samples,
    /// [`Error::SampleCountMismatch`], [`Error::NonFinite`].
    pub fn new(x: Vec<f32>, y: Vec<f32>, shape: &[usize], target_width: usize) -> Result<Self> {
        let features: usize = shape.iter().product();
        if shape.is_empty() || features == 0 || target_width == 0 {
            return Err(Error::InvalidArgument {
                name: "Dataset shape",
                reason: "a sample needs at least one value and one target",
            });
        }
        let n = rows("x", &x, features)?;
        let m = rows("y", &y, target_width)?;
        if n != m {
            return Err(Error::SampleCountMismatch { x: n, y: m });
        }
        check_finite("x", &x)?;
        check_finite("y", &y)?;
        Ok(Self {
            x,
            y,
            shape: shape.to_vec(),
            target_width,
            feature_names: Vec::new(),
            class_names: Vec::new(),
        })
    }

    /// [`new`](Self::new) from borrowed slices (copied).
    ///
    /// # Errors
    /// As [`new`](Self::new).
    pub fn from_slices(x: &[f32], y: &[f32], shape: &[usize], target_width: usize) -> Result<Self> {
        Self::new(x.to_vec(), y.to_vec(), shape, target_width)
    }

    /// Names the features (e.g. a CSV header's columns); `names` has one name per value of a
    /// sample, else it is ignored.
    #[must_use]
    pub fn with_feature_names(mut self, names: Vec<String>) -> Self {
        if names.len() == self.features() {
            self.feature_names = names;
        }
        self
    }

    /// Names the classes, by class id.
    #[must_use]
    pub fn with_class_names(mut self, names: Vec<String>) -> Self {
        self.class_names = names;
        self
    }

    /// Number of samples.
    #[must_use]
    pub fn len(&self) -> usize {
        self.y.len() / self.target_width
    }
    /// Whether there are no samples (never, for a dataset built by [`new`](Self::new)).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }
    /// The shape of one sample, e.g. `[28, 28]` or `[10]`.
    #[must_use]
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }
    /// Values per sample (the product of the shape).
    #[must_use]
    pub fn features(&self) -> usize {
        self.shape.iter().product()
    }
    /// Targets per sample (1 for class ids).
    #[must_use]
    pub fn target_width(&self) -> usize {
        self.target_width
    }
    /// All samples, flat.
    #[must_use]
    pub fn x(&self) -> &[f32] {
        &self.x
    }
    /// All samples, flat and mutable (e.g. to scale them in place).
    pub fn x_mut(&mut self) -> &mut [f32] {
        &mut self.x
    }
    /// All targets, flat.
    #[must_use]
    pub fn y(&self) -> &[f32] {
        &self.y
    }
    /// Sample `i` and its targets.
    ///
    /// # Panics
    /// If `i >= len()`.
    #[must_use]
    pub fn sample(&self, i: usize) -> (&[f32], &[f32]) {
        let (f, t) = (self.features(), self.target_width);
        (&self.x[i * f..(i + 1) * f], &self.y[i * t..(i + 1) * t])
    }
    /// The features' names, if known.
    #[must_use]
    pub fn feature_names(&self) -> &[String] {
        &self.feature_names
    }
    /// The classes' names by id, if known.
    #[must_use]
    pub fn class_names(&self) -> &[String] {
        &self.class_names
    }
    /// Number of classes: the names' count if named, else one more than the largest class
    /// id (one target per sample), else the target width (one-hot rows).
    #[must_use]
    pub fn classes(&self) -> usize {
        if !self.class_names.is_empty() {
            return self.class_names.len();
        }
        if self.target_width > 1 {
            return self.target_width;
        }
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        self.y
            .iter()
            .map(|&v| if v >= 0.0 { v as usize + 1 } else { 0 })
            .max()
            .unwrap_or(0)
    }
    /// The class id of each sample: its target (one per sample) or the argmax of its row.
    #[must_use]
    pub fn labels(&self) -> Vec<usize> {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        if self.target_width == 1 {
            self.y.iter().map(|&v| v.max(0.0) as usize).collect()
        } else {
            self.y
                .chunks_exact(self.target_width)
                .map(|row| {
                    let mut best = 0;
                    for (i, &v) in row.iter().enumerate() {
                        if v > row[best] {
                            best = i;
                        }
                    }
                    best
                })
                .collect()
        }
    }
    /// Samples per class id.
    #[must_use]
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = alloc::vec![0; self.classes()];
        for label in self.labels() {
            if let Some(c) = counts.get_mut(label) {
                *c += 1;
            }
        }
        counts
    }

    /// The samples at `indices`, in that order (names kept).
    ///
    /// # Panics
    /// If an index is out of range.
    #[must_use]
    pub fn select(&self, indices: &[usize]) -> Self {
        let (f, t) = (self.features(), self.target_width);
        let mut x = Vec::with_capacity(indices.len() * f);
        let mut y = Vec::with_capacity(indices.len() * t);
        for &i in indices {
            x.extend_from_slice(&self.x[i * f..(i + 1) * f]);
            y.extend_from_slice(&self.y[i * t..(i + 1) * t]);
        }
        Self {
            x,
            y,
            shape: self.shape.clone(),
            target_width: t,
            feature_names: self.feature_names.clone(),
            class_names: self.class_names.clone(),
        }
    }

    /// Splits at random into `(train, test)`: the test set gets `ceil(test_size * len)`
    /// samples (as scikit-learn's `train_test_split`), which ones fixed by `seed`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when `test_size` is not in `(0, 1)` or leaves either set
    /// empty.
    pub fn split(&self, test_size: f32, seed: u64) -> Result<(Self, Self)> {
        let n = self.len();
        let n_test = test_count(test_size, n)?;
        let mut order: Vec<usize> = (0..n).collect();
        Rng::new(seed).shuffle(&mut order);
        let (test, train) = order.split_at(n_test);
        Ok((self.select(train), self.select(test)))
    }

    /// Splits at random into `(train, test)` keeping each class's share in both sets (as
    /// scikit-learn's `train_test_split(..., stratify=y)`): the test set gets
    /// `ceil(test_size * len)` samples, each class `test_size` of its samples (rounded so
    /// that the counts add up, the largest remainders first), at least one of each class
    /// with two or more samples stays in training. Which samples go where is fixed by
    /// `seed`; both sets are in a shuffled order.
    ///
    /// # Errors
    /// As [`split`](Self::split), and [`Error::InvalidArgument`] for targets that are not
    /// class ids (e.g. a regression's).
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    pub fn stratified_split(&self, test_size: f32, seed: u64) -> Result<(Self, Self)> {
        let n = self.len();
        let n_test = test_count(test_size, n)?;
        if self.target_width == 1 && self.y.iter().any(|&v| v < 0.0 || v != libm::truncf(v)) {
            return Err(Error::InvalidArgument {
                name: "stratified_split",
                reason: "stratifies by class, so the targets must be class ids (whole numbers \
                         from 0) or one-hot rows; `split` takes any targets",
            });
        }
        let labels = self.labels();
        // The class ids present, in order (ids need not be dense).
        let mut ids = labels.clone();
        ids.sort_unstable();
        ids.dedup();
        let classes = ids.len();
        let mut by_class: Vec<Vec<usize>> = alloc::vec![Vec::new(); classes];
        for (i, c) in labels.iter().enumerate() {
            if let Ok(k) = ids.binary_search(c) {
                by_class[k].push(i);
            }
        }
        let mut rng = Rng::new(seed);
        for members in &mut by_class {
            rng.shuffle(members);
        }
        // Each class's share of the test set, floored, then the rest by largest remainder.
        let share = n_test as f64 / n as f64;
        let mut take: Vec<usize> = by_class
            .iter()
            .map(|m| libm::floor(m.len() as f64 * share) as usize)
            .collect();
        let mut order: Vec<usize> = (0..classes).collect();
        order.sort_by(|&a, &b| {
            let ra = by_class[a].len() as f64 * share - take[a] as f64;
            let rb = by_class[b].len() as f64 * share - take[b] as f64;
            rb.total_cmp(&ra).then(a.cmp(&b))
        });
        let mut missing = n_test.saturating_sub(take.iter().sum());
        while missing > 0 {
            let before = missing;
            for &c in &order {
                if missing > 0 && take[c] + 1 < by_class[c].len() {
                    take[c] += 1;
                    missing -= 1;
                }
            }
            if missing == before {
                break;
            }
        }
        let mut test = Vec::with_capacity(n_test);
        let mut train = Vec::with_capacity(n - n_test);
        for (members, &k) in by_class.iter().zip(&take) {
            test.extend_from_slice(&members[..k]);
            train.extend_from_slice(&members[k..]);
        }
        rng.shuffle(&mut test);
        rng.shuffle(&mut train);
        Ok((self.select(&train), self.select(&test)))
    }

    /// The same samples with one-hot rows of [`classes`](Self::classes) values in place of
    /// class ids (for categorical cross-entropy).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when the targets are not one class id per sample;
    /// [`Error::InvalidLabel`] for an id that is not a class.
    pub fn one_hot(&self) -> Result<Self> {
        if self.target_width != 1 {
            return Err(Error::InvalidArgument {
                name: "Dataset::one_hot",
                reason: "the targets are not one class id per sample",
            });
        }
        let classes = self.classes();
        let y = one_hot(&self.y, classes)?;
        let mut out = self.clone();
        out.y = y;
        out.target_width = classes;
        Ok(out)
    }

    /// Reads a data set from IDX files (the format of MNIST): the images' file gives the
    /// samples and their shape (the dimensions after the first), each byte scaled to
    /// `[0, 1]`; the labels' file one class id per sample. Files ending in `.gz` are
    /// decompressed.
    ///
    /// # Errors
    /// As [`idx::read_idx`](super::idx::read_idx); [`Error::SampleCountMismatch`] when the
    /// files hold different numbers of samples, [`Error::Format`] for a labels file that is
    /// not one value per sample.
    #[cfg(feature = "std")]
    pub fn from_idx(
        images: impl AsRef<std::path::Path>,
        labels: impl AsRef<std::path::Path>,
    ) -> Result<Self> {
        let images = super::idx::read_idx(images)?;
        let labels_path = alloc::format!("{}", labels.as_ref().display());
        let labels = super::idx::read_idx(labels)?;
        if labels.dims.len() != 1 {
            return Err(Error::Format {
                source_name: labels_path,
                reason: alloc::format!(
                    "a labels file holds one value per sample (1 dimension), this one has \
                     dimensions {:?}",
                    labels.dims
                ),
            });
        }
        let (n, m) = (images.dims.first().copied().unwrap_or(0), labels.dims[0]);
        if n != m {
            return Err(Error::SampleCountMismatch { x: n, y: m });
        }
        let shape: Vec<usize> = if images.dims.len() > 1 {
            images.dims[1..].to_vec()
        } else {
            alloc::vec![1]
        };
        let x = images.data.iter().map(|&b| f32::from(b) / 255.0).collect();
        let y = labels.data.iter().map(|&b| f32::from(b)).collect();
        Self::new(x, y, &shape, 1)
    }
}

/// `ceil(test_size * n)` (see `split::test_count`), checked to leave both sides non-empty.
fn test_count(test_size: f32, n: usize) -> Result<usize> {
    if !(test_size > 0.0 && test_size < 1.0) {
        return Err(Error::InvalidArgument {
            name: "test_size",
            reason: "must be a fraction in (0, 1)",
        });
    }
    let n_test = super::split::test_count(test_size, n);
    if n_test >= n {
        return Err(Error::InvalidArgument {
            name: "test_size",
            reason:
                "leaves no sample for the training set (too few samples or too large a fraction)",
        });
    }
    Ok(n_test)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: usize, classes: usize) -> Dataset {
        // Class of sample i: i % classes, except that class 0 gets three times as many.
        let y: Vec<f32> = (0..n)
            .map(|i| if i % 4 < 2 { 0.0 } else { (i % classes) as f32 })
            .collect();
        let x: Vec<f32> = (0..n * 3).map(|v| v as f32).collect();
        Dataset::new(x, y, &[3], 1).unwrap()
    }

    #[test]
    fn rows_stay_together_and_splits_are_seeded() {
        let d = data(40, 3);
        let (train, test) = d.split(0.25, 1).unwrap();
        assert_eq!((train.len(), test.len()), (30, 10));
        let (train2, test2) = d.split(0.25, 1).unwrap();
        assert_eq!((&train, &test), (&train2, &test2));
        assert_ne!(d.split(0.25, 2).unwrap().1, test);
        let mut seen = [false; 40];
        for part in [&train, &test] {
            for i in 0..part.len() {
                let (x, y) = part.sample(i);
                let row = (x[0] / 3.0) as usize;
                assert_eq!(
                    x,
                    [
                        3.0 * row as f32,
                        3.0 * row as f32 + 1.0,
                        3.0 * row as f32 + 2.0
                    ]
                );
                assert_eq!(y[0], d.y()[row]);
                assert!(!seen[row]);
                seen[row] = true;
            }
        }
        assert!(seen.iter().all(|&s| s));
    }

    #[test]
    fn a_stratified_split_keeps_each_class_share() {
        let d = data(101, 3);
        let counts = d.class_counts();
        for seed in 0..5 {
            let (train, test) = d.stratified_split(0.2, seed).unwrap();
            assert_eq!(test.len(), 21); // ceil(0.2 * 101)
            assert_eq!(train.len() + test.len(), 101);
            for (c, &total) in counts.iter().enumerate() {
                let t = test.class_counts().get(c).copied().unwrap_or(0);
                let want = total as f64 * 21.0 / 101.0;
                assert!((t as f64 - want).abs() < 1.0, "class {c}: {t} vs {want}");
                assert_eq!(t + train.class_counts()[c], total);
            }
        }
        assert!(d.stratified_split(1.0, 0).is_err());
        assert!(d.stratified_split(0.0, 0).is_err());
    }

    #[test]
    fn a_stratified_split_wants_class_ids_however_sparse() {
        let x: Vec<f32> = (0..8).map(|i| i as f32).collect();
        // A regression's targets: an error that says to use `split`.
        let r = Dataset::from_slices(&x, &[0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], &[1], 1);
        let e = r.unwrap().stratified_split(0.25, 0).unwrap_err();
        assert!(alloc::format!("{e}").contains("`split`"), "{e}");
        let negative = Dataset::from_slices(&x, &[-1.0; 8], &[1], 1).unwrap();
        assert!(negative.stratified_split(0.25, 0).is_err());
        // Two classes with ids far apart (no table of a billion classes): half each.
        let y = [0.0, 1e9, 0.0, 1e9, 0.0, 1e9, 0.0, 1e9];
        let d = Dataset::from_slices(&x, &y, &[1], 1).unwrap();
        let (train, test) = d.stratified_split(0.5, 3).unwrap();
        let zeros = |d: &Dataset| d.y().iter().filter(|&&v| v == 0.0).count();
        assert_eq!((zeros(&train), zeros(&test), test.len()), (2, 2, 4));
    }

    #[test]
    fn one_hot_classes_and_errors() {
        let d = Dataset::from_slices(&[1.0, 2.0, 3.0], &[2.0, 0.0, 1.0], &[1], 1).unwrap();
        assert_eq!(d.classes(), 3);
        let h = d.one_hot().unwrap();
        assert_eq!(h.y(), [0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
        assert_eq!(h.labels(), [2, 0, 1]);
        assert!(h.one_hot().is_err());
        assert!(Dataset::from_slices(&[1.0, 2.0], &[0.0], &[1], 1).is_err());
        assert!(Dataset::from_slices(&[1.0, f32::NAN], &[0.0, 1.0], &[1], 1).is_err());
        assert!(Dataset::from_slices(&[1.0], &[0.0], &[], 1).is_err());
    }
}
