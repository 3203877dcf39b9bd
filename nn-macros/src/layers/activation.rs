//! Activations as layers: `Activation(name)` (a built-in or a type of the user's), `ReLU`,
//! `LeakyReLU(negative_slope = 0.3)`, `Sigmoid`, `Tanh`, `Softmax` (Keras' layers), all the
//! runtime's `nn::layers::Activation`.

use super::{Built, Input, Problem, Spec};
use crate::activation::Activation;
use crate::args::{optional, required, ValueKind};
use crate::runtime::{krate, lit};
use quote::quote;

pub const ACTIVATION: Spec = Spec {
    name: "Activation",
    params: &[required("activation", ValueKind::Activation)],
    example: "Activation(tanh)",
    build: |args, input| layer("Activation", args.activation("activation"), input),
};

pub const RELU: Spec = Spec {
    name: "ReLU",
    params: &[],
    example: "ReLU",
    build: |_, input| layer("ReLU", Activation::named("relu", None), input),
};

/// Keras' default negative slope of the `LeakyReLU` layer.
const DEFAULT_SLOPE: f32 = 0.3;

pub const LEAKY_RELU: Spec = Spec {
    name: "LeakyReLU",
    params: &[optional("negative_slope", ValueKind::Positive)],
    example: "LeakyReLU(0.2)",
    build: |args, input| {
        let slope = args.float("negative_slope", DEFAULT_SLOPE);
        layer(
            "LeakyReLU",
            Activation::named("leaky_relu", Some(slope)),
            input,
        )
    },
};

pub const SIGMOID: Spec = Spec {
    name: "Sigmoid",
    params: &[],
    example: "Sigmoid",
    build: |_, input| layer("Sigmoid", Activation::named("sigmoid", None), input),
};

pub const TANH: Spec = Spec {
    name: "Tanh",
    params: &[],
    example: "Tanh",
    build: |_, input| layer("Tanh", Activation::named("tanh", None), input),
};

pub const SOFTMAX: Spec = Spec {
    name: "Softmax",
    params: &[],
    example: "Softmax",
    build: |_, input| layer("Softmax", Activation::named("softmax", None), input),
};

/// The layer `kind` applying `function`.
fn layer(kind: &'static str, function: Activation, input: &Input<'_>) -> Result<Built, Problem> {
    if function.softmax && input.shape.len() > 1 {
        return Err(Problem::layer(format!(
            "`Softmax` needs a flat input, but `{}` produces {}; add `Flatten` before it",
            input.prev,
            input.text()
        )));
    }
    if function.softmax && input.shape == [1] {
        let message = format!("a softmax over the single value of `{}` always outputs 1; for the probability of one class use a sigmoid, e.g. `Dense(1, sigmoid)`", input.prev);
        return Err(if kind == "Activation" {
            Problem::argument("activation", message)
        } else {
            Problem::kind(message)
        });
    }
    let k = krate();
    let n = lit(input.len());
    let (ty, value) = (&function.ty, &function.value);
    let mut built = Built::elementwise(
        input,
        quote!(#k::layers::Activation<#n, #ty>),
        quote!(#k::layers::Activation::new(#value)),
    );
    built.summary_kind = kind;
    built.base_name = match kind {
        "ReLU" => "relu",
        "LeakyReLU" => "leaky_relu",
        "Sigmoid" => "sigmoid",
        "Tanh" => "tanh",
        "Softmax" => "softmax",
        _ => "activation",
    };
    built.detail = function.name.clone();
    built.activation_only = true;
    built.int8 = function.built_in;
    built.activation = (!function.linear).then_some(function);
    Ok(built)
}
