//! RMSprop, with optional momentum.

use crate::params::Aligned;

use super::gradient::{gradient_setters, GradOptions};
use super::settings::{check_epsilon, check_learning_rate, check_unit};
use super::state::check_non_negative;
use super::{ensure_len, Optimizer, OptimizerState};
use crate::error::Result;
use crate::kernels::{ParamUpdate, RmsPropStep};

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
    v: Aligned,
    buf: Aligned,
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
            v: Aligned::default(),
            buf: Aligned::default(),
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
        self.grad.set_flush(on);
        self
    }
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

    fn begin_update(&mut self, len: usize) -> Option<ParamUpdate<'_>> {
        let grad = self.grad.elementwise()?;
        ensure_len(&mut self.v, len);
        let s = RmsPropStep {
            grad,
            rho: self.rho,
            epsilon: self.epsilon,
            lr: self.lr,
            momentum: self.momentum,
        };
        let buf = (self.momentum != 0.0).then(|| {
            ensure_len(&mut self.buf, len);
            &mut self.buf[..]
        });
        Some(ParamUpdate::rmsprop(s, &mut self.v, buf))
    }

    fn learning_rate(&self) -> f32 {
        self.lr
    }

    fn set_learning_rate(&mut self, lr: f32) {
        self.lr = lr;
    }

    fn reset(&mut self) {
        self.v = Aligned::default();
        self.buf = Aligned::default();
    }

    fn validate(&self) -> Result<()> {
        check_learning_rate("RmsProp", self.lr)?;
        check_unit("RmsProp", "rho", self.rho)?;
        check_epsilon("RmsProp", self.epsilon)?;
        check_unit("RmsProp", "momentum", self.momentum)?;
        self.grad.validate("RmsProp")
    }

    /// The learning rate, `square_avg` and, with momentum, `momentum_buffer`.
    fn state(&self) -> OptimizerState {
        if self.momentum == 0.0 {
            OptimizerState::of(self.lr, 0, &[("square_avg", &self.v)])
        } else {
            OptimizerState::of(
                self.lr,
                0,
                &[("square_avg", &self.v), ("momentum_buffer", &self.buf)],
            )
        }
    }

    fn load_state(&mut self, state: &OptimizerState) -> Result<()> {
        let (v, buf) = if self.momentum == 0.0 {
            let [v] = state.expect("RmsProp", ["square_avg"])?;
            (v, &[][..])
        } else {
            let [v, buf] = state.expect("RmsProp", ["square_avg", "momentum_buffer"])?;
            (v, buf)
        };
        check_non_negative("RmsProp", "square_avg", v)?;
        self.v = Aligned::copy(v);
        self.buf = Aligned::copy(buf);
        self.lr = state.learning_rate;
        Ok(())
    }
}
