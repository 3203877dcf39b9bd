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
//! the parameter buffer; later steps do not allocate. [`Optimizer::state`] returns it, with
//! the step count and the learning rate, as an [`OptimizerState`], and
//! [`Optimizer::load_state`] puts it back: save it with the weights, and a stopped training
//! resumes exactly where it stopped, bit for bit.
//!
//! ```
//! use nn_core::optim::{Adam, Optimizer};
//! let (mut p, g) = ([1.0_f32, -1.0], [0.5, 0.25]);
//! let mut adam = Adam::new(0.1);
//! adam.step(&mut p, &g);
//! let saved = adam.state(); // step 1, `exp_avg` and `exp_avg_sq`
//! let mut resumed = Adam::new(0.1);
//! resumed.load_state(&saved)?;
//! let mut q = p;
//! adam.step(&mut p, &g);
//! resumed.step(&mut q, &g);
//! assert_eq!(p, q);
//! # Ok::<(), nn_core::Error>(())
//! ```
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
mod schedules;
mod settings;
mod sgd;
mod state;

pub use adam::Adam;
pub use adamw::AdamW;
pub use rmsprop::RmsProp;
pub use schedules::{CosineDecay, ExponentialDecay, LearningRateSchedule, PiecewiseConstant};
pub use sgd::Sgd;
pub use state::OptimizerState;

use crate::params::Aligned;

use crate::error::Result;
pub use crate::kernels::ParamUpdate;

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

    /// Begins one step over `len` parameters whose gradients are not known yet, to be
    /// applied piece by piece as they become known (see [`ParamUpdate`]): counts the step,
    /// sizes the state as [`step`](Self::step) does, and returns the update, whose pieces
    /// together do exactly what `step` would. `None` (nothing done) when the optimizer
    /// needs the whole gradient first (clipping by global norm) or does not support it (the
    /// default); then call `step`. The training passes use it to update each layer during
    /// the backward pass while its gradient is in cache (`Trainer::fit`,
    /// `Workspace::backward_step`).
    fn begin_update(&mut self, len: usize) -> Option<ParamUpdate<'_>> {
        let _ = len;
        None
    }

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

    /// What the optimizer carries from one step to the next: the learning rate, the step
    /// count and its buffers (see [`OptimizerState`]). Save it with the model's weights to
    /// resume training later.
    fn state(&self) -> OptimizerState;

    /// Puts back a state returned by [`state`](Self::state) of an optimizer of the same type
    /// and settings (momentum or not), including its learning rate: the next
    /// [`step`](Self::step) then does exactly what the saved optimizer's next step would
    /// have. The buffers must be as long as the parameters they will update (the trainer's
    /// [`load_optimizer_state`](crate::train::Trainer::load_optimizer_state) checks that); on
    /// error the optimizer is unchanged.
    ///
    /// # Errors
    /// [`Error::InvalidState`](crate::Error::InvalidState) for a buffer that is missing,
    /// unexpected (the state of another optimizer, or other settings) or of a length that
    /// differs from the others, a NaN or infinite value, a negative second moment, or a step
    /// count that does not match the buffers.
    fn load_state(&mut self, state: &OptimizerState) -> Result<()>;
}

/// Resizes optimizer state to `len` zeros if it does not have that length (first step, after
/// [`Optimizer::reset`], or when the parameter buffer changed). Returns whether it did.
fn ensure_len(state: &mut Aligned, len: usize) -> bool {
    if state.len() == len {
        return false;
    }
    *state = Aligned::zeros(len);
    true
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use crate::error::Error;
    use std::boxed::Box;
    use std::string::ToString;
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

    /// `steps` steps of `opt` on `f(p) = sum p²` from `p`.
    fn run(opt: &mut dyn Optimizer, p: &mut [f32], steps: usize) {
        let mut g = vec![0.0; p.len()];
        for _ in 0..steps {
            for (g, p) in g.iter_mut().zip(p.iter()) {
                *g = 2.0 * p;
            }
            opt.step(p, &g);
        }
    }

    #[test]
    fn a_restored_state_resumes_bit_for_bit() {
        let start = [1.0_f32, -2.0, 0.5, 3.0, -0.25];
        for (i, (mut first, mut second)) in all().into_iter().zip(all()).enumerate() {
            // Uninterrupted: 10 steps.
            let mut straight = start;
            run(first.as_mut(), &mut straight, 10);
            // Interrupted after 4: a fresh optimizer of the same settings takes the state.
            first.reset();
            let mut p = start;
            run(first.as_mut(), &mut p, 4);
            let saved = first.state();
            second.load_state(&saved).unwrap();
            assert_eq!(second.state(), saved, "optimizer {i}: state round trip");
            let mut fresh = p;
            run(second.as_mut(), &mut p, 6);
            assert_eq!(
                p.map(f32::to_bits),
                straight.map(f32::to_bits),
                "optimizer {i}"
            );
            // Without the state, the run differs (for optimizers that keep one).
            let stateful = saved.buffers.iter().any(|(_, b)| !b.is_empty());
            let mut without = all().swap_remove(i);
            run(without.as_mut(), &mut fresh, 6);
            assert_eq!(fresh != straight, stateful, "optimizer {i}");
        }
    }

    #[test]
    fn the_state_names_pytorchs_buffers_and_holds_the_learning_rate() {
        let mut adam = Adam::new(0.1);
        run(&mut adam, &mut [1.0, 2.0], 3);
        adam.set_learning_rate(0.025);
        let state = adam.state();
        assert_eq!((state.learning_rate, state.step), (0.025, 3));
        assert_eq!(state.buffer("exp_avg").map(<[f32]>::len), Some(2));
        assert_eq!(state.buffer("exp_avg_sq").map(<[f32]>::len), Some(2));
        let mut other = Adam::new(0.5);
        other.load_state(&state).unwrap();
        assert_eq!(other.learning_rate(), 0.025);
        let names = |o: &dyn Optimizer| -> vec::Vec<std::string::String> {
            o.state().buffers.into_iter().map(|(n, _)| n).collect()
        };
        assert_eq!(names(&Sgd::new(0.1)), [""; 0]);
        assert_eq!(names(&Sgd::new(0.1).momentum(0.9)), ["momentum_buffer"]);
        assert_eq!(names(&RmsProp::new(0.1)), ["square_avg"]);
        assert_eq!(
            names(&RmsProp::new(0.1).momentum(0.5)),
            ["square_avg", "momentum_buffer"]
        );
        assert_eq!(names(&AdamW::new(0.1)), ["exp_avg", "exp_avg_sq"]);
    }

    #[test]
    fn a_state_that_does_not_fit_is_an_error_and_changes_nothing() {
        let mut adam = Adam::new(0.1);
        run(&mut adam, &mut [1.0, 2.0], 2);
        let good = adam.state();
        let with = |f: &dyn Fn(&mut OptimizerState)| {
            let mut s = good.clone();
            f(&mut s);
            s
        };
        let reason = |opt: &mut dyn Optimizer, s: &OptimizerState| {
            let before = opt.state();
            let e = opt.load_state(s).unwrap_err();
            assert!(matches!(e, Error::InvalidState { .. }), "{e:?}");
            assert_eq!(opt.state(), before, "changed by a failed load");
            e.to_string()
        };
        let cases: [(OptimizerState, &str); 6] = [
            (
                with(&|s| {
                    s.buffers.remove(1);
                }),
                "`exp_avg_sq` is missing",
            ),
            (
                with(&|s| s.buffers.push(("momentum_buffer".into(), vec![0.0; 2]))),
                "holds a buffer `momentum_buffer`",
            ),
            (with(&|s| s.buffers[1].1.push(1.0)), "holds 3 values"),
            (with(&|s| s.buffers[0].1[1] = f32::NAN), "NaN or infinite"),
            (with(&|s| s.buffers[1].1[0] = -1.0), "negative value -1"),
            (with(&|s| s.step = 0), "step count is 0"),
        ];
        for (state, expected) in cases {
            let message = reason(&mut Adam::new(0.3), &state);
            assert!(message.contains(expected), "{expected:?} not in {message}");
            assert!(
                message.starts_with("cannot restore this Adam state"),
                "{message}"
            );
        }
        // Another optimizer's state, or other settings.
        assert!(reason(&mut Sgd::new(0.1), &good).contains("keeps no buffer"));
        let momentum = Sgd::new(0.1).momentum(0.9).state();
        assert!(reason(&mut Sgd::new(0.1), &momentum).contains("`momentum_buffer`"));
        assert!(reason(
            &mut RmsProp::new(0.1).momentum(0.5),
            &RmsProp::new(0.1).state()
        )
        .contains("`momentum_buffer` is missing"));
        // A state from before the first step loads anywhere of the same kind.
        Adam::new(0.1).load_state(&AdamW::new(0.2).state()).unwrap();
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
