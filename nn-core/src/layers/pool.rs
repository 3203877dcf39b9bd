//! 2-D pooling: [`MaxPool2D`], [`AvgPool2D`] and [`GlobalAvgPool2D`] (Keras'
//! `MaxPooling2D`, `AveragePooling2D` with `padding='valid'`, `GlobalAveragePooling2D`;
//! PyTorch's `max_pool2d`, `avg_pool2d` in floor mode without padding,
//! `adaptive_avg_pool2d(x, 1)`).
//!
//! # Layout
//!
//! Images are stored **HWC, channels last** (Keras' default), one sample after another:
//! sample `s`, row `r`, column `c`, channel `ch` is at `((s * H + r) * W + c) * C + ch`.
//! Pooling acts on each channel separately; the layers have no parameters.
//!
//! # Formulas
//!
//! With windows of `PH × PW` moved by strides `SH × SW`, no padding, and the output size
//! rounded down (`OH = (H − PH) / SH + 1`, `OW = (W − PW) / SW + 1`; rows and columns no
//! window reaches are ignored):
//!
//! ```text
//! max:     y[oh][ow][c] = max_{ph, pw} x[oh·SH + ph][ow·SW + pw][c]
//! average: y[oh][ow][c] = Σ_{ph, pw} x[oh·SH + ph][ow·SW + pw][c] / (PH · PW)
//! global:  y[c]         = Σ_{r, col} x[r][col][c] / (H · W)
//! ```
//!
//! Backward: max pooling routes each output gradient to the position of the window's
//! maximum, the **first** one in row-major window order on ties (as PyTorch; a NaN counts as
//! the maximum, as in PyTorch). The argmax is **recomputed from `x`** in the backward pass
//! with exactly the forward pass's comparison, so nothing is stored between the passes.
//! Average pooling spreads each output gradient evenly over its window. Where windows
//! overlap (stride smaller than the window), contributions add up.
//!
//! Every `backward_batch` has the same signature, `(x, y, dy, dx, batch)`, and overwrites
//! `dx`; each layer reads only what it needs (max pooling: `x`; average pooling: neither
//! `x` nor `y`).
//!
//! ```
//! use nn_core::layers::{GlobalAvgPool2D, MaxPool2D};
//! // A 2×4 single-channel image, 2×2 windows, stride 2: a 1×2 output.
//! type Pool = MaxPool2D<2, 4, 1, 2, 2, 2, 2, 1, 2>;
//! let x = [1.0, 5.0, 2.0, 0.0,
//!          3.0, 4.0, 8.0, 8.0];
//! let mut y = [0.0; 2];
//! Pool::forward(&x, &mut y);
//! assert_eq!(y, [5.0, 8.0]);
//! // The gradient goes to each window's maximum; of the tied 8s, to the first.
//! let mut dx = [0.0; 8];
//! Pool::backward_batch(&x, &y, &[1.0, 2.0], &mut dx, 1);
//! assert_eq!(dx, [0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 2.0, 0.0]);
//!
//! let mut mean = [0.0; 1];
//! GlobalAvgPool2D::<2, 4, 1>::forward(&x, &mut mean);
//! assert_eq!(mean, [31.0 / 8.0]);
//! ```

/// Whether `v` replaces the running maximum `best`: strictly greater (so the first of equal
/// values wins), or NaN (propagated), exactly PyTorch's rule.
#[inline(always)]
fn beats(v: f32, best: f32) -> bool {
    v > best || v.is_nan()
}

/// Checks one axis of a pooling shape at compile time (see the `SHAPE_OK` consts): `n`
/// positions, window `k`, stride `s`, `o` outputs in floor mode.
const fn axis_ok(n: usize, k: usize, s: usize, o: usize) -> bool {
    k > 0 && s > 0 && k <= n && o == (n - k) / s + 1
}

/// Max pooling of an `H × W × C` image (HWC) with `PH × PW` windows and strides `SH × SW`,
/// no padding, floor mode: an `OH × OW × C` image with `OH = (H − PH) / SH + 1` and
/// `OW = (W − PW) / SW + 1` (checked at compile time when a method is used).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MaxPool2D<
    const H: usize,
    const W: usize,
    const C: usize,
    const PH: usize,
    const PW: usize,
    const SH: usize,
    const SW: usize,
    const OH: usize,
    const OW: usize,
>;

impl<
        const H: usize,
        const W: usize,
        const C: usize,
        const PH: usize,
        const PW: usize,
        const SH: usize,
        const SW: usize,
        const OH: usize,
        const OW: usize,
    > MaxPool2D<H, W, C, PH, PW, SH, SW, OH, OW>
{
    /// Values per input sample, `H * W * C`.
    pub const IN: usize = H * W * C;
    /// Values per output sample, `OH * OW * C`.
    pub const OUT: usize = OH * OW * C;
    /// Number of parameters: none.
    pub const PARAMS: usize = 0;
    /// Comparisons for one sample's forward pass.
    pub const FLOPS: usize = OH * OW * C * PH * PW;

    const SHAPE_OK: () = assert!(
        C > 0 && axis_ok(H, PH, SH, OH) && axis_ok(W, PW, SW, OW),
        "MaxPool2D: inconsistent shape (need OH = (H - PH) / SH + 1, OW = (W - PW) / SW + 1)"
    );

    /// Inference for one sample: `x` holds [`Self::IN`] values, `y` receives
    /// [`Self::OUT`]. Allocation-free.
    ///
    /// # Panics
    /// If a slice is shorter than its shape.
    pub fn forward(x: &[f32], y: &mut [f32]) {
        let () = Self::SHAPE_OK;
        let (x, y) = (&x[..Self::IN], &mut y[..Self::OUT]);
        for oh in 0..OH {
            for ow in 0..OW {
                let out = &mut y[(oh * OW + ow) * C..][..C];
                let corner = (oh * SH * W + ow * SW) * C;
                out.copy_from_slice(&x[corner..corner + C]);
                for ph in 0..PH {
                    for pw in 0..PW {
                        if ph == 0 && pw == 0 {
                            continue;
                        }
                        let row = &x[corner + (ph * W + pw) * C..][..C];
                        for (o, &v) in out.iter_mut().zip(row) {
                            *o = if beats(v, *o) { v } else { *o };
                        }
                    }
                }
            }
        }
    }

    /// Forward pass of a batch: `batch` samples of [`Self::IN`] in `x`, of [`Self::OUT`] in
    /// `y`.
    pub fn forward_batch(x: &[f32], y: &mut [f32], batch: usize) {
        for (xs, ys) in x[..batch * Self::IN]
            .chunks_exact(Self::IN)
            .zip(y[..batch * Self::OUT].chunks_exact_mut(Self::OUT))
        {
            Self::forward(xs, ys);
        }
    }

    /// Backward pass of a batch: `dx` (overwritten) receives each output gradient at the
    /// position of its window's first maximum: the first element equal to the forward output
    /// `y` (as PyTorch routes ties). Split by sample across the pool's threads.
    pub fn backward_batch(x: &[f32], y: &[f32], dy: &[f32], dx: &mut [f32], batch: usize) {
        let () = Self::SHAPE_OK;
        let function = "MaxPool2D::backward_batch";
        let inputs = crate::kernels::size(function, "batch * IN", batch, Self::IN);
        let outputs = crate::kernels::size(function, "batch * OUT", batch, Self::OUT);
        let (x, y, dy) = (&x[..inputs], &y[..outputs], &dy[..outputs]);
        let work = Self::IN + Self::OUT * PH * PW;
        crate::kernels::par_rows(&mut dx[..inputs], Self::IN, work, &|first, dx| {
            for (s, dxs) in dx.chunks_exact_mut(Self::IN).enumerate() {
                let n = first + s;
                let (xs, ys, dys) = (
                    &x[n * Self::IN..][..Self::IN],
                    &y[n * Self::OUT..][..Self::OUT],
                    &dy[n * Self::OUT..][..Self::OUT],
                );
                Self::backward_one(xs, ys, dys, dxs);
            }
        });
    }

    /// One sample of [`backward_batch`](Self::backward_batch); vectorised along channels.
    fn backward_one(x: &[f32], y: &[f32], dy: &[f32], dx: &mut [f32]) {
        dx.fill(0.0);
        for oh in 0..OH {
            for ow in 0..OW {
                let corner = (oh * SH * W + ow * SW) * C;
                let o = (oh * OW + ow) * C;
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

/// Average pooling of an `H × W × C` image (HWC) with `PH × PW` windows and strides
/// `SH × SW`, no padding, floor mode: an `OH × OW × C` image with `OH = (H − PH) / SH + 1`
/// and `OW = (W − PW) / SW + 1` (checked at compile time when a method is used). Every
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
    const OH: usize,
    const OW: usize,
>;

impl<
        const H: usize,
        const W: usize,
        const C: usize,
        const PH: usize,
        const PW: usize,
        const SH: usize,
        const SW: usize,
        const OH: usize,
        const OW: usize,
    > AvgPool2D<H, W, C, PH, PW, SH, SW, OH, OW>
{
    /// Values per input sample, `H * W * C`.
    pub const IN: usize = H * W * C;
    /// Values per output sample, `OH * OW * C`.
    pub const OUT: usize = OH * OW * C;
    /// Number of parameters: none.
    pub const PARAMS: usize = 0;
    /// Additions for one sample's forward pass.
    pub const FLOPS: usize = OH * OW * C * PH * PW;

    const SHAPE_OK: () = assert!(
        C > 0 && axis_ok(H, PH, SH, OH) && axis_ok(W, PW, SW, OW),
        "AvgPool2D: inconsistent shape (need OH = (H - PH) / SH + 1, OW = (W - PW) / SW + 1)"
    );

    /// Values per window, as a divisor.
    #[allow(clippy::cast_precision_loss)]
    const COUNT: f32 = (PH * PW) as f32;

    /// Inference for one sample: `x` holds [`Self::IN`] values, `y` receives
    /// [`Self::OUT`]. Allocation-free.
    ///
    /// # Panics
    /// If a slice is shorter than its shape.
    pub fn forward(x: &[f32], y: &mut [f32]) {
        let () = Self::SHAPE_OK;
        let (x, y) = (&x[..Self::IN], &mut y[..Self::OUT]);
        for oh in 0..OH {
            for ow in 0..OW {
                let out = &mut y[(oh * OW + ow) * C..][..C];
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

    /// Forward pass of a batch: `batch` samples of [`Self::IN`] in `x`, of [`Self::OUT`] in
    /// `y`.
    pub fn forward_batch(x: &[f32], y: &mut [f32], batch: usize) {
        for (xs, ys) in x[..batch * Self::IN]
            .chunks_exact(Self::IN)
            .zip(y[..batch * Self::OUT].chunks_exact_mut(Self::OUT))
        {
            Self::forward(xs, ys);
        }
    }

    /// Backward pass of a batch: `dx` (overwritten) receives each output gradient divided by
    /// `PH * PW` on every position of its window. Neither `x` nor `y` is read (they are taken
    /// so that every pooling layer has the same signature).
    pub fn backward_batch(_x: &[f32], _y: &[f32], dy: &[f32], dx: &mut [f32], batch: usize) {
        let () = Self::SHAPE_OK;
        let dx = &mut dx[..batch * Self::IN];
        dx.fill(0.0);
        for (dys, dxs) in dy[..batch * Self::OUT]
            .chunks_exact(Self::OUT)
            .zip(dx.chunks_exact_mut(Self::IN))
        {
            for oh in 0..OH {
                for ow in 0..OW {
                    let g = &dys[(oh * OW + ow) * C..][..C];
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

/// Global average pooling: the mean of each channel of an `H × W × C` image (HWC) over all
/// `H * W` positions, giving `C` values per sample.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GlobalAvgPool2D<const H: usize, const W: usize, const C: usize>;

impl<const H: usize, const W: usize, const C: usize> GlobalAvgPool2D<H, W, C> {
    /// Values per input sample, `H * W * C`.
    pub const IN: usize = H * W * C;
    /// Values per output sample, `C`.
    pub const OUT: usize = C;
    /// Number of parameters: none.
    pub const PARAMS: usize = 0;
    /// Additions for one sample's forward pass.
    pub const FLOPS: usize = H * W * C;

    const SHAPE_OK: () = assert!(H > 0 && W > 0 && C > 0, "GlobalAvgPool2D: zero size");

    /// Values per channel, as a divisor.
    #[allow(clippy::cast_precision_loss)]
    const COUNT: f32 = (H * W) as f32;

    /// Inference for one sample: `x` holds [`Self::IN`] values, `y` receives `C`.
    /// Allocation-free.
    ///
    /// # Panics
    /// If a slice is shorter than its shape.
    pub fn forward(x: &[f32], y: &mut [f32]) {
        let () = Self::SHAPE_OK;
        let y = &mut y[..C];
        y.fill(0.0);
        for row in x[..Self::IN].chunks_exact(C) {
            for (o, &v) in y.iter_mut().zip(row) {
                *o += v;
            }
        }
        for o in y {
            *o /= Self::COUNT;
        }
    }

    /// Forward pass of a batch: `batch` samples of [`Self::IN`] in `x`, of `C` in `y`.
    pub fn forward_batch(x: &[f32], y: &mut [f32], batch: usize) {
        for (xs, ys) in x[..batch * Self::IN]
            .chunks_exact(Self::IN)
            .zip(y[..batch * C].chunks_exact_mut(C))
        {
            Self::forward(xs, ys);
        }
    }

    /// Backward pass of a batch: `dx` (overwritten) receives `dy[c] / (H * W)` at every
    /// position of channel `c`. Neither `x` nor `y` is read (they are taken so that every
    /// pooling layer has the same signature).
    pub fn backward_batch(_x: &[f32], _y: &[f32], dy: &[f32], dx: &mut [f32], batch: usize) {
        let () = Self::SHAPE_OK;
        for (g, dxs) in dy[..batch * C]
            .chunks_exact(C)
            .zip(dx[..batch * Self::IN].chunks_exact_mut(Self::IN))
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
    use super::{AvgPool2D, GlobalAvgPool2D, MaxPool2D};
    use crate::rng::Rng;
    use std::vec::Vec;

    fn random(n: usize, rng: &mut Rng) -> Vec<f32> {
        (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect()
    }

    /// Naive pooling from the formula: `max` or mean over each window, per channel.
    fn reference(
        [h, w, c, ph, pw, sh, sw, oh_, ow_]: [usize; 9],
        x: &[f32],
        batch: usize,
        max: bool,
    ) -> Vec<f32> {
        let _ = h;
        let mut y = Vec::new();
        for s in 0..batch {
            for oh in 0..oh_ {
                for ow in 0..ow_ {
                    for ch in 0..c {
                        let vals = (0..ph)
                            .flat_map(|i| (0..pw).map(move |j| (i, j)))
                            .map(|(i, j)| x[((s * h + oh * sh + i) * w + ow * sw + j) * c + ch]);
                        y.push(if max {
                            vals.fold(f32::NEG_INFINITY, f32::max)
                        } else {
                            vals.sum::<f32>() / (ph * pw) as f32
                        });
                    }
                }
            }
        }
        y
    }

    macro_rules! pool_case {
        ($seed:expr; $($d:tt),*) => {{
            let shape = [$($d),*];
            let batch = 2;
            let mut rng = Rng::new($seed);
            type M = MaxPool2D<$($d),*>;
            type A = AvgPool2D<$($d),*>;
            let x = random(batch * M::IN, &mut rng);
            let mut y = std::vec![f32::NAN; batch * M::OUT];
            M::forward_batch(&x, &mut y, batch);
            assert_eq!(y, reference(shape, &x, batch, true), "max {shape:?}");
            A::forward_batch(&x, &mut y, batch);
            for (g, w) in y.iter().zip(reference(shape, &x, batch, false)) {
                assert!((g - w).abs() < 1e-6, "avg {shape:?}: {g} vs {w}");
            }
            #[cfg(feature = "alloc")]
            {
                let r = random(batch * M::OUT, &mut rng);
                let mut dx = std::vec![f32::NAN; batch * M::IN];
                let mut yb = std::vec![0.0; batch * M::OUT];
                M::forward_batch(&x, &mut yb, batch);
                M::backward_batch(&x, &yb, &r, &mut dx, batch);
                let objective = |xs: &[f32], max: bool| {
                    let mut y = std::vec![0.0; batch * M::OUT];
                    if max {
                        M::forward_batch(xs, &mut y, batch);
                    } else {
                        A::forward_batch(xs, &mut y, batch);
                    }
                    y.iter().zip(&r).map(|(y, r)| f64::from(*y) * f64::from(*r)).sum::<f64>()
                };
                let sum: f32 = yb.iter().zip(&r).map(|(y, r)| (y * r).abs()).sum();
                let noise = f64::from(f32::EPSILON) * f64::from(sum + 1.0);
                // Max pooling is piecewise linear: the differences are exact away from ties,
                // and steps that cross a tie are detected as kinks and skipped.
                let by_input = crate::gradcheck::check(&x, &dx, 0..x.len(), 1e-2, 1e-3, noise, |xs| {
                    objective(xs, true)
                });
                assert!(by_input.passed(), "max {shape:?}: {by_input}");
                A::backward_batch(&x, &yb, &r, &mut dx, batch);
                let by_input = crate::gradcheck::check(&x, &dx, 0..x.len(), 1e-2, 1e-3, noise, |xs| {
                    objective(xs, false)
                });
                assert!(by_input.passed(), "avg {shape:?}: {by_input}");
                assert_eq!(by_input.checked, x.len());
            }
        }};
    }

    #[test]
    fn non_overlapping_windows() {
        pool_case!(1; 6, 4, 3, 2, 2, 2, 2, 3, 2);
    }

    #[test]
    fn overlapping_windows_and_floor_mode() {
        // 3 × 3 windows, stride 2, on 7 × 6: the last column is never read.
        pool_case!(2; 7, 6, 2, 3, 3, 2, 2, 3, 2);
    }

    #[test]
    fn rectangular_windows_and_strides() {
        pool_case!(3; 5, 7, 2, 2, 3, 1, 2, 4, 3);
    }

    #[test]
    fn max_ties_go_to_the_first_and_nan_propagates() {
        type M = MaxPool2D<2, 2, 1, 2, 2, 1, 1, 1, 1>;
        let x = [1.0, 3.0, 3.0, 3.0];
        let mut y = [0.0];
        M::forward(&x, &mut y);
        let mut dx = [9.0; 4];
        M::backward_batch(&x, &y, &[1.0], &mut dx, 1);
        assert_eq!((y, dx), ([3.0], [0.0, 1.0, 0.0, 0.0]));
        let x = [1.0, f32::NAN, 3.0, 0.0];
        M::forward(&x, &mut y);
        M::backward_batch(&x, &y, &[1.0], &mut dx, 1);
        assert!(y[0].is_nan());
        assert_eq!(dx, [0.0, 1.0, 0.0, 0.0]);
    }

    /// `2^(bits - 1) + 1` samples of 2 values: `batch * 2` wraps to 2, so slices for one
    /// sample looked right for this batch before the sizes were checked, and the pass
    /// returned after one sample as if it had done them all.
    #[test]
    #[should_panic(expected = "MaxPool2D::backward_batch: batch * IN overflows usize")]
    fn max_backward_rejects_a_batch_whose_sizes_overflow() {
        type Pool = MaxPool2D<1, 2, 1, 1, 1, 1, 1, 1, 2>;
        let (x, y, dy, mut dx) = ([1.0f32; 2], [1.0f32; 2], [1.0f32; 2], [0.0f32; 2]);
        Pool::backward_batch(&x, &y, &dy, &mut dx, usize::MAX / 2 + 2);
    }

    #[test]
    fn global_average() {
        type G = GlobalAvgPool2D<3, 2, 2>;
        let x: Vec<f32> = (0..24).map(|v| v as f32).collect();
        let mut y = [0.0; 4];
        G::forward_batch(&x, &mut y, 2);
        // Channel 0 of sample 0: 0, 2, ..., 10 → 5.
        assert_eq!(y, [5.0, 6.0, 17.0, 18.0]);
        let mut dx = [f32::NAN; 24];
        G::backward_batch(&x, &y, &[6.0, 12.0, -6.0, 0.0], &mut dx, 2);
        assert!(dx[..12].chunks(2).all(|p| p == [1.0, 2.0]));
        assert!(dx[12..].chunks(2).all(|p| p == [-1.0, 0.0]));
    }
}
