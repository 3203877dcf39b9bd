//! Hooks into [`Trainer::fit`](super::Trainer::fit), as Keras has them: the [`Callback`]
//! contract, the values logged at the end of each epoch ([`Logs`]), what a callback sees and
//! may change ([`Context`]: the model's parameters, the optimizer's learning rate and state),
//! and the built-in callbacks.
//!
//! | callback | Keras | what it does |
//! |---|---|---|
//! | [`EarlyStopping`] | `EarlyStopping` | stops when a monitored value stops improving |
//! | [`ModelCheckpoint`] | `ModelCheckpoint` | saves the weights (and optimizer state) each epoch or on improvement |
//! | [`CsvLogger`] | `CSVLogger` | writes each epoch's logs to a CSV file |
//! | [`TerminateOnNaN`] | `TerminateOnNaN` | stops when a logged value is NaN or infinite |
//! | [`LearningRateScheduler`] | `LearningRateScheduler` | sets the learning rate from the epoch at each epoch's start |
//! | [`ReduceLROnPlateau`] | `ReduceLROnPlateau` | divides the learning rate when a monitored value stalls |
//! | [`StepSchedule`] | a schedule given as the learning rate | sets the learning rate before every step from a [`LearningRateSchedule`](crate::optim::LearningRateSchedule) |
//!
//! A callback is passed by value, or by `&mut` so that its state stays readable after
//! `fit` (Keras keeps its callback objects):
//!
//! ```ignore
//! let mut stop = EarlyStopping::new("val_loss").patience(3);
//! trainer.fit(&x, &y, Fit::new().epochs(100).validation_split(0.2).callback(&mut stop))?;
//! println!("stopped after epoch {:?}", stop.stopped_epoch());
//! ```

mod early_stopping;
mod learning_rate;
mod monitor;
mod terminate;

#[cfg(feature = "std")]
mod checkpoint;
#[cfg(feature = "std")]
mod csv_logger;

pub use early_stopping::EarlyStopping;
pub use learning_rate::{LearningRateScheduler, ReduceLROnPlateau, StepSchedule};
pub use monitor::Mode;
pub use terminate::TerminateOnNaN;

#[cfg(feature = "std")]
pub use checkpoint::ModelCheckpoint;
#[cfg(feature = "std")]
pub use csv_logger::CsvLogger;

use alloc::string::String;
use alloc::vec::Vec;

use crate::error::Result;
use crate::model::Model;
use crate::optim::{Optimizer, OptimizerState};

/// Named values logged at the end of an epoch: `loss`, the metrics, `val_loss` and `val_*`
/// with validation data, then `lr` (the learning rate of the epoch's last step).
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
    /// Logs `value` under `name`, replacing an earlier value of that name.
    pub fn insert(&mut self, name: impl Into<String>, value: f32) {
        let name = name.into();
        match self.entries.iter_mut().find(|(n, _)| *n == name) {
            Some(entry) => entry.1 = value,
            None => self.entries.push((name, value)),
        }
    }
}

/// Whether training goes on after a callback.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    /// Go on.
    Continue,
    /// Stop after this epoch (Keras' `model.stop_training = True`).
    Stop,
}

/// What a callback sees of the training and may change: the model's parameters (and
/// state), the optimizer's learning rate and state, the epoch count and the step.
pub struct Context<'a> {
    model: &'a mut dyn ModelAccess,
    optimizer: &'a mut dyn Optimizer,
    epochs: usize,
    step: u64,
}

impl<'a> Context<'a> {
    /// A context over `model` and `optimizer` at global step `step` of a training of
    /// `epochs` epochs.
    pub(crate) fn new<M: Model>(
        model: &'a mut M,
        optimizer: &'a mut dyn Optimizer,
        epochs: usize,
        step: u64,
    ) -> Self {
        Self {
            model,
            optimizer,
            epochs,
            step,
        }
    }
    /// The model's name ([`Model::NAME`]).
    #[must_use]
    pub fn model_name(&self) -> &'static str {
        self.model.name()
    }
    /// The model's parameters.
    #[must_use]
    pub fn params(&self) -> &[f32] {
        self.model.params()
    }
    /// The model's parameters, mutably (e.g. to restore the best ones).
    pub fn params_mut(&mut self) -> &mut [f32] {
        self.model.params_mut()
    }
    /// The model's state (batch normalisation's running statistics; empty for most models).
    #[must_use]
    pub fn model_state(&self) -> &[f32] {
        self.model.state()
    }
    /// The model's state, mutably.
    pub fn model_state_mut(&mut self) -> &mut [f32] {
        self.model.state_mut()
    }
    /// The optimizer's current learning rate.
    #[must_use]
    pub fn learning_rate(&self) -> f32 {
        self.optimizer.learning_rate()
    }
    /// Sets the optimizer's learning rate (from the next step on). The rate is checked when
    /// set: a rate that is negative or not finite is an error and leaves the rate unchanged.
    ///
    /// # Errors
    /// [`Error::InvalidSetting`](crate::Error::InvalidSetting) for a rate that is negative,
    /// NaN or infinite.
    pub fn set_learning_rate(&mut self, lr: f32) -> Result<()> {
        if !lr.is_finite() || lr < 0.0 {
            return Err(crate::Error::InvalidSetting {
                owner: "learning-rate callback",
                name: "learning_rate",
                value: f64::from(lr),
                expected: "finite and >= 0",
            });
        }
        self.optimizer.set_learning_rate(lr);
        Ok(())
    }
    /// The optimizer's state (see [`Optimizer::state`]).
    #[must_use]
    pub fn optimizer_state(&self) -> OptimizerState {
        self.optimizer.state()
    }
    /// The number of epochs `fit` was asked for.
    #[must_use]
    pub fn epochs(&self) -> usize {
        self.epochs
    }
    /// Steps (batches) taken since the first epoch (epoch 0, also when `fit` resumes at a
    /// later `initial_epoch`).
    #[must_use]
    pub fn step(&self) -> u64 {
        self.step
    }
    /// Writes the model's weights to the safetensors file `path`
    /// ([`io::weights::save`](crate::io::weights::save)).
    ///
    /// # Errors
    /// As [`io::weights::save`](crate::io::weights::save).
    #[cfg(feature = "std")]
    pub fn save_weights(&self, path: &std::path::Path) -> Result<()> {
        self.model.save_weights(path)
    }
}

/// What a [`Context`] needs of a model, without its type.
trait ModelAccess {
    fn name(&self) -> &'static str;
    fn params(&self) -> &[f32];
    fn params_mut(&mut self) -> &mut [f32];
    fn state(&self) -> &[f32];
    fn state_mut(&mut self) -> &mut [f32];
    #[cfg(feature = "std")]
    fn save_weights(&self, path: &std::path::Path) -> Result<()>;
}

impl<M: Model> ModelAccess for M {
    fn name(&self) -> &'static str {
        M::NAME
    }
    fn params(&self) -> &[f32] {
        Model::params(self)
    }
    fn params_mut(&mut self) -> &mut [f32] {
        Model::params_mut(self)
    }
    fn state(&self) -> &[f32] {
        Model::state(self)
    }
    fn state_mut(&mut self) -> &mut [f32] {
        Model::state_mut(self)
    }
    #[cfg(feature = "std")]
    fn save_weights(&self, path: &std::path::Path) -> Result<()> {
        crate::io::weights::save(self, path)
    }
}

/// Hooks into [`Trainer::fit`](super::Trainer::fit) (Keras' `Callback`). Every method has a
/// default that does nothing; a callback implements the ones it needs.
///
/// Callbacks run in the order they were added. Pass one by `&mut` to read its state after
/// `fit` (`&mut C` is a callback when `C` is).
pub trait Callback {
    /// Before the first epoch.
    ///
    /// # Errors
    /// A callback may refuse to start (a file it cannot create, a setting out of range).
    fn on_train_begin(&mut self, _ctx: &mut Context<'_>) -> Result<()> {
        Ok(())
    }
    /// At the start of each epoch (zero-based), before its first step.
    ///
    /// # Errors
    /// An error stops training (kept in [`Error::TrainingStopped`](crate::Error::TrainingStopped)).
    fn on_epoch_begin(&mut self, _epoch: usize, _ctx: &mut Context<'_>) -> Result<()> {
        Ok(())
    }
    /// Before each step; [`Context::step`] counts the steps from the first epoch.
    ///
    /// # Errors
    /// An error stops training.
    fn on_batch_begin(&mut self, _ctx: &mut Context<'_>) -> Result<()> {
        Ok(())
    }
    /// After each epoch, with its logs (which a callback may add to, e.g. `lr`).
    ///
    /// # Errors
    /// A callback may abort training with an error (e.g. it monitors a value not logged).
    fn on_epoch_end(
        &mut self,
        _epoch: usize,
        _logs: &mut Logs,
        _ctx: &mut Context<'_>,
    ) -> Result<Control> {
        Ok(Control::Continue)
    }
    /// After the last epoch, also when training stopped on an error; may change the
    /// parameters (e.g. restore the best ones).
    fn on_train_end(&mut self, _ctx: &mut Context<'_>) {}
}

impl<C: Callback + ?Sized> Callback for &mut C {
    fn on_train_begin(&mut self, ctx: &mut Context<'_>) -> Result<()> {
        (**self).on_train_begin(ctx)
    }
    fn on_epoch_begin(&mut self, epoch: usize, ctx: &mut Context<'_>) -> Result<()> {
        (**self).on_epoch_begin(epoch, ctx)
    }
    fn on_batch_begin(&mut self, ctx: &mut Context<'_>) -> Result<()> {
        (**self).on_batch_begin(ctx)
    }
    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &mut Logs,
        ctx: &mut Context<'_>,
    ) -> Result<Control> {
        (**self).on_epoch_end(epoch, logs, ctx)
    }
    fn on_train_end(&mut self, ctx: &mut Context<'_>) {
        (**self).on_train_end(ctx);
    }
}
