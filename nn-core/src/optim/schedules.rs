//! Learning-rate schedules of the step (Keras' `keras.optimizers.schedules`): a
//! [`LearningRateSchedule`] gives the rate of step `step` (zero-based, counted over the whole
//! training). Use one in `fit` with [`Fit::learning_rate_schedule`](crate::train::Fit::learning_rate_schedule),
//! or call [`rate`](LearningRateSchedule::rate) yourself around `train_on_batch`.
//!
//! ```
//! use nn_core::optim::{CosineDecay, ExponentialDecay, LearningRateSchedule, PiecewiseConstant};
//! let exp = ExponentialDecay::new(0.1, 100, 0.5);
//! assert!((exp.rate(100) - 0.05).abs() < 1e-7);
//! let cos = CosineDecay::new(0.1, 1000).warmup(0.2, 100);
//! assert!((cos.rate(50) - 0.15).abs() < 1e-6 && (cos.rate(1100) - 0.0).abs() < 1e-6);
//! let steps = PiecewiseConstant::new(&[10, 20], &[1.0, 0.5, 0.1]);
//! assert_eq!([steps.rate(10), steps.rate(11), steps.rate(25)], [1.0, 0.5, 0.1]);
//! ```

use alloc::vec::Vec;

use crate::error::{Error, Result};

/// The learning rate as a function of the step.
pub trait LearningRateSchedule {
    /// The learning rate of step `step` (zero-based).
    fn rate(&self, step: u64) -> f32;

    /// Checks the schedule's settings; `fit` calls it before training.
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] naming the setting.
    fn validate(&self) -> Result<()> {
        Ok(())
    }
}

impl<F: Fn(u64) -> f32> LearningRateSchedule for F {
    fn rate(&self, step: u64) -> f32 {
        self(step)
    }
}

#[allow(clippy::cast_precision_loss)]
fn steps_f64(step: u64) -> f64 {
    step as f64
}

fn setting(owner: &'static str, name: &'static str, value: f32, expected: &'static str) -> Error {
    Error::InvalidSetting {
        owner,
        name,
        value: f64::from(value),
        expected,
    }
}

/// `initial * decay_rate ^ (step / decay_steps)`, the exponent floored with `staircase`
/// (Keras' `ExponentialDecay`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ExponentialDecay {
    initial: f32,
    decay_steps: u64,
    decay_rate: f32,
    staircase: bool,
}

impl ExponentialDecay {
    /// Starts at `initial` and is multiplied by `decay_rate` every `decay_steps` steps.
    #[must_use]
    pub fn new(initial: f32, decay_steps: u64, decay_rate: f32) -> Self {
        Self {
            initial,
            decay_steps,
            decay_rate,
            staircase: false,
        }
    }
    /// Decays in whole steps of `decay_steps` (the exponent is floored).
    #[must_use]
    pub fn staircase(mut self, staircase: bool) -> Self {
        self.staircase = staircase;
        self
    }
}

impl LearningRateSchedule for ExponentialDecay {
    #[allow(clippy::cast_possible_truncation)]
    fn rate(&self, step: u64) -> f32 {
        let mut p = steps_f64(step) / steps_f64(self.decay_steps.max(1));
        if self.staircase {
            p = libm::floor(p);
        }
        (f64::from(self.initial) * libm::pow(f64::from(self.decay_rate), p)) as f32
    }
    #[allow(clippy::cast_precision_loss)]
    fn validate(&self) -> Result<()> {
        let owner = "ExponentialDecay";
        if !(self.initial.is_finite() && self.initial >= 0.0) {
            return Err(setting(owner, "initial", self.initial, "finite and >= 0"));
        }
        if self.decay_steps == 0 {
            return Err(setting(owner, "decay_steps", 0.0, "at least 1"));
        }
        if !(self.decay_rate.is_finite() && self.decay_rate > 0.0) {
            return Err(setting(
                owner,
                "decay_rate",
                self.decay_rate,
                "finite and > 0",
            ));
        }
        Ok(())
    }
}

/// Cosine decay from `initial` (or, after a linear warm-up from `initial`, from the warm-up
/// target) down to `alpha` times that rate over `decay_steps` steps, then flat (Keras'
/// `CosineDecay`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CosineDecay {
    initial: f32,
    decay_steps: u64,
    alpha: f32,
    warmup: Option<(f32, u64)>,
}

impl CosineDecay {
    /// Decays from `initial` to 0 over `decay_steps` steps.
    #[must_use]
    pub fn new(initial: f32, decay_steps: u64) -> Self {
        Self {
            initial,
            decay_steps,
            alpha: 0.0,
            warmup: None,
        }
    }
    /// The final rate as a fraction of the peak (default 0).
    #[must_use]
    pub fn alpha(mut self, alpha: f32) -> Self {
        self.alpha = alpha;
        self
    }
    /// A linear warm-up from `initial` to `target` over `steps` steps before the decay
    /// (Keras' `warmup_target`, `warmup_steps`).
    #[must_use]
    pub fn warmup(mut self, target: f32, steps: u64) -> Self {
        self.warmup = Some((target, steps));
        self
    }
}

impl LearningRateSchedule for CosineDecay {
    #[allow(clippy::cast_possible_truncation)]
    fn rate(&self, step: u64) -> f32 {
        let (peak, warm) = match self.warmup {
            Some((target, steps)) => (target, steps),
            None => (self.initial, 0),
        };
        if step < warm {
            let t = steps_f64(step) / steps_f64(warm);
            let (a, b) = (f64::from(self.initial), f64::from(peak));
            return (a + (b - a) * t) as f32;
        }
        let s = steps_f64((step - warm).min(self.decay_steps));
        let cosine =
            0.5 * (1.0 + libm::cos(core::f64::consts::PI * s / steps_f64(self.decay_steps.max(1))));
        let alpha = f64::from(self.alpha);
        (f64::from(peak) * ((1.0 - alpha) * cosine + alpha)) as f32
    }
    fn validate(&self) -> Result<()> {
        let owner = "CosineDecay";
        if !(self.initial.is_finite() && self.initial >= 0.0) {
            return Err(setting(owner, "initial", self.initial, "finite and >= 0"));
        }
        if self.decay_steps == 0 {
            return Err(setting(owner, "decay_steps", 0.0, "at least 1"));
        }
        if !(0.0..=1.0).contains(&self.alpha) {
            return Err(setting(owner, "alpha", self.alpha, "in [0, 1]"));
        }
        if let Some((target, _)) = self.warmup {
            if !(target.is_finite() && target >= 0.0) {
                return Err(setting(owner, "warmup_target", target, "finite and >= 0"));
            }
        }
        Ok(())
    }
}

/// A constant rate per range of steps (Keras' `PiecewiseConstantDecay`): `values[0]` up to
/// and including step `boundaries[0]`, `values[1]` up to `boundaries[1]`, ..., and the last
/// value after the last boundary.
#[derive(Clone, Debug, PartialEq)]
pub struct PiecewiseConstant {
    boundaries: Vec<u64>,
    values: Vec<f32>,
}

impl PiecewiseConstant {
    /// `values` holds one value more than `boundaries` (checked by
    /// [`validate`](LearningRateSchedule::validate)).
    #[must_use]
    pub fn new(boundaries: &[u64], values: &[f32]) -> Self {
        Self {
            boundaries: boundaries.to_vec(),
            values: values.to_vec(),
        }
    }
}

impl LearningRateSchedule for PiecewiseConstant {
    fn rate(&self, step: u64) -> f32 {
        let i = self.boundaries.iter().take_while(|&&b| step > b).count();
        self.values
            .get(i)
            .or(self.values.last())
            .copied()
            .unwrap_or(0.0)
    }
    #[allow(clippy::cast_precision_loss)]
    fn validate(&self) -> Result<()> {
        let owner = "PiecewiseConstant";
        if self.values.len() != self.boundaries.len() + 1 {
            return Err(setting(
                owner,
                "values",
                self.values.len() as f32,
                "one more value than boundaries",
            ));
        }
        if self.boundaries.windows(2).any(|w| w[0] >= w[1]) {
            return Err(Error::InvalidArgument {
                name: "PiecewiseConstant boundaries",
                reason: "must be strictly increasing",
            });
        }
        if let Some(&v) = self.values.iter().find(|v| !(v.is_finite() && **v >= 0.0)) {
            return Err(setting(owner, "values", v, "finite and >= 0"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keras' formulas, written out in f64 for each case.
    #[test]
    fn exponential_decay_is_keras_formula() {
        let s = ExponentialDecay::new(0.1, 10, 0.96);
        for step in [0_u64, 1, 5, 10, 15, 100] {
            let want = 0.1 * 0.96_f64.powf(step as f64 / 10.0);
            // Relative: the settings are f32 (0.96 is 0.95999998).
            assert!(
                (f64::from(s.rate(step)) / want - 1.0).abs() < 1e-6,
                "{step}"
            );
        }
        let s = s.staircase(true);
        assert_eq!(s.rate(9), s.rate(0));
        assert!((f64::from(s.rate(15)) / 0.096 - 1.0).abs() < 1e-6);
        assert!(ExponentialDecay::new(0.1, 0, 0.9).validate().is_err());
        assert!(ExponentialDecay::new(0.1, 5, 0.9).validate().is_ok());
    }

    #[test]
    fn cosine_decay_with_and_without_warmup() {
        let s = CosineDecay::new(1.0, 100).alpha(0.1);
        assert!((s.rate(0) - 1.0).abs() < 1e-7);
        // Half way: cos = 0, (1 - 0.1) * 0.5 + 0.1.
        assert!((s.rate(50) - 0.55).abs() < 1e-6);
        assert!((s.rate(100) - 0.1).abs() < 1e-6);
        assert!((s.rate(1000) - 0.1).abs() < 1e-6);
        let w = CosineDecay::new(0.0, 100).warmup(1.0, 10);
        assert!((w.rate(0) - 0.0).abs() < 1e-7);
        assert!((w.rate(5) - 0.5).abs() < 1e-6);
        assert!((w.rate(10) - 1.0).abs() < 1e-6);
        let quarter = 0.5 * (1.0 + (core::f64::consts::PI * 25.0 / 100.0).cos());
        assert!((f64::from(w.rate(35)) - quarter).abs() < 1e-6);
        assert!(CosineDecay::new(1.0, 10).alpha(2.0).validate().is_err());
    }

    #[test]
    fn piecewise_constant_boundaries_belong_to_the_range_below() {
        let s = PiecewiseConstant::new(&[100, 200], &[1.0, 0.5, 0.1]);
        assert_eq!(s.rate(0), 1.0);
        assert_eq!(s.rate(100), 1.0);
        assert_eq!(s.rate(101), 0.5);
        assert_eq!(s.rate(200), 0.5);
        assert_eq!(s.rate(201), 0.1);
        assert!(s.validate().is_ok());
        assert!(PiecewiseConstant::new(&[1, 2], &[1.0]).validate().is_err());
        assert!(PiecewiseConstant::new(&[2, 1], &[1.0, 1.0, 1.0])
            .validate()
            .is_err());
    }
}
