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
    /// Errors for targets with a narrower `usize` than the host's, where some size of the
    /// model does not fit (e.g. 32-bit): emitted under `#[cfg(target_pointer_width = ..)]`.
    pub narrow_targets: Vec<crate::limits::NarrowTarget>,
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
    Conv2D(Conv),
    MaxPool2D(Pool),
    AvgPool2D(Pool),
    GlobalAvgPool2D {
        h: usize,
        w: usize,
        c: usize,
    },
    /// Batch normalisation over the last axis (`c` channels, `rows` values of each per
    /// sample); its running statistics start at `state` in the model's state buffer.
    BatchNorm {
        c: usize,
        rows: usize,
        state: usize,
        config: BatchNormConfig,
    },
    Activation(Act),
    Dropout(f32),
    Flatten,
}

/// Batch normalisation's hyperparameters, in Keras' terms (see `nn::layers::BatchNorm`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchNormConfig {
    pub epsilon: f32,
    pub momentum: f32,
    /// Whether the running variance takes the unbiased batch variance (PyTorch).
    pub unbiased_variance: bool,
}

impl BatchNormConfig {
    /// Keras' defaults (`BatchNorm` without arguments).
    pub const KERAS: Self = Self {
        epsilon: crate::catalog::DEFAULT_BN_EPSILON,
        momentum: crate::catalog::DEFAULT_BN_MOMENTUM,
        unbiased_variance: false,
    };
    /// PyTorch's defaults in Keras' terms (`eps = 1e-5, momentum = 0.1`, unbiased running
    /// variance).
    pub const PYTORCH: Self = Self {
        epsilon: 1e-5,
        momentum: 0.9,
        unbiased_variance: true,
    };
}

/// A 2-D convolution with every size resolved (images are height × width × channels).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Conv {
    pub h: usize,
    pub w: usize,
    pub cin: usize,
    pub cout: usize,
    pub kh: usize,
    pub kw: usize,
    pub sh: usize,
    pub sw: usize,
    /// Zero padding above and to the left ('same' padding; 0 for 'valid').
    pub pt: usize,
    pub pl: usize,
    pub oh: usize,
    pub ow: usize,
    pub activation: Act,
    /// Whether padding is 'same' (for docs and errors).
    pub same: bool,
}

/// A 2-D pooling window with every size resolved.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pool {
    pub h: usize,
    pub w: usize,
    pub c: usize,
    pub ph: usize,
    pub pw: usize,
    pub sh: usize,
    pub sw: usize,
    pub oh: usize,
    pub ow: usize,
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
    /// Trainable parameters, or `None` if the count overflows `usize`.
    pub fn checked_params(self) -> Option<usize> {
        match self {
            Self::Dense { inputs, units, .. } => inputs.checked_mul(units)?.checked_add(units),
            Self::Conv2D(c) => product(&[c.kh, c.kw, c.cin, c.cout])?.checked_add(c.cout),
            Self::BatchNorm { c, .. } => c.checked_mul(2),
            _ => Some(0),
        }
    }

    /// Trainable parameters. [`crate::lower`] rejects a layer whose count overflows, so
    /// after it this is exact (it saturates rather than wrap or panic).
    pub fn params(self) -> usize {
        self.checked_params().unwrap_or(usize::MAX)
    }

    /// Name of the layer type as users write it.
    pub fn type_name(self) -> &'static str {
        match self {
            Self::Dense { .. } => "Dense",
            Self::Conv2D(_) => "Conv2D",
            Self::MaxPool2D(_) => "MaxPool2D",
            Self::AvgPool2D(_) => "AvgPool2D",
            Self::GlobalAvgPool2D { .. } => "GlobalAvgPool2D",
            Self::BatchNorm { .. } => "BatchNorm",
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

impl Kind {
    /// Floating-point operations of one sample's inference (a multiply-add counts 2), or
    /// `None` if the count overflows `u128`.
    pub fn flops(self) -> Option<u128> {
        use crate::limits::product;
        match self {
            Self::Dense { inputs, units, .. } => product(&[2, inputs, units]),
            Self::Conv2D(c) => product(&[2, c.oh, c.ow, c.cout, c.kh, c.kw, c.cin]),
            Self::BatchNorm { c, rows, .. } => product(&[2, c, rows]),
            _ => Some(0),
        }
    }

    /// Whether the layer writes new values (and so needs its own scratch region), rather than
    /// working in place or only reshaping.
    pub fn produces(self) -> bool {
        matches!(
            self,
            Self::Dense { .. }
                | Self::Conv2D(_)
                | Self::MaxPool2D(_)
                | Self::AvgPool2D(_)
                | Self::GlobalAvgPool2D { .. }
                | Self::BatchNorm { .. }
        )
    }

    /// The activation the layer applies to its own output, if any.
    pub fn own_activation(self) -> Option<Act> {
        match self {
            Self::Dense { activation, .. } | Self::Conv2D(Conv { activation, .. })
                if activation != Act::Linear =>
            {
                Some(activation)
            }
            _ => None,
        }
    }
}

/// The product of `dims`, or `None` if it overflows `usize`.
pub fn product(dims: &[usize]) -> Option<usize> {
    dims.iter().try_fold(1usize, |n, &d| n.checked_mul(d))
}

impl Layer {
    /// Values per sample at the output ([`crate::lower`] rejects shapes whose size
    /// overflows; this saturates rather than wrap or panic).
    pub fn out_len(&self) -> usize {
        product(&self.output).unwrap_or(usize::MAX)
    }
}

impl Model {
    /// Values per sample at the input (checked in [`crate::lower`], as [`Layer::out_len`]).
    pub fn input_len(&self) -> usize {
        product(&self.input_shape).unwrap_or(usize::MAX)
    }

    /// Values per sample at the output.
    pub fn output_len(&self) -> usize {
        self.layers.last().map_or(self.input_len(), Layer::out_len)
    }

    /// Values of non-trainable state (batch normalisation's running mean and variance):
    /// as many as batch normalisation's parameters, so no larger than [`Self::params`].
    pub fn state(&self) -> usize {
        self.layers
            .iter()
            .map(|l| match l.kind {
                Kind::BatchNorm { c, .. } => c.saturating_mul(2),
                _ => 0,
            })
            .fold(0, usize::saturating_add)
    }

    /// Total trainable parameters (checked in [`crate::lower`]; saturating).
    pub fn params(&self) -> usize {
        self.layers
            .iter()
            .map(|l| l.kind.params())
            .fold(0, usize::saturating_add)
    }

    /// Floating-point operations of one sample's inference (checked in [`crate::lower`];
    /// saturating).
    pub fn flops(&self) -> u64 {
        self.layers
            .iter()
            .map(|l| l.kind.flops().unwrap_or(u128::MAX))
            .fold(0, u128::saturating_add)
            .try_into()
            .unwrap_or(u64::MAX)
    }
}
