//! Fully connected recurrent layer (Keras' `SimpleRNN`, PyTorch's `nn.RNN` with
//! `batch_first=True`): reads a sequence of `T` steps of `F` features and returns its last
//! hidden state (`H` values) or, with `return_sequences`, the hidden state of every step
//! (`T × H`).
//!
//! Each step, from the previous hidden state `h` (zeros at the start), with the activation
//! `f` (Keras' default `tanh`; PyTorch's `nn.RNN` has `tanh` and `relu`):
//!
//! ```text
//! h' = f(x W_ih + b_ih + h W_hh + b_hh)
//! ```
//!
//! Parameters and their weight-file names are described in [`recurrent`](super::recurrent)
//! (`weight_ih_l0`, `weight_hh_l0`, `bias_ih_l0`, `bias_hh_l0`, as `nn.RNN` saves them; Keras
//! has one bias, their sum). Keras' initialisation: Glorot-uniform input kernel, orthogonal
//! recurrent kernel, zero biases.
//!
//! ```
//! use nn_core::activations::Tanh;
//! use nn_core::layers::{Io, Layer, SimpleRnn};
//! // One unit, two steps of one feature: W_ih = 1, W_hh = 0.5, no bias.
//! let params = [1.0, 0.5, 0.0, 0.0];
//! let mut y = [0.0; 1];
//! let layer = SimpleRnn::<2, 1, 1>::new(Tanh);
//! layer.infer(&params, &[], Io::Separate { x: &[0.3, -0.2], y: &mut y }, &mut [0.0; 1]);
//! let h1 = 0.3f32.tanh();
//! assert!((y[0] - (-0.2 + 0.5 * h1).tanh()).abs() < 1e-6);
//! ```

use super::contract::{batch_values, to_u64, to_usize};
use super::recurrent::{
    self, for_chunks, recurrent_flops, recurrent_params, Dims, RecurrentGrad, RecurrentState, Rows,
};
use super::{Backward, Forward, Io, Layer, LayerRef, Pass, Tensor, TensorLayout};
use crate::activations::{ActivationFn, Tanh};
use crate::{kernels, rng::Rng};
use nalgebra::{DMatrixView, DVectorView};

/// Parameters of a simple recurrent layer from `features` to `units` values.
#[must_use]
pub const fn simple_rnn_params(features: usize, units: usize) -> Option<u128> {
    recurrent_params(features, units, 1)
}

/// Floating-point operations of a simple recurrent layer's inference over `steps` steps.
#[must_use]
pub const fn simple_rnn_flops(steps: usize, features: usize, units: usize) -> Option<u128> {
    recurrent_flops(steps, features, units, 1)
}

/// Scratch of a simple recurrent layer's single-sample inference: one step's
/// pre-activation (the hidden state lives in the output).
#[must_use]
pub const fn simple_rnn_scratch(units: usize) -> Option<u128> {
    super::contract::product(&[units])
}

/// A simple recurrent layer over `T` steps of `F` features with `H` units and the activation
/// `A`, returning the last step's hidden state or, when `SEQ` (`return_sequences`), every
/// step's.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SimpleRnn<
    const T: usize,
    const F: usize,
    const H: usize,
    const SEQ: bool = false,
    A = Tanh,
> {
    /// The activation of the hidden state.
    pub activation: A,
}

impl<const T: usize, const F: usize, const H: usize, const SEQ: bool, A: ActivationFn>
    SimpleRnn<T, F, H, SEQ, A>
{
    const DIMS: Dims = Dims {
        steps: T,
        features: F,
        units: H,
        gates: 1,
    };
    /// Cached values per sample and step: the pre-activation if the activation's derivative
    /// needs it, and `h` unless the output holds every step's.
    const STEP_CACHE: usize = H * (A::USES_INPUT as usize + !SEQ as usize);

    /// The layer with the activation `activation`.
    #[must_use]
    pub const fn new(activation: A) -> Self {
        Self { activation }
    }

    /// Batched forward pass from the initial state `start.h` (`batch × H` values; zeros
    /// where `None`, as the layer runs in a model). [`Layer::forward`] is this from zeros;
    /// the final state is read back with [`end_state`](Self::end_state).
    ///
    /// # Panics
    /// If a slice is shorter than the batch needs, or the state does not hold `batch × H`
    /// values.
    pub fn forward_from(&self, f: Forward<'_>, start: RecurrentState<'_>) {
        let (batch, d) = (f.batch, Self::DIMS);
        d.check_state("SimpleRNN", "initial h", start.h, batch);
        let rows = batch_values("SimpleRNN", batch, T);
        let p = d.params(f.params);
        let cache = &mut f.cache[..batch_values("SimpleRNN", batch, Self::CACHE)];
        let (z_all, rest) = cache.split_at_mut(if A::USES_INPUT { rows * H } else { 0 });
        let y = &mut f.y[..batch_values("SimpleRNN", batch, Self::OUTPUT)];
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
            |row| {
                for ((v, &a), &b) in row.iter_mut().zip(p.b_ih).zip(p.b_hh) {
                    *v = a + b;
                }
            },
            h_all,
        );
        let z_width = if A::USES_INPUT { T * H } else { 0 };
        let parts = (
            Rows::new(z_all, z_width),
            (Rows::new(h_all, T * H), last),
            Rows::new(&mut f.scratch[..batch * 2 * H], 2 * H),
        );
        let activation = self.activation;
        for_chunks(
            batch,
            T * H * H,
            parts,
            &|first, n, (z, (h, last), work), _threads| {
                kernels::vectorized(
                    #[inline(always)]
                    || {
                        let (hw, tmp) = work.values.split_at_mut(n * H);
                        match start.h {
                            Some(h0) => hw.copy_from_slice(&h0[first * H..(first + n) * H]),
                            None => hw.fill(0.0),
                        }
                        for t in 0..T {
                            let recurrent = t > 0 || start.h.is_some();
                            if recurrent {
                                kernels::gemm_nn(n, H, H, hw, p.w_hh, tmp, false);
                            }
                            for b in 0..n {
                                let r = b * T + t;
                                let a = &mut h.values[r * H..(r + 1) * H];
                                if recurrent {
                                    for (v, &u) in a.iter_mut().zip(&tmp[b * H..(b + 1) * H]) {
                                        *v += u;
                                    }
                                }
                                if A::USES_INPUT {
                                    z.values[r * H..(r + 1) * H].copy_from_slice(a);
                                }
                                activation.forward(a, H);
                                hw[b * H..(b + 1) * H].copy_from_slice(a);
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

    /// The state after the last step of a [`forward_from`](Self::forward_from) (or a
    /// [`Layer::forward`]) whose output is `y` and cache `cache`: `h` of every sample into
    /// `end.h` (`batch × H` values), if given.
    ///
    /// # Panics
    /// If a slice is shorter than the batch needs.
    pub fn end_state(&self, y: &[f32], cache: &[f32], batch: usize, end: RecurrentGrad<'_>) {
        let rows = batch * T;
        let at = if A::USES_INPUT { rows * H } else { 0 };
        let h_all = if SEQ { y } else { &cache[at..at + rows * H] };
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
        let (batch, d) = (b.batch, Self::DIMS);
        for (what, s) in [
            ("initial h", start.h),
            ("gradient of the final h", d_end.h),
            ("gradient of the initial h", d_start.h.as_deref()),
        ] {
            d.check_state("SimpleRNN", what, s, batch);
        }
        let rows = batch_values("SimpleRNN", batch, T);
        let cache = &b.cache[..batch_values("SimpleRNN", batch, Self::CACHE)];
        let (z_all, rest) = cache.split_at(if A::USES_INPUT { rows * H } else { 0 });
        let h_all = if SEQ {
            &b.y[..rows * H]
        } else {
            &rest[..rows * H]
        };
        let dy = &b.dy[..batch_values("SimpleRNN", batch, Self::OUTPUT)];
        let (w_hh_t, scratch) = b.scratch.split_at_mut(H * H);
        let (w_ih_t, scratch) = scratch.split_at_mut(H * F);
        let (d_pre, scratch) = scratch.split_at_mut(rows * H);
        let (h_prev, work) = scratch.split_at_mut(rows * H);
        recurrent::transpose(d.params(b.params).w_hh, H, H, w_hh_t);
        let w_hh_t = &*w_hh_t;
        let parts = (
            Rows::new(&mut *d_pre, T * H),
            Rows::new(&mut work[..batch * 2 * H], 2 * H),
            d_start.h.map(|v| Rows::new(v, H)),
        );
        let activation = self.activation;
        for_chunks(
            batch,
            2 * T * H * H,
            parts,
            &|first, n, (d_pre, work, dh0), _threads| {
                kernels::vectorized(
                    #[inline(always)]
                    || {
                        let (dh, da) = work.values.split_at_mut(n * H);
                        match d_end.h {
                            Some(v) => dh.copy_from_slice(&v[first * H..(first + n) * H]),
                            None => dh.fill(0.0),
                        }
                        for t in (0..T).rev() {
                            for b in 0..n {
                                let s = first + b;
                                let r = s * T + t;
                                let a = &mut da[b * H..(b + 1) * H];
                                a.copy_from_slice(&dh[b * H..(b + 1) * H]);
                                if SEQ {
                                    for (g, &v) in a.iter_mut().zip(&dy[r * H..(r + 1) * H]) {
                                        *g += v;
                                    }
                                } else if t == T - 1 {
                                    for (g, &v) in a.iter_mut().zip(&dy[s * H..(s + 1) * H]) {
                                        *g += v;
                                    }
                                }
                                let z: &[f32] = if A::USES_INPUT {
                                    &z_all[r * H..(r + 1) * H]
                                } else {
                                    &[]
                                };
                                activation.backward(z, &h_all[r * H..(r + 1) * H], a, H);
                                let row = (b * T + t) * H;
                                d_pre.values[row..row + H].copy_from_slice(a);
                            }
                            if t > 0 || dh0.is_some() {
                                kernels::gemm_nn(n, H, H, da, w_hh_t, dh, false);
                            }
                        }
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
            d, rows, b.x, b.params, d_pre, d_pre, h_prev, b.grads, b.dx, w_ih_t,
        );
    }
}

impl<const T: usize, const F: usize, const H: usize, const SEQ: bool, A: ActivationFn> Layer
    for SimpleRnn<T, F, H, SEQ, A>
{
    const KIND: &'static str = "SimpleRNN";
    const INPUT: usize = T * F;
    const OUTPUT: usize = if SEQ { T * H } else { H };
    const PARAMS: usize = to_usize(simple_rnn_params(F, H));
    const FLOPS: u64 = to_u64(simple_rnn_flops(T, F, H));
    const SCRATCH: usize = to_usize(simple_rnn_scratch(H));
    const CACHE: usize = T * Self::STEP_CACHE;
    const TENSORS: &'static [Tensor] = &[
        Tensor {
            suffix: "weight_ih_l0",
            shape: &[H, F],
            layout: TensorLayout::Transposed,
            offset: 0,
            state: false,
            input_axis: None,
        },
        Tensor {
            suffix: "weight_hh_l0",
            shape: &[H, H],
            layout: TensorLayout::Transposed,
            offset: H * F,
            state: false,
            input_axis: None,
        },
        Tensor {
            suffix: "bias_ih_l0",
            shape: &[H],
            layout: TensorLayout::Same,
            offset: H * (F + H),
            state: false,
            input_axis: None,
        },
        Tensor {
            suffix: "bias_hh_l0",
            shape: &[H],
            layout: TensorLayout::Same,
            offset: H * (F + H + 1),
            state: false,
            input_axis: None,
        },
    ];

    /// Scratch for the recurrent kernel and the input kernel transposed, the gradients with
    /// respect to every step's pre-activation and the states before every step, and per
    /// sample the running state gradient and one step's pre-activation gradient (the forward
    /// pass needs less).
    fn batch_scratch(batch: usize) -> usize {
        let rows = batch_values("SimpleRNN", batch, T);
        H * (H + F) + rows * 2 * H + batch * 2 * H
    }

    /// Keras' initialisation: Glorot-uniform input kernel, orthogonal recurrent kernel, zero
    /// biases.
    fn init(&self, params: &mut [f32], _state: &mut [f32], rng: &mut Rng) {
        Self::DIMS.init(&mut params[..Self::PARAMS], rng);
    }

    fn infer(&self, params: &[f32], _state: &[f32], io: Io<'_>, scratch: &mut [f32]) {
        let (x, y) = io.split();
        let p = Self::DIMS.params(params);
        let a = &mut scratch[..H];
        kernels::vectorized(
            #[inline(always)]
            || {
                for t in 0..T {
                    for ((v, &u), &b) in a.iter_mut().zip(p.b_ih).zip(p.b_hh) {
                        *v = u + b;
                    }
                    recurrent::row_times_matrix(&x[t * F..(t + 1) * F], p.w_ih, a);
                    // The hidden state is the output: the previous step's row (or the only row).
                    let at = if SEQ { t * H } else { 0 };
                    if t > 0 {
                        let prev = if SEQ { at - H } else { 0 };
                        recurrent::row_times_matrix(&y[prev..prev + H], p.w_hh, a);
                    }
                    self.activation.forward(a, H);
                    y[at..at + H].copy_from_slice(a);
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

impl<'a, const T: usize, const F: usize, const H: usize, const SEQ: bool, A: ActivationFn>
    LayerRef<'a, SimpleRnn<T, F, H, SEQ, A>>
{
    /// The input kernel as PyTorch's `weight_ih_l0`: an `H × F` matrix.
    #[must_use]
    pub fn weight_ih(&self) -> DMatrixView<'a, f32> {
        recurrent::kernel_view(SimpleRnn::<T, F, H, SEQ, A>::DIMS, self.params, false)
    }

    /// The recurrent kernel as PyTorch's `weight_hh_l0`: an `H × H` matrix.
    #[must_use]
    pub fn weight_hh(&self) -> DMatrixView<'a, f32> {
        recurrent::kernel_view(SimpleRnn::<T, F, H, SEQ, A>::DIMS, self.params, true)
    }

    /// The input bias, `bias_ih_l0` (`H`).
    #[must_use]
    pub fn bias_ih(&self) -> DVectorView<'a, f32> {
        recurrent::bias_view(SimpleRnn::<T, F, H, SEQ, A>::DIMS, self.params, false)
    }

    /// The recurrent bias, `bias_hh_l0` (`H`).
    #[must_use]
    pub fn bias_hh(&self) -> DVectorView<'a, f32> {
        recurrent::bias_view(SimpleRnn::<T, F, H, SEQ, A>::DIMS, self.params, true)
    }
}

#[cfg(all(test, feature = "alloc"))]
mod tests {
    use super::SimpleRnn;
    use crate::activations::{ActivationFn, Relu, Sigmoid, Tanh};
    use crate::layers::recurrent::testing::{self, Recurrent};
    use crate::layers::{Backward, Forward, Layer, RecurrentGrad, RecurrentState};
    use crate::math;
    use crate::rng::Rng;

    /// `x * sigmoid(x)`, whose derivative needs the pre-activation (kept in the cache).
    #[derive(Clone, Copy, Debug, Default)]
    struct Swish;

    impl ActivationFn for Swish {
        const USES_INPUT: bool = true;
        fn name(&self) -> &'static str {
            "swish"
        }
        fn forward(&self, values: &mut [f32], _width: usize) {
            for v in values {
                *v *= math::sigmoid(*v);
            }
        }
        fn backward(&self, x: &[f32], _y: &[f32], grad: &mut [f32], _width: usize) {
            for (g, &x) in grad.iter_mut().zip(x) {
                let s = math::sigmoid(x);
                *g *= s * (1.0 + x * (1.0 - s));
            }
        }
    }

    impl<const T: usize, const F: usize, const H: usize, const SEQ: bool, A: ActivationFn> Recurrent
        for SimpleRnn<T, F, H, SEQ, A>
    {
        const UNITS: usize = H;
        const CELL: bool = false;
        fn forward_from(&self, f: Forward<'_>, start: RecurrentState<'_>) {
            SimpleRnn::forward_from(self, f, start);
        }
        fn backward_from(
            &self,
            b: Backward<'_>,
            start: RecurrentState<'_>,
            d_end: RecurrentState<'_>,
            d_start: RecurrentGrad<'_>,
        ) {
            SimpleRnn::backward_from(self, b, start, d_end, d_start);
        }
        fn end_state(&self, y: &[f32], cache: &[f32], batch: usize, end: RecurrentGrad<'_>) {
            SimpleRnn::end_state(self, y, cache, batch, end);
        }
    }

    #[test]
    fn gradients_match_finite_differences_from_a_nonzero_state() {
        testing::check_gradients(SimpleRnn::<4, 3, 5, true>::new(Tanh), 3, 1);
        testing::check_gradients(SimpleRnn::<4, 3, 5>::new(Tanh), 3, 2);
        testing::check_gradients(SimpleRnn::<3, 2, 4, true, Sigmoid>::new(Sigmoid), 2, 3);
        testing::check_gradients(SimpleRnn::<3, 2, 4, true, Swish>::new(Swish), 2, 4);
        testing::check_gradients(SimpleRnn::<3, 2, 4, false, Swish>::new(Swish), 2, 5);
    }

    #[test]
    fn single_sample_inference_matches_the_batched_pass() {
        testing::inference_matches_the_batch(SimpleRnn::<6, 3, 5, true>::new(Tanh), 4);
        testing::inference_matches_the_batch(SimpleRnn::<6, 3, 5>::new(Tanh), 5);
        testing::inference_matches_the_batch(SimpleRnn::<6, 3, 5, false, Relu>::new(Relu), 6);
        testing::inference_matches_the_batch(SimpleRnn::<6, 3, 5, true, Swish>::new(Swish), 7);
    }

    #[cfg(feature = "std")]
    #[test]
    fn results_do_not_depend_on_the_threads() {
        testing::threads_do_not_change_results(SimpleRnn::<7, 5, 24, true>::new(Tanh), 6);
        testing::threads_do_not_change_results(SimpleRnn::<7, 5, 24>::new(Tanh), 7);
    }

    #[test]
    fn keras_initialisation_and_sizes() {
        type L = SimpleRnn<3, 10, 6>;
        let mut p = std::vec![f32::NAN; L::PARAMS];
        L::new(Tanh).init(&mut p, &mut [], &mut Rng::new(8));
        let limit = (6.0f32 / 16.0).sqrt();
        assert!(p[..60].iter().all(|v| v.abs() <= limit));
        // An orthogonal 6 × 6 recurrent kernel.
        let k = &p[60..96];
        for i in 0..6 {
            for j in 0..6 {
                let dot: f32 = (0..6).map(|c| k[i * 6 + c] * k[j * 6 + c]).sum();
                assert!((dot - f32::from(u8::from(i == j))).abs() < 1e-5);
            }
        }
        assert!(p[96..].iter().all(|&v| v == 0.0));
        // torch.nn.RNN(28, 128): 128·(28 + 128) weights and 2·128 biases.
        assert_eq!(SimpleRnn::<28, 28, 128>::PARAMS, 20_224);
        assert_eq!(SimpleRnn::<28, 28, 128>::SCRATCH, 128);
        // The output holds every step's state; tanh's derivative needs no pre-activation.
        assert_eq!(SimpleRnn::<28, 28, 128, true>::CACHE, 0);
        assert_eq!(SimpleRnn::<28, 28, 128>::CACHE, 28 * 128);
        assert_eq!(SimpleRnn::<28, 28, 128, true, Swish>::CACHE, 28 * 128);
        assert_eq!(SimpleRnn::<28, 28, 128, false, Swish>::CACHE, 2 * 28 * 128);
    }
}
