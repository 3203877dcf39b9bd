//! Stochastic gradient descent, with optional (Nesterov) momentum.

use crate::params::Aligned;

use super::gradient::{gradient_setters, GradOptions};
use super::settings::{check_learning_rate, check_unit};
use super::{ensure_len, Optimizer, OptimizerState};
use crate::error::Result;

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
    buf: Aligned,
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
            buf: Aligned::default(),
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
        for ((p, &g), b) in params.iter_mut().zip(grads).zip(self.buf.iter_mut()) {
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
        self.buf = Aligned::default();
    }

    fn validate(&self) -> Result<()> {
        check_learning_rate("Sgd", self.lr)?;
        check_unit("Sgd", "momentum", self.momentum)?;
        self.grad.validate("Sgd")
    }

    /// The learning rate and, with momentum, `momentum_buffer`.
    fn state(&self) -> OptimizerState {
        if self.momentum == 0.0 {
            OptimizerState::of(self.lr, 0, &[])
        } else {
            OptimizerState::of(self.lr, 0, &[("momentum_buffer", &self.buf)])
        }
    }

    fn load_state(&mut self, state: &OptimizerState) -> Result<()> {
        if self.momentum == 0.0 {
            state.expect("Sgd", [])?;
            self.buf = Aligned::default();
        } else {
            let [buf] = state.expect("Sgd", ["momentum_buffer"])?;
            self.buf = Aligned::copy(buf);
        }
        self.lr = state.learning_rate;
        Ok(())
    }
}
