//! Dropout: during training, zeroes each value with probability `rate` and scales the rest by
//! `1 / (1 - rate)` (inverted dropout, as Keras and PyTorch do); at inference it is the
//! identity.
//!
//! ```
//! use nn_core::{layers::Dropout, rng::Rng};
//! let d = Dropout::new(0.5);
//! let x = [1.0; 8];
//! let (mut y, mut mask) = ([0.0; 8], [0.0; 8]);
//! d.forward_train(&x, &mut y, &mut mask, &mut Rng::new(0));
//! assert!(y.iter().all(|&v| v == 0.0 || v == 2.0));
//! ```

use crate::rng::Rng;

/// Inverted dropout with a fixed rate in `[0, 1)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dropout {
    rate: f32,
}

impl Dropout {
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

    /// Training forward pass: draws a fresh mask (each entry `0` or `1 / (1 - rate)`) and
    /// writes `y = x * mask`.
    pub fn forward_train(&self, x: &[f32], y: &mut [f32], mask: &mut [f32], rng: &mut Rng) {
        let keep = 1.0 - self.rate;
        let scale = 1.0 / keep;
        for ((y, &x), m) in y.iter_mut().zip(x).zip(mask.iter_mut()) {
            *m = if rng.next_f32() < keep { scale } else { 0.0 };
            *y = x * *m;
        }
    }

    /// Inference forward pass: `y = x`, and a mask of ones so that `backward` is the identity.
    pub fn forward_eval(x: &[f32], y: &mut [f32], mask: &mut [f32]) {
        y.copy_from_slice(&x[..y.len()]);
        mask.fill(1.0);
    }

    /// Backward pass: `dx = dy * mask`.
    pub fn backward(mask: &[f32], dy: &[f32], dx: &mut [f32]) {
        for ((dx, &dy), &m) in dx.iter_mut().zip(dy).zip(mask) {
            *dx = dy * m;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Dropout;
    use crate::rng::Rng;

    #[test]
    fn keeps_about_one_minus_rate_and_preserves_the_mean() {
        let d = Dropout::new(0.3);
        let x = std::vec![1.0f32; 20_000];
        let (mut y, mut mask) = (std::vec![0.0; 20_000], std::vec![0.0; 20_000]);
        d.forward_train(&x, &mut y, &mut mask, &mut Rng::new(3));
        let kept = y.iter().filter(|&&v| v != 0.0).count() as f32 / 20_000.0;
        let mean = y.iter().sum::<f32>() / 20_000.0;
        assert!((kept - 0.7).abs() < 0.02, "kept {kept}");
        assert!((mean - 1.0).abs() < 0.03, "mean {mean}");
        let dy = std::vec![2.0f32; 20_000];
        let mut dx = std::vec![0.0; 20_000];
        Dropout::backward(&mask, &dy, &mut dx);
        assert!(dx.iter().zip(&y).all(|(dx, y)| *dx == 2.0 * y));
    }
}
