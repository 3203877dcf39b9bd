//! Loss and metrics on data, in inference mode: [`Trainer::evaluate`], and the validation
//! inside `fit`.

use alloc::vec::Vec;

use super::batch::Totals;
use super::check::check_data;
use super::trainer::Trainer;
use crate::error::{Error, Result};
use crate::loss::LossFn;
use crate::model::Model;
use crate::optim::Optimizer;

/// Loss and metrics of [`Trainer::evaluate`].
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    /// Mean loss over the samples.
    pub loss: f32,
    /// `(name, value)` of each metric.
    pub metrics: Vec<(&'static str, f32)>,
}

impl Evaluation {
    /// A metric by name, or `"loss"`.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<f32> {
        if name == "loss" {
            return Some(self.loss);
        }
        self.metrics
            .iter()
            .find(|(n, _)| *n == name)
            .map(|&(_, v)| v)
    }
}

impl<M: Model, O: Optimizer, L: LossFn> Trainer<M, O, L> {
    /// Loss and metrics on validated data, in batches of `batch_size`.
    ///
    /// # Errors
    /// [`Error::NonFiniteLoss`] naming `what` and the first sample whose loss is not finite.
    pub(super) fn evaluate_unchecked(
        &mut self,
        x: &[f32],
        y: &[f32],
        batch_size: usize,
        what: &'static str,
    ) -> Result<Evaluation> {
        let tw = self.loss.target_width(M::OUTPUT);
        let n = x.len() / M::INPUT;
        let mut totals = core::mem::take(&mut self.eval_totals);
        totals.reset(self.metrics.len());
        let mut start = 0;
        let mut bad = None;
        while start < n {
            let b = batch_size.min(n - start);
            let (xs, ys) = (
                &x[start * M::INPUT..(start + b) * M::INPUT],
                &y[start * tw..(start + b) * tw],
            );
            if !self
                .run_batch(xs, ys, None, b, None, false, &mut totals)
                .is_finite()
            {
                // The first sample of the batch whose own loss is not finite.
                let mut one = Totals::default();
                let sample = (start..start + b).find(|&i| {
                    let (xi, yi) = (
                        &x[i * M::INPUT..(i + 1) * M::INPUT],
                        &y[i * tw..(i + 1) * tw],
                    );
                    !self
                        .run_batch(xi, yi, None, 1, None, false, &mut one)
                        .is_finite()
                });
                bad = Some(sample.unwrap_or(start));
                break;
            }
            start += b;
        }
        let metrics = (0..self.metrics.len())
            .map(|i| (self.metric_name(i), totals.value(i, self.metrics[i])))
            .collect();
        let loss = totals.mean_loss();
        self.eval_totals = totals;
        match bad {
            Some(sample) => Err(Error::NonFiniteLoss { what, sample }),
            None => Ok(Evaluation { loss, metrics }),
        }
    }

    /// Loss and metrics on `x`/`y` in inference mode (Keras' `evaluate`).
    ///
    /// # Errors
    /// Invalid settings or data, as for [`fit`](Self::fit), and [`Error::NonFiniteLoss`]
    /// naming the first sample whose loss is NaN or infinite (outputs that overflow, or
    /// weights that are not finite): never a NaN mean.
    pub fn evaluate(&mut self, x: &[f32], y: &[f32]) -> Result<Evaluation> {
        self.prepare()?;
        check_data(&self.model, x, y, &self.loss)?;
        self.evaluate_unchecked(x, y, 256, "x")
    }
}
