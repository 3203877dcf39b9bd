//! Mean squared error.

use super::reduce::{mean_elementwise, Pointwise};

/// Mean squared error over all elements; writes `d_pred = 2 (pred - target) / elements`.
pub fn mse(pred: &[f32], target: &[f32], d_pred: &mut [f32]) -> f32 {
    mean_elementwise(pred, target, Some(d_pred), Pointwise::SQUARED_ERROR)
}

impl Pointwise {
    pub(super) const SQUARED_ERROR: Self = Self {
        loss: squared_error,
        grad: squared_error_grad,
    };
}

fn squared_error(p: f32, t: f32) -> f32 {
    (p - t) * (p - t)
}
fn squared_error_grad(p: f32, t: f32) -> f32 {
    2.0 * (p - t)
}
