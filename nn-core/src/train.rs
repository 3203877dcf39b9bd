//! Training with Keras semantics: [`Trainer::fit`], [`Trainer::evaluate`],
//! [`Trainer::predict`], callbacks ([`EarlyStopping`]) and a [`History`].
//!
//! A [`Trainer`] is what Keras calls a compiled model: the network, an optimizer, a loss and
//! metrics, plus the reusable buffers of a training step. After the first step of a given
//! batch size, a step allocates nothing.
//!
//! ```
//! use nn_core::{loss::Loss, metrics::Metric, optim::Sgd, train::{Fit, Trainer, Verbose}};
//! # use nn_core::{model::{LayerInfo, Model}, layers::{Dense, LayerRef, Pass}, tape::Tape};
//! # use nn_core::{activations::Linear, layers::{InputOrder, Layer}, rng::Rng};
//! # // A hand-written one-layer model; users get this from `model!`.
//! # struct Line(Vec<f32>);
//! # impl Line { fn dense(&self) -> LayerRef<'_, Dense<1, 1>> { LayerRef::new(Dense::new(Linear), &self.0, &[]) } }
//! # impl Model for Line {
//! #     const NAME: &'static str = "Line"; const INPUT_SHAPE: &'static [usize] = &[1];
//! #     const INPUT: usize = 1; const OUTPUT: usize = 1; const PARAMS: usize = 2;
//! #     const LAYERS: &'static [LayerInfo] = &[LayerInfo::of::<Dense<1, 1>>("dense", 0, 0, InputOrder::Rows)];
//! #     type OutputActivation = Linear;
//! #     const OUTPUT_ACTIVATION: Linear = Linear;
//! #     fn init(_: u64) -> Self { Line(vec![0.0; 2]) }
//! #     fn params(&self) -> &[f32] { &self.0 }
//! #     fn params_mut(&mut self) -> &mut [f32] { &mut self.0 }
//! #     fn forward_batch<'t>(&self, tape: &'t mut Tape, x: &[f32], b: usize, pass: Pass<'_>) -> &'t [f32] {
//! #         let mut run = tape.forward(x, b, &[], pass); run.layer(self.dense()); run.finish() }
//! #     fn backward_batch(&self, tape: &mut Tape, x: &[f32], d: &mut [f32], g: Option<&mut [f32]>, dx: Option<&mut [f32]>) {
//! #         tape.backward(x, d, g, dx).layer(self.dense()) }
//! # }
//! // y = 2x + 1
//! let x: Vec<f32> = (0..64).map(|i| i as f32 / 64.0).collect();
//! let y: Vec<f32> = x.iter().map(|x| 2.0 * x + 1.0).collect();
//! let mut trainer = Trainer::new(Line::init(0), Sgd::new(0.5), Loss::MeanSquaredError);
//! let history = trainer.fit(&x, &y, Fit::new().epochs(200).batch_size(16).verbose(Verbose::Silent))?;
//! assert!(history.last("loss").unwrap() < 1e-4);
//! # Ok::<(), nn_core::Error>(())
//! ```

use crate::activations::ActivationFn;
use crate::error::{Error, Result};
use crate::layers::Pass;
use crate::loss::Loss;
use crate::metrics::Metric;
use crate::model::{check_data, Model};
use crate::optim::Optimizer;
use crate::rng::Rng;
use crate::tape::Tape;
use alloc::boxed::Box;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

/// How much `fit` prints (Keras' `verbose`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Verbose {
    /// Nothing (Keras' `verbose=0`).
    Silent,
    /// A progress bar when standard error is a terminal, one line per epoch otherwise.
    #[default]
    Auto,
    /// A progress bar per epoch (Keras' `verbose=1`).
    ProgressBar,
    /// One line per epoch (Keras' `verbose=2`).
    Lines,
}

/// Arguments of [`Trainer::fit`], with Keras' defaults.
pub struct Fit<'a> {
    epochs: usize,
    batch_size: usize,
    shuffle: bool,
    seed: u64,
    validation_split: f32,
    validation_data: Option<(&'a [f32], &'a [f32])>,
    verbose: Verbose,
    callbacks: Vec<Box<dyn Callback + 'a>>,
}

impl Default for Fit<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a> Fit<'a> {
    /// One epoch, batches of 32, shuffled with seed 0, no validation, `Verbose::Auto`.
    #[must_use]
    pub fn new() -> Self {
        Self {
            epochs: 1,
            batch_size: 32,
            shuffle: true,
            seed: 0,
            validation_split: 0.0,
            validation_data: None,
            verbose: Verbose::Auto,
            callbacks: Vec::new(),
        }
    }
    /// Number of passes over the training data.
    #[must_use]
    pub fn epochs(mut self, epochs: usize) -> Self {
        self.epochs = epochs;
        self
    }
    /// Samples per gradient step; the last batch of an epoch may be smaller.
    #[must_use]
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }
    /// Whether to reshuffle the training samples before each epoch.
    #[must_use]
    pub fn shuffle(mut self, shuffle: bool) -> Self {
        self.shuffle = shuffle;
        self
    }
    /// Seed of shuffling and dropout masks.
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Holds out the **last** fraction of the samples (before shuffling, as Keras does) for
    /// validation after each epoch.
    #[must_use]
    pub fn validation_split(mut self, fraction: f32) -> Self {
        self.validation_split = fraction;
        self
    }
    /// Validation inputs and targets, evaluated after each epoch (overrides
    /// `validation_split`).
    #[must_use]
    pub fn validation_data(mut self, x: &'a [f32], y: &'a [f32]) -> Self {
        self.validation_data = Some((x, y));
        self
    }
    /// How much to print.
    #[must_use]
    pub fn verbose(mut self, verbose: Verbose) -> Self {
        self.verbose = verbose;
        self
    }
    /// Adds a callback (e.g. [`EarlyStopping`]).
    #[must_use]
    pub fn callback(mut self, callback: impl Callback + 'a) -> Self {
        self.callbacks.push(Box::new(callback));
        self
    }
}

/// Named values logged at the end of an epoch: `loss`, metrics, then `val_*`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Logs {
    entries: Vec<(String, f32)>,
}

impl Logs {
    /// The value logged under `name`.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<f32> {
        self.entries
            .iter()
            .find(|(n, _)| n == name)
            .map(|&(_, v)| v)
    }
    /// All entries in order.
    #[must_use]
    pub fn entries(&self) -> &[(String, f32)] {
        &self.entries
    }
    fn push(&mut self, name: impl Into<String>, value: f32) {
        self.entries.push((name.into(), value));
    }
}

/// Whether training goes on after a callback.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    /// Go on.
    Continue,
    /// Stop after this epoch.
    Stop,
}

/// Hooks into [`Trainer::fit`].
pub trait Callback {
    /// Before the first epoch.
    fn on_train_begin(&mut self, _params: &[f32]) {}
    /// After each epoch, with its logs and the current parameters.
    ///
    /// # Errors
    /// A callback may abort training with an error (e.g. it monitors a value not logged).
    fn on_epoch_end(&mut self, epoch: usize, logs: &Logs, params: &[f32]) -> Result<Control>;
    /// After the last epoch; may change the parameters (e.g. restore the best ones).
    fn on_train_end(&mut self, _params: &mut [f32]) {}
}

/// Whether a monitored value should go down or up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// `max` for names containing `acc`, `min` otherwise (Keras' `auto`).
    #[default]
    Auto,
    /// Lower is better.
    Min,
    /// Higher is better.
    Max,
}

/// Stops training when a monitored value has stopped improving (Keras' `EarlyStopping`).
#[derive(Clone, Debug)]
pub struct EarlyStopping {
    monitor: String,
    min_delta: f32,
    patience: usize,
    mode: Mode,
    restore_best_weights: bool,
    best: Option<f32>,
    best_epoch: usize,
    best_weights: Vec<f32>,
    wait: usize,
    stopped_epoch: Option<usize>,
}

impl EarlyStopping {
    /// Monitors `monitor` (e.g. `"val_loss"`) with patience 0, as Keras' defaults.
    #[must_use]
    pub fn new(monitor: &str) -> Self {
        Self {
            monitor: monitor.to_string(),
            min_delta: 0.0,
            patience: 0,
            mode: Mode::Auto,
            restore_best_weights: false,
            best: None,
            best_epoch: 0,
            best_weights: Vec::new(),
            wait: 0,
            stopped_epoch: None,
        }
    }
    /// Epochs without improvement before stopping.
    #[must_use]
    pub fn patience(mut self, patience: usize) -> Self {
        self.patience = patience;
        self
    }
    /// Smallest change that counts as an improvement.
    #[must_use]
    pub fn min_delta(mut self, min_delta: f32) -> Self {
        self.min_delta = min_delta.abs();
        self
    }
    /// Whether lower or higher is better.
    #[must_use]
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }
    /// At the end of training, put back the weights of the best epoch.
    #[must_use]
    pub fn restore_best_weights(mut self, restore: bool) -> Self {
        self.restore_best_weights = restore;
        self
    }
    /// The epoch (zero-based) after which training stopped, if it stopped early.
    #[must_use]
    pub fn stopped_epoch(&self) -> Option<usize> {
        self.stopped_epoch
    }
    /// The best epoch (zero-based) so far.
    #[must_use]
    pub fn best_epoch(&self) -> usize {
        self.best_epoch
    }
    fn higher_is_better(&self) -> bool {
        match self.mode {
            Mode::Max => true,
            Mode::Min => false,
            Mode::Auto => self.monitor.contains("acc"),
        }
    }
}

impl Callback for EarlyStopping {
    fn on_train_begin(&mut self, _params: &[f32]) {
        self.best = None;
        self.wait = 0;
        self.stopped_epoch = None;
    }

    fn on_epoch_end(&mut self, epoch: usize, logs: &Logs, params: &[f32]) -> Result<Control> {
        let Some(value) = logs.get(&self.monitor) else {
            return Err(Error::InvalidArgument {
                name: "EarlyStopping monitor",
                reason: "fit does not log that value (`val_*` needs validation data)",
            });
        };
        let improved = match self.best {
            None => true,
            Some(best) if self.higher_is_better() => value - self.min_delta > best,
            Some(best) => value + self.min_delta < best,
        };
        if improved {
            self.best = Some(value);
            self.best_epoch = epoch;
            self.wait = 0;
            if self.restore_best_weights {
                self.best_weights.clear();
                self.best_weights.extend_from_slice(params);
            }
            return Ok(Control::Continue);
        }
        self.wait += 1;
        // Keras' rule: stop once `patience` epochs in a row brought no improvement.
        if self.wait >= self.patience.max(1) {
            self.stopped_epoch = Some(epoch);
            return Ok(Control::Stop);
        }
        Ok(Control::Continue)
    }

    fn on_train_end(&mut self, params: &mut [f32]) {
        if self.restore_best_weights && self.best_weights.len() == params.len() {
            params.copy_from_slice(&self.best_weights);
        }
    }
}

/// Per-epoch values logged by [`Trainer::fit`] (Keras' `History.history`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    names: Vec<String>,
    values: Vec<Vec<f32>>,
    /// The epoch (zero-based) after which a callback stopped training, if one did.
    pub stopped_epoch: Option<usize>,
}

impl History {
    /// The values of `name` (`"loss"`, `"accuracy"`, `"val_loss"`, ...) for each epoch.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&[f32]> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|i| self.values[i].as_slice())
    }
    /// The last epoch's value of `name`.
    #[must_use]
    pub fn last(&self, name: &str) -> Option<f32> {
        self.get(name).and_then(|v| v.last().copied())
    }
    /// Names of the logged values.
    #[must_use]
    pub fn names(&self) -> &[String] {
        &self.names
    }
    /// Number of epochs run.
    #[must_use]
    pub fn epochs(&self) -> usize {
        self.values.first().map_or(0, Vec::len)
    }
    fn push(&mut self, logs: &Logs) {
        for (name, value) in &logs.entries {
            match self.names.iter().position(|n| n == name) {
                Some(i) => self.values[i].push(*value),
                None => {
                    self.names.push(name.clone());
                    self.values.push(alloc::vec![*value]);
                }
            }
        }
    }
}

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

/// A model with its optimizer, loss and metrics, and the buffers of a training step
/// (Keras' compiled model).
///
/// The builders ([`metrics`](Self::metrics), [`threads`](Self::threads)) and the optimizer's
/// cannot fail: they record their arguments, and [`fit`](Self::fit),
/// [`evaluate`](Self::evaluate) and [`train_on_batch`](Self::train_on_batch) check them all
/// before they start, returning an [`Error`] (never a panic) for a setting out of range
/// ([`Error::InvalidSetting`]) or a metric that does not fit the loss
/// ([`Error::MetricMismatch`]).
pub struct Trainer<M: Model, O: Optimizer> {
    model: M,
    optimizer: O,
    loss: Loss,
    metrics: Vec<Metric>,
    worker: Worker,
    batch_x: Vec<f32>,
    batch_y: Vec<f32>,
    order: Vec<usize>,
    /// Totals of a training epoch or of `train_on_batch` (kept to reuse their buffer).
    totals: Totals,
    /// Totals of an evaluation (also inside `fit`, while `totals` holds the epoch's).
    eval_totals: Totals,
    /// Dropout masks of `train_on_batch` (`fit` draws from its own seed).
    rng: Rng,
    /// Threads requested with [`threads`](Self::threads); checked when training starts.
    #[cfg(feature = "std")]
    threads: usize,
    /// The pool of `threads` threads, started when training starts (none for 1 thread).
    #[cfg(feature = "std")]
    pool: Option<rayon::ThreadPool>,
}

/// Running totals of loss and metric counts over an epoch or an evaluation.
#[derive(Clone, Default)]
struct Totals {
    loss: f64,
    samples: usize,
    /// `(correct, possible)` counts of each metric.
    counts: Vec<(usize, usize)>,
}

impl Totals {
    /// Zero totals for `metrics` metrics; allocates only when `metrics` exceeds every count
    /// seen before.
    fn reset(&mut self, metrics: usize) {
        self.loss = 0.0;
        self.samples = 0;
        self.counts.clear();
        self.counts.resize(metrics, (0, 0));
    }
    #[allow(clippy::cast_precision_loss)]
    fn mean_loss(&self) -> f32 {
        (self.loss / self.samples.max(1) as f64) as f32
    }
    #[allow(clippy::cast_precision_loss)]
    fn rate(&self, i: usize) -> f32 {
        let (correct, possible) = self.counts[i];
        correct as f32 / possible.max(1) as f32
    }
    fn merge(&mut self, other: &Self) {
        self.loss += other.loss;
        self.samples += other.samples;
        for (total, count) in self.counts.iter_mut().zip(&other.counts) {
            total.0 += count.0;
            total.1 += count.1;
        }
    }
}

/// The buffers one thread needs for a forward and backward pass.
struct Worker {
    tape: Tape,
    grads: Vec<f32>,
    outputs: Vec<f32>,
    d_logits: Vec<f32>,
    totals: Totals,
}

impl Worker {
    fn new(params: usize) -> Self {
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
    fn run<M: Model>(
        &mut self,
        model: &M,
        loss: Loss,
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

impl<M: Model, O: Optimizer> Trainer<M, O> {
    /// Pairs `model` with an optimizer and a loss (see also [`Model::compile`]).
    pub fn new(model: M, optimizer: O, loss: Loss) -> Self {
        Self {
            model,
            optimizer,
            loss,
            metrics: Vec::new(),
            worker: Worker::new(M::PARAMS),
            batch_x: Vec::new(),
            batch_y: Vec::new(),
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

    /// Metrics to report besides the loss, as many as wanted; Keras' generic
    /// `Metric::Accuracy` is resolved from the loss (binary, categorical or sparse
    /// categorical), and a metric given twice is reported once. A metric that cannot be
    /// computed on the loss' targets (see [`Metric::check`]) makes `fit`, `evaluate` and
    /// `train_on_batch` return [`Error::MetricMismatch`].
    #[must_use]
    pub fn metrics(mut self, metrics: &[Metric]) -> Self {
        self.metrics.clear();
        for m in metrics {
            let m = m.resolve(self.loss, M::OUTPUT);
            if !self.metrics.contains(&m) {
                self.metrics.push(m);
            }
        }
        self
    }

    /// The model.
    pub fn model(&self) -> &M {
        &self.model
    }
    /// The model, mutably.
    pub fn model_mut(&mut self) -> &mut M {
        &mut self.model
    }
    /// The optimizer (e.g. to change its learning rate).
    pub fn optimizer_mut(&mut self) -> &mut O {
        &mut self.optimizer
    }
    /// Gives the trained model back.
    pub fn into_model(self) -> M {
        self.model
    }

    /// Name under which metric `i` is logged (`accuracy` for Keras' generic accuracy).
    fn metric_name(&self, i: usize) -> &'static str {
        match self.metrics[i] {
            Metric::BinaryAccuracy
            | Metric::CategoricalAccuracy
            | Metric::SparseCategoricalAccuracy => "accuracy",
            m => m.name(),
        }
    }

    /// Checks the settings recorded by the builders (the optimizer's, the metrics against
    /// the loss, the number of threads) and starts the threads; allocation-free once the
    /// threads run.
    fn prepare(&mut self) -> Result<()> {
        self.optimizer.validate()?;
        for &metric in &self.metrics {
            metric.check(self.loss, M::OUTPUT)?;
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
    fn run_batch(
        &mut self,
        x: &[f32],
        y: &[f32],
        batch: usize,
        dropout: Option<&mut Rng>,
        learn: bool,
        totals: &mut Totals,
    ) -> f32 {
        #[cfg(feature = "std")]
        if let Some(pool) = self.pool.take() {
            let value = pool.install(|| self.step(x, y, batch, dropout, learn, totals));
            self.pool = Some(pool);
            return value;
        }
        self.step(x, y, batch, dropout, learn, totals)
    }

    fn step(
        &mut self,
        x: &[f32],
        y: &[f32],
        batch: usize,
        dropout: Option<&mut Rng>,
        learn: bool,
        totals: &mut Totals,
    ) -> f32 {
        let w = &mut self.worker;
        let value = w.run(
            &self.model,
            self.loss,
            &self.metrics,
            x,
            y,
            batch,
            dropout,
            learn,
        );
        if !value.is_finite() {
            return value;
        }
        totals.merge(&w.totals);
        if learn {
            self.optimizer.step(self.model.params_mut(), &w.grads);
            self.model.update_state(&w.tape);
        }
        value
    }

    /// The error for a non-finite loss at `epoch`/`batch`. Its update is not applied, so the
    /// weights are those of the last step, finite unless that update itself overflowed them
    /// (checked here, once, rather than after every step).
    fn diverged(&self, epoch: usize, batch: usize) -> Error {
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
        let n = check_data(&self.model, x, y, self.loss)?;
        let mut totals = core::mem::take(&mut self.totals);
        totals.reset(self.metrics.len());
        // Training mode, as Keras: dropout active, batch normalisation on batch statistics.
        let mut rng = core::mem::replace(&mut self.rng, Rng::new(0));
        let loss = self.run_batch(x, y, n, Some(&mut rng), true, &mut totals);
        self.rng = rng;
        self.totals = totals;
        if loss.is_finite() {
            Ok(loss)
        } else {
            Err(self.diverged(0, 0))
        }
    }

    /// Trains for `fit.epochs` epochs (Keras' `fit`). Returns the per-epoch history of
    /// `loss`, the metrics and, with validation data, `val_loss` and `val_*`.
    ///
    /// # Errors
    /// Before training: invalid settings (see [`Trainer`]), empty data, sample counts that
    /// differ, a wrong number of features, NaN or infinite values, targets that do not fit
    /// the loss, labels out of range, a bad argument (zero batch size, a validation split
    /// outside `[0, 1)` or that leaves either side empty).
    ///
    /// Once training has started, every error is an [`Error::TrainingStopped`] holding the
    /// [`History`] of the completed epochs and the cause: [`Error::LossDiverged`] naming the
    /// epoch and batch where the loss stopped being finite (that batch's update is not
    /// applied, and the weights are checked to be finite), [`Error::WeightsDiverged`] if
    /// instead an earlier update had overflowed the weights, [`Error::NonFiniteLoss`] for a validation loss that is
    /// not finite, or a callback's error. Callbacks' `on_train_end` runs in every case.
    pub fn fit(&mut self, x: &[f32], y: &[f32], mut fit: Fit<'_>) -> Result<History> {
        self.prepare()?;
        let n = check_data(&self.model, x, y, self.loss)?;
        if fit.batch_size == 0 {
            return Err(Error::InvalidArgument {
                name: "batch_size",
                reason: "must be at least 1",
            });
        }
        if !(0.0..1.0).contains(&fit.validation_split) {
            return Err(Error::InvalidArgument {
                name: "validation_split",
                reason: "must be in [0, 1)",
            });
        }
        let tw = self.loss.target_width(M::OUTPUT);
        // Keras: the validation set is the last fraction of the samples, before shuffling.
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let n_train = if fit.validation_data.is_some() || fit.validation_split == 0.0 {
            n
        } else {
            // The decimal the user wrote (0.2, not 0.2000000030), then Keras' formula.
            let split: f64 = alloc::format!("{}", fit.validation_split)
                .parse()
                .unwrap_or(0.0);
            libm::floor(n as f64 * (1.0 - split)) as usize
        };
        if n_train == 0
            || n_train == n && fit.validation_split > 0.0 && fit.validation_data.is_none()
        {
            return Err(Error::InvalidArgument {
                name: "validation_split",
                reason: "leaves the training or the validation set empty",
            });
        }
        let train = (&x[..n_train * M::INPUT], &y[..n_train * tw]);
        let validation = match fit.validation_data {
            Some((vx, vy)) => {
                check_data(&self.model, vx, vy, self.loss)?;
                Some((vx, vy))
            }
            None if n_train < n => Some((&x[n_train * M::INPUT..], &y[n_train * tw..])),
            None => None,
        };

        let mut history = History::default();
        for cb in &mut fit.callbacks {
            cb.on_train_begin(self.model.params());
        }
        let outcome = self.run_epochs(train, validation, &mut fit, &mut history);
        for cb in &mut fit.callbacks {
            cb.on_train_end(self.model.params_mut());
        }
        match outcome {
            Ok(()) => Ok(history),
            Err(error) => Err(Error::TrainingStopped {
                error: Box::new(error),
                history,
            }),
        }
    }

    /// The epochs of [`fit`](Self::fit) on validated data, logging each into `history`.
    fn run_epochs(
        &mut self,
        (x_train, y_train): (&[f32], &[f32]),
        validation: Option<(&[f32], &[f32])>,
        fit: &mut Fit<'_>,
        history: &mut History,
    ) -> Result<()> {
        let tw = self.loss.target_width(M::OUTPUT);
        let n_train = x_train.len() / M::INPUT;
        let mut rng = Rng::new(fit.seed);
        let mut dropout_rng = rng.fork();
        self.order.clear();
        self.order.extend(0..n_train);
        let batches = n_train.div_ceil(fit.batch_size);
        let mut progress = Progress::new(fit.verbose, fit.epochs, batches);
        for epoch in 0..fit.epochs {
            if fit.shuffle {
                rng.shuffle(&mut self.order);
            }
            progress.epoch_begin(epoch);
            let mut totals = core::mem::take(&mut self.totals);
            totals.reset(self.metrics.len());
            let mut batch_x = core::mem::take(&mut self.batch_x);
            let mut batch_y = core::mem::take(&mut self.batch_y);
            let order = core::mem::take(&mut self.order);
            let mut diverged = None;
            for (b, chunk) in order.chunks(fit.batch_size).enumerate() {
                batch_x.clear();
                batch_y.clear();
                for &i in chunk {
                    batch_x.extend_from_slice(&x_train[i * M::INPUT..(i + 1) * M::INPUT]);
                    batch_y.extend_from_slice(&y_train[i * tw..(i + 1) * tw]);
                }
                let loss = self.run_batch(
                    &batch_x,
                    &batch_y,
                    chunk.len(),
                    Some(&mut dropout_rng),
                    true,
                    &mut totals,
                );
                if !loss.is_finite() {
                    diverged = Some(b);
                    break;
                }
                progress.batch_end(b + 1, totals.mean_loss());
            }
            self.batch_x = batch_x;
            self.batch_y = batch_y;
            self.order = order;
            let mut logs = Logs::default();
            logs.push("loss", totals.mean_loss());
            for i in 0..self.metrics.len() {
                logs.push(self.metric_name(i), totals.rate(i));
            }
            self.totals = totals;
            if let Some(batch) = diverged {
                progress.abort();
                return Err(self.diverged(epoch, batch));
            }
            if let Some((vx, vy)) = validation {
                let eval = self
                    .evaluate_unchecked(vx, vy, 256, "validation data")
                    .inspect_err(|_| progress.abort())?;
                logs.push("val_loss", eval.loss);
                for (name, v) in eval.metrics {
                    logs.push(alloc::format!("val_{name}"), v);
                }
            }
            history.push(&logs);
            progress.epoch_end(&logs);
            let mut stop = false;
            for cb in &mut fit.callbacks {
                if cb.on_epoch_end(epoch, &logs, self.model.params())? == Control::Stop {
                    stop = true;
                }
            }
            if stop {
                history.stopped_epoch = Some(epoch);
                break;
            }
        }
        Ok(())
    }

    /// Loss and metrics on validated data, in batches of `batch_size`.
    ///
    /// # Errors
    /// [`Error::NonFiniteLoss`] naming `what` and the first sample whose loss is not finite.
    fn evaluate_unchecked(
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
                .run_batch(xs, ys, b, None, false, &mut totals)
                .is_finite()
            {
                // The first sample of the batch whose own loss is not finite.
                let mut one = Totals::default();
                let sample = (start..start + b).find(|&i| {
                    let (xi, yi) = (
                        &x[i * M::INPUT..(i + 1) * M::INPUT],
                        &y[i * tw..(i + 1) * tw],
                    );
                    !self.run_batch(xi, yi, 1, None, false, &mut one).is_finite()
                });
                bad = Some(sample.unwrap_or(start));
                break;
            }
            start += b;
        }
        let metrics = (0..self.metrics.len())
            .map(|i| (self.metric_name(i), totals.rate(i)))
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
        check_data(&self.model, x, y, self.loss)?;
        self.evaluate_unchecked(x, y, 256, "x")
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

/// Per-epoch progress output, Keras style (silent without `std`).
#[cfg_attr(not(feature = "std"), allow(dead_code))]
struct Progress {
    verbose: Verbose,
    epoch: usize,
    epochs: usize,
    batches: usize,
    #[cfg(feature = "std")]
    bar: Option<indicatif::ProgressBar>,
    #[cfg(feature = "std")]
    started: Option<std::time::Instant>,
}

impl Progress {
    fn new(verbose: Verbose, epochs: usize, batches: usize) -> Self {
        #[cfg(feature = "std")]
        let verbose = match verbose {
            Verbose::Auto if std::io::IsTerminal::is_terminal(&std::io::stderr()) => {
                Verbose::ProgressBar
            }
            Verbose::Auto => Verbose::Lines,
            v => v,
        };
        Self {
            verbose,
            epoch: 0,
            epochs,
            batches,
            #[cfg(feature = "std")]
            bar: None,
            #[cfg(feature = "std")]
            started: None,
        }
    }

    fn epoch_begin(&mut self, epoch: usize) {
        self.epoch = epoch;
        #[cfg(feature = "std")]
        {
            self.started = Some(std::time::Instant::now());
            if self.verbose == Verbose::ProgressBar {
                std::eprintln!("Epoch {}/{}", epoch + 1, self.epochs);
                let bar = indicatif::ProgressBar::new(self.batches as u64);
                if let Ok(style) = indicatif::ProgressStyle::with_template(
                    "{pos:>5}/{len} [{bar:30}] {elapsed} - {msg}",
                ) {
                    bar.set_style(style.progress_chars("=> "));
                }
                self.bar = Some(bar);
            }
        }
    }

    fn batch_end(&mut self, _done: usize, _loss: f32) {
        #[cfg(feature = "std")]
        if let Some(bar) = &self.bar {
            bar.set_position(_done as u64);
            if _done.is_multiple_of(16) || _done == self.batches {
                bar.set_message(alloc::format!("loss: {_loss:.4}"));
            }
        }
    }

    fn abort(&mut self) {
        #[cfg(feature = "std")]
        if let Some(bar) = self.bar.take() {
            bar.abandon();
        }
    }

    fn epoch_end(&mut self, _logs: &Logs) {
        #[cfg(feature = "std")]
        {
            let mut text = String::new();
            for (name, v) in &_logs.entries {
                text += &alloc::format!(" - {name}: {v:.4}");
            }
            let secs = self.started.map_or(0.0, |t| t.elapsed().as_secs_f64());
            match (self.verbose, self.bar.take()) {
                (Verbose::ProgressBar, Some(bar)) => {
                    bar.finish_with_message(text.trim_start_matches(" - ").to_string());
                }
                (Verbose::Lines, _) => {
                    std::eprintln!(
                        "Epoch {}/{} - {}/{} - {secs:.2}s{text}",
                        self.epoch + 1,
                        self.epochs,
                        self.batches,
                        self.batches
                    );
                }
                _ => {}
            }
        }
    }
}
