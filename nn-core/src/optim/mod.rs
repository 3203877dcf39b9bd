//! Optimizers: update a flat parameter buffer from its gradient.
//!
//! Parameters and gradients are flat `f32` slices of equal length (the whole model, see
//! [`Params`](crate::Params)). Every optimizer implements [`Optimizer`] and is configured with
//! builder-style setters:
//!
//! ```
//! use nn_core::optim::{Adam, Optimizer};
//!
//! let mut adam = Adam::new(1e-3).beta2(0.99).clip_norm(1.0);
//! let mut params = [0.5_f32, -1.0];
//! adam.step(&mut params, &[0.1, -0.2]);
//! assert!(params[0] < 0.5 && params[1] > -1.0);
//! ```
//!
//! The update rules are PyTorch's (`torch.optim`), and they match it in tests. Defaults
//! follow Keras where the two libraries differ (each setter says what PyTorch's default is).
//!
//! Gradient handling shared by all optimizers runs in this order, without modifying the
//! gradient slice:
//!
//! 1. `clip_value(c)`: every component is clamped to `[-c, c]` (Keras `clipvalue`);
//! 2. `clip_norm(c)`: if the L2 norm of the whole (value-clipped) gradient exceeds `c`, the
//!    gradient is scaled down to norm `c` (Keras `global_clipnorm`; the slice is the whole
//!    model, so the norm is global);
//! 3. `weight_decay(wd)` on [`Sgd`], [`Adam`] and [`RmsProp`]: the L2 penalty `wd * p` is added
//!    to the gradient (PyTorch's `weight_decay` for these optimizers). [`AdamW`] instead decays
//!    the weights directly (decoupled weight decay).
//!
//! State (momentum buffers, moments) is allocated on the first [`Optimizer::step`] and sized to
//! the parameter buffer; later steps do not allocate.
//!
//! Settings are never checked by the builders, which cannot fail: they record what they are
//! given, and [`Optimizer::validate`] checks everything at once, returning an
//! [`Error::InvalidSetting`](crate::Error::InvalidSetting) that names the setting, its value and the valid range. The
//! [`Trainer`](crate::train::Trainer) calls it before every `fit`, `evaluate` and
//! `train_on_batch`, so a bad learning rate is an error, never a panic and never NaN
//! weights:
//!
//! ```
//! use nn_core::optim::{Adam, Optimizer};
//! let adam = Adam::new(f32::INFINITY).beta1(1.5);
//! let e = adam.validate().unwrap_err().to_string();
//! assert_eq!(e, "invalid Adam setting `learning_rate` = inf: it must be finite and >= 0");
//! ```
//!
//! | setting | valid | why |
//! |---|---|---|
//! | `learning_rate` | finite, `>= 0` | 0 freezes the weights (schedules use it); infinity gives NaN weights |
//! | `beta1`, `beta2`, `rho` | `[0, 1)` | at 1 the average never moves; above 1 it grows without bound |
//! | `momentum` | `[0, 1)` | at 1 or above the momentum buffer grows without bound |
//! | `epsilon` | finite, `> 0` | 0 divides 0 by 0 for a parameter whose gradient has always been 0 |
//! | `weight_decay` | finite, `>= 0` | a negative decay grows the weights |
//! | `clip_value`, `clip_norm` | `> 0` (infinity: no clipping) | 0 or less would zero or flip every gradient |
//!
//! [`Optimizer::step`] on settings that were not validated never panics and never misuses
//! memory, but computes what the settings say (e.g. NaN weights for an infinite learning
//! rate).

mod adam;
mod adamw;
mod gradient;
mod rmsprop;
mod settings;
mod sgd;

pub use adam::Adam;
pub use adamw::AdamW;
pub use rmsprop::RmsProp;
pub use sgd::Sgd;

use alloc::vec::Vec;

use crate::error::Result;

/// Updates parameters from gradients. Implemented by every optimizer.
///
/// Settings are recorded by infallible builders and checked by [`validate`](Self::validate),
/// which the [`Trainer`](crate::train::Trainer) calls before it trains or evaluates (see the
/// [module docs](self) for the valid ranges and why).
pub trait Optimizer: Send {
    /// One update. `params.len() == grads.len()`; state is (re)sized lazily on the first call
    /// (allocation only then). Settings are assumed valid (see [`validate`](Self::validate)).
    ///
    /// # Panics
    /// The optimizers of this module panic if `params` and `grads` differ in length.
    fn step(&mut self, params: &mut [f32], grads: &[f32]);

    /// Current learning rate.
    fn learning_rate(&self) -> f32;

    /// Sets the learning rate (for schedules / callbacks). Not checked here: an invalid rate
    /// is reported by [`validate`](Self::validate).
    fn set_learning_rate(&mut self, lr: f32);

    /// Forgets all state (moments, step count).
    fn reset(&mut self);

    /// Checks every setting (learning rate, betas, momentum, epsilon, weight decay,
    /// clipping); the trainer calls it before each `fit`, `evaluate` and `train_on_batch`.
    /// The default accepts everything, for optimizers with nothing to check.
    ///
    /// # Errors
    /// [`Error::InvalidSetting`](crate::Error::InvalidSetting) naming the first invalid setting, its value and the valid
    /// range.
    fn validate(&self) -> Result<()> {
        Ok(())
    }
}

/// Resizes optimizer state to `len` zeros if it does not have that length (first step, after
/// [`Optimizer::reset`], or when the parameter buffer changed). Returns whether it did.
fn ensure_len(state: &mut Vec<f32>, len: usize) -> bool {
    if state.len() == len {
        return false;
    }
    state.clear();
    state.resize(len, 0.0);
    true
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use crate::error::Error;
    use std::boxed::Box;
    use std::vec;

    /// Runs `steps` steps on `f(p) = sum p²` (gradient `2p`) and returns the final loss.
    fn minimise(opt: &mut dyn Optimizer, steps: usize) -> (f32, f32) {
        let mut p = vec![1.0_f32, -2.0, 0.5, 3.0, -0.25];
        let loss = |p: &[f32]| p.iter().map(|x| x * x).sum::<f32>();
        let start = loss(&p);
        let mut g = vec![0.0; p.len()];
        for _ in 0..steps {
            for (g, p) in g.iter_mut().zip(&p) {
                *g = 2.0 * p;
            }
            opt.step(&mut p, &g);
        }
        (start, loss(&p))
    }

    fn all() -> vec::Vec<Box<dyn Optimizer>> {
        vec![
            Box::new(Sgd::new(0.05)),
            Box::new(Sgd::new(0.05).momentum(0.9)),
            Box::new(Sgd::new(0.05).momentum(0.9).nesterov(true)),
            Box::new(Adam::new(0.05)),
            Box::new(AdamW::new(0.05)),
            Box::new(RmsProp::new(0.05)),
            Box::new(RmsProp::new(0.05).momentum(0.5)),
            Box::new(
                Sgd::new(0.05)
                    .clip_norm(0.5)
                    .clip_value(0.3)
                    .weight_decay(0.01),
            ),
            Box::new(Adam::new(0.05).clip_norm(0.5).weight_decay(0.01)),
            Box::new(RmsProp::new(0.05).clip_value(0.1)),
        ]
    }

    #[test]
    fn every_optimizer_minimises_a_quadratic() {
        for (i, mut opt) in all().into_iter().enumerate() {
            let (start, end) = minimise(opt.as_mut(), 200);
            assert!(end < 0.05 * start, "optimizer {i}: loss {start} -> {end}");
        }
    }

    #[test]
    fn reset_restores_the_first_trajectory() {
        for (i, mut opt) in all().into_iter().enumerate() {
            let first = minimise(opt.as_mut(), 5);
            opt.reset();
            let again = minimise(opt.as_mut(), 5);
            assert_eq!(first, again, "optimizer {i}");
        }
    }

    #[test]
    fn learning_rate_round_trips() {
        for mut opt in all() {
            opt.set_learning_rate(0.125);
            assert_eq!(opt.learning_rate(), 0.125);
        }
    }

    /// `(owner, setting)` of an [`Error::InvalidSetting`].
    fn invalid(result: Result<()>) -> (&'static str, &'static str) {
        match result {
            Err(Error::InvalidSetting { owner, name, .. }) => (owner, name),
            other => panic!("expected InvalidSetting, got {other:?}"),
        }
    }

    #[test]
    fn builders_record_and_validate_reports_the_first_bad_setting() {
        for opt in all() {
            opt.validate().unwrap();
        }
        assert_eq!(
            invalid(Sgd::new(f32::INFINITY).validate()),
            ("Sgd", "learning_rate")
        );
        assert_eq!(
            invalid(Sgd::new(0.1).momentum(f32::NAN).validate()),
            ("Sgd", "momentum")
        );
        assert_eq!(
            invalid(Adam::new(0.1).beta2(1.0).validate()),
            ("Adam", "beta2")
        );
        assert_eq!(
            invalid(AdamW::new(0.1).epsilon(f32::INFINITY).validate()),
            ("AdamW", "epsilon")
        );
        assert_eq!(
            invalid(AdamW::new(0.1).weight_decay(f32::INFINITY).validate()),
            ("AdamW", "weight_decay")
        );
        assert_eq!(
            invalid(RmsProp::new(0.1).clip_norm(f32::NAN).validate()),
            ("RmsProp", "clip_norm")
        );
        assert_eq!(
            invalid(RmsProp::new(0.1).epsilon(-1e-7).validate()),
            ("RmsProp", "epsilon")
        );
        // The learning rate is checked first; a schedule's rate is checked too.
        assert_eq!(
            invalid(Adam::new(-1.0).beta1(2.0).validate()),
            ("Adam", "learning_rate")
        );
        let mut opt = Adam::new(0.1);
        opt.set_learning_rate(f32::NEG_INFINITY);
        assert_eq!(invalid(opt.validate()), ("Adam", "learning_rate"));
        // Edge values that are valid.
        Sgd::new(0.0)
            .momentum(0.0)
            .clip_value(f32::INFINITY)
            .validate()
            .unwrap();
        Adam::new(f32::MAX)
            .beta1(0.0)
            .beta2(0.0)
            .validate()
            .unwrap();
    }
}
