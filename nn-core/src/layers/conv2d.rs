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
//! * Single-sample inference ([`Layer::infer`]) loops directly over output pixels: for each pixel and
//!   kernel row, the in-image part of the window is one contiguous run of `x` (`kw` and `ci`
//!   are adjacent in HWC) and of the weights, so it is one small `1 × len × COUT` product.
//!   It needs no scratch, allocates nothing and keeps no arrays on the stack.
//! * The batched forward pass writes the *im2col* matrix of the batch (one row of
//!   `KH * KW * CIN` values per output pixel, zero where the window leaves the image) into a
//!   the shared scratch ([`Layer::batch_scratch`] values), then computes all
//!   outputs with one [`kernels::gemm_nn`] `(batch · OH · OW) × (KH · KW · CIN) × COUT`.
//! * The backward pass rebuilds the im2col matrix from `x` (so one scratch slice can
//!   serve every layer of a model), then `dW = colᵀ · dY` ([`kernels::gemm_tn`], summed over
//!   blocks of rows so each block stays in cache: twice as fast as one product over the
//!   whole batch, measured), `db = Σ dY`, and, when asked, `dcol = dY · Wᵀ` written over the
//!   im2col matrix and scattered back onto `dx` (*col2im*, adding where windows overlap).
//!   `dcol` is [`kernels::gemm_nt`] for small products; for large ones with
//!   `KH * KW * CIN >= 16` the weights are first transposed into the end of the scratch slice
//!   and `dcol` is a [`kernels::gemm_nn`], which has a register-blocked path that `gemm_nt`
//!   lacks (about twice as fast, measured).
//!
//! Both batched passes run in blocks of up to 8 samples (as many as keep the block's im2col
//! matrix, at most 1 MiB, in L2), split by block across the pool's threads: each block's
//! im2col rows are written and at once multiplied on the same thread (its products not
//! split again, [`kernels::alone`]), the bias is where the forward product starts and a
//! ReLU is applied while the block's outputs are in cache; backward, each block's part of
//! `dW` goes to its own part of the scratch (summed in block order afterwards) and its
//! `dcol` is scattered onto its own samples' `dx`. Blocks are fixed by sample index, so
//! results do not depend on the number of threads.
//!
//! A `1 × 1` kernel with stride 1 and no padding skips im2col: `x` already is the matrix.
//!
//! A receptive field of fewer than 16 values (`KH * KW * CIN < 16`, e.g. a first layer on a
//! grey image) is too short a `k` for the register tile, and there writing the im2col matrix
//! costs more than the product: the batched passes slide the window directly instead, the
//! sums of a pixel's `COUT` outputs in registers, the bias and a ReLU applied on the way out
//! (and the ReLU's derivative on the way into the weight gradient, when no input gradient is
//! asked), the parameter gradient summed per sample and then over the samples in order (so
//! that results do not depend on the number of threads). Its input gradient, when asked,
//! goes through im2col as above. (Measured on the MNIST CNN's first layer, 28 × 28 × 1 to
//! 26 × 26 × 32: the forward pass about 4x and the weight gradient about 3x faster.)
//!
//! ```
//! use nn_core::layers::{Conv2D, Forward, Io, Layer, Pass};
//! use nn_core::activations::Linear;
//! // One 3×3 single-channel image, one 2×2 filter of ones, 'valid', stride 1: 2×2 sums.
//! const CONV: Conv2D<3, 3, 1, 1, 2, 2, 1, 1, false> = Conv2D::new(Linear);
//! let params = [1.0, 1.0, 1.0, 1.0, /* bias */ 0.5];
//! let x = [1.0, 2.0, 3.0,
//!          4.0, 5.0, 6.0,
//!          7.0, 8.0, 9.0];
//! let mut y = [0.0; 4];
//! CONV.infer(&params, &[], Io::Separate { x: &x, y: &mut y }, &mut []);
//! assert_eq!(y, [12.5, 16.5, 24.5, 28.5]);
//!
//! // The same through the batched path, which needs an im2col scratch slice.
//! let mut scratch = vec![0.0; <Conv2D<3, 3, 1, 1, 2, 2, 1, 1, false>>::batch_scratch(1)];
//! let mut yb = [0.0; 4];
//! let f = Forward { params: &params, state: &mut [], x: &x, y: &mut yb, cache: &mut [],
//!                   scratch: &mut scratch, batch: 1 };
//! CONV.forward(f, &mut Pass::Eval);
//! assert_eq!(yb, y);
//! ```

use super::contract::{product, sum, to_u64, to_usize};
use super::window::{conv_output_len, conv_padding_before};
use super::TensorLayout;
use super::{Backward, Forward, Io, Layer, LayerMut, LayerRef, Pass, Tensor};
use crate::activations::{ActivationFn, ActivationKind, Linear};
use crate::quant::{affine, Fuse, Header, Quantize, Role};
use crate::{kernels, rng::Rng};
use nalgebra::{SMatrixView, SMatrixViewMut, SVectorView, SVectorViewMut};

/// Parameters of a convolution: `KH × KW × CIN × COUT` weights and `COUT` biases, exactly,
/// or `None` on overflow.
#[must_use]
pub const fn conv2d_params(kh: usize, kw: usize, cin: usize, cout: usize) -> Option<u128> {
    sum(product(&[kh, kw, cin, cout]), product(&[cout]))
}

/// Floating-point operations of a convolution's inference on an `oh × ow` output (a
/// multiply-add counts 2; padding counts as if it were data, as is customary).
#[must_use]
pub const fn conv2d_flops(
    oh: usize,
    ow: usize,
    kh: usize,
    kw: usize,
    cin: usize,
    cout: usize,
) -> Option<u128> {
    product(&[2, oh, ow, kh, kw, cin, cout])
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
/// strides `SH × SW`, Keras' `'same'` zero padding when `SAME` (else `'valid'`), and the
/// activation `A`: an `OH × OW × COUT` image.
///
/// `OH`, `OW` and the top and left padding `PT`, `PL` follow from the others (see
/// [`conv_output_len`] and [`conv_padding_before`]); the bottom and right padding are what
/// the last window needs beyond the image. Inconsistent shapes (a zero size or stride, a
/// `'valid'` kernel larger than the image) fail to compile when the layer is used.
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
    const SAME: bool,
    A = Linear,
> {
    /// The activation applied to the output.
    pub activation: A,
}

impl<
        const H: usize,
        const W: usize,
        const CIN: usize,
        const COUT: usize,
        const KH: usize,
        const KW: usize,
        const SH: usize,
        const SW: usize,
        const SAME: bool,
        A: ActivationFn,
    > Conv2D<H, W, CIN, COUT, KH, KW, SH, SW, SAME, A>
{
    /// Output rows.
    pub const OH: usize = conv_output_len(H, KH, SH, SAME);
    /// Output columns.
    pub const OW: usize = conv_output_len(W, KW, SW, SAME);
    /// Zero rows above the image.
    pub const PT: usize = conv_padding_before(H, KH, SH, SAME);
    /// Zero columns left of the image.
    pub const PL: usize = conv_padding_before(W, KW, SW, SAME);

    /// Values per input sample, `H * W * CIN`.
    const IN: usize = H * W * CIN;
    /// Values per output sample, `OH * OW * COUT`.
    const OUT: usize = Self::OH * Self::OW * COUT;
    /// Values in one receptive field (one im2col row), `KH * KW * CIN`.
    pub const PATCH: usize = KH * KW * CIN;
    /// Number of weights, `KH * KW * CIN * COUT`.
    pub const WEIGHTS: usize = KH * KW * CIN * COUT;
    /// Number of parameters, weights and biases.
    const PARAMS: usize = Self::WEIGHTS + COUT;
    /// Whether `x` itself is the im2col matrix (`1 × 1` kernel, stride 1, no padding).
    const DIRECT: bool = KH == 1 && KW == 1 && SH == 1 && SW == 1 && Self::OH == H && Self::OW == W;
    /// Whether the batched passes slide the window directly (see [`slide`](Self::slide)):
    /// receptive fields of fewer than 16 values (a first layer on a grey image), where `k`
    /// is too short for the register tile and writing the im2col matrix costs more than
    /// the product, and at most 256 filters (the sums of one pixel are on the stack).
    const SLIDING: bool = !Self::DIRECT && Self::PATCH < 16 && COUT <= 256;
    /// Scratch values per sample of the batched passes: the sample's im2col rows, and for a
    /// sliding layer (`KH * KW * CIN < 16`) at least its parameter gradient (summed per sample
    /// first).
    pub const SCRATCH_PER_SAMPLE: usize = if Self::SLIDING && Self::PARAMS > Self::COL_PER_SAMPLE {
        Self::PARAMS
    } else {
        Self::COL_PER_SAMPLE
    };
    /// Whether the batched passes go through im2col in blocks of samples (see
    /// [`convolve_blocks`](Self::convolve_blocks)): neither `1 × 1` nor sliding.
    const BLOCKED: bool = !Self::DIRECT && !Self::SLIDING;
    /// Samples per block of the im2col passes: a power of two, at most 8, whose im2col rows
    /// take at most 1 MiB (256 Ki values), so that a block's matrix, written and then read
    /// by the products, stays in L2 (2 MiB per core on the Xeon measured).
    const SAMPLE_BLOCK: usize = {
        let per_sample = if Self::COL_PER_SAMPLE > 0 {
            Self::COL_PER_SAMPLE
        } else {
            1
        };
        let fit = (256 * 1024) / per_sample;
        let mut block = 8;
        while block > 1 && block > fit {
            block /= 2;
        }
        block
    };
    /// Scratch values per block of samples: its im2col rows, then its part of the weight
    /// gradient.
    const BLOCK_SCRATCH: usize = Self::SAMPLE_BLOCK * Self::COL_PER_SAMPLE + Self::WEIGHTS;
    /// Values per sample of the im2col matrix (none when `x` is the matrix).
    const COL_PER_SAMPLE: usize = if Self::DIRECT {
        0
    } else {
        Self::OH * Self::OW * Self::PATCH
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
            && Self::OH > 0
            && Self::OW > 0
            && Self::PT < KH
            && Self::PL < KW
            && (Self::OH - 1) * SH < H + Self::PT
            && (Self::OW - 1) * SW < W + Self::PL,
        "Conv2D: inconsistent shape (zero size or stride, padding of a whole window, \
         or an output larger than the padded input allows)"
    );

    /// The layer with the activation `activation`.
    #[must_use]
    pub const fn new(activation: A) -> Self {
        Self { activation }
    }

    /// The same layer without its activation (see [`Dense::logits`](super::Dense::logits)).
    #[must_use]
    pub const fn logits(self) -> Conv2D<H, W, CIN, COUT, KH, KW, SH, SW, SAME> {
        Conv2D { activation: Linear }
    }

    /// Inference for one sample before the activation: `x` holds `H * W * CIN` values
    /// (HWC), `y` receives `OH * OW * COUT` (HWC). Direct loops: no scratch, no allocation.
    fn convolve_one(params: &[f32], x: &[f32], y: &mut [f32]) {
        let (w, b) = params[..Self::PARAMS].split_at(Self::WEIGHTS);
        let (x, y) = (&x[..Self::IN], &mut y[..Self::OUT]);
        for oh in 0..Self::OH {
            let (kh_lo, kh_hi, ih_lo) = window(oh, H, KH, SH, Self::PT);
            for ow in 0..Self::OW {
                let (kw_lo, kw_hi, iw_lo) = window(ow, W, KW, SW, Self::PL);
                let out = &mut y[(oh * Self::OW + ow) * COUT..][..COUT];
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

    /// The convolution of a batch, before the activation. `scratch` (at least
    /// [`Layer::batch_scratch`]`(batch)` values, contents irrelevant) receives the im2col
    /// matrix.
    fn convolve_batch(params: &[f32], x: &[f32], y: &mut [f32], batch: usize, scratch: &mut [f32]) {
        let () = Self::SHAPE_OK;
        let rows = Self::rows("Conv2D::forward", batch);
        let (w, b) = params[..Self::PARAMS].split_at(Self::WEIGHTS);
        let y = &mut y[..rows * COUT];
        kernels::par_rows(y, Self::OUT, Self::OUT, &|_, y| {
            for row in y.chunks_exact_mut(COUT) {
                row.copy_from_slice(b);
            }
        });
        let col: &[f32] = if Self::DIRECT {
            &x[..batch * Self::IN]
        } else {
            let col = &mut scratch[..rows * Self::PATCH];
            Self::im2col_batch(x, col);
            col
        };
        kernels::gemm_nn(rows, Self::PATCH, COUT, col, w, y, true);
    }

    /// The forward pass of a [`SLIDING`](Self::SLIDING) layer over a batch, split by sample
    /// across the pool's threads: see [`slide`](Self::slide).
    fn slide_batch(params: &[f32], x: &[f32], y: &mut [f32], batch: usize, relu: bool) {
        let () = Self::SHAPE_OK;
        Self::rows("Conv2D::forward", batch);
        let (w, b) = params[..Self::PARAMS].split_at(Self::WEIGHTS);
        let work = Self::OUT * Self::PATCH;
        kernels::par_rows(&mut y[..batch * Self::OUT], Self::OUT, work, &|first, y| {
            let x = &x[first * Self::IN..];
            kernels::vectorized(
                #[inline(always)]
                || {
                    for (xs, ys) in x.chunks_exact(Self::IN).zip(y.chunks_exact_mut(Self::OUT)) {
                        Self::slide(w, b, xs, ys, relu);
                    }
                },
            );
        });
    }

    /// One sample's convolution, the window slid over the image: for each output pixel, the
    /// `COUT` sums over the in-image part of the receptive field (in `[kh][kw][ci]` order,
    /// from zero) kept in registers, then the bias added and, with `relu`, `max(·, 0)`
    /// applied on the way out. Nothing but `y` is written.
    #[inline(always)]
    fn slide(w: &[f32], b: &[f32], x: &[f32], y: &mut [f32], relu: bool) {
        let (w, b, x, y) = (
            &w[..Self::WEIGHTS],
            &b[..COUT],
            &x[..Self::IN],
            &mut y[..Self::OUT],
        );
        for oh in 0..Self::OH {
            let rows = window(oh, H, KH, SH, Self::PT);
            for ow in 0..Self::OW {
                let cols = window(ow, W, KW, SW, Self::PL);
                let mut acc = [0.0f32; COUT];
                if rows.1 - rows.0 == KH && cols.1 - cols.0 == KW {
                    // The whole window inside the image: a loop of known length, which the
                    // compiler unrolls, the sums staying in registers.
                    let corner = (rows.2 * W + cols.2) * CIN;
                    for (p, w_row) in w.chunks_exact(COUT).enumerate().take(Self::PATCH) {
                        let (kh, rest) = (p / (KW * CIN), p % (KW * CIN));
                        let xv = x[corner + kh * W * CIN + rest];
                        for (a, &wv) in acc.iter_mut().zip(w_row) {
                            *a += xv * wv;
                        }
                    }
                } else {
                    Self::slide_edge(w, x, &mut acc, rows, cols);
                }
                for (a, &bias) in acc.iter_mut().zip(b) {
                    let v = bias + *a;
                    *a = if relu { v.max(0.0) } else { v };
                }
                y[(oh * Self::OW + ow) * COUT..][..COUT].copy_from_slice(&acc);
            }
        }
    }

    /// [`slide`](Self::slide)'s sums for a window that leaves the image: `rows` and `cols`
    /// as [`window`] returns them, the in-image part of each kernel row one contiguous run
    /// of `x` and of the weights.
    #[inline(always)]
    fn slide_edge(
        w: &[f32],
        x: &[f32],
        acc: &mut [f32; COUT],
        (kh_lo, kh_hi, ih_lo): (usize, usize, usize),
        (kw_lo, kw_hi, iw_lo): (usize, usize, usize),
    ) {
        let len = (kw_hi - kw_lo) * CIN;
        for kh in kh_lo..kh_hi {
            let ih = ih_lo + (kh - kh_lo);
            let xs = &x[(ih * W + iw_lo) * CIN..][..len];
            let ws = &w[(kh * KW + kw_lo) * CIN * COUT..][..len * COUT];
            for (&xv, w_row) in xs.iter().zip(ws.chunks_exact(COUT)) {
                for (a, &wv) in acc.iter_mut().zip(w_row) {
                    *a += xv * wv;
                }
            }
        }
    }

    /// The parameter gradient of a [`SLIDING`](Self::SLIDING) layer (overwriting `grads`):
    /// each sample's `dW` and `db` summed into its own part of `partial` (split by sample
    /// across the pool's threads, see [`slide_gradient`](Self::slide_gradient)), then the
    /// parts added in the order of the samples, so results do not depend on the number of
    /// threads. `partial` holds at least `batch * PARAMS` values.
    fn slide_gradients(
        x: &[f32],
        dy: &[f32],
        relu_of: Option<&[f32]>,
        grads: &mut [f32],
        batch: usize,
        partial: &mut [f32],
    ) {
        let per = Self::PARAMS;
        let partial = &mut partial[..batch * per];
        let work = Self::OUT * Self::PATCH;
        kernels::par_rows(partial, per, work, &|first, part| {
            kernels::vectorized(
                #[inline(always)]
                || {
                    for (s, g) in part.chunks_exact_mut(per).enumerate() {
                        let n = first + s;
                        let (xs, dys) = (
                            &x[n * Self::IN..][..Self::IN],
                            &dy[n * Self::OUT..][..Self::OUT],
                        );
                        let ys = relu_of.map(|y| &y[n * Self::OUT..][..Self::OUT]);
                        Self::slide_gradient(xs, dys, ys, g);
                    }
                },
            );
        });
        let grads = &mut grads[..per];
        kernels::vectorized(
            #[inline(always)]
            || {
                let mut parts = partial.chunks_exact(per);
                if let Some(first) = parts.next() {
                    grads.copy_from_slice(first);
                }
                for p in parts {
                    for (g, &v) in grads.iter_mut().zip(p) {
                        *g += v;
                    }
                }
            },
        );
    }

    /// One sample's `dW` and `db` (overwriting `g`, `PARAMS` values in the layer's order):
    /// for each output pixel, its `COUT` gradients added to `db` and, times each in-image
    /// input of its receptive field, to that input's row of `dW`. The sums are kept in
    /// local arrays (at most 16 rows of `dW`, as `PATCH < 16`), which the compiler knows
    /// alias nothing, so the loops vectorise.
    #[inline(always)]
    fn slide_gradient(x: &[f32], dy: &[f32], relu_of: Option<&[f32]>, g: &mut [f32]) {
        let (x, dy) = (&x[..Self::IN], &dy[..Self::OUT]);
        let mut dw = [[0.0f32; COUT]; 16];
        let mut db = [0.0f32; COUT];
        for oh in 0..Self::OH {
            let (kh_lo, kh_hi, ih_lo) = window(oh, H, KH, SH, Self::PT);
            for ow in 0..Self::OW {
                let (kw_lo, kw_hi, iw_lo) = window(ow, W, KW, SW, Self::PL);
                let len = (kw_hi - kw_lo) * CIN;
                // A local copy: the compiler knows it aliases nothing.
                let pixel = (oh * Self::OW + ow) * COUT;
                let mut d = [0.0f32; COUT];
                d.copy_from_slice(&dy[pixel..][..COUT]);
                if let Some(y) = relu_of {
                    for (d, &y) in d.iter_mut().zip(&y[pixel..][..COUT]) {
                        *d = if y > 0.0 { *d } else { 0.0 };
                    }
                }
                let d = &d;
                for (a, &v) in db.iter_mut().zip(d) {
                    *a += v;
                }
                if kh_hi - kh_lo == KH && kw_hi - kw_lo == KW {
                    // The whole window inside the image: every row of `dW`, in a loop of
                    // known length, which the compiler unrolls and vectorises.
                    let corner = (ih_lo * W + iw_lo) * CIN;
                    for (p, row) in dw.iter_mut().enumerate().take(Self::PATCH) {
                        let (kh, rest) = (p / (KW * CIN), p % (KW * CIN));
                        let xv = x[corner + kh * W * CIN + rest];
                        for (r, &dv) in row.iter_mut().zip(d) {
                            *r += xv * dv;
                        }
                    }
                    continue;
                }
                for kh in kh_lo..kh_hi {
                    let ih = ih_lo + (kh - kh_lo);
                    let xs = &x[(ih * W + iw_lo) * CIN..][..len];
                    let first = (kh * KW + kw_lo) * CIN;
                    for (&xv, row) in xs.iter().zip(&mut dw[first..first + len]) {
                        for (r, &dv) in row.iter_mut().zip(d) {
                            *r += xv * dv;
                        }
                    }
                }
            }
        }
        let (gw, gb) = g[..Self::PARAMS].split_at_mut(Self::WEIGHTS);
        for (out, row) in gw.chunks_exact_mut(COUT).zip(&dw) {
            out.copy_from_slice(row);
        }
        gb.copy_from_slice(&db);
    }

    /// The forward pass of a [`BLOCKED`](Self::BLOCKED) layer, before the activation (with
    /// `relu`, after a ReLU): the batch in blocks of [`SAMPLE_BLOCK`](Self::SAMPLE_BLOCK)
    /// samples, split by block across the pool's threads, each block's im2col rows written
    /// into its own part of `scratch` and at once multiplied by the weights (the product on
    /// the thread's own, `C` starting from the biases), then the ReLU applied while the
    /// block's outputs are in cache. Blocks are fixed by sample index, so results do not
    /// depend on the number of threads.
    fn convolve_blocks(
        params: &[f32],
        x: &[f32],
        y: &mut [f32],
        batch: usize,
        scratch: &mut [f32],
        relu: bool,
    ) {
        let () = Self::SHAPE_OK;
        let rows = Self::rows("Conv2D::forward", batch);
        let (w, b) = params[..Self::PARAMS].split_at(Self::WEIGHTS);
        let blocks = batch.div_ceil(Self::SAMPLE_BLOCK);
        let regions = &mut scratch[..blocks * Self::BLOCK_SCRATCH];
        let work = Self::SAMPLE_BLOCK * Self::OUT * Self::PATCH;
        let y = &mut y[..rows * COUT];
        let y_block = Self::SAMPLE_BLOCK * Self::OUT;
        kernels::par_rows2(
            regions,
            Self::BLOCK_SCRATCH,
            y,
            y_block,
            work,
            &|first, regions, y| {
                kernels::alone(|| {
                    let blocks = regions
                        .chunks_exact_mut(Self::BLOCK_SCRATCH)
                        .zip(y.chunks_mut(y_block));
                    for (i, (region, y)) in blocks.enumerate() {
                        let s0 = (first + i) * Self::SAMPLE_BLOCK;
                        let n = y.len() / Self::OUT;
                        let col = &mut region[..n * Self::COL_PER_SAMPLE];
                        kernels::vectorized(
                            #[inline(always)]
                            || Self::im2col(&x[s0 * Self::IN..], col, n),
                        );
                        for row in y.chunks_exact_mut(COUT) {
                            row.copy_from_slice(b);
                        }
                        kernels::gemm_nn(
                            n * Self::OH * Self::OW,
                            Self::PATCH,
                            COUT,
                            col,
                            w,
                            y,
                            true,
                        );
                        if relu {
                            kernels::vectorized(
                                #[inline(always)]
                                || {
                                    for v in y.iter_mut() {
                                        *v = v.max(0.0);
                                    }
                                },
                            );
                        }
                    }
                });
            },
        );
    }

    /// The backward pass of a [`BLOCKED`](Self::BLOCKED) layer, in the blocks of
    /// [`convolve_blocks`](Self::convolve_blocks), each on one thread and in cache: the
    /// block's im2col rows and its part of `dW` (into its part of `scratch`), then `dcol`
    /// over its im2col rows and *col2im* onto its samples' `dx`; after the blocks, `dW` the
    /// sum of their parts in block order and `db` the sum of `dy`. Arguments as for
    /// [`convolve_backward`](Self::convolve_backward).
    fn backward_blocks(
        params: &[f32],
        x: &[f32],
        dy: &[f32],
        dx: Option<&mut [f32]>,
        grads: Option<&mut [f32]>,
        batch: usize,
        scratch: &mut [f32],
    ) {
        let rows = Self::rows("Conv2D::backward", batch);
        let w = &params[..Self::WEIGHTS];
        let dy = &dy[..rows * COUT];
        let blocks = batch.div_ceil(Self::SAMPLE_BLOCK);
        let (regions, spare) = scratch.split_at_mut(blocks * Self::BLOCK_SCRATCH);
        let (want_dw, want_dx) = (grads.is_some(), dx.is_some());
        // Wᵀ once for every block's input gradient, when that goes through it.
        let wt: &[f32] = if want_dx && Self::DX_VIA_TRANSPOSE {
            let wt = &mut spare[..Self::WEIGHTS];
            for (p, w_row) in w.chunks_exact(COUT).enumerate() {
                for (co, &v) in w_row.iter().enumerate() {
                    wt[co * Self::PATCH + p] = v;
                }
            }
            wt
        } else {
            &[]
        };
        let mut no_dx = [0.0f32; 0];
        let (dx, dx_block) = match dx {
            Some(dx) => (&mut dx[..batch * Self::IN], Self::SAMPLE_BLOCK * Self::IN),
            None => (&mut no_dx[..], 0),
        };
        let work = Self::SAMPLE_BLOCK * Self::OUT * Self::PATCH * 2;
        kernels::par_rows2(
            regions,
            Self::BLOCK_SCRATCH,
            dx,
            dx_block,
            work,
            &|first, regions, dx| {
                kernels::alone(|| {
                    for (i, region) in regions.chunks_exact_mut(Self::BLOCK_SCRATCH).enumerate() {
                        let s0 = (first + i) * Self::SAMPLE_BLOCK;
                        let n = Self::SAMPLE_BLOCK.min(batch - s0);
                        let (col, dw) =
                            region.split_at_mut(Self::SAMPLE_BLOCK * Self::COL_PER_SAMPLE);
                        let col = &mut col[..n * Self::COL_PER_SAMPLE];
                        let dy = &dy[s0 * Self::OUT..][..n * Self::OUT];
                        if want_dw {
                            kernels::vectorized(
                                #[inline(always)]
                                || Self::im2col(&x[s0 * Self::IN..], col, n),
                            );
                            Self::weight_gradient(col, dy, dw);
                        }
                        if want_dx {
                            Self::input_gradient_with(w, wt, dy, col);
                            let dx = &mut dx[i * Self::SAMPLE_BLOCK * Self::IN..][..n * Self::IN];
                            kernels::vectorized(
                                #[inline(always)]
                                || Self::col2im(col, dx, n),
                            );
                        }
                    }
                });
            },
        );
        if let Some(grads) = grads {
            let (dw, db) = grads[..Self::PARAMS].split_at_mut(Self::WEIGHTS);
            kernels::vectorized(
                #[inline(always)]
                || {
                    let mut parts = regions
                        .chunks_exact(Self::BLOCK_SCRATCH)
                        .map(|r| &r[Self::SAMPLE_BLOCK * Self::COL_PER_SAMPLE..]);
                    if let Some(first) = parts.next() {
                        dw.copy_from_slice(first);
                    }
                    for part in parts {
                        for (g, &v) in dw.iter_mut().zip(part) {
                            *g += v;
                        }
                    }
                    db.fill(0.0);
                    for row in dy.chunks_exact(COUT) {
                        for (g, &d) in db.iter_mut().zip(row) {
                            *g += d;
                        }
                    }
                },
            );
        }
    }

    /// The backward pass of the convolution, from the gradient `dy` with respect to its
    /// output (before the activation): the parameter gradients into `grads` and the input
    /// gradient into `dx`, each when given (overwriting). `scratch` as for
    /// [`convolve_batch`](Self::convolve_batch); it need not hold what the forward pass left
    /// there.
    fn convolve_backward(
        params: &[f32],
        x: &[f32],
        dy: &[f32],
        dx: Option<&mut [f32]>,
        grads: Option<&mut [f32]>,
        batch: usize,
        scratch: &mut [f32],
    ) {
        let () = Self::SHAPE_OK;
        let rows = Self::rows("Conv2D::backward", batch);
        let dy = &dy[..rows * COUT];
        if Self::SLIDING {
            let partial = &mut scratch[..batch * Self::SCRATCH_PER_SAMPLE];
            if let Some(grads) = grads {
                Self::slide_gradients(x, dy, None, grads, batch, partial);
            }
            if dx.is_some() {
                Self::convolve_backward_products(params, x, dy, dx, None, batch, scratch);
            }
            return;
        }
        if Self::BLOCKED {
            Self::backward_blocks(params, x, dy, dx, grads, batch, scratch);
        } else {
            Self::convolve_backward_products(params, x, dy, dx, grads, batch, scratch);
        }
    }

    /// [`convolve_backward`](Self::convolve_backward) through the im2col matrix and products.
    fn convolve_backward_products(
        params: &[f32],
        x: &[f32],
        dy: &[f32],
        dx: Option<&mut [f32]>,
        grads: Option<&mut [f32]>,
        batch: usize,
        scratch: &mut [f32],
    ) {
        let rows = batch * Self::OH * Self::OW;
        let w = &params[..Self::WEIGHTS];
        let dy = &dy[..rows * COUT];
        let (col, spare) = scratch.split_at_mut(batch * Self::SCRATCH_PER_SAMPLE);
        let col = &mut col[..batch * Self::COL_PER_SAMPLE];
        let col: &mut [f32] = if Self::DIRECT {
            // x is the im2col matrix, and dx is dcol.
            &mut []
        } else {
            Self::im2col_batch(x, col);
            col
        };
        if let Some(grads) = grads {
            let (dw, db) = grads[..Self::PARAMS].split_at_mut(Self::WEIGHTS);
            db.fill(0.0);
            kernels::vectorized(
                #[inline(always)]
                || {
                    for row in dy.chunks_exact(COUT) {
                        for (g, &d) in db.iter_mut().zip(row) {
                            *g += d;
                        }
                    }
                },
            );
            let patches = if Self::DIRECT {
                &x[..rows * CIN]
            } else {
                &*col
            };
            Self::weight_gradient(patches, dy, dw);
        }
        if let Some(dx) = dx {
            if Self::DIRECT {
                Self::input_gradient(w, dy, &mut dx[..rows * CIN], spare);
            } else {
                Self::input_gradient(w, dy, col, spare);
                let dx = &mut dx[..batch * Self::IN];
                let work = Self::COL_PER_SAMPLE;
                kernels::par_rows(dx, Self::IN, work, &|first, dx| {
                    let col = &col[first * Self::COL_PER_SAMPLE..];
                    kernels::vectorized(
                        #[inline(always)]
                        || Self::col2im(col, dx, dx.len() / Self::IN),
                    );
                });
            }
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
        let rows = kernels::size(function, "batch * OH * OW", batch, Self::OH * Self::OW);
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

    /// `dcol = dy · Wᵀ` (overwriting) as [`input_gradient`](Self::input_gradient) computes
    /// it, `wt` holding `Wᵀ` already when `DX_VIA_TRANSPOSE` (else unused).
    fn input_gradient_with(w: &[f32], wt: &[f32], dy: &[f32], dcol: &mut [f32]) {
        let rows = dy.len() / COUT;
        if Self::DX_VIA_TRANSPOSE && rows * COUT * Self::PATCH >= kernels::LARGE_PRODUCT {
            kernels::gemm_nn(
                rows,
                COUT,
                Self::PATCH,
                dy,
                &wt[..Self::WEIGHTS],
                dcol,
                false,
            );
        } else {
            kernels::gemm_nt(rows, COUT, Self::PATCH, dy, w, dcol, false);
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

    /// [`im2col`](Self::im2col) of the `col.len() / COL_PER_SAMPLE` samples of `x`,
    /// split by sample across the pool's threads.
    fn im2col_batch(x: &[f32], col: &mut [f32]) {
        let per_sample = Self::COL_PER_SAMPLE;
        kernels::par_rows(col, per_sample, per_sample, &|first, col| {
            let x = &x[first * Self::IN..];
            kernels::vectorized(
                #[inline(always)]
                || Self::im2col(x, col, col.len() / per_sample),
            );
        });
    }

    /// Writes the im2col matrix of `batch` samples: row `(s, oh, ow)` holds the receptive
    /// field of output pixel `(oh, ow)` of sample `s` in `[kh][kw][ci]` order, zero where the
    /// window leaves the image.
    #[inline(always)]
    fn im2col(x: &[f32], col: &mut [f32], batch: usize) {
        let x = &x[..batch * Self::IN];
        let mut rows = col.chunks_exact_mut(Self::PATCH);
        for xs in x.chunks_exact(Self::IN) {
            for oh in 0..Self::OH {
                let (kh_lo, kh_hi, ih_lo) = window(oh, H, KH, SH, Self::PT);
                for ow in 0..Self::OW {
                    let (kw_lo, kw_hi, iw_lo) = window(ow, W, KW, SW, Self::PL);
                    let Some(row) = rows.next() else { return };
                    for (kh, seg) in row.chunks_exact_mut(KW * CIN).enumerate() {
                        if kh < kh_lo || kh >= kh_hi {
                            seg.fill(0.0);
                            continue;
                        }
                        let ih = ih_lo + (kh - kh_lo);
                        if kw_lo == 0 && kw_hi == KW {
                            // The whole kernel row inside the image: a copy of a length
                            // known at compile time, which the compiler inlines.
                            let from = (ih * W + iw_lo) * CIN;
                            seg.copy_from_slice(&xs[from..from + KW * CIN]);
                            continue;
                        }
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
    #[inline(always)]
    fn col2im(col: &[f32], dx: &mut [f32], batch: usize) {
        let dx = &mut dx[..batch * Self::IN];
        dx.fill(0.0);
        let mut rows = col.chunks_exact(Self::PATCH);
        for dxs in dx.chunks_exact_mut(Self::IN) {
            for oh in 0..Self::OH {
                let (kh_lo, kh_hi, ih_lo) = window(oh, H, KH, SH, Self::PT);
                for ow in 0..Self::OW {
                    let (kw_lo, kw_hi, iw_lo) = window(ow, W, KW, SW, Self::PL);
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

impl<
        const H: usize,
        const W: usize,
        const CIN: usize,
        const COUT: usize,
        const KH: usize,
        const KW: usize,
        const SH: usize,
        const SW: usize,
        const SAME: bool,
        A: ActivationFn,
    > Layer for Conv2D<H, W, CIN, COUT, KH, KW, SH, SW, SAME, A>
{
    const KIND: &'static str = "Conv2D";
    const INPUT: usize = Self::IN;
    const OUTPUT: usize = Self::OUT;
    const PARAMS: usize = to_usize(conv2d_params(KH, KW, CIN, COUT));
    const FLOPS: u64 = to_u64(conv2d_flops(Self::OH, Self::OW, KH, KW, CIN, COUT));
    const CACHE: usize = if A::USES_INPUT { Self::OUT } else { 0 };
    const TENSORS: &'static [Tensor] = &[
        Tensor {
            suffix: "weight",
            shape: &[COUT, CIN, KH, KW],
            layout: TensorLayout::Hwio,
            offset: 0,
            state: false,
            input_axis: None,
        },
        Tensor {
            suffix: "bias",
            shape: &[COUT],
            layout: TensorLayout::Same,
            offset: KH * KW * CIN * COUT,
            state: false,
            input_axis: None,
        },
    ];

    /// `batch * OH * OW * KH * KW * CIN` for the im2col matrix (none for a `1 × 1`,
    /// stride-1 convolution; for a sliding layer at least `PARAMS` per sample, its
    /// per-sample parameter gradients), plus `KH * KW * CIN * COUT` per block of samples
    /// (its part of the weight gradient) when the passes run in blocks, plus, when
    /// `KH * KW * CIN >= 16`, `KH * KW * CIN * COUT` for the transposed weights of the
    /// backward pass.
    fn batch_scratch(batch: usize) -> usize {
        if Self::BLOCKED {
            batch.div_ceil(Self::SAMPLE_BLOCK) * Self::BLOCK_SCRATCH + Self::SCRATCH_FIXED
        } else {
            batch * Self::SCRATCH_PER_SAMPLE + Self::SCRATCH_FIXED
        }
    }

    /// Keras' default initialisation: Glorot-uniform weights in
    /// `±sqrt(6 / (fan_in + fan_out))` with `fan_in = KH * KW * CIN` and
    /// `fan_out = KH * KW * COUT`, zero biases.
    fn init(&self, params: &mut [f32], _state: &mut [f32], rng: &mut Rng) {
        let () = Self::SHAPE_OK;
        #[allow(clippy::cast_precision_loss)]
        let limit = crate::math::sqrt(6.0 / (KH * KW * (CIN + COUT)) as f32);
        let (w, b) = params[..Self::PARAMS].split_at_mut(Self::WEIGHTS);
        for v in w {
            *v = rng.uniform(-limit, limit);
        }
        b.fill(0.0);
    }

    fn infer(&self, params: &[f32], _state: &[f32], io: Io<'_>, _scratch: &mut [f32]) {
        let () = Self::SHAPE_OK;
        let (x, y) = io.split();
        Self::convolve_one(params, x, y);
        self.activation.forward(&mut y[..Self::OUT], COUT);
    }

    fn forward(&self, f: Forward<'_>, _pass: &mut Pass<'_>) {
        let () = Self::SHAPE_OK;
        // A ReLU (which needs no cache) is applied as the outputs are written.
        let relu = !A::USES_INPUT && self.activation.builtin() == Some(ActivationKind::Relu);
        if Self::SLIDING {
            Self::slide_batch(f.params, f.x, f.y, f.batch, relu);
        } else if Self::BLOCKED {
            Self::convolve_blocks(f.params, f.x, f.y, f.batch, f.scratch, relu);
        } else {
            Self::convolve_batch(f.params, f.x, f.y, f.batch, f.scratch);
        }
        let fused = relu && !Self::DIRECT;
        let y = &mut f.y[..f.batch * Self::OUT];
        if A::USES_INPUT {
            f.cache[..y.len()].copy_from_slice(y);
        }
        if !fused {
            self.activation.forward(y, COUT);
        }
    }

    fn backward(&self, b: Backward<'_>) {
        let n = Self::rows("Conv2D::backward", b.batch) * COUT;
        if Self::SLIDING
            && b.dx.is_none()
            && self.activation.builtin() == Some(ActivationKind::Relu)
        {
            // Only the parameter gradient: the ReLU's derivative applied on the way in.
            if let Some(grads) = b.grads {
                let partial = &mut b.scratch[..b.batch * Self::SCRATCH_PER_SAMPLE];
                Self::slide_gradients(b.x, &b.dy[..n], Some(&b.y[..n]), grads, b.batch, partial);
            }
            return;
        }
        let z: &[f32] = if A::USES_INPUT { &b.cache[..n] } else { &[] };
        self.activation.backward(z, &b.y[..n], &mut b.dy[..n], COUT);
        Self::convolve_backward(b.params, b.x, b.dy, b.dx, b.grads, b.batch, b.scratch);
    }
}

/// int8: weights per output channel, the activation fused into the clamp (see
/// [`quant`](crate::quant)); zero padding is the input's zero point, so windows skip it.
impl<
        const H: usize,
        const W: usize,
        const CIN: usize,
        const COUT: usize,
        const KH: usize,
        const KW: usize,
        const SH: usize,
        const SW: usize,
        const SAME: bool,
        A: ActivationFn,
    > Quantize for Conv2D<H, W, CIN, COUT, KH, KW, SH, SW, SAME, A>
{
    const QBYTES: usize = affine::bytes(Self::PATCH, COUT);
    const ROLE: Role = Role::Affine {
        inputs: Self::PATCH,
        channels: COUT,
    };

    fn fuse(&self) -> Fuse {
        Fuse::of(&self.activation)
    }

    fn preactivation(&self, params: &[f32], _state: &[f32], x: &[f32], y: &mut [f32]) {
        let () = Self::SHAPE_OK;
        Self::convolve_one(params, x, y);
    }

    /// Per output pixel, the in-image part of each kernel row is one contiguous run of `x`
    /// and of the weight rows (`[kh][kw][ci]`, the channels adjacent), accumulated for
    /// [`CHUNK`](affine::CHUNK) channels at a time.
    fn infer_i8(&self, block: &[u8], io: Io<'_, i8>) {
        let () = Self::SHAPE_OK;
        let (x, y) = io.split();
        let (x, y) = (&x[..Self::IN], &mut y[..Self::OUT]);
        let header = Header::read(block);
        let b = affine::Block::new(block, Self::PATCH, COUT);
        let (zx, zy, bounds) = (
            header.input.zero_point,
            header.output.zero_point,
            b.bounds(),
        );
        crate::kernels::vectorized(|| {
            for oh in 0..Self::OH {
                let (kh_lo, kh_hi, ih_lo) = window(oh, H, KH, SH, Self::PT);
                for ow in 0..Self::OW {
                    let (kw_lo, kw_hi, iw_lo) = window(ow, W, KW, SW, Self::PL);
                    let len = (kw_hi - kw_lo) * CIN;
                    let out = &mut y[(oh * Self::OW + ow) * COUT..][..COUT];
                    for c0 in (0..COUT).step_by(affine::CHUNK) {
                        let n = affine::CHUNK.min(COUT - c0);
                        let mut acc = [0i32; affine::CHUNK];
                        let acc = &mut acc[..n];
                        for (c, a) in acc.iter_mut().enumerate() {
                            *a = b.requant(c0 + c).0;
                        }
                        for kh in kh_lo..kh_hi {
                            let ih = ih_lo + (kh - kh_lo);
                            let xs = &x[(ih * W + iw_lo) * CIN..][..len];
                            affine::accumulate(acc, xs, zx, &b, (kh * KW + kw_lo) * CIN, c0);
                        }
                        for (c, (&a, y)) in acc.iter().zip(&mut out[c0..c0 + n]).enumerate() {
                            let (_, m, e) = b.requant(c0 + c);
                            *y = affine::output(a, m, e, zy, bounds);
                        }
                    }
                }
            }
        });
    }

    fn finish(&self, y: &mut [f32]) {
        if let Fuse::Other(_) = self.fuse() {
            self.activation.forward(y, COUT);
        }
    }

    fn check_block(&self, block: &[u8]) -> Result<(), &'static str> {
        affine::check(block, Self::PATCH, COUT)
    }
}

impl<
        'a,
        const H: usize,
        const W: usize,
        const CIN: usize,
        const COUT: usize,
        const KH: usize,
        const KW: usize,
        const SH: usize,
        const SW: usize,
        const SAME: bool,
        A: ActivationFn,
    > LayerRef<'a, Conv2D<H, W, CIN, COUT, KH, KW, SH, SW, SAME, A>>
{
    /// The same layer without its activation, on the same parameters (see
    /// [`Dense::logits`](super::Dense::logits)).
    #[must_use]
    pub fn logits(self) -> LayerRef<'a, Conv2D<H, W, CIN, COUT, KH, KW, SH, SW, SAME>> {
        LayerRef {
            layer: self.layer.logits(),
            params: self.params,
            state: self.state,
        }
    }

    /// The kernel at row `kh`, column `kw` of the window as a `COUT × CIN` matrix: PyTorch's
    /// `weight[:, :, kh, kw]`. (Memory keeps Keras' `[KH][KW][CIN][COUT]`, so each such
    /// matrix is contiguous.)
    ///
    /// # Panics
    /// If `kh >= KH` or `kw >= KW`.
    #[must_use]
    pub fn kernel(&self, kh: usize, kw: usize) -> SMatrixView<'a, f32, COUT, CIN> {
        assert!(
            kh < KH && kw < KW,
            "kernel position ({kh}, {kw}) outside {KH}×{KW}"
        );
        let start = (kh * KW + kw) * CIN * COUT;
        SMatrixView::<f32, COUT, CIN>::from_slice(&self.params[start..start + CIN * COUT])
    }

    /// All weights, `[KH][KW][CIN][COUT]` flattened.
    #[must_use]
    pub fn weight(&self) -> &'a [f32] {
        &self.params[..KH * KW * CIN * COUT]
    }

    /// The biases.
    #[must_use]
    pub fn bias(&self) -> SVectorView<'a, f32, COUT> {
        SVectorView::<f32, COUT>::from_slice(&self.params[KH * KW * CIN * COUT..])
    }
}

impl<
        const H: usize,
        const W: usize,
        const CIN: usize,
        const COUT: usize,
        const KH: usize,
        const KW: usize,
        const SH: usize,
        const SW: usize,
        const SAME: bool,
        A: ActivationFn,
    > LayerMut<'_, Conv2D<H, W, CIN, COUT, KH, KW, SH, SW, SAME, A>>
{
    /// The kernel at window position (`kh`, `kw`), mutably (see [`LayerRef::kernel`]).
    ///
    /// # Panics
    /// If `kh >= KH` or `kw >= KW`.
    #[must_use]
    pub fn kernel_mut(&mut self, kh: usize, kw: usize) -> SMatrixViewMut<'_, f32, COUT, CIN> {
        assert!(
            kh < KH && kw < KW,
            "kernel position ({kh}, {kw}) outside {KH}×{KW}"
        );
        let start = (kh * KW + kw) * CIN * COUT;
        SMatrixViewMut::<f32, COUT, CIN>::from_slice(&mut self.params[start..start + CIN * COUT])
    }

    /// All weights, `[KH][KW][CIN][COUT]` flattened, mutably.
    #[must_use]
    pub fn weight_mut(&mut self) -> &mut [f32] {
        &mut self.params[..KH * KW * CIN * COUT]
    }

    /// The biases, mutably.
    #[must_use]
    pub fn bias_mut(&mut self) -> SVectorViewMut<'_, f32, COUT> {
        SVectorViewMut::<f32, COUT>::from_slice(&mut self.params[KH * KW * CIN * COUT..])
    }
}

#[cfg(test)]
mod tests {
    use super::{conv_output_len, conv_padding_before, Conv2D};
    use crate::activations::Linear;
    use crate::layers::{Backward, Forward, Io, Layer, LayerRef, Pass};
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
        ($seed:expr; $h:expr, $w:expr, $cin:expr, $cout:expr, $kh:expr, $kw:expr, $sh:expr, $sw:expr, $same:expr) => {{
            type L = Conv2D<$h, $w, $cin, $cout, $kh, $kw, $sh, $sw, $same>;
            let shape = [
                $h,
                $w,
                $cin,
                $cout,
                $kh,
                $kw,
                $sh,
                $sw,
                L::PT,
                L::PL,
                L::OH,
                L::OW,
            ];
            check(
                shape,
                $seed,
                L::INPUT,
                L::OUTPUT,
                L::PARAMS,
                L::batch_scratch(3),
                one::<L>,
                batched::<L>,
                backward::<L>,
            );
        }};
    }

    type ForwardOne = fn(&[f32], &[f32], &mut [f32]);
    type ForwardBatch = fn(&[f32], &[f32], &mut [f32], usize, &mut [f32]);
    type BackwardBatch =
        fn(&[f32], &[f32], &[f32], Option<&mut [f32]>, Option<&mut [f32]>, usize, &mut [f32]);

    fn one<L: Layer + Default>(p: &[f32], x: &[f32], y: &mut [f32]) {
        L::default().infer(p, &[], Io::Separate { x, y }, &mut []);
    }

    fn batched<L: Layer + Default>(
        p: &[f32],
        x: &[f32],
        y: &mut [f32],
        batch: usize,
        s: &mut [f32],
    ) {
        let f = Forward {
            params: p,
            state: &mut [],
            x,
            y,
            cache: &mut [],
            scratch: s,
            batch,
        };
        L::default().forward(f, &mut Pass::Eval);
    }

    fn backward<L: Layer + Default>(
        p: &[f32],
        x: &[f32],
        dy: &[f32],
        dx: Option<&mut [f32]>,
        grads: Option<&mut [f32]>,
        batch: usize,
        scratch: &mut [f32],
    ) {
        // A linear layer ignores y (zeros here); the gradient is written over a copy of dy.
        let mut dy = dy.to_vec();
        let y = std::vec![0.0; dy.len()];
        let b = Backward {
            params: p,
            state: &[],
            x,
            y: &y,
            cache: &[],
            dy: &mut dy,
            dx,
            grads,
            scratch,
            batch,
            training: false,
        };
        L::default().backward(b);
    }

    #[allow(clippy::too_many_arguments)]
    fn check(
        shape: [usize; 12],
        seed: u64,
        inn: usize,
        out: usize,
        np: usize,
        scratch_len: usize,
        forward: ForwardOne,
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
                Some(&mut grads),
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
            backward_batch(
                &params,
                &x,
                &r,
                None,
                Some(&mut grads2),
                batch,
                &mut scratch,
            );
            assert_eq!(grads, grads2);
            // Without parameter gradients (a frozen layer), the same input gradient.
            let mut dx2 = std::vec![f32::NAN; batch * inn];
            backward_batch(&params, &x, &r, Some(&mut dx2), None, batch, &mut scratch);
            assert_eq!(dx, dx2);
        }
        #[cfg(not(feature = "alloc"))]
        let _ = backward_batch;
    }

    #[test]
    fn valid_stride_1() {
        run!(1; 6, 5, 2, 3, 3, 3, 1, 1, false);
    }

    #[test]
    fn valid_stride_2_drops_the_last_row_and_column() {
        // 7 × 6, k 3, s 2: 3 × 2 outputs; row 6 and column 5 are never read.
        run!(2; 7, 6, 2, 3, 3, 3, 2, 2, false);
    }

    #[test]
    fn same_stride_1() {
        run!(3; 5, 6, 2, 3, 3, 3, 1, 1, true);
    }

    #[test]
    fn same_stride_2_with_asymmetric_padding() {
        // Rows: 7, s 2 → 4, total pad 2 (1 + 1). Columns: 6, s 2 → 3, total pad 1 (0 + 1).
        const OH: usize = conv_output_len(7, 3, 2, true);
        const OW: usize = conv_output_len(6, 3, 2, true);
        const PT: usize = conv_padding_before(7, 3, 2, true);
        const PL: usize = conv_padding_before(6, 3, 2, true);
        const { assert!(OH == 4 && OW == 3 && PT == 1 && PL == 0) };
        type L = Conv2D<7, 6, 2, 3, 3, 3, 2, 2, true>;
        const { assert!(L::OH == OH && L::OW == OW && L::PT == PT && L::PL == PL) };
        run!(4; 7, 6, 2, 3, 3, 3, 2, 2, true);
    }

    #[test]
    fn same_even_and_rectangular_kernel_pads_bottom_right_more() {
        // k 2 × 4, s 1: total pad 1 rows (0 top), 3 columns (1 left, 2 right).
        const PT: usize = conv_padding_before(5, 2, 1, true);
        const PL: usize = conv_padding_before(6, 4, 1, true);
        const { assert!(PT == 0 && PL == 1) };
        run!(5; 5, 6, 2, 3, 2, 4, 1, 1, true);
    }

    #[test]
    fn rectangular_kernel_and_strides_valid() {
        run!(6; 7, 8, 3, 2, 2, 3, 1, 2, false);
    }

    #[test]
    fn one_by_one_kernel_skips_im2col() {
        const { assert!(Conv2D::<4, 3, 5, 2, 1, 1, 1, 1, false>::SCRATCH_PER_SAMPLE == 0) };
        run!(7; 4, 3, 5, 2, 1, 1, 1, 1, false);
        // Large enough for dx through the transposed weights, straight into dx.
        run!(10; 10, 10, 32, 16, 1, 1, 1, 1, false);
        // Stride 2 with a 1 × 1 kernel still needs im2col.
        run!(8; 5, 5, 3, 2, 1, 1, 2, 2, false);
    }

    #[test]
    fn small_receptive_fields_slide_the_window() {
        // PATCH < 16: the window slid directly, 'valid' and 'same', strides 1 and 2.
        const { assert!(Conv2D::<7, 6, 1, 5, 3, 3, 1, 1, false>::SLIDING) };
        run!(11; 7, 6, 1, 5, 3, 3, 1, 1, false);
        run!(12; 7, 6, 1, 3, 3, 3, 2, 2, true);
        run!(13; 6, 7, 3, 4, 2, 2, 1, 1, true);
        const { assert!(!Conv2D::<6, 5, 2, 3, 3, 3, 1, 1, false>::SLIDING) };
    }

    /// A sliding layer with ReLU (applied as the sums leave the registers, its derivative as
    /// the gradient enters them) computes exactly what the layer without activation and
    /// the ReLU in turn compute.
    #[test]
    fn sliding_relu_is_fused_exactly() {
        use crate::activations::Relu;
        type Lin = Conv2D<9, 8, 1, 16, 3, 3, 1, 1, false>;
        type Rel = Conv2D<9, 8, 1, 16, 3, 3, 1, 1, false, Relu>;
        const { assert!(Lin::SLIDING) };
        let batch = 4;
        let mut rng = Rng::new(21);
        let params = random(Lin::PARAMS, &mut rng);
        let x = random(batch * Lin::INPUT, &mut rng);
        let dy = random(batch * Lin::OUTPUT, &mut rng);
        let mut scratch = std::vec![f32::NAN; Lin::batch_scratch(batch)];
        let mut run = |relu: bool, y: &mut [f32]| {
            let f = Forward {
                params: &params,
                state: &mut [],
                x: &x,
                y,
                cache: &mut [],
                scratch: &mut scratch,
                batch,
            };
            if relu {
                Rel::new(Relu).forward(f, &mut Pass::Eval);
            } else {
                Lin::default().forward(f, &mut Pass::Eval);
            }
        };
        let (mut lin, mut rel) = (std::vec![0.0; dy.len()], std::vec![0.0; dy.len()]);
        run(false, &mut lin);
        run(true, &mut rel);
        assert!(rel.contains(&0.0) && rel.iter().any(|&v| v > 0.0));
        let relu_of_lin: Vec<f32> = lin.iter().map(|v| v.max(0.0)).collect();
        assert_eq!(rel, relu_of_lin);

        let mut grads = |relu: bool, dy: &[f32]| {
            let mut dy = dy.to_vec();
            let mut g = std::vec![f32::NAN; Lin::PARAMS];
            let b = Backward {
                params: &params,
                state: &[],
                x: &x,
                y: &rel,
                cache: &[],
                dy: &mut dy,
                dx: None,
                grads: Some(&mut g),
                scratch: &mut scratch,
                batch,
                training: true,
            };
            if relu {
                Rel::new(Relu).backward(b);
            } else {
                Lin::default().backward(b);
            }
            g
        };
        let masked: Vec<f32> = dy
            .iter()
            .zip(&rel)
            .map(|(&d, &y)| if y > 0.0 { d } else { 0.0 })
            .collect();
        assert_eq!(grads(true, &dy), grads(false, &masked));
    }

    /// Forward and backward (input and parameter gradients) of `L` with ReLU on a batch
    /// of `batch` samples, on the calling thread.
    #[cfg(feature = "std")]
    fn passes<L: Layer>(layer: &L, batch: usize, seed: u64) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        let mut rng = Rng::new(seed);
        let params = random(L::PARAMS, &mut rng);
        let x = random(batch * L::INPUT, &mut rng);
        let mut dy = random(batch * L::OUTPUT, &mut rng);
        let mut y = std::vec![f32::NAN; batch * L::OUTPUT];
        let mut scratch = std::vec![f32::NAN; L::batch_scratch(batch)];
        let f = Forward {
            params: &params,
            state: &mut [],
            x: &x,
            y: &mut y,
            cache: &mut [],
            scratch: &mut scratch,
            batch,
        };
        layer.forward(f, &mut Pass::Eval);
        let (mut dx, mut grads) = (std::vec![f32::NAN; x.len()], std::vec![f32::NAN; L::PARAMS]);
        layer.backward(Backward {
            params: &params,
            state: &[],
            x: &x,
            y: &y,
            cache: &[],
            dy: &mut dy,
            dx: Some(&mut dx),
            grads: Some(&mut grads),
            scratch: &mut scratch,
            batch,
            training: true,
        });
        (y, dx, grads)
    }

    /// The batched passes split the batch by blocks of samples fixed by their index (and
    /// the products by aligned rows), so one and two threads give the same bits.
    #[cfg(feature = "std")]
    #[test]
    fn results_do_not_depend_on_the_threads() {
        use crate::activations::Relu;
        fn both<L: Layer>(layer: L, batch: usize, seed: u64) {
            let one = passes(&layer, batch, seed);
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(2)
                .build()
                .expect("a pool");
            let two = pool.install(|| passes(&layer, batch, seed));
            assert!(one == two, "{}: results depend on the threads", L::KIND);
        }
        // The MNIST CNN's second layer (blocks of 4 samples; 11 is not a multiple), a layer
        // of 8-sample blocks, and a sliding one.
        type Second = Conv2D<13, 13, 32, 64, 3, 3, 1, 1, false, Relu>;
        const { assert!(Second::BLOCKED && Second::SAMPLE_BLOCK == 4) };
        both(Second::new(Relu), 11, 31);
        type Third = Conv2D<5, 5, 64, 64, 3, 3, 1, 1, false, Relu>;
        const { assert!(Third::SAMPLE_BLOCK == 8) };
        both(Third::new(Relu), 19, 32);
        type First = Conv2D<28, 28, 1, 32, 3, 3, 1, 1, false, Relu>;
        const { assert!(First::SLIDING) };
        both(First::new(Relu), 9, 33);
    }

    #[test]
    fn large_products_take_the_blocked_path_and_still_match() {
        // 2 · 10 · 10 rows × 72 × 24: above LARGE_PRODUCT.
        const { assert!(2 * 10 * 10 * 72 * 24 >= crate::kernels::LARGE_PRODUCT) };
        run!(9; 12, 12, 8, 24, 3, 3, 1, 1, false);
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

    /// A 2 × 2 × 2 image, 2 × 2 kernel, 'same': a 2 × 2 output, so `IN = 8`, `OUT = 4`,
    /// `PATCH = 8`.
    type Tiny = Conv2D<2, 2, 2, 1, 2, 2, 1, 1, true>;

    /// `2^(bits - 2) + 1` samples: `batch * 4` wraps to 4, so slices for one sample looked
    /// right for this batch before the sizes were checked, and the passes returned after one
    /// sample as if they had done them all.
    const HUGE_BATCH: usize = usize::MAX / 4 + 2;

    #[test]
    #[should_panic(expected = "Conv2D::forward: batch * OH * OW overflows usize")]
    fn forward_rejects_a_batch_whose_sizes_overflow() {
        let (p, x) = ([0.5f32; 9], [1.0f32; 8]);
        let (mut y, mut scratch) = ([0.0f32; 4], [0.0f32; 64]);
        let f = Forward {
            params: &p,
            state: &mut [],
            x: &x,
            y: &mut y,
            cache: &mut [],
            scratch: &mut scratch,
            batch: HUGE_BATCH,
        };
        Tiny::new(Linear).forward(f, &mut Pass::Eval);
    }

    #[test]
    #[should_panic(expected = "Conv2D::backward: batch * OH * OW overflows usize")]
    fn backward_rejects_a_batch_whose_sizes_overflow() {
        let (p, x, y, mut dy) = ([0.5f32; 9], [1.0f32; 8], [1.0f32; 4], [1.0f32; 4]);
        let (mut dx, mut grads, mut scratch) = ([0.0f32; 8], [0.0f32; 9], [0.0; 64]);
        Tiny::new(Linear).backward(Backward {
            params: &p,
            state: &[],
            x: &x,
            y: &y,
            cache: &[],
            dy: &mut dy,
            dx: Some(&mut dx),
            grads: Some(&mut grads),
            scratch: &mut scratch,
            batch: HUGE_BATCH,
            training: false,
        });
    }

    #[test]
    fn glorot_limit_and_zero_bias_and_kernel_views() {
        type L = Conv2D<8, 8, 3, 16, 3, 3, 1, 1, false>;
        let mut p = std::vec![0.0; L::PARAMS];
        L::new(Linear).init(&mut p, &mut [], &mut Rng::new(1));
        let limit = (6.0f32 / (9.0 * 19.0)).sqrt();
        let view = LayerRef::new(L::new(Linear), &p, &[]);
        let w = view.weight();
        assert!(w.iter().all(|w| w.abs() <= limit));
        assert!(w.iter().any(|w| w.abs() > 0.9 * limit));
        assert!(view.bias().iter().all(|&b| b == 0.0));
        assert_eq!(L::FLOPS, 2 * 36 * 27 * 16);
        // PyTorch's weight[co, ci, kh, kw] is Keras' kernel[kh][kw][ci][co].
        let k = view.kernel(2, 1);
        assert_eq!(k[(5, 2)], p[((2 * 3 + 1) * 3 + 2) * 16 + 5]);
    }
}
