//! Binary cross-entropy, from logits (fused with a sigmoid) or from clipped probabilities.

use super::reduce::{mean_elementwise, Pointwise};
use super::{clip, is_clipped};
use crate::math;

/// Mean binary cross-entropy over all elements, from logits `z` (the sigmoid is applied
/// inside, stably: `max(z, 0) - z t + ln(1 + e^-|z|)`); writes
/// `dz = (sigmoid(z) - t) / elements`.
pub fn binary_crossentropy_from_logits(z: &[f32], t: &[f32], dz: &mut [f32]) -> f32 {
    mean_elementwise(z, t, Some(dz), Pointwise::BCE_LOGITS)
}

/// Mean binary cross-entropy over all elements, from probabilities clipped to
/// `[EPSILON, 1 - EPSILON]` (Keras); writes the gradient with respect to `probs`, zero where
/// a probability was clipped.
pub fn binary_crossentropy(probs: &[f32], targets: &[f32], d_probs: &mut [f32]) -> f32 {
    mean_elementwise(probs, targets, Some(d_probs), Pointwise::BCE_PROBS)
}

impl Pointwise {
    pub(super) const BCE_LOGITS: Self = Self {
        loss: bce_logits,
        grad: bce_logits_grad,
    };
    pub(super) const BCE_PROBS: Self = Self {
        loss: bce_probs,
        grad: bce_probs_grad,
    };
}

/// `softplus(z) - z t`, i.e. `-(t ln sigmoid(z) + (1 - t) ln(1 - sigmoid(z)))`.
fn bce_logits(z: f32, t: f32) -> f32 {
    math::softplus(z) - z * t
}
fn bce_logits_grad(z: f32, t: f32) -> f32 {
    math::sigmoid(z) - t
}

fn bce_probs(p: f32, t: f32) -> f32 {
    let p = clip(p);
    -(t * math::ln(p) + (1.0 - t) * math::ln(1.0 - p))
}
fn bce_probs_grad(p: f32, t: f32) -> f32 {
    if is_clipped(p) {
        0.0
    } else {
        (1.0 - t) / (1.0 - p) - t / p
    }
}
