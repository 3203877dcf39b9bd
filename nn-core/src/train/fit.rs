//! Options of [`Trainer::fit`] and its loop: batches, validation, logs and callbacks, epoch
//! after epoch.

use alloc::boxed::Box;
use alloc::vec::Vec;

use super::batch::Totals;
use super::callbacks::{Callback, Context, Control, Logs, StepSchedule};
use super::check::check_data;
use super::history::History;
use super::progress::{Progress, Verbose};
use super::trainer::Trainer;
use crate::data::gather_rows;
use crate::error::{Error, Result};
use crate::loss::LossFn;
use crate::model::Model;
use crate::optim::{LearningRateSchedule, Optimizer};
use crate::rng::Rng;

/// Arguments of [`Trainer::fit`], with Keras' defaults.
pub struct Fit<'a> {
    epochs: usize,
    initial_epoch: usize,
    batch_size: usize,
    shuffle: bool,
    seed: u64,
    validation_split: f32,
    validation_data: Option<(&'a [f32], &'a [f32])>,
    verbose: Verbose,
    callbacks: Vec<Box<dyn Callback + 'a>>,
    sample_weight: Option<&'a [f32]>,
    class_weight: Option<&'a [f32]>,
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
            initial_epoch: 0,
            batch_size: 32,
            shuffle: true,
            seed: 0,
            validation_split: 0.0,
            validation_data: None,
            verbose: Verbose::Auto,
            callbacks: Vec::new(),
            sample_weight: None,
            class_weight: None,
        }
    }
    /// Number of passes over the training data.
    #[must_use]
    pub fn epochs(mut self, epochs: usize) -> Self {
        self.epochs = epochs;
        self
    }
    /// The epoch (zero-based) to start at, as Keras' `initial_epoch`: `fit` runs epochs
    /// `initial_epoch..epochs`, shuffling and drawing dropout masks exactly as an
    /// uninterrupted `fit` with the same seed would in those epochs, and counting steps
    /// ([`Context::step`](super::Context::step), schedules) from epoch 0. With the weights and
    /// the optimizer state saved after epoch `initial_epoch - 1` (see
    /// [`ModelCheckpoint`](super::ModelCheckpoint)), a stopped training resumes bit for bit.
    #[must_use]
    pub fn initial_epoch(mut self, epoch: usize) -> Self {
        self.initial_epoch = epoch;
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
    /// A [`Dataset`](crate::data::Dataset) evaluated after each epoch (overrides
    /// `validation_split`).
    #[must_use]
    pub fn validation_dataset(self, data: &'a crate::data::Dataset) -> Self {
        self.validation_data(data.x(), data.y())
    }
    /// One weight per sample of `x` (Keras' `sample_weight`): the training loss of a batch
    /// is `sum_i w_i l_i / batch` (Keras' `sum_over_batch_size`), so a sample of weight 2
    /// pulls as hard as two copies of it; the
    /// [`weighted_metrics`](super::Trainer::weighted_metrics) are weighted the same way. The
    /// samples held out by `validation_split` are validated unweighted, as Keras does.
    #[must_use]
    pub fn sample_weight(mut self, weights: &'a [f32]) -> Self {
        self.sample_weight = Some(weights);
        self
    }
    /// One weight per class id (Keras' `class_weight`, a dict there): each training sample
    /// is weighted by its class's weight (times its `sample_weight`, if any). The class of
    /// a sample is its class id, the argmax of its target row, or for one output its target
    /// rounded (0 or 1).
    #[must_use]
    pub fn class_weight(mut self, weights: &'a [f32]) -> Self {
        self.class_weight = Some(weights);
        self
    }
    /// How much to print.
    #[must_use]
    pub fn verbose(mut self, verbose: Verbose) -> Self {
        self.verbose = verbose;
        self
    }
    /// Adds a callback (e.g. [`EarlyStopping`](super::EarlyStopping)); pass `&mut callback`
    /// to read its state after `fit`.
    #[must_use]
    pub fn callback(mut self, callback: impl Callback + 'a) -> Self {
        self.callbacks.push(Box::new(callback));
        self
    }
    /// Sets the learning rate before every step from `schedule` (e.g.
    /// [`CosineDecay`](crate::optim::CosineDecay)), as Keras does with a schedule given as the
    /// optimizer's learning rate; the steps are counted from epoch 0. The same as the
    /// callback [`StepSchedule`](super::StepSchedule).
    #[must_use]
    pub fn learning_rate_schedule(self, schedule: impl LearningRateSchedule + 'a) -> Self {
        self.callback(StepSchedule::new(schedule))
    }
}

impl<M: Model, O: Optimizer, L: LossFn> Trainer<M, O, L> {
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
        let n = check_data(&self.model, x, y, &self.loss)?;
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
        let weights = sample_weights(n, tw, &y[..n_train * tw], &fit)?;
        let validation = match fit.validation_data {
            Some((vx, vy)) => {
                check_data(&self.model, vx, vy, &self.loss)?;
                Some((vx, vy))
            }
            None if n_train < n => Some((&x[n_train * M::INPUT..], &y[n_train * tw..])),
            None => None,
        };

        let mut history = History::default();
        let batches = n_train.div_ceil(fit.batch_size) as u64;
        let start = fit.initial_epoch as u64 * batches;
        let mut outcome = Ok(());
        for cb in &mut fit.callbacks {
            let mut ctx = Context::new(&mut self.model, &mut self.optimizer, fit.epochs, start);
            outcome = cb.on_train_begin(&mut ctx);
            if outcome.is_err() {
                break;
            }
        }
        if outcome.is_ok() {
            outcome = self.run_epochs(
                train,
                weights.as_deref(),
                validation,
                &mut fit,
                &mut history,
            );
        }
        let end = start + history.epochs() as u64 * batches;
        for cb in &mut fit.callbacks {
            let mut ctx = Context::new(&mut self.model, &mut self.optimizer, fit.epochs, end);
            cb.on_train_end(&mut ctx);
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
        weights: Option<&[f32]>,
        validation: Option<(&[f32], &[f32])>,
        fit: &mut Fit<'_>,
        history: &mut History,
    ) -> Result<()> {
        let n_train = x_train.len() / M::INPUT;
        let mut rng = Rng::new(fit.seed);
        // Each epoch draws its dropout masks from a generator of its own, so that a `fit`
        // resumed at `initial_epoch` draws what the uninterrupted one would have.
        let mut dropout_seeds = rng.fork();
        self.order.clear();
        self.order.extend(0..n_train);
        let batches = n_train.div_ceil(fit.batch_size);
        let mut progress = Progress::new(fit.verbose, fit.epochs, batches);
        let epochs = fit.epochs;
        for epoch in 0..fit.epochs {
            if fit.shuffle {
                rng.shuffle(&mut self.order);
            }
            let mut dropout_rng = dropout_seeds.fork();
            if epoch < fit.initial_epoch {
                continue;
            }
            let first_step = (epoch * batches) as u64;
            for cb in &mut fit.callbacks {
                let mut ctx =
                    Context::new(&mut self.model, &mut self.optimizer, epochs, first_step);
                cb.on_epoch_begin(epoch, &mut ctx)?;
            }
            progress.epoch_begin(epoch);
            let mut totals = core::mem::take(&mut self.totals);
            totals.reset(self.metrics.len());
            let mut epoch_batches = Batches {
                x: core::mem::take(&mut self.batch_x),
                y: core::mem::take(&mut self.batch_y),
                w: core::mem::take(&mut self.batch_w),
                order: core::mem::take(&mut self.order),
                train: (x_train, y_train),
                weights,
                batch_size: fit.batch_size,
                first_step,
            };
            let run = self.run_batches(
                &mut epoch_batches,
                &mut fit.callbacks,
                epochs,
                &mut dropout_rng,
                &mut totals,
                &mut progress,
            );
            let Batches {
                x: batch_x,
                y: batch_y,
                w: batch_w,
                order,
                ..
            } = epoch_batches;
            let diverged = match run {
                Ok(diverged) => diverged,
                Err(e) => {
                    self.batch_x = batch_x;
                    self.batch_y = batch_y;
                    self.batch_w = batch_w;
                    self.order = order;
                    self.totals = totals;
                    progress.abort();
                    return Err(e);
                }
            };
            self.batch_x = batch_x;
            self.batch_y = batch_y;
            self.batch_w = batch_w;
            self.order = order;
            let mut logs = Logs::default();
            logs.insert("loss", totals.mean_loss());
            for i in 0..self.metrics.len() {
                logs.insert(self.metric_name(i), totals.value(i, self.metrics[i]));
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
                logs.insert("val_loss", eval.loss);
                for (name, v) in eval.metrics {
                    logs.insert(alloc::format!("val_{name}"), v);
                }
            }
            logs.insert("lr", self.optimizer.learning_rate());
            let mut stop = false;
            let mut failed = None;
            let next_step = first_step + batches as u64;
            for cb in &mut fit.callbacks {
                let mut ctx = Context::new(&mut self.model, &mut self.optimizer, epochs, next_step);
                match cb.on_epoch_end(epoch, &mut logs, &mut ctx) {
                    Ok(Control::Stop) => stop = true,
                    Ok(Control::Continue) => {}
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
            }
            history.record(&logs);
            progress.epoch_end(&logs);
            if let Some(e) = failed {
                return Err(e);
            }
            if stop {
                history.stopped_epoch = Some(epoch);
                break;
            }
        }
        Ok(())
    }
}

/// One epoch's batches as [`Trainer::run_batches`] runs them: the buffers they are gathered
/// into, the order of the samples, and the training data.
struct Batches<'d> {
    x: Vec<f32>,
    y: Vec<f32>,
    w: Vec<f32>,
    order: Vec<usize>,
    train: (&'d [f32], &'d [f32]),
    weights: Option<&'d [f32]>,
    batch_size: usize,
    first_step: u64,
}

impl<M: Model, O: Optimizer, L: LossFn> Trainer<M, O, L> {
    /// Runs one epoch's batches: `Ok(Some(b))` if batch `b`'s loss was not finite (then the
    /// epoch stops there), an error if a callback's `on_batch_begin` failed. With a pool of
    /// threads, no callback and no live progress bar (neither need be `Send`), the whole
    /// loop runs inside the pool: each step then starts on a pool thread, where handing
    /// every step to the pool from outside cost a wake-up and a sleep of the calling thread
    /// per batch.
    fn run_batches(
        &mut self,
        batches: &mut Batches<'_>,
        callbacks: &mut [Box<dyn Callback + '_>],
        epochs: usize,
        dropout_rng: &mut Rng,
        totals: &mut Totals,
        progress: &mut Progress,
    ) -> Result<Option<usize>> {
        #[cfg(feature = "std")]
        if callbacks.is_empty() && !progress.draws_batches() {
            if let Some(pool) = self.pool.take() {
                let run = pool.install(|| {
                    self.batch_loop(
                        batches,
                        &mut |_, _| Ok(()),
                        dropout_rng,
                        totals,
                        &mut |_, _| {},
                    )
                });
                self.pool = Some(pool);
                return run;
            }
        }
        let mut begin = |trainer: &mut Self, step: u64| -> Result<()> {
            for cb in callbacks.iter_mut() {
                let mut ctx =
                    Context::new(&mut trainer.model, &mut trainer.optimizer, epochs, step);
                cb.on_batch_begin(&mut ctx)?;
            }
            Ok(())
        };
        let mut end = |done: usize, loss: f32| progress.batch_end(done, loss);
        self.batch_loop(batches, &mut begin, dropout_rng, totals, &mut end)
    }

    /// The loop of [`run_batches`](Self::run_batches), `begin` called before each batch
    /// with its step, `end` after it with the batches done and the mean loss so far.
    fn batch_loop(
        &mut self,
        batches: &mut Batches<'_>,
        begin: &mut impl FnMut(&mut Self, u64) -> Result<()>,
        dropout_rng: &mut Rng,
        totals: &mut Totals,
        end: &mut impl FnMut(usize, f32),
    ) -> Result<Option<usize>> {
        let tw = self.loss.target_width(M::OUTPUT);
        let (x_train, y_train) = batches.train;
        for (b, chunk) in batches.order.chunks(batches.batch_size).enumerate() {
            begin(self, batches.first_step + b as u64)?;
            batches.x.resize(chunk.len() * M::INPUT, 0.0);
            gather_rows(x_train, M::INPUT, chunk, &mut batches.x);
            batches.y.clear();
            batches.w.clear();
            for &i in chunk {
                batches.y.extend_from_slice(&y_train[i * tw..(i + 1) * tw]);
                if let Some(w) = batches.weights {
                    batches.w.push(w[i]);
                }
            }
            let loss = self.run_batch(
                &batches.x,
                &batches.y,
                batches.weights.map(|_| batches.w.as_slice()),
                chunk.len(),
                Some(&mut *dropout_rng),
                true,
                totals,
            );
            if !loss.is_finite() {
                return Ok(Some(b));
            }
            end(b + 1, totals.mean_loss());
        }
        Ok(None)
    }
}

/// The training samples' weights from `sample_weight` and `class_weight` (`None` without
/// either); `y_train` holds the targets of the first samples, `tw` per sample, and
/// `sample_weight` covers all `n` samples.
fn sample_weights(n: usize, tw: usize, y_train: &[f32], fit: &Fit<'_>) -> Result<Option<Vec<f32>>> {
    if fit.sample_weight.is_none() && fit.class_weight.is_none() {
        return Ok(None);
    }
    let n_train = y_train.len() / tw;
    let mut w = alloc::vec![1.0_f32; n_train];
    if let Some(sw) = fit.sample_weight {
        if sw.len() != n {
            return Err(Error::SampleCountMismatch { x: n, y: sw.len() });
        }
        check_weights("sample_weight", sw)?;
        w.copy_from_slice(&sw[..n_train]);
    }
    if let Some(cw) = fit.class_weight {
        check_weights("class_weight", cw)?;
        for (i, wi) in w.iter_mut().enumerate() {
            let row = &y_train[i * tw..(i + 1) * tw];
            let class = if tw == 1 {
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let c = libm::roundf(row[0].max(0.0)) as usize;
                c
            } else {
                crate::metrics::argmax(row)
            };
            let Some(&c) = cw.get(class) else {
                return Err(Error::InvalidArgument {
                    name: "class_weight",
                    reason: "has no weight for a class found in the targets (give one weight \
                             per class id, from 0)",
                });
            };
            *wi *= c;
        }
    }
    Ok(Some(w))
}

fn check_weights(name: &'static str, w: &[f32]) -> Result<()> {
    if w.iter().any(|v| !v.is_finite() || *v < 0.0) {
        return Err(Error::InvalidArgument {
            name,
            reason: "weights must be finite and >= 0",
        });
    }
    Ok(())
}
