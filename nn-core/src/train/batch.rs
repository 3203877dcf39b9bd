//! One batch on one thread: forward pass, loss, metric counts and, when learning, the
//! backward pass; and the running totals of an epoch or an evaluation.

use alloc::vec::Vec;

use crate::activations::ActivationFn;
use crate::layers::Pass;
use crate::loss::LossFn;
use crate::metrics::{Metric, Tally};
use crate::model::Model;
use crate::optim::Optimizer;
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

    /// Forward pass, loss and metric tallies (into `self.totals`, reset first) on `batch`
    /// samples, with (when `learn`) the gradient of the loss for [`learn`](Self::learn). With per-sample `weights`, the loss
    /// is Keras' weighted mean `sum_i w_i l_i / batch` and its gradient that of it; the
    /// metrics flagged in `metrics.1` are weighted too. Returns the loss; when it is not
    /// finite, nothing else is done.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn run<M: Model, L: LossFn>(
        &mut self,
        model: &M,
        loss: &L,
        (metrics, weighted): (&[Metric], &[bool]),
        (x, y, weights): (&[f32], &[f32], Option<&[f32]>),
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
        let width = loss.target_width(M::OUTPUT);
        // Gradients only when learning; evaluation needs the loss alone.
        if learn {
            self.d_logits.resize(batch * M::OUTPUT, 0.0);
        }
        let value = match weights {
            None if learn => loss.forward_backward(
                &M::OUTPUT_ACTIVATION,
                logits,
                &self.outputs,
                y,
                M::OUTPUT,
                &mut self.d_logits,
            ),
            None => loss.value(&M::OUTPUT_ACTIVATION, logits, &self.outputs, y, M::OUTPUT),
            Some(w) => weighted_loss(
                loss,
                (logits, &self.outputs, y),
                w,
                (M::OUTPUT, width),
                learn.then_some(&mut self.d_logits[..]),
                &M::OUTPUT_ACTIVATION,
            ),
        };
        if !value.is_finite() {
            return value;
        }
        let t = &mut self.totals;
        t.loss += f64::from(value) * batch as f64;
        t.samples += batch;
        for ((tally, m), &w) in t.tallies.iter_mut().zip(metrics).zip(weighted) {
            let w = if w { weights } else { None };
            m.update(tally, &self.outputs, &y[..batch * width], M::OUTPUT, w);
        }
        value
    }

    /// The backward pass after [`run`](Self::run) with `learn` on the same `x`, and the
    /// optimizer's step: during the backward pass, layer by layer, when the optimizer
    /// supports it ([`Optimizer::begin_update`]), else after it.
    pub(super) fn learn<M: Model, O: Optimizer + ?Sized>(
        &mut self,
        model: &mut M,
        optimizer: &mut O,
        x: &[f32],
    ) {
        let (tape, d_logits, grads) = (&mut self.tape, &mut self.d_logits, &mut self.grads);
        match optimizer.begin_update(M::PARAMS) {
            Some(update) => model.backward_update(tape, x, d_logits, None, grads, None, update),
            None => {
                model.backward_batch(tape, x, d_logits, Some(&mut grads[..]), None);
                optimizer.step(model.params_mut(), grads);
            }
        }
    }
}

/// Keras' weighted loss of a batch, `sum_i w_i l_i / batch`, from the loss of each sample
/// alone (a loss is a mean over its batch, so a batch of one gives `l_i`); writes its
/// gradient into `d_logits` when given.
fn weighted_loss<L: LossFn, A: crate::activations::ActivationFn>(
    loss: &L,
    (logits, outputs, y): (&[f32], &[f32], &[f32]),
    weights: &[f32],
    (outputs_per_sample, width): (usize, usize),
    mut d_logits: Option<&mut [f32]>,
    activation: &A,
) -> f32 {
    let batch = weights.len();
    let o = outputs_per_sample;
    let mut total = 0.0_f64;
    for (i, &w) in weights.iter().enumerate() {
        let rows = i * o..(i + 1) * o;
        let targets = &y[i * width..(i + 1) * width];
        let l = match d_logits.as_deref_mut() {
            Some(d) => {
                let d = &mut d[rows.clone()];
                let l = loss.forward_backward(
                    activation,
                    &logits[rows.clone()],
                    &outputs[rows.clone()],
                    targets,
                    o,
                    d,
                );
                #[allow(clippy::cast_precision_loss)]
                let scale = w / batch as f32;
                d.iter_mut().for_each(|g| *g *= scale);
                l
            }
            None => loss.value(
                activation,
                &logits[rows.clone()],
                &outputs[rows],
                targets,
                o,
            ),
        };
        total += f64::from(w) * f64::from(l);
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
    let mean = (total / batch as f64) as f32;
    mean
}
