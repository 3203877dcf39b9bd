//! Adam, and the core it shares with [`AdamW`](super::AdamW): moments, bias correction and
//! the element-wise update, split across threads for large models.

use crate::params::Aligned;

use super::gradient::{gradient_setters, GradOptions};
use super::settings::{check_epsilon, check_learning_rate, check_unit};
use super::state::check_non_negative;
use super::{ensure_len, Optimizer, OptimizerState};
use crate::error::Result;
use crate::kernels::{AdamStep, GradTransform, ParamUpdate};

/// Hyperparameters and state shared by [`Adam`] and [`AdamW`](super::AdamW).
#[derive(Clone, Debug)]
pub(super) struct AdamCore {
    pub(super) lr: f32,
    pub(super) beta1: f32,
    pub(super) beta2: f32,
    pub(super) epsilon: f32,
    pub(super) grad: GradOptions,
    pub(super) step: u64,
    pub(super) m: Aligned,
    pub(super) v: Aligned,
}

impl AdamCore {
    pub(super) fn new(lr: f32) -> Self {
        Self {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-7,
            grad: GradOptions::NONE,
            step: 0,
            m: Aligned::default(),
            v: Aligned::default(),
        }
    }

    /// Checks every setting of optimizer `owner`.
    pub(super) fn validate(&self, owner: &'static str) -> Result<()> {
        check_learning_rate(owner, self.lr)?;
        check_unit(owner, "beta1", self.beta1)?;
        check_unit(owner, "beta2", self.beta2)?;
        check_epsilon(owner, self.epsilon)?;
        self.grad.validate(owner)
    }

    /// One Adam step; every parameter is first multiplied by `decay` (1 for Adam,
    /// `1 - lr * wd` for AdamW's decoupled weight decay).
    pub(super) fn step(&mut self, params: &mut [f32], grads: &[f32], decoupled_wd: f32) {
        let t = self.grad.prepare(params, grads);
        let s = self.advance(params.len(), t, decoupled_wd);
        let (ms, vs) = (&mut self.m[..], &mut self.v[..]);
        let k = [s.beta1, s.beta2, s.c1, s.c2, s.epsilon, s.lr, s.decay];
        crate::kernels::adam_update(params, grads, ms, vs, t, k);
    }

    /// [`step`](Self::step) as a [`ParamUpdate`] of `len` parameters, when the gradient
    /// transform needs no pass over the gradient (no clipping by norm).
    pub(super) fn begin_update(
        &mut self,
        len: usize,
        decoupled_wd: f32,
    ) -> Option<ParamUpdate<'_>> {
        let t = self.grad.elementwise()?;
        let s = self.advance(len, t, decoupled_wd);
        Some(ParamUpdate::adam(s, &mut self.m, &mut self.v))
    }

    /// Sizes the moments to `n` parameters (zero, the step count reset, if they were not),
    /// counts the step and returns its constants.
    fn advance(&mut self, n: usize, t: GradTransform, decoupled_wd: f32) -> AdamStep {
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
        AdamStep {
            grad: t,
            beta1: b1,
            beta2: b2,
            c1,
            c2,
            epsilon: eps,
            lr,
            decay,
        }
    }

    /// The state: learning rate, step count, `exp_avg` and `exp_avg_sq` (PyTorch's names).
    pub(super) fn state(&self) -> OptimizerState {
        OptimizerState::of(
            self.lr,
            self.step,
            &[("exp_avg", &self.m), ("exp_avg_sq", &self.v)],
        )
    }

    /// Loads a state of [`state`](Self::state)'s shape, checked first, for optimizer
    /// `owner`.
    pub(super) fn load_state(&mut self, owner: &'static str, state: &OptimizerState) -> Result<()> {
        let [m, v] = state.expect(owner, ["exp_avg", "exp_avg_sq"])?;
        check_non_negative(owner, "exp_avg_sq", v)?;
        if (state.step == 0) != m.is_empty() {
            return Err(crate::error::Error::InvalidState {
                owner,
                reason: alloc::format!(
                    "its step count is {} but its moments hold {} values: a state before the \
                     first step has neither, one after has both",
                    state.step,
                    m.len()
                ),
            });
        }
        self.m = Aligned::copy(m);
        self.v = Aligned::copy(v);
        self.step = state.step;
        self.lr = state.learning_rate;
        Ok(())
    }

    pub(super) fn reset(&mut self) {
        self.m = Aligned::default();
        self.v = Aligned::default();
        self.step = 0;
    }
}

/// Generates the builder setters common to [`Adam`] and [`AdamW`](super::AdamW) (they wrap an `AdamCore`
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

        /// Flushes subnormal values (below `f32::MIN_POSITIVE`, 1.2e-38) to zero in the
        /// update, as `torch.set_flush_denormal(True)` does (default off: gradual underflow,
        /// PyTorch's default). A moment that decays geometrically (that of a weight whose
        /// gradient has been zero for a few hundred steps, e.g. an MNIST border pixel's)
        /// passes through the subnormal range, where every multiply costs a microcode assist
        /// of about a hundred cycles: measured on the MNIST MLP at the AVX-512 level, one
        /// thread, an epoch took 15% less CPU time with it. Applied at the AVX-512 level (the
        /// processor's flush-to-zero and denormals-are-zero modes, only during the update);
        /// the other levels ignore it.
        #[must_use]
        pub fn flush_subnormals(mut self, on: bool) -> Self {
            self.core.grad.set_flush(on);
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

pub(super) use adam_setters;

/// Adam (Kingma & Ba), with PyTorch's update rule.
///
/// With effective gradient `g` at step `t` (from 1): `m = b1 m + (1 - b1) g`,
/// `v = b2 v + (1 - b2) g²`, `p -= lr * m̂ / (sqrt(v̂) + eps)` with the bias-corrected
/// `m̂ = m / (1 - b1^t)` and `v̂ = v / (1 - b2^t)`.
///
/// `weight_decay` is an L2 penalty added to the gradient (PyTorch `Adam`); for decoupled weight
/// decay use [`AdamW`](super::AdamW).
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

    fn begin_update(&mut self, len: usize) -> Option<ParamUpdate<'_>> {
        self.core.begin_update(len, 0.0)
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

    /// The learning rate, the step count, `exp_avg` and `exp_avg_sq`.
    fn state(&self) -> OptimizerState {
        self.core.state()
    }

    fn load_state(&mut self, state: &OptimizerState) -> Result<()> {
        self.core.load_state("Adam", state)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use std::vec;

    #[test]
    fn moments_start_on_a_cache_line_after_every_way_of_filling_them() {
        let on_line = |core: &AdamCore| {
            (core.m.as_ptr() as usize).is_multiple_of(64)
                && (core.v.as_ptr() as usize).is_multiple_of(64)
        };
        let mut opt = Adam::new(1e-3);
        for n in [1, 17, 1000] {
            let mut p = vec![1.0_f32; n];
            opt.step(&mut p, &vec![0.5; n]);
            assert!(on_line(&opt.core) && opt.core.m.len() == n, "{n} values");
        }
        let state = opt.state();
        let mut loaded = Adam::new(1e-3);
        loaded.load_state(&state).unwrap();
        assert!(on_line(&loaded.core) && loaded.core.v.len() == 1000);
        let update = loaded.begin_update(64).expect("no clipping by norm");
        assert_eq!(update.len(), 64);
        assert!(on_line(&loaded.core) && loaded.core.m.len() == 64);
    }

    #[test]
    fn flush_subnormals_zeroes_only_subnormal_moments_at_the_avx512_level() {
        use crate::kernels::{level, Level};
        // g² (1e-40) and (1 - beta2) g² are subnormal; the other gradient is ordinary.
        let g = [1e-20_f32, 0.5];
        let run = |flush: bool| {
            let mut opt = Adam::new(0.1).flush_subnormals(flush);
            let mut p = vec![1.0_f32, 1.0];
            opt.step(&mut p, &g);
            let state = opt.state();
            let v = state
                .buffers
                .iter()
                .find(|(n, _)| n == "exp_avg_sq")
                .unwrap()
                .1
                .clone();
            (p, v)
        };
        let (p_exact, v_exact) = run(false);
        let (p_flushed, v_flushed) = run(true);
        assert!(
            v_exact[0] > 0.0 && v_exact[0] < f32::MIN_POSITIVE,
            "{v_exact:?}"
        );
        assert_eq!(v_flushed[1], v_exact[1]);
        assert_eq!(p_flushed[1], p_exact[1]);
        if level() >= Level::Avx512 {
            assert_eq!(v_flushed[0], 0.0);
        } else {
            assert_eq!(v_flushed[0], v_exact[0]);
        }
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
}
