//! The per-epoch values [`Trainer::fit`](super::Trainer::fit) logged.

use alloc::string::String;
use alloc::vec::Vec;

/// Per-epoch values logged by [`Trainer::fit`](super::Trainer::fit) (Keras' `History.history`).
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
    /// Appends one epoch's `(name, value)` entries (see [`Logs`](super::Logs)).
    pub(crate) fn push(&mut self, entries: &[(String, f32)]) {
        for (name, value) in entries {
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
