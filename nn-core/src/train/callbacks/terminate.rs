//! [`TerminateOnNaN`]: Keras' name for stopping when a value stops being finite.

use super::{Callback, Context, Control, Logs};
use crate::error::Result;

/// Stops training after an epoch that logged a NaN or infinite value (a metric, or the
/// learning rate) (Keras' `TerminateOnNaN`).
///
/// `fit` always stops on a NaN or infinite **training loss**, at the batch where it appears,
/// without applying that batch's update, and returns
/// [`Error::LossDiverged`](crate::Error::LossDiverged) inside
/// [`Error::TrainingStopped`](crate::Error::TrainingStopped) with the completed epochs'
/// history: that is Keras' `TerminateOnNaN`, built in. This callback adds the same rule for
/// the other logged values, stopping quietly (the history ends with the bad epoch and
/// [`stopped_epoch`](Self::stopped_epoch) names it).
#[derive(Clone, Debug, Default)]
pub struct TerminateOnNaN {
    stopped_epoch: Option<usize>,
}

impl TerminateOnNaN {
    /// A new callback.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
    /// The epoch (zero-based) whose logs held a value that was not finite, if one did.
    #[must_use]
    pub fn stopped_epoch(&self) -> Option<usize> {
        self.stopped_epoch
    }
}

impl Callback for TerminateOnNaN {
    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &mut Logs,
        _ctx: &mut Context<'_>,
    ) -> Result<Control> {
        if logs.entries().iter().any(|(_, v)| !v.is_finite()) {
            self.stopped_epoch = Some(epoch);
            return Ok(Control::Stop);
        }
        Ok(Control::Continue)
    }
}
