//! Fully connected layer: `y = x W + b`.
//!
//! Parameters, in this order in the layer's slice: the weights `W` as `IN` rows of `OUT`
//! values (Keras' kernel layout, `[in, out]`; PyTorch stores the transpose, `[out, in]`, and
//! weight files are converted on the way in and out), then the `OUT` biases.
//!
//! ```
//! use nn_core::{layers::Dense, Vector};
//! // Two inputs, one output: y = 2 x0 - x1 + 0.5
//! let params = [2.0, -1.0, 0.5];
//! let y = Dense::<2, 1>::forward(&params, &Vector::from([3.0, 1.0]));
//! assert_eq!(y[0], 5.5);
//! ```

use crate::{kernels, rng::Rng, Vector};
use nalgebra::SMatrixView;

/// A fully connected layer from `IN` to `OUT` features.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Dense<const IN: usize, const OUT: usize>;

impl<const IN: usize, const OUT: usize> Dense<IN, OUT> {
    /// Number of weights, `IN * OUT`.
    pub const WEIGHTS: usize = IN * OUT;
    /// Number of parameters, weights and biases.
    pub const PARAMS: usize = IN * OUT + OUT;
    /// Floating-point operations for one sample's forward pass (a multiply-add counts 2).
    pub const FLOPS: usize = 2 * IN * OUT;

    /// Keras' default initialisation: Glorot-uniform weights in `±sqrt(6 / (IN + OUT))`, zero
    /// biases.
    ///
    /// # Panics
    /// If `params` does not hold exactly [`Self::PARAMS`] values.
    pub fn init(params: &mut [f32], rng: &mut Rng) {
        assert_eq!(
            params.len(),
            Self::PARAMS,
            "Dense<{IN}, {OUT}> parameter slice"
        );
        #[allow(clippy::cast_precision_loss)]
        let limit = crate::math::sqrt(6.0 / (IN + OUT) as f32);
        let (w, b) = params.split_at_mut(Self::WEIGHTS);
        for v in w {
            *v = rng.uniform(-limit, limit);
        }
        b.fill(0.0);
    }

    /// The weights as a matrix view, `OUT × IN` (so that `y = W x + b` in column-vector form).
    #[must_use]
    pub fn weight(params: &[f32]) -> SMatrixView<'_, f32, OUT, IN> {
        SMatrixView::<f32, OUT, IN>::from_slice(&params[..Self::WEIGHTS])
    }

    /// The biases.
    #[must_use]
    pub fn bias(params: &[f32]) -> &[f32] {
        &params[Self::WEIGHTS..Self::PARAMS]
    }

    /// Inference for one sample. Allocation-free.
    #[inline]
    #[must_use]
    pub fn forward(params: &[f32], x: &Vector<IN>) -> Vector<OUT> {
        let (w, b) = params.split_at(Self::WEIGHTS);
        let mut y = [0.0; OUT];
        kernels::dense_forward_one::<IN, OUT>(w, b, x.as_slice(), &mut y);
        Vector::from(y)
    }

    /// Inference for one sample into a caller-provided slice (`x` holds `IN` values, `y`
    /// receives `OUT`). Allocation-free.
    ///
    /// # Panics
    /// If `x` or `y` is shorter than the layer's width.
    #[inline]
    pub fn forward_into(params: &[f32], x: &[f32], y: &mut [f32]) {
        let (w, b) = params.split_at(Self::WEIGHTS);
        let y: &mut [f32; OUT] = (&mut y[..OUT]).try_into().expect("`y` holds OUT values");
        kernels::dense_forward_one::<IN, OUT>(w, b, x, y);
    }

    /// Forward pass of a batch: `x` holds `batch` rows of `IN`, `y` receives `batch` rows of
    /// `OUT`.
    pub fn forward_batch(params: &[f32], x: &[f32], y: &mut [f32], batch: usize) {
        let (w, b) = params.split_at(Self::WEIGHTS);
        for row in y[..batch * OUT].chunks_exact_mut(OUT) {
            row.copy_from_slice(&b[..OUT]);
        }
        kernels::gemm_nn(batch, IN, OUT, x, w, y, true);
    }

    /// Backward pass of a batch. Given the layer's input `x` and the gradient `dy` with
    /// respect to its output, writes the parameter gradients into `grads` (overwriting) and,
    /// when `dx` is given, the gradient with respect to the input.
    pub fn backward_batch(
        params: &[f32],
        x: &[f32],
        dy: &[f32],
        dx: Option<&mut [f32]>,
        grads: &mut [f32],
        batch: usize,
    ) {
        let (dw, db) = grads[..Self::PARAMS].split_at_mut(Self::WEIGHTS);
        kernels::gemm_tn(IN, batch, OUT, x, dy, dw, false);
        db.fill(0.0);
        for row in dy[..batch * OUT].chunks_exact(OUT) {
            for (g, &d) in db.iter_mut().zip(row) {
                *g += d;
            }
        }
        if let Some(dx) = dx {
            kernels::gemm_nt(batch, OUT, IN, dy, &params[..Self::WEIGHTS], dx, false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Dense;
    use crate::{rng::Rng, Vector};
    use std::vec::Vec;

    #[test]
    fn batch_forward_matches_single_sample_forward_and_the_matrix_view() {
        let mut rng = Rng::new(4);
        let mut p = std::vec![0.0; Dense::<5, 3>::PARAMS];
        Dense::<5, 3>::init(&mut p, &mut rng);
        for b in &mut p[15..] {
            *b = rng.uniform(-1.0, 1.0);
        }
        let x: Vec<f32> = (0..10).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let mut y = std::vec![0.0; 6];
        Dense::<5, 3>::forward_batch(&p, &x, &mut y, 2);
        for s in 0..2 {
            let xs = Vector::<5>::from_column_slice(&x[s * 5..s * 5 + 5]);
            let one = Dense::<5, 3>::forward(&p, &xs);
            let via_view = Dense::<5, 3>::weight(&p) * xs
                + Vector::<3>::from_column_slice(Dense::<5, 3>::bias(&p));
            for o in 0..3 {
                assert!((one[o] - y[s * 3 + o]).abs() < 1e-6);
                assert!((one[o] - via_view[o]).abs() < 1e-6);
            }
        }
    }

    #[test]
    fn glorot_limit_and_zero_bias() {
        let mut p = std::vec![0.0; Dense::<20, 64>::PARAMS];
        Dense::<20, 64>::init(&mut p, &mut Rng::new(1));
        let limit = (6.0f32 / 84.0).sqrt();
        assert!(p[..1280].iter().all(|w| w.abs() <= limit));
        assert!(p[..1280].iter().any(|w| w.abs() > 0.9 * limit));
        assert!(p[1280..].iter().all(|&b| b == 0.0));
    }
}
