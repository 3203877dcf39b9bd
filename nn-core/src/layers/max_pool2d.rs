//! Max pooling (Keras' `MaxPooling2D` with `padding='valid'`; PyTorch's `max_pool2d` in floor
//! mode without padding).
//!
//! Images are stored **HWC, channels last**, one sample after another. With windows of
//! `PH × PW` moved by strides `SH × SW`, no padding, and the output size rounded down
//! (`OH = (H − PH) / SH + 1`, `OW = (W − PW) / SW + 1`; rows and columns no window reaches
//! are ignored), per channel:
//!
//! ```text
//! y[oh][ow][c] = max_{ph, pw} x[oh·SH + ph][ow·SW + pw][c]
//! ```
//!
//! Backward: each output gradient goes to the position of its window's maximum, the
//! **first** one in row-major window order on ties (as PyTorch; a NaN counts as the maximum,
//! as in PyTorch). The argmax is **recomputed from `x`** in the backward pass with exactly
//! the forward pass's comparison, so nothing is stored between the passes. Where windows
//! overlap (stride smaller than the window), contributions add up.
//!
//! ```
//! use nn_core::layers::{Backward, Io, Layer, MaxPool2D};
//! // A 2×4 single-channel image, 2×2 windows, stride 2: a 1×2 output.
//! let pool = MaxPool2D::<2, 4, 1, 2, 2, 2, 2>;
//! let x = [1.0, 5.0, 2.0, 0.0,
//!          3.0, 4.0, 8.0, 8.0];
//! let mut y = [0.0; 2];
//! pool.infer(&[], &[], Io::Separate { x: &x, y: &mut y }, &mut []);
//! assert_eq!(y, [5.0, 8.0]);
//! // The gradient goes to each window's maximum; of the tied 8s, to the first.
//! let mut dx = [0.0; 8];
//! pool.backward(Backward { params: &[], state: &[], x: &x, y: &y, cache: &[],
//!     dy: &mut [1.0, 2.0], dx: Some(&mut dx), grads: None, scratch: &mut [], batch: 1,
//!     training: false });
//! assert_eq!(dx, [0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 2.0, 0.0]);
//! ```

use super::contract::batch_values;
use super::window::{axis_ok, pool_output_len};
use super::{Backward, Forward, Io, Layer, Pass};
use crate::quant::{Quantize, Role};

/// Whether `v` replaces the running maximum `best`: strictly greater (so the first of equal
/// values wins), or NaN (propagated), exactly PyTorch's rule.
#[inline(always)]
fn beats(v: f32, best: f32) -> bool {
    v > best || v.is_nan()
}

/// The first `width` (at most 16) values of `src` in an array, zeros after: a copy of known
/// length when `width` is 16 (no call to `memcpy`).
#[inline(always)]
fn load16(src: &[f32], width: usize) -> [f32; 16] {
    let mut v = [0.0f32; 16];
    if width == 16 {
        v.copy_from_slice(&src[..16]);
    } else {
        v[..width].copy_from_slice(&src[..width]);
    }
    v
}

/// The first `width` (at most 16) values of `v` into `dst`, as [`load16`] reads them.
#[inline(always)]
fn store16(v: &[f32; 16], dst: &mut [f32], width: usize) {
    if width == 16 {
        dst[..16].copy_from_slice(v);
    } else {
        dst[..width].copy_from_slice(&v[..width]);
    }
}

/// Max pooling of an `H × W × C` image (HWC) with `PH × PW` windows and strides `SH × SW`,
/// no padding, floor mode: an `OH × OW × C` image with `OH = (H − PH) / SH + 1` and
/// `OW = (W − PW) / SW + 1` (checked at compile time when the layer is used).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MaxPool2D<
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
    > MaxPool2D<H, W, C, PH, PW, SH, SW>
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
        "MaxPool2D: inconsistent shape (need a window no larger than the image)"
    );

    /// One sample: `x` holds `H * W * C` values, `y` receives `OH * OW * C`.
    #[inline(always)]
    fn pool_one(x: &[f32], y: &mut [f32]) {
        let () = Self::SHAPE_OK;
        let (x, y) = (&x[..Self::IN], &mut y[..Self::OUT]);
        for oh in 0..Self::OH {
            for ow in 0..Self::OW {
                let out = &mut y[(oh * Self::OW + ow) * C..][..C];
                let corner = (oh * SH * W + ow * SW) * C;
                // 16 channels at a time in a local array, which the compiler knows aliases
                // nothing, so the loop vectorises at every level.
                for c0 in (0..C).step_by(16) {
                    let width = (C - c0).min(16);
                    let mut best = load16(&x[corner + c0..], width);
                    for ph in 0..PH {
                        for pw in 0..PW {
                            if ph == 0 && pw == 0 {
                                continue;
                            }
                            let v = load16(&x[corner + (ph * W + pw) * C + c0..], width);
                            for (o, &v) in best.iter_mut().zip(&v) {
                                *o = if beats(v, *o) { v } else { *o };
                            }
                        }
                    }
                    store16(&best, &mut out[c0..], width);
                }
            }
        }
    }

    /// The backward pass of a batch: `dx` (overwritten) receives each output gradient at the
    /// position of its window's first maximum: the first element equal to the forward output
    /// `y` (as PyTorch routes ties). Split by sample across the pool's threads.
    fn pool_backward(x: &[f32], y: &[f32], dy: &[f32], dx: &mut [f32], batch: usize) {
        let () = Self::SHAPE_OK;
        let inputs = batch_values("MaxPool2D", batch, Self::IN);
        let outputs = batch_values("MaxPool2D", batch, Self::OUT);
        let (x, y, dy) = (&x[..inputs], &y[..outputs], &dy[..outputs]);
        let work = Self::IN + Self::OUT * PH * PW;
        crate::kernels::par_rows(&mut dx[..inputs], Self::IN, work, &|first, dx| {
            // Inlined into the level's copy (a closure left out of line runs 4 lanes wide).
            crate::kernels::vectorized(
                #[inline(always)]
                || {
                    for (s, dxs) in dx.chunks_exact_mut(Self::IN).enumerate() {
                        let n = first + s;
                        let (xs, ys, dys) = (
                            &x[n * Self::IN..][..Self::IN],
                            &y[n * Self::OUT..][..Self::OUT],
                            &dy[n * Self::OUT..][..Self::OUT],
                        );
                        if SH == PH && SW == PW {
                            Self::backward_tiled(xs, ys, dys, dxs);
                        } else {
                            Self::backward_one(xs, ys, dys, dxs);
                        }
                    }
                },
            );
        });
    }

    /// [`backward_one`](Self::backward_one) for windows that tile the image (strides equal
    /// to the window): each input in a window is written once, the gradient where it is
    /// its window's first maximum and zero elsewhere, and only the rows and columns no
    /// window reaches are zeroed beforehand (instead of all of `dx`, then added to).
    #[inline(always)]
    fn backward_tiled(x: &[f32], y: &[f32], dy: &[f32], dx: &mut [f32]) {
        let (x, y, dy, dx) = (
            &x[..Self::IN],
            &y[..Self::OUT],
            &dy[..Self::OUT],
            &mut dx[..Self::IN],
        );
        // The rows below the last window, and the columns right of it.
        dx[Self::OH * PH * W * C..].fill(0.0);
        for row in dx[..Self::OH * PH * W * C].chunks_exact_mut(W * C) {
            row[Self::OW * PW * C..].fill(0.0);
        }
        for oh in 0..Self::OH {
            for ow in 0..Self::OW {
                let corner = (oh * PH * W + ow * PW) * C;
                let o = (oh * Self::OW + ow) * C;
                // 16 channels at a time in local arrays, which the compiler knows alias
                // nothing, so the loops vectorise.
                for c0 in (0..C).step_by(16) {
                    let width = (C - c0).min(16);
                    let (m, mut left) = (load16(&y[o + c0..], width), load16(&dy[o + c0..], width));
                    for ph in 0..PH {
                        for pw in 0..PW {
                            let i = corner + (ph * W + pw) * C + c0;
                            let v = load16(&x[i..], width);
                            let mut d = [0.0f32; 16];
                            for (((d, &v), &m), l) in d.iter_mut().zip(&v).zip(&m).zip(&mut left) {
                                // A NaN maximum (NaN propagates forward) is found at the NaN.
                                let hit = (v == m) | (v.is_nan() & m.is_nan());
                                *d = if hit { *l } else { 0.0 };
                                *l = if hit { 0.0 } else { *l };
                            }
                            store16(&d, &mut dx[i..], width);
                        }
                    }
                }
            }
        }
    }

    /// One sample of [`backward_batch`](Self::backward_batch); vectorised along channels.
    #[inline(always)]
    fn backward_one(x: &[f32], y: &[f32], dy: &[f32], dx: &mut [f32]) {
        dx.fill(0.0);
        for oh in 0..Self::OH {
            for ow in 0..Self::OW {
                let corner = (oh * SH * W + ow * SW) * C;
                let o = (oh * Self::OW + ow) * C;
                let (ys, dys) = (&y[o..o + C], &dy[o..o + C]);
                // The gradient still to route, per channel: zero once its maximum was found.
                let mut left = [0.0f32; 64];
                for c0 in (0..C).step_by(64) {
                    let width = (C - c0).min(64);
                    left[..width].copy_from_slice(&dys[c0..c0 + width]);
                    for ph in 0..PH {
                        for pw in 0..PW {
                            let i = corner + (ph * W + pw) * C + c0;
                            let (xs, dxs) = (&x[i..i + width], &mut dx[i..i + width]);
                            for (((d, &v), &m), l) in dxs
                                .iter_mut()
                                .zip(xs)
                                .zip(&ys[c0..c0 + width])
                                .zip(&mut left[..width])
                            {
                                // A NaN maximum (NaN propagates in the forward pass) is found at the NaN.
                                let hit = (v == m) | (v.is_nan() & m.is_nan());
                                *d += if hit { *l } else { 0.0 };
                                *l = if hit { 0.0 } else { *l };
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
    > Layer for MaxPool2D<H, W, C, PH, PW, SH, SW>
{
    const KIND: &'static str = "MaxPool2D";
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
            batch_values("MaxPool2D", f.batch, Self::IN),
            batch_values("MaxPool2D", f.batch, Self::OUT),
        );
        let x = &f.x[..inputs];
        let work = Self::OUT * PH * PW;
        crate::kernels::par_rows(&mut f.y[..outputs], Self::OUT, work, &|first, y| {
            crate::kernels::vectorized(
                #[inline(always)]
                || {
                    for (xs, ys) in x[first * Self::IN..]
                        .chunks_exact(Self::IN)
                        .zip(y.chunks_exact_mut(Self::OUT))
                    {
                        Self::pool_one(xs, ys);
                    }
                },
            );
        });
    }

    fn backward(&self, b: Backward<'_>) {
        if let Some(dx) = b.dx {
            Self::pool_backward(b.x, b.y, b.dy, dx, b.batch);
        }
    }
}

/// int8: the integer maximum, in the input's scale (see [`quant`](crate::quant)).
impl<
        const H: usize,
        const W: usize,
        const C: usize,
        const PH: usize,
        const PW: usize,
        const SH: usize,
        const SW: usize,
    > Quantize for MaxPool2D<H, W, C, PH, PW, SH, SW>
{
    const ROLE: Role = Role::SameScale;

    fn infer_i8(&self, _block: &[u8], io: Io<'_, i8>) {
        let () = Self::SHAPE_OK;
        let (x, y) = io.split();
        let (x, y) = (&x[..Self::IN], &mut y[..Self::OUT]);
        for oh in 0..Self::OH {
            for ow in 0..Self::OW {
                let out = &mut y[(oh * Self::OW + ow) * C..][..C];
                let corner = (oh * SH * W + ow * SW) * C;
                out.copy_from_slice(&x[corner..corner + C]);
                for ph in 0..PH {
                    for pw in 0..PW {
                        let row = &x[corner + (ph * W + pw) * C..][..C];
                        for (o, &v) in out.iter_mut().zip(row) {
                            *o = (*o).max(v);
                        }
                    }
                }
            }
        }
    }
}
