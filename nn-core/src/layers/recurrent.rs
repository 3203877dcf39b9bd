//! What the recurrent layers ([`SimpleRnn`](super::SimpleRnn), [`Lstm`](super::Lstm),
//! [`Gru`](super::Gru)) share: their sizes, parameter layout and initialisation, the initial
//! state a lower-level pass may start from, the loop over chunks of a batch, and the products
//! of the backward pass. Each layer's own step (its gates, forward and backward) is in its
//! file.
//!
//! # Layout
//!
//! A sequence is `[steps, features]`, one step after another (a sample of `T` steps of `F`
//! features is `T * F` values, as PyTorch's `batch_first` tensors and Keras' inputs).
//!
//! A layer of `H` units with `G` gates (1, 4 or 3) keeps its parameters in this order:
//!
//! | values | what | PyTorch |
//! |---|---|---|
//! | `F × G·H` | input kernel `W_ih`, `F` rows of `G·H` (Keras' kernel layout) | `weight_ih_l0` `[G·H, F]`, transposed |
//! | `H × G·H` | recurrent kernel `W_hh`, `H` rows of `G·H` | `weight_hh_l0` `[G·H, H]`, transposed |
//! | `G·H` | input bias `b_ih` | `bias_ih_l0` |
//! | `G·H` | recurrent bias `b_hh` | `bias_hh_l0` |
//!
//! Within each row, the gates follow PyTorch's order (LSTM `i, f, g, o`; GRU `r, z, n`), so
//! weight files are plain transposes. Both biases are kept, as PyTorch has them, so files
//! round-trip exactly (Keras' LSTM and SimpleRNN have one bias: their sum).
//!
//! # The batched passes
//!
//! The input projections of every step of every sample are one product, `[batch·T, F] ×
//! [F, G·H]` (the LSTM makes one per chunk, inside the chunk's thread); only the recurrent
//! product, `[rows, H] × [H, G·H]`, runs step by step, on the recurrent kernel packed once per
//! pass ([`kernels::pack_b`]). The batch is cut into chunks of at most [`CHUNK`] samples
//! (`chunk_len`), each running its whole sequence on its own (in parallel when the caller
//! runs in a thread pool); the chunks depend only on the batch size, so results are
//! identical for any number of threads. The GRU's and SimpleRNN's caches and gradients keep
//! the sample-major order of the input (`[batch][T][..]`), so that the backward pass's weight
//! gradients are again single products over all `batch·T` rows; the LSTM keeps each chunk's
//! gate gradients in step order and makes both kernels' gradients one product over the
//! inputs and previous states gathered side by side.

use crate::kernels;
use crate::math;
use crate::rng::Rng;
use nalgebra::{DMatrixView, DVectorView};

use super::contract::{product, sum};

/// Most samples per chunk of a batched pass (see the [module documentation](self)). A
/// multiple of 6, the height of the AVX2 kernel's register tile: below AVX-512 the
/// step-by-step products of a chunk then run in whole tiles (with 16 rows, the 4 rows left
/// over took as long as the 12 in tiles).
pub const CHUNK: usize = 18;

/// Samples per chunk for a batch of `batch` (every chunk but the last has this many): as
/// few chunks of at most [`CHUNK`] as cover the batch, of equal size, rounded up to a
/// multiple of 6 below AVX-512 (whole AVX2 tiles). AVX-512 computes every row of a product
/// alike, so its chunks are as even as can be: a batch of 32 is two chunks of 16, not 18 and
/// 14 (two threads then share the recurrence evenly). The chunks depend only on the batch
/// (and the level), never on the threads.
pub(super) fn chunk_len(batch: usize) -> usize {
    let chunks = batch.div_ceil(CHUNK).max(1);
    let even = batch.div_ceil(chunks).max(1);
    if kernels::level() >= kernels::Level::Avx512 {
        even
    } else {
        even.next_multiple_of(6).min(CHUNK)
    }
}

/// Parameters of a recurrent layer with `gates` gates from `features` to `units` values:
/// two kernels and two biases.
#[must_use]
pub const fn recurrent_params(features: usize, units: usize, gates: usize) -> Option<u128> {
    let width = product(&[gates, units]);
    sum(
        sum(
            product(&[features, gates, units]),
            product(&[units, gates, units]),
        ),
        sum(width, width),
    )
}

/// Floating-point operations of a recurrent layer's inference over `steps` steps: a
/// multiply-add per kernel weight and step (the gates' element-wise work is not counted, as
/// common FLOP counters do).
#[must_use]
pub const fn recurrent_flops(
    steps: usize,
    features: usize,
    units: usize,
    gates: usize,
) -> Option<u128> {
    match sum(product(&[features]), product(&[units])) {
        Some(inputs) if inputs <= usize::MAX as u128 => {
            product(&[2, steps, inputs as usize, gates, units])
        }
        _ => None,
    }
}

/// A recurrent layer's state at the start of a sequence (or a gradient with respect to a
/// state): `batch × units` values for each of `h` and, for an LSTM, `c`. `None` is zeros,
/// which is where a layer in a model starts (Keras' default).
#[derive(Clone, Copy, Debug, Default)]
pub struct RecurrentState<'a> {
    /// The hidden state `h` of every sample.
    pub h: Option<&'a [f32]>,
    /// The cell state `c` of every sample (an LSTM's).
    pub c: Option<&'a [f32]>,
}

/// Room for the gradient with respect to a recurrent layer's initial state, when asked.
#[derive(Debug, Default)]
pub struct RecurrentGrad<'a> {
    /// Receives the gradient with respect to `h` (`batch × units`, overwritten).
    pub h: Option<&'a mut [f32]>,
    /// Receives the gradient with respect to `c` (an LSTM's).
    pub c: Option<&'a mut [f32]>,
}

/// The sizes of a recurrent layer.
#[derive(Clone, Copy, Debug)]
pub(super) struct Dims {
    /// Steps `T`.
    pub steps: usize,
    /// Features per step `F`.
    pub features: usize,
    /// Units `H`.
    pub units: usize,
    /// Gates `G`.
    pub gates: usize,
}

/// A layer's parameters by name.
pub(super) struct Params<'a> {
    pub w_ih: &'a [f32],
    pub w_hh: &'a [f32],
    pub b_ih: &'a [f32],
    pub b_hh: &'a [f32],
}

impl Dims {
    /// Values of one step's gates, `G·H`.
    pub const fn width(self) -> usize {
        self.gates * self.units
    }

    /// Offsets of `W_hh`, `b_ih`, `b_hh` and the end of the parameters.
    pub const fn offsets(self) -> [usize; 4] {
        let w = self.width();
        let hh = self.features * w;
        let b_ih = hh + self.units * w;
        [hh, b_ih, b_ih + w, b_ih + 2 * w]
    }

    /// The parameters, by name.
    pub fn params(self, params: &[f32]) -> Params<'_> {
        let [hh, b_ih, b_hh, end] = self.offsets();
        Params {
            w_ih: &params[..hh],
            w_hh: &params[hh..b_ih],
            b_ih: &params[b_ih..b_hh],
            b_hh: &params[b_hh..end],
        }
    }

    /// Keras' initialisation: a Glorot-uniform input kernel (fan-in `F`, fan-out `G·H`), an
    /// orthogonal recurrent kernel, zero biases.
    pub fn init(self, params: &mut [f32], rng: &mut Rng) {
        let [hh, b_ih, _, end] = self.offsets();
        #[allow(clippy::cast_precision_loss)]
        let limit = math::sqrt(6.0 / (self.features + self.width()) as f32);
        for v in &mut params[..hh] {
            *v = rng.uniform(-limit, limit);
        }
        orthogonal_rows(&mut params[hh..b_ih], self.units, self.width(), rng);
        params[b_ih..end].fill(0.0);
    }

    /// Checks that a given state holds `batch × H` values.
    pub fn check_state(self, kind: &str, what: &str, state: Option<&[f32]>, batch: usize) {
        if let Some(s) = state {
            let want = kernels::size(kind, "batch * units", batch, self.units);
            assert!(
                s.len() == want,
                "{kind}: {what} of {} values for {batch} samples of {} units",
                s.len(),
                self.units
            );
        }
    }
}

/// Fills `m`, `rows × cols` values with `rows <= cols`, with a random matrix whose rows are
/// orthonormal: Keras' `Orthogonal` initialiser (the QR decomposition of a Gaussian matrix,
/// signs fixed so that `R` has a positive diagonal, transposed when wide). Gram-Schmidt on the
/// rows gives that `Q` (run twice, as numerically needed in `f32`).
pub(super) fn orthogonal_rows(m: &mut [f32], rows: usize, cols: usize, rng: &mut Rng) {
    assert!(rows <= cols && m.len() == rows * cols, "orthogonal_rows");
    for v in m.iter_mut() {
        *v = rng.normal();
    }
    for i in 0..rows {
        let (done, rest) = m.split_at_mut(i * cols);
        let row = &mut rest[..cols];
        for _ in 0..2 {
            for other in done.chunks_exact(cols) {
                let dot: f64 = row
                    .iter()
                    .zip(other)
                    .map(|(&a, &b)| f64::from(a) * f64::from(b))
                    .sum();
                #[allow(clippy::cast_possible_truncation)]
                let dot = dot as f32;
                for (a, &b) in row.iter_mut().zip(other) {
                    *a -= dot * b;
                }
            }
        }
        let norm: f64 = row.iter().map(|&a| f64::from(a) * f64::from(a)).sum();
        #[allow(clippy::cast_possible_truncation)]
        let scale = (1.0 / libm::sqrt(norm)) as f32;
        for a in row.iter_mut() {
            *a *= scale;
        }
    }
}

/// A kernel in PyTorch's orientation, `G·H × F` (`W_ih`) or `G·H × H` (`recurrent`): memory
/// holds it row-major the other way round, which is column-major this way.
pub(super) fn kernel_view(d: Dims, params: &[f32], recurrent: bool) -> DMatrixView<'_, f32> {
    let [hh, b_ih, _, _] = d.offsets();
    let (values, cols) = if recurrent {
        (&params[hh..b_ih], d.units)
    } else {
        (&params[..hh], d.features)
    };
    DMatrixView::from_slice(values, d.width(), cols)
}

/// The input bias or the `recurrent` one.
pub(super) fn bias_view(d: Dims, params: &[f32], recurrent: bool) -> DVectorView<'_, f32> {
    let [_, b_ih, b_hh, end] = d.offsets();
    let values = if recurrent {
        &params[b_hh..end]
    } else {
        &params[b_ih..b_hh]
    };
    DVectorView::from_slice(values, d.width())
}

/// `out[row] = x[row] · W_ih + bias(row)` for all `rows` rows of `x` (the input projections
/// of every step), with `bias` writing each row's starting values.
pub(super) fn project_inputs(
    d: Dims,
    rows: usize,
    x: &[f32],
    w_ih: &[f32],
    bias: impl Fn(&mut [f32]),
    out: &mut [f32],
) {
    let w = d.width();
    // The bias once, then copied to every row.
    if rows > 0 {
        let (first, rest) = out[..rows * w].split_at_mut(w);
        bias(first);
        for row in rest.chunks_exact_mut(w) {
            row.copy_from_slice(first);
        }
    }
    kernels::gemm_nn(rows, d.features, w, x, w_ih, out, true);
}

/// `y += x · W` for one row `x` of `k` values and `W` of `k` rows of `y.len()` values: what
/// single-sample inference does at every step. Outputs are taken a block at a time, in a
/// local accumulator that stays in registers while the rows of `W` stream past, and zero
/// inputs (an image's background) skip their row. The block is 8 vector registers of the
/// level (64 values at AVX2, 128 at AVX-512): 8 independent chains of additions hide their
/// latency (with 4 zmm registers, the additions' latency bounded AVX-512 to AVX2's speed).
/// Each output sums the rows in order whatever the block, so every level gives the same
/// values. Run it inside [`kernels::vectorized`].
#[inline(always)]
pub(super) fn row_times_matrix(x: &[f32], w: &[f32], y: &mut [f32]) {
    if kernels::level() == kernels::Level::Avx512 {
        row_times_matrix_in_blocks::<128>(x, w, y);
    } else {
        row_times_matrix_in_blocks::<64>(x, w, y);
    }
}

/// [`row_times_matrix`] with blocks of `BLOCK` outputs.
#[inline(always)]
fn row_times_matrix_in_blocks<const BLOCK: usize>(x: &[f32], w: &[f32], y: &mut [f32]) {
    let n = y.len();
    let w = &w[..x.len() * n];
    let mut start = 0;
    while start + BLOCK <= n {
        let mut acc = [0.0f32; BLOCK];
        acc.copy_from_slice(&y[start..start + BLOCK]);
        for (&s, row) in x.iter().zip(w.chunks_exact(n)) {
            if s != 0.0 {
                let row: &[f32; BLOCK] = row[start..start + BLOCK]
                    .try_into()
                    .expect("a block of BLOCK values");
                for (a, &v) in acc.iter_mut().zip(row) {
                    *a += s * v;
                }
            }
        }
        y[start..start + BLOCK].copy_from_slice(&acc);
        start += BLOCK;
    }
    if start < n {
        let acc = &mut y[start..];
        for (&s, row) in x.iter().zip(w.chunks_exact(n)) {
            if s != 0.0 {
                for (a, &v) in acc.iter_mut().zip(&row[start..]) {
                    *a += s * v;
                }
            }
        }
    }
}

/// `dst` (`cols × rows`) = `src` (`rows × cols`) transposed.
pub(super) fn transpose(src: &[f32], rows: usize, cols: usize, dst: &mut [f32]) {
    for (r, row) in src[..rows * cols].chunks_exact(cols).enumerate() {
        for (c, &v) in row.iter().enumerate() {
            dst[c * rows + r] = v;
        }
    }
}

/// `out` = the sum of the rows (of `out.len()` values) of `rows`, vectorised at the
/// kernels' width.
pub(super) fn column_sums(rows: &[f32], out: &mut [f32]) {
    out.fill(0.0);
    kernels::vectorized(
        #[inline(always)]
        || {
            for row in rows.chunks_exact(out.len()) {
                for (o, &v) in out.iter_mut().zip(row) {
                    *o += v;
                }
            }
        },
    );
}

/// The state before each step of each sample, `[batch][T][H]`: the initial state `h0` (or
/// zeros) before step 0, the previous step's `h` (from `h_all`, `[batch][T][H]`) after.
pub(super) fn previous_states(
    d: Dims,
    batch: usize,
    h_all: &[f32],
    h0: Option<&[f32]>,
    out: &mut [f32],
) {
    let (t, h) = (d.steps, d.units);
    for s in 0..batch {
        let sample = &mut out[s * t * h..(s + 1) * t * h];
        match h0 {
            Some(h0) => sample[..h].copy_from_slice(&h0[s * h..(s + 1) * h]),
            None => sample[..h].fill(0.0),
        }
        sample[h..].copy_from_slice(&h_all[s * t * h..(s + 1) * t * h - h]);
    }
}

/// What the kernels' gradient multiplies for one chunk of `batch` samples, in step order:
/// row `t · batch + s` of `out` (`[T][batch][F + H]`) is the input of sample `s` at step `t`
/// (from `x`, `[batch][T][F]`) followed by its state before that step (`h0`, or zeros,
/// before step 0; then from `h_all`, `[batch][T][H]`). Since the parameters hold `W_ih`
/// then `W_hh`, `outᵀ · d_gates` is the gradient of both kernels at once
/// ([`kernel_and_bias_grads`]).
pub(super) fn inputs_and_states_by_step(
    d: Dims,
    batch: usize,
    x: &[f32],
    h_all: &[f32],
    h0: Option<&[f32]>,
    out: &mut [f32],
) {
    let (steps, f, h) = (d.steps, d.features, d.units);
    let width = f + h;
    for (i, row) in out[..steps * batch * width]
        .chunks_exact_mut(width.max(1))
        .enumerate()
    {
        let (t, s) = (i / batch, i % batch);
        let (x_row, h_row) = row.split_at_mut(f);
        let at = s * steps + t;
        x_row.copy_from_slice(&x[at * f..(at + 1) * f]);
        match (t, h0) {
            (0, Some(h0)) => h_row.copy_from_slice(&h0[s * h..(s + 1) * h]),
            (0, None) => h_row.fill(0.0),
            _ => h_row.copy_from_slice(&h_all[(at - 1) * h..at * h]),
        }
    }
}

/// The parameter gradients of a recurrent layer whose input and recurrent projections
/// share their gradient (its biases summed before the gates), `d_gates` (`rows × G·H`), from
/// the inputs and previous states `xh` of the same rows side by side (`rows × (F + H)`, see
/// [`inputs_and_states_by_step`]): both kernels' in one product over all the rows (one pass
/// over `d_gates` instead of two); the biases' the sum of the rows of `d_gates`, from
/// `per_sample` (`G·H` values per sample: its rows summed).
pub(super) fn kernel_and_bias_grads(
    d: Dims,
    rows: usize,
    xh: &[f32],
    d_gates: &[f32],
    per_sample: &[f32],
    grads: &mut [f32],
) {
    let w = d.width();
    let [_, b_ih, b_hh, end] = d.offsets();
    let (kernels, biases) = grads[..end].split_at_mut(b_ih);
    sum_over_rows(d.features + d.units, rows, w, xh, d_gates, kernels);
    let (db_ih, db_hh) = biases.split_at_mut(b_hh - b_ih);
    column_sums(per_sample, db_ih);
    db_hh.copy_from_slice(db_ih);
}

/// `dst[s][t] = src[t][s]` for `samples` samples of `steps` rows of `width` values: from the
/// steps' order (`[steps][samples][width]`) to the samples' (`[samples][steps][width]`).
pub(super) fn by_sample(samples: usize, steps: usize, width: usize, src: &[f32], dst: &mut [f32]) {
    for (i, row) in dst[..samples * steps * width]
        .chunks_exact_mut(width.max(1))
        .enumerate()
    {
        let (s, t) = (i / steps, i % steps);
        let at = (t * samples + s) * width;
        row.copy_from_slice(&src[at..at + width]);
    }
}

/// The parameter and input gradients of a recurrent layer, from the gradients with respect to
/// the input projections `d_in` and the recurrent projections `d_rec` of every step
/// (`[batch·T][G·H]` each; the same for a layer whose biases are summed before its gates)
/// and the state before every step `h_prev` (`[batch·T][H]`). `w_ih_t` is scratch for
/// `G·H × F` values.
#[allow(clippy::too_many_arguments)]
pub(super) fn weight_and_input_grads(
    d: Dims,
    rows: usize,
    x: &[f32],
    params: &[f32],
    d_in: &[f32],
    d_rec: &[f32],
    h_prev: &[f32],
    grads: Option<&mut [f32]>,
    dx: Option<&mut [f32]>,
    w_ih_t: &mut [f32],
) {
    let (f, h, w) = (d.features, d.units, d.width());
    if let Some(grads) = grads {
        let [hh, b_ih, b_hh, end] = d.offsets();
        let grads = &mut grads[..end];
        let (dw_ih, rest) = grads.split_at_mut(hh);
        let (dw_hh, rest) = rest.split_at_mut(b_ih - hh);
        let (db_ih, db_hh) = rest.split_at_mut(b_hh - b_ih);
        sum_over_rows(f, rows, w, x, d_in, dw_ih);
        sum_over_rows(h, rows, w, h_prev, d_rec, dw_hh);
        column_sums(&d_in[..rows * w], db_ih);
        if core::ptr::eq(d_in, d_rec) {
            // One gradient for both biases (a layer that sums them before its gates).
            db_hh.copy_from_slice(db_ih);
        } else {
            column_sums(&d_rec[..rows * w], db_hh);
        }
    }
    if let Some(dx) = dx {
        transpose(&d.params(params).w_ih[..f * w], f, w, w_ih_t);
        kernels::gemm_nn(rows, w, f, d_in, w_ih_t, dx, false);
    }
}

/// Rows per block of [`sum_over_rows`]: the AVX-512 kernel's block along `k` (its panels
/// of `B` are copied where they serve several tiles, so a block this long still reads `B`
/// from L1, and `C` is read and written once per block: blocks of 64 rows took about 2%
/// more time per LSTM epoch).
const SUM_ROWS: usize = 256;

/// `C[m×n] = A[rows×m]ᵀ · B[rows×n]`, a sum over the `batch·T` rows of every step, in blocks
/// of [`SUM_ROWS`] rows whose operands stay in cache (before the panels were copied, one
/// product over all rows ran at about half the speed, measured for `128 × 896 × 512`),
/// split across threads once for all the blocks ([`kernels::gemm_tn_sum`]).
fn sum_over_rows(m: usize, rows: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    if rows == 0 {
        c[..m * n].fill(0.0);
    }
    kernels::gemm_tn_sum(m, rows, n, a, b, c, SUM_ROWS);
}

/// Something split between consecutive ranges of samples (the buffers of a chunk).
pub(super) trait Split: Sized {
    /// The first `samples` samples, and the rest.
    fn split(self, samples: usize) -> (Self, Self);
}

/// A buffer of `width` values per sample.
#[derive(Debug)]
pub(super) struct Rows<'a> {
    pub values: &'a mut [f32],
    pub width: usize,
}

impl<'a> Rows<'a> {
    pub fn new(values: &'a mut [f32], width: usize) -> Self {
        Self { values, width }
    }
}

impl Split for Rows<'_> {
    fn split(self, samples: usize) -> (Self, Self) {
        let (a, b) = self.values.split_at_mut(samples * self.width);
        (Self::new(a, self.width), Self::new(b, self.width))
    }
}

impl<A: Split> Split for Option<A> {
    fn split(self, samples: usize) -> (Self, Self) {
        match self {
            Some(a) => {
                let (x, y) = a.split(samples);
                (Some(x), Some(y))
            }
            None => (None, None),
        }
    }
}

macro_rules! split_tuple {
    ($($name:ident),*) => {
        impl<$($name: Split),*> Split for ($($name,)*) {
            #[allow(non_snake_case)]
            fn split(self, samples: usize) -> (Self, Self) {
                let ($($name,)*) = self;
                $(let $name = $name.split(samples);)*
                (($($name.0,)*), ($($name.1,)*))
            }
        }
    };
}
split_tuple!(A, B);
split_tuple!(A, B, C);
split_tuple!(A, B, C, D);

/// Runs `f(first, count, parts, threads)` on every chunk of a batch of `batch` samples (see
/// the [module documentation](self)), `parts` split accordingly; chunks run in parallel when
/// the caller is in a thread pool and the work (`work_per_sample` multiply-adds) is worth
/// it. `threads` is what a chunk may use within itself: more than 1 only when there are
/// more threads than chunks (a product split further would only queue work for threads that
/// are busy with their own chunks).
pub(super) fn for_chunks<S: Split + Send>(
    batch: usize,
    work_per_sample: usize,
    parts: S,
    f: &(impl Fn(usize, usize, S, usize) + Sync),
) {
    let len = chunk_len(batch);
    let chunks = batch.div_ceil(len);
    let threads = if batch.saturating_mul(work_per_sample) >= 256 * 1024 {
        kernels::in_parallel()
    } else {
        1
    };
    chunk_range(threads, 0, chunks, batch, len, parts, f);
}

/// The first sample of chunk `i` over `batch` samples in chunks of `len`, the last one
/// shorter (`batch` from the last chunk on).
const fn chunk_start(i: usize, len: usize, batch: usize) -> usize {
    match i.checked_mul(len) {
        Some(start) if start < batch => start,
        _ => batch,
    }
}

fn chunk_range<S: Split + Send>(
    threads: usize,
    first: usize,
    count: usize,
    batch: usize,
    len: usize,
    parts: S,
    f: &(impl Fn(usize, usize, S, usize) + Sync),
) {
    #[cfg(feature = "std")]
    if threads >= 2 && count >= 2 {
        let half = count / 2;
        let start = chunk_start(first, len, batch);
        let middle = chunk_start(first + half, len, batch);
        let (a, b) = parts.split(middle - start);
        let (ta, tb) = (threads / 2, threads - threads / 2);
        crate::kernels::join(
            || chunk_range(ta, first, half, batch, len, a, f),
            || chunk_range(tb, first + half, count - half, batch, len, b, f),
        );
        return;
    }
    // One chunk keeps the threads it was given; several share one thread.
    let inner = if count == 1 { threads } else { 1 };
    let mut parts = parts;
    for i in first..first + count {
        let (start, end) = (chunk_start(i, len, batch), chunk_start(i + 1, len, batch));
        let (head, rest) = parts.split(end - start);
        f(start, end - start, head, inner);
        parts = rest;
    }
}

#[cfg(test)]
mod tests {
    use super::{
        chunk_len, chunk_start, orthogonal_rows, recurrent_flops, recurrent_params, CHUNK,
    };
    use crate::rng::Rng;

    #[test]
    fn sizes() {
        // PyTorch's LSTM(28, 128): 4·128·28 + 4·128·128 + 2·4·128.
        assert_eq!(recurrent_params(28, 128, 4), Some(80_896));
        assert_eq!(recurrent_flops(28, 28, 128, 4), Some(2 * 28 * 156 * 512));
        assert_eq!(recurrent_params(usize::MAX, usize::MAX, 4), None);
    }

    #[test]
    fn chunks_cover_the_batch_evenly() {
        let avx512 = crate::kernels::level() >= crate::kernels::Level::Avx512;
        for batch in [1usize, 5, 17, 18, 19, 32, 36, 37, 100] {
            let len = chunk_len(batch);
            let chunks = batch.div_ceil(len);
            // As few chunks as chunks of CHUNK would make, none larger.
            assert!(
                len <= CHUNK && chunks == batch.div_ceil(CHUNK),
                "{batch}: {len}"
            );
            assert_eq!(chunk_start(0, len, batch), 0);
            assert_eq!(chunk_start(chunks, len, batch), batch);
            let sizes: std::vec::Vec<usize> = (0..chunks)
                .map(|i| chunk_start(i + 1, len, batch) - chunk_start(i, len, batch))
                .collect();
            assert!(
                sizes[..chunks - 1].iter().all(|&n| n == len),
                "{batch}: {sizes:?}"
            );
            let last = sizes[chunks - 1];
            assert!(last > 0 && last <= len, "{batch}: {sizes:?}");
            if avx512 {
                // Even: the last chunk is short by less than a sample per chunk.
                assert!(len - last < chunks, "{batch}: {sizes:?}");
            } else {
                // Whole AVX2 tiles but in the last chunk.
                assert!(len.is_multiple_of(6) || chunks == 1, "{batch}: {sizes:?}");
            }
        }
        if avx512 {
            assert_eq!(chunk_len(32), 16);
        }
    }

    #[test]
    fn orthogonal_rows_are_orthonormal() {
        for (rows, cols) in [(5, 5), (4, 16), (32, 128)] {
            let mut m = std::vec![0.0; rows * cols];
            orthogonal_rows(&mut m, rows, cols, &mut Rng::new(3));
            for i in 0..rows {
                for j in 0..rows {
                    let dot: f32 = (0..cols).map(|k| m[i * cols + k] * m[j * cols + k]).sum();
                    let want = if i == j { 1.0 } else { 0.0 };
                    assert!((dot - want).abs() < 1e-5, "{rows}x{cols} ({i}, {j}): {dot}");
                }
            }
        }
    }
}

/// What the recurrent layers' unit tests share: their lower-level passes behind one trait,
/// a finite-difference check from a non-zero state, the agreement of single-sample inference
/// with the batched pass, and independence from the number of threads.
#[cfg(all(test, feature = "alloc"))]
pub(super) mod testing {
    use super::{RecurrentGrad, RecurrentState};
    use crate::gradcheck;
    use crate::layers::{Backward, Forward, Io, Layer};
    use crate::rng::Rng;
    use std::vec::Vec;

    /// A recurrent layer's passes from and to a given state.
    pub trait Recurrent: Layer {
        /// Units.
        const UNITS: usize;
        /// Whether it has a cell state (an LSTM).
        const CELL: bool;
        fn forward_from(&self, f: Forward<'_>, start: RecurrentState<'_>);
        fn backward_from(
            &self,
            b: Backward<'_>,
            start: RecurrentState<'_>,
            d_end: RecurrentState<'_>,
            d_start: RecurrentGrad<'_>,
        );
        fn end_state(&self, y: &[f32], cache: &[f32], batch: usize, end: RecurrentGrad<'_>);
    }

    fn random(n: usize, scale: f32, rng: &mut Rng) -> Vec<f32> {
        (0..n).map(|_| rng.uniform(-scale, scale)).collect()
    }

    /// Random parameters (biases included) for the layer.
    pub fn params<L: Recurrent>(layer: &L, rng: &mut Rng) -> Vec<f32> {
        let mut p = std::vec![0.0; L::PARAMS];
        layer.init(&mut p, &mut [], rng);
        for v in &mut p {
            *v += rng.uniform(-0.3, 0.3);
        }
        p
    }

    /// Runs the forward pass from `start`; returns the output, the cache and the final
    /// state `(h, c)`.
    #[allow(clippy::type_complexity)]
    fn forward<L: Recurrent>(
        layer: &L,
        p: &[f32],
        x: &[f32],
        batch: usize,
        start: RecurrentState<'_>,
    ) -> (Vec<f32>, Vec<f32>, Vec<f32>, Vec<f32>) {
        let h = L::UNITS;
        let mut y = std::vec![f32::NAN; batch * L::OUTPUT];
        let mut cache = std::vec![f32::NAN; batch * L::CACHE];
        let mut scratch = std::vec![f32::NAN; L::batch_scratch(batch)];
        layer.forward_from(
            Forward {
                params: p,
                state: &mut [],
                x,
                y: &mut y,
                cache: &mut cache,
                scratch: &mut scratch,
                batch,
            },
            start,
        );
        let (mut h_n, mut c_n) = (std::vec![0.0; batch * h], std::vec![0.0; batch * h]);
        layer.end_state(
            &y,
            &cache,
            batch,
            RecurrentGrad {
                h: Some(&mut h_n),
                c: L::CELL.then_some(c_n.as_mut_slice()),
            },
        );
        (y, cache, h_n, c_n)
    }

    /// Finite differences of `sum(y ⊙ ry) + sum(h_n ⊙ rh) (+ sum(c_n ⊙ rc))` from a random
    /// non-zero initial state, with respect to every parameter, input and initial state
    /// value, against the backward pass.
    pub fn check_gradients<L: Recurrent>(layer: L, batch: usize, seed: u64) {
        let h = L::UNITS;
        let mut rng = Rng::new(seed);
        let p = params(&layer, &mut rng);
        let x = random(batch * L::INPUT, 1.0, &mut rng);
        let h0 = random(batch * h, 0.8, &mut rng);
        let c0 = if L::CELL {
            random(batch * h, 0.8, &mut rng)
        } else {
            Vec::new()
        };
        // Non-uniform weights, so that a backward pass that ignores them fails.
        let ry = random(batch * L::OUTPUT, 1.5, &mut rng);
        let rh = random(batch * h, 1.5, &mut rng);
        let rc = if L::CELL {
            random(batch * h, 1.5, &mut rng)
        } else {
            Vec::new()
        };
        let (np, nx) = (L::PARAMS, batch * L::INPUT);
        let mut point = p.clone();
        point.extend_from_slice(&x);
        point.extend_from_slice(&h0);
        point.extend_from_slice(&c0);
        let objective = |v: &[f32]| -> (f64, f64) {
            let (p, rest) = v.split_at(np);
            let (x, rest) = rest.split_at(nx);
            let (h0, c0) = rest.split_at(batch * h);
            let state = RecurrentState {
                h: Some(h0),
                c: L::CELL.then_some(c0),
            };
            let (y, _, h_n, c_n) = forward(&layer, p, x, batch, state);
            y.iter()
                .zip(&ry)
                .chain(h_n.iter().zip(&rh))
                .chain(c_n.iter().zip(&rc))
                .map(|(&a, &b)| f64::from(a) * f64::from(b))
                .fold((0.0, 0.0), |(total, size), t| (total + t, size + t.abs()))
        };
        // Rounding noise of the objective: f32 precision of each term, summed.
        let noise = f64::from(f32::EPSILON) * (objective(&point).1 + 1.0);

        // Analytic: the backward pass from the same state, asked for everything.
        let state = RecurrentState {
            h: Some(&h0),
            c: L::CELL.then_some(c0.as_slice()),
        };
        let (y, cache, _, _) = forward(&layer, &p, &x, batch, state);
        let mut dy = ry.clone();
        let mut grads = std::vec![f32::NAN; np];
        let mut dx = std::vec![f32::NAN; nx];
        let (mut dh0, mut dc0) = (
            std::vec![f32::NAN; batch * h],
            std::vec![f32::NAN; batch * h],
        );
        let mut scratch = std::vec![f32::NAN; L::batch_scratch(batch)];
        layer.backward_from(
            Backward {
                params: &p,
                state: &[],
                x: &x,
                y: &y,
                cache: &cache,
                dy: &mut dy,
                dx: Some(&mut dx),
                grads: Some(&mut grads),
                scratch: &mut scratch,
                batch,
                training: true,
            },
            state,
            RecurrentState {
                h: Some(&rh),
                c: L::CELL.then_some(rc.as_slice()),
            },
            RecurrentGrad {
                h: Some(&mut dh0),
                c: L::CELL.then_some(dc0.as_mut_slice()),
            },
        );
        let mut analytic = grads;
        analytic.extend_from_slice(&dx);
        analytic.extend_from_slice(&dh0);
        if L::CELL {
            analytic.extend_from_slice(&dc0);
        }
        assert_eq!(analytic.len(), point.len());
        // A large step: the gates are smooth, Richardson's extrapolation makes the error
        // O(h^4), and f32 rounding noise in the difference quotients shrinks as 1/h.
        let report = gradcheck::check(&point, &analytic, 0..point.len(), 1e-1, 1e-3, noise, |v| {
            objective(v).0
        });
        assert!(
            report.passed() && report.skipped == 0,
            "{} (parameters 0..{np}, inputs ..{}, initial state after): {report}",
            L::KIND,
            np + nx
        );
    }

    /// Single-sample inference (from zeros) gives the batched pass's output, for a batch of
    /// several chunks.
    pub fn inference_matches_the_batch<L: Recurrent>(layer: L, seed: u64) {
        let mut rng = Rng::new(seed);
        let p = params(&layer, &mut rng);
        let batch = 2 * super::CHUNK + 3;
        let x = random(batch * L::INPUT, 1.0, &mut rng);
        let (y, ..) = forward(&layer, &p, &x, batch, RecurrentState::default());
        for s in [0, 1, super::CHUNK, batch - 1] {
            let mut one = std::vec![f32::NAN; L::OUTPUT];
            let mut scratch = std::vec![f32::NAN; L::SCRATCH];
            layer.infer(
                &p,
                &[],
                Io::Separate {
                    x: &x[s * L::INPUT..(s + 1) * L::INPUT],
                    y: &mut one,
                },
                &mut scratch,
            );
            for (o, (&a, &b)) in one.iter().zip(&y[s * L::OUTPUT..]).enumerate() {
                assert!(
                    (a - b).abs() <= 1e-5 * (1.0 + b.abs()),
                    "{} sample {s} output {o}: single {a}, batch {b}",
                    L::KIND
                );
            }
        }
    }

    /// The batched passes give bit-identical results on one thread and in a pool of two.
    #[cfg(feature = "std")]
    pub fn threads_do_not_change_results<L: Recurrent>(layer: L, seed: u64) {
        let mut rng = Rng::new(seed);
        let p = params(&layer, &mut rng);
        let batch = 2 * super::CHUNK + 5;
        let x = random(batch * L::INPUT, 1.0, &mut rng);
        let dy = random(batch * L::OUTPUT, 1.0, &mut rng);
        let run = || {
            let (y, cache, ..) = forward(&layer, &p, &x, batch, RecurrentState::default());
            let mut d = dy.clone();
            let mut grads = std::vec![0.0; L::PARAMS];
            let mut dx = std::vec![0.0; batch * L::INPUT];
            let mut scratch = std::vec![0.0; L::batch_scratch(batch)];
            layer.backward(Backward {
                params: &p,
                state: &[],
                x: &x,
                y: &y,
                cache: &cache,
                dy: &mut d,
                dx: Some(&mut dx),
                grads: Some(&mut grads),
                scratch: &mut scratch,
                batch,
                training: true,
            });
            (y, grads, dx)
        };
        let one = run();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .expect("a pool");
        let two = pool.install(run);
        assert!(one == two, "{}: results depend on the threads", L::KIND);
    }
}
