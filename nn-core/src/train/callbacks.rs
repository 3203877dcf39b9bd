//! Hooks into [`Trainer::fit`](super::Trainer::fit): the [`Callback`] contract, the values
//! logged at the end of each epoch ([`Logs`]), and [`EarlyStopping`].

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::error::{Error, Result};

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
    pub(super) fn push(&mut self, name: impl Into<String>, value: f32) {
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

/// Hooks into [`Trainer::fit`](super::Trainer::fit).
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
