//! The checked model: every name resolved and every shape a concrete number.

use syn::{Attribute, Ident, Visibility};

/// A model ready for code generation.
pub struct Model {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub name: Ident,
    /// Declared input shape, e.g. `[20]` or `[28, 28, 1]` (height, width, channels).
    pub input_shape: Vec<usize>,
    pub layers: Vec<Layer>,
}

/// One layer with its resolved name and shapes.
pub struct Layer {
    /// Field-like name: the user's label or `<kind>_<n>`; prefix of its tensor names.
    pub name: String,
    pub kind: Kind,
    pub input: Vec<usize>,
    pub output: Vec<usize>,
    /// Offset of the layer's parameters in the model's flat parameter buffer.
    pub offset: usize,
    /// The layer kind as written, used as the span of generated calls.
    pub kind_ident: Ident,
}

/// What a layer computes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    Dense {
        inputs: usize,
        units: usize,
        activation: Act,
    },
    Activation(Act),
    Dropout(f32),
    Flatten,
}

/// An activation function.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Act {
    Linear,
    Relu,
    LeakyRelu(f32),
    Sigmoid,
    Tanh,
    Softmax,
}

impl Act {
    /// Keras' name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Linear => "linear",
            Self::Relu => "relu",
            Self::LeakyRelu(_) => "leaky_relu",
            Self::Sigmoid => "sigmoid",
            Self::Tanh => "tanh",
            Self::Softmax => "softmax",
        }
    }
}

impl Kind {
    /// Trainable parameters.
    pub fn params(self) -> usize {
        match self {
            Self::Dense { inputs, units, .. } => inputs * units + units,
            _ => 0,
        }
    }

    /// Name of the layer type as users write it.
    pub fn type_name(self) -> &'static str {
        match self {
            Self::Dense { .. } => "Dense",
            Self::Activation(Act::Relu) => "ReLU",
            Self::Activation(Act::LeakyRelu(_)) => "LeakyReLU",
            Self::Activation(Act::Sigmoid) => "Sigmoid",
            Self::Activation(Act::Tanh) => "Tanh",
            Self::Activation(Act::Softmax) => "Softmax",
            Self::Activation(Act::Linear) => "Activation",
            Self::Dropout(_) => "Dropout",
            Self::Flatten => "Flatten",
        }
    }
}

impl Layer {
    /// Values per sample at the output.
    pub fn out_len(&self) -> usize {
        self.output.iter().product()
    }
}

impl Model {
    /// Values per sample at the input.
    pub fn input_len(&self) -> usize {
        self.input_shape.iter().product()
    }

    /// Values per sample at the output.
    pub fn output_len(&self) -> usize {
        self.layers.last().map_or(self.input_len(), Layer::out_len)
    }

    /// Total trainable parameters.
    pub fn params(&self) -> usize {
        self.layers.iter().map(|l| l.kind.params()).sum()
    }
}
