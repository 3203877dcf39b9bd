//! Validation of training and evaluation data against a model and a loss, before anything
//! runs: every problem is an error that names it, never a panic or garbage mid-training.

use crate::error::{check_finite, Error, Result, TargetProblem};
use crate::loss::LossFn;
use crate::model::Model;

/// Validates training or evaluation data for model `M` and loss `loss` (a built-in
/// [`Loss`](crate::loss::Loss) or your own); returns the number of samples.
///
/// # Errors
/// Empty data, lengths that are not whole samples, different sample counts, non-finite
/// values, targets laid out for the other categorical loss (class ids for categorical
/// cross-entropy, one-hot rows for the sparse one) or outside the loss' domain
/// ([`Error::InvalidTargets`], see [`LossFn::check_targets`]), or class labels out of range
/// for sparse categorical cross-entropy ([`Error::InvalidLabel`]), or inputs the model cannot
/// take ([`Model::check_input`]).
pub fn check_data<M: Model, L: LossFn>(model: &M, x: &[f32], y: &[f32], loss: &L) -> Result<usize> {
    let n = crate::error::rows("x", x, M::INPUT)?;
    let width = loss.target_width(M::OUTPUT);
    if n.checked_mul(width) != Some(y.len()) {
        if let Some(found) = loss.confusable_target_width(M::OUTPUT) {
            if n.checked_mul(found) == Some(y.len()) {
                return Err(Error::InvalidTargets {
                    loss: loss.name(),
                    problem: TargetProblem::Layout {
                        expected: width,
                        found,
                    },
                });
            }
        }
    }
    let m = crate::error::rows("y", y, width)?;
    if n != m {
        return Err(Error::SampleCountMismatch { x: n, y: m });
    }
    check_finite("x", x)?;
    check_finite("y", y)?;
    model.check_input(x)?;
    loss.check_targets(y, M::OUTPUT)?;
    Ok(n)
}
