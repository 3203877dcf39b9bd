//! Long short-term memory (Keras' `LSTM`, PyTorch's `nn.LSTM` with `batch_first=True`):
//! reads a sequence of `T` steps of `F` features and returns its last hidden state (`H`
//! values) or, with `return_sequences`, the hidden state of every step (`T × H`).
//!
//! Each step, from the previous hidden and cell states `h` and `c` (zeros at the start):
//!
//! ```text
//! [i f g o] = x W_ih + b_ih + h W_hh + b_hh      (four blocks of H, PyTorch's order)
//! i, f, o   = sigmoid(i, f, o)                     (input, forget, output gates)
//! g         = tanh(g)                              (candidate)
//! c'        = f ⊙ c + i ⊙ g
//! h'        = o ⊙ tanh(c')
//! ```
//!
//! Parameters and their weight-file names are described in [`recurrent`](super::recurrent)
//! (`weight_ih_l0`, `weight_hh_l0`, `bias_ih_l0`, `bias_hh_l0`, as `nn.LSTM` saves them).
//! Keras' initialisation: Glorot-uniform input kernel, orthogonal recurrent kernel, zero
//! biases but 1 for the forget gate (`unit_forget_bias`, put in `bias_ih`).
//!
//! ```
//! use nn_core::layers::{Io, Layer, Lstm};
//! // One unit over two steps of one feature, input gate and candidate weights only:
//! // W_ih = [i f g o] = [1 0 1 0], everything else 0, so f = o = 1/2, i = sigmoid(x),
//! // g = tanh(x): c1 = i1 g1, h1 = tanh(c1) / 2, c2 = c1 / 2 + i2 g2.
//! let mut params = [0.0; Lstm::<2, 1, 1>::PARAMS];
//! params[..4].copy_from_slice(&[1.0, 0.0, 1.0, 0.0]);
//! let (mut y, mut scratch) = ([0.0; 1], [0.0; Lstm::<2, 1, 1>::SCRATCH]);
//! Lstm::<2, 1, 1>::new().infer(&params, &[], Io::Separate { x: &[0.5, -1.0], y: &mut y }, &mut scratch);
//! let sigmoid = |v: f32| 1.0 / (1.0 + (-v).exp());
//! let c1 = sigmoid(0.5) * 0.5f32.tanh();
//! let c2 = c1 / 2.0 + sigmoid(-1.0) * (-1.0f32).tanh();
//! assert!((y[0] - c2.tanh() / 2.0).abs() < 1e-6);
//! ```

use super::contract::{batch_values, to_u64, to_usize};
use super::recurrent::{
    self, for_chunks, recurrent_flops, recurrent_params, Dims, RecurrentGrad, RecurrentState, Rows,
};
use super::{Backward, Forward, Io, Layer, LayerRef, Pass, Tensor, TensorLayout};
use crate::{kernels, math, rng::Rng};
use nalgebra::{DMatrixView, DVectorView};

/// Parameters of an LSTM from `features` to `units` values.
#[must_use]
pub const fn lstm_params(features: usize, units: usize) -> Option<u128> {
    recurrent_params(features, units, 4)
}

/// Floating-point operations of an LSTM's inference over `steps` steps.
#[must_use]
pub const fn lstm_flops(steps: usize, features: usize, units: usize) -> Option<u128> {
    recurrent_flops(steps, features, units, 4)
}

/// Scratch of an LSTM's single-sample inference: the cell state and one step's gates (the
/// hidden state lives in the output).
#[must_use]
pub const fn lstm_scratch(units: usize) -> Option<u128> {
    super::contract::product(&[5, units])
}

/// An LSTM over `T` steps of `F` features with `H` units, returning the last step's hidden
/// state or, when `SEQ` (`return_sequences`), every step's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Lstm<const T: usize, const F: usize, const H: usize, const SEQ: bool = false>;

impl<const T: usize, const F: usize, const H: usize, const SEQ: bool> Lstm<T, F, H, SEQ> {
    const DIMS: Dims = Dims {
        steps: T,
        features: F,
        units: H,
        gates: 4,
    };
    /// Values of one step's gates, `4 H`.
    const W: usize = 4 * H;

    /// The layer.
    #[must_use]
    pub const fn new() -> Self {
        Self
    }

    /// Cached values per sample and step: the four activated gates, `c` and `tanh(c)`, and
    /// `h` unless the output holds every step's.
    const STEP_CACHE: usize = if SEQ { 6 * H } else { 7 * H };

    /// Batched forward pass from the initial state `start` (`h` and `c`, `batch × H` values
    /// each; zeros where `None`, as the layer runs in a model). [`Layer::forward`] is this
    /// from zeros; the final state is read back with [`end_state`](Self::end_state).
    ///
    /// # Panics
    /// If a slice is shorter than the batch needs, or a state does not hold `batch × H`
    /// values.
    pub fn forward_from(&self, f: Forward<'_>, start: RecurrentState<'_>) {
        let (batch, d, w) = (f.batch, Self::DIMS, Self::W);
        d.check_state("LSTM", "initial h", start.h, batch);
        d.check_state("LSTM", "initial c", start.c, batch);
        let rows = batch_values("LSTM", batch, T);
        let p = d.params(f.params);
        let cache = &mut f.cache[..batch_values("LSTM", batch, Self::CACHE)];
        let (gates, rest) = cache.split_at_mut(rows * w);
        let (c_all, rest) = rest.split_at_mut(rows * H);
        let (tc_all, rest) = rest.split_at_mut(rows * H);
        let y = &mut f.y[..batch_values("LSTM", batch, Self::OUTPUT)];
        let (h_all, last) = if SEQ {
            (y, None)
        } else {
            (&mut rest[..rows * H], Some(Rows::new(y, H)))
        };
        // The kernels packed once for every chunk (and, `W_hh`, every step), the two biases
        // summed once.
        let (w_hh, scratch) = f.scratch.split_at_mut(kernels::packed_len(H, w));
        let w_hh = &kernels::pack_b(H, w, p.w_hh, false, w_hh);
        let (w_ih, scratch) = scratch.split_at_mut(kernels::packed_len(F, w));
        let w_ih = &kernels::pack_b(F, w, p.w_ih, false, w_ih);
        let (bias, work) = scratch.split_at_mut(w);
        for ((v, &a), &b) in bias.iter_mut().zip(p.b_ih).zip(p.b_hh) {
            *v = a + b;
        }
        let (bias, x) = (&*bias, &f.x[..batch_values("LSTM", batch, Self::INPUT)]);
        let work = &mut work[..batch * (H + w)];
        let parts = (
            Rows::new(gates, T * w),
            (Rows::new(c_all, T * H), Rows::new(tc_all, T * H)),
            (Rows::new(h_all, T * H), last),
            Rows::new(work, H + w),
        );
        for_chunks(
            batch,
            T * (F + H) * w,
            parts,
            &|first, n, (gates, (c, tc), (h, last), work), threads| {
                // The chunk's input projections `x W_ih`, every step at once (in the chunk,
                // so that threads share this work too).
                let x = &x[first * T * F..(first + n) * T * F];
                kernels::gemm_nn_packed(n * T, x, w_ih, gates.values, false, threads);
                kernels::vectorized(
                    #[inline(always)]
                    || {
                        Self::forward_chunk(
                            w_hh, bias, first, n, threads, start, gates, c, tc, h, last, work,
                        );
                    },
                );
            },
        );
    }

    /// The recurrence of samples `first..first + n` (their rows of the cache and output),
    /// `gates` holding their input projections: at each step the projections of the step,
    /// plus the recurrent product `h W_hh` (from the second step, or the first with an
    /// initial state), are the pre-activations the step kernel reads with the `bias`; it
    /// writes the activated gates over the projections.
    // Inlined into the caller's `kernels::vectorized` closure: compiled there, its loops
    // get that level's vector width (a separate function would be baseline SSE2).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn forward_chunk(
        w_hh: &kernels::PackedB<'_>,
        bias: &[f32],
        first: usize,
        n: usize,
        threads: usize,
        start: RecurrentState<'_>,
        gates: Rows<'_>,
        c_all: Rows<'_>,
        tc_all: Rows<'_>,
        h_all: Rows<'_>,
        last: Option<Rows<'_>>,
        work: Rows<'_>,
    ) {
        let w = Self::W;
        let (hw, pre) = work.values.split_at_mut(n * H);
        let (gates, c_all, tc_all, h_all) =
            (gates.values, c_all.values, tc_all.values, h_all.values);
        match start.h {
            Some(h0) => hw.copy_from_slice(&h0[first * H..(first + n) * H]),
            None => hw.fill(0.0),
        }
        for t in 0..T {
            for (b, row) in pre.chunks_exact_mut(w).enumerate() {
                let r = b * T + t;
                row.copy_from_slice(&gates[r * w..(r + 1) * w]);
            }
            if t > 0 || start.h.is_some() {
                kernels::gemm_nn_packed(n, hw, w_hh, pre, true, threads);
            }
            for b in 0..n {
                let r = b * T + t;
                let (c_before, c_now) = c_all.split_at_mut(r * H);
                let c_prev = if t > 0 {
                    Some(&c_before[(r - 1) * H..r * H])
                } else {
                    start.c.map(|c0| &c0[(first + b) * H..(first + b + 1) * H])
                };
                kernels::lstm_step(kernels::LstmStep {
                    pre: &pre[b * w..(b + 1) * w],
                    bias,
                    gates: &mut gates[r * w..(r + 1) * w],
                    c_prev,
                    c: &mut c_now[..H],
                    tc: &mut tc_all[r * H..(r + 1) * H],
                    h: &mut h_all[r * H..(r + 1) * H],
                    h_copy: &mut hw[b * H..(b + 1) * H],
                });
            }
        }
        if let Some(last) = last {
            last.values.copy_from_slice(hw);
        }
    }

    /// The state after the last step of a [`forward_from`](Self::forward_from) (or a
    /// [`Layer::forward`]) whose output is `y` and cache `cache`: `h` and `c` of every sample
    /// into `end.h` and `end.c` (`batch × H` values each), where given.
    ///
    /// # Panics
    /// If a slice is shorter than the batch needs.
    pub fn end_state(&self, y: &[f32], cache: &[f32], batch: usize, mut end: RecurrentGrad<'_>) {
        let (rows, w) = (batch * T, Self::W);
        let c_all = &cache[rows * w..rows * (w + H)];
        let h_all = if SEQ {
            y
        } else {
            &cache[rows * (w + 2 * H)..rows * (w + 3 * H)]
        };
        for s in 0..batch {
            let r = s * T + T - 1;
            if let Some(h) = end.h.as_deref_mut() {
                h[s * H..(s + 1) * H].copy_from_slice(&h_all[r * H..(r + 1) * H]);
            }
            if let Some(c) = end.c.as_deref_mut() {
                c[s * H..(s + 1) * H].copy_from_slice(&c_all[r * H..(r + 1) * H]);
            }
        }
    }

    /// Batched backward pass (backpropagation through time) after a
    /// [`forward_from`](Self::forward_from) from `start`: besides the gradient with respect to
    /// the output (`b.dy`), the gradient with respect to the final state may be given
    /// (`d_end`), and the gradient with respect to the initial state is written to `d_start`
    /// where asked. [`Layer::backward`] is this from and to zeros.
    ///
    /// # Panics
    /// If a slice is shorter than the batch needs, or a state does not hold `batch × H`
    /// values.
    pub fn backward_from(
        &self,
        b: Backward<'_>,
        start: RecurrentState<'_>,
        d_end: RecurrentState<'_>,
        d_start: RecurrentGrad<'_>,
    ) {
        let (batch, d, w) = (b.batch, Self::DIMS, Self::W);
        for (what, s) in [
            ("initial h", start.h),
            ("initial c", start.c),
            ("gradient of the final h", d_end.h),
            ("gradient of the final c", d_end.c),
            ("gradient of the initial h", d_start.h.as_deref()),
            ("gradient of the initial c", d_start.c.as_deref()),
        ] {
            d.check_state("LSTM", what, s, batch);
        }
        let rows = batch_values("LSTM", batch, T);
        let cache = &b.cache[..batch_values("LSTM", batch, Self::CACHE)];
        let (gates, rest) = cache.split_at(rows * w);
        let (c_all, rest) = rest.split_at(rows * H);
        let (tc_all, rest) = rest.split_at(rows * H);
        let h_all = if SEQ {
            &b.y[..rows * H]
        } else {
            &rest[..rows * H]
        };
        let dy = &b.dy[..batch_values("LSTM", batch, Self::OUTPUT)];
        let (w_hh_t, scratch) = b.scratch.split_at_mut(kernels::packed_len(w, H));
        let (w_ih_t, scratch) = scratch.split_at_mut(w * F);
        let (d_gates, scratch) = scratch.split_at_mut(rows * w);
        let (xh, scratch) = scratch.split_at_mut(rows * (F + H));
        let (sums, work) = scratch.split_at_mut(batch * w);
        let p = Self::DIMS.params(b.params);
        // `W_hhᵀ`, packed once for every step of every chunk.
        let w_hh_t = &kernels::pack_b(w, H, p.w_hh, true, w_hh_t);
        let RecurrentGrad { h: dh0, c: dc0 } = d_start;
        // Each chunk keeps its rows of `d_gates` step by step (`[T][n]`, see
        // `backward_chunk`); the inputs and the states before every step, for the kernels'
        // gradient, are gathered in that order too (each chunk its samples').
        let xh = &mut xh[..rows * (F + H)];
        let x = &b.x[..batch_values("LSTM", batch, Self::INPUT)];
        let parts = (
            Rows::new(&mut *d_gates, T * w),
            (
                Rows::new(&mut work[..batch * 2 * H], 2 * H),
                Rows::new(&mut sums[..batch * w], w),
            ),
            (dh0.map(|v| Rows::new(v, H)), dc0.map(|v| Rows::new(v, H))),
            b.grads.is_some().then(|| Rows::new(&mut *xh, T * (F + H))),
        );
        for_chunks(
            batch,
            2 * T * H * w,
            parts,
            &|first, n, (d_gates, (work, sums), (dh0, dc0), xh), threads| {
                if let Some(xh) = xh {
                    let h0 = start.h.map(|h0| &h0[first * H..(first + n) * H]);
                    let h_all = &h_all[first * T * H..(first + n) * T * H];
                    let x = &x[first * T * F..(first + n) * T * F];
                    recurrent::inputs_and_states_by_step(d, n, x, h_all, h0, xh.values);
                }
                kernels::vectorized(
                    #[inline(always)]
                    || {
                        let (dh, dc) = work.values.split_at_mut(n * H);
                        let cache = Cache {
                            gates,
                            c: c_all,
                            tc: tc_all,
                        };
                        Self::backward_chunk(
                            w_hh_t,
                            (first, n, threads),
                            &cache,
                            dy,
                            start.c,
                            d_end,
                            d_gates.values,
                            (dh, dc, sums.values),
                            dh0.is_some(),
                        );
                        if let Some(dh0) = dh0 {
                            dh0.values.copy_from_slice(dh);
                        }
                        if let Some(dc0) = dc0 {
                            dc0.values.copy_from_slice(dc);
                        }
                    },
                );
            },
        );
        if let Some(grads) = b.grads {
            recurrent::kernel_and_bias_grads(d, rows, xh, d_gates, &sums[..batch * w], grads);
        }
        if let Some(dx) = b.dx {
            // `dx = d_gates W_ihᵀ`, in the chunks' step order (into `xh`, read by now), then
            // back to the samples' order.
            recurrent::transpose(p.w_ih, F, w, w_ih_t);
            let dx_steps = &mut xh[..rows * F];
            kernels::gemm_nn(rows, w, F, d_gates, w_ih_t, dx_steps, false);
            let dx = &mut dx[..batch_values("LSTM", batch, Self::INPUT)];
            let parts = (Rows::new(dx_steps, T * F), Rows::new(dx, T * F));
            for_chunks(batch, 0, parts, &|_, n, (steps, dx), _| {
                recurrent::by_sample(n, T, F, steps.values, dx.values);
            });
        }
    }

    /// Backpropagation through time for samples `first..first + n`: the gradients with
    /// respect to the gates' pre-activations of every step into `d_gates`, the chunk's
    /// `n × T` rows step by step (row `t n + b` for sample `first + b` at step `t`: each
    /// step's rows are written in place and read as they are by the recurrent product, with
    /// no copy), and those with respect to the initial `h` and `c` left in `dh` and `dc`;
    /// `db` receives each sample's gate gradients summed over its steps (the bias gradient,
    /// summed in the chunk's thread while its rows are in L1, rather than over all rows of
    /// the batch afterwards, on one thread).
    // Inlined into the caller's `kernels::vectorized` closure: compiled there, its loops
    // get that level's vector width (a separate function would be baseline SSE2).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn backward_chunk(
        w_hh_t: &kernels::PackedB<'_>,
        (first, n, threads): (usize, usize, usize),
        cache: &Cache<'_>,
        dy: &[f32],
        c0: Option<&[f32]>,
        d_end: RecurrentState<'_>,
        d_gates: &mut [f32],
        (dh, dc, db): (&mut [f32], &mut [f32], &mut [f32]),
        want_dh0: bool,
    ) {
        let w = Self::W;
        let span = first * H..(first + n) * H;
        match d_end.h {
            Some(v) => dh.copy_from_slice(&v[span.clone()]),
            None => dh.fill(0.0),
        }
        match d_end.c {
            Some(v) => dc.copy_from_slice(&v[span]),
            None => dc.fill(0.0),
        }
        db.fill(0.0);
        for t in (0..T).rev() {
            let dg = &mut d_gates[t * n * w..(t + 1) * n * w];
            for b in 0..n {
                let s = first + b;
                let r = s * T + t;
                let dh = &mut dh[b * H..(b + 1) * H];
                if SEQ {
                    for (a, &v) in dh.iter_mut().zip(&dy[r * H..(r + 1) * H]) {
                        *a += v;
                    }
                } else if t == T - 1 {
                    for (a, &v) in dh.iter_mut().zip(&dy[s * H..(s + 1) * H]) {
                        *a += v;
                    }
                }
                let g = &cache.gates[r * w..(r + 1) * w];
                let (gi, rest) = g.split_at(H);
                let (gf, rest) = rest.split_at(H);
                let (gg, go) = rest.split_at(H);
                let tc = &cache.tc[r * H..(r + 1) * H];
                let c_prev = if t > 0 {
                    Some(&cache.c[(r - 1) * H..r * H])
                } else {
                    c0.map(|c0| &c0[s * H..(s + 1) * H])
                };
                let dc = &mut dc[b * H..(b + 1) * H];
                let da = &mut dg[b * w..(b + 1) * w];
                let (da_i, rest) = da.split_at_mut(H);
                let (da_f, rest) = rest.split_at_mut(H);
                let (da_g, da_o) = rest.split_at_mut(H);
                // One loop per result, each writing one slice: few enough pointers that the
                // compiler vectorises them (one loop writing five slices stayed scalar).
                // `dc` becomes the gradient with respect to this step's cell state first.
                for (((d_c, &dh), &o), &tc) in dc.iter_mut().zip(&*dh).zip(go).zip(tc) {
                    *d_c += dh * o * (1.0 - tc * tc);
                }
                for (((a, &d_c), &g), &i) in da_i.iter_mut().zip(&*dc).zip(gg).zip(gi) {
                    *a = d_c * g * i * (1.0 - i);
                }
                for (((a, &d_c), &i), &g) in da_g.iter_mut().zip(&*dc).zip(gi).zip(gg) {
                    *a = d_c * i * (1.0 - g * g);
                }
                for (((a, &dh), &tc), &o) in da_o.iter_mut().zip(&*dh).zip(tc).zip(go) {
                    *a = dh * tc * o * (1.0 - o);
                }
                // The forget gate's gradient, from c_prev (0 when c_prev is 0).
                match c_prev {
                    Some(cp) => {
                        for (((a, &d_c), &f), &cp) in da_f.iter_mut().zip(&*dc).zip(gf).zip(cp) {
                            *a = d_c * f * (1.0 - f) * cp;
                        }
                    }
                    None => da_f.fill(0.0),
                }
                for (d_c, &f) in dc.iter_mut().zip(gf) {
                    *d_c *= f;
                }
                for (sum, &a) in db[b * w..(b + 1) * w].iter_mut().zip(&*da) {
                    *sum += a;
                }
            }
            if t > 0 || want_dh0 {
                kernels::gemm_nn_packed(n, dg, w_hh_t, dh, false, threads);
            }
        }
    }
}

/// What the backward pass reads of an LSTM's cache (`[batch][T][..]` each).
struct Cache<'a> {
    gates: &'a [f32],
    c: &'a [f32],
    tc: &'a [f32],
}

impl<const T: usize, const F: usize, const H: usize, const SEQ: bool> Layer for Lstm<T, F, H, SEQ> {
    const KIND: &'static str = "LSTM";
    const INPUT: usize = T * F;
    const OUTPUT: usize = if SEQ { T * H } else { H };
    const PARAMS: usize = to_usize(lstm_params(F, H));
    const FLOPS: u64 = to_u64(lstm_flops(T, F, H));
    const SCRATCH: usize = to_usize(lstm_scratch(H));
    const CACHE: usize = T * Self::STEP_CACHE;
    const TENSORS: &'static [Tensor] = &[
        Tensor {
            suffix: "weight_ih_l0",
            shape: &[4 * H, F],
            layout: TensorLayout::Transposed,
            offset: 0,
            state: false,
            input_axis: None,
        },
        Tensor {
            suffix: "weight_hh_l0",
            shape: &[4 * H, H],
            layout: TensorLayout::Transposed,
            offset: 4 * H * F,
            state: false,
            input_axis: None,
        },
        Tensor {
            suffix: "bias_ih_l0",
            shape: &[4 * H],
            layout: TensorLayout::Same,
            offset: 4 * H * (F + H),
            state: false,
            input_axis: None,
        },
        Tensor {
            suffix: "bias_hh_l0",
            shape: &[4 * H],
            layout: TensorLayout::Same,
            offset: 4 * H * (F + H + 1),
            state: false,
            input_axis: None,
        },
    ];

    /// Scratch of the backward pass: the recurrent kernel (packed) and the input kernel
    /// transposed, the gradients with respect to every step's gates, the inputs and the
    /// states before every step side by side (in the chunks' step order), and per sample
    /// the running state gradients and the sum of its gate gradients; or that of the
    /// forward pass (both kernels packed, the biases summed, per sample one step's state
    /// and pre-activations) where larger.
    fn batch_scratch(batch: usize) -> usize {
        let w = Self::W;
        let rows = batch_values("LSTM", batch, T);
        let forward = kernels::packed_len(H, w) + kernels::packed_len(F, w) + w + batch * (H + w);
        let backward = kernels::packed_len(w, H) + w * F + rows * (w + H + F) + batch * (2 * H + w);
        forward.max(backward)
    }

    /// Keras' initialisation: Glorot-uniform input kernel, orthogonal recurrent kernel, zero
    /// biases but 1 for the forget gate (`unit_forget_bias`, put in `bias_ih`).
    fn init(&self, params: &mut [f32], _state: &mut [f32], rng: &mut Rng) {
        let d = Self::DIMS;
        d.init(&mut params[..Self::PARAMS], rng);
        let [_, b_ih, _, _] = d.offsets();
        params[b_ih + H..b_ih + 2 * H].fill(1.0);
    }

    fn infer(&self, params: &[f32], _state: &[f32], io: Io<'_>, scratch: &mut [f32]) {
        let (x, y) = io.split();
        let p = Self::DIMS.params(params);
        let (c, g) = scratch[..5 * H].split_at_mut(H);
        c.fill(0.0);
        kernels::vectorized(
            #[inline(always)]
            || {
                for t in 0..T {
                    for ((v, &a), &b) in g.iter_mut().zip(p.b_ih).zip(p.b_hh) {
                        *v = a + b;
                    }
                    recurrent::row_times_matrix(&x[t * F..(t + 1) * F], p.w_ih, g);
                    // The hidden state is the output: the previous step's row (or the only row).
                    let at = if SEQ { t * H } else { 0 };
                    if t > 0 {
                        let prev = if SEQ { at - H } else { 0 };
                        recurrent::row_times_matrix(&y[prev..prev + H], p.w_hh, g);
                    }
                    math::sigmoid_slice(&mut g[..2 * H]);
                    math::tanh_slice(&mut g[2 * H..3 * H]);
                    math::sigmoid_slice(&mut g[3 * H..]);
                    let h = &mut y[at..at + H];
                    for j in 0..H {
                        c[j] = g[H + j] * c[j] + g[j] * g[2 * H + j];
                        h[j] = c[j];
                    }
                    math::tanh_slice(h);
                    for j in 0..H {
                        h[j] *= g[3 * H + j];
                    }
                }
            },
        );
    }

    fn forward(&self, f: Forward<'_>, _pass: &mut Pass<'_>) {
        self.forward_from(f, RecurrentState::default());
    }

    fn backward(&self, b: Backward<'_>) {
        self.backward_from(
            b,
            RecurrentState::default(),
            RecurrentState::default(),
            RecurrentGrad::default(),
        );
    }
}

impl<'a, const T: usize, const F: usize, const H: usize, const SEQ: bool>
    LayerRef<'a, Lstm<T, F, H, SEQ>>
{
    /// The input kernel as PyTorch's `weight_ih_l0`: a `4H × F` matrix, gates `i, f, g, o`.
    #[must_use]
    pub fn weight_ih(&self) -> DMatrixView<'a, f32> {
        recurrent::kernel_view(Lstm::<T, F, H, SEQ>::DIMS, self.params, false)
    }

    /// The recurrent kernel as PyTorch's `weight_hh_l0`: a `4H × H` matrix.
    #[must_use]
    pub fn weight_hh(&self) -> DMatrixView<'a, f32> {
        recurrent::kernel_view(Lstm::<T, F, H, SEQ>::DIMS, self.params, true)
    }

    /// The input bias, `bias_ih_l0` (`4H`).
    #[must_use]
    pub fn bias_ih(&self) -> DVectorView<'a, f32> {
        recurrent::bias_view(Lstm::<T, F, H, SEQ>::DIMS, self.params, false)
    }

    /// The recurrent bias, `bias_hh_l0` (`4H`).
    #[must_use]
    pub fn bias_hh(&self) -> DVectorView<'a, f32> {
        recurrent::bias_view(Lstm::<T, F, H, SEQ>::DIMS, self.params, true)
    }
}

#[cfg(all(test, feature = "alloc"))]
mod tests {
    use super::Lstm;
    use crate::layers::recurrent::testing::{self, Recurrent};
    use crate::layers::{Backward, Forward, Layer, RecurrentGrad, RecurrentState};
    use crate::rng::Rng;

    impl<const T: usize, const F: usize, const H: usize, const SEQ: bool> Recurrent
        for Lstm<T, F, H, SEQ>
    {
        const UNITS: usize = H;
        const CELL: bool = true;
        fn forward_from(&self, f: Forward<'_>, start: RecurrentState<'_>) {
            Lstm::forward_from(self, f, start);
        }
        fn backward_from(
            &self,
            b: Backward<'_>,
            start: RecurrentState<'_>,
            d_end: RecurrentState<'_>,
            d_start: RecurrentGrad<'_>,
        ) {
            Lstm::backward_from(self, b, start, d_end, d_start);
        }
        fn end_state(&self, y: &[f32], cache: &[f32], batch: usize, end: RecurrentGrad<'_>) {
            Lstm::end_state(self, y, cache, batch, end);
        }
    }

    #[test]
    fn gradients_match_finite_differences_from_a_nonzero_state() {
        testing::check_gradients(Lstm::<4, 3, 5, true>::new(), 3, 1);
        testing::check_gradients(Lstm::<4, 3, 5>::new(), 3, 2);
        testing::check_gradients(Lstm::<1, 2, 3>::new(), 2, 3);
    }

    #[test]
    fn single_sample_inference_matches_the_batched_pass() {
        testing::inference_matches_the_batch(Lstm::<6, 3, 5, true>::new(), 4);
        testing::inference_matches_the_batch(Lstm::<6, 3, 5>::new(), 5);
    }

    #[cfg(feature = "std")]
    #[test]
    fn results_do_not_depend_on_the_threads() {
        testing::threads_do_not_change_results(Lstm::<7, 5, 24, true>::new(), 6);
        testing::threads_do_not_change_results(Lstm::<7, 5, 24>::new(), 7);
    }

    #[test]
    fn keras_initialisation() {
        type L = Lstm<3, 10, 6>;
        let mut p = std::vec![f32::NAN; L::PARAMS];
        L::new().init(&mut p, &mut [], &mut Rng::new(8));
        let (w, h) = (24, 6);
        // Glorot-uniform input kernel: fan-in 10, fan-out 24.
        let limit = (6.0f32 / 34.0).sqrt();
        assert!(p[..10 * w].iter().all(|v| v.abs() <= limit));
        assert!(p[..10 * w].iter().any(|v| v.abs() > 0.9 * limit));
        // Orthogonal recurrent kernel: its 6 rows of 24 are orthonormal.
        let k = &p[10 * w..16 * w];
        for i in 0..h {
            for j in 0..h {
                let dot: f32 = (0..w).map(|c| k[i * w + c] * k[j * w + c]).sum();
                assert!((dot - f32::from(u8::from(i == j))).abs() < 1e-5);
            }
        }
        // Zero biases but the forget gate's (Keras' unit_forget_bias), in bias_ih.
        let (b_ih, b_hh) = p[16 * w..].split_at(w);
        assert!(b_ih[..h].iter().all(|&v| v == 0.0));
        assert!(b_ih[h..2 * h].iter().all(|&v| v == 1.0));
        assert!(b_ih[2 * h..].iter().all(|&v| v == 0.0));
        assert!(b_hh.iter().all(|&v| v == 0.0));
    }

    #[test]
    fn sizes_are_pytorchs() {
        // torch.nn.LSTM(28, 128): 4·128·(28 + 128) weights and 2·4·128 biases.
        assert_eq!(Lstm::<28, 28, 128>::PARAMS, 80_896);
        assert_eq!(Lstm::<28, 28, 128>::OUTPUT, 128);
        assert_eq!(Lstm::<28, 28, 128, true>::OUTPUT, 28 * 128);
        assert_eq!(Lstm::<28, 28, 128>::SCRATCH, 5 * 128);
        assert_eq!(Lstm::<28, 28, 128>::FLOPS, 2 * 28 * (28 + 128) * 512);
        let shapes: std::vec::Vec<_> = Lstm::<28, 28, 128>::TENSORS
            .iter()
            .map(|t| (t.suffix, t.shape, t.offset))
            .collect();
        assert_eq!(
            shapes,
            [
                ("weight_ih_l0", &[512, 28][..], 0),
                ("weight_hh_l0", &[512, 128][..], 512 * 28),
                ("bias_ih_l0", &[512][..], 512 * 156),
                ("bias_hh_l0", &[512][..], 512 * 157),
            ]
        );
    }
}
