//! A synthetic classification data set: [`Classification`], after scikit-learn's `make_classification`.

use alloc::collections::BTreeSet;
use alloc::vec;
use alloc::vec::Vec;

use crate::error::{Error, Result};
use crate::rng::Rng;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{train_test_split, StandardScaler};

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
}
