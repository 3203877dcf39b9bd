//! `fit`, `evaluate` and `predict` on a [`Dataset`], whose samples carry their shape, and
//! class predictions.

use alloc::vec::Vec;

use super::evaluate::Evaluation;
use super::fit::Fit;
use super::history::History;
use super::trainer::Trainer;
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::loss::LossFn;
use crate::model::Model;
use crate::optim::Optimizer;

/// Checks that the samples of `data` have as many values as the model's input.
pub(super) fn check_shape<M: Model>(data: &Dataset) -> Result<()> {
    if data.features() == M::INPUT {
        Ok(())
    } else {
        Err(Error::DatasetShape {
            model: M::NAME,
            expected: M::INPUT_SHAPE,
            found: data.shape().to_vec(),
        })
    }
}

/// The class of each row of `outputs` (`width` per row): the argmax, or for a single output
/// whether it is above 0.5 (Keras' `predict` then `argmax` or `> 0.5`).
#[must_use]
pub fn classes_of(outputs: &[f32], width: usize) -> Vec<usize> {
    if width == 1 {
        return outputs.iter().map(|&p| usize::from(p > 0.5)).collect();
    }
    outputs
        .chunks_exact(width)
        .map(|row| {
            let mut best = 0;
            for (i, &v) in row.iter().enumerate() {
                if v > row[best] {
                    best = i;
                }
            }
            best
        })
        .collect()
}

impl<M: Model, O: Optimizer, L: LossFn> Trainer<M, O, L> {
    /// [`fit`](Self::fit) on a [`Dataset`].
    ///
    /// # Errors
    /// [`Error::DatasetShape`] when its samples do not have the model's input size, and
    /// everything [`fit`](Self::fit) returns.
    pub fn fit_dataset(&mut self, data: &Dataset, fit: Fit<'_>) -> Result<History> {
        check_shape::<M>(data)?;
        self.fit(data.x(), data.y(), fit)
    }

    /// [`evaluate`](Self::evaluate) on a [`Dataset`].
    ///
    /// # Errors
    /// [`Error::DatasetShape`], and everything [`evaluate`](Self::evaluate) returns.
    pub fn evaluate_dataset(&mut self, data: &Dataset) -> Result<Evaluation> {
        check_shape::<M>(data)?;
        self.evaluate(data.x(), data.y())
    }

    /// [`predict`](Self::predict) on the samples of a [`Dataset`].
    ///
    /// # Errors
    /// [`Error::DatasetShape`], and everything [`predict`](Self::predict) returns.
    pub fn predict_dataset(&mut self, data: &Dataset) -> Result<Vec<f32>> {
        check_shape::<M>(data)?;
        self.predict(data.x())
    }

    /// The predicted class of every sample of `x`: the argmax of the outputs, or for a
    /// single output whether it is above 0.5.
    ///
    /// # Errors
    /// As [`predict`](Self::predict).
    pub fn predict_classes(&mut self, x: &[f32]) -> Result<Vec<usize>> {
        Ok(classes_of(&self.predict(x)?, M::OUTPUT))
    }
}
