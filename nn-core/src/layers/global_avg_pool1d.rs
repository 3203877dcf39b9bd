//! Global average pooling over the steps of a sequence (Keras' `GlobalAveragePooling1D`;
//! PyTorch's `x.mean(dim=2)` on `[N, C, L]`): the mean of each of the `C` features over the
//! `L` steps.
//!
//! ```text
//! y[c] = Σ_l x[l][c] / L
//! ```
//!
//! Backward: `dx[l][c] = dy[c] / L` at every step. The layer is [`GlobalAvgPool2D`] on an
//! image of one row (see [`one_row`](super::one_row)).
//!
//! ```
//! use nn_core::layers::{GlobalAvgPool1D, Io, Layer};
//! // 3 steps of 2 features.
//! let mut y = [0.0; 2];
//! GlobalAvgPool1D::<3, 2>.infer(&[], &[], Io::Separate { x: &[1.0, 0.0, 2.0, 3.0, 6.0, 3.0], y: &mut y }, &mut []);
//! assert_eq!(y, [3.0, 2.0]);
//! ```

use super::one_row::one_row_layer;
use super::{GlobalAvgPool2D, Layer};

/// Global average pooling of a sequence of `L` steps of `C` features to its `C` means.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GlobalAvgPool1D<const L: usize, const C: usize>;

impl<const L: usize, const C: usize> GlobalAvgPool1D<L, C> {
    /// The 2-D pooling that computes it.
    const fn as_image(self) -> GlobalAvgPool2D<1, L, C> {
        GlobalAvgPool2D
    }
}

impl<const L: usize, const C: usize> Layer for GlobalAvgPool1D<L, C> {
    const KIND: &'static str = "GlobalAvgPool1D";
    one_row_layer!(GlobalAvgPool2D<1, L, C>);
}
