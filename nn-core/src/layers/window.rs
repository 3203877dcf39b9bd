//! The window arithmetic of convolutions and pooling, along one axis: output sizes and
//! padding by Keras' rules. The layers' const generics and the `model!` macro's shape checks
//! both use these functions, so each rule is written once.

/// Output length along one axis of a convolution or pooling window: `n` input positions,
/// window `k`, stride `stride`. `'same'` (`same = true`, Keras/TensorFlow rule) gives
/// `ceil(n / stride)`; `'valid'` gives `(n − k) / stride + 1` (floor).
///
/// # Panics
/// With `'valid'` and `k > n`, or `stride == 0` (at compile time in a const context).
#[must_use]
pub const fn conv_output_len(n: usize, k: usize, stride: usize, same: bool) -> usize {
    if same {
        n.div_ceil(stride)
    } else {
        (n - k) / stride + 1
    }
}

/// Zero padding before the first position (top or left) along one axis. `'valid'`: 0.
/// `'same'` (Keras/TensorFlow rule): the total padding is
/// `max((ceil(n / stride) − 1) · stride + k − n, 0)`, of which the top/left gets half,
/// rounded down, and the bottom/right the rest.
///
/// # Panics
/// If `stride == 0`.
#[must_use]
pub const fn conv_padding_before(n: usize, k: usize, stride: usize, same: bool) -> usize {
    if same {
        let out = n.div_ceil(stride);
        ((out - 1) * stride + k).saturating_sub(n) / 2
    } else {
        0
    }
}

/// Output length of pooling along one axis (`'valid'`, floor mode): `n` positions, window
/// `k`, stride `s`.
///
/// # Panics
/// If `k > n` or `s == 0` (at compile time in a const context).
#[must_use]
pub const fn pool_output_len(n: usize, k: usize, s: usize) -> usize {
    conv_output_len(n, k, s, false)
}

/// Whether one axis of a pooling shape is consistent: `n` positions, window `k`, stride `s`,
/// `o` outputs in floor mode.
#[must_use]
pub const fn axis_ok(n: usize, k: usize, s: usize, o: usize) -> bool {
    k > 0 && s > 0 && k <= n && o == (n - k) / s + 1
}
