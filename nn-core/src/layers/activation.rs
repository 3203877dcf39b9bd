//! An activation as a layer of its own (Keras' `Activation`, `ReLU`, `LeakyReLU`, `Sigmoid`,
//! `Tanh`, `Softmax`; PyTorch's `nn.ReLU` and the like): `y = f(x)` for any
//! [`ActivationFn`], built-in or your own.
//!
//! ```
//! use nn_core::activations::Relu;
//! use nn_core::layers::{Activation, Io, Layer};
//! let mut v = [-1.0, 2.0];
//! Activation::<2, Relu>::new(Relu).infer(&[], &[], Io::InPlace(&mut v), &mut []);
//! assert_eq!(v, [0.0, 2.0]);
//! ```

use super::contract::batch_values;
use super::{Backward, Forward, Io, Layer, Pass};
use crate::activations::ActivationFn;
use crate::quant::{clamp_i8, Fuse, Header, Quantize, Role};

/// The activation `A` applied to `N` values per sample (softmax over all `N`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Activation<const N: usize, A> {
    /// The function.
    pub function: A,
}

impl<const N: usize, A: ActivationFn> Activation<N, A> {
    /// The layer applying `function`.
    #[must_use]
    pub const fn new(function: A) -> Self {
        Self { function }
    }
}

impl<const N: usize, A: ActivationFn> Layer for Activation<N, A> {
    const KIND: &'static str = "Activation";
    const INPUT: usize = N;
    const OUTPUT: usize = N;
    const IN_PLACE: bool = true;

    fn infer(&self, _params: &[f32], _state: &[f32], io: Io<'_>, _scratch: &mut [f32]) {
        self.function.forward(io.into_output(N), N);
    }

    fn forward(&self, f: Forward<'_>, _pass: &mut Pass<'_>) {
        let n = batch_values("Activation", f.batch, N);
        let y = &mut f.y[..n];
        y.copy_from_slice(&f.x[..n]);
        self.function.forward(y, N);
    }

    fn backward(&self, b: Backward<'_>) {
        let Some(dx) = b.dx else { return };
        let n = batch_values("Activation", b.batch, N);
        let dx = &mut dx[..n];
        dx.copy_from_slice(&b.dy[..n]);
        let x: &[f32] = if A::USES_INPUT { &b.x[..n] } else { &[] };
        self.function.backward(x, &b.y[..n], dx, N);
    }
}

/// int8: ReLU clamps at the zero point in place (the scale is kept); `linear` is the identity;
/// any other function only as the last layer, in f32 after dequantizing ([`finish`](Quantize::finish)).
impl<const N: usize, A: ActivationFn> Quantize for Activation<N, A> {
    const ROLE: Role = Role::SameScale;

    fn fuse(&self) -> Fuse {
        Fuse::of(&self.function)
    }

    fn preactivation(&self, _params: &[f32], _state: &[f32], x: &[f32], y: &mut [f32]) {
        y[..N].copy_from_slice(&x[..N]);
    }

    fn infer_i8(&self, block: &[u8], io: Io<'_, i8>) {
        let y = io.into_output(N);
        if self.fuse() == Fuse::Relu {
            let zero = Header::read(block).output.zero_point;
            for v in y {
                *v = clamp_i8(i32::from(*v), zero, 127);
            }
        }
    }

    fn finish(&self, y: &mut [f32]) {
        if let Fuse::Other(_) = self.fuse() {
            self.function.forward(y, N);
        }
    }
}
