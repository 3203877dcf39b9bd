//! Callbacks that set the learning rate: [`LearningRateScheduler`] (per epoch, from a
//! closure), [`StepSchedule`] (per step, from a schedule) and [`ReduceLROnPlateau`].

use alloc::boxed::Box;

use super::monitor::{Mode, Monitor};
use super::{Callback, Context, Control, Logs};
use crate::error::{Error, Result};
use crate::optim::LearningRateSchedule;

/// Sets the learning rate at the start of each epoch to `schedule(epoch, current_rate)`
/// (Keras' `LearningRateScheduler`; the epoch is zero-based).
///
/// ```
/// use nn_core::train::LearningRateScheduler;
/// // Keep the rate for 10 epochs, then divide it by 10 every 10 epochs.
/// let halve = LearningRateScheduler::new(|epoch, lr| if epoch > 0 && epoch % 10 == 0 { lr / 10.0 } else { lr });
/// ```
pub struct LearningRateScheduler<'a> {
    schedule: Box<dyn FnMut(usize, f32) -> f32 + 'a>,
}

impl<'a> LearningRateScheduler<'a> {
    /// Calls `schedule(epoch, current_rate)` before each epoch and sets the rate it returns.
    pub fn new(schedule: impl FnMut(usize, f32) -> f32 + 'a) -> Self {
        Self {
            schedule: Box::new(schedule),
        }
    }
}

impl Callback for LearningRateScheduler<'_> {
    fn on_epoch_begin(&mut self, epoch: usize, ctx: &mut Context<'_>) -> Result<()> {
        let lr = (self.schedule)(epoch, ctx.learning_rate());
        ctx.set_learning_rate(lr)
    }
}

/// Sets the learning rate before every step from a [`LearningRateSchedule`] of the step
/// (what Keras does with a schedule given as an optimizer's learning rate). Added by
/// [`Fit::learning_rate_schedule`](crate::train::Fit::learning_rate_schedule).
pub struct StepSchedule<S> {
    schedule: S,
}

impl<S: LearningRateSchedule> StepSchedule<S> {
    /// Follows `schedule`.
    pub fn new(schedule: S) -> Self {
        Self { schedule }
    }
}

impl<S: LearningRateSchedule> Callback for StepSchedule<S> {
    fn on_train_begin(&mut self, _ctx: &mut Context<'_>) -> Result<()> {
        self.schedule.validate()
    }
    fn on_batch_begin(&mut self, ctx: &mut Context<'_>) -> Result<()> {
        let lr = self.schedule.rate(ctx.step());
        ctx.set_learning_rate(lr)
    }
}

/// Multiplies the learning rate by `factor` when a monitored value has not improved for
/// `patience` epochs (Keras' `ReduceLROnPlateau`, with its defaults: `val_loss`, factor
/// 0.1, patience 10, `min_delta` 1e-4, no cooldown, `min_lr` 0).
#[derive(Clone, Debug)]
pub struct ReduceLROnPlateau {
    monitor: Monitor,
    factor: f32,
    patience: usize,
    cooldown: usize,
    min_lr: f32,
    wait: usize,
    cooldown_counter: usize,
    reductions: usize,
}

impl ReduceLROnPlateau {
    /// Monitors `monitor` with Keras' defaults.
    #[must_use]
    pub fn new(monitor: &str) -> Self {
        let mut monitor = Monitor::new(monitor);
        monitor.min_delta = 1e-4;
        Self {
            monitor,
            factor: 0.1,
            patience: 10,
            cooldown: 0,
            min_lr: 0.0,
            wait: 0,
            cooldown_counter: 0,
            reductions: 0,
        }
    }
    /// What the rate is multiplied by, in `(0, 1)`.
    #[must_use]
    pub fn factor(mut self, factor: f32) -> Self {
        self.factor = factor;
        self
    }
    /// Epochs without improvement before a reduction.
    #[must_use]
    pub fn patience(mut self, patience: usize) -> Self {
        self.patience = patience;
        self
    }
    /// Epochs to wait after a reduction before counting again.
    #[must_use]
    pub fn cooldown(mut self, cooldown: usize) -> Self {
        self.cooldown = cooldown;
        self
    }
    /// The rate never goes below this.
    #[must_use]
    pub fn min_lr(mut self, min_lr: f32) -> Self {
        self.min_lr = min_lr;
        self
    }
    /// Smallest change that counts as an improvement.
    #[must_use]
    pub fn min_delta(mut self, min_delta: f32) -> Self {
        self.monitor.min_delta = min_delta.abs();
        self
    }
    /// Whether lower or higher is better.
    #[must_use]
    pub fn mode(mut self, mode: Mode) -> Self {
        self.monitor.mode = mode;
        self
    }
    /// How many times the rate was reduced.
    #[must_use]
    pub fn reductions(&self) -> usize {
        self.reductions
    }
}

impl Callback for ReduceLROnPlateau {
    fn on_train_begin(&mut self, _ctx: &mut Context<'_>) -> Result<()> {
        if !(self.factor > 0.0 && self.factor < 1.0) {
            return Err(Error::InvalidSetting {
                owner: "ReduceLROnPlateau",
                name: "factor",
                value: f64::from(self.factor),
                expected: "in (0, 1)",
            });
        }
        self.monitor.best = None;
        self.wait = 0;
        self.cooldown_counter = 0;
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        _epoch: usize,
        logs: &mut Logs,
        ctx: &mut Context<'_>,
    ) -> Result<Control> {
        let value = self.monitor.value(logs, "ReduceLROnPlateau monitor")?;
        if self.cooldown_counter > 0 {
            self.cooldown_counter -= 1;
            self.wait = 0;
        }
        if self.monitor.improves(value) {
            self.monitor.best = Some(value);
            self.wait = 0;
        } else if self.cooldown_counter == 0 {
            self.wait += 1;
            if self.wait >= self.patience {
                let old = ctx.learning_rate();
                if old > self.min_lr {
                    ctx.set_learning_rate((old * self.factor).max(self.min_lr))?;
                    self.reductions += 1;
                    self.cooldown_counter = self.cooldown;
                    self.wait = 0;
                }
            }
        }
        Ok(Control::Continue)
    }
}
