//! int8 inference: post-training quantization in the scheme of TensorFlow Lite and CMSIS-NN,
//! and the integer kernels a microcontroller without a floating-point unit runs.
//!
//! # The scheme
//!
//! A real value `r` is held as an 8-bit integer `q` with a scale `s` and a zero point `z`:
//! `r = s · (q − z)`.
//!
//! * **Activations** (every tensor between layers): int8, asymmetric, one `(s, z)` per tensor,
//!   calibrated from the range the f32 model produces on a representative set (the range
//!   always includes 0, so that zero padding and ReLU's floor are exact):
//!   `s = (max − min) / 255`, `z = round(−128 − min / s)`.
//! * **Weights** of `Dense` and `Conv2D`: int8, symmetric (`z = 0`), one scale per output
//!   channel, `s_w[c] = max|W[c]| / 127`, values in `−127..=127`.
//! * **Biases**: int32 with the scale `s_in · s_w[c]` (and zero point 0), so they add to the
//!   accumulator directly.
//! * **Requantization**: the int32 accumulator `acc = b[c] + Σ (x − z_in) · w` is brought to
//!   the output scale by the real factor `M = s_in · s_w[c] / s_out`, held as a Q31
//!   fixed-point multiplier and a power-of-two shift ([`quantize_multiplier`]) and applied
//!   with gemmlowp's `SaturatingRoundingDoublingHighMul` and `RoundingDivideByPOT`
//!   ([`multiply_by_quantized_multiplier`]), then `y = clamp(z_out + …)`.
//! * **ReLU** is fused into that clamp (its lower bound is `z_out`, the real 0); a `ReLU`
//!   layer on its own clamps in place. **Batch normalisation** is folded into the `Dense` or
//!   `Conv2D` before it (per channel: weights times `γ / σ`, bias shifted) before quantizing.
//!   **Pooling** keeps the scale of its input: max pooling takes the integer maximum, average
//!   pooling TFLite's rounded integer mean. `Flatten` and `Dropout` are the identity.
//!
//! The inference inner loops use only integer arithmetic; floating point appears only where
//! a caller hands f32 values in or wants them out (quantizing the input, dequantizing the
//! output), and a model whose input is already int8 (an image's bytes minus 128, say) runs
//! with none at all ([`Quantized`]'s generated `forward_into`).
//!
//! # What is covered
//!
//! `Dense` (on a flat input), `Conv2D` (any kernel, stride, `'same'` or `'valid'`),
//! `MaxPool2D`, `AvgPool2D`, `Flatten`, `Dropout`, `BatchNorm` after a `Dense` or `Conv2D`
//! without activation, and the activations `linear` and `relu` anywhere. Any other activation
//! (`softmax`, `sigmoid`, `tanh`...) is covered **only on the last layer**: the int8 model
//! outputs the pre-activations, and the generated `forward` dequantizes them and applies the
//! activation in f32 (the class with the largest int8 logit is the f32 model's class, so a
//! classifier needs no float at all). Not covered: `sigmoid`, `tanh` and the other
//! activations inside the model (they would need a lookup table per tensor), the 1-D layers,
//! global pooling, embeddings and the recurrent layers; `model!` generates no int8 type for
//! a model that has any of those.
//!
//! # Layout of a quantized model
//!
//! One flat byte buffer, one block per layer in declaration order ([`Quantize::QBYTES`]
//! bytes each), little-endian. Every block starts with a [`Header`] (the layer's input and
//! output scale and zero point, 16 bytes); `Dense` and `Conv2D` then hold an
//! [`affine`] block (activation bounds, int8 weights, int32 biases, the weight scales,
//! multipliers and shifts). The bytes are all there is: a baked `static` needs no decoding.

pub mod affine;
#[cfg(feature = "alloc")]
mod calibrate;
#[cfg(feature = "alloc")]
pub mod file;
pub mod fixed;

#[cfg(feature = "alloc")]
pub use calibrate::Quantizer;
pub use fixed::{
    multiply_by_quantized_multiplier, quantize_multiplier, rounding_divide_by_pot,
    saturating_rounding_doubling_high_mul,
};

use crate::layers::{Io, Layer};

/// The scale and zero point of an int8 tensor: `real = scale · (q − zero_point)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QParams {
    /// The real value of one step (positive and finite).
    pub scale: f32,
    /// The integer that stands for the real 0, in `−128..=127`.
    pub zero_point: i32,
}

impl QParams {
    /// Asymmetric int8 parameters covering `min..=max`, widened to include 0 (TFLite's
    /// rule): `scale = (max − min) / 255`, `zero_point = round(−128 − min / scale)`. A range
    /// of only 0 gets the scale 1.
    #[must_use]
    pub fn from_range(min: f32, max: f32) -> Self {
        let (min, max) = (min.min(0.0), max.max(0.0));
        let range = f64::from(max) - f64::from(min);
        if range <= 0.0 || !range.is_finite() {
            return Self {
                scale: 1.0,
                zero_point: 0,
            };
        }
        #[allow(clippy::cast_possible_truncation)]
        let scale = (range / 255.0) as f32;
        let zero = -128.0 - f64::from(min) / f64::from(scale);
        #[allow(clippy::cast_possible_truncation)]
        let zero_point = crate::math::round_f64(zero).clamp(-128.0, 127.0) as i32;
        Self { scale, zero_point }
    }

    /// `x` quantized: `clamp(round(x / scale) + zero_point)` (rounding half away from zero).
    #[must_use]
    pub fn quantize(&self, x: f32) -> i8 {
        let q = crate::math::round_f64(f64::from(x) / f64::from(self.scale));
        #[allow(clippy::cast_possible_truncation)]
        let q = (q + f64::from(self.zero_point)).clamp(-128.0, 127.0) as i8;
        q
    }

    /// The real value of `q`: `scale · (q − zero_point)`.
    #[must_use]
    pub fn dequantize(&self, q: i8) -> f32 {
        #[allow(clippy::cast_precision_loss)]
        let steps = (i32::from(q) - self.zero_point) as f32;
        self.scale * steps
    }

    /// Whether a file's parameters can be these: a positive finite scale, a zero point in
    /// `−128..=127`.
    #[must_use]
    pub fn is_valid(&self) -> bool {
        self.scale.is_finite() && self.scale > 0.0 && (-128..=127).contains(&self.zero_point)
    }
}

/// The first 16 bytes of every layer's block: the scale and zero point of its input and of
/// its output (the same for layers that keep the scale).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Header {
    /// The input's parameters.
    pub input: QParams,
    /// The output's parameters.
    pub output: QParams,
}

/// Bytes of a [`Header`].
pub const HEADER: usize = 16;

impl Header {
    /// Reads the header at the start of `block`.
    ///
    /// # Panics
    /// If `block` is shorter than [`HEADER`].
    #[must_use]
    #[inline]
    pub fn read(block: &[u8]) -> Self {
        Self {
            input: QParams {
                scale: f32_at(block, 0),
                zero_point: i32_at(block, 4),
            },
            output: QParams {
                scale: f32_at(block, 8),
                zero_point: i32_at(block, 12),
            },
        }
    }

    /// Writes the header at the start of `block`.
    ///
    /// # Panics
    /// If `block` is shorter than [`HEADER`].
    pub fn write(&self, block: &mut [u8]) {
        block[0..4].copy_from_slice(&self.input.scale.to_le_bytes());
        block[4..8].copy_from_slice(&self.input.zero_point.to_le_bytes());
        block[8..12].copy_from_slice(&self.output.scale.to_le_bytes());
        block[12..16].copy_from_slice(&self.output.zero_point.to_le_bytes());
    }
}

/// The little-endian `i32` at byte `at`.
#[inline(always)]
#[must_use]
pub fn i32_at(bytes: &[u8], at: usize) -> i32 {
    let b = &bytes[at..at + 4];
    i32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// The little-endian `f32` at byte `at`.
#[inline(always)]
#[must_use]
pub fn f32_at(bytes: &[u8], at: usize) -> f32 {
    let b = &bytes[at..at + 4];
    f32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// What the quantizer does with a layer's activation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fuse {
    /// None to apply.
    Linear,
    /// ReLU: the clamp's lower bound is the output's zero point.
    Relu,
    /// Another function (named): only on the last layer, applied in f32 after dequantizing.
    Other(&'static str),
}

impl Fuse {
    /// How `activation` is quantized.
    #[must_use]
    pub fn of<A: crate::activations::ActivationFn>(activation: &A) -> Self {
        use crate::activations::ActivationKind;
        match activation.builtin() {
            Some(ActivationKind::Linear) => Self::Linear,
            Some(ActivationKind::Relu) => Self::Relu,
            _ => Self::Other(activation.name()),
        }
    }
}

/// How the quantizer treats a layer kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// `Dense`, `Conv2D`: int8 weights per output channel, `inputs` per channel, in the f32
    /// layer's parameter layout `[inputs][channels]` then `channels` biases; a new output
    /// scale from calibration; the block is an [`affine`] block.
    Affine {
        /// Weights per output channel (a dense layer's inputs, a convolution's `KH·KW·CIN`).
        inputs: usize,
        /// Output channels.
        channels: usize,
    },
    /// Pooling, `Flatten`, `Dropout`, an activation layer: the output keeps the input's
    /// scale and zero point; the block is a [`Header`].
    SameScale,
    /// Batch normalisation over `channels`: folded into the `Affine` layer before it; the
    /// block is a [`Header`] and the layer is the identity in int8.
    Folded {
        /// Channels (the last axis).
        channels: usize,
    },
}

/// The int8 variant of a layer: what [`Quantizer`] and a generated int8 model need.
pub trait Quantize: Layer {
    /// Bytes of the layer's block in the quantized model.
    const QBYTES: usize = HEADER;
    /// How the quantizer treats it.
    const ROLE: Role;

    /// The layer's activation, as the quantizer treats it.
    fn fuse(&self) -> Fuse {
        Fuse::Linear
    }

    /// The f32 values the int8 layer stands for, before the activation of [`fuse`](Self::fuse)
    /// (one sample; what calibration records): a dense layer's pre-activations, a pooling
    /// layer's output (covered layers need no scratch).
    fn preactivation(&self, params: &[f32], state: &[f32], x: &[f32], y: &mut [f32]) {
        self.infer(params, state, Io::Separate { x, y }, &mut []);
    }

    /// int8 inference for one sample; `block` holds the layer's [`QBYTES`](Self::QBYTES).
    /// Integer arithmetic only, no allocation.
    fn infer_i8(&self, block: &[u8], io: Io<'_, i8>);

    /// After dequantizing the output of the last layer: the activation int8 does not apply
    /// (a softmax), in f32, in place.
    fn finish(&self, y: &mut [f32]) {
        let _ = y;
    }

    /// Checks a block read from a file: the reason it cannot be this layer's, if any.
    ///
    /// # Errors
    /// A description of the first problem.
    fn check_block(&self, block: &[u8]) -> core::result::Result<(), &'static str> {
        check_header(block)
    }
}

/// A quantized model, as `model!` generates it (`MnistMlpInt8` for `MnistMlp`): its bytes,
/// their check, and (with `alloc` and `std`) files.
pub trait Quantized: Sized {
    /// Bytes of its parameters (every block).
    const PARAM_BYTES: usize;

    /// The model's bytes: every layer's block in order (what a baked `static` holds).
    fn bytes(&self) -> &[u8];

    /// The model on `bytes` of [`PARAM_BYTES`](Self::PARAM_BYTES), unchecked (inference
    /// never misbehaves on any bytes, but computes garbage on wrong ones).
    fn from_bytes_unchecked(bytes: Bytes) -> Self;

    /// Checks every layer's block: the layer's name and the problem, if any.
    ///
    /// # Errors
    /// The first layer whose block cannot be its, and why.
    fn check_blocks(bytes: &[u8]) -> core::result::Result<(), (&'static str, &'static str)>;

    /// The model from a file's bytes (see [`mod@file`]); `source_name` names them in errors.
    ///
    /// # Errors
    /// [`Error::Format`](crate::Error::Format) for a truncated, corrupt or foreign file, one
    /// quantized from another model, or a block whose values cannot be right (a zero point
    /// outside int8, a scale that is not positive, a shift out of range), naming the layer.
    #[cfg(feature = "alloc")]
    fn from_file_bytes(file: &[u8], source_name: &str) -> crate::Result<Self> {
        let bytes = self::file::decode(file, source_name, Self::PARAM_BYTES)?;
        Self::check_blocks(bytes).map_err(|(layer, reason)| crate::Error::Format {
            source_name: alloc::string::ToString::to_string(source_name),
            reason: alloc::format!("layer `{layer}`: {reason}"),
        })?;
        Ok(Self::from_bytes_unchecked(Bytes::Owned(bytes.to_vec())))
    }

    /// The bytes of the model's file (see [`mod@file`]).
    #[cfg(feature = "alloc")]
    fn to_file_bytes(&self) -> alloc::vec::Vec<u8> {
        self::file::encode(self.bytes())
    }

    /// Writes the model's file to `path`, atomically.
    ///
    /// # Errors
    /// [`Error::Io`](crate::Error::Io) when it cannot be written.
    #[cfg(feature = "std")]
    fn save(&self, path: impl AsRef<std::path::Path>) -> crate::Result<()> {
        self::file::save(self.bytes(), path)
    }

    /// Reads a model written by [`save`](Self::save).
    ///
    /// # Errors
    /// [`Error::Io`](crate::Error::Io) when the file cannot be read; otherwise as
    /// [`from_file_bytes`](Self::from_file_bytes), naming the path.
    #[cfg(feature = "std")]
    fn load(path: impl AsRef<std::path::Path>) -> crate::Result<Self> {
        let path = path.as_ref();
        let file = self::file::read(path, Self::PARAM_BYTES)?;
        Self::from_file_bytes(&file, &alloc::string::ToString::to_string(&path.display()))
    }
}

/// Checks the [`Header`] at the start of `block`.
///
/// # Errors
/// If the block is short or a scale or zero point is out of range.
pub fn check_header(block: &[u8]) -> core::result::Result<(), &'static str> {
    if block.len() < HEADER {
        return Err("the block is shorter than its header");
    }
    let h = Header::read(block);
    if !h.input.is_valid() || !h.output.is_valid() {
        return Err("a scale is not positive and finite, or a zero point is outside -128..=127");
    }
    Ok(())
}

/// The start of each of `N` blocks of the given sizes, one after the other from 0.
#[must_use]
pub const fn starts<const N: usize>(sizes: [usize; N]) -> [usize; N] {
    let (mut out, mut at, mut i) = ([0; N], 0, 0);
    while i < N {
        out[i] = at;
        at += sizes[i];
        i += 1;
    }
    out
}

/// The sum of `sizes`.
#[must_use]
pub const fn total<const N: usize>(sizes: [usize; N]) -> usize {
    let (mut at, mut i) = (0, 0);
    while i < N {
        at += sizes[i];
        i += 1;
    }
    at
}

/// `x` quantized with `q` into `out` (see [`QParams::quantize`]).
pub fn quantize_into(q: QParams, x: &[f32], out: &mut [i8]) {
    for (o, &v) in out.iter_mut().zip(x) {
        *o = q.quantize(v);
    }
}

/// `x` dequantized with `q` into `out` (see [`QParams::dequantize`]).
pub fn dequantize_into(q: QParams, x: &[i8], out: &mut [f32]) {
    for (o, &v) in out.iter_mut().zip(x) {
        *o = q.dequantize(v);
    }
}

/// The bytes of a quantized model: baked into the binary, or (with `alloc`) owned.
#[derive(Clone, Debug)]
pub enum Bytes {
    /// A `static`, e.g. `include_bytes!`.
    Static(&'static [u8]),
    /// Owned, e.g. from [`Quantizer`] or a file.
    #[cfg(feature = "alloc")]
    Owned(alloc::vec::Vec<u8>),
}

impl Bytes {
    /// The bytes.
    #[must_use]
    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        match self {
            Self::Static(b) => b,
            #[cfg(feature = "alloc")]
            Self::Owned(b) => b,
        }
    }
}

/// Bytes of `N` values for a baked model: `bytes` itself, checked to hold exactly `len`
/// bytes; meant for `const` and `static` initialisers (a file of another length is a compile
/// error there).
///
/// # Panics
/// If `bytes.len() != len` (at compile time in a `const` context).
#[must_use]
pub const fn baked(bytes: &'static [u8], len: usize) -> Bytes {
    assert!(
        bytes.len() == len,
        "the int8 weights file does not hold this model's PARAM_BYTES (quantize the same model and write `bytes()`)"
    );
    Bytes::Static(bytes)
}

/// Clamps an int32 to the int8 range `lo..=hi` (`lo`, `hi` within `−128..=127`).
#[inline(always)]
#[must_use]
pub fn clamp_i8(v: i32, lo: i32, hi: i32) -> i8 {
    #[allow(clippy::cast_possible_truncation)]
    let q = v.clamp(lo, hi).clamp(-128, 127) as i8;
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibration_ranges_include_zero_and_map_the_ends() {
        // [0, 1]: the MNIST input; 1/255 per step, 0 at -128: pixel p is p - 128.
        let q = QParams::from_range(0.0, 1.0);
        assert_eq!(q.zero_point, -128);
        assert!((q.scale - 1.0 / 255.0).abs() < 1e-9);
        for p in 0..=255u8 {
            assert_eq!(
                i32::from(q.quantize(f32::from(p) / 255.0)),
                i32::from(p) - 128
            );
        }
        // A positive range is widened down to 0.
        assert_eq!(QParams::from_range(2.0, 5.1), QParams::from_range(0.0, 5.1));
        // A symmetric range: 0 lands near the middle, the ends on -128 and 127.
        // A symmetric range: the ends within a step of -128 and 127, 0 exact.
        let q = QParams::from_range(-1.0, 1.0);
        assert_eq!(q.quantize(-1.0), -128);
        assert!(q.quantize(1.0) >= 126);
        assert!((q.dequantize(q.quantize(1.0)) - 1.0).abs() <= q.scale);
        #[allow(clippy::cast_possible_truncation)]
        let zero = q.zero_point as i8;
        assert_eq!(q.dequantize(zero), 0.0);
    }

    #[test]
    fn headers_round_trip() {
        let h = Header {
            input: QParams {
                scale: 0.25,
                zero_point: -3,
            },
            output: QParams {
                scale: 1.5e-3,
                zero_point: 127,
            },
        };
        let mut b = [0u8; HEADER];
        h.write(&mut b);
        assert_eq!(Header::read(&b), h);
        assert!(check_header(&b).is_ok());
        b[4..8].copy_from_slice(&200i32.to_le_bytes());
        assert!(check_header(&b).is_err());
        assert!(check_header(&b[..8]).is_err());
    }

    #[test]
    fn block_starts_add_up() {
        assert_eq!(starts([16, 24, 16]), [0, 16, 40]);
        assert_eq!(total([16, 24, 16]), 56);
    }
}
