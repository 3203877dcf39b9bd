//! Global average pooling (Keras' `GlobalAveragePooling2D`; PyTorch's
//! `adaptive_avg_pool2d(x, 1)` then flatten): the mean of each channel of an `H × W × C`
//! image (HWC) over all `H * W` positions, giving `C` values per sample.
//!
//! ```text
//! y[c] = Σ_{r, col} x[r][col][c] / (H · W)
//! ```
//!
//! Backward: `dx[r][col][c] = dy[c] / (H · W)` at every position.
//!
//! ```
//! use nn_core::layers::{GlobalAvgPool2D, Io, Layer};
//! let x = [1.0, 5.0, 2.0, 0.0,
//!          3.0, 4.0, 8.0, 8.0];
//! let mut mean = [0.0; 1];
//! GlobalAvgPool2D::<2, 4, 1>.infer(&[], &[], Io::Separate { x: &x, y: &mut mean }, &mut []);
//! assert_eq!(mean, [31.0 / 8.0]);
//! ```

use super::contract::batch_values;
use super::{Backward, Forward, Io, Layer, Pass};

/// Global average pooling of an `H × W × C` image to its `C` channel means.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GlobalAvgPool2D<const H: usize, const W: usize, const C: usize>;

impl<const H: usize, const W: usize, const C: usize> GlobalAvgPool2D<H, W, C> {
    const SHAPE_OK: () = assert!(H > 0 && W > 0 && C > 0, "GlobalAvgPool2D: zero size");

    /// Values per channel, as a divisor.
    #[allow(clippy::cast_precision_loss)]
    const COUNT: f32 = (H * W) as f32;

    /// One sample: `x` holds `H * W * C` values, `y` receives `C`.
    fn pool_one(x: &[f32], y: &mut [f32]) {
        let y = &mut y[..C];
        y.fill(0.0);
        for row in x[..H * W * C].chunks_exact(C) {
            for (o, &v) in y.iter_mut().zip(row) {
                *o += v;
            }
        }
        for o in y {
            *o /= Self::COUNT;
        }
    }
}

impl<const H: usize, const W: usize, const C: usize> Layer for GlobalAvgPool2D<H, W, C> {
    const KIND: &'static str = "GlobalAvgPool2D";
    const INPUT: usize = H * W * C;
    const OUTPUT: usize = C;

    fn infer(&self, _params: &[f32], _state: &[f32], io: Io<'_>, _scratch: &mut [f32]) {
        let () = Self::SHAPE_OK;
        let (x, y) = io.split();
        Self::pool_one(x, y);
    }

    fn forward(&self, f: Forward<'_>, _pass: &mut Pass<'_>) {
        let () = Self::SHAPE_OK;
        let (inputs, outputs) = (
            batch_values("GlobalAvgPool2D", f.batch, Self::INPUT),
            batch_values("GlobalAvgPool2D", f.batch, C),
        );
        for (xs, ys) in f.x[..inputs]
            .chunks_exact(Self::INPUT)
            .zip(f.y[..outputs].chunks_exact_mut(C))
        {
            Self::pool_one(xs, ys);
        }
    }

    fn backward(&self, b: Backward<'_>) {
        let Some(dx) = b.dx else { return };
        let (inputs, outputs) = (
            batch_values("GlobalAvgPool2D", b.batch, Self::INPUT),
            batch_values("GlobalAvgPool2D", b.batch, C),
        );
        for (g, dxs) in b.dy[..outputs]
            .chunks_exact(C)
            .zip(dx[..inputs].chunks_exact_mut(Self::INPUT))
        {
            for row in dxs.chunks_exact_mut(C) {
                for (d, &g) in row.iter_mut().zip(g) {
                    *d = g / Self::COUNT;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::GlobalAvgPool2D;
    use crate::layers::{Backward, Forward, Layer, Pass};
    use std::vec::Vec;

    #[test]
    fn global_average_and_its_gradient() {
        let g = GlobalAvgPool2D::<3, 2, 2>;
        let x: Vec<f32> = (0..24).map(|v| v as f32).collect();
        let mut y = [0.0; 4];
        let f = Forward {
            params: &[],
            state: &mut [],
            x: &x,
            y: &mut y,
            cache: &mut [],
            scratch: &mut [],
            batch: 2,
        };
        g.forward(f, &mut Pass::Eval);
        // Channel 0 of sample 0: 0, 2, ..., 10 → 5.
        assert_eq!(y, [5.0, 6.0, 17.0, 18.0]);
        let mut dx = [f32::NAN; 24];
        g.backward(Backward {
            params: &[],
            state: &[],
            x: &x,
            y: &y,
            cache: &[],
            dy: &mut [6.0, 12.0, -6.0, 0.0],
            dx: Some(&mut dx),
            grads: None,
            scratch: &mut [],
            batch: 2,
            training: false,
        });
        assert!(dx[..12].chunks(2).all(|p| p == [1.0, 2.0]));
        assert!(dx[12..].chunks(2).all(|p| p == [-1.0, 0.0]));
    }
}
