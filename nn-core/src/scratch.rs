//! The scratch buffer of allocation-free inference.
//!
//! A generated model's `forward_into` keeps every intermediate activation in one
//! caller-provided buffer of `SCRATCH` values: each layer that produces new values reads its
//! input from one end of the buffer and writes its output at the other end, and the next layer
//! swaps the ends. Layers that work in place (activations, inference-mode dropout, `Flatten`)
//! use the buffer where it is. So the buffer needs `max(input + output)` values over those
//! layers, and no more; the macro computes that number at compile time.
//!
//! ```
//! use nn_core::scratch::ping_pong;
//! let mut s = [1.0, 2.0, 0.0, 0.0, 0.0];
//! // Input (2 values) at the start, output (3 values) at the end.
//! let (x, y) = ping_pong(&mut s, true, 2, 3);
//! assert_eq!(x, &[1.0, 2.0]);
//! y.copy_from_slice(&[7.0, 8.0, 9.0]);
//! assert_eq!(s, [1.0, 2.0, 7.0, 8.0, 9.0]);
//! ```

/// Splits `scratch` into the input of a layer (`input_len` values at the start when
/// `input_at_start`, else at the end) and room for its output (`output_len` values at the
/// other end).
///
/// # Panics
/// If `input_len + output_len` exceeds the scratch (the macro sizes it so that it never does).
#[inline]
pub fn ping_pong(
    scratch: &mut [f32],
    input_at_start: bool,
    input_len: usize,
    output_len: usize,
) -> (&[f32], &mut [f32]) {
    assert!(
        input_len + output_len <= scratch.len(),
        "scratch too small for this layer"
    );
    if input_at_start {
        let (input, rest) = scratch.split_at_mut(input_len);
        let start = rest.len() - output_len;
        (input, &mut rest[start..])
    } else {
        let split = scratch.len() - input_len;
        let (rest, input) = scratch.split_at_mut(split);
        (input, &mut rest[..output_len])
    }
}

/// The `len` values of an activation stored at the start (`at_start`) or the end of `scratch`.
#[inline]
#[must_use]
pub fn region(scratch: &[f32], at_start: bool, len: usize) -> &[f32] {
    if at_start {
        &scratch[..len]
    } else {
        &scratch[scratch.len() - len..]
    }
}

/// [`region`], mutably.
#[inline]
pub fn region_mut(scratch: &mut [f32], at_start: bool, len: usize) -> &mut [f32] {
    if at_start {
        &mut scratch[..len]
    } else {
        let n = scratch.len();
        &mut scratch[n - len..]
    }
}
