//! `Flatten`: an image read as a flat vector, channels last (`nn::layers::Flatten`).

use super::{Built, Input, Order, Problem, Spec};
use crate::args::Args;
use crate::runtime::{krate, lit};
use quote::quote;

pub const SPEC: Spec = Spec {
    name: "Flatten",
    params: &[],
    example: "Flatten",
    build,
};

fn build(_args: &Args<'_>, input: &Input<'_>) -> Result<Built, Problem> {
    let k = krate();
    let n = input.len();
    let len = lit(n);
    let mut built = Built::elementwise(
        input,
        quote!(#k::layers::Flatten<#len>),
        quote!(#k::layers::Flatten),
    );
    built.output = vec![n];
    built.reshape = true;
    built.order = Order::Flattens;
    built.summary_kind = "Flatten";
    built.base_name = "flatten";
    built.int8 = true;
    Ok(built)
}
