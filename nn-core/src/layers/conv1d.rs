//! 1-D convolution over the steps of a sequence (Keras' `Conv1D`; PyTorch's `nn.Conv1d` with
//! `groups = 1`, `dilation = 1`).
//!
//! # Layout
//!
//! A sequence of `L` steps of `CIN` features is stored `[L][CIN]` (steps × features, Keras'
//! layout; PyTorch's `Conv1d` takes `[CIN, L]`), one sample after another. Parameters, in
//! this order: the weights as `[K][CIN][COUT]` (Keras' kernel layout), then the `COUT`
//! biases. PyTorch stores `[COUT][CIN][K]`; weight files convert with
//! `W_ours[k][ci][co] = W_torch[co][ci][k]` ([`TensorLayout::Wio`]).
//!
//! # Formula
//!
//! ```text
//! y[o][co] = b[co] + Σ_{k, ci} x[o·S + k − P][ci] · W[k][ci][co]
//! ```
//!
//! with `x` zero outside the sequence; `P` and the output length follow Keras' `'valid'` and
//! `'same'` rules ([`conv_output_len`](super::conv_output_len),
//! [`conv_padding_before`](super::conv_padding_before)).
//!
//! The layer is [`Conv2D`] on an image of one row (see [`one_row`](super::one_row)): the same
//! memory, the same loops, the same gradients.
//!
//! ```
//! use nn_core::activations::Linear;
//! use nn_core::layers::{Conv1D, Io, Layer};
//! // 4 steps of one feature, one filter of width 2 (weights 1 and -1), 'valid', stride 1.
//! const CONV: Conv1D<4, 1, 1, 2, 1, false> = Conv1D::new(Linear);
//! let params = [1.0, -1.0, /* bias */ 0.5];
//! let mut y = [0.0; 3];
//! CONV.infer(&params, &[], Io::Separate { x: &[1.0, 4.0, 9.0, 16.0], y: &mut y }, &mut []);
//! assert_eq!(y, [-2.5, -4.5, -6.5]);
//! ```

use super::one_row::one_row_layer;
use super::window::{conv_output_len, conv_padding_before};
use super::{Conv2D, Layer, LayerMut, LayerRef, Tensor, TensorLayout};
use crate::activations::{ActivationFn, Linear};
use nalgebra::{SMatrixView, SMatrixViewMut, SVectorView, SVectorViewMut};

/// The 2-D convolution a [`Conv1D`] is: `1 × K` kernels on a `1 × L` image.
type AsImage<
    const L: usize,
    const CIN: usize,
    const COUT: usize,
    const K: usize,
    const S: usize,
    const SAME: bool,
    A,
> = Conv2D<1, L, CIN, COUT, 1, K, 1, S, SAME, A>;

/// A 1-D convolution of a sequence of `L` steps of `CIN` features with `COUT` filters `K`
/// steps wide, stride `S`, Keras' `'same'` zero padding when `SAME` (else `'valid'`), and the
/// activation `A`: a sequence of [`OL`](Self::OL) steps of `COUT` features.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Conv1D<
    const L: usize,
    const CIN: usize,
    const COUT: usize,
    const K: usize,
    const S: usize,
    const SAME: bool,
    A = Linear,
> {
    /// The activation applied to the output.
    pub activation: A,
}

impl<
        const L: usize,
        const CIN: usize,
        const COUT: usize,
        const K: usize,
        const S: usize,
        const SAME: bool,
        A: ActivationFn,
    > Conv1D<L, CIN, COUT, K, S, SAME, A>
{
    /// Output steps.
    pub const OL: usize = conv_output_len(L, K, S, SAME);
    /// Zero steps before the sequence.
    pub const PL: usize = conv_padding_before(L, K, S, SAME);
    /// Number of weights, `K * CIN * COUT`.
    pub const WEIGHTS: usize = K * CIN * COUT;

    /// The layer with the activation `activation`.
    #[must_use]
    pub const fn new(activation: A) -> Self {
        Self { activation }
    }

    /// The same layer without its activation (see [`Dense::logits`](super::Dense::logits)).
    #[must_use]
    pub const fn logits(self) -> Conv1D<L, CIN, COUT, K, S, SAME> {
        Conv1D { activation: Linear }
    }

    /// The 2-D convolution that computes it.
    const fn as_image(self) -> AsImage<L, CIN, COUT, K, S, SAME, A> {
        Conv2D::new(self.activation)
    }
}

impl<
        const L: usize,
        const CIN: usize,
        const COUT: usize,
        const K: usize,
        const S: usize,
        const SAME: bool,
        A: ActivationFn,
    > Layer for Conv1D<L, CIN, COUT, K, S, SAME, A>
{
    const KIND: &'static str = "Conv1D";
    const TENSORS: &'static [Tensor] = &[
        Tensor {
            suffix: "weight",
            shape: &[COUT, CIN, K],
            layout: TensorLayout::Wio,
            offset: 0,
            state: false,
            input_axis: None,
        },
        Tensor {
            suffix: "bias",
            shape: &[COUT],
            layout: TensorLayout::Same,
            offset: K * CIN * COUT,
            state: false,
            input_axis: None,
        },
    ];

    one_row_layer!(AsImage<L, CIN, COUT, K, S, SAME, A>);
}

impl<
        'a,
        const L: usize,
        const CIN: usize,
        const COUT: usize,
        const K: usize,
        const S: usize,
        const SAME: bool,
        A: ActivationFn,
    > LayerRef<'a, Conv1D<L, CIN, COUT, K, S, SAME, A>>
{
    /// The same layer without its activation, on the same parameters (see
    /// [`Dense::logits`](super::Dense::logits)).
    #[must_use]
    pub fn logits(self) -> LayerRef<'a, Conv1D<L, CIN, COUT, K, S, SAME>> {
        LayerRef {
            layer: self.layer.logits(),
            params: self.params,
            state: self.state,
        }
    }

    /// The kernel at step `k` of the window as a `COUT × CIN` matrix: PyTorch's
    /// `weight[:, :, k]`.
    ///
    /// # Panics
    /// If `k >= K`.
    #[must_use]
    pub fn kernel(&self, k: usize) -> SMatrixView<'a, f32, COUT, CIN> {
        assert!(k < K, "kernel step {k} outside a window of {K}");
        SMatrixView::<f32, COUT, CIN>::from_slice(&self.params[k * CIN * COUT..][..CIN * COUT])
    }

    /// All weights, `[K][CIN][COUT]` flattened.
    #[must_use]
    pub fn weight(&self) -> &'a [f32] {
        &self.params[..K * CIN * COUT]
    }

    /// The biases.
    #[must_use]
    pub fn bias(&self) -> SVectorView<'a, f32, COUT> {
        SVectorView::<f32, COUT>::from_slice(&self.params[K * CIN * COUT..])
    }
}

impl<
        const L: usize,
        const CIN: usize,
        const COUT: usize,
        const K: usize,
        const S: usize,
        const SAME: bool,
        A: ActivationFn,
    > LayerMut<'_, Conv1D<L, CIN, COUT, K, S, SAME, A>>
{
    /// The kernel at step `k` of the window, mutably (see [`LayerRef::kernel`]).
    ///
    /// # Panics
    /// If `k >= K`.
    #[must_use]
    pub fn kernel_mut(&mut self, k: usize) -> SMatrixViewMut<'_, f32, COUT, CIN> {
        assert!(k < K, "kernel step {k} outside a window of {K}");
        SMatrixViewMut::<f32, COUT, CIN>::from_slice(
            &mut self.params[k * CIN * COUT..][..CIN * COUT],
        )
    }

    /// All weights, `[K][CIN][COUT]` flattened, mutably.
    #[must_use]
    pub fn weight_mut(&mut self) -> &mut [f32] {
        &mut self.params[..K * CIN * COUT]
    }

    /// The biases, mutably.
    #[must_use]
    pub fn bias_mut(&mut self) -> SVectorViewMut<'_, f32, COUT> {
        SVectorViewMut::<f32, COUT>::from_slice(&mut self.params[K * CIN * COUT..])
    }
}

#[cfg(test)]
mod tests {
    use super::Conv1D;
    use crate::activations::Relu;
    use crate::layers::{Backward, Forward, Io, Layer, LayerRef, Pass};
    use crate::rng::Rng;
    use std::vec::Vec;

    fn random(n: usize, rng: &mut Rng) -> Vec<f32> {
        (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect()
    }

    /// The formula in f64, straight: `[batch][l][cin]` in, `[batch][ol][cout]` out.
    #[allow(clippy::too_many_arguments)]
    fn reference(
        [l, cin, cout, k_, s, p, ol]: [usize; 7],
        params: &[f32],
        x: &[f32],
        batch: usize,
    ) -> Vec<f32> {
        let mut y = std::vec![0.0; batch * ol * cout];
        for n in 0..batch {
            for o in 0..ol {
                for co in 0..cout {
                    let mut acc = f64::from(params[k_ * cin * cout + co]);
                    for k in 0..k_ {
                        let Some(i) = (o * s + k).checked_sub(p).filter(|&i| i < l) else {
                            continue;
                        };
                        for ci in 0..cin {
                            acc += f64::from(x[(n * l + i) * cin + ci])
                                * f64::from(params[(k * cin + ci) * cout + co]);
                        }
                    }
                    y[(n * ol + o) * cout + co] = acc as f32;
                }
            }
        }
        y
    }

    /// Single-sample and batched forward passes against the reference, then the batched
    /// backward pass against finite differences of `sum(y * r)` (parameters and input).
    fn check<L: Layer + Default>(shape: [usize; 7], seed: u64) {
        let batch = 3;
        let mut rng = Rng::new(seed);
        let params = random(L::PARAMS, &mut rng);
        let x = random(batch * L::INPUT, &mut rng);
        let want = reference(shape, &params, &x, batch);
        assert_eq!(want.len(), batch * L::OUTPUT);
        let mut scratch = std::vec![f32::NAN; L::batch_scratch(batch)];
        let forward = |p: &[f32], x: &[f32], scratch: &mut [f32]| {
            let mut y = std::vec![f32::NAN; batch * L::OUTPUT];
            let f = Forward {
                params: p,
                state: &mut [],
                x,
                y: &mut y,
                cache: &mut [],
                scratch,
                batch,
            };
            L::default().forward(f, &mut Pass::Eval);
            y
        };
        let y = forward(&params, &x, &mut scratch);
        let mut one = std::vec![f32::NAN; batch * L::OUTPUT];
        for (xs, ys) in x
            .chunks_exact(L::INPUT)
            .zip(one.chunks_exact_mut(L::OUTPUT))
        {
            L::default().infer(&params, &[], Io::Separate { x: xs, y: ys }, &mut []);
        }
        for (i, ((a, b), w)) in y.iter().zip(&one).zip(&want).enumerate() {
            assert!(
                (a - w).abs() <= 1e-5 * (1.0 + w.abs()),
                "{shape:?} y[{i}]: {a} vs {w}"
            );
            assert!(
                (b - w).abs() <= 1e-5 * (1.0 + w.abs()),
                "{shape:?} one[{i}]: {b} vs {w}"
            );
        }

        #[cfg(feature = "alloc")]
        {
            let r = random(batch * L::OUTPUT, &mut rng);
            let (mut dx, mut grads) = (
                std::vec![f32::NAN; batch * L::INPUT],
                std::vec![f32::NAN; L::PARAMS],
            );
            let mut dy = r.clone();
            L::default().backward(Backward {
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
                training: false,
            });
            let noise = f64::from(f32::EPSILON) * 100.0;
            let mut objective = |p: &[f32], xs: &[f32]| {
                forward(p, xs, &mut scratch)
                    .iter()
                    .zip(&r)
                    .map(|(y, r)| f64::from(*y) * f64::from(*r))
                    .sum::<f64>()
            };
            let by_params =
                crate::gradcheck::check(&params, &grads, 0..L::PARAMS, 1e-2, 1e-3, noise, |p| {
                    objective(p, &x)
                });
            assert!(by_params.passed(), "{shape:?} parameters: {by_params}");
            let by_input = crate::gradcheck::check(&x, &dx, 0..x.len(), 1e-2, 1e-3, noise, |xs| {
                objective(&params, xs)
            });
            assert!(by_input.passed(), "{shape:?} input: {by_input}");
        }
    }

    macro_rules! case {
        ($seed:expr; $l:expr, $cin:expr, $cout:expr, $k:expr, $s:expr, $same:expr) => {{
            type C = Conv1D<$l, $cin, $cout, $k, $s, $same>;
            check::<C>([$l, $cin, $cout, $k, $s, C::PL, C::OL], $seed);
        }};
    }

    #[test]
    fn valid_and_same_with_strides() {
        case!(1; 9, 4, 5, 3, 1, false);
        case!(2; 9, 4, 5, 3, 2, false);
        case!(3; 9, 4, 5, 3, 1, true);
        // 'same', stride 2, an even window: 5 outputs, 1 zero step before (and 1 after).
        const { assert!(Conv1D::<10, 2, 3, 4, 2, true>::OL == 5) };
        const { assert!(Conv1D::<10, 2, 3, 4, 2, true>::PL == 1) };
        case!(4; 10, 2, 3, 4, 2, true);
        // A window of one step is a dense layer per step (no im2col).
        case!(5; 6, 3, 2, 1, 1, false);
    }

    #[test]
    fn views_are_pytorch_oriented_and_init_is_glorot_with_the_window() {
        type C = Conv1D<12, 3, 8, 5, 1, false, Relu>;
        let mut p = std::vec![0.0; C::PARAMS];
        C::new(Relu).init(&mut p, &mut [], &mut Rng::new(1));
        // Keras: fan_in = 5 * 3, fan_out = 5 * 8.
        let limit = (6.0f32 / (5.0 * 11.0)).sqrt();
        assert!(p[..C::WEIGHTS].iter().all(|w| w.abs() <= limit));
        assert!(p[..C::WEIGHTS].iter().any(|w| w.abs() > 0.9 * limit));
        let view = LayerRef::new(C::new(Relu), &p, &[]);
        // PyTorch's weight[co, ci, k] is Keras' kernel[k][ci][co].
        assert_eq!(view.kernel(4)[(7, 2)], p[(4 * 3 + 2) * 8 + 7]);
        assert_eq!(view.weight().len(), 120);
        assert!(view.bias().iter().all(|&b| b == 0.0));
        assert_eq!(C::FLOPS, 2 * 8 * 5 * 3 * 8);
        assert_eq!((C::INPUT, C::OUTPUT), (36, 64));
        assert_eq!(C::TENSORS[0].shape, &[8, 3, 5]);
    }
}
