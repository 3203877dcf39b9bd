//! Global max pooling (Keras' `GlobalMaxPooling2D`; PyTorch's `adaptive_max_pool2d(x, 1)`
//! then flatten): the largest value of each channel of an `H × W × C` image (HWC) over all
//! `H * W` positions, giving `C` values per sample.
//!
//! ```text
//! y[c] = max_{r, col} x[r][col][c]
//! ```
//!
//! Backward: each channel's gradient goes to the position of its maximum, the **first** one
//! in row-major order on ties, and a NaN counts as the maximum (PyTorch's rules, as for
//! [`MaxPool2D`](super::MaxPool2D)). The position is recomputed from `x` in the backward
//! pass, so nothing is kept between the passes.
//!
//! ```
//! use nn_core::layers::{GlobalMaxPool2D, Io, Layer};
//! // A 2×2 image with two channels.
//! let x = [1.0, -1.0,   5.0, -3.0,
//!          2.0, -2.0,   5.0, -4.0];
//! let mut max = [0.0; 2];
//! GlobalMaxPool2D::<2, 2, 2>.infer(&[], &[], Io::Separate { x: &x, y: &mut max }, &mut []);
//! assert_eq!(max, [5.0, -1.0]);
//! ```

use super::contract::batch_values;
use super::{Backward, Forward, Io, Layer, Pass};

/// Global max pooling of an `H × W × C` image to the largest value of each channel.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GlobalMaxPool2D<const H: usize, const W: usize, const C: usize>;

/// Whether `v` replaces the running maximum `best`: strictly greater (so the first of equal
/// values wins), or NaN (propagated), PyTorch's rule.
#[inline(always)]
fn beats(v: f32, best: f32) -> bool {
    v > best || v.is_nan()
}

impl<const H: usize, const W: usize, const C: usize> GlobalMaxPool2D<H, W, C> {
    const SHAPE_OK: () = assert!(H > 0 && W > 0 && C > 0, "GlobalMaxPool2D: zero size");

    /// One sample: `x` holds `H * W * C` values, `y` receives `C`.
    fn pool_one(x: &[f32], y: &mut [f32]) {
        let y = &mut y[..C];
        let mut pixels = x[..H * W * C].chunks_exact(C);
        if let Some(first) = pixels.next() {
            y.copy_from_slice(first);
        }
        for pixel in pixels {
            for (best, &v) in y.iter_mut().zip(pixel) {
                *best = if beats(v, *best) { v } else { *best };
            }
        }
    }
}

impl<const H: usize, const W: usize, const C: usize> Layer for GlobalMaxPool2D<H, W, C> {
    const KIND: &'static str = "GlobalMaxPool2D";
    const INPUT: usize = H * W * C;
    const OUTPUT: usize = C;

    fn infer(&self, _params: &[f32], _state: &[f32], io: Io<'_>, _scratch: &mut [f32]) {
        let () = Self::SHAPE_OK;
        let (x, y) = io.split();
        Self::pool_one(x, y);
    }

    fn forward(&self, f: Forward<'_>, _pass: &mut Pass<'_>) {
        let () = Self::SHAPE_OK;
        let inputs = batch_values("GlobalMaxPool2D", f.batch, Self::INPUT);
        let outputs = batch_values("GlobalMaxPool2D", f.batch, C);
        for (xs, ys) in f.x[..inputs]
            .chunks_exact(Self::INPUT)
            .zip(f.y[..outputs].chunks_exact_mut(C))
        {
            Self::pool_one(xs, ys);
        }
    }

    /// Routes `dy[c]` to the first position where channel `c` reaches its maximum `y[c]`.
    fn backward(&self, b: Backward<'_>) {
        let Some(dx) = b.dx else { return };
        let inputs = batch_values("GlobalMaxPool2D", b.batch, Self::INPUT);
        let outputs = batch_values("GlobalMaxPool2D", b.batch, C);
        let dx = &mut dx[..inputs];
        dx.fill(0.0);
        let samples = b.x[..inputs]
            .chunks_exact(Self::INPUT)
            .zip(dx.chunks_exact_mut(Self::INPUT))
            .zip(
                b.y[..outputs]
                    .chunks_exact(C)
                    .zip(b.dy[..outputs].chunks_exact(C)),
            );
        for ((xs, dxs), (ys, dys)) in samples {
            for c in 0..C {
                let hit = xs
                    .iter()
                    .skip(c)
                    .step_by(C)
                    .position(|&v| v == ys[c] || (v.is_nan() && ys[c].is_nan()));
                if let Some(p) = hit {
                    dxs[p * C + c] = dys[c];
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::GlobalMaxPool2D;
    use crate::layers::{Backward, Forward, Layer, Pass};
    use crate::rng::Rng;
    use std::vec::Vec;

    fn forward(x: &[f32], batch: usize) -> Vec<f32> {
        let mut y = std::vec![0.0; batch * 3];
        let f = Forward {
            params: &[],
            state: &mut [],
            x,
            y: &mut y,
            cache: &mut [],
            scratch: &mut [],
            batch,
        };
        GlobalMaxPool2D::<2, 3, 3>.forward(f, &mut Pass::Eval);
        y
    }

    fn backward(x: &[f32], y: &[f32], dy: &[f32], batch: usize) -> Vec<f32> {
        let mut dx = std::vec![f32::NAN; batch * 18];
        let mut dy = dy.to_vec();
        GlobalMaxPool2D::<2, 3, 3>.backward(Backward {
            params: &[],
            state: &[],
            x,
            y,
            cache: &[],
            dy: &mut dy,
            dx: Some(&mut dx),
            grads: None,
            scratch: &mut [],
            batch,
            training: false,
        });
        dx
    }

    #[test]
    fn the_maximum_of_each_channel_and_its_gradient_at_the_first_maximum() {
        // Two samples of 2×3 pixels × 3 channels; channel c of pixel p is 10 p + c, except
        // a tie in channel 1 of sample 0 (pixels 2 and 5 both 99) and a NaN in channel 2 of
        // sample 1 (pixel 3).
        let mut x: Vec<f32> = (0..36)
            .map(|i| ((i % 18) / 3 * 10 + i % 3) as f32)
            .collect();
        x[2 * 3 + 1] = 99.0;
        x[5 * 3 + 1] = 99.0;
        x[18 + 3 * 3 + 2] = f32::NAN;
        let y = forward(&x, 2);
        assert_eq!(y[..3], [50.0, 99.0, 52.0]);
        assert_eq!(y[3..5], [50.0, 51.0]);
        assert!(y[5].is_nan());
        let dx = backward(&x, &y, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 2);
        let mut want = std::vec![0.0; 36];
        want[5 * 3] = 1.0; // sample 0, channel 0: pixel 5
        want[2 * 3 + 1] = 2.0; // channel 1: the first of the tied pixels
        want[5 * 3 + 2] = 3.0;
        want[18 + 5 * 3] = 4.0;
        want[18 + 5 * 3 + 1] = 5.0;
        want[18 + 3 * 3 + 2] = 6.0; // the NaN
        assert_eq!(dx, want);
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn backward_matches_finite_differences() {
        let mut rng = Rng::new(8);
        let x: Vec<f32> = (0..54).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let r: Vec<f32> = (0..9).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let y = forward(&x, 3);
        let dx = backward(&x, &y, &r, 3);
        let objective = |xs: &[f32]| {
            forward(xs, 3)
                .iter()
                .zip(&r)
                .map(|(y, r)| f64::from(*y) * f64::from(*r))
                .sum::<f64>()
        };
        let check = crate::gradcheck::check(&x, &dx, 0..x.len(), 1e-3, 1e-3, 1e-6, objective);
        assert!(check.passed(), "{check}");
        assert_eq!(check.checked, x.len());
    }
}
