//! [`EarlyStopping`]: stops training when a monitored value has stopped improving.

use alloc::vec::Vec;

use super::monitor::{Mode, Monitor};
use super::{Callback, Context, Control, Logs};
use crate::error::Result;

/// Stops training when a monitored value has stopped improving (Keras' `EarlyStopping`).
///
/// Pass it by `&mut` to read [`stopped_epoch`](Self::stopped_epoch) and
/// [`best_epoch`](Self::best_epoch) after `fit`.
#[derive(Clone, Debug)]
pub struct EarlyStopping {
    monitor: Monitor,
    patience: usize,
    restore_best_weights: bool,
    best_epoch: usize,
    best_weights: Vec<f32>,
    best_state: Vec<f32>,
    wait: usize,
    stopped_epoch: Option<usize>,
}

impl EarlyStopping {
    /// Monitors `monitor` (e.g. `"val_loss"`) with patience 0, as Keras' defaults.
    #[must_use]
    pub fn new(monitor: &str) -> Self {
        Self {
            monitor: Monitor::new(monitor),
            patience: 0,
            restore_best_weights: false,
            best_epoch: 0,
            best_weights: Vec::new(),
            best_state: Vec::new(),
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
        self.monitor.min_delta = min_delta.abs();
        self
    }
    /// Whether lower or higher is better.
    #[must_use]
    pub fn mode(mut self, mode: Mode) -> Self {
        self.monitor.mode = mode;
        self
    }
    /// At the end of training, put back the weights (and model state) of the best epoch.
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
    /// The best monitored value so far.
    #[must_use]
    pub fn best(&self) -> Option<f32> {
        self.monitor.best
    }
}

impl Callback for EarlyStopping {
    fn on_train_begin(&mut self, _ctx: &mut Context<'_>) -> Result<()> {
        self.monitor.best = None;
        self.wait = 0;
        self.stopped_epoch = None;
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &mut Logs,
        ctx: &mut Context<'_>,
    ) -> Result<Control> {
        let value = self.monitor.value(logs, "EarlyStopping monitor")?;
        if self.monitor.improves(value) {
            self.monitor.best = Some(value);
            self.best_epoch = epoch;
            self.wait = 0;
            if self.restore_best_weights {
                self.best_weights.clear();
                self.best_weights.extend_from_slice(ctx.params());
                self.best_state.clear();
                self.best_state.extend_from_slice(ctx.model_state());
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

    fn on_train_end(&mut self, ctx: &mut Context<'_>) {
        if self.restore_best_weights && self.best_weights.len() == ctx.params().len() {
            ctx.params_mut().copy_from_slice(&self.best_weights);
            if self.best_state.len() == ctx.model_state().len() {
                ctx.model_state_mut().copy_from_slice(&self.best_state);
            }
        }
    }
}
