//! Loss functions: the [`LossFn`] contract and the built-in [`Loss`], with Keras-compatible
//! values and PyTorch-compatible gradients.
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
//! More losses, each its own type implementing [`LossFn`] as a loss of yours would:
//!
//! | type | per sample | targets |
//! |---|---|---|
//! | [`MeanAbsoluteError`] | `mean_i abs(y_i - t_i)` | values |
//! | [`Huber`] | `mean_i` of `e^2 / 2` or `delta (abs(e) - delta / 2)` | values |
//! | [`KlDivergence`] | `sum_i t_i ln(t_i / y_i)` (fused with softmax) | distributions |
//! | [`Hinge`] | `mean_i max(0, 1 - t_i y_i)` | -1 or 1 (0 for -1) |
//! | [`BinaryCrossentropyWithLogits`] | binary cross-entropy of `sigmoid(z)`, per label | `[0, 1]` per output |
//!
//! The plain helpers ([`mse`], [`binary_crossentropy_from_logits`],
//! [`binary_crossentropy`], [`categorical_crossentropy`],
//! [`sparse_categorical_crossentropy`], [`softmax_cross_entropy`],
//! [`sparse_softmax_cross_entropy`]) return the mean loss and write its gradient.
//!
//! ```
//! use nn_core::activations::{ActivationFn, ActivationKind};
//! use nn_core::loss::{Loss, LossFn};
//! let logits = [2.0, -1.0, 0.5];
//! let mut outputs = logits;
//! ActivationKind::Softmax.forward(&mut outputs, 3);
//! let mut d = [0.0; 3];
//! let loss = Loss::SparseCategoricalCrossentropy.forward_backward(
//!     &ActivationKind::Softmax, &logits, &outputs, &[0.0], 3, &mut d);
//! assert!((loss + outputs[0].ln()).abs() < 1e-6);
//! assert!((d[0] - (outputs[0] - 1.0)).abs() < 1e-6);
//! ```
//!
//! # Your own loss
//!
//! The contract is open: [`LossFn`] is what the training loop asks of a loss, the built-in
//! [`Loss`] implements it, and so can a type of your own, which then works wherever
//! [`Loss`] does (`model.compile(optimizer, MyLoss)`, [`Trainer`](crate::train::Trainer),
//! `fit`, `evaluate`). A loss says what its targets are ([`Targets`]): that sets their width
//! and which accuracy the metrics compute on them (see
//! [`Metric::resolve`](crate::metrics::Metric::resolve)). Its gradient is with respect to
//! the logits: compute it with respect to the outputs, then carry it through the output
//! activation with [`backward_through`].
//!
//! ```
//! use nn_core::activations::ActivationFn;
//! use nn_core::loss::{backward_through, LossFn, Targets};
//!
//! /// Log-cosh: `mean ln(cosh(y - t))`, quadratic near the target and linear far from it.
//! #[derive(Clone, Copy, Debug)]
//! struct LogCosh;
//!
//! impl LossFn for LogCosh {
//!     fn name(&self) -> &'static str { "log_cosh" }
//!     fn targets(&self) -> Targets { Targets::Values }
//!     fn forward_backward<A: ActivationFn>(&self, activation: &A, logits: &[f32],
//!         outputs: &[f32], targets: &[f32], width: usize, d_logits: &mut [f32]) -> f32 {
//!         let n = outputs.len() as f32;
//!         for ((d, &y), &t) in d_logits.iter_mut().zip(outputs).zip(targets) {
//!             *d = (y - t).tanh() / n;
//!         }
//!         backward_through(activation, logits, outputs, d_logits, width);
//!         outputs.iter().zip(targets).map(|(y, t)| (y - t).cosh().ln()).sum::<f32>() / n
//!     }
//! }
//!
//! let (y, t) = ([0.5, 2.0], [1.0, 1.0]);
//! let mut d = [0.0; 2];
//! let l = LogCosh.forward_backward(&nn_core::activations::Linear, &y, &y, &t, 2, &mut d);
//! // (ln cosh 0.5 + ln cosh 1) / 2, and (tanh(-0.5) / 2, tanh(1) / 2).
//! assert!((l - 0.276_947_67).abs() < 1e-6);
//! assert!((d[0] + 0.231_058_58).abs() < 1e-6 && (d[1] - 0.380_797_08).abs() < 1e-6);
//! ```

mod binary;
mod builtin;
mod categorical;
mod divergence;
mod margin;
mod mse;
mod reduce;
mod robust;
mod scaled;

pub use binary::{
    binary_crossentropy, binary_crossentropy_from_logits, BinaryCrossentropyWithLogits,
};
pub use builtin::Loss;
pub use categorical::{
    categorical_crossentropy, softmax_cross_entropy, sparse_categorical_crossentropy,
    sparse_softmax_cross_entropy,
};
pub use divergence::KlDivergence;
pub use margin::Hinge;
pub use mse::mse;
pub use robust::{Huber, MeanAbsoluteError};
pub use scaled::Scaled;

use alloc::vec;

use crate::activations::ActivationFn;
use crate::error::Result;

/// What a loss's targets are, per sample. It sets their width
/// ([`width`](Self::width)), the layout they are most often confused with
/// ([`LossFn::confusable_target_width`]) and which accuracy
/// [`Metric::Accuracy`](crate::metrics::Metric::Accuracy) computes on them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Targets {
    /// One real value per output (regression), as for mean squared error.
    Values,
    /// One probability in `[0, 1]` per output, each independent (binary or multi-label
    /// classification), as for binary cross-entropy.
    Probabilities,
    /// A probability distribution over the outputs: one-hot rows, or soft targets, as for
    /// categorical cross-entropy.
    Distribution,
    /// One class id per sample, stored as `f32`, as for sparse categorical cross-entropy.
    ClassIds,
}

impl Targets {
    /// Target values per sample for a model of `outputs` outputs: 1 for class ids, else
    /// `outputs`.
    #[must_use]
    pub fn width(self, outputs: usize) -> usize {
        match self {
            Self::ClassIds => 1,
            Self::Values | Self::Probabilities | Self::Distribution => outputs,
        }
    }
}

/// A loss function: what the training loop asks of a loss. The built-in [`Loss`] implements
/// it, and so can your own type (see the [module docs](self) for an example).
///
/// Layout: `logits`, `outputs` and the gradient hold whole rows of `width` values (the
/// model's outputs per sample), `targets` holds [`target_width`](Self::target_width) values
/// per sample. The loss of a batch is the **mean** over the batch, and its gradient is that
/// of the mean.
pub trait LossFn: Send + Sync {
    /// The loss's name, for logs and error messages, e.g. `"mean_squared_error"`.
    fn name(&self) -> &'static str;

    /// What the targets are: their width, and which accuracy metrics compute on them.
    fn targets(&self) -> Targets;

    /// Target values per sample for a model with `outputs` outputs; the width of
    /// [`targets`](Self::targets) (implement that, not this).
    fn target_width(&self, outputs: usize) -> usize {
        self.targets().width(outputs)
    }

    /// Checks that `targets` (whole samples of [`target_width`](Self::target_width) values,
    /// already checked finite) fit the loss for a model of `outputs` outputs. The trainer
    /// calls it before training or evaluating, so a target outside the loss's domain is an
    /// error, never garbage. The default accepts every finite target.
    ///
    /// # Errors
    /// [`Error::InvalidTargets`](crate::Error::InvalidTargets) naming the loss, the first bad
    /// value or sample and the fix; or [`Error::InvalidLabel`](crate::Error::InvalidLabel)
    /// for a class id that is not a class.
    fn check_targets(&self, targets: &[f32], outputs: usize) -> Result<()> {
        let _ = (targets, outputs);
        Ok(())
    }

    /// Target values per sample of the layout most often confused with this loss's, so that
    /// targets in that layout get an error that says so: 1 (class ids) for a
    /// [`Distribution`](Targets::Distribution), `outputs` (one-hot rows) for
    /// [`ClassIds`](Targets::ClassIds); `None` otherwise, or for a single output, where the
    /// two layouts coincide.
    fn confusable_target_width(&self, outputs: usize) -> Option<usize> {
        match self.targets() {
            _ if outputs < 2 => None,
            Targets::Distribution => Some(1),
            Targets::ClassIds => Some(outputs),
            Targets::Values | Targets::Probabilities => None,
        }
    }

    /// Mean loss of the batch; writes d(mean loss)/d(logits) into `d_logits` (same length as
    /// `logits`, already divided by the batch size).
    ///
    /// `activation` is the output activation that turned `logits` into `outputs`: a loss
    /// may compute from the logits when it recognises its partner (softmax with
    /// cross-entropy, through [`ActivationFn::builtin`]), or compute its gradient with
    /// respect to the outputs and carry it through the activation with
    /// [`backward_through`]. Targets have passed [`check_targets`](Self::check_targets).
    fn forward_backward<A: ActivationFn>(
        &self,
        activation: &A,
        logits: &[f32],
        outputs: &[f32],
        targets: &[f32],
        width: usize,
        d_logits: &mut [f32],
    ) -> f32;

    /// Mean loss only (for evaluation): the same value as
    /// [`forward_backward`](Self::forward_backward). The default calls it with a gradient
    /// buffer it allocates; the built-ins compute the value alone.
    fn value<A: ActivationFn>(
        &self,
        activation: &A,
        logits: &[f32],
        outputs: &[f32],
        targets: &[f32],
        width: usize,
    ) -> f32 {
        let mut d = vec![0.0; logits.len()];
        self.forward_backward(activation, logits, outputs, targets, width, &mut d)
    }
}

/// Turns a gradient with respect to the outputs into the gradient with respect to the
/// logits, in place, through the output `activation` (which turned `logits` into
/// `outputs`, rows of `width`): the last step of a loss's
/// [`forward_backward`](LossFn::forward_backward) that does not fuse the activation.
pub fn backward_through<A: ActivationFn>(
    activation: &A,
    logits: &[f32],
    outputs: &[f32],
    grad: &mut [f32],
    width: usize,
) {
    let x: &[f32] = if A::USES_INPUT { logits } else { &[] };
    activation.backward(x, outputs, grad, width);
}

/// Keras' `epsilon()`: probabilities are clipped to `[EPSILON, 1 - EPSILON]` before a log.
pub const EPSILON: f32 = 1e-7;

fn clip(p: f32) -> f32 {
    p.clamp(EPSILON, 1.0 - EPSILON)
}

/// Whether [`clip`] changes `p` (NaN counts as clipped, so no NaN gradient comes from here).
fn is_clipped(p: f32) -> bool {
    !(EPSILON..=1.0 - EPSILON).contains(&p)
}
