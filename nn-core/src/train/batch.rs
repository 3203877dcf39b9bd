//! One batch on one thread: forward pass, loss, metric counts and, when learning, the
//! backward pass; and the running totals of an epoch or an evaluation.

use alloc::vec::Vec;

use crate::activations::ActivationFn;
use crate::layers::Pass;
use crate::loss::LossFn;
use crate::metrics::{Metric, Tally};
use crate::model::Model;
use crate::rng::Rng;
use crate::tape::Tape;

/// Running totals of loss and metric counts over an epoch or an evaluation.
#[derive(Clone, Default)]
pub(super) struct Totals {
    pub(super) loss: f64,
    pub(super) samples: usize,
    /// What each metric accumulated.
    pub(super) tallies: Vec<Tally>,
}

impl Totals {
    /// Zero totals for `metrics` metrics; allocates only when `metrics` exceeds every count
    /// seen before.
    pub(super) fn reset(&mut self, metrics: usize) {
        self.loss = 0.0;
        self.samples = 0;
        self.tallies.resize_with(metrics, Tally::default);
        for t in &mut self.tallies {
            t.reset();
        }
    }
    #[allow(clippy::cast_precision_loss)]
    pub(super) fn mean_loss(&self) -> f32 {
        (self.loss / self.samples.max(1) as f64) as f32
    }
    /// The value of metric `i`, which is `metric`.
    pub(super) fn value(&self, i: usize, metric: Metric) -> f32 {
        metric.result(&self.tallies[i])
    }
    pub(super) fn merge(&mut self, other: &Self) {
        self.loss += other.loss;
        self.samples += other.samples;
        for (total, tally) in self.tallies.iter_mut().zip(&other.tallies) {
            total.merge(tally);
        }
    }
}

/// The buffers one thread needs for a forward and backward pass.
pub(super) struct Worker {
    pub(super) tape: Tape,
    pub(super) grads: Vec<f32>,
    pub(super) outputs: Vec<f32>,
    pub(super) d_logits: Vec<f32>,
    pub(super) totals: Totals,
}

impl Worker {
    pub(super) fn new(params: usize) -> Self {
        Self {
            tape: Tape::new(),
            grads: alloc::vec![0.0; params],
            outputs: Vec::new(),
            d_logits: Vec::new(),
            totals: Totals::default(),
        }
    }

    /// Forward pass, loss and metric counts (into `self.totals`, reset first) on `batch`
    /// samples, then (when `learn`) the backward pass. Returns the mean loss; when it is not
    /// finite, nothing else is done.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn run<M: Model, L: LossFn>(
        &mut self,
        model: &M,
        loss: &L,
        metrics: &[Metric],
        x: &[f32],
        y: &[f32],
        batch: usize,
        dropout: Option<&mut Rng>,
        learn: bool,
    ) -> f32 {
        self.totals.reset(metrics.len());
        let pass = match dropout {
            Some(rng) => Pass::Train(rng),
            None => Pass::Eval,
        };
        let logits = model.forward_batch(&mut self.tape, x, batch, pass);
        self.outputs.clear();
        self.outputs.extend_from_slice(logits);
        M::OUTPUT_ACTIVATION.forward(&mut self.outputs, M::OUTPUT);
        // Gradients only when learning; evaluation needs the loss alone.
        let value = if learn {
            self.d_logits.resize(batch * M::OUTPUT, 0.0);
            loss.forward_backward(
                &M::OUTPUT_ACTIVATION,
                logits,
                &self.outputs,
                y,
                M::OUTPUT,
                &mut self.d_logits,
            )
        } else {
            loss.value(&M::OUTPUT_ACTIVATION, logits, &self.outputs, y, M::OUTPUT)
        };
        if !value.is_finite() {
            return value;
        }
        let t = &mut self.totals;
        t.loss += f64::from(value) * batch as f64;
        t.samples += batch;
        let width = loss.target_width(M::OUTPUT);
        for (tally, m) in t.tallies.iter_mut().zip(metrics) {
            m.update(tally, &self.outputs, &y[..batch * width], M::OUTPUT, None);
        }
        if learn {
            model.backward_batch(
                &mut self.tape,
                x,
                &mut self.d_logits,
                Some(&mut self.grads),
                None,
            );
        }
        value
    }
}
