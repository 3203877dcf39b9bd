//! 2-D convolution (Keras' `Conv2D`; PyTorch's `nn.Conv2d` with `groups = 1`,
//! `dilation = 1`).
//!
//! # Layout
//!
//! Images are stored **HWC, channels last** (Keras' default), one sample after another:
//! sample `s`, row `r`, column `c`, channel `ch` is at `((s * H + r) * W + c) * C + ch`.
//!
//! Parameters, in this order in the layer's slice: the weights as `[KH][KW][CIN][COUT]`
//! (Keras' kernel layout), i.e. a `(KH * KW * CIN) × COUT` row-major matrix, then the `COUT`
//! biases. PyTorch stores `[COUT][CIN][KH][KW]` (OIHW); weight files convert with
//! `W_ours[kh][kw][ci][co] = W_torch[co][ci][kh][kw]`.
//!
//! # Formula
//!
//! ```text
//! y[oh][ow][co] = b[co] + Σ_{kh, kw, ci} x[oh·SH + kh − PT][ow·SW + kw − PL][ci] · W[kh][kw][ci][co]
//! ```
//!
//! with `x` taken as zero outside the image (zero padding). `PT` and `PL` are the top and
//! left padding; the bottom and right padding are implied by the output size `OH × OW`
//! (whatever the last window needs beyond the image reads as zero). [`conv_output_len`]
//! and [`conv_padding_before`] compute `OH`/`OW` and `PT`/`PL` for Keras' `'valid'` and
//! `'same'` paddings.
//!
//! # Implementation
//!
//! * [`Conv2D::forward`] (one sample) loops directly over output pixels: for each pixel and
//!   kernel row, the in-image part of the window is one contiguous run of `x` (`kw` and `ci`
//!   are adjacent in HWC) and of the weights, so it is one small `1 × len × COUT` product.
//!   It needs no scratch, allocates nothing and keeps no arrays on the stack.
//! * [`Conv2D::forward_batch`] writes the *im2col* matrix of the batch (one row of
//!   `KH * KW * CIN` values per output pixel, zero where the window leaves the image) into a
//!   caller-provided scratch slice of [`Conv2D::scratch_len`] values, then computes all
//!   outputs with one [`kernels::gemm_nn`] `(batch · OH · OW) × (KH · KW · CIN) × COUT`.
//! * [`Conv2D::backward_batch`] rebuilds the im2col matrix from `x` (so one scratch slice can
//!   serve every layer of a model), then `dW = colᵀ · dY` ([`kernels::gemm_tn`], summed over
//!   blocks of rows so each block stays in cache: twice as fast as one product over the
//!   whole batch, measured), `db = Σ dY`, and, when asked, `dcol = dY · Wᵀ` written over the
//!   im2col matrix and scattered back onto `dx` (*col2im*, adding where windows overlap).
//!   `dcol` is [`kernels::gemm_nt`] for small products; for large ones with
//!   `KH * KW * CIN >= 16` the weights are first transposed into the end of the scratch slice
//!   and `dcol` is a [`kernels::gemm_nn`], which has a register-blocked path that `gemm_nt`
//!   lacks (about twice as fast, measured).
//!
//! A `1 × 1` kernel with stride 1 and no padding skips im2col: `x` already is the matrix.
//!
//! ```
//! use nn_core::layers::Conv2D;
//! // One 3×3 single-channel image, one 2×2 filter of ones, 'valid', stride 1: 2×2 sums.
//! type Layer = Conv2D<3, 3, 1, 1, 2, 2, 1, 1, 0, 0, 2, 2>;
//! let params = [1.0, 1.0, 1.0, 1.0, /* bias */ 0.5];
//! let x = [1.0, 2.0, 3.0,
//!          4.0, 5.0, 6.0,
//!          7.0, 8.0, 9.0];
//! let mut y = [0.0; 4];
//! Layer::forward(&params, &x, &mut y);
//! assert_eq!(y, [12.5, 16.5, 24.5, 28.5]);
//!
//! // The same through the batched path, which needs an im2col scratch slice.
//! let mut scratch = [0.0; Layer::scratch_len(1)];
//! let mut yb = [0.0; 4];
//! Layer::forward_batch(&params, &x, &mut yb, 1, &mut scratch);
//! assert_eq!(yb, y);
//! ```

use crate::{kernels, rng::Rng};

/// Output length along one axis of a convolution or pooling window: `n` input positions,
/// window `k`, stride `stride`. `'same'` (`same = true`, Keras/TensorFlow rule) gives
/// `ceil(n / stride)`; `'valid'` gives `(n − k) / stride + 1` (floor).
///
/// # Panics
/// With `'valid'` and `k > n`, or `stride == 0` (at compile time in a const context).
#[must_use]
pub const fn conv_output_len(n: usize, k: usize, stride: usize, same: bool) -> usize {
    if same {
        n.div_ceil(stride)
    } else {
        (n - k) / stride + 1
    }
}

/// Zero padding before the first position (top or left) along one axis. `'valid'`: 0.
/// `'same'` (Keras/TensorFlow rule): the total padding is
/// `max((ceil(n / stride) − 1) · stride + k − n, 0)`, of which the top/left gets half,
/// rounded down, and the bottom/right the rest.
///
/// # Panics
/// If `stride == 0`.
#[must_use]
pub const fn conv_padding_before(n: usize, k: usize, stride: usize, same: bool) -> usize {
    if same {
        let out = n.div_ceil(stride);
        ((out - 1) * stride + k).saturating_sub(n) / 2
    } else {
        0
    }
}

/// Along one axis (input length `n`, window `k`, stride `s`, padding before `p`), the window
/// of output position `o`: the kernel offsets `lo..hi` that land inside the input, and the
/// input index that offset `lo` lands on. Empty (`lo == hi`) if the window misses the input.
#[inline(always)]
const fn window(o: usize, n: usize, k: usize, s: usize, p: usize) -> (usize, usize, usize) {
    let start = o * s;
    let lo = p.saturating_sub(start);
    let end = (n + p).saturating_sub(start);
    let hi = if end < k { end } else { k };
    let hi = if hi < lo { lo } else { hi };
    (lo, hi, start + lo - p)
}

/// A 2-D convolution of an `H × W × CIN` image (HWC) with `COUT` filters of `KH × KW`,
/// strides `SH × SW`, zero padding `PT` rows on top and `PL` columns on the left (bottom and
/// right as the output size requires), giving an `OH × OW × COUT` image.
///
/// `OH`, `OW`, `PT` and `PL` follow from the others and the padding mode; see
/// [`conv_output_len`] and [`conv_padding_before`]. Inconsistent shapes (a zero size or
/// stride, padding of a whole window or more, a last window starting below the image) fail to
/// compile when a method is used.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Conv2D<
    const H: usize,
    const W: usize,
    const CIN: usize,
    const COUT: usize,
    const KH: usize,
    const KW: usize,
    const SH: usize,
    const SW: usize,
    const PT: usize,
    const PL: usize,
    const OH: usize,
    const OW: usize,
>;

impl<
        const H: usize,
        const W: usize,
        const CIN: usize,
        const COUT: usize,
        const KH: usize,
        const KW: usize,
        const SH: usize,
        const SW: usize,
        const PT: usize,
        const PL: usize,
        const OH: usize,
        const OW: usize,
    > Conv2D<H, W, CIN, COUT, KH, KW, SH, SW, PT, PL, OH, OW>
{
    /// Values per input sample, `H * W * CIN`.
    pub const IN: usize = H * W * CIN;
    /// Values per output sample, `OH * OW * COUT`.
    pub const OUT: usize = OH * OW * COUT;
    /// Values in one receptive field (one im2col row), `KH * KW * CIN`.
    pub const PATCH: usize = KH * KW * CIN;
    /// Number of weights, `KH * KW * CIN * COUT`.
    pub const WEIGHTS: usize = KH * KW * CIN * COUT;
    /// Number of parameters, weights and biases.
    pub const PARAMS: usize = Self::WEIGHTS + COUT;
    /// Floating-point operations for one sample's forward pass (a multiply-add counts 2;
    /// padding counted as if it were data, as is customary).
    pub const FLOPS: usize = 2 * OH * OW * KH * KW * CIN * COUT;
    /// Whether `x` itself is the im2col matrix (`1 × 1` kernel, stride 1, no padding).
    const DIRECT: bool = KH == 1 && KW == 1 && SH == 1 && SW == 1 && OH == H && OW == W;
    /// Scratch values per sample of the batched passes: the sample's im2col rows.
    pub const SCRATCH_PER_SAMPLE: usize = if Self::DIRECT {
        0
    } else {
        OH * OW * Self::PATCH
    };
    /// Whether large input gradients go through `Wᵀ` and `gemm_nn` (whose blocked path needs
    /// at least 16 output columns, here `PATCH`) rather than `gemm_nt`.
    const DX_VIA_TRANSPOSE: bool = Self::PATCH >= 16;
    /// Scratch values independent of the batch: room for `Wᵀ` (backward pass only).
    pub const SCRATCH_FIXED: usize = if Self::DX_VIA_TRANSPOSE {
        Self::WEIGHTS
    } else {
        0
    };
    /// Rows of `colᵀ · dY` summed per product in the weight gradient: small enough to stay in
    /// cache, large enough (`PATCH · ROWS · COUT >= LARGE_PRODUCT`) for the blocked kernel.
    const DW_BLOCK_ROWS: usize = {
        let rows = kernels::LARGE_PRODUCT.div_ceil(Self::PATCH * COUT);
        if rows < 64 {
            64
        } else {
            rows
        }
    };

    /// Evaluated (at compile time) by every method: rejects inconsistent shapes.
    const SHAPE_OK: () = assert!(
        H > 0
            && W > 0
            && CIN > 0
            && COUT > 0
            && KH > 0
            && KW > 0
            && SH > 0
            && SW > 0
            && OH > 0
            && OW > 0
            && PT < KH
            && PL < KW
            && (OH - 1) * SH < H + PT
            && (OW - 1) * SW < W + PL,
        "Conv2D: inconsistent shape (zero size or stride, padding of a whole window, \
         or an output larger than the padded input allows)"
    );

    /// Length of the scratch slice that [`forward_batch`](Self::forward_batch) and
    /// [`backward_batch`](Self::backward_batch) need for `batch` samples:
    /// `batch * OH * OW * KH * KW * CIN` for the im2col matrix (none for a `1 × 1`, stride-1
    /// convolution) plus, when `KH * KW * CIN >= 16`, `KH * KW * CIN * COUT` for the
    /// transposed weights of the backward pass. (The forward pass alone needs only the
    /// im2col part.)
    #[must_use]
    pub const fn scratch_len(batch: usize) -> usize {
        batch * Self::SCRATCH_PER_SAMPLE + Self::SCRATCH_FIXED
    }

    /// Keras' default initialisation: Glorot-uniform weights in
    /// `±sqrt(6 / (fan_in + fan_out))` with `fan_in = KH * KW * CIN` and
    /// `fan_out = KH * KW * COUT`, zero biases.
    ///
    /// # Panics
    /// If `params` does not hold exactly [`Self::PARAMS`] values.
    pub fn init(params: &mut [f32], rng: &mut Rng) {
        let () = Self::SHAPE_OK;
        assert_eq!(
            params.len(),
            Self::PARAMS,
            "Conv2D<{H}, {W}, {CIN}, {COUT}, {KH}, {KW}, ..> parameter slice"
        );
        #[allow(clippy::cast_precision_loss)]
        let limit = crate::math::sqrt(6.0 / (KH * KW * (CIN + COUT)) as f32);
        let (w, b) = params.split_at_mut(Self::WEIGHTS);
        for v in w {
            *v = rng.uniform(-limit, limit);
        }
        b.fill(0.0);
    }

    /// The weights, `[KH][KW][CIN][COUT]` flattened.
    #[must_use]
    pub fn weights(params: &[f32]) -> &[f32] {
        &params[..Self::WEIGHTS]
    }

    /// The biases.
    #[must_use]
    pub fn bias(params: &[f32]) -> &[f32] {
        &params[Self::WEIGHTS..Self::PARAMS]
    }

    /// Inference for one sample: `x` holds [`Self::IN`] values (HWC), `y` receives
    /// [`Self::OUT`] (HWC). Direct loops: no scratch, no allocation.
    ///
    /// # Panics
    /// If a slice is shorter than its shape.
    pub fn forward(params: &[f32], x: &[f32], y: &mut [f32]) {
        let () = Self::SHAPE_OK;
        let (w, b) = params[..Self::PARAMS].split_at(Self::WEIGHTS);
        let (x, y) = (&x[..Self::IN], &mut y[..Self::OUT]);
        for oh in 0..OH {
            let (kh_lo, kh_hi, ih_lo) = window(oh, H, KH, SH, PT);
            for ow in 0..OW {
                let (kw_lo, kw_hi, iw_lo) = window(ow, W, KW, SW, PL);
                let out = &mut y[(oh * OW + ow) * COUT..][..COUT];
                out.copy_from_slice(b);
                // The in-image part of each kernel row: contiguous in x and in the weights.
                let len = (kw_hi - kw_lo) * CIN;
                if len == 0 {
                    continue;
                }
                for kh in kh_lo..kh_hi {
                    let ih = ih_lo + (kh - kh_lo);
                    let xs = &x[(ih * W + iw_lo) * CIN..][..len];
                    let ws = &w[(kh * KW + kw_lo) * CIN * COUT..][..len * COUT];
                    kernels::gemm_nn(1, len, COUT, xs, ws, out, true);
                }
            }
        }
    }

    /// Forward pass of a batch: `x` holds `batch` samples of [`Self::IN`], `y` receives
    /// `batch` samples of [`Self::OUT`]. `scratch` (at least
    /// [`scratch_len(batch)`](Self::scratch_len) values, contents irrelevant) receives the
    /// im2col matrix.
    ///
    /// # Panics
    /// If a slice is shorter than its shape.
    pub fn forward_batch(
        params: &[f32],
        x: &[f32],
        y: &mut [f32],
        batch: usize,
        scratch: &mut [f32],
    ) {
        let () = Self::SHAPE_OK;
        let rows = Self::rows("Conv2D::forward_batch", batch);
        let (w, b) = params[..Self::PARAMS].split_at(Self::WEIGHTS);
        let y = &mut y[..rows * COUT];
        for row in y.chunks_exact_mut(COUT) {
            row.copy_from_slice(b);
        }
        let col: &[f32] = if Self::DIRECT {
            &x[..batch * Self::IN]
        } else {
            let col = &mut scratch[..rows * Self::PATCH];
            Self::im2col(x, col, batch);
            col
        };
        kernels::gemm_nn(rows, Self::PATCH, COUT, col, w, y, true);
    }

    /// Backward pass of a batch. Given the layer's input `x` and the gradient `dy` with
    /// respect to its output, writes the parameter gradients into `grads` (overwriting,
    /// same layout as the parameters) and, when `dx` is given, the gradient with respect to
    /// the input (overwriting). `scratch` as for [`forward_batch`](Self::forward_batch); it
    /// need not hold what the forward pass left there.
    ///
    /// # Panics
    /// If a slice is shorter than its shape.
    pub fn backward_batch(
        params: &[f32],
        x: &[f32],
        dy: &[f32],
        dx: Option<&mut [f32]>,
        grads: &mut [f32],
        batch: usize,
        scratch: &mut [f32],
    ) {
        let () = Self::SHAPE_OK;
        let rows = Self::rows("Conv2D::backward_batch", batch);
        let w = &params[..Self::WEIGHTS];
        let dy = &dy[..rows * COUT];
        let (dw, db) = grads[..Self::PARAMS].split_at_mut(Self::WEIGHTS);
        db.fill(0.0);
        for row in dy.chunks_exact(COUT) {
            for (g, &d) in db.iter_mut().zip(row) {
                *g += d;
            }
        }
        let (col, spare) = scratch.split_at_mut(batch * Self::SCRATCH_PER_SAMPLE);
        if Self::DIRECT {
            // x is the im2col matrix, and dx is dcol.
            Self::weight_gradient(&x[..rows * CIN], dy, dw);
            if let Some(dx) = dx {
                Self::input_gradient(w, dy, &mut dx[..rows * CIN], spare);
            }
            return;
        }
        Self::im2col(x, col, batch);
        Self::weight_gradient(col, dy, dw);
        if let Some(dx) = dx {
            Self::input_gradient(w, dy, col, spare);
            Self::col2im(col, dx, batch);
        }
    }

    /// The rows of the im2col matrix of `batch` samples, `batch * OH * OW`, after checking
    /// that no size of the batch overflows (that one, the inputs `batch * IN`, the outputs
    /// `batch * OUT` and the im2col values `batch * OH * OW * PATCH`), so that the slices
    /// handed to the kernels have the batch's sizes.
    ///
    /// # Panics
    /// If one does, with a message naming `function`.
    #[track_caller]
    fn rows(function: &str, batch: usize) -> usize {
        let rows = kernels::size(function, "batch * OH * OW", batch, const { OH * OW });
        kernels::size(function, "batch * IN", batch, Self::IN);
        kernels::size(function, "batch * OUT", batch, Self::OUT);
        kernels::size(function, "batch * OH * OW * PATCH", rows, Self::PATCH);
        rows
    }

    /// `dw = colᵀ · dy` (overwriting), summed over blocks of rows.
    fn weight_gradient(col: &[f32], dy: &[f32], dw: &mut [f32]) {
        let blocks = col
            .chunks(Self::DW_BLOCK_ROWS * Self::PATCH)
            .zip(dy.chunks(Self::DW_BLOCK_ROWS * COUT));
        dw.fill(0.0);
        for (c, d) in blocks {
            kernels::gemm_tn(Self::PATCH, d.len() / COUT, COUT, c, d, dw, true);
        }
    }

    /// `dcol = dy · Wᵀ` (overwriting); `spare` holds at least [`Self::SCRATCH_FIXED`] values.
    fn input_gradient(w: &[f32], dy: &[f32], dcol: &mut [f32], spare: &mut [f32]) {
        let rows = dy.len() / COUT;
        if Self::DX_VIA_TRANSPOSE && rows * COUT * Self::PATCH >= kernels::LARGE_PRODUCT {
            let wt = &mut spare[..Self::WEIGHTS];
            for (p, w_row) in w.chunks_exact(COUT).enumerate() {
                for (co, &v) in w_row.iter().enumerate() {
                    wt[co * Self::PATCH + p] = v;
                }
            }
            kernels::gemm_nn(rows, COUT, Self::PATCH, dy, wt, dcol, false);
        } else {
            kernels::gemm_nt(rows, COUT, Self::PATCH, dy, w, dcol, false);
        }
    }

    /// Writes the im2col matrix of `batch` samples: row `(s, oh, ow)` holds the receptive
    /// field of output pixel `(oh, ow)` of sample `s` in `[kh][kw][ci]` order, zero where the
    /// window leaves the image.
    fn im2col(x: &[f32], col: &mut [f32], batch: usize) {
        let x = &x[..batch * Self::IN];
        let mut rows = col.chunks_exact_mut(Self::PATCH);
        for xs in x.chunks_exact(Self::IN) {
            for oh in 0..OH {
                let (kh_lo, kh_hi, ih_lo) = window(oh, H, KH, SH, PT);
                for ow in 0..OW {
                    let (kw_lo, kw_hi, iw_lo) = window(ow, W, KW, SW, PL);
                    let Some(row) = rows.next() else { return };
                    for (kh, seg) in row.chunks_exact_mut(KW * CIN).enumerate() {
                        if kh < kh_lo || kh >= kh_hi {
                            seg.fill(0.0);
                            continue;
                        }
                        let ih = ih_lo + (kh - kh_lo);
                        let (before, rest) = seg.split_at_mut(kw_lo * CIN);
                        let (inside, after) = rest.split_at_mut((kw_hi - kw_lo) * CIN);
                        before.fill(0.0);
                        inside.copy_from_slice(&xs[(ih * W + iw_lo) * CIN..][..inside.len()]);
                        after.fill(0.0);
                    }
                }
            }
        }
    }

    /// The adjoint of [`im2col`](Self::im2col): `dx` (overwritten) receives the sum of the
    /// im2col-shaped gradient `col` over every window position that reads each input value.
    fn col2im(col: &[f32], dx: &mut [f32], batch: usize) {
        let dx = &mut dx[..batch * Self::IN];
        dx.fill(0.0);
        let mut rows = col.chunks_exact(Self::PATCH);
        for dxs in dx.chunks_exact_mut(Self::IN) {
            for oh in 0..OH {
                let (kh_lo, kh_hi, ih_lo) = window(oh, H, KH, SH, PT);
                for ow in 0..OW {
                    let (kw_lo, kw_hi, iw_lo) = window(ow, W, KW, SW, PL);
                    let Some(row) = rows.next() else { return };
                    let len = (kw_hi - kw_lo) * CIN;
                    for kh in kh_lo..kh_hi {
                        let ih = ih_lo + (kh - kh_lo);
                        let src = &row[(kh * KW + kw_lo) * CIN..][..len];
                        let dst = &mut dxs[(ih * W + iw_lo) * CIN..][..len];
                        for (d, &s) in dst.iter_mut().zip(src) {
                            *d += s;
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{conv_output_len, conv_padding_before, Conv2D};
    use crate::rng::Rng;
    use std::vec::Vec;

    fn random(n: usize, rng: &mut Rng) -> Vec<f32> {
        (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect()
    }

    /// Naive convolution from the formula, in f64, with explicit bounds checks.
    #[allow(clippy::too_many_arguments)]
    fn reference(shape: [usize; 12], params: &[f32], x: &[f32], batch: usize) -> Vec<f32> {
        let [h, w, cin, cout, kh_, kw_, sh, sw, pt, pl, oh_, ow_] = shape;
        let wt = |kh: usize, kw: usize, ci: usize, co: usize| {
            f64::from(params[((kh * kw_ + kw) * cin + ci) * cout + co])
        };
        let mut y = std::vec![0.0; batch * oh_ * ow_ * cout];
        for s in 0..batch {
            for oh in 0..oh_ {
                for ow in 0..ow_ {
                    for co in 0..cout {
                        let mut acc = f64::from(params[kh_ * kw_ * cin * cout + co]);
                        for kh in 0..kh_ {
                            for kw in 0..kw_ {
                                let (ih, iw) = (
                                    (oh * sh + kh) as isize - pt as isize,
                                    (ow * sw + kw) as isize - pl as isize,
                                );
                                if ih < 0 || iw < 0 || ih >= h as isize || iw >= w as isize {
                                    continue;
                                }
                                let (ih, iw) = (ih as usize, iw as usize);
                                for ci in 0..cin {
                                    acc += f64::from(x[((s * h + ih) * w + iw) * cin + ci])
                                        * wt(kh, kw, ci, co);
                                }
                            }
                        }
                        y[((s * oh_ + oh) * ow_ + ow) * cout + co] = acc as f32;
                    }
                }
            }
        }
        y
    }

    /// Forward (single and batched) against the reference; with `alloc`, gradient checks of
    /// the batched backward pass (parameters and input) against finite differences.
    macro_rules! run {
        ($seed:expr; $($d:tt),*) => {{
            type L = Conv2D<$($d),*>;
            let shape = [$($d),*];
            check(shape, $seed, L::IN, L::OUT, L::PARAMS, L::scratch_len(3), L::forward, L::forward_batch, L::backward_batch);
        }};
    }

    type Forward = fn(&[f32], &[f32], &mut [f32]);
    type ForwardBatch = fn(&[f32], &[f32], &mut [f32], usize, &mut [f32]);
    type BackwardBatch =
        fn(&[f32], &[f32], &[f32], Option<&mut [f32]>, &mut [f32], usize, &mut [f32]);

    #[allow(clippy::too_many_arguments)]
    fn check(
        shape: [usize; 12],
        seed: u64,
        inn: usize,
        out: usize,
        np: usize,
        scratch_len: usize,
        forward: Forward,
        forward_batch: ForwardBatch,
        backward_batch: BackwardBatch,
    ) {
        let batch = 3;
        let mut rng = Rng::new(seed);
        let params = random(np, &mut rng);
        let x = random(batch * inn, &mut rng);
        let want = reference(shape, &params, &x, batch);
        let close = |got: &[f32], what: &str| {
            for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                assert!(
                    (g - w).abs() <= 1e-5 * (1.0 + w.abs()),
                    "{what} {shape:?}[{i}]: {g} vs {w}"
                );
            }
        };
        let mut y = std::vec![f32::NAN; batch * out];
        let mut scratch = std::vec![f32::NAN; scratch_len];
        forward_batch(&params, &x, &mut y, batch, &mut scratch);
        close(&y, "forward_batch");
        let mut one = std::vec![f32::NAN; batch * out];
        for (xs, ys) in x.chunks_exact(inn).zip(one.chunks_exact_mut(out)) {
            forward(&params, xs, ys);
        }
        close(&one, "forward");

        #[cfg(feature = "alloc")]
        {
            use crate::gradcheck;
            let r = random(batch * out, &mut rng);
            let mut dx = std::vec![f32::NAN; batch * inn];
            let mut grads = std::vec![f32::NAN; np];
            scratch.fill(f32::NAN);
            backward_batch(
                &params,
                &x,
                &r,
                Some(&mut dx),
                &mut grads,
                batch,
                &mut scratch,
            );
            let mut y = std::vec![0.0; batch * out];
            let mut objective = |p: &[f32], xs: &[f32]| {
                forward_batch(p, xs, &mut y, batch, &mut scratch);
                y.iter()
                    .zip(&r)
                    .map(|(y, r)| f64::from(*y) * f64::from(*r))
                    .sum::<f64>()
            };
            // Rounding noise of the objective: f32 precision of each of its terms.
            let sum: f32 = want.iter().zip(&r).map(|(y, r)| (y * r).abs()).sum();
            let noise = f64::from(f32::EPSILON) * f64::from(sum + 1.0);
            // Every entry of small tensors, about 150 spread over larger ones.
            let (sp, sx) = ((np / 150).max(1), (x.len() / 150).max(1));
            let by_params = gradcheck::check(
                &params,
                &grads,
                (0..np).step_by(sp),
                1e-2,
                1e-3,
                noise,
                |p| objective(p, &x),
            );
            assert!(
                by_params.passed(),
                "{shape:?} parameter gradient: {by_params}"
            );
            assert_eq!(by_params.checked, np.div_ceil(sp), "{by_params}");
            let by_input =
                gradcheck::check(&x, &dx, (0..x.len()).step_by(sx), 1e-2, 1e-3, noise, |xs| {
                    objective(&params, xs)
                });
            assert!(by_input.passed(), "{shape:?} input gradient: {by_input}");
            assert_eq!(by_input.checked, x.len().div_ceil(sx), "{by_input}");

            // Without dx, the same parameter gradients.
            let mut grads2 = std::vec![7.0; np];
            backward_batch(&params, &x, &r, None, &mut grads2, batch, &mut scratch);
            assert_eq!(grads, grads2);
        }
        #[cfg(not(feature = "alloc"))]
        let _ = backward_batch;
    }

    #[test]
    fn valid_stride_1() {
        run!(1; 6, 5, 2, 3, 3, 3, 1, 1, 0, 0, 4, 3);
    }

    #[test]
    fn valid_stride_2_drops_the_last_row_and_column() {
        // 7 × 6, k 3, s 2: 3 × 2 outputs; row 6 and column 5 are never read.
        run!(2; 7, 6, 2, 3, 3, 3, 2, 2, 0, 0, 3, 2);
    }

    #[test]
    fn same_stride_1() {
        run!(3; 5, 6, 2, 3, 3, 3, 1, 1, 1, 1, 5, 6);
    }

    #[test]
    fn same_stride_2_with_asymmetric_padding() {
        // Rows: 7, s 2 → 4, total pad 2 (1 + 1). Columns: 6, s 2 → 3, total pad 1 (0 + 1).
        const OH: usize = conv_output_len(7, 3, 2, true);
        const OW: usize = conv_output_len(6, 3, 2, true);
        const PT: usize = conv_padding_before(7, 3, 2, true);
        const PL: usize = conv_padding_before(6, 3, 2, true);
        const { assert!(OH == 4 && OW == 3 && PT == 1 && PL == 0) };
        run!(4; 7, 6, 2, 3, 3, 3, 2, 2, PT, PL, OH, OW);
    }

    #[test]
    fn same_even_and_rectangular_kernel_pads_bottom_right_more() {
        // k 2 × 4, s 1: total pad 1 rows (0 top), 3 columns (1 left, 2 right).
        const PT: usize = conv_padding_before(5, 2, 1, true);
        const PL: usize = conv_padding_before(6, 4, 1, true);
        const { assert!(PT == 0 && PL == 1) };
        run!(5; 5, 6, 2, 3, 2, 4, 1, 1, PT, PL, 5, 6);
    }

    #[test]
    fn rectangular_kernel_and_strides_valid() {
        run!(6; 7, 8, 3, 2, 2, 3, 1, 2, 0, 0, 6, 3);
    }

    #[test]
    fn one_by_one_kernel_skips_im2col() {
        const { assert!(Conv2D::<4, 3, 5, 2, 1, 1, 1, 1, 0, 0, 4, 3>::SCRATCH_PER_SAMPLE == 0) };
        run!(7; 4, 3, 5, 2, 1, 1, 1, 1, 0, 0, 4, 3);
        // Large enough for dx through the transposed weights, straight into dx.
        run!(10; 10, 10, 32, 16, 1, 1, 1, 1, 0, 0, 10, 10);
        // Stride 2 with a 1 × 1 kernel still needs im2col.
        run!(8; 5, 5, 3, 2, 1, 1, 2, 2, 0, 0, 3, 3);
    }

    #[test]
    fn large_products_take_the_blocked_path_and_still_match() {
        // 2 · 10 · 10 rows × 72 × 24: above LARGE_PRODUCT.
        const { assert!(2 * 10 * 10 * 72 * 24 >= crate::kernels::LARGE_PRODUCT) };
        run!(9; 12, 12, 8, 24, 3, 3, 1, 1, 0, 0, 10, 10);
    }

    #[test]
    fn keras_output_and_padding_rules() {
        assert_eq!(conv_output_len(28, 3, 1, false), 26);
        assert_eq!(conv_output_len(28, 3, 2, false), 13);
        assert_eq!(conv_output_len(28, 3, 2, true), 14);
        assert_eq!(conv_padding_before(28, 3, 2, true), 0); // total 1: 0 top, 1 bottom
        assert_eq!(conv_padding_before(28, 3, 1, true), 1);
        assert_eq!(conv_padding_before(28, 5, 1, true), 2);
        assert_eq!(conv_padding_before(28, 1, 1, true), 0);
        assert_eq!(conv_padding_before(10, 3, 1, false), 0);
    }

    /// A 1 × 1 × 2 image, 2 × 2 kernel, padding 1: a 2 × 2 output, so `IN = 2`, `OUT = 4`,
    /// `PATCH = 8`.
    type Tiny = Conv2D<1, 1, 2, 1, 2, 2, 1, 1, 1, 1, 2, 2>;

    /// `2^(bits - 1) + 1` samples: `batch * 2` wraps to 2 and `batch * 4` to 4, so slices
    /// for one sample looked right for this batch before the sizes were checked, and the
    /// passes returned after one sample as if they had done them all.
    const HUGE_BATCH: usize = usize::MAX / 2 + 2;

    #[test]
    #[should_panic(expected = "Conv2D::forward_batch: batch * OH * OW overflows usize")]
    fn forward_batch_rejects_a_batch_whose_sizes_overflow() {
        let (p, x) = ([0.5f32; Tiny::PARAMS], [1.0f32; 2]);
        let (mut y, mut scratch) = ([0.0f32; 4], [0.0f32; 32]);
        Tiny::forward_batch(&p, &x, &mut y, HUGE_BATCH, &mut scratch);
    }

    #[test]
    #[should_panic(expected = "Conv2D::backward_batch: batch * OH * OW overflows usize")]
    fn backward_batch_rejects_a_batch_whose_sizes_overflow() {
        let (p, x, dy) = ([0.5f32; Tiny::PARAMS], [1.0f32; 2], [1.0f32; 4]);
        let (mut dx, mut grads, mut scratch) = ([0.0f32; 2], [0.0f32; Tiny::PARAMS], [0.0; 32]);
        Tiny::backward_batch(
            &p,
            &x,
            &dy,
            Some(&mut dx),
            &mut grads,
            HUGE_BATCH,
            &mut scratch,
        );
    }

    #[test]
    fn glorot_limit_and_zero_bias() {
        type L = Conv2D<8, 8, 3, 16, 3, 3, 1, 1, 0, 0, 6, 6>;
        let mut p = std::vec![0.0; L::PARAMS];
        L::init(&mut p, &mut Rng::new(1));
        let limit = (6.0f32 / (9.0 * 19.0)).sqrt();
        let w = L::weights(&p);
        assert!(w.iter().all(|w| w.abs() <= limit));
        assert!(w.iter().any(|w| w.abs() > 0.9 * limit));
        assert!(L::bias(&p).iter().all(|&b| b == 0.0));
        assert_eq!(L::FLOPS, 2 * 36 * 27 * 16);
    }
}
