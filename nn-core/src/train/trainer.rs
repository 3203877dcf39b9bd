//! [`Trainer`]: a model with its optimizer, loss and metrics (Keras' compiled model), and
//! one training step.

use alloc::vec::Vec;

use super::batch::{Totals, Worker};
use super::check::check_data;
use crate::activations::ActivationFn;
use crate::error::{Error, Result};
use crate::layers::Pass;
use crate::loss::{Loss, LossFn};
use crate::metrics::Metric;
use crate::model::Model;
use crate::optim::{Optimizer, OptimizerState};
use crate::rng::Rng;
use crate::tape::Tape;

/// A model with its optimizer, loss and metrics, and the buffers of a training step
/// (Keras' compiled model). The loss is the built-in [`Loss`] unless another
/// [`LossFn`] is given (a type of your own, say).
///
/// The builders ([`metrics`](Self::metrics), [`threads`](Self::threads)) and the optimizer's
/// cannot fail: they record their arguments, and [`fit`](Self::fit),
/// [`evaluate`](Self::evaluate) and [`train_on_batch`](Self::train_on_batch) check them all
/// before they start, returning an [`Error`] (never a panic) for a setting out of range
/// ([`Error::InvalidSetting`]) or a metric that does not fit the loss
/// ([`Error::MetricMismatch`]).
pub struct Trainer<M: Model, O: Optimizer, L: LossFn = Loss> {
    pub(super) model: M,
    pub(super) optimizer: O,
    pub(super) loss: L,
    pub(super) metrics: Vec<Metric>,
    /// The name each metric is logged under: the one asked for (Keras' `accuracy` stays
    /// `accuracy` whichever accuracy it resolves to).
    pub(super) metric_names: Vec<&'static str>,
    /// Whether each metric is weighted by the samples' weights (Keras' `weighted_metrics`).
    pub(super) metric_weighted: Vec<bool>,
    /// The metrics as asked for, and whether weighted.
    requested: Vec<(Metric, bool)>,
    pub(super) worker: Worker,
    pub(super) batch_x: Vec<f32>,
    pub(super) batch_y: Vec<f32>,
    pub(super) batch_w: Vec<f32>,
    pub(super) order: Vec<usize>,
    /// Totals of a training epoch or of `train_on_batch` (kept to reuse their buffer).
    pub(super) totals: Totals,
    /// Totals of an evaluation (also inside `fit`, while `totals` holds the epoch's).
    pub(super) eval_totals: Totals,
    /// Dropout masks of `train_on_batch` (`fit` draws from its own seed).
    pub(super) rng: Rng,
    /// Threads requested with [`threads`](Self::threads); checked when training starts.
    #[cfg(feature = "std")]
    pub(super) threads: usize,
    /// The pool of `threads` threads, started when training starts (none for 1 thread).
    #[cfg(feature = "std")]
    pub(super) pool: Option<rayon::ThreadPool>,
}

impl<M: Model, O: Optimizer, L: LossFn> Trainer<M, O, L> {
    /// Pairs `model` with an optimizer and a loss (see also [`Compile::compile`](super::Compile::compile)).
    pub fn new(model: M, optimizer: O, loss: L) -> Self {
        Self {
            model,
            optimizer,
            loss,
            metrics: Vec::new(),
            metric_names: Vec::new(),
            metric_weighted: Vec::new(),
            requested: Vec::new(),
            worker: Worker::new(M::PARAMS),
            batch_x: Vec::new(),
            batch_y: Vec::new(),
            batch_w: Vec::new(),
            order: Vec::new(),
            totals: Totals::default(),
            eval_totals: Totals::default(),
            rng: Rng::new(0),
            #[cfg(feature = "std")]
            threads: 1,
            #[cfg(feature = "std")]
            pool: None,
        }
    }

    /// Trains on `threads` threads: large matrix products (and max-pooling's backward pass)
    /// are split by output rows, and Adam's update by parameter ranges, so every sum keeps
    /// its order and results are identical for any number of threads. `1` (the default)
    /// runs on the calling thread. (With more than one thread, rayon's scheduler may
    /// allocate now and then while handing out work: measured 8 allocations in 500 steps;
    /// single-threaded steps allocate nothing after the first.)
    ///
    /// The threads start when training or evaluation does; `fit`, `evaluate` and
    /// `train_on_batch` return [`Error::InvalidSetting`] for 0 threads and
    /// [`Error::InvalidArgument`] when the threads cannot be started.
    #[cfg(feature = "std")]
    #[must_use]
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self.pool = None;
        self
    }

    /// Metrics to report besides the loss, as many as wanted (all of [`Metric::ALL`] at
    /// once if you like), each logged under the name asked for (`accuracy`,
    /// `sparse_categorical_accuracy`, `auc`...); Keras' generic `Metric::Accuracy` is
    /// resolved from the loss (binary, categorical or sparse categorical), and a metric
    /// given twice is reported once. A metric that cannot be
    /// computed on the loss' targets (see [`Metric::check`]) makes `fit`, `evaluate` and
    /// `train_on_batch` return [`Error::MetricMismatch`].
    #[must_use]
    pub fn metrics(mut self, metrics: &[Metric]) -> Self {
        let weighted: Vec<Metric> = self.weighted_list();
        self.set_metrics(metrics, &weighted);
        self
    }

    /// Metrics weighted by the samples' weights ([`Fit::sample_weight`](super::Fit::sample_weight),
    /// [`Fit::class_weight`](super::Fit::class_weight)), Keras' `weighted_metrics`, logged as
    /// `weighted_<name>` (e.g. `weighted_accuracy`, `val_weighted_accuracy`) beside the
    /// unweighted [`metrics`](Self::metrics). Without weights they equal the unweighted ones;
    /// validation and [`evaluate`](Self::evaluate) weigh every sample 1.
    #[must_use]
    pub fn weighted_metrics(mut self, metrics: &[Metric]) -> Self {
        let plain: Vec<Metric> = self.plain_list();
        self.set_metrics(&plain, metrics);
        self
    }

    /// The metrics asked for by [`metrics`](Self::metrics) (unresolved, by name).
    fn plain_list(&self) -> Vec<Metric> {
        self.requested
            .iter()
            .filter(|(_, w)| !w)
            .map(|&(m, _)| m)
            .collect()
    }
    fn weighted_list(&self) -> Vec<Metric> {
        self.requested
            .iter()
            .filter(|(_, w)| *w)
            .map(|&(m, _)| m)
            .collect()
    }

    fn set_metrics(&mut self, plain: &[Metric], weighted: &[Metric]) {
        self.metrics.clear();
        self.metric_names.clear();
        self.metric_weighted.clear();
        self.requested.clear();
        for (list, is_weighted) in [(plain, false), (weighted, true)] {
            for &m in list {
                let name = m.name();
                let resolved = m.resolve(&self.loss, M::OUTPUT);
                let taken = self
                    .requested
                    .iter()
                    .any(|&(r, w)| r.name() == name && w == is_weighted);
                if !taken {
                    self.requested.push((m, is_weighted));
                    self.metrics.push(resolved);
                    self.metric_names
                        .push(if is_weighted { m.weighted_name() } else { name });
                    self.metric_weighted.push(is_weighted);
                }
            }
        }
    }

    /// The model.
    pub fn model(&self) -> &M {
        &self.model
    }
    /// The model, mutably.
    pub fn model_mut(&mut self) -> &mut M {
        &mut self.model
    }
    /// The optimizer.
    pub fn optimizer(&self) -> &O {
        &self.optimizer
    }
    /// The optimizer, mutably (e.g. to change its learning rate).
    pub fn optimizer_mut(&mut self) -> &mut O {
        &mut self.optimizer
    }

    /// The optimizer's state ([`Optimizer::state`]): saved with the model's weights (and
    /// state), it lets a stopped training resume where it stopped.
    #[must_use]
    pub fn optimizer_state(&self) -> OptimizerState {
        self.optimizer.state()
    }

    /// Puts back an optimizer state saved by [`optimizer_state`](Self::optimizer_state),
    /// after checking that every buffer has one value per parameter of the model (or is
    /// empty, before the first step). With the model's weights restored too, training goes
    /// on exactly as it would have without the stop.
    ///
    /// # Errors
    /// [`Error::InvalidState`] for a buffer of another length than the model's parameters,
    /// and everything [`Optimizer::load_state`] rejects; on error the optimizer is unchanged.
    pub fn load_optimizer_state(&mut self, state: &OptimizerState) -> Result<()> {
        if let Some((name, values)) = state
            .buffers
            .iter()
            .find(|(_, values)| !values.is_empty() && values.len() != M::PARAMS)
        {
            return Err(Error::InvalidState {
                owner: "Trainer",
                reason: alloc::format!(
                    "the optimizer buffer `{name}` holds {} values, but the model `{}` has {} \
                     parameters (the state of another model?)",
                    values.len(),
                    M::NAME,
                    M::PARAMS
                ),
            });
        }
        self.optimizer.load_state(state)
    }
    /// Gives the trained model back.
    pub fn into_model(self) -> M {
        self.model
    }

    /// Name under which metric `i` is logged: the name asked for.
    pub(super) fn metric_name(&self, i: usize) -> &'static str {
        self.metric_names[i]
    }

    /// Checks the settings recorded by the builders (the optimizer's, the metrics against
    /// the loss, the number of threads) and starts the threads; allocation-free once the
    /// threads run.
    pub(super) fn prepare(&mut self) -> Result<()> {
        self.optimizer.validate()?;
        for &metric in &self.metrics {
            metric.check(&self.loss, M::OUTPUT)?;
        }
        #[cfg(feature = "std")]
        self.start_threads()?;
        Ok(())
    }

    #[cfg(feature = "std")]
    fn start_threads(&mut self) -> Result<()> {
        if self.threads == 0 {
            return Err(Error::InvalidSetting {
                owner: "Trainer",
                name: "threads",
                value: 0.0,
                expected: "at least 1",
            });
        }
        if self.threads > 1 && self.pool.is_none() {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(self.threads)
                .thread_name(|i| alloc::format!("nn-train-{i}"))
                .build()
                .map_err(|_| Error::InvalidArgument {
                    name: "threads",
                    reason: "the operating system could not start that many training threads",
                })?;
            self.pool = Some(pool);
        }
        Ok(())
    }

    /// Forward pass, loss, and (when `learn`) backward pass and optimizer step on one batch
    /// already gathered in `x`/`y`, on the trainer's threads. Adds to `totals`; returns the
    /// batch's mean loss. When the loss is not finite, nothing is updated.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn run_batch(
        &mut self,
        x: &[f32],
        y: &[f32],
        weights: Option<&[f32]>,
        batch: usize,
        dropout: Option<&mut Rng>,
        learn: bool,
        totals: &mut Totals,
    ) -> f32 {
        #[cfg(feature = "std")]
        if let Some(pool) = self.pool.take() {
            let value = pool.install(|| self.step(x, y, weights, batch, dropout, learn, totals));
            self.pool = Some(pool);
            return value;
        }
        self.step(x, y, weights, batch, dropout, learn, totals)
    }

    #[allow(clippy::too_many_arguments)]
    fn step(
        &mut self,
        x: &[f32],
        y: &[f32],
        weights: Option<&[f32]>,
        batch: usize,
        dropout: Option<&mut Rng>,
        learn: bool,
        totals: &mut Totals,
    ) -> f32 {
        let w = &mut self.worker;
        let value = w.run(
            &self.model,
            &self.loss,
            (&self.metrics, &self.metric_weighted),
            (x, y, weights),
            batch,
            dropout,
            learn,
        );
        if !value.is_finite() {
            return value;
        }
        totals.merge(&w.totals);
        if learn {
            w.learn(&mut self.model, &mut self.optimizer, x);
            self.model.update_state(&w.tape);
        }
        value
    }

    /// The error for a non-finite loss at `epoch`/`batch`. Its update is not applied, so the
    /// weights are those of the last step, finite unless that update itself overflowed them
    /// (checked here, once, rather than after every step).
    pub(super) fn diverged(&self, epoch: usize, batch: usize) -> Error {
        if self.model.params().iter().all(|p| p.is_finite()) {
            Error::LossDiverged { epoch, batch }
        } else {
            Error::WeightsDiverged { epoch, batch }
        }
    }

    /// One gradient step on one batch (Keras' `train_on_batch`); returns its loss.
    ///
    /// # Errors
    /// Invalid settings (see [`Trainer`]), invalid data (see [`check_data`]),
    /// [`Error::LossDiverged`] when the loss is not finite (the step is then not applied),
    /// or [`Error::WeightsDiverged`] when an earlier step left non-finite weights.
    pub fn train_on_batch(&mut self, x: &[f32], y: &[f32]) -> Result<f32> {
        self.prepare()?;
        let n = check_data(&self.model, x, y, &self.loss)?;
        let mut totals = core::mem::take(&mut self.totals);
        totals.reset(self.metrics.len());
        // Training mode, as Keras: dropout active, batch normalisation on batch statistics.
        let mut rng = core::mem::replace(&mut self.rng, Rng::new(0));
        let loss = self.run_batch(x, y, None, n, Some(&mut rng), true, &mut totals);
        self.rng = rng;
        self.totals = totals;
        if loss.is_finite() {
            Ok(loss)
        } else {
            Err(self.diverged(0, 0))
        }
    }

    /// Outputs for every sample of `x` (after the output activation), `OUTPUT` values per
    /// sample (Keras' `predict`).
    ///
    /// # Errors
    /// Empty input, a length that is not whole samples, or NaN/infinite values.
    pub fn predict(&mut self, x: &[f32]) -> Result<Vec<f32>> {
        predict_with(&self.model, &mut self.worker.tape, x)
    }
}

/// Outputs of `model` for every sample of `x`, computed in batches in `tape`.
///
/// # Errors
/// Empty input, a length that is not whole samples, NaN/infinite values, or an input the
/// model cannot take ([`Model::check_input`]).
pub fn predict_with<M: Model>(model: &M, tape: &mut Tape, x: &[f32]) -> Result<Vec<f32>> {
    let n = crate::error::rows("x", x, M::INPUT)?;
    crate::error::check_finite("x", x)?;
    model.check_input(x)?;
    let mut out = Vec::with_capacity(n * M::OUTPUT);
    let mut start = 0;
    while start < n {
        let b = 256.min(n - start);
        let rows = &x[start * M::INPUT..(start + b) * M::INPUT];
        let logits = model.forward_batch(tape, rows, b, Pass::Eval);
        out.extend_from_slice(logits);
        start += b;
    }
    M::OUTPUT_ACTIVATION.forward(&mut out, M::OUTPUT);
    Ok(out)
}
