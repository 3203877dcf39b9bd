//! Gradient handling shared by every optimizer: clipping by value, then by global norm, then
//! the L2 penalty, applied element by element without modifying the gradient slice.

use super::settings::{check_weight_decay, setting};
use crate::error::Result;
use crate::kernels::GradTransform;

/// Gradient clipping and L2 weight decay, as configured on an optimizer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct GradOptions {
    /// Largest allowed `|g_i|`; infinity when off.
    clip_value: f32,
    /// Largest allowed L2 norm of the gradient; `None` when off.
    clip_norm: Option<f32>,
    /// L2 penalty coefficient added to the gradient (`g += wd * p`).
    weight_decay: f32,
    /// Whether the update flushes subnormal values to zero (at the AVX-512 level).
    flush: bool,
}

impl GradOptions {
    pub(super) const NONE: Self = Self {
        clip_value: f32::INFINITY,
        clip_norm: None,
        weight_decay: 0.0,
        flush: false,
    };

    pub(super) fn set_clip_value(&mut self, c: f32) {
        self.clip_value = c;
    }

    pub(super) fn set_clip_norm(&mut self, c: f32) {
        self.clip_norm = Some(c);
    }

    pub(super) fn set_weight_decay(&mut self, wd: f32) {
        self.weight_decay = wd;
    }

    pub(super) fn set_flush(&mut self, on: bool) {
        self.flush = on;
    }

    /// Checks the clipping bounds and the L2 penalty of optimizer `owner`.
    pub(super) fn validate(&self, owner: &'static str) -> Result<()> {
        const POSITIVE: &str = "> 0 (infinity turns clipping off)";
        let c = self.clip_value;
        setting(owner, "clip_value", c, c > 0.0, POSITIVE)?;
        if let Some(c) = self.clip_norm {
            setting(owner, "clip_norm", c, c > 0.0, POSITIVE)?;
        }
        check_weight_decay(owner, self.weight_decay)
    }

    /// The per-step constants when they need no pass over the gradient (no clipping by
    /// norm): what lets an update run piece by piece as the gradient is computed.
    pub(super) fn elementwise(&self) -> Option<GradTransform> {
        self.clip_norm.is_none().then_some(GradTransform {
            limit: self.clip_value,
            scale: 1.0,
            weight_decay: self.weight_decay,
            flush: self.flush,
        })
    }

    /// Checks the lengths and computes the per-step constants (the clip-norm scale needs one
    /// pass over the gradient).
    pub(super) fn prepare(&self, params: &[f32], grads: &[f32]) -> GradTransform {
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
            flush: self.flush,
        }
    }
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

pub(super) use gradient_setters;

#[cfg(test)]
mod tests {
    extern crate std;

    use super::super::{Optimizer, Sgd};
    use crate::math::sqrt;
    use std::vec;

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
    #[should_panic(expected = "differ in length")]
    fn mismatched_lengths_panic() {
        Sgd::new(0.1).step(&mut [0.0; 3], &[0.0; 2]);
    }
}
