//! `MaxPool1D(pool_size = 2, strides = pool_size)`: max pooling over the steps of a sequence,
//! `'valid'`, floor mode (`nn::layers::MaxPool1D`).

use super::{Built, Input, Problem, Spec};
use crate::args::{optional, Args, ValueKind};
use crate::runtime::krate;
use quote::quote;

pub const SPEC: Spec = Spec {
    name: "MaxPool1D",
    params: &[
        optional("pool_size", ValueKind::Size),
        optional("strides", ValueKind::Size),
    ],
    example: "MaxPool1D(2)",
    build,
};

fn build(args: &Args<'_>, input: &Input<'_>) -> Result<Built, Problem> {
    let k = krate();
    super::avg_pool1d::window_layer(
        "MaxPool1D",
        "maxpool1d",
        &quote!(#k::layers::MaxPool1D),
        args,
        input,
    )
}
