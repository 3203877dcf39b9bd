//! `SimpleRNN(units, activation = tanh, return_sequences = false)`: a fully connected
//! recurrent layer on a sequence `[steps, features]`, returning the last step's state or
//! every step's (`nn::layers::SimpleRnn`).

use super::recurrent::{self, Sizes};
use super::{Built, Input, Problem, Spec};
use crate::args::{optional, required, Args, ValueKind};
use crate::runtime::krate;
use nn_core::layers::{simple_rnn_flops, simple_rnn_params, simple_rnn_scratch};
use quote::quote;

pub const SPEC: Spec = Spec {
    name: "SimpleRNN",
    params: &[
        required("units", ValueKind::Size),
        optional("activation", ValueKind::Activation),
        optional("return_sequences", ValueKind::Bool),
    ],
    example: "SimpleRNN(64)",
    build,
};

fn build(args: &Args<'_>, input: &Input<'_>) -> Result<Built, Problem> {
    let k = krate();
    // Keras' default is `tanh`, which the runtime type defaults to.
    let activation = args
        .expr("activation")
        .map(|_| args.activation("activation"))
        .filter(|a| a.name != "tanh");
    if activation.as_ref().is_some_and(|a| a.softmax) {
        return Err(Problem::argument(
            "activation",
            "`softmax` as the recurrent activation of `SimpleRNN` is not supported; use `tanh` (the default), `relu` or `sigmoid`".to_owned(),
        ));
    }
    let value = match &activation {
        Some(a) => {
            let v = &a.value;
            quote!(#k::layers::SimpleRnn::new(#v))
        }
        None => quote!(#k::layers::SimpleRnn::new(#k::activations::Tanh)),
    };
    recurrent::build(
        "SimpleRNN",
        "simple_rnn",
        &quote!(#k::layers::SimpleRnn),
        value,
        activation.as_ref().map(|a| (&a.ty, a.name.as_str())),
        args,
        input,
        |t, f, h| Sizes {
            params: simple_rnn_params(f, h),
            flops: simple_rnn_flops(t, f, h),
            scratch: simple_rnn_scratch(h),
        },
    )
}
