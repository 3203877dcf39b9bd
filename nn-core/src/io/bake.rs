//! Weights baked into the binary: no parsing, no allocation, no file system at run time.
//!
//! Export a trained model's parameters as raw little-endian `f32` values (with `std`:
//! [`weights::save_raw`](super::weights::save_raw), or `mnist_mlp --save-raw PATH`), then decode them in a
//! `static` initialiser with [`f32_array`], which runs at compile time:
//!
//! ```ignore
//! static WEIGHTS: [f32; MnistMlp::PARAMS] = nn::bake::f32_array(include_bytes!("mnist_mlp.bin"));
//! static MODEL: MnistMlp = MnistMlp::from_static(&WEIGHTS);
//!
//! let digit = MODEL.forward(&pixels);
//! ```
//!
//! A file of the wrong length, or one holding a NaN or an infinity, is a compile error.
//! The raw file has no header: the order is the model's flat parameter order (see
//! `Model::TENSORS`), which is what `params()` returns.

use crate::error::{Error, Result};

/// Decodes `N` little-endian `f32` values; meant for `const` and `static` initialisers.
///
/// # Panics
/// (At compile time, in a `const` context.) If `bytes` does not hold exactly `N` values, or
/// holds a NaN or an infinity.
///
/// ```
/// const W: [f32; 2] = nn_core::bake::f32_array(&[0, 0, 128, 63, 0, 0, 0, 192]);
/// assert_eq!(W, [1.0, -2.0]);
/// ```
#[must_use]
pub const fn f32_array<const N: usize>(bytes: &[u8]) -> [f32; N] {
    assert!(
        bytes.len() == N * 4,
        "the weights file does not hold this model's parameter count"
    );
    let mut out = [0.0f32; N];
    let mut i = 0;
    while i < N {
        let v = f32::from_le_bytes([
            bytes[4 * i],
            bytes[4 * i + 1],
            bytes[4 * i + 2],
            bytes[4 * i + 3],
        ]);
        assert!(
            v.is_finite(),
            "the weights file holds a NaN or infinite value"
        );
        out[i] = v;
        i += 1;
    }
    out
}

/// The raw little-endian bytes of `params`, the format [`f32_array`] decodes.
#[cfg(feature = "alloc")]
#[must_use]
pub fn to_le_bytes(params: &[f32]) -> alloc::vec::Vec<u8> {
    params.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// A fitted scaler with `N` features, for the bare tier (no `std`, no `alloc`): a
/// [`StandardScaler`](crate::data::StandardScaler) (means and standard deviations) or a
/// [`MinMaxScaler`](crate::data::MinMaxScaler) (minimums and ranges), both of which map
/// `v` to `(v - offset) / scale`. Baked from the file the alloc tier saved (`to_le_bytes`,
/// or `ScalerFile::save`) by [`from_le_bytes`](Self::from_le_bytes), a `const fn`, so a
/// bad file is a compile error; it transforms exactly as the scaler it came from, bit for
/// bit.
///
/// ```ignore
/// // Beside the model's weights, in the firmware:
/// static SCALER: Scaler<20> = Scaler::from_le_bytes(include_bytes!("scaler.bin"));
///
/// let mut features: [f32; 20] = read_sensors();
/// SCALER.transform(&mut features);
/// let y = MODEL.forward(&nn::Vector::from(features));
/// ```
///
/// ```
/// use nn_core::bake::Scaler;
/// // Offsets (e.g. means) 1 and 10, scales 2 and 4: raw little-endian values, as saved.
/// const BYTES: [u8; 16] = [0, 0, 128, 63, 0, 0, 32, 65, 0, 0, 0, 64, 0, 0, 128, 64];
/// static SCALER: Scaler<2> = Scaler::from_le_bytes(&BYTES);
/// let mut x = [3.0, 2.0];
/// SCALER.transform(&mut x);
/// assert_eq!(x, [1.0, -2.0]);
/// SCALER.inverse_transform(&mut x);
/// assert_eq!(x, [3.0, 2.0]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scaler<const N: usize> {
    offset: [f32; N],
    scale: [f32; N],
}

impl<const N: usize> Scaler<N> {
    /// Decodes a saved scaler: `N` offsets then `N` scales, little-endian `f32` values (what
    /// the alloc tier's scalers write with `to_le_bytes` and `ScalerFile::save`); meant for
    /// `const` and `static` initialisers.
    ///
    /// # Panics
    /// (At compile time, in a `const` context.) As [`from_arrays`](Self::from_arrays), and
    /// if `bytes` does not hold exactly `2 * N` values. [`try_from_le_bytes`](Self::try_from_le_bytes)
    /// returns an error instead.
    #[must_use]
    pub const fn from_le_bytes(bytes: &[u8]) -> Self {
        match Self::decode(bytes) {
            Ok(s) => s,
            Err(reason) => panic!("{}", reason),
        }
    }

    /// [`from_le_bytes`](Self::from_le_bytes) for bytes read at run time.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the problem: a length other than `2 * N` values,
    /// a value that is not finite, a scale that is not positive.
    pub fn try_from_le_bytes(bytes: &[u8]) -> Result<Self> {
        Self::decode(bytes).map_err(|reason| Error::InvalidArgument {
            name: "scaler bytes",
            reason,
        })
    }

    /// A scaler of `offset` (means or minimums) and `scale` (standard deviations or ranges).
    ///
    /// # Panics
    /// (At compile time, in a `const` context.) For `N = 0`, a value that is not finite, a
    /// scale that is not positive.
    #[must_use]
    pub const fn from_arrays(offset: [f32; N], scale: [f32; N]) -> Self {
        match Self::check(offset, scale) {
            Ok(s) => s,
            Err(reason) => panic!("{}", reason),
        }
    }

    /// The scaler, or why not.
    pub(crate) const fn check(
        offset: [f32; N],
        scale: [f32; N],
    ) -> core::result::Result<Self, &'static str> {
        if N == 0 {
            return Err("a scaler needs at least one feature");
        }
        let mut i = 0;
        while i < N {
            if !offset[i].is_finite() || !scale[i].is_finite() {
                return Err("the scaler holds a NaN or infinite value");
            }
            if scale[i] <= 0.0 {
                return Err("the scaler holds a scale that is not positive");
            }
            i += 1;
        }
        Ok(Self { offset, scale })
    }

    const fn decode(bytes: &[u8]) -> core::result::Result<Self, &'static str> {
        if bytes.len() != 8 * N {
            return Err("the scaler file does not hold N offsets and N scales (2 * N f32 values)");
        }
        let mut offset = [0.0f32; N];
        let mut scale = [0.0f32; N];
        let mut i = 0;
        while i < N {
            let (a, b) = (4 * i, 4 * (N + i));
            offset[i] = f32::from_le_bytes([bytes[a], bytes[a + 1], bytes[a + 2], bytes[a + 3]]);
            scale[i] = f32::from_le_bytes([bytes[b], bytes[b + 1], bytes[b + 2], bytes[b + 3]]);
            i += 1;
        }
        Self::check(offset, scale)
    }

    /// Each feature's offset: the mean of a standard scaler, the minimum of a min-max one.
    #[must_use]
    pub const fn offset(&self) -> &[f32; N] {
        &self.offset
    }

    /// Each feature's scale: the standard deviation of a standard scaler (1 for a constant
    /// feature), the range of a min-max one.
    #[must_use]
    pub const fn scale(&self) -> &[f32; N] {
        &self.scale
    }

    /// Scales `x` in place: `(v - offset) / scale` per feature, as the alloc tier's
    /// `transform`. A NaN or infinite value stays so; [`try_transform`](Self::try_transform)
    /// refuses it.
    pub fn transform(&self, x: &mut [f32; N]) {
        for ((v, &m), &s) in x.iter_mut().zip(&self.offset).zip(&self.scale) {
            *v = (*v - m) / s;
        }
    }

    /// [`transform`](Self::transform) after checking that every value is finite.
    ///
    /// # Errors
    /// [`Error::NonFinite`] with the first bad value's index; `x` is then unchanged.
    pub fn try_transform(&self, x: &mut [f32; N]) -> Result<()> {
        if let Some(index) = x.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite { what: "x", index });
        }
        self.transform(x);
        Ok(())
    }

    /// Undoes [`transform`](Self::transform) in place: `v * scale + offset` per feature.
    pub fn inverse_transform(&self, x: &mut [f32; N]) {
        for ((v, &m), &s) in x.iter_mut().zip(&self.offset).zip(&self.scale) {
            *v = *v * s + m;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scaler_decodes_offsets_then_scales_and_refuses_bad_bytes() {
        let mut bytes = [0u8; 16];
        for (i, v) in [1.0f32, -2.0, 0.5, 4.0].iter().enumerate() {
            bytes[4 * i..4 * i + 4].copy_from_slice(&v.to_le_bytes());
        }
        let s = Scaler::<2>::from_le_bytes(&bytes);
        assert_eq!((s.offset(), s.scale()), (&[1.0, -2.0], &[0.5, 4.0]));
        assert_eq!(Scaler::<2>::try_from_le_bytes(&bytes).unwrap(), s);
        let mut x = [2.0, 2.0];
        s.try_transform(&mut x).unwrap();
        assert_eq!(x, [2.0, 1.0]);
        let mut bad = [f32::NAN, 1.0];
        let e = s.try_transform(&mut bad).unwrap_err();
        assert!(matches!(e, Error::NonFinite { index: 0, .. }), "{e}");
        assert!(bad[0].is_nan() && bad[1] == 1.0);
        // Wrong length, a zero scale, a NaN: errors at run time, panics in `const`.
        assert!(Scaler::<2>::try_from_le_bytes(&bytes[..12]).is_err());
        assert!(Scaler::<3>::try_from_le_bytes(&bytes).is_err());
        let mut zero = bytes;
        zero[12..].copy_from_slice(&0.0f32.to_le_bytes());
        assert!(Scaler::<2>::try_from_le_bytes(&zero).is_err());
        let mut nan = bytes;
        nan[..4].copy_from_slice(&f32::NAN.to_le_bytes());
        assert!(Scaler::<2>::try_from_le_bytes(&nan).is_err());
        assert!(Scaler::<0>::try_from_le_bytes(&[]).is_err());
    }
}
