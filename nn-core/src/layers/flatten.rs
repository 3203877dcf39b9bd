//! Flatten (Keras' `Flatten`, PyTorch's `nn.Flatten`): an image of `N` values read as a
//! vector of `N`. Values keep their order in memory (channels last, see
//! [`layers`](super)), so the layer is never called: its output *is* its input
//! ([`Layer::RESHAPE`]). Weight files still see PyTorch's channel-first order where it
//! matters (see [`Tensor::input_axis`](super::Tensor::input_axis)).

use super::contract::batch_values;
use super::{Backward, Forward, Io, Layer, Pass};
use crate::quant::{Quantize, Role};

/// Reads `N` values per sample as a flat vector.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flatten<const N: usize>;

impl<const N: usize> Layer for Flatten<N> {
    const KIND: &'static str = "Flatten";
    const INPUT: usize = N;
    const OUTPUT: usize = N;
    const IN_PLACE: bool = true;
    const RESHAPE: bool = true;

    fn infer(&self, _params: &[f32], _state: &[f32], io: Io<'_>, _scratch: &mut [f32]) {
        io.into_output(N);
    }

    fn forward(&self, f: Forward<'_>, _pass: &mut Pass<'_>) {
        let n = batch_values("Flatten", f.batch, N);
        f.y[..n].copy_from_slice(&f.x[..n]);
    }

    fn backward(&self, b: Backward<'_>) {
        if let Some(dx) = b.dx {
            let n = batch_values("Flatten", b.batch, N);
            dx[..n].copy_from_slice(&b.dy[..n]);
        }
    }
}

/// int8: the identity (never called, as in f32).
impl<const N: usize> Quantize for Flatten<N> {
    const ROLE: Role = Role::SameScale;

    fn infer_i8(&self, _block: &[u8], io: Io<'_, i8>) {
        io.into_output(N);
    }
}
