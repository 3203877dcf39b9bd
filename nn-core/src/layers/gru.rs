//! Gated recurrent unit (Keras' `GRU` with its default `reset_after=True`, which is PyTorch's
//! `nn.GRU`): reads a sequence of `T` steps of `F` features and returns its last hidden state
//! (`H` values) or, with `return_sequences`, the hidden state of every step (`T × H`).
//!
//! Each step, from the previous hidden state `h` (zeros at the start), with the gates in
//! PyTorch's order `r, z, n` and the reset gate applied after the recurrent product:
//!
//! ```text
//! [xr xz xn] = x W_ih + b_ih                 [hr hz hn] = h W_hh + b_hh
//! r  = sigmoid(xr + hr)                      (reset gate)
//! z  = sigmoid(xz + hz)                      (update gate)
//! n  = tanh(xn + r ⊙ hn)                     (candidate)
//! h' = (1 - z) ⊙ n + z ⊙ h
//! ```
//!
//! Parameters and their weight-file names are described in [`recurrent`](super::recurrent)
//! (`weight_ih_l0`, `weight_hh_l0`, `bias_ih_l0`, `bias_hh_l0`, as `nn.GRU` saves them; Keras
//! orders its gates `z, r, n` and stores the two biases as one `[2, 3H]` tensor). Keras'
//! initialisation: Glorot-uniform input kernel, orthogonal recurrent kernel, zero biases.
//!
//! ```
//! use nn_core::layers::{Gru, Io, Layer};
//! // One unit, one step of one feature, only the candidate's input weight (1): r = z = 1/2,
//! // n = tanh(x), h = n / 2.
//! let mut params = [0.0; Gru::<1, 1, 1>::PARAMS];
//! params[2] = 1.0;
//! let (mut y, mut scratch) = ([0.0; 1], [0.0; Gru::<1, 1, 1>::SCRATCH]);
//! Gru::<1, 1, 1>::new().infer(&params, &[], Io::Separate { x: &[0.8], y: &mut y }, &mut scratch);
//! assert!((y[0] - 0.8f32.tanh() / 2.0).abs() < 1e-6);
//! ```

use super::contract::{batch_values, to_u64, to_usize};
use super::recurrent::{
    self, for_chunks, recurrent_flops, recurrent_params, Dims, RecurrentGrad, RecurrentState, Rows,
};
use super::{Backward, Forward, Io, Layer, LayerRef, Pass, Tensor, TensorLayout};
use crate::{kernels, math, rng::Rng};
use nalgebra::{DMatrixView, DVectorView};

/// Parameters of a GRU from `features` to `units` values.
#[must_use]
pub const fn gru_params(features: usize, units: usize) -> Option<u128> {
    recurrent_params(features, units, 3)
}

/// Floating-point operations of a GRU's inference over `steps` steps.
#[must_use]
pub const fn gru_flops(steps: usize, features: usize, units: usize) -> Option<u128> {
    recurrent_flops(steps, features, units, 3)
}

/// Scratch of a GRU's single-sample inference: one step's input and recurrent projections
/// (the hidden state lives in the output).
#[must_use]
pub const fn gru_scratch(units: usize) -> Option<u128> {
    super::contract::product(&[6, units])
}

/// A GRU over `T` steps of `F` features with `H` units, returning the last step's hidden
/// state or, when `SEQ` (`return_sequences`), every step's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Gru<const T: usize, const F: usize, const H: usize, const SEQ: bool = false>;

/// What the backward pass reads of a GRU's cache (`[batch][T][..]` each).
struct Cache<'a> {
    /// The activated gates `r, z, n`.
    gates: &'a [f32],
    /// The recurrent projection of the candidate, `hn`.
    hn: &'a [f32],
    /// The hidden states.
    h: &'a [f32],
}

impl<const T: usize, const F: usize, const H: usize, const SEQ: bool> Gru<T, F, H, SEQ> {
    const DIMS: Dims = Dims {
        steps: T,
        features: F,
        units: H,
        gates: 3,
    };
    /// Values of one step's gates, `3 H`.
    const W: usize = 3 * H;
    /// Cached values per sample and step: the three activated gates, `hn`, and `h` unless the
    /// output holds every step's.
    const STEP_CACHE: usize = if SEQ { 4 * H } else { 5 * H };

    /// The layer.
    #[must_use]
    pub const fn new() -> Self {
        Self
    }

    /// Batched forward pass from the initial state `start.h` (`batch × H` values; zeros
    /// where `None`, as the layer runs in a model). [`Layer::forward`] is this from zeros;
    /// the final state is read back with [`end_state`](Self::end_state).
    ///
    /// # Panics
    /// If a slice is shorter than the batch needs, or the state does not hold `batch × H`
    /// values.
    pub fn forward_from(&self, f: Forward<'_>, start: RecurrentState<'_>) {
        let (batch, d, w) = (f.batch, Self::DIMS, Self::W);
        d.check_state("GRU", "initial h", start.h, batch);
        let rows = batch_values("GRU", batch, T);
        let p = d.params(f.params);
        let cache = &mut f.cache[..batch_values("GRU", batch, Self::CACHE)];
        let (gates, rest) = cache.split_at_mut(rows * w);
        let (hn, rest) = rest.split_at_mut(rows * H);
        let y = &mut f.y[..batch_values("GRU", batch, Self::OUTPUT)];
        let (h_all, last) = if SEQ {
            (y, None)
        } else {
            (&mut rest[..rows * H], Some(Rows::new(y, H)))
        };
        recurrent::project_inputs(
            d,
            rows,
            f.x,
            p.w_ih,
            |row| row.copy_from_slice(p.b_ih),
            gates,
        );
        let parts = (
            Rows::new(gates, T * w),
            Rows::new(hn, T * H),
            (Rows::new(h_all, T * H), last),
            Rows::new(&mut f.scratch[..batch * (H + w)], H + w),
        );
        for_chunks(
            batch,
            T * H * w,
            parts,
            &|first, n, (gates, hn, (h, last), work), _threads| {
                kernels::vectorized(
                    #[inline(always)]
                    || {
                        let (hw, tmp) = work.values.split_at_mut(n * H);
                        match start.h {
                            Some(h0) => hw.copy_from_slice(&h0[first * H..(first + n) * H]),
                            None => hw.fill(0.0),
                        }
                        for t in 0..T {
                            for row in tmp.chunks_exact_mut(w) {
                                row.copy_from_slice(p.b_hh);
                            }
                            if t > 0 || start.h.is_some() {
                                kernels::gemm_nn(n, H, w, hw, p.w_hh, tmp, true);
                            }
                            for b in 0..n {
                                let r = b * T + t;
                                let hp = &tmp[b * w..(b + 1) * w];
                                let hn = &mut hn.values[r * H..(r + 1) * H];
                                hn.copy_from_slice(&hp[2 * H..]);
                                Self::step(
                                    &mut gates.values[r * w..(r + 1) * w],
                                    &hp[..2 * H],
                                    hn,
                                    &mut hw[b * H..(b + 1) * H],
                                );
                                h.values[r * H..(r + 1) * H]
                                    .copy_from_slice(&hw[b * H..(b + 1) * H]);
                            }
                        }
                        if let Some(last) = last {
                            last.values.copy_from_slice(hw);
                        }
                    },
                );
            },
        );
    }

    /// One step of one sample: `g` holds the input projection and receives the activated
    /// gates, `hp_rz` and `hn` are the recurrent projection's reset and update parts and its
    /// candidate part, and `h` turns from the previous hidden state into the new one.
    #[inline]
    fn step(g: &mut [f32], hp_rz: &[f32], hn: &[f32], h: &mut [f32]) {
        for (v, &a) in g[..2 * H].iter_mut().zip(&hp_rz[..2 * H]) {
            *v += a;
        }
        math::sigmoid_slice(&mut g[..2 * H]);
        let (rz, n) = g.split_at_mut(2 * H);
        let (r, z) = rz.split_at(H);
        let (n, hn, h) = (&mut n[..H], &hn[..H], &mut h[..H]);
        for j in 0..H {
            n[j] += r[j] * hn[j];
        }
        math::tanh_slice(n);
        for j in 0..H {
            h[j] = (1.0 - z[j]) * n[j] + z[j] * h[j];
        }
    }

    /// The state after the last step of a [`forward_from`](Self::forward_from) (or a
    /// [`Layer::forward`]) whose output is `y` and cache `cache`: `h` of every sample into
    /// `end.h` (`batch × H` values), if given.
    ///
    /// # Panics
    /// If a slice is shorter than the batch needs.
    pub fn end_state(&self, y: &[f32], cache: &[f32], batch: usize, end: RecurrentGrad<'_>) {
        let rows = batch * T;
        let h_all = if SEQ {
            y
        } else {
            &cache[rows * (Self::W + H)..rows * (Self::W + 2 * H)]
        };
        if let Some(h) = end.h {
            for s in 0..batch {
                let r = s * T + T - 1;
                h[s * H..(s + 1) * H].copy_from_slice(&h_all[r * H..(r + 1) * H]);
            }
        }
    }

    /// Batched backward pass (backpropagation through time) after a
    /// [`forward_from`](Self::forward_from) from `start`: besides the gradient with respect to
    /// the output (`b.dy`), the gradient with respect to the final state may be given
    /// (`d_end.h`), and the gradient with respect to the initial state is written to
    /// `d_start.h` if asked. [`Layer::backward`] is this from and to zeros.
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
            ("gradient of the final h", d_end.h),
            ("gradient of the initial h", d_start.h.as_deref()),
        ] {
            d.check_state("GRU", what, s, batch);
        }
        let rows = batch_values("GRU", batch, T);
        let cache = &b.cache[..batch_values("GRU", batch, Self::CACHE)];
        let (gates, rest) = cache.split_at(rows * w);
        let (hn, rest) = rest.split_at(rows * H);
        let h_all = if SEQ {
            &b.y[..rows * H]
        } else {
            &rest[..rows * H]
        };
        let cache = Cache {
            gates,
            hn,
            h: h_all,
        };
        let dy = &b.dy[..batch_values("GRU", batch, Self::OUTPUT)];
        let (w_hh_t, scratch) = b.scratch.split_at_mut(w * H);
        let (w_ih_t, scratch) = scratch.split_at_mut(w * F);
        let (d_in, scratch) = scratch.split_at_mut(rows * w);
        let (d_rec, scratch) = scratch.split_at_mut(rows * w);
        let (h_prev, work) = scratch.split_at_mut(rows * H);
        recurrent::transpose(d.params(b.params).w_hh, H, w, w_hh_t);
        let w_hh_t = &*w_hh_t;
        let parts = (
            Rows::new(&mut *d_in, T * w),
            Rows::new(&mut *d_rec, T * w),
            Rows::new(&mut work[..batch * (H + w)], H + w),
            d_start.h.map(|v| Rows::new(v, H)),
        );
        for_chunks(
            batch,
            2 * T * H * w,
            parts,
            &|first, n, (d_in, d_rec, work, dh0), _threads| {
                kernels::vectorized(
                    #[inline(always)]
                    || {
                        let (dh, dhp) = work.values.split_at_mut(n * H);
                        Self::backward_chunk(
                            w_hh_t,
                            first,
                            n,
                            &cache,
                            dy,
                            start.h,
                            d_end.h,
                            (d_in.values, d_rec.values),
                            (dh, dhp),
                            dh0.is_some(),
                        );
                        if let Some(dh0) = dh0 {
                            dh0.values.copy_from_slice(dh);
                        }
                    },
                );
            },
        );
        let h_prev = &mut h_prev[..rows * H];
        if b.grads.is_some() {
            recurrent::previous_states(d, batch, h_all, start.h, h_prev);
        }
        recurrent::weight_and_input_grads(
            d, rows, b.x, b.params, d_in, d_rec, h_prev, b.grads, b.dx, w_ih_t,
        );
    }

    /// Backpropagation through time for samples `first..first + n`: the gradients with
    /// respect to the input and recurrent projections of every step into `d_in` and `d_rec`
    /// (their rows), and the one with respect to the initial `h` left in `dh`.
    // Inlined into the caller's `kernels::vectorized` closure: compiled there, its loops
    // get that level's vector width (a separate function would be baseline SSE2).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn backward_chunk(
        w_hh_t: &[f32],
        first: usize,
        n: usize,
        cache: &Cache<'_>,
        dy: &[f32],
        h0: Option<&[f32]>,
        dh_end: Option<&[f32]>,
        (d_in, d_rec): (&mut [f32], &mut [f32]),
        (dh, dhp): (&mut [f32], &mut [f32]),
        want_dh0: bool,
    ) {
        let w = Self::W;
        match dh_end {
            Some(v) => dh.copy_from_slice(&v[first * H..(first + n) * H]),
            None => dh.fill(0.0),
        }
        for t in (0..T).rev() {
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
                let (gr, rest) = g.split_at(H);
                let (gz, gn) = rest.split_at(H);
                let hn = &cache.hn[r * H..(r + 1) * H];
                let h_prev = if t > 0 {
                    Some(&cache.h[(r - 1) * H..r * H])
                } else {
                    h0.map(|h0| &h0[s * H..(s + 1) * H])
                };
                let dp = &mut dhp[b * w..(b + 1) * w];
                let (dp_r, rest) = dp.split_at_mut(H);
                let (dp_z, dp_n) = rest.split_at_mut(H);
                for j in 0..H {
                    let (rj, zj, nj) = (gr[j], gz[j], gn[j]);
                    let d_an = dh[j] * (1.0 - zj) * (1.0 - nj * nj);
                    dp_r[j] = d_an * hn[j] * rj * (1.0 - rj);
                    // The update gate's gradient without its `h` term, added below.
                    dp_z[j] = -dh[j] * nj * zj * (1.0 - zj);
                    dp_n[j] = d_an;
                }
                if let Some(hp) = h_prev {
                    for j in 0..H {
                        dp_z[j] += dh[j] * hp[j] * gz[j] * (1.0 - gz[j]);
                    }
                }
                let row = (b * T + t) * w;
                let (d_in, d_rec) = (&mut d_in[row..row + w], &mut d_rec[row..row + w]);
                d_in[..H].copy_from_slice(dp_r);
                d_in[H..2 * H].copy_from_slice(dp_z);
                d_in[2 * H..].copy_from_slice(dp_n);
                for j in 0..H {
                    dp_n[j] *= gr[j];
                    dh[j] *= gz[j];
                }
                d_rec.copy_from_slice(dp);
            }
            if t > 0 || want_dh0 {
                kernels::gemm_nn(n, w, H, dhp, w_hh_t, dh, true);
            }
        }
    }
}

impl<const T: usize, const F: usize, const H: usize, const SEQ: bool> Layer for Gru<T, F, H, SEQ> {
    const KIND: &'static str = "GRU";
    const INPUT: usize = T * F;
    const OUTPUT: usize = if SEQ { T * H } else { H };
    const PARAMS: usize = to_usize(gru_params(F, H));
    const FLOPS: u64 = to_u64(gru_flops(T, F, H));
    const SCRATCH: usize = to_usize(gru_scratch(H));
    const CACHE: usize = T * Self::STEP_CACHE;
    const TENSORS: &'static [Tensor] = &[
        Tensor {
            suffix: "weight_ih_l0",
            shape: &[3 * H, F],
            layout: TensorLayout::Transposed,
            offset: 0,
            state: false,
            input_axis: None,
        },
        Tensor {
            suffix: "weight_hh_l0",
            shape: &[3 * H, H],
            layout: TensorLayout::Transposed,
            offset: 3 * H * F,
            state: false,
            input_axis: None,
        },
        Tensor {
            suffix: "bias_ih_l0",
            shape: &[3 * H],
            layout: TensorLayout::Same,
            offset: 3 * H * (F + H),
            state: false,
            input_axis: None,
        },
        Tensor {
            suffix: "bias_hh_l0",
            shape: &[3 * H],
            layout: TensorLayout::Same,
            offset: 3 * H * (F + H + 1),
            state: false,
            input_axis: None,
        },
    ];

    /// Scratch for the recurrent kernel and the input kernel transposed, the gradients with
    /// respect to every step's input and recurrent projections and the states before every
    /// step, and per sample the running state gradient and one step's projection gradients
    /// (the forward pass needs less).
    fn batch_scratch(batch: usize) -> usize {
        let w = Self::W;
        let rows = batch_values("GRU", batch, T);
        w * (H + F) + rows * (2 * w + H) + batch * (H + w)
    }

    /// Keras' initialisation: Glorot-uniform input kernel, orthogonal recurrent kernel, zero
    /// biases.
    fn init(&self, params: &mut [f32], _state: &mut [f32], rng: &mut Rng) {
        Self::DIMS.init(&mut params[..Self::PARAMS], rng);
    }

    fn infer(&self, params: &[f32], _state: &[f32], io: Io<'_>, scratch: &mut [f32]) {
        let (x, y) = io.split();
        let w = Self::W;
        let p = Self::DIMS.params(params);
        let (g, hp) = scratch[..2 * w].split_at_mut(w);
        kernels::vectorized(
            #[inline(always)]
            || {
                for t in 0..T {
                    g.copy_from_slice(p.b_ih);
                    recurrent::row_times_matrix(&x[t * F..(t + 1) * F], p.w_ih, g);
                    hp.copy_from_slice(p.b_hh);
                    // The hidden state is the output: the previous step's row (or the only row).
                    let at = if SEQ { t * H } else { 0 };
                    let (before, h) = y.split_at_mut(at);
                    let h = &mut h[..H];
                    if t == 0 {
                        h.fill(0.0);
                    } else if SEQ {
                        let prev = &before[at - H..];
                        recurrent::row_times_matrix(prev, p.w_hh, hp);
                        h.copy_from_slice(prev);
                    } else {
                        recurrent::row_times_matrix(h, p.w_hh, hp);
                    }
                    let (hp_rz, hn) = hp.split_at(2 * H);
                    Self::step(g, hp_rz, hn, h);
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
    LayerRef<'a, Gru<T, F, H, SEQ>>
{
    /// The input kernel as PyTorch's `weight_ih_l0`: a `3H × F` matrix, gates `r, z, n`.
    #[must_use]
    pub fn weight_ih(&self) -> DMatrixView<'a, f32> {
        recurrent::kernel_view(Gru::<T, F, H, SEQ>::DIMS, self.params, false)
    }

    /// The recurrent kernel as PyTorch's `weight_hh_l0`: a `3H × H` matrix.
    #[must_use]
    pub fn weight_hh(&self) -> DMatrixView<'a, f32> {
        recurrent::kernel_view(Gru::<T, F, H, SEQ>::DIMS, self.params, true)
    }

    /// The input bias, `bias_ih_l0` (`3H`).
    #[must_use]
    pub fn bias_ih(&self) -> DVectorView<'a, f32> {
        recurrent::bias_view(Gru::<T, F, H, SEQ>::DIMS, self.params, false)
    }

    /// The recurrent bias, `bias_hh_l0` (`3H`).
    #[must_use]
    pub fn bias_hh(&self) -> DVectorView<'a, f32> {
        recurrent::bias_view(Gru::<T, F, H, SEQ>::DIMS, self.params, true)
    }
}

#[cfg(all(test, feature = "alloc"))]
mod tests {
    use super::Gru;
    use crate::layers::recurrent::testing::{self, Recurrent};
    use crate::layers::{Backward, Forward, Layer, RecurrentGrad, RecurrentState};
    use crate::rng::Rng;

    impl<const T: usize, const F: usize, const H: usize, const SEQ: bool> Recurrent
        for Gru<T, F, H, SEQ>
    {
        const UNITS: usize = H;
        const CELL: bool = false;
        fn forward_from(&self, f: Forward<'_>, start: RecurrentState<'_>) {
            Gru::forward_from(self, f, start);
        }
        fn backward_from(
            &self,
            b: Backward<'_>,
            start: RecurrentState<'_>,
            d_end: RecurrentState<'_>,
            d_start: RecurrentGrad<'_>,
        ) {
            Gru::backward_from(self, b, start, d_end, d_start);
        }
        fn end_state(&self, y: &[f32], cache: &[f32], batch: usize, end: RecurrentGrad<'_>) {
            Gru::end_state(self, y, cache, batch, end);
        }
    }

    #[test]
    fn gradients_match_finite_differences_from_a_nonzero_state() {
        testing::check_gradients(Gru::<4, 3, 5, true>::new(), 3, 1);
        testing::check_gradients(Gru::<4, 3, 5>::new(), 3, 2);
        testing::check_gradients(Gru::<1, 2, 3>::new(), 2, 3);
    }

    #[test]
    fn single_sample_inference_matches_the_batched_pass() {
        testing::inference_matches_the_batch(Gru::<6, 3, 5, true>::new(), 4);
        testing::inference_matches_the_batch(Gru::<6, 3, 5>::new(), 5);
    }

    #[cfg(feature = "std")]
    #[test]
    fn results_do_not_depend_on_the_threads() {
        testing::threads_do_not_change_results(Gru::<7, 5, 24, true>::new(), 6);
        testing::threads_do_not_change_results(Gru::<7, 5, 24>::new(), 7);
    }

    #[test]
    fn keras_initialisation_and_sizes() {
        type L = Gru<3, 10, 6>;
        let mut p = std::vec![f32::NAN; L::PARAMS];
        L::new().init(&mut p, &mut [], &mut Rng::new(8));
        let (w, h) = (18, 6);
        let limit = (6.0f32 / 28.0).sqrt();
        assert!(p[..10 * w].iter().all(|v| v.abs() <= limit));
        let k = &p[10 * w..16 * w];
        for i in 0..h {
            for j in 0..h {
                let dot: f32 = (0..w).map(|c| k[i * w + c] * k[j * w + c]).sum();
                assert!((dot - f32::from(u8::from(i == j))).abs() < 1e-5);
            }
        }
        assert!(p[16 * w..].iter().all(|&v| v == 0.0));
        // torch.nn.GRU(28, 128): 3·128·(28 + 128) weights and 2·3·128 biases.
        assert_eq!(Gru::<28, 28, 128>::PARAMS, 60_672);
        assert_eq!(Gru::<28, 28, 128>::SCRATCH, 6 * 128);
    }
}
