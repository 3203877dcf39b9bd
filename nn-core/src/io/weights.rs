//! Weight files in the [safetensors](https://huggingface.co/docs/safetensors) format,
//! interchangeable with PyTorch.
//!
//! A model's parameters are written as one `F32` tensor per entry of
//! [`Model::tensors`], named and shaped as in PyTorch (`hidden.weight` of a dense layer is
//! `[out, in]`, `hidden.bias` is `[out]`), so a file saved here loads with
//! `model.load_state_dict(safetensors.torch.load_file(path))` into the equivalent
//! `torch.nn` module, and a file saved by PyTorch loads here. The header carries the metadata
//! `{"format": "pt", "model": <model name>}`.
//!
//! Convolutional models need one more conversion, done here both ways: PyTorch flattens a
//! feature map channel-first (`[channels, height, width]`), `nn` channels last (`[height,
//! width, channels]`), so the dense weight that follows `Flatten` of an image (and batch
//! normalisation between them) indexes the same values in another order. Its file tensor
//! is PyTorch's (`[out, channels * height * width]`, columns in CHW order) and its memory
//! ours (see [`InputOrder`](crate::layers::InputOrder)), so a CNN trained
//! in PyTorch loads and gives PyTorch's outputs on the same (channels-last) images, and a
//! file saved here loads into the PyTorch module.
//!
//! Loading is strict, like PyTorch's `load_state_dict` default: every tensor the model
//! expects must be present with its exact shape, and no other tensor may be. `F32` tensors
//! are read as they are; `F64`, `F16` and `BF16` tensors are converted to `f32`; other
//! dtypes are rejected. Loading is all-or-nothing: the file is validated and converted in
//! full before the first parameter is overwritten, so on error the model is unchanged.
//!
//! ```ignore
//! use nn::prelude::*;
//! nn::model! { pub struct Mlp { input: 784, hidden: Dense(128, relu), output: Dense(10) } }
//!
//! let model = Mlp::new(0);
//! model.save_weights("mlp.safetensors")?;
//! let mut restored = Mlp::new(1);
//! restored.load_weights("mlp.safetensors")?;
//! assert_eq!(model.params(), restored.params());
//! # Ok::<(), nn::Error>(())
//! ```

use std::collections::HashMap;
use std::format;
use std::path::Path;
use std::string::{String, ToString};
use std::vec::Vec;

use safetensors::{Dtype, SafeTensors};

use super::safetensors_format::{decode, describe, read_file, F32Tensor};
use super::write::write_atomic;
use crate::error::{Error, Result};
use crate::model::{Model, TensorInfo};

/// Serialises all parameters of `model` as the bytes of a safetensors file: one `F32`
/// tensor per entry of [`Model::tensors`], named and shaped as in PyTorch (tensors that the
/// model stores in Keras' layouts are converted back). The header's metadata is
/// `{"format": "pt", "model": M::NAME}`.
///
/// # Errors
/// [`Error::NonFiniteWeight`], naming the tensor and the flat index (in PyTorch's layout) of
/// the first bad value, when a parameter is NaN or infinite (such a file could not be loaded);
/// [`Error::Format`] if the model's tensor table is inconsistent with its parameter buffer.
pub fn to_bytes<M: Model>(model: &M) -> Result<Vec<u8>> {
    let infos = all_tensors::<M>();
    check_layout::<M>(&infos, model.params().len(), model.state().len())?;
    let mut tensors = Vec::with_capacity(infos.len());
    for info in &infos {
        let buffer = if info.is_state() {
            model.state()
        } else {
            model.params()
        };
        let values = to_file_layout(info, &buffer[info.offset..info.offset + info.len()]);
        if let Some(index) = values.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFiniteWeight {
                tensor: info.name.clone(),
                index,
            });
        }
        let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        tensors.push((
            info.name.as_str(),
            F32Tensor {
                shape: info.shape().to_vec(),
                bytes,
            },
        ));
    }
    let metadata = HashMap::from([
        ("format".to_string(), "pt".to_string()),
        ("model".to_string(), M::NAME.to_string()),
    ]);
    safetensors::serialize(tensors.iter().map(|(n, t)| (*n, t)), Some(metadata)).map_err(|e| {
        Error::Format {
            source_name: M::NAME.to_string(),
            reason: format!("cannot serialise the weights: {e}"),
        }
    })
}

/// Writes the weights of `model` to the safetensors file `path` (see [`to_bytes`]).
///
/// The write is atomic: the bytes go to a temporary file in the same directory, which is
/// flushed to disk and then renamed over `path`; a crash or a full disk never leaves a
/// half-written weights file, and an existing file is only replaced by a complete one.
///
/// # Errors
/// As [`to_bytes`], and [`Error::Io`] when the file cannot be written.
pub fn save<M: Model>(model: &M, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let bytes = to_bytes(model)?;
    write_atomic(path, &bytes)
}

/// Writes the parameters as raw little-endian `f32` values in the model's flat order, the
/// format [`bake::f32_array`](super::bake::f32_array) decodes at compile time to bake a model into a binary.
/// Written atomically, like [`save`].
///
/// # Errors
/// [`Error::Io`] when the file cannot be written; [`Error::NonFinite`] for a NaN or infinite
/// parameter.
pub fn save_raw<M: Model>(model: &M, path: impl AsRef<Path>) -> Result<()> {
    crate::error::check_finite("params", model.params())?;
    write_atomic(path.as_ref(), &super::bake::to_le_bytes(model.params()))
}

/// Reads parameters from the bytes of a safetensors file into `model`; `source_name` (a
/// path, a URL…) names the bytes in error messages.
///
/// All tensors are validated and converted before any parameter is written: on error,
/// `model` is unchanged.
///
/// # Errors
/// [`Error::Format`], naming `source_name` and the tensor concerned, when:
/// - the bytes are not a valid safetensors file (truncated, corrupt header length or JSON,
///   data offsets outside the file);
/// - a tensor the model expects is missing, or the file holds a tensor the model does not
///   have (both are listed);
/// - a tensor's shape differs from the model's;
/// - a tensor's dtype is not a floating-point type (`F32`, or `F64`, `F16`, `BF16`, which
///   are converted);
/// - a value is NaN or infinite (also after conversion from `F64`);
/// - a batch normalisation `running_var` holds a negative variance.
pub fn load_bytes<M: Model>(model: &mut M, bytes: &[u8], source_name: &str) -> Result<()> {
    let format_error = |reason: String| Error::Format {
        source_name: source_name.to_string(),
        reason,
    };
    let infos = all_tensors::<M>();
    check_layout::<M>(&infos, model.params().len(), model.state().len())?;
    let file = SafeTensors::deserialize(bytes).map_err(|e| format_error(describe(&e, bytes)))?;

    // The set of names, before anything else: a file for another model fails with one
    // message that lists every difference, as PyTorch's `load_state_dict` does.
    let mut unexpected: Vec<&str> = file
        .names()
        .into_iter()
        // PyTorch's batch norm also saves a step counter, which is not needed here.
        .filter(|name| {
            !infos.iter().any(|t| t.name == *name) && !name.ends_with(".num_batches_tracked")
        })
        .collect();
    unexpected.sort_unstable();
    let missing: Vec<&TensorInfo> = infos
        .iter()
        .filter(|t| file.tensor(&t.name).is_err())
        .collect();
    if !missing.is_empty() || !unexpected.is_empty() {
        let mut reason = String::new();
        if !missing.is_empty() {
            reason += &format!(
                "missing tensor(s) {}",
                name_list(missing.iter().map(|t| t.name.as_str()))
            );
        }
        if !unexpected.is_empty() {
            if !reason.is_empty() {
                reason += "; ";
            }
            reason += &format!(
                "unexpected tensor(s) {} (not in the model)",
                name_list(unexpected.iter().copied())
            );
        }
        let expected: Vec<String> = infos
            .iter()
            .map(|t| format!("`{}` {:?}", t.name, t.shape()))
            .collect();
        reason += &format!(
            ". The model `{}` expects exactly: {}",
            M::NAME,
            expected.join(", ")
        );
        return Err(format_error(reason));
    }

    // Converted into scratch first; the model is only written once everything is valid.
    let (mut scratch, mut scratch_state) = (model.params().to_vec(), model.state().to_vec());
    for info in &infos {
        let scratch = if info.is_state() {
            &mut scratch_state
        } else {
            &mut scratch
        };
        let shape = info.shape();
        let view = file
            .tensor(&info.name)
            .map_err(|e| format_error(format!("tensor `{}`: {e}", info.name)))?;
        if view.shape() != shape {
            let transposed = shape.len() == 2 && view.shape() == [shape[1], shape[0]];
            let hint = if transposed {
                " (the transpose: the file may use Keras' [in, out] layout, not PyTorch's [out, in])"
            } else {
                ""
            };
            return Err(format_error(format!(
                "`{}` has shape {:?} but the model expects {:?}{hint}",
                info.name,
                view.shape(),
                shape
            )));
        }
        let values = decode(&view).ok_or_else(|| {
            format_error(format!(
                "`{}` has dtype {} but only floating-point tensors can be loaded \
                 (F32, or F64, F16 and BF16, which are converted to F32)",
                info.name,
                view.dtype()
            ))
        })?;
        if let Some(index) = values.iter().position(|v| !v.is_finite()) {
            let value = values[index];
            let from_f64 = if view.dtype() == Dtype::F64 && !value.is_nan() {
                " (after conversion from F64: out of the range of f32)"
            } else {
                ""
            };
            return Err(format_error(format!(
                "`{}` holds a non-finite value {value} at index {:?}{from_f64}",
                info.name,
                unravel(index, shape)
            )));
        }
        from_file_layout(
            info,
            &values,
            &mut scratch[info.offset..info.offset + info.len()],
        );
    }
    check_variances(&infos, &scratch_state).map_err(format_error)?;
    model.params_mut().copy_from_slice(&scratch);
    model.state_mut().copy_from_slice(&scratch_state);
    Ok(())
}

/// Checks that the running variances of batch normalisation (the state tensors named
/// `*.running_var`) are `>= 0`: a negative one has no square root, so inference would give
/// NaN for every sample.
fn check_variances(infos: &[TensorInfo], state: &[f32]) -> Result<(), String> {
    for info in infos
        .iter()
        .filter(|t| t.is_state() && t.name.ends_with(".running_var"))
    {
        let values = &state[info.offset..info.offset + info.len()];
        if let Some(index) = values.iter().position(|&v| v < 0.0) {
            // Running statistics are vectors, so memory and file indices agree.
            return Err(format!(
                "`{}` holds the negative variance {} at index {:?}: a variance cannot be \
                 negative (a corrupt file, or another tensor saved under this name)",
                info.name,
                values[index],
                unravel(index, info.shape())
            ));
        }
    }
    Ok(())
}

/// Every tensor of `M`: parameters, then state.
fn all_tensors<M: Model>() -> Vec<TensorInfo> {
    let mut infos = M::tensors();
    infos.sort_by_key(TensorInfo::is_state);
    infos
}

/// Reads the safetensors file `path` into `model` (see [`load_bytes`]); on error the
/// model is unchanged.
///
/// The file is read no further than its header declares: the 8-byte header length, the
/// header (at most 100 MB, the format's limit) and the tensor data it describes, plus one
/// byte to detect trailing data. A file longer than that (or a pipe or device that never
/// ends) is rejected without reading the rest.
///
/// # Errors
/// [`Error::Io`] when the file cannot be read; [`Error::Format`], with the path as its
/// source name, for data after the declared tensors and for everything [`load_bytes`]
/// rejects.
pub fn load<M: Model>(model: &mut M, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let bytes = read_file(path)?;
    load_bytes(model, &bytes, &path.display().to_string())
}
/// Weight files as methods of every [`Model`]: `model.save_weights(path)` and
/// `model.load_weights(path)`.
///
/// Implemented for every model; `use nn::prelude::*` brings it into scope.
pub trait WeightFiles: Model {
    /// Writes the parameters to the safetensors file `path`, with PyTorch's tensor names and
    /// shapes, atomically (see [`save`]).
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be written, [`Error::NonFiniteWeight`] for a NaN or
    /// infinite parameter.
    fn save_weights(&self, path: impl AsRef<Path>) -> Result<()> {
        save(self, path)
    }

    /// Reads the parameters from the safetensors file `path`, e.g. saved by PyTorch (see
    /// [`load`]). On error the model is unchanged.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read; [`Error::Format`] for a corrupt file, a
    /// missing, extra or wrongly shaped tensor, an unsupported dtype or a non-finite value.
    fn load_weights(&mut self, path: impl AsRef<Path>) -> Result<()> {
        load(self, path)
    }
}

impl<M: Model> WeightFiles for M {}

/// Checks that the model's tensor table describes ranges inside its buffers (`len`
/// parameters, `state_len` state values), with consistent shapes and layouts: a guard
/// against a hand-written `Model` with a wrong table, so that the slicing below cannot
/// panic.
fn check_layout<M: Model>(infos: &[TensorInfo], len: usize, state_len: usize) -> Result<()> {
    for info in infos {
        let buffer = if info.is_state() { state_len } else { len };
        let inside = info
            .offset
            .checked_add(info.len())
            .is_some_and(|end| end <= buffer);
        if !inside || !info.tensor.is_consistent(info.input_order) {
            return Err(Error::Format {
                source_name: M::NAME.to_string(),
                reason: format!(
                    "the model's tensor table is inconsistent: `{}` (offset {}, {:?}, input \
                     order {:?}) in a buffer of {buffer} values",
                    info.name, info.offset, info.tensor, info.input_order
                ),
            });
        }
    }
    Ok(())
}

/// The values of one tensor in PyTorch's layout and order.
fn to_file_layout(info: &TensorInfo, memory: &[f32]) -> Vec<f32> {
    let mut out = std::vec![0.0; memory.len()];
    info.for_each_index(|file, mem| out[file] = memory[mem]);
    out
}

/// Writes values in PyTorch's layout and order into the model's memory layout.
fn from_file_layout(info: &TensorInfo, values: &[f32], memory: &mut [f32]) {
    info.for_each_index(|file, mem| memory[mem] = values[file]);
}

/// `index` into a row-major tensor of `shape` as one index per dimension.
fn unravel(mut index: usize, shape: &[usize]) -> Vec<usize> {
    let mut out = std::vec![0; shape.len()];
    for (slot, &dim) in out.iter_mut().zip(shape).rev() {
        if dim > 0 {
            *slot = index % dim;
            index /= dim;
        }
    }
    out
}

/// `` `a`, `b` ``.
fn name_list<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
