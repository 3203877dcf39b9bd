//! The per-epoch values [`Trainer::fit`](super::Trainer::fit) logged.

use alloc::string::String;
use alloc::vec::Vec;

use super::Logs;

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
    /// Appends one epoch's values, as `fit` does after each epoch: the way to keep a
    /// history of a training loop of your own (and to plot it, feature `plots`).
    ///
    /// Every name keeps one value per epoch: a name first logged now reads NaN for the
    /// earlier epochs, and a name logged before but missing from `logs` reads NaN for this
    /// one (plots leave NaN out).
    ///
    /// ```
    /// use nn_core::train::{History, Logs};
    /// let mut history = History::default();
    /// let mut logs = Logs::default();
    /// for loss in [0.9, 0.5, 0.3] {
    ///     // ... a step or an epoch of your loop ...
    ///     logs.insert("loss", loss);
    ///     history.record(&logs);
    /// }
    /// assert_eq!(history.get("loss"), Some(&[0.9, 0.5, 0.3][..]));
    /// assert_eq!(history.epochs(), 3);
    /// ```
    pub fn record(&mut self, logs: &Logs) {
        let epoch = self.epochs();
        for (name, value) in logs.entries() {
            let i = match self.names.iter().position(|n| n == name) {
                Some(i) => i,
                None => {
                    self.names.push(name.clone());
                    self.values.push(alloc::vec![f32::NAN; epoch]);
                    self.values.len() - 1
                }
            };
            self.values[i].push(*value);
        }
        for values in &mut self.values {
            if values.len() == epoch {
                values.push(f32::NAN);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_logged_late_or_left_out_keep_one_value_per_epoch() {
        let mut h = History::default();
        let mut first = Logs::default();
        first.insert("loss", 1.0);
        h.record(&first);
        let mut second = Logs::default();
        second.insert("val_loss", 3.0);
        h.record(&second);
        first.insert("loss", 0.5);
        h.record(&first);
        assert_eq!(h.epochs(), 3);
        let loss = h.get("loss").unwrap();
        assert_eq!((loss[0], loss[2]), (1.0, 0.5));
        assert!(loss[1].is_nan());
        let val = h.get("val_loss").unwrap();
        assert_eq!(val.len(), 3);
        assert!(val[0].is_nan() && val[2].is_nan());
        assert_eq!(val[1], 3.0);
        assert_eq!(h.last("loss"), Some(0.5));
    }
}
