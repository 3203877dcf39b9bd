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
//! [`Error::InvalidSetting`] that names the setting, its value and the valid range. The
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

use alloc::vec::Vec;

use crate::error::{Error, Result};
use crate::kernels::GradTransform;

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
    /// [`Error::InvalidSetting`] naming the first invalid setting, its value and the valid
    /// range.
    fn validate(&self) -> Result<()> {
        Ok(())
    }
}

/// `Ok` when `valid`, else [`Error::InvalidSetting`] for setting `name` of `owner`.
fn setting(
    owner: &'static str,
    name: &'static str,
    value: f32,
    valid: bool,
    expected: &'static str,
) -> Result<()> {
    if valid {
        Ok(())
    } else {
        Err(Error::InvalidSetting {
            owner,
            name,
            value: f64::from(value),
            expected,
        })
    }
}

fn check_learning_rate(owner: &'static str, lr: f32) -> Result<()> {
    let valid = lr.is_finite() && lr >= 0.0;
    setting(owner, "learning_rate", lr, valid, "finite and >= 0")
}

/// A decay rate or momentum factor: in `[0, 1)`.
fn check_unit(owner: &'static str, name: &'static str, value: f32) -> Result<()> {
    setting(owner, name, value, (0.0..1.0).contains(&value), "in [0, 1)")
}

fn check_epsilon(owner: &'static str, e: f32) -> Result<()> {
    setting(
        owner,
        "epsilon",
        e,
        e.is_finite() && e > 0.0,
        "finite and > 0",
    )
}

fn check_weight_decay(owner: &'static str, wd: f32) -> Result<()> {
    let valid = wd.is_finite() && wd >= 0.0;
    setting(owner, "weight_decay", wd, valid, "finite and >= 0")
}

/// Gradient clipping and L2 weight decay, as configured on an optimizer.
#[derive(Clone, Copy, Debug, PartialEq)]
struct GradOptions {
    /// Largest allowed `|g_i|`; infinity when off.
    clip_value: f32,
    /// Largest allowed L2 norm of the gradient; `None` when off.
    clip_norm: Option<f32>,
    /// L2 penalty coefficient added to the gradient (`g += wd * p`).
    weight_decay: f32,
}

impl GradOptions {
    const NONE: Self = Self {
        clip_value: f32::INFINITY,
        clip_norm: None,
        weight_decay: 0.0,
    };

    fn set_clip_value(&mut self, c: f32) {
        self.clip_value = c;
    }

    fn set_clip_norm(&mut self, c: f32) {
        self.clip_norm = Some(c);
    }

    fn set_weight_decay(&mut self, wd: f32) {
        self.weight_decay = wd;
    }

    /// Checks the clipping bounds and the L2 penalty of optimizer `owner`.
    fn validate(&self, owner: &'static str) -> Result<()> {
        const POSITIVE: &str = "> 0 (infinity turns clipping off)";
        let c = self.clip_value;
        setting(owner, "clip_value", c, c > 0.0, POSITIVE)?;
        if let Some(c) = self.clip_norm {
            setting(owner, "clip_norm", c, c > 0.0, POSITIVE)?;
        }
        check_weight_decay(owner, self.weight_decay)
    }

    /// Checks the lengths and computes the per-step constants (the clip-norm scale needs one
    /// pass over the gradient).
    fn prepare(&self, params: &[f32], grads: &[f32]) -> GradTransform {
        assert_eq!(
            params.len(),
            grads.len(),
            "params and grads differ in length"
        );
        let limit = self.clip_value;
        let scale = match self.clip_norm {
            Some(max_norm) => {
                // f64 accumulation: no overflow for large finite gradients, little rounding.
                let sum_sq: f64 = grads
                    .iter()
                    .map(|&g| {
                        let g = f64::from(g.clamp(-limit, limit));
                        g * g
                    })
                    .sum();
                let norm = libm::sqrt(sum_sq);
                if norm > f64::from(max_norm) {
                    (f64::from(max_norm) / norm) as f32
                } else {
                    1.0
                }
            }
            None => 1.0,
        };
        GradTransform {
            limit,
            scale,
            weight_decay: self.weight_decay,
        }
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

/// The gradient options of every optimizer, as builder methods: clipping by norm and by
/// value, and with `l2` an L2 penalty added to the gradient. `$grad` is the path from
/// `self` to the optimizer's [`GradOptions`].
macro_rules! gradient_setters {
    (l2, $($grad:ident).+) => {
        /// L2 penalty `wd`: `wd * p` is added to the gradient (default 0, PyTorch's
        /// `weight_decay` of SGD, Adam and RMSprop). Valid: finite and `>= 0`.
        #[must_use]
        pub fn weight_decay(mut self, wd: f32) -> Self {
            self.$($grad).+.set_weight_decay(wd);
            self
        }

        gradient_setters!($($grad).+);
    };
    ($($grad:ident).+) => {
        /// Scales the gradient down to L2 norm `c` when its norm exceeds `c` (Keras
        /// `global_clipnorm`; default off). Valid: `> 0`.
        #[must_use]
        pub fn clip_norm(mut self, c: f32) -> Self {
            self.$($grad).+.set_clip_norm(c);
            self
        }

        /// Clamps every gradient component to `[-c, c]` (Keras `clipvalue`; default off).
        /// Valid: `> 0`.
        #[must_use]
        pub fn clip_value(mut self, c: f32) -> Self {
            self.$($grad).+.set_clip_value(c);
            self
        }
    };
}

/// Stochastic gradient descent, optionally with (Nesterov) momentum.
///
/// PyTorch's rule (`torch.optim.SGD`, no dampening): with effective gradient `g`,
/// `b = momentum * b + g` (`b = g` on the first step), then `p -= lr * (g + momentum * b)`
/// with Nesterov momentum or `p -= lr * b` without. Without momentum, `p -= lr * g`.
#[derive(Clone, Debug)]
pub struct Sgd {
    lr: f32,
    momentum: f32,
    nesterov: bool,
    grad: GradOptions,
    buf: Vec<f32>,
}

impl Sgd {
    /// Plain SGD with learning rate `lr` (no momentum, no weight decay, no clipping).
    /// Valid: finite and `>= 0`.
    #[must_use]
    pub fn new(lr: f32) -> Self {
        Self {
            lr,
            momentum: 0.0,
            nesterov: false,
            grad: GradOptions::NONE,
            buf: Vec::new(),
        }
    }

    /// Momentum factor (default 0, off). Valid: `[0, 1)`.
    #[must_use]
    pub fn momentum(mut self, m: f32) -> Self {
        self.momentum = m;
        self
    }

    /// Nesterov momentum (default `false`); has an effect only with a momentum above 0.
    #[must_use]
    pub fn nesterov(mut self, nesterov: bool) -> Self {
        self.nesterov = nesterov;
        self
    }

    gradient_setters!(l2, grad);
}

impl Sgd {
    /// One update (the body of [`Optimizer::step`], inlined into its vectorised caller).
    #[inline(always)]
    fn update(&mut self, params: &mut [f32], grads: &[f32]) {
        let t = self.grad.prepare(params, grads);
        let lr = self.lr;
        if self.momentum == 0.0 {
            for (p, &g) in params.iter_mut().zip(grads) {
                *p -= lr * t.apply(g, *p);
            }
            return;
        }
        // A zero buffer makes the first step `b = g`, as PyTorch initialises it.
        ensure_len(&mut self.buf, params.len());
        let m = self.momentum;
        // Update direction `g_coef * g + b_coef * b`: `g + m b` (Nesterov) or `b`.
        let (g_coef, b_coef) = if self.nesterov { (1.0, m) } else { (0.0, 1.0) };
        for ((p, &g), b) in params.iter_mut().zip(grads).zip(&mut self.buf) {
            let g = t.apply(g, *p);
            *b = m * *b + g;
            *p -= lr * (g_coef * g + b_coef * *b);
        }
    }
}

impl Optimizer for Sgd {
    fn step(&mut self, params: &mut [f32], grads: &[f32]) {
        crate::kernels::vectorized(|| self.update(params, grads));
    }

    fn learning_rate(&self) -> f32 {
        self.lr
    }

    fn set_learning_rate(&mut self, lr: f32) {
        self.lr = lr;
    }

    fn reset(&mut self) {
        self.buf.clear();
    }

    fn validate(&self) -> Result<()> {
        check_learning_rate("Sgd", self.lr)?;
        check_unit("Sgd", "momentum", self.momentum)?;
        self.grad.validate("Sgd")
    }
}

/// Hyperparameters and state shared by [`Adam`] and [`AdamW`].
#[derive(Clone, Debug)]
struct AdamCore {
    lr: f32,
    beta1: f32,
    beta2: f32,
    epsilon: f32,
    grad: GradOptions,
    step: u64,
    m: Vec<f32>,
    v: Vec<f32>,
}

impl AdamCore {
    fn new(lr: f32) -> Self {
        Self {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-7,
            grad: GradOptions::NONE,
            step: 0,
            m: Vec::new(),
            v: Vec::new(),
        }
    }

    /// Checks every setting of optimizer `owner`.
    fn validate(&self, owner: &'static str) -> Result<()> {
        check_learning_rate(owner, self.lr)?;
        check_unit(owner, "beta1", self.beta1)?;
        check_unit(owner, "beta2", self.beta2)?;
        check_epsilon(owner, self.epsilon)?;
        self.grad.validate(owner)
    }

    /// One Adam step; every parameter is first multiplied by `decay` (1 for Adam,
    /// `1 - lr * wd` for AdamW's decoupled weight decay).
    fn step(&mut self, params: &mut [f32], grads: &[f32], decoupled_wd: f32) {
        let t = self.grad.prepare(params, grads);
        let n = params.len();
        if ensure_len(&mut self.m, n) | ensure_len(&mut self.v, n) {
            self.m.fill(0.0);
            self.v.fill(0.0);
            self.step = 0;
        }
        self.step += 1;
        let (b1, b2, eps, lr) = (self.beta1, self.beta2, self.epsilon, self.lr);
        let step = self.step as f64;
        let c1 = (1.0 / (1.0 - libm::pow(f64::from(b1), step))) as f32;
        let c2 = (1.0 / (1.0 - libm::pow(f64::from(b2), step))) as f32;
        let decay = 1.0 - lr * decoupled_wd;
        let (ms, vs) = (&mut self.m[..], &mut self.v[..]);
        let k = [b1, b2, c1, c2, eps, lr, decay];
        crate::kernels::adam_update(params, grads, ms, vs, t, k);
    }

    fn reset(&mut self) {
        self.m.clear();
        self.v.clear();
        self.step = 0;
    }
}

/// Generates the builder setters common to [`Adam`] and [`AdamW`] (they wrap an `AdamCore`
/// in field `core`).
macro_rules! adam_setters {
    () => {
        /// Decay rate of the first-moment (mean) estimate (default 0.9, as PyTorch and Keras).
        /// Valid: `[0, 1)`.
        #[must_use]
        pub fn beta1(mut self, b1: f32) -> Self {
            self.core.beta1 = b1;
            self
        }

        /// Decay rate of the second-moment estimate (default 0.999, as PyTorch and Keras).
        /// Valid: `[0, 1)`.
        #[must_use]
        pub fn beta2(mut self, b2: f32) -> Self {
            self.core.beta2 = b2;
            self
        }

        /// Added to the root of the second moment before dividing (default 1e-7 as Keras;
        /// PyTorch's default is 1e-8). It is added to the bias-corrected root, as in PyTorch.
        /// Valid: finite and `> 0`.
        #[must_use]
        pub fn epsilon(mut self, e: f32) -> Self {
            self.core.epsilon = e;
            self
        }
    };
}

/// Adam (Kingma & Ba), with PyTorch's update rule.
///
/// With effective gradient `g` at step `t` (from 1): `m = b1 m + (1 - b1) g`,
/// `v = b2 v + (1 - b2) g²`, `p -= lr * m̂ / (sqrt(v̂) + eps)` with the bias-corrected
/// `m̂ = m / (1 - b1^t)` and `v̂ = v / (1 - b2^t)`.
///
/// `weight_decay` is an L2 penalty added to the gradient (PyTorch `Adam`); for decoupled weight
/// decay use [`AdamW`].
#[derive(Clone, Debug)]
pub struct Adam {
    core: AdamCore,
}

impl Adam {
    /// Adam with learning rate `lr`, betas 0.9 / 0.999 and epsilon 1e-7 (Keras' defaults;
    /// PyTorch's epsilon is 1e-8). Valid: finite and `>= 0`.
    #[must_use]
    pub fn new(lr: f32) -> Self {
        Self {
            core: AdamCore::new(lr),
        }
    }

    adam_setters!();
    gradient_setters!(l2, core.grad);
}

impl Optimizer for Adam {
    fn step(&mut self, params: &mut [f32], grads: &[f32]) {
        self.core.step(params, grads, 0.0);
    }

    fn learning_rate(&self) -> f32 {
        self.core.lr
    }

    fn set_learning_rate(&mut self, lr: f32) {
        self.core.lr = lr;
    }

    fn reset(&mut self) {
        self.core.reset();
    }

    fn validate(&self) -> Result<()> {
        self.core.validate("Adam")
    }
}

/// Adam with decoupled weight decay (Loshchilov & Hutter), with PyTorch's update rule.
///
/// Each step first shrinks the weights, `p -= lr * wd * p`, then applies the [`Adam`] update.
/// The decay does not pass through the moments (unlike [`Adam::weight_decay`]).
#[derive(Clone, Debug)]
pub struct AdamW {
    core: AdamCore,
    weight_decay: f32,
}

impl AdamW {
    /// AdamW with learning rate `lr`, weight decay 0.01 (PyTorch's default; Keras uses 0.004),
    /// betas 0.9 / 0.999 and epsilon 1e-7 (Keras' default; PyTorch's is 1e-8). Valid: finite
    /// and `>= 0`.
    #[must_use]
    pub fn new(lr: f32) -> Self {
        Self {
            core: AdamCore::new(lr),
            weight_decay: 0.01,
        }
    }

    adam_setters!();
    gradient_setters!(core.grad);

    /// Decoupled weight decay `wd` (default 0.01): `p -= lr * wd * p` each step. Valid:
    /// finite and `>= 0`.
    #[must_use]
    pub fn weight_decay(mut self, wd: f32) -> Self {
        self.weight_decay = wd;
        self
    }
}

impl Optimizer for AdamW {
    fn step(&mut self, params: &mut [f32], grads: &[f32]) {
        self.core.step(params, grads, self.weight_decay);
    }

    fn learning_rate(&self) -> f32 {
        self.core.lr
    }

    fn set_learning_rate(&mut self, lr: f32) {
        self.core.lr = lr;
    }

    fn reset(&mut self) {
        self.core.reset();
    }

    fn validate(&self) -> Result<()> {
        self.core.validate("AdamW")?;
        check_weight_decay("AdamW", self.weight_decay)
    }
}

/// RMSprop, with PyTorch's update rule (not centered).
///
/// With effective gradient `g`: `v = rho v + (1 - rho) g²`; with momentum `m > 0`,
/// `b = m b + g / (sqrt(v) + eps)` and `p -= lr * b`; otherwise `p -= lr * g / (sqrt(v) + eps)`.
/// Epsilon is added outside the root, as in PyTorch.
#[derive(Clone, Debug)]
pub struct RmsProp {
    lr: f32,
    rho: f32,
    epsilon: f32,
    momentum: f32,
    grad: GradOptions,
    v: Vec<f32>,
    buf: Vec<f32>,
}

impl RmsProp {
    /// RMSprop with learning rate `lr`, rho 0.9 and epsilon 1e-7 (Keras' defaults; PyTorch
    /// uses alpha 0.99 and eps 1e-8), no momentum. Valid: finite and `>= 0`.
    #[must_use]
    pub fn new(lr: f32) -> Self {
        Self {
            lr,
            rho: 0.9,
            epsilon: 1e-7,
            momentum: 0.0,
            grad: GradOptions::NONE,
            v: Vec::new(),
            buf: Vec::new(),
        }
    }

    /// Decay rate of the mean square (PyTorch's `alpha`); default 0.9 as Keras, PyTorch's
    /// default is 0.99. Valid: `[0, 1)`.
    #[must_use]
    pub fn rho(mut self, r: f32) -> Self {
        self.rho = r;
        self
    }

    /// Added to the root mean square before dividing (default 1e-7 as Keras; PyTorch's
    /// default is 1e-8). Valid: finite and `> 0`.
    #[must_use]
    pub fn epsilon(mut self, e: f32) -> Self {
        self.epsilon = e;
        self
    }

    /// Momentum factor (default 0, off). Valid: `[0, 1)`.
    #[must_use]
    pub fn momentum(mut self, m: f32) -> Self {
        self.momentum = m;
        self
    }

    gradient_setters!(l2, grad);
}

impl RmsProp {
    /// One update (the body of [`Optimizer::step`], inlined into its vectorised caller).
    #[inline(always)]
    fn update(&mut self, params: &mut [f32], grads: &[f32]) {
        let t = self.grad.prepare(params, grads);
        let n = params.len();
        ensure_len(&mut self.v, n);
        let k = [self.rho, self.epsilon, self.lr, self.momentum];
        let buf = (self.momentum != 0.0).then(|| {
            ensure_len(&mut self.buf, n);
            &mut self.buf[..]
        });
        crate::kernels::rmsprop_update(params, grads, &mut self.v, buf, t, k);
    }
}

impl Optimizer for RmsProp {
    fn step(&mut self, params: &mut [f32], grads: &[f32]) {
        crate::kernels::vectorized(|| self.update(params, grads));
    }

    fn learning_rate(&self) -> f32 {
        self.lr
    }

    fn set_learning_rate(&mut self, lr: f32) {
        self.lr = lr;
    }

    fn reset(&mut self) {
        self.v.clear();
        self.buf.clear();
    }

    fn validate(&self) -> Result<()> {
        check_learning_rate("RmsProp", self.lr)?;
        check_unit("RmsProp", "rho", self.rho)?;
        check_epsilon("RmsProp", self.epsilon)?;
        check_unit("RmsProp", "momentum", self.momentum)?;
        self.grad.validate("RmsProp")
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use crate::math::sqrt;
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

    #[test]
    fn clip_norm_bounds_the_step() {
        let mut opt = Sgd::new(1.0).clip_norm(1.0);
        let mut p = vec![0.0_f32; 4];
        opt.step(&mut p, &[30.0, -40.0, 0.0, 0.0]);
        let norm = sqrt(p.iter().map(|x| x * x).sum());
        assert!((norm - 1.0).abs() < 1e-6, "step norm {norm}");
        assert!(
            (p[0] + 0.6).abs() < 1e-6 && (p[1] - 0.8).abs() < 1e-6,
            "direction kept: {p:?}"
        );

        // A gradient inside the bound is untouched.
        let mut p = vec![0.0_f32; 2];
        opt.step(&mut p, &[0.3, 0.4]);
        assert_eq!(p, [-0.3, -0.4]);
    }

    #[test]
    fn clip_value_clamps_each_component() {
        let mut opt = Sgd::new(1.0).clip_value(0.5);
        let mut p = vec![0.0_f32; 4];
        opt.step(&mut p, &[2.0, -3.0, 0.25, -0.1]);
        assert_eq!(p, [-0.5, 0.5, -0.25, 0.1]);
    }

    #[test]
    fn clip_value_applies_before_clip_norm() {
        // Clamped to [1, 1] (norm √2), then scaled to norm 1.
        let mut opt = Sgd::new(1.0).clip_value(1.0).clip_norm(1.0);
        let mut p = vec![0.0_f32; 2];
        opt.step(&mut p, &[5.0, 1.0]);
        let expected = -core::f32::consts::FRAC_1_SQRT_2;
        assert!(p.iter().all(|&x| (x - expected).abs() < 1e-6), "{p:?}");
    }

    #[test]
    fn l2_weight_decay_shrinks_weights_without_gradient() {
        let mut opt = Sgd::new(0.1).weight_decay(0.5);
        let mut p = vec![2.0_f32, -4.0];
        opt.step(&mut p, &[0.0, 0.0]);
        assert_eq!(p, [1.9, -3.8]);
    }

    #[test]
    fn adamw_decay_is_decoupled() {
        // Zero gradient: Adam's update is 0, only the decay acts.
        let mut opt = AdamW::new(0.1).weight_decay(0.5);
        let mut p = vec![2.0_f32, -4.0];
        opt.step(&mut p, &[0.0, 0.0]);
        assert_eq!(p, [1.9, -3.8]);
        // Adam's L2 penalty instead goes through the normalised update: about lr per step.
        let mut opt = Adam::new(0.1).weight_decay(0.5);
        let mut p = vec![2.0_f32, -4.0];
        opt.step(&mut p, &[0.0, 0.0]);
        assert!(
            (p[0] - 1.9).abs() < 1e-5 && (p[1] + 3.9).abs() < 1e-5,
            "{p:?}"
        );
    }

    #[test]
    fn state_follows_a_new_parameter_length() {
        let mut opt = Adam::new(0.1);
        let mut p = vec![1.0_f32; 3];
        opt.step(&mut p, &[1.0; 3]);
        let mut q = vec![1.0_f32; 5];
        opt.step(&mut q, &[1.0; 5]);
        // Fresh state: the first Adam step moves every parameter by about lr.
        assert!(q.iter().all(|&x| (x - 0.9).abs() < 1e-5), "{q:?}");
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

    #[test]
    #[should_panic(expected = "differ in length")]
    fn mismatched_lengths_panic() {
        Sgd::new(0.1).step(&mut [0.0; 3], &[0.0; 2]);
    }
}
