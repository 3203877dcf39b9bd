//! Loss functions: Keras-compatible values, PyTorch-compatible gradients.
//!
//! Layout: predictions and targets are flat row-major batches (see the crate docs). Every
//! loss is a **mean** over the batch, and every gradient is of that mean, so it is already
//! divided by the batch size.
//!
//! | [`Loss`] | per sample | gradient |
//! |---|---|---|
//! | [`MeanSquaredError`](Loss::MeanSquaredError) | `mean_i (p_i - t_i)^2` | `2 (p - t) / elements` |
//! | [`BinaryCrossentropy`](Loss::BinaryCrossentropy) | `mean_i -(t ln p + (1-t) ln(1-p))` | fused with sigmoid: `(sigmoid(z) - t) / elements` |
//! | [`CategoricalCrossentropy`](Loss::CategoricalCrossentropy) | `-sum_i t_i ln p_i` | fused with softmax: `(softmax(z) sum(t) - t) / batch` |
//! | [`SparseCategoricalCrossentropy`](Loss::SparseCategoricalCrossentropy) | `-ln p_label` | fused with softmax: `(softmax(z) - onehot) / batch` |
//!
//! When the output activation is the loss' natural partner (sigmoid for binary
//! cross-entropy, softmax for the categorical ones) the loss is computed from the logits
//! (`z`), which is exact and stable for any finite logit (Keras does the same when it sees
//! the activation's logits). Otherwise probabilities are clipped to
//! `[EPSILON, 1 - EPSILON]` as Keras does; the gradient is zero where a value was clipped,
//! as with TensorFlow's `clip_by_value`, and is then carried through the activation's
//! `backward`.
//!
//! The plain helpers ([`mse`], [`binary_crossentropy_from_logits`],
//! [`binary_crossentropy`], [`categorical_crossentropy`],
//! [`sparse_categorical_crossentropy`], [`softmax_cross_entropy`],
//! [`sparse_softmax_cross_entropy`]) return the mean loss and write its gradient.
//!
//! ```
//! use nn_core::activations::ActivationKind;
//! use nn_core::loss::Loss;
//! let logits = [2.0, -1.0, 0.5];
//! let mut outputs = logits;
//! nn_core::activations::ActivationFn::forward(&ActivationKind::Softmax, &mut outputs, 3);
//! let mut d = [0.0; 3];
//! let loss = Loss::SparseCategoricalCrossentropy.forward_backward(
//!     &ActivationKind::Softmax, &logits, &outputs, &[0.0], 3, &mut d);
//! assert!((loss + outputs[0].ln()).abs() < 1e-6);
//! assert!((d[0] - (outputs[0] - 1.0)).abs() < 1e-6);
//! ```

mod binary;
mod builtin;
mod categorical;
mod mse;
mod reduce;

pub use binary::{binary_crossentropy, binary_crossentropy_from_logits};
pub use builtin::Loss;
pub use categorical::{
    categorical_crossentropy, softmax_cross_entropy, sparse_categorical_crossentropy,
    sparse_softmax_cross_entropy,
};
pub use mse::mse;

/// Keras' `epsilon()`: probabilities are clipped to `[EPSILON, 1 - EPSILON]` before a log.
pub const EPSILON: f32 = 1e-7;

fn clip(p: f32) -> f32 {
    p.clamp(EPSILON, 1.0 - EPSILON)
}

/// Whether [`clip`] changes `p` (NaN counts as clipped, so no NaN gradient comes from here).
fn is_clipped(p: f32) -> bool {
    !(EPSILON..=1.0 - EPSILON).contains(&p)
}
