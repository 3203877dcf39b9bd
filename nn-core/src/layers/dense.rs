//! Fully connected layer: `y = f(x W + b)` with an activation `f` (Keras' `Dense`; PyTorch's
//! `nn.Linear` followed by the activation).
//!
//! Parameters, in this order in the layer's slice: the weights `W` as `IN` rows of `OUT`
//! values (Keras' kernel layout, `[in, out]`; PyTorch stores the transpose, `[out, in]`, and
//! weight files are converted on the way in and out), then the `OUT` biases.
//!
//! ```
//! use nn_core::layers::{Dense, Io, Layer};
//! use nn_core::activations::Linear;
//! // Two inputs, one output: y = 2 x0 - x1 + 0.5
//! let params = [2.0, -1.0, 0.5];
//! let mut y = [0.0];
//! Dense::<2, 1>::new(Linear).infer(&params, &[], Io::Separate { x: &[3.0, 1.0], y: &mut y }, &mut []);
//! assert_eq!(y[0], 5.5);
//! ```

use super::contract::batch_values;
use super::contract::{product, sum, to_u64, to_usize};
use super::TensorLayout;
use super::{Backward, Forward, Io, Layer, LayerMut, LayerRef, Pass, Tensor};
use crate::activations::{ActivationFn, Linear};
use crate::quant::{affine, Fuse, Header, Quantize, Role};
use crate::{kernels, rng::Rng};
use nalgebra::{SMatrixView, SMatrixViewMut, SVectorView, SVectorViewMut};

/// Parameters of a dense layer from `inputs` to `units` values (weights and biases), or
/// `None` if the count overflows.
#[must_use]
pub const fn dense_params(inputs: usize, units: usize) -> Option<u128> {
    sum(product(&[inputs, units]), product(&[units]))
}

/// Floating-point operations of a dense layer's inference: a multiply-add per weight.
#[must_use]
pub const fn dense_flops(inputs: usize, units: usize) -> Option<u128> {
    product(&[2, inputs, units])
}

/// A fully connected layer from `IN` to `OUT` features with the activation `A`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Dense<const IN: usize, const OUT: usize, A = Linear> {
    /// The activation applied to the output.
    pub activation: A,
}

impl<const IN: usize, const OUT: usize, A: ActivationFn> Dense<IN, OUT, A> {
    /// Number of weights, `IN * OUT`.
    pub const WEIGHTS: usize = IN * OUT;

    /// The layer with the activation `activation`.
    #[must_use]
    pub const fn new(activation: A) -> Self {
        Self { activation }
    }

    /// The same layer without its activation: what the batched passes run for the output
    /// layer, whose activation the loss applies (fused, for stable gradients).
    #[must_use]
    pub const fn logits(self) -> Dense<IN, OUT> {
        Dense { activation: Linear }
    }
}

impl<const IN: usize, const OUT: usize, A: ActivationFn> Layer for Dense<IN, OUT, A> {
    const KIND: &'static str = "Dense";
    const INPUT: usize = IN;
    const OUTPUT: usize = OUT;
    const PARAMS: usize = to_usize(dense_params(IN, OUT));
    const FLOPS: u64 = to_u64(dense_flops(IN, OUT));
    const CACHE: usize = if A::USES_INPUT { OUT } else { 0 };
    const TENSORS: &'static [Tensor] = &[
        Tensor {
            suffix: "weight",
            shape: &[OUT, IN],
            layout: TensorLayout::Transposed,
            offset: 0,
            state: false,
            input_axis: Some(1),
        },
        Tensor {
            suffix: "bias",
            shape: &[OUT],
            layout: TensorLayout::Same,
            offset: IN * OUT,
            state: false,
            input_axis: None,
        },
    ];

    /// Room for the transposed weights when the input gradient of `batch` samples is a large
    /// product (see [`backward`](Layer::backward)).
    fn batch_scratch(batch: usize) -> usize {
        match Self::input_gradient_path(batch) {
            InputGradient::Dots => 0,
            InputGradient::TransposedWeights => Self::WEIGHTS,
            InputGradient::TransposedProduct => batch * (IN + OUT),
        }
    }

    /// Keras' default initialisation: Glorot-uniform weights in `±sqrt(6 / (IN + OUT))`,
    /// zero biases.
    fn init(&self, params: &mut [f32], _state: &mut [f32], rng: &mut Rng) {
        #[allow(clippy::cast_precision_loss)]
        let limit = crate::math::sqrt(6.0 / (IN + OUT) as f32);
        let (w, b) = params[..Self::PARAMS].split_at_mut(Self::WEIGHTS);
        for v in w {
            *v = rng.uniform(-limit, limit);
        }
        b.fill(0.0);
    }

    #[inline]
    fn infer(&self, params: &[f32], _state: &[f32], io: Io<'_>, _scratch: &mut [f32]) {
        let (x, y) = io.split();
        let (w, b) = params.split_at(Self::WEIGHTS);
        let y: &mut [f32; OUT] = (&mut y[..OUT])
            .try_into()
            .expect("a slice of OUT values is an array of OUT");
        kernels::dense_forward_one::<IN, OUT>(w, b, x, y);
        self.activation.forward(y, OUT);
    }

    /// `y = f(x W + b)` over the batch, the pre-activations kept when the activation's
    /// backward pass reads them; an element-wise activation runs on each thread's part of
    /// `y` as the product computes it ([`kernels::affine`]).
    fn forward(&self, f: Forward<'_>, _pass: &mut Pass<'_>) {
        let (w, b) = f.params.split_at(Self::WEIGHTS);
        let y = &mut f.y[..batch_values("Dense", f.batch, OUT)];
        let keep = if A::USES_INPUT {
            Some(&mut f.cache[..y.len()])
        } else {
            None
        };
        let activation = self.activation;
        // A row-wise activation (softmax) runs on whole rows after the product.
        let elementwise = activation.elementwise();
        let then = |part: &mut [f32]| {
            if elementwise {
                kernels::vectorized(|| activation.forward(part, part.len()));
            }
        };
        kernels::affine(f.batch, IN, OUT, f.x, w, &b[..OUT], y, keep, &then);
        if !elementwise {
            activation.forward(y, OUT);
        }
    }

    fn backward(&self, b: Backward<'_>) {
        let n = batch_values("Dense", b.batch, OUT);
        let z: &[f32] = if A::USES_INPUT { &b.cache[..n] } else { &[] };
        let dz = &mut b.dy[..n];
        self.activation.backward(z, &b.y[..n], dz, OUT);
        let mut grads = b
            .grads
            .map(|g| g[..Self::PARAMS].split_at_mut(Self::WEIGHTS));
        let summed = match b.dx {
            Some(dx) => {
                let db = grads.as_mut().map(|(_, db)| &mut **db);
                let w = &b.params[..Self::WEIGHTS];
                Self::input_gradient(w, dz, dx, b.scratch, b.batch, db)
            }
            None => false,
        };
        if let Some((dw, db)) = grads {
            kernels::gemm_tn(IN, b.batch, OUT, b.x, dz, dw, false);
            if !summed {
                bias_gradient(dz, db, None);
            }
        }
    }

    /// The input gradient first, from the weights before the update (the biases' gradient
    /// summed as it transposes the output gradient, where it does); then the weight
    /// gradient, each tile applied to its weights as it is computed
    /// ([`kernels::gemm_tn_update`]), and the biases'.
    #[cfg(feature = "alloc")]
    fn backward_update(&self, b: Backward<'_>, u: super::LayerUpdate<'_>) {
        let n = batch_values("Dense", b.batch, OUT);
        let z: &[f32] = if A::USES_INPUT { &b.cache[..n] } else { &[] };
        let dz = &mut b.dy[..n];
        self.activation.backward(z, &b.y[..n], dz, OUT);
        let super::LayerUpdate {
            params,
            grads,
            prev,
            mut update,
        } = u;
        let (w, bias) = params[..Self::PARAMS].split_at_mut(Self::WEIGHTS);
        let (dw, db) = grads[..Self::PARAMS].split_at_mut(Self::WEIGHTS);
        let summed = match b.dx {
            Some(dx) => Self::input_gradient(w, dz, dx, b.scratch, b.batch, Some(&mut *db)),
            None => false,
        };
        let (prev_w, prev_b) = match prev {
            Some(g) => {
                let (pw, pb) = g[..Self::PARAMS].split_at(Self::WEIGHTS);
                (Some(pw), Some(pb))
            }
            None => (None, None),
        };
        let (mut update_w, mut update_b) = update.split_at(Self::WEIGHTS);
        kernels::gemm_tn_update(IN, b.batch, OUT, b.x, dz, prev_w, dw, w, &mut update_w);
        if summed {
            add_earlier(db, prev_b);
        } else {
            bias_gradient(dz, db, prev_b);
        }
        update_b.apply(bias, db);
    }
}

/// The biases' gradient: `db` = the sum of the rows of `dz` (`db.len()` values each), in
/// row order, plus `prev` when given (the gradient of earlier passes). Vectorised at the
/// kernels' level (plain additions, the same values at every level); from 16 Ki values of
/// `dz` on, the columns are split across the pool's threads (each column summed whole by
/// one thread, so the same values on any number of threads).
fn bias_gradient(dz: &[f32], db: &mut [f32], prev: Option<&[f32]>) {
    let width = db.len();
    if width == 0 {
        return;
    }
    let rows = dz.len() / width;
    // Columns in groups of 16, each summing `rows` values.
    let work = 16 * kernels::ELEMENTWISE_WORK * rows;
    kernels::par_rows(db, 16, work, &|first, part| {
        let lo = first * 16;
        let hi = lo + part.len();
        kernels::vectorized(|| {
            part.fill(0.0);
            for row in dz.chunks_exact(width) {
                for (g, &d) in part.iter_mut().zip(&row[lo..hi]) {
                    *g += d;
                }
            }
            add_earlier(part, prev.map(|p| &p[lo..hi]));
        });
    });
}

/// Adds the gradient of earlier passes, when given, to a summed gradient (after the sum, as
/// [`bias_gradient`] does).
fn add_earlier(g: &mut [f32], prev: Option<&[f32]>) {
    for (g, p) in g.iter_mut().zip(prev.unwrap_or_default()) {
        *g += *p;
    }
}

impl<const IN: usize, const OUT: usize, A: ActivationFn> Dense<IN, OUT, A> {
    /// `dx = dz Wᵀ` for `batch` samples, by the path [`input_gradient_path`](Self::input_gradient_path)
    /// chooses (dot products without room in `scratch`). With `db`, the path that transposes
    /// `dz` also sums its columns there as [`bias_gradient`] does (with no earlier gradient)
    /// and returns `true`; otherwise `db` is left as it is.
    fn input_gradient(
        w: &[f32],
        dz: &[f32],
        dx: &mut [f32],
        scratch: &mut [f32],
        batch: usize,
        db: Option<&mut [f32]>,
    ) -> bool {
        let path = Self::input_gradient_path(batch);
        let room = scratch.len() >= Self::batch_scratch(batch);
        match path {
            // dX = dZ Wᵀ as a row-major product with the transposed weights: the
            // register-blocked kernel instead of one dot product per value.
            InputGradient::TransposedWeights if room => {
                let wt = &mut scratch[..Self::WEIGHTS];
                kernels::transpose(w, IN, OUT, wt);
                kernels::gemm_nn(batch, OUT, IN, dz, wt, dx, false);
            }
            // dXᵀ = W dZᵀ: for a small batch, transposing dZ and dXᵀ moves fewer values
            // than transposing W.
            InputGradient::TransposedProduct if room => {
                let (dzt, rest) = scratch.split_at_mut(batch * OUT);
                let dxt = &mut rest[..batch * IN];
                let summed = match db {
                    Some(db) => {
                        kernels::transpose_summing(dz, batch, OUT, dzt, db);
                        true
                    }
                    None => {
                        kernels::transpose(dz, batch, OUT, dzt);
                        false
                    }
                };
                kernels::gemm_nn(IN, OUT, batch, w, dzt, dxt, false);
                kernels::transpose(dxt, IN, batch, dx);
                return summed;
            }
            _ => kernels::gemm_nt(batch, OUT, IN, dz, w, dx, false),
        }
        false
    }
}

impl<const IN: usize, const OUT: usize, A: ActivationFn> Dense<IN, OUT, A> {
    /// Whether the input gradient of `batch` samples goes through the transposed weights:
    /// a product large enough for the blocked kernel, `OUT > 1` (a single column is its own
    /// transpose) and `IN` at least one register tile wide.
    const fn transposes(batch: usize) -> bool {
        OUT > 1
            && IN >= 16
            && batch.saturating_mul(IN).saturating_mul(OUT) >= kernels::LARGE_PRODUCT
    }

    /// How the input gradient of `batch` samples is computed: dot products, or (from one
    /// register tile of samples on) the blocked kernel after transposing whichever is
    /// smaller, the weights (`IN * OUT` values) or the output gradient and the result
    /// (`batch * (IN + OUT)`). The scratch this needs never shrinks as the batch grows, so a
    /// tape warmed up on its largest batch does not grow again on a smaller one.
    const fn input_gradient_path(batch: usize) -> InputGradient {
        if !Self::transposes(batch) || batch < 16 {
            InputGradient::Dots
        } else if batch.saturating_mul(IN + OUT) < IN * OUT {
            InputGradient::TransposedProduct
        } else {
            InputGradient::TransposedWeights
        }
    }
}

/// The ways a dense layer computes its input gradient `dX = dZ Wᵀ`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum InputGradient {
    /// One dot product per value (small products).
    Dots,
    /// `dZ (Wᵀ)` with the weights transposed into scratch.
    TransposedWeights,
    /// `(W dZᵀ)ᵀ` with the output gradient and the result transposed through scratch.
    TransposedProduct,
}

/// int8: weights per output channel, the activation fused into the clamp (see
/// [`quant`](crate::quant)).
impl<const IN: usize, const OUT: usize, A: ActivationFn> Quantize for Dense<IN, OUT, A> {
    const QBYTES: usize = affine::bytes(IN, OUT);
    const ROLE: Role = Role::Affine {
        inputs: IN,
        channels: OUT,
    };

    fn fuse(&self) -> Fuse {
        Fuse::of(&self.activation)
    }

    fn preactivation(&self, params: &[f32], state: &[f32], x: &[f32], y: &mut [f32]) {
        self.logits()
            .infer(params, state, Io::Separate { x, y }, &mut []);
    }

    #[inline]
    fn infer_i8(&self, block: &[u8], io: Io<'_, i8>) {
        let (x, y) = io.split();
        let (x, y) = (&x[..IN], &mut y[..OUT]);
        let header = Header::read(block);
        let b = affine::Block::new(block, IN, OUT);
        let (zx, zy, bounds) = (
            header.input.zero_point,
            header.output.zero_point,
            b.bounds(),
        );
        // The portable loops; on x86-64 with `std`, compiled for the kernels' level too.
        crate::kernels::vectorized(|| {
            for c0 in (0..OUT).step_by(affine::CHUNK) {
                let n = affine::CHUNK.min(OUT - c0);
                let mut acc = [0i32; affine::CHUNK];
                let acc = &mut acc[..n];
                for (c, a) in acc.iter_mut().enumerate() {
                    *a = b.requant(c0 + c).0;
                }
                affine::accumulate(acc, x, zx, &b, 0, c0);
                for (c, (&a, y)) in acc.iter().zip(&mut y[c0..c0 + n]).enumerate() {
                    let (_, m, e) = b.requant(c0 + c);
                    *y = affine::output(a, m, e, zy, bounds);
                }
            }
        });
    }

    fn finish(&self, y: &mut [f32]) {
        if let Fuse::Other(_) = self.fuse() {
            self.activation.forward(y, OUT);
        }
    }

    fn check_block(&self, block: &[u8]) -> Result<(), &'static str> {
        affine::check(block, IN, OUT)
    }
}

impl<'a, const IN: usize, const OUT: usize, A: ActivationFn> LayerRef<'a, Dense<IN, OUT, A>> {
    /// The same layer without its activation, on the same parameters (see
    /// [`Dense::logits`]).
    #[must_use]
    pub fn logits(self) -> LayerRef<'a, Dense<IN, OUT>> {
        LayerRef {
            layer: self.layer.logits(),
            params: self.params,
            state: self.state,
        }
    }

    /// The weights as an `OUT × IN` matrix (PyTorch's orientation: `y = W x + b`).
    #[must_use]
    pub fn weight(&self) -> SMatrixView<'a, f32, OUT, IN> {
        SMatrixView::<f32, OUT, IN>::from_slice(&self.params[..IN * OUT])
    }

    /// The biases.
    #[must_use]
    pub fn bias(&self) -> SVectorView<'a, f32, OUT> {
        SVectorView::<f32, OUT>::from_slice(&self.params[IN * OUT..])
    }
}

impl<const IN: usize, const OUT: usize, A: ActivationFn> LayerMut<'_, Dense<IN, OUT, A>> {
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
    use super::Dense;
    use crate::activations::{Linear, Relu};
    use crate::layers::{Forward, Io, Layer, LayerRef, Pass};
    use crate::{rng::Rng, Vector};
    use std::vec::Vec;

    #[test]
    fn batch_forward_matches_single_sample_inference_and_the_matrix_view() {
        let layer = Dense::<5, 3, Relu>::new(Relu);
        let mut rng = Rng::new(4);
        let mut p = std::vec![0.0; 18];
        layer.init(&mut p, &mut [], &mut rng);
        for b in &mut p[15..] {
            *b = rng.uniform(-1.0, 1.0);
        }
        let x: Vec<f32> = (0..10).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let mut y = std::vec![0.0; 6];
        layer.forward(
            Forward {
                params: &p,
                state: &mut [],
                x: &x,
                y: &mut y,
                cache: &mut [],
                scratch: &mut [],
                batch: 2,
            },
            &mut Pass::Eval,
        );
        let view = LayerRef::new(layer, &p, &[]);
        for s in 0..2 {
            let xs = &x[s * 5..s * 5 + 5];
            let mut one = [0.0; 3];
            layer.infer(&p, &[], Io::Separate { x: xs, y: &mut one }, &mut []);
            let z = view.weight() * Vector::<5>::from_column_slice(xs) + view.bias();
            for o in 0..3 {
                assert!((one[o] - y[s * 3 + o]).abs() < 1e-6);
                assert!((one[o] - z[o].max(0.0)).abs() < 1e-6);
            }
        }
    }

    /// The input gradient `dX = dY Wᵀ` against a naive f64 sum, below and above the size at
    /// which it goes through the transposed weights (with and without the scratch for them).
    #[test]
    fn input_gradient_matches_a_naive_product_on_both_paths() {
        fn run<const IN: usize, const OUT: usize>(batch: usize, with_scratch: bool) {
            let layer = Dense::<IN, OUT>::new(Linear);
            let mut rng = Rng::new(9);
            let p: Vec<f32> = (0..IN * OUT + OUT)
                .map(|_| rng.uniform(-1.0, 1.0))
                .collect();
            let x: Vec<f32> = (0..batch * IN).map(|_| rng.uniform(-1.0, 1.0)).collect();
            let dy: Vec<f32> = (0..batch * OUT).map(|_| rng.uniform(-1.0, 1.0)).collect();
            let y = std::vec![0.0; batch * OUT];
            let mut scratch = std::vec![0.0; if with_scratch { Dense::<IN, OUT>::batch_scratch(batch) } else { 0 }];
            let mut dx = std::vec![f32::NAN; batch * IN];
            let mut grads = std::vec![f32::NAN; IN * OUT + OUT];
            layer.backward(crate::layers::Backward {
                params: &p,
                state: &[],
                x: &x,
                y: &y,
                cache: &[],
                dy: &mut dy.clone(),
                dx: Some(&mut dx),
                grads: Some(&mut grads),
                scratch: &mut scratch,
                batch,
                training: true,
            });
            // The biases' gradient, whichever path summed it (the transpose of dZ on the
            // transposed product's), bit for bit the sum of the rows in order.
            let mut want = std::vec![0.0f32; OUT];
            for row in dy.chunks_exact(OUT) {
                for (w, &d) in want.iter_mut().zip(row) {
                    *w += d;
                }
            }
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(
                bits(&grads[IN * OUT..]),
                bits(&want),
                "{IN}x{OUT} batch {batch}: db"
            );
            for s in 0..batch {
                for i in 0..IN {
                    let naive: f64 = (0..OUT)
                        .map(|o| f64::from(dy[s * OUT + o]) * f64::from(p[i * OUT + o]))
                        .sum();
                    let got = f64::from(dx[s * IN + i]);
                    assert!(
                        (got - naive).abs() < 1e-4,
                        "{IN}x{OUT} batch {batch}: {got} vs {naive}"
                    );
                }
            }
        }
        const { assert!(!Dense::<20, 8>::transposes(3)) };
        run::<20, 8>(3, true);
        const { assert!(Dense::<40, 48>::transposes(64) && !Dense::<40, 48>::transposes(1)) };
        assert!(
            Dense::<40, 48>::input_gradient_path(64) == super::InputGradient::TransposedWeights
        );
        run::<40, 48>(64, true);
        run::<40, 48>(64, false);
        run::<37, 53>(61, true);
        // A small batch through wide layers: dZ and dXᵀ are transposed instead.
        assert!(
            Dense::<200, 120>::input_gradient_path(20) == super::InputGradient::TransposedProduct
        );
        run::<200, 120>(20, true);
        run::<200, 120>(20, false);
        run::<130, 97>(17, true);
        // Below a tile of samples, dot products (and no scratch).
        assert!(Dense::<784, 128>::input_gradient_path(8) == super::InputGradient::Dots);
        run::<784, 128>(8, true);
    }

    /// The scratch of a larger batch is never smaller: a warm tape never grows again.
    #[test]
    fn scratch_never_shrinks_as_the_batch_grows() {
        fn run<const IN: usize, const OUT: usize>() {
            for batch in 1..400 {
                assert!(
                    Dense::<IN, OUT>::batch_scratch(batch)
                        <= Dense::<IN, OUT>::batch_scratch(batch + 1),
                    "{IN}x{OUT} at batch {batch}"
                );
            }
        }
        run::<784, 128>();
        run::<784, 512>();
        run::<40, 48>();
        run::<200, 120>();
        run::<512, 2>();
    }

    #[test]
    fn glorot_limit_and_zero_bias() {
        let mut p = std::vec![0.0; Dense::<20, 64>::PARAMS];
        Dense::<20, 64>::new(Linear).init(&mut p, &mut [], &mut Rng::new(1));
        let limit = (6.0f32 / 84.0).sqrt();
        assert!(p[..1280].iter().all(|w| w.abs() <= limit));
        assert!(p[..1280].iter().any(|w| w.abs() > 0.9 * limit));
        assert!(p[1280..].iter().all(|&b| b == 0.0));
    }

    #[cfg(feature = "std")]
    #[test]
    fn bias_gradient_sums_each_column_in_row_order_on_any_number_of_threads() {
        // Columns split across threads from 16 Ki values on: 64 x 520 (a partial group of
        // 16 columns at the end) and 300 x 3 (too small to split), with and without the
        // gradient of an earlier pass; the reference sums rows 0, 1, ... in f32 as the
        // single-threaded loop did.
        for (rows, width) in [(64usize, 520usize), (300, 3)] {
            let mut rng = Rng::new(rows as u64);
            let dz: Vec<f32> = (0..rows * width).map(|_| rng.normal() * 3.0).collect();
            let prev: Vec<f32> = (0..width).map(|_| rng.normal()).collect();
            for with_prev in [false, true] {
                let mut want = std::vec![0.0f32; width];
                for row in dz.chunks_exact(width) {
                    for (w, &d) in want.iter_mut().zip(row) {
                        *w += d;
                    }
                }
                if with_prev {
                    for (w, p) in want.iter_mut().zip(&prev) {
                        *w += *p;
                    }
                }
                for threads in [1, 2] {
                    let pool = rayon::ThreadPoolBuilder::new()
                        .num_threads(threads)
                        .build()
                        .unwrap();
                    let mut db = std::vec![f32::NAN; width];
                    pool.install(|| {
                        super::bias_gradient(&dz, &mut db, with_prev.then_some(&prev[..]));
                    });
                    assert!(
                        db.iter()
                            .zip(&want)
                            .all(|(a, b)| a.to_bits() == b.to_bits()),
                        "{rows} x {width}, prev {with_prev}, {threads} threads"
                    );
                }
            }
        }
    }

    #[test]
    fn parameter_counts_are_checked() {
        assert_eq!(super::dense_params(20, 64), Some(1344));
        assert_eq!(
            super::dense_params(usize::MAX, 3),
            Some(3 * usize::MAX as u128 + 3)
        );
        assert_eq!(super::dense_flops(20, 64), Some(2560));
    }
}
