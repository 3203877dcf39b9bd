//! One batch on one thread: forward pass, loss, metric counts and, when learning, the
//! backward pass; and the running totals of an epoch or an evaluation.

use alloc::vec::Vec;

use crate::activations::ActivationFn;
use crate::layers::Pass;
use crate::loss::LossFn;
use crate::metrics::Metric;
use crate::model::Model;
use crate::rng::Rng;
use crate::tape::Tape;

/// Running totals of loss and metric counts over an epoch or an evaluation.
#[derive(Clone, Default)]
pub(super) struct Totals {
    pub(super) loss: f64,
    pub(super) samples: usize,
    /// `(correct, possible)` counts of each metric.
    pub(super) counts: Vec<(usize, usize)>,
}

impl Totals {
    /// Zero totals for `metrics` metrics; allocates only when `metrics` exceeds every count
    /// seen before.
    pub(super) fn reset(&mut self, metrics: usize) {
        self.loss = 0.0;
        self.samples = 0;
        self.counts.clear();
        self.counts.resize(metrics, (0, 0));
    }
    #[allow(clippy::cast_precision_loss)]
    pub(super) fn mean_loss(&self) -> f32 {
        (self.loss / self.samples.max(1) as f64) as f32
    }
    #[allow(clippy::cast_precision_loss)]
    pub(super) fn rate(&self, i: usize) -> f32 {
        let (correct, possible) = self.counts[i];
        correct as f32 / possible.max(1) as f32
    }
    pub(super) fn merge(&mut self, other: &Self) {
        self.loss += other.loss;
        self.samples += other.samples;
        for (total, count) in self.counts.iter_mut().zip(&other.counts) {
            total.0 += count.0;
            total.1 += count.1;
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
        for (count, m) in t.counts.iter_mut().zip(metrics) {
            count.0 += m.correct(&self.outputs, &y[..batch * width], M::OUTPUT);
            count.1 += m.max_correct(batch, M::OUTPUT);
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
