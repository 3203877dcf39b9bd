//! Optimizer state files: with the weights file, what a stopped training needs to resume
//! exactly where it stopped.
//!
//! The state ([`OptimizerState`]) is a safetensors file too: one `F32` tensor per buffer,
//! under its name (`exp_avg`, `exp_avg_sq`, `momentum_buffer`, `square_avg`), and in the
//! header's metadata the learning rate and the step count, written so that they read back
//! exactly, with the order of the buffers:
//! `{"format": "nn-optimizer", "learning_rate": "0.001", "step": "120", "buffers":
//! "exp_avg,exp_avg_sq"}`.
//!
//! ```
//! use nn_core::io::optimizer;
//! use nn_core::optim::{Adam, Optimizer};
//! let mut adam = Adam::new(1e-3);
//! adam.step(&mut [0.5, -1.0], &[0.1, -0.2]);
//! let bytes = optimizer::to_bytes(&adam.state())?;
//! let state = optimizer::load_bytes(&bytes, "adam.safetensors")?;
//! assert_eq!(state, adam.state());
//! # Ok::<(), nn_core::Error>(())
//! ```
//!
//! A training checkpoint is then the model's weights file
//! ([`WeightFiles::save_weights`](super::weights::WeightFiles::save_weights), which holds
//! batch normalisation's running statistics too) and this file
//! ([`Trainer::optimizer_state`](crate::train::Trainer::optimizer_state)); to resume, load
//! both ([`Trainer::load_optimizer_state`](crate::train::Trainer::load_optimizer_state)).

use std::collections::HashMap;
use std::format;
use std::path::Path;
use std::string::{String, ToString};
use std::vec::Vec;

use safetensors::SafeTensors;

use super::safetensors_format::{decode, describe, read_file, F32Tensor};
use super::write::write_atomic;
use crate::error::{Error, Result};
use crate::optim::OptimizerState;

/// The `format` of an optimizer state file's metadata.
const FORMAT: &str = "nn-optimizer";

/// The bytes of a safetensors file holding `state` (see the [module docs](self)).
///
/// # Errors
/// [`Error::Format`] for a NaN or infinite value (such a state could not be loaded), a
/// buffer name that is empty or holds a comma, or two buffers of one name.
pub fn to_bytes(state: &OptimizerState) -> Result<Vec<u8>> {
    let invalid = |reason: String| Error::Format {
        source_name: "optimizer state".to_string(),
        reason,
    };
    let mut tensors = Vec::with_capacity(state.buffers.len());
    for (i, (name, values)) in state.buffers.iter().enumerate() {
        if name.is_empty() || name.contains(',') {
            return Err(invalid(format!(
                "the buffer name `{name}` cannot be saved (empty, or holds a comma)"
            )));
        }
        if state.buffers[..i].iter().any(|(n, _)| n == name) {
            return Err(invalid(format!("two buffers are named `{name}`")));
        }
        if let Some(index) = values.iter().position(|v| !v.is_finite()) {
            return Err(invalid(format!(
                "the buffer `{name}` holds a NaN or infinite value at index {index}"
            )));
        }
        let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let tensor = F32Tensor {
            shape: std::vec![values.len()],
            bytes,
        };
        tensors.push((name.as_str(), tensor));
    }
    if !state.learning_rate.is_finite() {
        return Err(invalid(format!(
            "the learning rate {} is not finite",
            state.learning_rate
        )));
    }
    let names: Vec<&str> = tensors.iter().map(|(n, _)| *n).collect();
    let metadata = HashMap::from([
        ("format".to_string(), FORMAT.to_string()),
        // `f32`'s `Display` is the shortest text that parses back to the same value.
        ("learning_rate".to_string(), state.learning_rate.to_string()),
        ("step".to_string(), state.step.to_string()),
        ("buffers".to_string(), names.join(",")),
    ]);
    safetensors::serialize(tensors.iter().map(|(n, t)| (*n, t)), Some(metadata))
        .map_err(|e| invalid(format!("cannot serialise the optimizer state: {e}")))
}

/// Writes `state` to the safetensors file `path`, atomically (as
/// [`weights::save`](super::weights::save)).
///
/// # Errors
/// As [`to_bytes`], and [`Error::Io`] when the file cannot be written.
pub fn save(state: &OptimizerState, path: impl AsRef<Path>) -> Result<()> {
    write_atomic(path.as_ref(), &to_bytes(state)?)
}

/// Reads an optimizer state from the bytes of a file written by [`to_bytes`];
/// `source_name` names the bytes in error messages. Whether the state fits an optimizer is
/// checked when it is loaded into one ([`Optimizer::load_state`](crate::optim::Optimizer::load_state)).
///
/// # Errors
/// [`Error::Format`], naming `source_name`, for bytes that are not a valid safetensors file,
/// a file that is not an optimizer state (a weights file, say), a learning rate or step
/// count that does not parse, a tensor missing from or not listed in `buffers`, a tensor
/// that is not one-dimensional or not floating-point, or a NaN or infinite value.
pub fn load_bytes(bytes: &[u8], source_name: &str) -> Result<OptimizerState> {
    let format_error = |reason: String| Error::Format {
        source_name: source_name.to_string(),
        reason,
    };
    let file = SafeTensors::deserialize(bytes).map_err(|e| format_error(describe(&e, bytes)))?;
    let (_, header) =
        SafeTensors::read_metadata(bytes).map_err(|e| format_error(describe(&e, bytes)))?;
    let empty = HashMap::new();
    let metadata = header.metadata().as_ref().unwrap_or(&empty);
    let field = |key: &str| metadata.get(key).map(String::as_str);
    if field("format") != Some(FORMAT) {
        return Err(format_error(format!(
            "not an optimizer state file: its metadata's `format` is {} where `{FORMAT}` is \
             expected (a weights file is loaded with `load_weights`)",
            field("format").map_or("missing".to_string(), |f| format!("`{f}`"))
        )));
    }
    let learning_rate = field("learning_rate")
        .and_then(|v| v.parse::<f32>().ok())
        .filter(|v| v.is_finite())
        .ok_or_else(|| {
            format_error(format!(
                "the metadata's `learning_rate` ({:?}) is not a finite number",
                field("learning_rate")
            ))
        })?;
    let step = field("step")
        .and_then(|v| v.parse::<u64>().ok())
        .ok_or_else(|| {
            format_error(format!(
                "the metadata's `step` ({:?}) is not a whole number",
                field("step")
            ))
        })?;
    let names: Vec<&str> = match field("buffers") {
        None | Some("") => Vec::new(),
        Some(list) => list.split(',').collect(),
    };
    if let Some(extra) = file.names().into_iter().find(|n| !names.contains(n)) {
        return Err(format_error(format!(
            "the tensor `{extra}` is not listed in the metadata's `buffers`"
        )));
    }
    let mut buffers = Vec::with_capacity(names.len());
    for name in names {
        let view = file.tensor(name).map_err(|_| {
            format_error(format!(
                "the buffer `{name}` is listed in the metadata but missing"
            ))
        })?;
        if view.shape().len() != 1 {
            return Err(format_error(format!(
                "the buffer `{name}` has shape {:?}; optimizer buffers are one-dimensional",
                view.shape()
            )));
        }
        let values = decode(&view).ok_or_else(|| {
            format_error(format!(
                "the buffer `{name}` has dtype {}, not a floating-point type",
                view.dtype()
            ))
        })?;
        if let Some(index) = values.iter().position(|v| !v.is_finite()) {
            return Err(format_error(format!(
                "the buffer `{name}` holds a NaN or infinite value at index {index}"
            )));
        }
        buffers.push((name.to_string(), values));
    }
    Ok(OptimizerState {
        learning_rate,
        step,
        buffers,
    })
}

/// Reads the optimizer state file `path` (see [`load_bytes`]), no further than its header
/// declares (as [`weights::load`](super::weights::load)).
///
/// # Errors
/// [`Error::Io`] when the file cannot be read; [`Error::Format`], with the path as its
/// source name, for everything [`load_bytes`] rejects and for data after the declared
/// tensors.
pub fn load(path: impl AsRef<Path>) -> Result<OptimizerState> {
    let path = path.as_ref();
    let bytes = read_file(path)?;
    load_bytes(&bytes, &path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::{Adam, Optimizer, RmsProp, Sgd};

    fn round_trip(state: &OptimizerState) -> OptimizerState {
        load_bytes(&to_bytes(state).unwrap(), "test").unwrap()
    }

    #[test]
    fn states_round_trip_exactly() {
        let mut p = [0.3_f32, -1.7, 2.5];
        let g = [0.1_f32, -0.7, 1e-9];
        let mut optimizers: [std::boxed::Box<dyn Optimizer>; 4] = [
            std::boxed::Box::new(Adam::new(1e-3)),
            std::boxed::Box::new(Sgd::new(0.1).momentum(0.9)),
            std::boxed::Box::new(RmsProp::new(0.01).momentum(0.5)),
            std::boxed::Box::new(Sgd::new(0.1)),
        ];
        for opt in &mut optimizers {
            // Before the first step (empty buffers) and after a few.
            assert_eq!(round_trip(&opt.state()), opt.state());
            for _ in 0..3 {
                opt.step(&mut p, &g);
            }
            opt.set_learning_rate(0.1 + f32::EPSILON);
            assert_eq!(round_trip(&opt.state()), opt.state());
        }
    }

    #[test]
    fn what_is_not_an_optimizer_state_is_an_error() {
        let good = Adam::new(1e-3).state();
        let bytes = to_bytes(&good).unwrap();
        let reason = |bytes: &[u8]| load_bytes(bytes, "f").unwrap_err().to_string();
        assert!(reason(&bytes[..bytes.len() - 1]).contains("not a valid safetensors file"));
        // A weights-like file: another format.
        let other = safetensors::serialize(
            [(
                "w",
                &F32Tensor {
                    shape: std::vec![1],
                    bytes: 1.0f32.to_le_bytes().to_vec(),
                },
            )],
            Some(HashMap::from([("format".to_string(), "pt".to_string())])),
        )
        .unwrap();
        assert!(
            reason(&other).contains("not an optimizer state file"),
            "{}",
            reason(&other)
        );
        // Values that cannot be saved.
        let mut nan = good.clone();
        nan.buffers[0].1.push(f32::NAN);
        assert!(to_bytes(&nan).is_err());
        let mut comma = good;
        comma.buffers[0].0 = "a,b".to_string();
        assert!(to_bytes(&comma).is_err());
    }
}
