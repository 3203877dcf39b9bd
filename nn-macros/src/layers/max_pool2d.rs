//! `MaxPool2D(pool_size = 2, strides = pool_size)`: max pooling of an image, `'valid'`,
//! floor mode (`nn::layers::MaxPool2D`).

use super::{Built, Input, Problem, Spec};
use crate::args::{optional, Args, ValueKind};
use crate::runtime::krate;
use quote::quote;

pub const SPEC: Spec = Spec {
    name: "MaxPool2D",
    params: &[
        optional("pool_size", ValueKind::Pair),
        optional("strides", ValueKind::Pair),
    ],
    example: "MaxPool2D(2)",
    build,
};

fn build(args: &Args<'_>, input: &Input<'_>) -> Result<Built, Problem> {
    let k = krate();
    super::avg_pool2d::window_layer(
        "MaxPool2D",
        "maxpool2d",
        &quote!(#k::layers::MaxPool2D),
        args,
        input,
    )
}
