//! `GlobalAvgPool1D`: the mean of each feature of a sequence over its steps
//! (`nn::layers::GlobalAvgPool1D`); also what both global 1-D pools share.

use super::{Built, Input, Order, Problem, Spec};
use crate::args::Args;
use crate::runtime::{krate, lit};
use proc_macro2::TokenStream;
use quote::quote;

pub const SPEC: Spec = Spec {
    name: "GlobalAvgPool1D",
    params: &[],
    example: "GlobalAvgPool1D",
    build,
};

fn build(_args: &Args<'_>, input: &Input<'_>) -> Result<Built, Problem> {
    let k = krate();
    global_layer(
        "GlobalAvgPool1D",
        "globalavgpool1d",
        &quote!(#k::layers::GlobalAvgPool1D),
        input,
    )
}

/// A global 1-D pooling layer `name` of runtime type `path<L, C>`: one value per feature.
pub fn global_layer(
    name: &'static str,
    base_name: &'static str,
    path: &TokenStream,
    input: &Input<'_>,
) -> Result<Built, Problem> {
    let (steps, features) = input.sequence(name)?;
    let dims = [steps, features].map(lit);
    Ok(Built {
        output: vec![features],
        ty: quote!(#path<#(#dims),*>),
        value: path.clone(),
        params: Some(0),
        state: Some(0),
        // Not counted: comparisons and averages (see `nn::layers::Layer::FLOPS`).
        flops: Some(0),
        scratch: 0,
        in_place: false,
        reshape: false,
        activation: None,
        activation_only: false,
        int8: false,
        order: Order::Fresh,
        summary_kind: name,
        base_name,
        detail: String::new(),
    })
}
