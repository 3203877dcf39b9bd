//! The checked model: every name resolved, every shape a concrete number, every layer built.

use crate::layers::Built;
use syn::{Attribute, Ident, Visibility};

/// A model ready for code generation.
pub struct Model {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub name: Ident,
    /// Declared input shape, e.g. `[20]` or `[28, 28, 1]` (height, width, channels).
    pub input_shape: Vec<usize>,
    pub layers: Vec<Layer>,
    /// Errors for targets with a narrower `usize` than the host's, where some size of the
    /// model does not fit (e.g. 32-bit): emitted under `#[cfg(target_pointer_width = ..)]`.
    pub narrow_targets: Vec<crate::limits::NarrowTarget>,
}

/// One layer, checked.
pub struct Layer {
    /// The user's label or `<kind>_<n>`: the name of its accessor and the prefix of its
    /// tensor names.
    pub name: String,
    /// The layer kind as written: the span of its generated items.
    pub kind: Ident,
    /// The declaration as written, e.g. `Dense(64, relu)`, for the documentation.
    pub written: String,
    /// Its input shape.
    pub input: Vec<usize>,
    /// What its file built.
    pub built: Built,
}

impl Layer {
    /// Values per sample at the output.
    pub fn out_len(&self) -> usize {
        product(&self.built.output)
    }

    /// Values per sample at the input.
    pub fn in_len(&self) -> usize {
        product(&self.input)
    }

    /// Trainable parameters (checked to fit when the layer was lowered).
    pub fn params(&self) -> usize {
        count(self.built.params)
    }

    /// Non-trainable state values.
    pub fn state(&self) -> usize {
        count(self.built.state)
    }
}

/// A count that was checked to fit the host (see [`crate::limits`]).
pub fn count(n: Option<u128>) -> usize {
    n.and_then(|n| usize::try_from(n).ok())
        .unwrap_or(usize::MAX)
}

/// The product of `dims`, which was checked to fit the host (see [`crate::limits`]).
pub fn product(dims: &[usize]) -> usize {
    dims.iter().fold(1usize, |n, &d| n.saturating_mul(d))
}

impl Model {
    /// Values per sample at the input.
    pub fn input_len(&self) -> usize {
        product(&self.input_shape)
    }

    /// Values per sample at the output.
    pub fn output_len(&self) -> usize {
        self.layers.last().map_or(self.input_len(), Layer::out_len)
    }

    /// Total trainable parameters.
    pub fn params(&self) -> usize {
        self.layers.iter().map(Layer::params).sum()
    }

    /// Values of non-trainable state (batch normalisation's running statistics).
    pub fn state(&self) -> usize {
        self.layers.iter().map(Layer::state).sum()
    }

    /// Floating-point operations of one sample's inference (checked to fit a `u64`).
    pub fn flops(&self) -> u64 {
        let total = self
            .layers
            .iter()
            .map(|l| l.built.flops.unwrap_or(0))
            .sum::<u128>();
        u64::try_from(total).unwrap_or(u64::MAX)
    }
}
