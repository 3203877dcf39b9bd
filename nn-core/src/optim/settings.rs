//! Checks of optimizer settings: each names the optimizer, the setting, its value and the
//! valid range (see the table in the [module docs](super)).

use crate::error::{Error, Result};

/// `Ok` when `valid`, else [`Error::InvalidSetting`] for setting `name` of `owner`.
pub(super) fn setting(
    owner: &'static str,
    name: &'static str,
    value: f32,
    valid: bool,
    expected: &'static str,
) -> Result<()> {
    if valid {
        Ok(())
    } else {
        Err(Error::InvalidSetting {
            owner,
            name,
            value: f64::from(value),
            expected,
        })
    }
}

pub(super) fn check_learning_rate(owner: &'static str, lr: f32) -> Result<()> {
    let valid = lr.is_finite() && lr >= 0.0;
    setting(owner, "learning_rate", lr, valid, "finite and >= 0")
}

/// A decay rate or momentum factor: in `[0, 1)`.
pub(super) fn check_unit(owner: &'static str, name: &'static str, value: f32) -> Result<()> {
    setting(owner, name, value, (0.0..1.0).contains(&value), "in [0, 1)")
}

pub(super) fn check_epsilon(owner: &'static str, e: f32) -> Result<()> {
    setting(
        owner,
        "epsilon",
        e,
        e.is_finite() && e > 0.0,
        "finite and > 0",
    )
}

pub(super) fn check_weight_decay(owner: &'static str, wd: f32) -> Result<()> {
    let valid = wd.is_finite() && wd >= 0.0;
    setting(owner, "weight_decay", wd, valid, "finite and >= 0")
}
