//! Average pooling (Keras' `AveragePooling2D` with `padding='valid'`; PyTorch's
//! `avg_pool2d` in floor mode without padding).
//!
//! Images are stored **HWC, channels last**, one sample after another. With windows of
//! `PH × PW` moved by strides `SH × SW`, no padding, and the output size rounded down, per
//! channel:
//!
//! ```text
//! y[oh][ow][c] = Σ_{ph, pw} x[oh·SH + ph][ow·SW + pw][c] / (PH · PW)
//! ```
//!
//! Backward: each output gradient spreads evenly over its window; where windows overlap,
//! contributions add up.
//!
//! ```
//! use nn_core::layers::{AvgPool2D, Io, Layer};
//! let x = [1.0, 5.0, 2.0, 0.0,
//!          3.0, 4.0, 8.0, 8.0];
//! let mut y = [0.0; 2];
//! AvgPool2D::<2, 4, 1, 2, 2, 2, 2>.infer(&[], &[], Io::Separate { x: &x, y: &mut y }, &mut []);
//! assert_eq!(y, [3.25, 4.5]);
//! ```

use super::contract::batch_values;
use super::window::{axis_ok, pool_output_len};
use super::{Backward, Forward, Io, Layer, Pass};
use crate::quant::{Quantize, Role};

/// Average pooling of an `H × W × C` image (HWC) with `PH × PW` windows and strides
/// `SH × SW`, no padding, floor mode: an `OH × OW × C` image with `OH = (H − PH) / SH + 1`
/// and `OW = (W − PW) / SW + 1` (checked at compile time when the layer is used). Every
/// window is whole, so every average divides by `PH * PW`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AvgPool2D<
    const H: usize,
    const W: usize,
    const C: usize,
    const PH: usize,
    const PW: usize,
    const SH: usize,
    const SW: usize,
>;

impl<
        const H: usize,
        const W: usize,
        const C: usize,
        const PH: usize,
        const PW: usize,
        const SH: usize,
        const SW: usize,
    > AvgPool2D<H, W, C, PH, PW, SH, SW>
{
    /// Output rows.
    pub const OH: usize = pool_output_len(H, PH, SH);
    /// Output columns.
    pub const OW: usize = pool_output_len(W, PW, SW);
    /// Values per input sample, `H * W * C`.
    const IN: usize = H * W * C;
    /// Values per output sample, `OH * OW * C`.
    const OUT: usize = Self::OH * Self::OW * C;

    const SHAPE_OK: () = assert!(
        C > 0 && axis_ok(H, PH, SH, Self::OH) && axis_ok(W, PW, SW, Self::OW),
        "AvgPool2D: inconsistent shape (need a window no larger than the image)"
    );

    /// Values per window, as a divisor.
    #[allow(clippy::cast_precision_loss)]
    const COUNT: f32 = (PH * PW) as f32;

    /// One sample: `x` holds `H * W * C` values, `y` receives `OH * OW * C`.
    fn pool_one(x: &[f32], y: &mut [f32]) {
        let () = Self::SHAPE_OK;
        let (x, y) = (&x[..Self::IN], &mut y[..Self::OUT]);
        for oh in 0..Self::OH {
            for ow in 0..Self::OW {
                let out = &mut y[(oh * Self::OW + ow) * C..][..C];
                let corner = (oh * SH * W + ow * SW) * C;
                out.fill(0.0);
                for ph in 0..PH {
                    for pw in 0..PW {
                        let row = &x[corner + (ph * W + pw) * C..][..C];
                        for (o, &v) in out.iter_mut().zip(row) {
                            *o += v;
                        }
                    }
                }
                for o in out {
                    *o /= Self::COUNT;
                }
            }
        }
    }

    /// The backward pass of a batch: `dx` (overwritten) receives each output gradient divided by
    /// `PH * PW` on every position of its window.
    fn pool_backward(dy: &[f32], dx: &mut [f32], batch: usize) {
        let () = Self::SHAPE_OK;
        let dx = &mut dx[..batch_values("AvgPool2D", batch, Self::IN)];
        dx.fill(0.0);
        for (dys, dxs) in dy[..batch_values("AvgPool2D", batch, Self::OUT)]
            .chunks_exact(Self::OUT)
            .zip(dx.chunks_exact_mut(Self::IN))
        {
            for oh in 0..Self::OH {
                for ow in 0..Self::OW {
                    let g = &dys[(oh * Self::OW + ow) * C..][..C];
                    let corner = (oh * SH * W + ow * SW) * C;
                    for ph in 0..PH {
                        for pw in 0..PW {
                            let row = &mut dxs[corner + (ph * W + pw) * C..][..C];
                            for (d, &g) in row.iter_mut().zip(g) {
                                *d += g / Self::COUNT;
                            }
                        }
                    }
                }
            }
        }
    }
}

impl<
        const H: usize,
        const W: usize,
        const C: usize,
        const PH: usize,
        const PW: usize,
        const SH: usize,
        const SW: usize,
    > Layer for AvgPool2D<H, W, C, PH, PW, SH, SW>
{
    const KIND: &'static str = "AvgPool2D";
    const INPUT: usize = Self::IN;
    const OUTPUT: usize = Self::OUT;

    fn infer(&self, _params: &[f32], _state: &[f32], io: Io<'_>, _scratch: &mut [f32]) {
        let () = Self::SHAPE_OK;
        let (x, y) = io.split();
        Self::pool_one(x, y);
    }

    fn forward(&self, f: Forward<'_>, _pass: &mut Pass<'_>) {
        let () = Self::SHAPE_OK;
        let (inputs, outputs) = (
            batch_values("AvgPool2D", f.batch, Self::IN),
            batch_values("AvgPool2D", f.batch, Self::OUT),
        );
        for (xs, ys) in f.x[..inputs]
            .chunks_exact(Self::IN)
            .zip(f.y[..outputs].chunks_exact_mut(Self::OUT))
        {
            Self::pool_one(xs, ys);
        }
    }

    fn backward(&self, b: Backward<'_>) {
        if let Some(dx) = b.dx {
            Self::pool_backward(b.dy, dx, b.batch);
        }
    }
}

/// int8: TFLite's rounded integer mean, in the input's scale (see [`quant`](crate::quant)).
impl<
        const H: usize,
        const W: usize,
        const C: usize,
        const PH: usize,
        const PW: usize,
        const SH: usize,
        const SW: usize,
    > Quantize for AvgPool2D<H, W, C, PH, PW, SH, SW>
{
    const ROLE: Role = Role::SameScale;

    fn infer_i8(&self, _block: &[u8], io: Io<'_, i8>) {
        let () = Self::SHAPE_OK;
        let (x, y) = io.split();
        let (x, y) = (&x[..Self::IN], &mut y[..Self::OUT]);
        for oh in 0..Self::OH {
            for ow in 0..Self::OW {
                let corner = (oh * SH * W + ow * SW) * C;
                for c in 0..C {
                    let mut sum = 0i32;
                    for ph in 0..PH {
                        for pw in 0..PW {
                            sum += i32::from(x[corner + (ph * W + pw) * C + c]);
                        }
                    }
                    // TFLite's rounded mean: half away from zero.
                    #[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
                    let count = (PH * PW) as i32;
                    let mean = if sum > 0 {
                        (sum + count / 2) / count
                    } else {
                        (sum - count / 2) / count
                    };
                    y[(oh * Self::OW + ow) * C + c] = crate::quant::clamp_i8(mean, -128, 127);
                }
            }
        }
    }
}
