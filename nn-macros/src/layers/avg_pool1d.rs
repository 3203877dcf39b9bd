//! `AvgPool1D(pool_size = 2, strides = pool_size)`: average pooling over the steps of a
//! sequence, `'valid'`, floor mode (`nn::layers::AvgPool1D`); also the windows both 1-D
//! pooling kinds share.

use super::{Built, Input, Order, Problem, Spec};
use crate::args::{optional, Args, ValueKind};
use crate::runtime::{krate, lit};
use nn_core::layers::pool_output_len;
use proc_macro2::TokenStream;
use quote::quote;

pub const SPEC: Spec = Spec {
    name: "AvgPool1D",
    params: &[
        optional("pool_size", ValueKind::Size),
        optional("strides", ValueKind::Size),
    ],
    example: "AvgPool1D(2)",
    build,
};

fn build(args: &Args<'_>, input: &Input<'_>) -> Result<Built, Problem> {
    let k = krate();
    window_layer(
        "AvgPool1D",
        "avgpool1d",
        &quote!(#k::layers::AvgPool1D),
        args,
        input,
    )
}

/// A 1-D pooling layer `name` of runtime type `path<L, C, P, S>`: the window defaults to 2
/// steps and the stride to the window (Keras).
pub fn window_layer(
    name: &'static str,
    base_name: &'static str,
    path: &TokenStream,
    args: &Args<'_>,
    input: &Input<'_>,
) -> Result<Built, Problem> {
    let (steps, features) = input.sequence(name)?;
    let p = args.size("pool_size").unwrap_or(2);
    let s = args.size("strides").unwrap_or(p);
    if p > steps {
        return Err(Problem::layer(format!(
            "`{name}` pool {p} is larger than its {steps} steps from `{}`",
            input.prev
        )));
    }
    let dims = [steps, features, p, s].map(lit);
    Ok(Built {
        output: vec![pool_output_len(steps, p, s), features],
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
        order: Order::ChannelsFirst,
        summary_kind: name,
        base_name,
        detail: format!("window {p}, stride {s}"),
    })
}
