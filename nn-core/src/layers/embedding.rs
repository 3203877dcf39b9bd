//! Embedding: each token id of a sequence replaced by a learned vector (Keras' `Embedding`;
//! PyTorch's `nn.Embedding`).
//!
//! The input is `STEPS` token ids, given as `f32` values (`3.0` is id 3); the output is a
//! sequence of `STEPS` vectors of `OUTPUT_DIM` values, `[STEPS][OUTPUT_DIM]`:
//!
//! ```text
//! y[t] = W[x[t]]
//! ```
//!
//! The parameters are the table `W`, `INPUT_DIM` rows of `OUTPUT_DIM` values: PyTorch's
//! `weight` `[num_embeddings, embedding_dim]`, in the same layout.
//!
//! Ids are checked where data enters: a value that is not a whole number in
//! `0..INPUT_DIM` (negative, fractional, too large, NaN or infinite) is rejected by
//! [`check_input`](Layer::check_input), which the model's `try_forward` and the training
//! and evaluation APIs call first, with
//! [`Error::InvalidInput`](crate::Error::InvalidInput) naming the value and its index.
//! Inference itself never fails and never panics: a value that is not an id gives a vector
//! of zeros, and receives no gradient.
//!
//! Backward: the gradient of row `i` of the table is the sum of the output gradients of
//! every step whose id is `i` (a repeated id accumulates). Ids are not differentiable: an
//! input gradient, when asked, is zero.
//!
//! ```
//! use nn_core::layers::{Embedding, Io, Layer};
//! // 3 ids, vectors of 2, a sequence of 2 steps.
//! let table = [0.0, 0.5,   1.0, 1.5,   2.0, 2.5];
//! let mut y = [0.0; 4];
//! Embedding::<3, 2, 2>.infer(&table, &[], Io::Separate { x: &[2.0, 0.0], y: &mut y }, &mut []);
//! assert_eq!(y, [2.0, 2.5, 0.0, 0.5]);
//! assert!(Embedding::<3, 2, 2>.check_input(&[2.0, 3.0]).is_err());
//! ```

use super::contract::{batch_values, product, to_usize};
use super::{Backward, Forward, Io, Layer, LayerMut, LayerRef, Pass, Tensor, TensorLayout};
use crate::error::{Error, Result};
use crate::rng::Rng;
use nalgebra::{SVectorView, SVectorViewMut};

/// Parameters of an embedding of `input_dim` ids into vectors of `output_dim` values, or
/// `None` if the count overflows.
#[must_use]
pub const fn embedding_params(input_dim: usize, output_dim: usize) -> Option<u128> {
    product(&[input_dim, output_dim])
}

/// The id a value stands for: a whole number below `n`, or `None` (negative, fractional,
/// too large, NaN or infinite).
#[inline]
#[must_use]
pub fn token_id(value: f32, n: usize) -> Option<usize> {
    if value.is_nan() || value < 0.0 {
        return None;
    }
    // Saturates for values beyond `usize` (infinity included); those are not below `n`.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let id = value as usize;
    #[allow(clippy::cast_precision_loss)]
    let whole = id as f32 == value;
    (whole && id < n).then_some(id)
}

/// An embedding of `INPUT_DIM` token ids into vectors of `OUTPUT_DIM` values, on sequences of
/// `STEPS` ids.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Embedding<const INPUT_DIM: usize, const OUTPUT_DIM: usize, const STEPS: usize>;

impl<const INPUT_DIM: usize, const OUTPUT_DIM: usize, const STEPS: usize>
    Embedding<INPUT_DIM, OUTPUT_DIM, STEPS>
{
    /// Keras' default initialisation of the table: uniform in `±0.05`.
    pub const INIT_LIMIT: f32 = 0.05;

    /// Looks up the ids `x` (whole samples) into `y`: one row of the table per id, zeros for
    /// a value that is not an id.
    fn look_up(table: &[f32], x: &[f32], y: &mut [f32]) {
        for (&v, row) in x.iter().zip(y.chunks_exact_mut(OUTPUT_DIM)) {
            match token_id(v, INPUT_DIM) {
                Some(id) => row.copy_from_slice(&table[id * OUTPUT_DIM..][..OUTPUT_DIM]),
                None => row.fill(0.0),
            }
        }
    }
}

impl<const INPUT_DIM: usize, const OUTPUT_DIM: usize, const STEPS: usize> Layer
    for Embedding<INPUT_DIM, OUTPUT_DIM, STEPS>
{
    const KIND: &'static str = "Embedding";
    const INPUT: usize = STEPS;
    const OUTPUT: usize = to_usize(product(&[STEPS, OUTPUT_DIM]));
    const PARAMS: usize = to_usize(embedding_params(INPUT_DIM, OUTPUT_DIM));
    const IDS: Option<usize> = Some(INPUT_DIM);
    const TENSORS: &'static [Tensor] = &[Tensor {
        suffix: "weight",
        shape: &[INPUT_DIM, OUTPUT_DIM],
        layout: TensorLayout::Same,
        offset: 0,
        state: false,
        input_axis: None,
    }];

    /// Keras' default: uniform in `±0.05`.
    fn init(&self, params: &mut [f32], _state: &mut [f32], rng: &mut Rng) {
        for v in &mut params[..Self::PARAMS] {
            *v = rng.uniform(-Self::INIT_LIMIT, Self::INIT_LIMIT);
        }
    }

    /// Every value of `x` must be a token id: a whole number in `0..INPUT_DIM`.
    fn check_input(&self, x: &[f32]) -> Result<()> {
        match x.iter().position(|&v| token_id(v, INPUT_DIM).is_none()) {
            None => Ok(()),
            Some(index) => Err(Error::InvalidInput {
                layer: "Embedding",
                index,
                value: x[index],
                expected: "token ids, whole numbers from 0",
                limit: INPUT_DIM,
            }),
        }
    }

    fn infer(&self, params: &[f32], _state: &[f32], io: Io<'_>, _scratch: &mut [f32]) {
        let (x, y) = io.split();
        Self::look_up(params, &x[..STEPS], &mut y[..Self::OUTPUT]);
    }

    fn forward(&self, f: Forward<'_>, _pass: &mut Pass<'_>) {
        let (ids, values) = (
            batch_values("Embedding", f.batch, STEPS),
            batch_values("Embedding", f.batch, Self::OUTPUT),
        );
        Self::look_up(f.params, &f.x[..ids], &mut f.y[..values]);
    }

    fn backward(&self, b: Backward<'_>) {
        let (ids, values) = (
            batch_values("Embedding", b.batch, STEPS),
            batch_values("Embedding", b.batch, Self::OUTPUT),
        );
        if let Some(grads) = b.grads {
            let grads = &mut grads[..Self::PARAMS];
            grads.fill(0.0);
            for (&v, dy) in b.x[..ids]
                .iter()
                .zip(b.dy[..values].chunks_exact(OUTPUT_DIM))
            {
                if let Some(id) = token_id(v, INPUT_DIM) {
                    let row = &mut grads[id * OUTPUT_DIM..][..OUTPUT_DIM];
                    for (g, &d) in row.iter_mut().zip(dy) {
                        *g += d;
                    }
                }
            }
        }
        if let Some(dx) = b.dx {
            dx[..ids].fill(0.0);
        }
    }
}

impl<'a, const INPUT_DIM: usize, const OUTPUT_DIM: usize, const STEPS: usize>
    LayerRef<'a, Embedding<INPUT_DIM, OUTPUT_DIM, STEPS>>
{
    /// The vector of token `id`: row `id` of PyTorch's `weight`.
    ///
    /// # Panics
    /// If `id >= INPUT_DIM`.
    #[must_use]
    pub fn vector(&self, id: usize) -> SVectorView<'a, f32, OUTPUT_DIM> {
        assert!(id < INPUT_DIM, "token id {id} outside 0..{INPUT_DIM}");
        SVectorView::<f32, OUTPUT_DIM>::from_slice(&self.params[id * OUTPUT_DIM..][..OUTPUT_DIM])
    }

    /// The whole table, `[INPUT_DIM][OUTPUT_DIM]` flattened (PyTorch's `weight`).
    #[must_use]
    pub fn weight(&self) -> &'a [f32] {
        self.params
    }
}

impl<const INPUT_DIM: usize, const OUTPUT_DIM: usize, const STEPS: usize>
    LayerMut<'_, Embedding<INPUT_DIM, OUTPUT_DIM, STEPS>>
{
    /// The vector of token `id`, mutably.
    ///
    /// # Panics
    /// If `id >= INPUT_DIM`.
    #[must_use]
    pub fn vector_mut(&mut self, id: usize) -> SVectorViewMut<'_, f32, OUTPUT_DIM> {
        assert!(id < INPUT_DIM, "token id {id} outside 0..{INPUT_DIM}");
        SVectorViewMut::<f32, OUTPUT_DIM>::from_slice(
            &mut self.params[id * OUTPUT_DIM..][..OUTPUT_DIM],
        )
    }

    /// The whole table, mutably.
    #[must_use]
    pub fn weight_mut(&mut self) -> &mut [f32] {
        self.params
    }
}

#[cfg(test)]
mod tests {
    use super::{token_id, Embedding};
    use crate::layers::{Backward, Forward, Io, Layer, LayerRef, Pass};
    use crate::rng::Rng;
    use crate::Error;

    type E = Embedding<5, 3, 4>;

    #[test]
    fn ids_are_whole_numbers_in_range() {
        assert_eq!(token_id(0.0, 5), Some(0));
        assert_eq!(token_id(4.0, 5), Some(4));
        assert_eq!(token_id(-0.0, 5), Some(0));
        for bad in [
            5.0,
            -1.0,
            2.5,
            0.999_999,
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            1e30,
        ] {
            assert_eq!(token_id(bad, 5), None, "{bad}");
        }
        // Above 2^24 every f32 is whole; still compared against the size exactly.
        assert_eq!(token_id(16_777_216.0, 16_777_217), Some(16_777_216));
        assert_eq!(token_id(16_777_216.0, 16_777_216), None);
    }

    #[test]
    fn check_input_names_the_first_bad_value() {
        assert!(E::default().check_input(&[0.0, 4.0, 1.0, 3.0]).is_ok());
        let err = E::default()
            .check_input(&[0.0, 4.0, 5.0, -1.0])
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidInput { layer: "Embedding", index: 2, value, limit: 5, .. } if value == 5.0),
            "{err:?}"
        );
        let text = std::format!("{err}");
        assert!(text.contains("input value 5 at index 2"), "{text}");
        assert!(text.contains("below 5"), "{text}");
        let err = E::default().check_input(&[f32::NAN]).unwrap_err();
        assert!(matches!(err, Error::InvalidInput { index: 0, .. }));
    }

    #[test]
    fn forward_looks_up_rows_and_backward_accumulates_repeated_ids() {
        let table: std::vec::Vec<f32> = (0..15).map(|v| v as f32).collect();
        // Two samples; id 1 appears three times, id 4 twice; 7 and 0.5 are not ids.
        let x = [1.0, 4.0, 1.0, 0.0, 4.0, 7.0, 1.0, 0.5];
        let mut y = [f32::NAN; 24];
        E::default().forward(
            Forward {
                params: &table,
                state: &mut [],
                x: &x,
                y: &mut y,
                cache: &mut [],
                scratch: &mut [],
                batch: 2,
            },
            &mut Pass::Eval,
        );
        assert_eq!(
            &y[..12],
            &[3., 4., 5., 12., 13., 14., 3., 4., 5., 0., 1., 2.]
        );
        assert_eq!(
            &y[12..],
            &[12., 13., 14., 0., 0., 0., 3., 4., 5., 0., 0., 0.]
        );
        let mut one = [f32::NAN; 12];
        E::default().infer(
            &table,
            &[],
            Io::Separate {
                x: &x[4..],
                y: &mut one,
            },
            &mut [],
        );
        assert_eq!(one, y[12..]);

        let dy: std::vec::Vec<f32> = (0..24).map(|v| 1.0 + v as f32).collect();
        let (mut grads, mut dx) = ([f32::NAN; 15], [f32::NAN; 8]);
        E::default().backward(Backward {
            params: &table,
            state: &[],
            x: &x,
            y: &y,
            cache: &[],
            dy: &mut dy.clone(),
            dx: Some(&mut dx),
            grads: Some(&mut grads),
            scratch: &mut [],
            batch: 2,
            training: false,
        });
        // Row 1: steps 0, 2 and 6; row 4: steps 1 and 4; row 0: step 3; rows 2, 3: none.
        let row = |steps: &[usize], j: usize| steps.iter().map(|&t| dy[t * 3 + j]).sum::<f32>();
        for j in 0..3 {
            assert_eq!(grads[j], row(&[3], j));
            assert_eq!(grads[3 + j], row(&[0, 2, 6], j));
            assert_eq!(grads[6 + j], 0.0);
            assert_eq!(grads[9 + j], 0.0);
            assert_eq!(grads[12 + j], row(&[1, 4], j));
        }
        assert_eq!(dx, [0.0; 8]);
    }

    /// The table gradient against finite differences of `sum(y * r)`.
    #[cfg(feature = "alloc")]
    #[test]
    fn table_gradient_matches_finite_differences() {
        type Big = Embedding<6, 4, 5>;
        let mut rng = Rng::new(3);
        let mut table = std::vec![0.0; Big::PARAMS];
        Big::default().init(&mut table, &mut [], &mut rng);
        assert!(table.iter().all(|v| v.abs() <= 0.05));
        assert!(table.iter().any(|v| v.abs() > 0.04));
        let batch = 3;
        let x: std::vec::Vec<f32> = (0..batch * 5).map(|_| rng.below(6) as f32).collect();
        let r: std::vec::Vec<f32> = (0..batch * Big::OUTPUT)
            .map(|_| rng.uniform(-1.0, 1.0))
            .collect();
        let forward = |p: &[f32]| {
            let mut y = std::vec![0.0; batch * Big::OUTPUT];
            Big::default().forward(
                Forward {
                    params: p,
                    state: &mut [],
                    x: &x,
                    y: &mut y,
                    cache: &mut [],
                    scratch: &mut [],
                    batch,
                },
                &mut Pass::Eval,
            );
            y.iter()
                .zip(&r)
                .map(|(y, r)| f64::from(*y) * f64::from(*r))
                .sum::<f64>()
        };
        let mut grads = std::vec![0.0; Big::PARAMS];
        Big::default().backward(Backward {
            params: &table,
            state: &[],
            x: &x,
            y: &[],
            cache: &[],
            dy: &mut r.clone(),
            dx: None,
            grads: Some(&mut grads),
            scratch: &mut [],
            batch,
            training: false,
        });
        let noise = f64::from(f32::EPSILON) * 100.0;
        let report =
            crate::gradcheck::check(&table, &grads, 0..Big::PARAMS, 1e-2, 1e-3, noise, forward);
        assert!(report.passed(), "{report}");
        let view = LayerRef::new(Big::default(), &table, &[]);
        assert_eq!(view.vector(2)[3], table[2 * 4 + 3]);
    }
}
