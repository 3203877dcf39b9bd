//! Global max pooling over the steps of a sequence (Keras' `GlobalMaxPooling1D`; PyTorch's
//! `x.amax(dim=2)` on `[N, C, L]`, or `adaptive_max_pool1d(x, 1)`): the largest value of each
//! of the `C` features over the `L` steps.
//!
//! ```text
//! y[c] = max_l x[l][c]
//! ```
//!
//! Backward: each gradient goes to the first step holding its feature's maximum (NaN counts
//! as the maximum). The layer is [`MaxPool2D`] with one window over the whole sequence, on an
//! image of one row (see [`one_row`](super::one_row)): the same comparisons and tie rule as
//! [`MaxPool1D`](super::MaxPool1D).
//!
//! ```
//! use nn_core::layers::{GlobalMaxPool1D, Io, Layer};
//! // 3 steps of 2 features.
//! let mut y = [0.0; 2];
//! GlobalMaxPool1D::<3, 2>.infer(&[], &[], Io::Separate { x: &[1.0, 0.0, 2.0, 3.0, 6.0, -3.0], y: &mut y }, &mut []);
//! assert_eq!(y, [6.0, 3.0]);
//! ```

use super::one_row::one_row_layer;
use super::{Layer, MaxPool2D};

/// Global max pooling of a sequence of `L` steps of `C` features to its `C` maxima.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GlobalMaxPool1D<const L: usize, const C: usize>;

impl<const L: usize, const C: usize> GlobalMaxPool1D<L, C> {
    /// The 2-D pooling that computes it: one window of `L` steps.
    const fn as_image(self) -> MaxPool2D<1, L, C, 1, L, 1, L> {
        MaxPool2D
    }
}

impl<const L: usize, const C: usize> Layer for GlobalMaxPool1D<L, C> {
    const KIND: &'static str = "GlobalMaxPool1D";
    one_row_layer!(MaxPool2D<1, L, C, 1, L, 1, L>);
}
