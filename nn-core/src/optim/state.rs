//! [`OptimizerState`]: what an optimizer carries from one step to the next, to save and
//! restore, and the checks a restored state passes.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::error::{Error, Result};

/// The state of an optimizer between steps ([`Optimizer::state`](super::Optimizer::state)): what to save with the
/// model's weights to resume training where it stopped.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OptimizerState {
    /// The learning rate (a schedule or a callback may have changed it).
    pub learning_rate: f32,
    /// Steps taken since the state was last empty: Adam's bias correction depends on it;
    /// 0 for optimizers that do not count their steps.
    pub step: u64,
    /// The buffers, by PyTorch's names (`exp_avg` and `exp_avg_sq` of Adam,
    /// `momentum_buffer` of SGD and RMSprop with momentum, `square_avg` of RMSprop), each
    /// one value per parameter, or empty before the first step.
    pub buffers: Vec<(String, Vec<f32>)>,
}

impl OptimizerState {
    /// The buffer named `name`, if the state has one.
    #[must_use]
    pub fn buffer(&self, name: &str) -> Option<&[f32]> {
        self.buffers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, values)| values.as_slice())
    }

    /// The state of an optimizer that has `buffers` (by name), all copied.
    pub(super) fn of(learning_rate: f32, step: u64, buffers: &[(&str, &[f32])]) -> Self {
        Self {
            learning_rate,
            step,
            buffers: buffers
                .iter()
                .map(|&(name, values)| (name.to_string(), values.to_vec()))
                .collect(),
        }
    }

    /// The buffers `names` of optimizer `owner`, in that order, after checking that the
    /// state holds exactly those, all of one length (or empty), with finite values.
    pub(super) fn expect<const N: usize>(
        &self,
        owner: &'static str,
        names: [&'static str; N],
    ) -> Result<[&[f32]; N]> {
        let invalid = |reason: String| Error::InvalidState { owner, reason };
        let listed = || {
            if names.is_empty() {
                "no buffer".to_string()
            } else {
                names
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        for (i, (name, _)) in self.buffers.iter().enumerate() {
            if !names.contains(&name.as_str()) {
                return Err(invalid(format!(
                    "it holds a buffer `{name}`, but {owner} with these settings keeps {} \
                     (the state of another optimizer, or of other settings?)",
                    listed()
                )));
            }
            if self.buffers[..i].iter().any(|(n, _)| n == name) {
                return Err(invalid(format!("it holds the buffer `{name}` twice")));
            }
        }
        let mut out = [&[][..]; N];
        for (slot, name) in out.iter_mut().zip(names) {
            *slot = self.buffer(name).ok_or_else(|| {
                invalid(format!(
                    "the buffer `{name}` is missing ({owner} with these settings keeps {})",
                    listed()
                ))
            })?;
        }
        for (values, name) in out.iter().zip(names) {
            if values.len() != out[0].len() {
                return Err(invalid(format!(
                    "the buffer `{name}` holds {} values but `{}` holds {}",
                    values.len(),
                    names[0],
                    out[0].len()
                )));
            }
            if let Some(index) = values.iter().position(|v| !v.is_finite()) {
                return Err(invalid(format!(
                    "the buffer `{name}` holds a NaN or infinite value at index {index}"
                )));
            }
        }
        Ok(out)
    }
}

/// `Err` naming optimizer `owner` when a second-moment buffer `name` holds a negative value
/// (its square root would be NaN).
pub(super) fn check_non_negative(owner: &'static str, name: &str, values: &[f32]) -> Result<()> {
    match values.iter().position(|&v| v < 0.0) {
        None => Ok(()),
        Some(index) => Err(Error::InvalidState {
            owner,
            reason: format!(
                "the buffer `{name}` holds the negative value {} at index {index}, but it is a \
                 mean of squares",
                values[index]
            ),
        }),
    }
}
