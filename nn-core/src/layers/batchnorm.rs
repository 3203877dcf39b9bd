//! Batch normalisation over the last (channel) axis (Keras' `BatchNormalization(axis=-1)`;
//! PyTorch's `BatchNorm1d`/`BatchNorm2d`).
//!
//! # Layout
//!
//! The input is any number of rows of `C` values, one channel per column: a dense batch
//! `[batch, C]` (`rows = batch`), or a batch of HWC images (`rows = batch * H * W`, since in
//! channels-last storage every pixel is a row of `C` channels). Statistics are per channel,
//! over all rows.
//!
//! The layer type `BatchNorm<C, P>` normalises samples of `P` rows of `C` (`P = H * W` for an
//! image, 1 for a vector).
//!
//! Parameters, in this order in the layer's (trainable) slice: `gamma` (`C` scales), then
//! `beta` (`C` offsets), `2 * C` values. The running statistics are **not** trainable and
//! live in a separate `state` slice of `2 * C`: the running mean, then the running variance.
//! Keras' initialisation ([`Layer::init`]): `gamma = 1`, `beta = 0`, running mean 0, running
//! variance 1.
//!
//! # Formulas
//!
//! ```text
//! training:  μ = mean(x),  σ² = mean((x − μ)²)   (per channel, biased, over the N rows)
//!            y = gamma · (x − μ) / sqrt(σ² + ε) + beta
//!            running_mean ← m · running_mean + (1 − m) · μ
//!            running_var  ← m · running_var  + (1 − m) · v
//!            with v = σ² (Keras), or v = σ² · N / (N − 1) with `unbiased_variance` (PyTorch)
//! inference: y = gamma · (x − running_mean) / sqrt(running_var + ε) + beta
//! backward (training mode), with x̂ = (x − μ) / sqrt(σ² + ε):
//!            dbeta  = Σ dy,   dgamma = Σ dy · x̂
//!            dx     = gamma / sqrt(σ² + ε) · (dy − dbeta / N − x̂ · dgamma / N)
//! ```
//!
//! # Hyperparameters
//!
//! A [`BatchNorm`] value holds the epsilon `ε`, the momentum `m` and whether the running
//! variance takes the unbiased batch variance, in Keras' terms: [`BatchNorm::KERAS`] (the
//! default) is Keras' `epsilon = 1e-3, momentum = 0.99` with the biased variance.
//! PyTorch's `momentum` is Keras' `1 − momentum`, and PyTorch updates the running variance
//! with the unbiased batch variance (it normalises with the biased one, as Keras does), so
//! PyTorch's defaults (`eps = 1e-5, momentum = 0.1`) are [`BatchNorm::PYTORCH`]:
//! `epsilon = 1e-5, momentum = 0.9, unbiased_variance = true`. In `model!`:
//! `BatchNorm(epsilon = 1e-5, momentum = 0.9, unbiased_variance = true)`.
//!
//! With one row per channel (`N = 1`) the unbiased variance is undefined (PyTorch refuses to
//! train then); the running variance is left as it was, the running mean still moves.
//!
//! The backward pass **recomputes** the batch statistics from `x` (two cheap passes over the
//! rows) rather than storing them, so it needs nothing from the forward pass but its input.
//! The batch statistics accumulate in `f64`. The functions keep `C`-long arrays on the stack
//! (`[f64; C]` and `[f32; C]`, a few per call) and allocate nothing.
//!
//! ```
//! use nn_core::{layers::{BatchNorm, Layer}, rng::Rng};
//! type Bn = BatchNorm<2>;
//! let (mut params, mut state) = ([0.0; 4], [0.0; 4]);
//! Bn::KERAS.init(&mut params, &mut state, &mut Rng::new(0));
//! // Three rows of two channels; channel 0 is 1, 2, 3 (mean 2, variance 2/3).
//! let x = [1.0, 10.0, 2.0, 10.0, 3.0, 10.0];
//! let mut y = [0.0; 6];
//! Bn::KERAS.normalize_train(&params, &mut state, &x, &mut y, 3);
//! assert!((y[4] - 1.0 / (2.0f32 / 3.0 + 1e-3).sqrt()).abs() < 1e-6);
//! assert_eq!(y[1], 0.0); // a constant channel normalises to beta
//! assert!((state[0] - 0.02).abs() < 1e-7); // running mean: 0.99 · 0 + 0.01 · 2
//! assert!((state[2] - (0.99 + 0.01 * 2.0 / 3.0)).abs() < 1e-6); // biased variance
//!
//! // PyTorch's running variance: unbiased, 2/3 · 3/2 = 1, with momentum 0.9.
//! Bn::PYTORCH.init(&mut params, &mut state, &mut Rng::new(0));
//! Bn::PYTORCH.normalize_train(&params, &mut state, &x, &mut y, 3);
//! assert!((state[2] - (0.9 + 0.1 * 1.0)).abs() < 1e-6);
//! ```

use super::contract::batch_values;
use super::contract::{product, to_u64};
use super::{Backward, Forward, Io, Layer, LayerRef, Pass, Tensor, TensorLayout};
use crate::quant::{Quantize, Role};
use crate::{math, rng::Rng};
use nalgebra::SVectorView;

/// Batch normalisation of samples of `P` rows of `C` channels, with trainable `gamma`,
/// `beta` and running statistics kept in a separate state slice. The value holds the hyperparameters: epsilon,
/// momentum (Keras' meaning) and whether the running variance is unbiased (PyTorch's way);
/// [`Default`] is [`BatchNorm::KERAS`], and [`BatchNorm::PYTORCH`] is PyTorch's defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchNorm<const C: usize, const P: usize = 1> {
    epsilon: f32,
    momentum: f32,
    unbiased_variance: bool,
}

impl<const C: usize, const P: usize> Default for BatchNorm<C, P> {
    fn default() -> Self {
        Self::KERAS
    }
}

impl<const C: usize, const P: usize> BatchNorm<C, P> {
    /// Keras' default momentum of the running statistics.
    pub const MOMENTUM: f32 = 0.99;
    /// Keras' default epsilon, added to the variance before the square root.
    pub const EPSILON: f32 = 1e-3;
    /// Keras' `BatchNormalization()`: epsilon 1e-3, momentum 0.99, the running variance
    /// updated with the biased batch variance.
    pub const KERAS: Self = Self::new(Self::EPSILON, Self::MOMENTUM, false);

    /// PyTorch's `BatchNorm1d`/`BatchNorm2d` defaults (`eps = 1e-5, momentum = 0.1`): in
    /// Keras' terms epsilon 1e-5, momentum 0.9, and the running variance updated with the
    /// unbiased batch variance.
    pub const PYTORCH: Self = Self::new(1e-5, 0.9, true);

    /// Batch normalisation with `epsilon` (added to the variance), `momentum` (the weight
    /// of the old running statistics, Keras' meaning) and, with `unbiased_variance`, the
    /// running variance updated with the unbiased batch variance (PyTorch's way).
    ///
    /// # Panics
    /// If `epsilon` is not a positive finite number or `momentum` is not in `[0, 1)` (in a
    /// `const`, that is a compile error).
    #[must_use]
    pub const fn new(epsilon: f32, momentum: f32, unbiased_variance: bool) -> Self {
        assert!(
            epsilon > 0.0 && epsilon < f32::INFINITY,
            "BatchNorm: epsilon must be positive and finite"
        );
        assert!(
            momentum >= 0.0 && momentum < 1.0,
            "BatchNorm: momentum must be in [0, 1)"
        );
        Self {
            epsilon,
            momentum,
            unbiased_variance,
        }
    }

    /// Added to the variance before the square root.
    #[must_use]
    pub const fn epsilon(&self) -> f32 {
        self.epsilon
    }

    /// The weight of the old running statistics in each update (Keras' meaning; PyTorch's
    /// `momentum` is one minus this).
    #[must_use]
    pub const fn momentum(&self) -> f32 {
        self.momentum
    }

    /// Whether the running variance is updated with the unbiased batch variance.
    #[must_use]
    pub const fn unbiased_variance(&self) -> bool {
        self.unbiased_variance
    }

    /// Inference on `rows` rows of `C` (for images, `rows = batch * H * W`), with the
    /// running statistics.
    ///
    /// # Panics
    /// If a slice is shorter than its shape.
    pub fn normalize(&self, params: &[f32], state: &[f32], x: &[f32], y: &mut [f32], rows: usize) {
        let (mean, var) = state[..2 * C].split_at(C);
        let mut scale = [0.0f32; C];
        let mut shift = [0.0f32; C];
        for c in 0..C {
            let istd = 1.0 / math::sqrt(var[c] + self.epsilon);
            scale[c] = params[c] * istd;
            shift[c] = params[C + c] - mean[c] * scale[c];
        }
        Self::apply(&scale, &shift, x, y, rows);
    }

    /// Training forward pass on `rows` rows of `C` (for images, `rows = batch * H * W`):
    /// normalises with the batch statistics (biased variance) and moves the running
    /// statistics in `state` towards them (the variance biased or, with
    /// [`unbiased_variance`](Self::unbiased_variance), unbiased; with one row, the
    /// unbiased variance is undefined and the running variance stays).
    ///
    /// # Panics
    /// If `rows` is 0 or a slice is shorter than its shape.
    pub fn normalize_train(
        &self,
        params: &[f32],
        state: &mut [f32],
        x: &[f32],
        y: &mut [f32],
        rows: usize,
    ) {
        let (mean, var) = Self::batch_stats(x, rows);
        let mut scale = [0.0f32; C];
        let mut shift = [0.0f32; C];
        for c in 0..C {
            scale[c] = params[c] / math::sqrt(var[c] + self.epsilon);
            shift[c] = params[C + c] - mean[c] * scale[c];
        }
        Self::apply(&scale, &shift, x, y, rows);
        // Bessel's correction N / (N − 1), or none.
        #[allow(clippy::cast_precision_loss)]
        let correction = match (self.unbiased_variance, rows) {
            (false, _) => Some(1.0),
            (true, 1) => None,
            (true, n) => Some(n as f64 / (n - 1) as f64),
        };
        let (running_mean, running_var) = state[..2 * C].split_at_mut(C);
        let m = self.momentum;
        for c in 0..C {
            running_mean[c] = m * running_mean[c] + (1.0 - m) * mean[c];
            if let Some(k) = correction {
                #[allow(clippy::cast_possible_truncation)]
                let v = (f64::from(var[c]) * k) as f32;
                running_var[c] = m * running_var[c] + (1.0 - m) * v;
            }
        }
    }

    /// Backward pass of an inference-mode forward pass ([`normalize`](Self::normalize),
    /// running statistics): the layer is then affine per channel, `y = gamma (x - mean) /
    /// sqrt(var + eps) + beta`. Writes `dgamma` then `dbeta` into `grads` and the input
    /// gradient into `dx`, each when given (overwriting).
    ///
    /// # Panics
    /// If a slice is shorter than its shape.
    // The slices of one backward pass, as in `backward_train`, plus the running statistics.
    #[allow(clippy::too_many_arguments)]
    pub fn backward_eval(
        &self,
        params: &[f32],
        state: &[f32],
        x: &[f32],
        dy: &[f32],
        dx: Option<&mut [f32]>,
        grads: Option<&mut [f32]>,
        rows: usize,
    ) {
        let (mean, var) = state[..2 * C].split_at(C);
        let mut istd = [0.0f32; C];
        for c in 0..C {
            istd[c] = 1.0 / math::sqrt(var[c] + self.epsilon);
        }
        let (x, dy) = (&x[..rows * C], &dy[..rows * C]);
        if let Some(grads) = grads {
            let (dgamma, dbeta) = grads[..2 * C].split_at_mut(C);
            dgamma.fill(0.0);
            dbeta.fill(0.0);
            for (xr, dr) in x.chunks_exact(C).zip(dy.chunks_exact(C)) {
                for c in 0..C {
                    dgamma[c] += dr[c] * (xr[c] - mean[c]) * istd[c];
                    dbeta[c] += dr[c];
                }
            }
        }
        if let Some(dx) = dx {
            for (dxr, dr) in dx[..rows * C].chunks_exact_mut(C).zip(dy.chunks_exact(C)) {
                for c in 0..C {
                    dxr[c] = dr[c] * params[c] * istd[c];
                }
            }
        }
    }

    /// Backward pass of a training-mode forward pass over `rows` rows: given the layer's
    /// input `x` and the gradient `dy` with respect to its output, writes `dgamma` then
    /// `dbeta` into `grads` and the gradient with respect to the input into `dx`, each when
    /// given (overwriting). The batch statistics are recomputed from `x`.
    ///
    /// # Panics
    /// If `rows` is 0 or a slice is shorter than its shape.
    pub fn backward_train(
        &self,
        params: &[f32],
        x: &[f32],
        dy: &[f32],
        dx: Option<&mut [f32]>,
        grads: Option<&mut [f32]>,
        rows: usize,
    ) {
        let (mean, var) = Self::batch_stats(x, rows);
        let mut istd = [0.0f32; C];
        for c in 0..C {
            istd[c] = 1.0 / math::sqrt(var[c] + self.epsilon);
        }
        let (x, dy) = (&x[..rows * C], &dy[..rows * C]);
        // Σ dy and Σ dy·(x − μ) per channel; dgamma = istd · the latter.
        let mut sum_dy = [0.0f64; C];
        let mut sum_dy_xc = [0.0f64; C];
        for (xr, dr) in x.chunks_exact(C).zip(dy.chunks_exact(C)) {
            for c in 0..C {
                sum_dy[c] += f64::from(dr[c]);
                sum_dy_xc[c] += f64::from(dr[c]) * f64::from(xr[c] - mean[c]);
            }
        }
        let mut dgamma = [0.0f32; C];
        let mut dbeta = [0.0f32; C];
        #[allow(clippy::cast_possible_truncation)]
        for c in 0..C {
            dbeta[c] = sum_dy[c] as f32;
            dgamma[c] = (sum_dy_xc[c] * f64::from(istd[c])) as f32;
        }
        if let Some(grads) = grads {
            grads[..C].copy_from_slice(&dgamma);
            grads[C..2 * C].copy_from_slice(&dbeta);
        }
        if let Some(dx) = dx {
            // dx = gamma·istd · (dy − dbeta/N − x̂ · dgamma/N), x̂ = (x − μ)·istd.
            #[allow(clippy::cast_precision_loss)]
            let n = rows as f32;
            let mut k = [0.0f32; C];
            let mut mean_dy = [0.0f32; C];
            let mut xhat_coeff = [0.0f32; C];
            for c in 0..C {
                k[c] = params[c] * istd[c];
                mean_dy[c] = dbeta[c] / n;
                xhat_coeff[c] = dgamma[c] / n * istd[c];
            }
            for ((xr, dr), out) in x
                .chunks_exact(C)
                .zip(dy.chunks_exact(C))
                .zip(dx[..rows * C].chunks_exact_mut(C))
            {
                for c in 0..C {
                    out[c] = k[c] * (dr[c] - mean_dy[c] - (xr[c] - mean[c]) * xhat_coeff[c]);
                }
            }
        }
    }

    /// `y = x · scale + shift` per channel, on `rows` rows.
    fn apply(scale: &[f32; C], shift: &[f32; C], x: &[f32], y: &mut [f32], rows: usize) {
        for (xr, yr) in x[..rows * C]
            .chunks_exact(C)
            .zip(y[..rows * C].chunks_exact_mut(C))
        {
            for c in 0..C {
                yr[c] = xr[c] * scale[c] + shift[c];
            }
        }
    }

    /// Per-channel mean and biased variance of `rows` rows (two passes, `f64` sums).
    fn batch_stats(x: &[f32], rows: usize) -> ([f32; C], [f32; C]) {
        assert!(rows > 0, "BatchNorm<{C}>: batch statistics of zero rows");
        let x = &x[..rows * C];
        #[allow(clippy::cast_precision_loss)]
        let n = rows as f64;
        let mut sum = [0.0f64; C];
        for row in x.chunks_exact(C) {
            for c in 0..C {
                sum[c] += f64::from(row[c]);
            }
        }
        #[allow(clippy::cast_possible_truncation)]
        let mean: [f32; C] = core::array::from_fn(|c| (sum[c] / n) as f32);
        let mut sq = [0.0f64; C];
        for row in x.chunks_exact(C) {
            for c in 0..C {
                let d = f64::from(row[c] - mean[c]);
                sq[c] += d * d;
            }
        }
        #[allow(clippy::cast_possible_truncation)]
        let var: [f32; C] = core::array::from_fn(|c| (sq[c] / n) as f32);
        (mean, var)
    }
}

/// Floating-point operations of batch normalisation's inference on `positions` rows of
/// `channels`: a multiply-add per value.
#[must_use]
pub const fn batch_norm_flops(positions: usize, channels: usize) -> Option<u128> {
    product(&[2, positions, channels])
}

impl<const C: usize, const P: usize> Layer for BatchNorm<C, P> {
    const KIND: &'static str = "BatchNormalization";
    const INPUT: usize = P * C;
    const OUTPUT: usize = P * C;
    const PARAMS: usize = 2 * C;
    const STATE: usize = 2 * C;
    const FLOPS: u64 = to_u64(batch_norm_flops(P, C));
    const TENSORS: &'static [Tensor] = &[
        Tensor {
            suffix: "weight",
            shape: &[C],
            layout: TensorLayout::Same,
            offset: 0,
            state: false,
            input_axis: Some(0),
        },
        Tensor {
            suffix: "bias",
            shape: &[C],
            layout: TensorLayout::Same,
            offset: C,
            state: false,
            input_axis: Some(0),
        },
        Tensor {
            suffix: "running_mean",
            shape: &[C],
            layout: TensorLayout::Same,
            offset: 0,
            state: true,
            input_axis: Some(0),
        },
        Tensor {
            suffix: "running_var",
            shape: &[C],
            layout: TensorLayout::Same,
            offset: C,
            state: true,
            input_axis: Some(0),
        },
    ];

    /// Keras' initialisation: `gamma = 1`, `beta = 0`, running mean 0, running variance 1.
    fn init(&self, params: &mut [f32], state: &mut [f32], _rng: &mut Rng) {
        let (gamma, beta) = params[..2 * C].split_at_mut(C);
        gamma.fill(1.0);
        beta.fill(0.0);
        let (mean, var) = state[..2 * C].split_at_mut(C);
        mean.fill(0.0);
        var.fill(1.0);
    }

    /// With the running statistics.
    fn infer(&self, params: &[f32], state: &[f32], io: Io<'_>, _scratch: &mut [f32]) {
        let (x, y) = io.split();
        self.normalize(params, state, x, y, P);
    }

    /// Training: batch statistics, and the running ones move towards them; inference: the
    /// running statistics.
    fn forward(&self, f: Forward<'_>, pass: &mut Pass<'_>) {
        let rows = batch_values("BatchNorm", f.batch, P);
        if pass.is_training() {
            self.normalize_train(f.params, f.state, f.x, f.y, rows);
        } else {
            self.normalize(f.params, f.state, f.x, f.y, rows);
        }
    }

    fn backward(&self, b: Backward<'_>) {
        let rows = batch_values("BatchNorm", b.batch, P);
        if b.training {
            self.backward_train(b.params, b.x, b.dy, b.dx, b.grads, rows);
        } else {
            self.backward_eval(b.params, b.state, b.x, b.dy, b.dx, b.grads, rows);
        }
    }
}

impl<'a, const C: usize, const P: usize> LayerRef<'a, BatchNorm<C, P>> {
    /// The scales `gamma` (PyTorch's `weight`).
    #[must_use]
    pub fn gamma(&self) -> SVectorView<'a, f32, C> {
        SVectorView::<f32, C>::from_slice(&self.params[..C])
    }

    /// The offsets `beta` (PyTorch's `bias`).
    #[must_use]
    pub fn beta(&self) -> SVectorView<'a, f32, C> {
        SVectorView::<f32, C>::from_slice(&self.params[C..])
    }

    /// The running mean.
    #[must_use]
    pub fn running_mean(&self) -> SVectorView<'a, f32, C> {
        SVectorView::<f32, C>::from_slice(&self.state[..C])
    }

    /// The running variance.
    #[must_use]
    pub fn running_var(&self) -> SVectorView<'a, f32, C> {
        SVectorView::<f32, C>::from_slice(&self.state[C..])
    }
}

/// int8: folded into the `Dense` or `Conv2D` before it when quantizing (see
/// [`quant`](crate::quant)); the identity in the quantized model.
impl<const C: usize, const P: usize> Quantize for BatchNorm<C, P> {
    const ROLE: Role = Role::Folded { channels: C };

    fn infer_i8(&self, _block: &[u8], io: Io<'_, i8>) {
        let (x, y) = io.split();
        y[..C * P].copy_from_slice(&x[..C * P]);
    }
}

#[cfg(test)]
mod tests {
    use super::BatchNorm;
    use crate::layers::Layer;
    use crate::rng::Rng;
    use std::vec::Vec;

    const C_: usize = 3;
    type Bn = BatchNorm<C_>;

    #[cfg(feature = "alloc")]
    fn random(n: usize, rng: &mut Rng, lo: f32, hi: f32) -> Vec<f32> {
        (0..n).map(|_| rng.uniform(lo, hi)).collect()
    }

    #[test]
    fn training_output_is_normalised_and_running_stats_move() {
        let mut rng = Rng::new(1);
        let rows = 50;
        let x: Vec<f32> = (0..rows * 3)
            .map(|i| rng.uniform(-1.0, 1.0) * (1 + i % 3) as f32 + (i % 3) as f32)
            .collect();
        let mut params = [0.0; 2 * C_];
        let mut state = [0.0; 2 * C_];
        Bn::KERAS.init(&mut params, &mut state, &mut rng);
        assert_eq!(
            (params, state),
            (
                [1.0, 1.0, 1.0, 0.0, 0.0, 0.0],
                [0.0, 0.0, 0.0, 1.0, 1.0, 1.0]
            )
        );
        let mut y = std::vec![0.0; rows * 3];
        Bn::KERAS.normalize_train(&params, &mut state, &x, &mut y, rows);
        for c in 0..3 {
            let col: Vec<f64> = y.iter().skip(c).step_by(3).map(|&v| f64::from(v)).collect();
            let mean = col.iter().sum::<f64>() / rows as f64;
            let var = col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / rows as f64;
            let xs: Vec<f64> = x.iter().skip(c).step_by(3).map(|&v| f64::from(v)).collect();
            let xm = xs.iter().sum::<f64>() / rows as f64;
            let xv = xs.iter().map(|v| (v - xm).powi(2)).sum::<f64>() / rows as f64;
            assert!(mean.abs() < 1e-6, "mean {mean}");
            assert!((var - xv / (xv + 1e-3)).abs() < 1e-5, "var {var}");
            assert!((f64::from(state[c]) - 0.01 * xm).abs() < 1e-6);
            assert!((f64::from(state[3 + c]) - (0.99 + 0.01 * xv)).abs() < 1e-6);
        }
    }

    /// Per-channel mean and biased variance of the columns of `x` (`C = 3`), in `f64`.
    fn column_stats(x: &[f32]) -> [(f64, f64); 3] {
        core::array::from_fn(|c| {
            let col: Vec<f64> = x.iter().skip(c).step_by(3).map(|&v| f64::from(v)).collect();
            let n = col.len() as f64;
            let mean = col.iter().sum::<f64>() / n;
            (
                mean,
                col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n,
            )
        })
    }

    #[test]
    fn epsilon_momentum_and_unbiased_variance_are_honoured() {
        // Rows 1..=4 of three channels: (r, 2r², −r) with r = 1..=4.
        let x: Vec<f32> = (1..=4)
            .flat_map(|r| [r as f32, 2.0 * (r * r) as f32, -(r as f32)])
            .collect();
        let rows = 4;
        let stats = column_stats(&x);
        let params = [1.0, 1.0, 1.0, 0.0, 0.0, 0.0];
        for (bn, unbiased) in [
            (Bn::new(0.25, 0.5, false), false),
            (Bn::new(0.25, 0.5, true), true),
            (Bn::PYTORCH, true),
        ] {
            let mut state = [0.0, 0.0, 0.0, 1.0, 1.0, 1.0];
            let mut y = [0.0; 12];
            bn.normalize_train(&params, &mut state, &x, &mut y, rows);
            let (eps, m) = (f64::from(bn.epsilon()), f64::from(bn.momentum()));
            for (c, &(mean, var)) in stats.iter().enumerate() {
                // Normalised with the biased variance and this epsilon, either way.
                let want = (f64::from(x[c]) - mean) / (var + eps).sqrt();
                assert!((f64::from(y[c]) - want).abs() < 1e-5, "{y:?}");
                let v = if unbiased { var * 4.0 / 3.0 } else { var };
                let (rm, rv) = (f64::from(state[c]), f64::from(state[3 + c]));
                assert!((rm - (1.0 - m) * mean).abs() < 1e-5 * (1.0 + rm.abs()));
                assert!((rv - (m + (1.0 - m) * v)).abs() < 1e-5 * rv, "{rv} {v}");
            }
            // Inference and its backward pass use this epsilon too.
            let mut y = [0.0; 12];
            bn.normalize(&params, &state, &x, &mut y, rows);
            let want = (f64::from(x[0]) - f64::from(state[0])) / (f64::from(state[3]) + eps).sqrt();
            assert!((f64::from(y[0]) - want).abs() < 1e-5);
            let mut dx = [0.0; 12];
            let mut grads = [0.0; 6];
            bn.backward_eval(
                &params,
                &state,
                &x,
                &[1.0; 12],
                Some(&mut dx),
                Some(&mut grads),
                rows,
            );
            let want = 1.0 / (f64::from(state[3]) + eps).sqrt();
            assert!((f64::from(dx[0]) - want).abs() < 1e-5);
        }
    }

    #[test]
    fn with_one_row_the_unbiased_running_variance_stays() {
        let params = [1.0, 1.0, 1.0, 0.0, 0.0, 0.0];
        let mut state = [0.0, 0.0, 0.0, 2.0, 3.0, 4.0];
        let mut y = [0.0; 3];
        Bn::PYTORCH.normalize_train(&params, &mut state, &[1.0, 2.0, 3.0], &mut y, 1);
        assert_eq!(state[3..], [2.0, 3.0, 4.0]);
        for (c, want) in [1.0f32, 2.0, 3.0].into_iter().enumerate() {
            assert!((state[c] - 0.1 * want).abs() < 1e-6, "{state:?}");
        }
        assert!(y.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn hyperparameters_are_validated() {
        const BN: Bn = Bn::new(1e-5, 0.0, true);
        assert_eq!(
            (BN.epsilon(), BN.momentum(), BN.unbiased_variance()),
            (1e-5, 0.0, true)
        );
        assert_eq!(Bn::default(), Bn::KERAS);
        assert_eq!((Bn::KERAS.epsilon(), Bn::KERAS.momentum()), (1e-3, 0.99));
        for (eps, m) in [
            (0.0, 0.5),
            (-1.0, 0.5),
            (f32::INFINITY, 0.5),
            (f32::NAN, 0.5),
            (1e-3, 1.0),
            (1e-3, -0.1),
            (1e-3, f32::NAN),
        ] {
            let r = std::panic::catch_unwind(|| Bn::new(eps, m, false));
            assert!(r.is_err(), "epsilon {eps}, momentum {m} accepted");
        }
    }

    #[test]
    fn inference_uses_the_running_statistics() {
        let params = [2.0, 1.0, 0.5, 0.0, 1.0, -1.0];
        let state = [1.0, 0.0, -1.0, 4.0 - 1e-3, 1.0 - 1e-3, 0.25 - 1e-3];
        let x = [3.0, 2.0, 0.0, 1.0, 0.0, -1.0];
        let mut y = [0.0; 6];
        Bn::KERAS.normalize(&params, &state, &x, &mut y, x.len() / C_);
        let want = [2.0, 3.0, 0.0, 0.0, 1.0, -1.0];
        for (g, w) in y.iter().zip(want) {
            assert!((g - w).abs() < 1e-5, "{y:?}");
        }
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn backward_matches_finite_differences() {
        use crate::gradcheck;
        let mut rng = Rng::new(7);
        // Rows of an image batch: 2 samples of 3 × 4 pixels.
        let rows = 24;
        let x = random(rows * 3, &mut rng, -2.0, 2.0);
        let r = random(rows * 3, &mut rng, -1.5, 1.5);
        let params: Vec<f32> = random(2 * C_, &mut rng, 0.5, 1.5);
        let mut dx = std::vec![f32::NAN; rows * 3];
        let mut grads = std::vec![f32::NAN; 2 * C_];
        Bn::KERAS.backward_train(&params, &x, &r, Some(&mut dx), Some(&mut grads), rows);
        let objective = |p: &[f32], xs: &[f32]| {
            let mut state = [0.0; 2 * C_];
            let mut y = std::vec![0.0; rows * 3];
            Bn::KERAS.normalize_train(p, &mut state, xs, &mut y, rows);
            y.iter()
                .zip(&r)
                .map(|(y, r)| f64::from(*y) * f64::from(*r))
                .sum::<f64>()
        };
        // Rounding noise of the objective: f32 precision of each of its terms.
        let noise = {
            let mut state = [0.0; 2 * C_];
            let mut y = std::vec![0.0; rows * 3];
            Bn::KERAS.normalize_train(&params, &mut state, &x, &mut y, rows);
            let sum: f32 = y.iter().zip(&r).map(|(y, r)| (y * r).abs()).sum();
            f64::from(f32::EPSILON) * f64::from(sum + 1.0)
        };
        let by_params = gradcheck::check(&params, &grads, 0..2 * C_, 1e-2, 1e-3, noise, |p| {
            objective(p, &x)
        });
        assert!(by_params.passed(), "parameter gradient: {by_params}");
        assert_eq!(by_params.checked, 2 * C_);
        let by_input = gradcheck::check(&x, &dx, 0..x.len(), 1e-2, 1e-3, noise, |xs| {
            objective(&params, xs)
        });
        assert!(by_input.passed(), "input gradient: {by_input}");
        assert_eq!(by_input.checked, x.len());

        let mut grads2 = std::vec![5.0; 2 * C_];
        Bn::KERAS.backward_train(&params, &x, &r, None, Some(&mut grads2), rows);
        assert_eq!(grads, grads2);
    }

    #[test]
    fn inference_mode_backward_matches_finite_differences() {
        const C_: usize = 3;
        type Bn = BatchNorm<C_>;
        let mut rng = crate::rng::Rng::new(8);
        let params: std::vec::Vec<f32> = (0..2 * C_).map(|_| rng.uniform(0.5, 1.5)).collect();
        let state = [0.1, -0.2, 0.3, 0.5, 1.5, 2.0];
        let rows = 4;
        let x: std::vec::Vec<f32> = (0..rows * 3).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let r: std::vec::Vec<f32> = (0..rows * 3).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let objective = |p: &[f32], x: &[f32]| {
            let mut y = std::vec![0.0; rows * 3];
            Bn::KERAS.normalize(p, &state, x, &mut y, rows);
            y.iter()
                .zip(&r)
                .map(|(y, r)| f64::from(*y) * f64::from(*r))
                .sum::<f64>()
        };
        let mut grads = std::vec![0.0; 2 * C_];
        let mut dx = std::vec![0.0; rows * 3];
        Bn::KERAS.backward_eval(
            &params,
            &state,
            &x,
            &r,
            Some(&mut dx),
            Some(&mut grads),
            rows,
        );
        let by_params =
            crate::gradcheck::check(&params, &grads, 0..2 * C_, 1e-2, 1e-3, 1e-6, |p| {
                objective(p, &x)
            });
        assert!(by_params.passed(), "{by_params}");
        let by_input = crate::gradcheck::check(&x, &dx, 0..x.len(), 1e-2, 1e-3, 1e-6, |xs| {
            objective(&params, xs)
        });
        assert!(by_input.passed(), "{by_input}");
    }
}
