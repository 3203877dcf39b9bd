//! Max pooling over the steps of a sequence (Keras' `MaxPooling1D` with `padding='valid'`;
//! PyTorch's `max_pool1d` in floor mode without padding).
//!
//! A sequence of `L` steps of `C` features, stored `[L][C]`; windows of `P` steps moved by
//! `S`, rounded down (`OL = (L − P) / S + 1`), per feature:
//!
//! ```text
//! y[o][c] = max_p x[o·S + p][c]
//! ```
//!
//! Backward: each output gradient goes to its window's first maximum (PyTorch's rule). The
//! layer is [`MaxPool2D`] on an image of one row (see [`one_row`](super::one_row)).
//!
//! ```
//! use nn_core::layers::{Io, Layer, MaxPool1D};
//! // 5 steps of 2 features, windows of 2: 2 outputs (the last step is never read).
//! let x = [1.0, -1.0,  3.0, -2.0,  0.0, 5.0,  2.0, 4.0,  9.0, 9.0];
//! let mut y = [0.0; 4];
//! MaxPool1D::<5, 2, 2, 2>.infer(&[], &[], Io::Separate { x: &x, y: &mut y }, &mut []);
//! assert_eq!(y, [3.0, -1.0, 2.0, 5.0]);
//! ```

use super::one_row::one_row_layer;
use super::window::pool_output_len;
use super::{Layer, MaxPool2D};

/// Max pooling of a sequence of `L` steps of `C` features with windows of `P` steps and
/// stride `S`, no padding, floor mode: [`OL`](Self::OL) steps of `C` features.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MaxPool1D<const L: usize, const C: usize, const P: usize, const S: usize>;

impl<const L: usize, const C: usize, const P: usize, const S: usize> MaxPool1D<L, C, P, S> {
    /// Output steps.
    pub const OL: usize = pool_output_len(L, P, S);

    /// The 2-D pooling that computes it.
    const fn as_image(self) -> MaxPool2D<1, L, C, 1, P, 1, S> {
        MaxPool2D
    }
}

impl<const L: usize, const C: usize, const P: usize, const S: usize> Layer
    for MaxPool1D<L, C, P, S>
{
    const KIND: &'static str = "MaxPool1D";
    one_row_layer!(MaxPool2D<1, L, C, 1, P, 1, S>);
}
