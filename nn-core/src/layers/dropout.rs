//! Dropout (Keras' `Dropout`, PyTorch's `nn.Dropout`): during training, zeroes each value
//! with probability `rate` and scales the rest by `1 / (1 - rate)` (inverted dropout); at
//! inference it is the identity.
//!
//! ```
//! use nn_core::layers::{Dropout, Forward, Layer, Pass};
//! use nn_core::rng::Rng;
//! let d = Dropout::<8>::new(0.5);
//! let (x, mut y, mut mask) = ([1.0; 8], [0.0; 8], [0.0; 8]);
//! let f = Forward { params: &[], state: &mut [], x: &x, y: &mut y, cache: &mut mask,
//!                   scratch: &mut [], batch: 1 };
//! d.forward(f, &mut Pass::Train(&mut Rng::new(0)));
//! assert!(y.iter().all(|&v| v == 0.0 || v == 2.0));
//! ```

use super::contract::batch_values;
use super::{Backward, Forward, Io, Layer, Pass};
use crate::quant::{Quantize, Role};

/// Inverted dropout of `N` values per sample with a fixed rate in `[0, 1)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dropout<const N: usize> {
    rate: f32,
}

impl<const N: usize> Dropout<N> {
    /// Dropout that drops a fraction `rate` of the values.
    ///
    /// # Panics
    /// If `rate` is not in `[0, 1)` (the `model!` macro checks this at compile time).
    #[must_use]
    pub const fn new(rate: f32) -> Self {
        assert!(rate >= 0.0 && rate < 1.0, "dropout rate must be in [0, 1)");
        Self { rate }
    }

    /// The rate.
    #[must_use]
    pub const fn rate(&self) -> f32 {
        self.rate
    }
}

impl<const N: usize> Layer for Dropout<N> {
    const KIND: &'static str = "Dropout";
    const INPUT: usize = N;
    const OUTPUT: usize = N;
    const IN_PLACE: bool = true;
    /// The mask of a training pass: each entry `0` or `1 / (1 - rate)`.
    const CACHE: usize = N;

    /// The identity.
    fn infer(&self, _params: &[f32], _state: &[f32], io: Io<'_>, _scratch: &mut [f32]) {
        io.into_output(N);
    }

    /// Training: draws a fresh mask and writes `y = x * mask`. Inference: `y = x`.
    fn forward(&self, f: Forward<'_>, pass: &mut Pass<'_>) {
        let n = batch_values("Dropout", f.batch, N);
        let (x, y) = (&f.x[..n], &mut f.y[..n]);
        let Some(rng) = pass.rng() else {
            y.copy_from_slice(x);
            return;
        };
        let keep = 1.0 - self.rate;
        let scale = 1.0 / keep;
        for ((y, &x), m) in y.iter_mut().zip(x).zip(&mut f.cache[..n]) {
            *m = if rng.next_f32() < keep { scale } else { 0.0 };
            *y = x * *m;
        }
    }

    /// `dx = dy * mask` after a training pass, `dx = dy` after an inference pass.
    fn backward(&self, b: Backward<'_>) {
        let Some(dx) = b.dx else { return };
        let n = batch_values("Dropout", b.batch, N);
        if b.training {
            for ((dx, &dy), &m) in dx[..n].iter_mut().zip(&b.dy[..n]).zip(&b.cache[..n]) {
                *dx = dy * m;
            }
        } else {
            dx[..n].copy_from_slice(&b.dy[..n]);
        }
    }
}

/// int8: the identity, as in inference.
impl<const N: usize> Quantize for Dropout<N> {
    const ROLE: Role = Role::SameScale;

    fn infer_i8(&self, _block: &[u8], io: Io<'_, i8>) {
        io.into_output(N);
    }
}

#[cfg(test)]
mod tests {
    use super::Dropout;
    use crate::layers::{Backward, Forward, Layer, Pass};
    use crate::rng::Rng;

    #[test]
    fn keeps_about_one_minus_rate_and_preserves_the_mean() {
        const N: usize = 20_000;
        let d = Dropout::<N>::new(0.3);
        let x = std::vec![1.0f32; N];
        let (mut y, mut mask) = (std::vec![0.0; N], std::vec![0.0; N]);
        let f = Forward {
            params: &[],
            state: &mut [],
            x: &x,
            y: &mut y,
            cache: &mut mask,
            scratch: &mut [],
            batch: 1,
        };
        d.forward(f, &mut Pass::Train(&mut Rng::new(3)));
        let kept = y.iter().filter(|&&v| v != 0.0).count() as f32 / N as f32;
        let mean = y.iter().sum::<f32>() / N as f32;
        assert!((kept - 0.7).abs() < 0.02, "kept {kept}");
        assert!((mean - 1.0).abs() < 0.03, "mean {mean}");
        let mut dy = std::vec![2.0f32; N];
        let mut dx = std::vec![0.0; N];
        d.backward(Backward {
            params: &[],
            state: &[],
            x: &x,
            y: &y,
            cache: &mask,
            dy: &mut dy,
            dx: Some(&mut dx),
            grads: None,
            scratch: &mut [],
            batch: 1,
            training: true,
        });
        assert!(dx.iter().zip(&y).all(|(dx, y)| *dx == 2.0 * y));
    }

    #[test]
    fn inference_is_the_identity() {
        let d = Dropout::<3>::new(0.9);
        let (x, mut y) = ([1.0, -2.0, 3.0], [0.0; 3]);
        let f = Forward {
            params: &[],
            state: &mut [],
            x: &x,
            y: &mut y,
            cache: &mut [0.0; 3],
            scratch: &mut [],
            batch: 1,
        };
        d.forward(f, &mut Pass::Eval);
        assert_eq!(x, y);
    }
}
