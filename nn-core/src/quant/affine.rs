//! The int8 block of a layer that multiplies windows of its input by per-channel weights
//! (`Dense`, `Conv2D`), and its dot product.
//!
//! Layout, for `channels` output channels of `inputs` weights each, little-endian:
//!
//! | bytes | what |
//! |---|---|
//! | 16 | [`Header`](super::Header): input and output scale and zero point |
//! | 4 + 4 | the clamp's bounds, int32 (`z_out..=127` with a fused ReLU, `-128..=127` without) |
//! | `inputs · channels` | the weights, int8, one input after another, the channels adjacent (the f32 layer's layout, Keras': a dense layer's `[in][out]`, a convolution's `[kh][kw][in][out]`) |
//! | `4 · channels` | the biases, int32, scale `s_in · s_w[c]` |
//! | `4 · channels` | the weight scales `s_w[c]`, f32 (kept for dequantizing and inspection) |
//! | `4 · channels` | the Q31 multipliers of `s_in · s_w[c] / s_out` |
//! | `4 · channels` | their shifts, int32 |

use super::{i32_at, HEADER};

/// Bytes of the block of `channels` channels of `inputs` weights.
#[must_use]
pub const fn bytes(inputs: usize, channels: usize) -> usize {
    HEADER + 8 + channels * inputs + 16 * channels
}

/// A view of an affine block.
#[derive(Clone, Copy, Debug)]
pub struct Block<'a> {
    bytes: &'a [u8],
    inputs: usize,
    channels: usize,
}

/// Where each part of a block starts.
#[derive(Clone, Copy, Debug)]
pub struct Offsets {
    /// The int8 weights.
    pub weights: usize,
    /// The int32 biases.
    pub bias: usize,
    /// The f32 weight scales.
    pub scales: usize,
    /// The int32 multipliers.
    pub multipliers: usize,
    /// The int32 shifts.
    pub shifts: usize,
    /// The end.
    pub end: usize,
}

/// The parts of the block of `channels` channels of `inputs` weights.
#[must_use]
pub const fn offsets(inputs: usize, channels: usize) -> Offsets {
    let weights = HEADER + 8;
    let bias = weights + channels * inputs;
    let scales = bias + 4 * channels;
    let multipliers = scales + 4 * channels;
    let shifts = multipliers + 4 * channels;
    Offsets {
        weights,
        bias,
        scales,
        multipliers,
        shifts,
        end: shifts + 4 * channels,
    }
}

impl<'a> Block<'a> {
    /// The block at the start of `bytes`.
    ///
    /// # Panics
    /// If `bytes` is shorter than [`bytes`]`(inputs, channels)`.
    #[must_use]
    #[inline]
    pub fn new(bytes: &'a [u8], inputs: usize, channels: usize) -> Self {
        Self {
            bytes: &bytes[..self::bytes(inputs, channels)],
            inputs,
            channels,
        }
    }

    /// The clamp's bounds.
    #[must_use]
    #[inline]
    pub fn bounds(&self) -> (i32, i32) {
        (i32_at(self.bytes, HEADER), i32_at(self.bytes, HEADER + 4))
    }

    /// The weights of input `i` (one per channel).
    #[must_use]
    #[inline]
    pub fn row(&self, i: usize) -> &'a [u8] {
        let at = offsets(self.inputs, self.channels).weights + i * self.channels;
        &self.bytes[at..at + self.channels]
    }

    /// All the weights, `inputs` rows of `channels`.
    #[must_use]
    pub fn weights(&self) -> &'a [u8] {
        let o = offsets(self.inputs, self.channels);
        &self.bytes[o.weights..o.bias]
    }

    /// Channel `c`'s bias, multiplier and shift.
    #[must_use]
    #[inline]
    pub fn requant(&self, c: usize) -> (i32, i32, i32) {
        let o = offsets(self.inputs, self.channels);
        (
            i32_at(self.bytes, o.bias + 4 * c),
            i32_at(self.bytes, o.multipliers + 4 * c),
            i32_at(self.bytes, o.shifts + 4 * c),
        )
    }

    /// Channel `c`'s weight scale.
    #[must_use]
    pub fn weight_scale(&self, c: usize) -> f32 {
        super::f32_at(
            self.bytes,
            offsets(self.inputs, self.channels).scales + 4 * c,
        )
    }
}

/// Channels accumulated at a time: the accumulators of one block (`4 · CHUNK` bytes on the
/// stack, whatever the layer's size).
pub const CHUNK: usize = 64;

/// Adds `(x[i] − zero) · w[i][c]` for every input `i` of `x` and channel `c` of `acc` (the
/// rows of `rows` starting at row `first`, channels `c0..c0 + acc.len()`), skipping inputs
/// at the zero point (they add nothing: an image's background, a ReLU that is off). Each
/// `x[i] − zero` is in `−255..=255` and each weight in `−127..=127`, so each product is
/// formed in 16 bits (for a valid block; other bytes give wrong values, never a panic).
#[inline(always)]
pub fn accumulate(
    acc: &mut [i32],
    x: &[i8],
    zero: i32,
    block: &Block<'_>,
    first: usize,
    c0: usize,
) {
    #[allow(clippy::cast_possible_truncation)]
    let zero = zero as i16;
    for (i, &x) in x.iter().enumerate() {
        let v = i16::from(x).wrapping_sub(zero);
        if v == 0 {
            continue;
        }
        let row = &block.row(first + i)[c0..c0 + acc.len()];
        for (a, &w) in acc.iter_mut().zip(row) {
            // |v · w| <= 255 · 127 < 2^15: a 16-bit product, widened.
            *a = a.wrapping_add(i32::from(v.wrapping_mul(i16::from(w.cast_signed()))));
        }
    }
}

/// The output value from a channel's accumulator (bias included): requantized, moved to the
/// output's zero point and clamped.
#[inline(always)]
#[must_use]
pub fn output(acc: i32, multiplier: i32, shift: i32, zero: i32, (lo, hi): (i32, i32)) -> i8 {
    let v = super::multiply_by_quantized_multiplier(acc, multiplier, shift).saturating_add(zero);
    super::clamp_i8(v, lo, hi)
}

/// Checks an affine block read from a file.
///
/// # Errors
/// The first problem: a bad header, bounds outside the int8 range, a weight of -128 (the
/// scheme's weights are symmetric), a weight scale that is not positive and finite, a
/// multiplier below 0 or a shift outside `-31..=30`.
pub fn check(block: &[u8], inputs: usize, channels: usize) -> Result<(), &'static str> {
    super::check_header(block)?;
    if block.len() < bytes(inputs, channels) {
        return Err("the block is shorter than its layer's weights");
    }
    let b = Block::new(block, inputs, channels);
    let (lo, hi) = b.bounds();
    if !(-128..=127).contains(&lo) || !(-128..=127).contains(&hi) || lo > hi {
        return Err("the activation bounds are not an int8 range");
    }
    if b.weights().contains(&0x80) {
        return Err("a weight is -128 (symmetric int8 weights are in -127..=127)");
    }
    for c in 0..channels {
        let s = b.weight_scale(c);
        if !(s.is_finite() && s > 0.0) {
            return Err("a weight scale is not positive and finite");
        }
        let (_, m, e) = b.requant(c);
        if m < 0 || !(-31..=30).contains(&e) {
            return Err("a requantization multiplier is negative or its shift is outside -31..=30");
        }
    }
    Ok(())
}
