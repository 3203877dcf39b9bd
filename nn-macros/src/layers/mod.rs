//! Every layer kind `model!` knows, one file each: its arguments and defaults, its shape rule
//! and error messages, and what it emits (the runtime type and value of `nn::layers`, whose
//! file of the same name implements the layer). The registry, [`ALL`], is a list.
//!
//! Adding a layer: a file here whose [`Spec`] builds a [`Built`] from the arguments and the
//! input shape (using the runtime file's size functions, so each formula exists once), and
//! its line in [`ALL`].

use crate::activation::Activation;
use crate::args::{Args, Param};
use crate::diag::nearest;
use proc_macro2::TokenStream;

mod activation;
mod avg_pool1d;
mod avg_pool2d;
mod batch_norm;
mod conv1d;
mod conv2d;
mod dense;
mod dropout;
mod embedding;
mod flatten;
mod global_avg_pool1d;
mod global_avg_pool2d;
mod global_max_pool1d;
mod global_max_pool2d;
mod gru;
mod lstm;
mod max_pool1d;
mod max_pool2d;
mod recurrent;
mod simple_rnn;

/// The layer kinds, in the order error messages list them.
pub const ALL: &[&Spec] = &[
    &dense::SPEC,
    &conv2d::SPEC,
    &max_pool2d::SPEC,
    &avg_pool2d::SPEC,
    &global_avg_pool2d::SPEC,
    &global_max_pool2d::SPEC,
    &embedding::SPEC,
    &conv1d::SPEC,
    &max_pool1d::SPEC,
    &avg_pool1d::SPEC,
    &global_avg_pool1d::SPEC,
    &global_max_pool1d::SPEC,
    &batch_norm::SPEC,
    &dropout::SPEC,
    &flatten::SPEC,
    &simple_rnn::SPEC,
    &lstm::SPEC,
    &gru::SPEC,
    &activation::ACTIVATION,
    &activation::RELU,
    &activation::LEAKY_RELU,
    &activation::SIGMOID,
    &activation::TANH,
    &activation::SOFTMAX,
];

/// One layer kind.
pub struct Spec {
    /// The name users write, e.g. `"Dense"`.
    pub name: &'static str,
    /// Its arguments, in positional order.
    pub params: &'static [Param],
    /// A correct use, quoted in "missing argument" errors.
    pub example: &'static str,
    /// Checks the arguments against the input and builds the layer.
    pub build: fn(&Args<'_>, &Input<'_>) -> Result<Built, Problem>,
}

/// What a layer receives.
pub struct Input<'a> {
    /// Its shape, e.g. `[28, 28, 1]` (an image), `[20, 8]` (a sequence of 20 steps of 8
    /// features) or `[64]` (a flat vector).
    pub shape: &'a [usize],
    /// The layer that produces it, as messages name it (`input` for the model's input).
    pub prev: &'a str,
    /// Keras' name of that layer's kind (`Flatten`), empty for the model's input.
    pub prev_kind: &'a str,
}

impl Input<'_> {
    /// `28×28×1`.
    pub fn text(&self) -> String {
        shape_text(self.shape)
    }

    /// Whether the layer is the model's first: its input is the declared `input`.
    pub fn is_first(&self) -> bool {
        self.prev_kind.is_empty()
    }

    /// What the input is, for messages: `the image 28×28×1`, `the sequence 28×28` (steps ×
    /// features), `64 values`.
    pub fn described(&self) -> String {
        match self.shape.len() {
            3 => format!("the image {}", self.text()),
            2 => format!("the sequence {}", self.text()),
            _ => format!("{} values", self.text()),
        }
    }

    /// The input as an image `(height, width, channels)`, or the error of `layer`, which needs
    /// one. A sequence `[steps, features]` is not an image: the message points to the 1-D
    /// layer of the same kind, and for the model's input to the declaration of an image.
    pub fn image(&self, layer: &str) -> Result<(usize, usize, usize), Problem> {
        match *self.shape {
            [h, w, c] => Ok((h, w, c)),
            [steps, features] => {
                let mut message = format!(
                    "`{layer}` needs an image input [height, width, channels], but `{}` produces {}; for a sequence use `{}`",
                    self.prev,
                    self.described(),
                    layer.replace("2D", "1D"),
                );
                if self.is_first() {
                    message +=
                        &format!(", or declare `input: [{steps}, {features}, 1]` for an image");
                }
                Err(Problem::layer(message))
            }
            _ => Err(Problem::layer(format!(
                "`{layer}` needs an image input [height, width, channels], but `{}` produces {}",
                self.prev,
                self.described(),
            ))),
        }
    }

    /// The input as a sequence `(steps, features)`, or the error of `layer`, which needs one.
    pub fn sequence(&self, layer: &str) -> Result<(usize, usize), Problem> {
        let needs = format!(
            "`{layer}` needs a sequence input [steps, features], but `{}` produces {}",
            self.prev,
            self.described()
        );
        match *self.shape {
            [steps, features] => Ok((steps, features)),
            [n] if matches!(self.prev_kind, "SimpleRNN" | "LSTM" | "GRU") => {
                Err(Problem::layer(format!(
                    "`{layer}` needs a sequence input [steps, features], but `{}` gives only its last step's {n} values; give `{}` `return_sequences = true`",
                    self.prev, self.prev
                )))
            }
            [..] if self.prev_kind == "Flatten" => Err(Problem::layer(format!(
                "{needs}; `Flatten` turns a sequence into a flat vector: remove it"
            ))),
            [_, _, _] if layer.ends_with("1D") => Err(Problem::layer(format!(
                "{needs}; for an image use `{}`",
                layer.replace("1D", "2D")
            ))),
            [h, w, c] if self.is_first() => Err(Problem::layer(format!(
                "{needs}; to read its rows as steps, declare `input: [{h}, {}]`",
                w.saturating_mul(c)
            ))),
            [n] if self.is_first() => Err(Problem::layer(format!(
                "{needs}; declare `input: [{n}, 1]` for a sequence of {n} single values"
            ))),
            _ => Err(Problem::layer(needs)),
        }
    }

    /// Values per sample.
    pub fn len(&self) -> usize {
        // Checked when the input was produced; saturating only to say so.
        self.shape.iter().fold(1usize, |n, &d| n.saturating_mul(d))
    }
}

/// `28×28×1`.
pub fn shape_text(shape: &[usize]) -> String {
    shape
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("×")
}

/// Why a layer cannot be built, and which tokens to blame.
pub struct Problem {
    pub message: String,
    pub blame: Blame,
}

/// The tokens an error points at.
pub enum Blame {
    /// The whole declaration (a shape the layer cannot take).
    Declaration,
    /// One argument, by name (falls back to the declaration when it was not written).
    Argument(&'static str),
    /// The layer's kind (`Softmax`).
    Kind,
}

impl Problem {
    /// A problem of the layer with its input: blames the whole declaration.
    pub fn layer(message: String) -> Self {
        Self {
            message,
            blame: Blame::Declaration,
        }
    }

    /// A problem with the argument `name`.
    pub fn argument(name: &'static str, message: String) -> Self {
        Self {
            message,
            blame: Blame::Argument(name),
        }
    }

    /// A problem with the layer's kind itself.
    pub fn kind(message: String) -> Self {
        Self {
            message,
            blame: Blame::Kind,
        }
    }
}

/// How PyTorch orders a layer's output compared with `nn`, which decides whether a weight
/// after a later `Flatten` is permuted in files (see `nn::layers::InputOrder` and the rule
/// in `expand/plan.rs`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Elementwise or per feature: its output is ordered as its input.
    Keeps,
    /// New values that PyTorch orders as `nn` does: a flat vector, or a sequence
    /// `[steps, features]` (an embedding's, a dense layer's per step, as PyTorch's
    /// `nn.Embedding` and `nn.Linear` give them).
    Fresh,
    /// A feature map that PyTorch holds channel-first (`[C, H, W]`, `[C, L]`) and `nn`
    /// channels last: a convolution's or a pooling layer's output.
    ChannelsFirst,
    /// `Flatten`: the values read as a vector, in `nn`'s order.
    Flattens,
}

/// A layer, checked: its output shape, its sizes, and what it emits.
pub struct Built {
    /// Output shape.
    pub output: Vec<usize>,
    /// The runtime type, e.g. `::nn::layers::Dense<20, 64, ::nn::activations::Relu>`.
    pub ty: TokenStream,
    /// Its value, a constant expression, e.g. `::nn::layers::Dense::new(..)`.
    pub value: TokenStream,
    /// Trainable parameters (exact; `None` past `u128`).
    pub params: Option<u128>,
    /// Non-trainable state values.
    pub state: Option<u128>,
    /// Floating-point operations of one sample's inference.
    pub flops: Option<u128>,
    /// Single-sample inference: scratch of its own, and whether it works in place or only
    /// reshapes (as the runtime type declares; the generated code checks they agree).
    pub scratch: usize,
    pub in_place: bool,
    pub reshape: bool,
    /// The non-linear activation the layer applies to its output, if any.
    pub activation: Option<Activation>,
    /// Whether the layer is an activation and nothing else (`ReLU`, `Softmax`): a trailing
    /// one is the model's output activation, which the loss applies.
    pub activation_only: bool,
    /// Whether the layer has an int8 variant (`nn::quant::Quantize`): a model all of whose
    /// layers have one also gets a quantized type.
    pub int8: bool,
    pub order: Order,
    /// Keras' name of the layer type, for the summary (`Dense`, `ReLU`).
    pub summary_kind: &'static str,
    /// Base of the names of unnamed layers (`dense_0`).
    pub base_name: &'static str,
    /// What the documentation adds after the kind, e.g. `relu` (may be empty).
    pub detail: String,
}

impl Built {
    /// A layer with no parameters or state that keeps the shape of its input (an
    /// activation, dropout): the fields the layer files then set.
    pub fn elementwise(input: &Input<'_>, ty: TokenStream, value: TokenStream) -> Self {
        Self {
            output: input.shape.to_vec(),
            ty,
            value,
            params: Some(0),
            state: Some(0),
            flops: Some(0),
            scratch: 0,
            in_place: true,
            reshape: false,
            activation: None,
            activation_only: false,
            int8: false,
            order: Order::Keeps,
            summary_kind: "",
            base_name: "",
            detail: String::new(),
        }
    }
}

/// Looks a layer kind up by its exact name.
pub fn find(name: &str) -> Option<&'static Spec> {
    ALL.iter().copied().find(|s| s.name == name)
}

/// "did you mean" text for an unknown layer kind.
pub fn unknown_message(name: &str) -> String {
    let known = ALL
        .iter()
        .map(|l| format!("`{}`", l.name))
        .collect::<Vec<_>>()
        .join(", ");
    match nearest(name, ALL.iter().map(|l| l.name)) {
        Some(s) => format!("unknown layer `{name}`; did you mean `{s}`?"),
        None => format!("unknown layer `{name}`; expected one of {known}"),
    }
}
