//! Average pooling over the steps of a sequence (Keras' `AveragePooling1D` with
//! `padding='valid'`; PyTorch's `avg_pool1d` in floor mode without padding).
//!
//! A sequence of `L` steps of `C` features, stored `[L][C]`; windows of `P` steps moved by
//! `S`, rounded down (`OL = (L − P) / S + 1`), per feature:
//!
//! ```text
//! y[o][c] = Σ_p x[o·S + p][c] / P
//! ```
//!
//! Backward: each output gradient spreads evenly over its window. The layer is
//! [`AvgPool2D`] on an image of one row (see [`one_row`](super::one_row)).
//!
//! ```
//! use nn_core::layers::{AvgPool1D, Io, Layer};
//! // 4 steps of one feature, windows of 3 moved by 1: 2 outputs.
//! let mut y = [0.0; 2];
//! AvgPool1D::<4, 1, 3, 1>.infer(&[], &[], Io::Separate { x: &[1.0, 2.0, 6.0, 1.0], y: &mut y }, &mut []);
//! assert_eq!(y, [3.0, 3.0]);
//! ```

use super::one_row::one_row_layer;
use super::window::pool_output_len;
use super::{AvgPool2D, Layer};

/// Average pooling of a sequence of `L` steps of `C` features with windows of `P` steps and
/// stride `S`, no padding, floor mode: [`OL`](Self::OL) steps of `C` features.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AvgPool1D<const L: usize, const C: usize, const P: usize, const S: usize>;

impl<const L: usize, const C: usize, const P: usize, const S: usize> AvgPool1D<L, C, P, S> {
    /// Output steps.
    pub const OL: usize = pool_output_len(L, P, S);

    /// The 2-D pooling that computes it.
    const fn as_image(self) -> AvgPool2D<1, L, C, 1, P, 1, S> {
        AvgPool2D
    }
}

impl<const L: usize, const C: usize, const P: usize, const S: usize> Layer
    for AvgPool1D<L, C, P, S>
{
    const KIND: &'static str = "AvgPool1D";
    one_row_layer!(AvgPool2D<1, L, C, 1, P, 1, S>);
}
