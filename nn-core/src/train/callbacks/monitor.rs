//! A monitored value and its best so far, shared by the callbacks that watch one
//! ([`EarlyStopping`](super::EarlyStopping), [`ModelCheckpoint`](super::ModelCheckpoint),
//! [`ReduceLROnPlateau`](super::ReduceLROnPlateau)).

use alloc::string::String;

use super::Logs;
use crate::error::{Error, Result};

/// Whether a monitored value should go down or up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// Keras' `auto`: `max` for accuracies, AUC, precision, recall, F1 and R²
    /// (names containing `acc`, `auc`, `precision`, `recall`, `f1` or `r2`), `min` for the
    /// rest (losses, errors).
    #[default]
    Auto,
    /// Lower is better.
    Min,
    /// Higher is better.
    Max,
}

/// The name of a logged value, whether higher is better, the smallest change that counts,
/// and the best value seen.
#[derive(Clone, Debug)]
pub(super) struct Monitor {
    pub(super) name: String,
    pub(super) mode: Mode,
    pub(super) min_delta: f32,
    pub(super) best: Option<f32>,
}

impl Monitor {
    pub(super) fn new(name: &str) -> Self {
        Self {
            name: name.into(),
            mode: Mode::Auto,
            min_delta: 0.0,
            best: None,
        }
    }

    pub(super) fn higher_is_better(&self) -> bool {
        match self.mode {
            Mode::Max => true,
            Mode::Min => false,
            Mode::Auto => {
                let n = self.name.trim_start_matches("val_");
                ["acc", "auc", "precision", "recall", "f1", "r2"]
                    .iter()
                    .any(|k| n.contains(k))
            }
        }
    }

    /// The monitored value in `logs`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming `owner` when `fit` does not log it.
    pub(super) fn value(&self, logs: &Logs, owner: &'static str) -> Result<f32> {
        logs.get(&self.name).ok_or(Error::InvalidArgument {
            name: owner,
            reason: "fit does not log the monitored value (`val_*` needs validation data; \
                     metrics are logged under their Keras names, e.g. `val_accuracy`)",
        })
    }

    /// Whether `value` beats the best by more than `min_delta` (always, for the first value).
    pub(super) fn improves(&self, value: f32) -> bool {
        match self.best {
            None => !value.is_nan(),
            Some(best) if self.higher_is_better() => value - self.min_delta > best,
            Some(best) => value + self.min_delta < best,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_mode_follows_the_name_as_keras() {
        for (name, max) in [
            ("val_loss", false),
            ("loss", false),
            ("val_accuracy", true),
            ("sparse_categorical_accuracy", true),
            ("val_auc", true),
            ("precision", true),
            ("val_f1", true),
            ("r2", true),
            ("mae", false),
            ("val_rmse", false),
        ] {
            assert_eq!(Monitor::new(name).higher_is_better(), max, "{name}");
        }
    }

    #[test]
    fn an_improvement_is_beyond_min_delta_in_the_right_direction() {
        let mut m = Monitor::new("val_loss");
        m.min_delta = 0.1;
        assert!(m.improves(5.0));
        m.best = Some(1.0);
        assert!(m.improves(0.85));
        assert!(!m.improves(0.95));
        assert!(!m.improves(1.5));
        m.mode = Mode::Max;
        assert!(m.improves(1.2));
        assert!(!m.improves(1.05));
    }
}
