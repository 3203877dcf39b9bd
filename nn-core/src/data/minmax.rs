//! [`MinMaxScaler`], and saving either scaler: the raw values that
//! [`bake::f32_array`](crate::bake::f32_array) decodes at compile time, or a file.

use alloc::vec::Vec;

use super::scaling::StandardScaler;
use super::Dataset;
use crate::error::{check_finite, rows, Error, Result};

/// Scales each feature to `[0, 1]` from the minimum and maximum seen when fitting, as
/// scikit-learn's `MinMaxScaler` (default `feature_range`): `v` becomes
/// `(v - min) / (max - min)`; a constant feature gets range 1 (it is only shifted).
///
/// ```
/// use nn_core::data::MinMaxScaler;
/// let mut x = vec![1.0, 10.0, 3.0, 10.0, 2.0, 10.0];
/// let scaler = MinMaxScaler::fit_transform(&mut x, 2)?;
/// assert_eq!(x, [0.0, 0.0, 1.0, 0.0, 0.5, 0.0]);
/// // Saved as raw values (min, then range) and back.
/// let again = MinMaxScaler::from_le_bytes(&scaler.to_le_bytes())?;
/// assert_eq!(again, scaler);
/// # Ok::<(), nn_core::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct MinMaxScaler {
    min: Vec<f32>,
    range: Vec<f32>,
}

impl MinMaxScaler {
    /// Learns each feature's minimum and range on the `features` columns of `x`.
    ///
    /// # Errors
    /// As [`StandardScaler::fit`].
    pub fn fit(x: &[f32], features: usize) -> Result<Self> {
        rows("x", x, features)?;
        check_finite("x", x)?;
        let mut min = x[..features].to_vec();
        let mut max = min.clone();
        for row in x.chunks_exact(features) {
            for ((lo, hi), &v) in min.iter_mut().zip(&mut max).zip(row) {
                *lo = lo.min(v);
                *hi = hi.max(v);
            }
        }
        let range = min
            .iter()
            .zip(&max)
            .map(|(&lo, &hi)| {
                let r = hi - lo;
                // scikit-learn's `_handle_zeros_in_scale`: a range within rounding of 0 is 1.
                if r <= 10.0 * f32::EPSILON * lo.abs().max(hi.abs()) || r == 0.0 {
                    1.0
                } else {
                    r
                }
            })
            .collect();
        Ok(Self { min, range })
    }
    /// Fits to `x`, then scales `x` in place.
    ///
    /// # Errors
    /// As [`fit`](Self::fit); `x` is unchanged on error.
    pub fn fit_transform(x: &mut [f32], features: usize) -> Result<Self> {
        let s = Self::fit(x, features)?;
        s.transform(x)?;
        Ok(s)
    }
    /// Builds a scaler from saved minimums and ranges.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for lengths that differ or are 0, a value that is not
    /// finite, a range that is not positive.
    pub fn from_parts(min: &[f32], range: &[f32]) -> Result<Self> {
        check_parts(min, range, "MinMaxScaler")?;
        Ok(Self {
            min: min.to_vec(),
            range: range.to_vec(),
        })
    }
    /// Number of features.
    #[must_use]
    pub fn features(&self) -> usize {
        self.min.len()
    }
    /// Each feature's minimum.
    #[must_use]
    pub fn min(&self) -> &[f32] {
        &self.min
    }
    /// Each feature's range (`max - min`, 1 for a constant feature).
    #[must_use]
    pub fn range(&self) -> &[f32] {
        &self.range
    }
    /// Scales `x` in place.
    ///
    /// # Errors
    /// As [`StandardScaler::transform`].
    pub fn transform(&self, x: &mut [f32]) -> Result<()> {
        affine(x, &self.min, &self.range, |v, m, s| (v - m) / s)
    }
    /// Undoes [`transform`](Self::transform) in place.
    ///
    /// # Errors
    /// As [`transform`](Self::transform).
    pub fn inverse_transform(&self, x: &mut [f32]) -> Result<()> {
        affine(x, &self.min, &self.range, |v, m, s| v * s + m)
    }
    /// Fits to the samples of `data` and scales them in place.
    ///
    /// # Errors
    /// As [`fit`](Self::fit).
    pub fn fit_transform_dataset(data: &mut Dataset) -> Result<Self> {
        let features = data.features();
        Self::fit_transform(data.x_mut(), features)
    }
    /// Scales the samples of `data` in place.
    ///
    /// # Errors
    /// As [`transform`](Self::transform).
    pub fn transform_dataset(&self, data: &mut Dataset) -> Result<()> {
        self.transform(data.x_mut())
    }
    /// The minimums then the ranges, as raw little-endian `f32` values: what
    /// [`from_le_bytes`](Self::from_le_bytes) reads, and what
    /// [`bake::f32_array`](crate::bake::f32_array) decodes at compile time to bake the
    /// scaler into a binary with the model (then [`from_parts`](Self::from_parts)).
    #[must_use]
    pub fn to_le_bytes(&self) -> Vec<u8> {
        le_bytes(&self.min, &self.range)
    }
    /// Reads what [`to_le_bytes`](Self::to_le_bytes) wrote.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a length that is not a whole number of pairs, and
    /// as [`from_parts`](Self::from_parts).
    pub fn from_le_bytes(bytes: &[u8]) -> Result<Self> {
        let (a, b) = from_le(bytes)?;
        Self::from_parts(&a, &b)
    }
}

impl StandardScaler {
    /// Builds a scaler from saved means and scales.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for lengths that differ or are 0, a value that is not
    /// finite, a scale that is not positive.
    pub fn from_parts(mean: &[f32], scale: &[f32]) -> Result<Self> {
        check_parts(mean, scale, "StandardScaler")?;
        Ok(Self::new_unchecked(mean.to_vec(), scale.to_vec()))
    }
    /// Fits to the samples of `data` and standardises them in place.
    ///
    /// # Errors
    /// As [`fit`](Self::fit).
    pub fn fit_transform_dataset(data: &mut Dataset) -> Result<Self> {
        let features = data.features();
        Self::fit_transform(data.x_mut(), features)
    }
    /// Standardises the samples of `data` in place.
    ///
    /// # Errors
    /// As [`transform`](Self::transform).
    pub fn transform_dataset(&self, data: &mut Dataset) -> Result<()> {
        self.transform(data.x_mut())
    }
    /// The means then the scales, as raw little-endian `f32` values (see
    /// [`MinMaxScaler::to_le_bytes`]).
    #[must_use]
    pub fn to_le_bytes(&self) -> Vec<u8> {
        le_bytes(self.mean(), self.scale())
    }
    /// Reads what [`to_le_bytes`](Self::to_le_bytes) wrote.
    ///
    /// # Errors
    /// As [`MinMaxScaler::from_le_bytes`].
    pub fn from_le_bytes(bytes: &[u8]) -> Result<Self> {
        let (a, b) = from_le(bytes)?;
        Self::from_parts(&a, &b)
    }
}

/// Bakes a fitted scaler for the bare tier ([`bake::Scaler`](crate::bake::Scaler)), e.g. to
/// check it against the alloc tier's.
///
/// # Errors
/// [`Error::InvalidArgument`] when the scaler was fitted on a number of features other
/// than `N`.
impl<const N: usize> TryFrom<&StandardScaler> for crate::bake::Scaler<N> {
    type Error = Error;
    fn try_from(s: &StandardScaler) -> Result<Self> {
        baked(s.mean(), s.scale())
    }
}

/// As for [`StandardScaler`].
impl<const N: usize> TryFrom<&MinMaxScaler> for crate::bake::Scaler<N> {
    type Error = Error;
    fn try_from(s: &MinMaxScaler) -> Result<Self> {
        baked(&s.min, &s.range)
    }
}

fn baked<const N: usize>(offset: &[f32], scale: &[f32]) -> Result<crate::bake::Scaler<N>> {
    let invalid = |reason| Error::InvalidArgument {
        name: "bake::Scaler<N>",
        reason,
    };
    match (<[f32; N]>::try_from(offset), <[f32; N]>::try_from(scale)) {
        (Ok(offset), Ok(scale)) => crate::bake::Scaler::check(offset, scale).map_err(invalid),
        _ => Err(invalid(
            "the scaler was fitted on a number of features other than N",
        )),
    }
}

/// Saving and loading a scaler's raw values ([`to_le_bytes`](MinMaxScaler::to_le_bytes)).
#[cfg(feature = "std")]
pub trait ScalerFile: Sized {
    /// Writes the scaler to `path`, atomically.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be written.
    fn save(&self, path: impl AsRef<std::path::Path>) -> Result<()>;
    /// Reads a scaler saved by [`save`](Self::save).
    ///
    /// # Errors
    /// [`Error::Io`], and [`Error::Format`] naming the file for contents that are not a
    /// scaler.
    fn load(path: impl AsRef<std::path::Path>) -> Result<Self>;
}

macro_rules! scaler_file {
    ($t:ty) => {
        #[cfg(feature = "std")]
        impl ScalerFile for $t {
            fn save(&self, path: impl AsRef<std::path::Path>) -> Result<()> {
                crate::io::write::write_atomic(path.as_ref(), &self.to_le_bytes())
            }
            fn load(path: impl AsRef<std::path::Path>) -> Result<Self> {
                let path = path.as_ref();
                let bytes = std::fs::read(path).map_err(|error| Error::Io {
                    path: path.to_path_buf(),
                    error,
                })?;
                Self::from_le_bytes(&bytes).map_err(|e| Error::Format {
                    source_name: alloc::format!("{}", path.display()),
                    reason: alloc::format!("not a saved {}: {e}", stringify!($t)),
                })
            }
        }
    };
}
scaler_file!(StandardScaler);
scaler_file!(MinMaxScaler);

fn check_parts(offset: &[f32], scale: &[f32], owner: &'static str) -> Result<()> {
    let _ = owner;
    if offset.is_empty() || offset.len() != scale.len() {
        return Err(Error::InvalidArgument {
            name: "scaler parts",
            reason: "need one offset and one scale per feature, at least one feature",
        });
    }
    if offset.iter().chain(scale).any(|v| !v.is_finite()) || scale.iter().any(|&s| s <= 0.0) {
        return Err(Error::InvalidArgument {
            name: "scaler parts",
            reason: "values must be finite and scales positive",
        });
    }
    Ok(())
}

fn le_bytes(a: &[f32], b: &[f32]) -> Vec<u8> {
    a.iter().chain(b).flat_map(|v| v.to_le_bytes()).collect()
}

fn from_le(bytes: &[u8]) -> Result<(Vec<f32>, Vec<f32>)> {
    if bytes.is_empty() || !bytes.len().is_multiple_of(8) {
        return Err(Error::InvalidArgument {
            name: "scaler bytes",
            reason: "must hold an even number of f32 values (offsets, then scales)",
        });
    }
    let values: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let (a, b) = values.split_at(values.len() / 2);
    Ok((a.to_vec(), b.to_vec()))
}

/// `f(v, offset, scale)` on every value of `x`, rows of `offset.len()` features, after
/// checking `x` (unchanged on error).
fn affine(
    x: &mut [f32],
    offset: &[f32],
    scale: &[f32],
    f: impl Fn(f32, f32, f32) -> f32,
) -> Result<()> {
    if x.is_empty() {
        return Ok(());
    }
    rows("x", x, offset.len())?;
    check_finite("x", x)?;
    for row in x.chunks_exact_mut(offset.len()) {
        for ((v, &m), &s) in row.iter_mut().zip(offset).zip(scale) {
            *v = f(*v, m, s);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minmax_matches_sklearn() {
        // sklearn: MinMaxScaler().fit([[1, 2], [3, 6], [5, 7], [-3, 1]]):
        // data_min_ = [-3, 1], data_range_ = [8, 6]; transform([[1, 2]]) = [[0.5, 1/6]].
        let x = [1.0, 2.0, 3.0, 6.0, 5.0, 7.0, -3.0, 1.0];
        let s = MinMaxScaler::fit(&x, 2).unwrap();
        assert_eq!((s.min(), s.range()), (&[-3.0, 1.0][..], &[8.0, 6.0][..]));
        let mut t = [1.0, 2.0];
        s.transform(&mut t).unwrap();
        assert!((t[0] - 0.5).abs() < 1e-7 && (t[1] - 1.0 / 6.0).abs() < 1e-7);
        s.inverse_transform(&mut t).unwrap();
        assert!((t[0] - 1.0).abs() < 1e-6 && (t[1] - 2.0).abs() < 1e-6);
        let c = MinMaxScaler::fit(&[4.0, 4.0], 1).unwrap();
        assert_eq!(c.range(), [1.0]);
        assert!(MinMaxScaler::fit(&[1.0, f32::NAN], 1).is_err());
    }

    #[test]
    fn scalers_round_trip_through_bytes_and_refuse_bad_ones() {
        let x = [1.0, 2.0, 3.0, 6.0, 5.0, 7.0];
        let s = StandardScaler::fit(&x, 2).unwrap();
        assert_eq!(StandardScaler::from_le_bytes(&s.to_le_bytes()).unwrap(), s);
        assert_eq!(s.to_le_bytes().len(), 16);
        assert!(StandardScaler::from_le_bytes(&[0; 12]).is_err());
        // A zero scale is refused.
        assert!(StandardScaler::from_le_bytes(&[0; 16]).is_err());
        assert!(MinMaxScaler::from_parts(&[1.0], &[1.0, 2.0]).is_err());
        assert!(MinMaxScaler::from_parts(&[1.0], &[-1.0]).is_err());
    }

    #[test]
    fn fitted_scalers_bake_into_the_bare_tier_and_transform_alike() {
        let x = [1.0, 2.0, 3.0, 6.0, 5.0, 7.0, -3.0, 1.5];
        let standard = StandardScaler::fit(&x, 2).unwrap();
        let minmax = MinMaxScaler::fit(&x, 2).unwrap();
        let baked = [
            crate::bake::Scaler::<2>::try_from(&standard).unwrap(),
            crate::bake::Scaler::<2>::try_from(&minmax).unwrap(),
        ];
        let mut a = x;
        standard.transform(&mut a[..]).unwrap();
        let mut b = x;
        minmax.transform(&mut b[..]).unwrap();
        for (expected, scaler) in [a, b].iter().zip(baked) {
            for (row, want) in x.chunks_exact(2).zip(expected.chunks_exact(2)) {
                let mut v = [row[0], row[1]];
                scaler.transform(&mut v);
                assert_eq!(v.map(f32::to_bits), [want[0].to_bits(), want[1].to_bits()]);
            }
        }
        assert_eq!(baked[0].offset(), &[1.5, 4.125]);
        let e = crate::bake::Scaler::<3>::try_from(&standard).unwrap_err();
        assert!(alloc::format!("{e}").contains("number of features"), "{e}");
    }
}
