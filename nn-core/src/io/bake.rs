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
