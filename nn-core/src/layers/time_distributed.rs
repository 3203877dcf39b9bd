//! A layer applied to every step of a sequence with the same parameters (Keras'
//! `TimeDistributed`; what Keras 3's `Dense` does on a sequence, and PyTorch's `nn.Linear` on
//! `[N, L, features]`).
//!
//! A sequence of `STEPS` steps is stored `[STEPS][features]`, one sample after another, so a
//! batch of `N` sequences is a batch of `N * STEPS` steps: the batched passes run the inner
//! layer once on all of them (one matrix product for a dense layer), and single-sample
//! inference runs it step by step. Parameters, weight-file tensors and initialisation are
//! the inner layer's.
//!
//! The inner layer must treat the samples of a batch independently, as every layer does
//! except batch normalisation in training (whose statistics would then be over steps too).
//!
//! ```
//! use nn_core::activations::Linear;
//! use nn_core::layers::{Dense, Io, Layer, TimeDistributed};
//! // y = 2 x0 - x1 + 0.5 at each of 3 steps.
//! let layer = TimeDistributed::<Dense<2, 1>, 3>::new(Dense::new(Linear));
//! let mut y = [0.0; 3];
//! layer.infer(&[2.0, -1.0, 0.5], &[], Io::Separate { x: &[3.0, 1.0, 0.0, 0.0, 1.0, 2.0], y: &mut y }, &mut []);
//! assert_eq!(y, [5.5, 0.5, 0.5]);
//! ```

use super::contract::{product, to_usize};
use super::{Backward, Dense, Forward, Io, Layer, LayerMut, LayerRef, Pass, Tensor};
use crate::activations::ActivationFn;
use crate::error::Result;
use crate::rng::Rng;
use nalgebra::{SMatrixView, SMatrixViewMut, SVectorView, SVectorViewMut};

/// The layer `L` applied to each of `STEPS` steps.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct TimeDistributed<L, const STEPS: usize> {
    /// The layer applied to each step.
    pub layer: L,
}

impl<L: Layer, const STEPS: usize> TimeDistributed<L, STEPS> {
    /// `layer` at each of `STEPS` steps.
    #[must_use]
    pub const fn new(layer: L) -> Self {
        Self { layer }
    }

    /// The steps of a batch of `batch` sequences, never wrapping.
    ///
    /// # Panics
    /// If `batch * STEPS` overflows `usize`.
    #[track_caller]
    fn steps(batch: usize) -> usize {
        crate::kernels::size(L::KIND, "batch * steps", batch, STEPS)
    }
}

impl<L: Layer, const STEPS: usize> Layer for TimeDistributed<L, STEPS> {
    const KIND: &'static str = L::KIND;
    const INPUT: usize = to_usize(product(&[STEPS, L::INPUT]));
    const OUTPUT: usize = to_usize(product(&[STEPS, L::OUTPUT]));
    const PARAMS: usize = L::PARAMS;
    const STATE: usize = L::STATE;
    const FLOPS: u64 = match L::FLOPS.checked_mul(STEPS as u64) {
        Some(flops) => flops,
        None => panic!("a layer's operation count does not fit a u64"),
    };
    const SCRATCH: usize = L::SCRATCH;
    const IN_PLACE: bool = L::IN_PLACE;
    const RESHAPE: bool = L::RESHAPE;
    const CACHE: usize = to_usize(product(&[STEPS, L::CACHE]));
    const TENSORS: &'static [Tensor] = L::TENSORS;
    const IDS: Option<usize> = L::IDS;

    fn batch_scratch(batch: usize) -> usize {
        L::batch_scratch(Self::steps(batch))
    }

    fn init(&self, params: &mut [f32], state: &mut [f32], rng: &mut Rng) {
        self.layer.init(params, state, rng);
    }

    fn check_input(&self, x: &[f32]) -> Result<()> {
        self.layer.check_input(x)
    }

    fn infer(&self, params: &[f32], state: &[f32], io: Io<'_>, scratch: &mut [f32]) {
        match io {
            Io::Separate { x, y } => {
                let steps = x[..Self::INPUT]
                    .chunks_exact(L::INPUT)
                    .zip(y[..Self::OUTPUT].chunks_exact_mut(L::OUTPUT));
                for (x, y) in steps {
                    self.layer
                        .infer(params, state, Io::Separate { x, y }, scratch);
                }
            }
            Io::InPlace(values) => {
                for v in values[..Self::INPUT].chunks_exact_mut(L::INPUT) {
                    self.layer.infer(params, state, Io::InPlace(v), scratch);
                }
            }
        }
    }

    fn forward(&self, f: Forward<'_>, pass: &mut Pass<'_>) {
        let batch = Self::steps(f.batch);
        self.layer.forward(Forward { batch, ..f }, pass);
    }

    fn backward(&self, b: Backward<'_>) {
        let batch = Self::steps(b.batch);
        self.layer.backward(Backward { batch, ..b });
    }
}

impl<'a, L: Layer, const STEPS: usize> LayerRef<'a, TimeDistributed<L, STEPS>> {
    /// The layer applied to each step, on the same parameters.
    #[must_use]
    pub fn step_layer(self) -> LayerRef<'a, L> {
        LayerRef {
            layer: self.layer.layer,
            params: self.params,
            state: self.state,
        }
    }
}

impl<'a, const IN: usize, const OUT: usize, A: ActivationFn, const STEPS: usize>
    LayerRef<'a, TimeDistributed<Dense<IN, OUT, A>, STEPS>>
{
    /// The same layer without its activation, on the same parameters (see
    /// [`Dense::logits`]).
    #[must_use]
    pub fn logits(self) -> LayerRef<'a, TimeDistributed<Dense<IN, OUT>, STEPS>> {
        LayerRef {
            layer: TimeDistributed::new(self.layer.layer.logits()),
            params: self.params,
            state: self.state,
        }
    }

    /// The weights as an `OUT × IN` matrix (PyTorch's orientation), shared by every step.
    #[must_use]
    pub fn weight(&self) -> SMatrixView<'a, f32, OUT, IN> {
        self.step_layer().weight()
    }

    /// The biases.
    #[must_use]
    pub fn bias(&self) -> SVectorView<'a, f32, OUT> {
        self.step_layer().bias()
    }
}

impl<const IN: usize, const OUT: usize, A: ActivationFn, const STEPS: usize>
    LayerMut<'_, TimeDistributed<Dense<IN, OUT, A>, STEPS>>
{
    /// The weights as an `OUT × IN` matrix, mutably.
    #[must_use]
    pub fn weight_mut(&mut self) -> SMatrixViewMut<'_, f32, OUT, IN> {
        SMatrixViewMut::<f32, OUT, IN>::from_slice(&mut self.params[..IN * OUT])
    }

    /// The biases, mutably.
    #[must_use]
    pub fn bias_mut(&mut self) -> SVectorViewMut<'_, f32, OUT> {
        SVectorViewMut::<f32, OUT>::from_slice(&mut self.params[IN * OUT..])
    }
}

#[cfg(test)]
mod tests {
    use super::TimeDistributed;
    use crate::activations::{Linear, Tanh};
    use crate::layers::{Backward, Dense, Forward, Io, Layer, LayerRef, Pass};
    use crate::rng::Rng;
    use std::vec::Vec;

    type D = Dense<3, 2, Tanh>;
    type T = TimeDistributed<D, 4>;

    fn random(n: usize, rng: &mut Rng) -> Vec<f32> {
        (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect()
    }

    fn forward(p: &[f32], x: &[f32], batch: usize) -> Vec<f32> {
        let mut y = std::vec![f32::NAN; batch * T::OUTPUT];
        let mut cache = std::vec![f32::NAN; batch * T::CACHE];
        T::new(D::new(Tanh)).forward(
            Forward {
                params: p,
                state: &mut [],
                x,
                y: &mut y,
                cache: &mut cache,
                scratch: &mut [],
                batch,
            },
            &mut Pass::Eval,
        );
        y
    }

    #[test]
    fn every_step_is_the_dense_layer_with_the_same_weights() {
        assert_eq!((T::INPUT, T::OUTPUT, T::PARAMS), (12, 8, 8));
        assert_eq!(T::FLOPS, 4 * D::FLOPS);
        assert_eq!(T::TENSORS, D::TENSORS);
        let mut rng = Rng::new(2);
        let p = random(T::PARAMS, &mut rng);
        let x = random(2 * T::INPUT, &mut rng);
        let y = forward(&p, &x, 2);
        let view = LayerRef::new(T::new(D::new(Tanh)), &p, &[]);
        for (step, ys) in x.chunks_exact(3).zip(y.chunks_exact(2)) {
            let z = view.weight() * crate::Vector::<3>::from_column_slice(step) + view.bias();
            for o in 0..2 {
                assert!((ys[o] - z[o].tanh()).abs() < 1e-6);
            }
        }
        let mut one = std::vec![f32::NAN; T::OUTPUT];
        T::new(D::new(Tanh)).infer(
            &p,
            &[],
            Io::Separate {
                x: &x[12..],
                y: &mut one,
            },
            &mut [],
        );
        // Another kernel (one step at a time): the same to rounding.
        for (a, b) in one.iter().zip(&y[8..]) {
            assert!((a - b).abs() < 1e-6, "{one:?} vs {:?}", &y[8..]);
        }
    }

    /// Weight and input gradients against finite differences of `sum(y * r)`.
    #[cfg(feature = "alloc")]
    #[test]
    fn gradients_sum_over_steps() {
        let batch = 3;
        let mut rng = Rng::new(5);
        let p = random(T::PARAMS, &mut rng);
        let x = random(batch * T::INPUT, &mut rng);
        let r = random(batch * T::OUTPUT, &mut rng);
        let y = forward(&p, &x, batch);
        let (mut grads, mut dx) = (std::vec![f32::NAN; T::PARAMS], std::vec![f32::NAN; x.len()]);
        T::new(D::new(Tanh)).backward(Backward {
            params: &p,
            state: &[],
            x: &x,
            y: &y,
            cache: &[],
            dy: &mut r.clone(),
            dx: Some(&mut dx),
            grads: Some(&mut grads),
            scratch: &mut [],
            batch,
            training: false,
        });
        let objective = |p: &[f32], x: &[f32]| {
            forward(p, x, batch)
                .iter()
                .zip(&r)
                .map(|(y, r)| f64::from(*y) * f64::from(*r))
                .sum::<f64>()
        };
        let noise = f64::from(f32::EPSILON) * 100.0;
        let by_params = crate::gradcheck::check(&p, &grads, 0..T::PARAMS, 1e-2, 1e-3, noise, |p| {
            objective(p, &x)
        });
        assert!(by_params.passed(), "{by_params}");
        let by_input =
            crate::gradcheck::check(&x, &dx, 0..x.len(), 1e-2, 1e-3, noise, |x| objective(&p, x));
        assert!(by_input.passed(), "{by_input}");
        let logits = LayerRef::new(T::new(D::new(Tanh)), &p, &[]).logits();
        assert_eq!(logits.layer.layer, Dense::new(Linear));
    }
}
