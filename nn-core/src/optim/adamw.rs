//! AdamW: Adam with decoupled weight decay.

use super::adam::{adam_setters, AdamCore};
use super::gradient::gradient_setters;
use super::settings::check_weight_decay;
use super::{Optimizer, OptimizerState};
use crate::error::Result;

/// Adam with decoupled weight decay (Loshchilov & Hutter), with PyTorch's update rule.
///
/// Each step first shrinks the weights, `p -= lr * wd * p`, then applies the [`Adam`](super::Adam) update.
/// The decay does not pass through the moments (unlike [`Adam::weight_decay`](super::Adam::weight_decay)).
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

    fn begin_update(&mut self, len: usize) -> Option<crate::kernels::ParamUpdate<'_>> {
        self.core.begin_update(len, self.weight_decay)
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

    /// The learning rate, the step count, `exp_avg` and `exp_avg_sq`.
    fn state(&self) -> OptimizerState {
        self.core.state()
    }

    fn load_state(&mut self, state: &OptimizerState) -> Result<()> {
        self.core.load_state("AdamW", state)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::super::Adam;
    use super::*;
    use std::vec;

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
}
