//! `Dense(units, activation?)`: a fully connected layer on a flat input (`nn::layers::Dense`).

use super::{Built, Input, Order, Problem, Spec};
use crate::args::{optional, required, Args, ValueKind};
use crate::runtime::{krate, lit};
use quote::quote;

pub const SPEC: Spec = Spec {
    name: "Dense",
    params: &[
        required("units", ValueKind::Size),
        optional("activation", ValueKind::Activation),
    ],
    example: "Dense(64, relu)",
    build,
};

fn build(args: &Args<'_>, input: &Input<'_>) -> Result<Built, Problem> {
    let units = args.size("units").unwrap_or(1);
    let activation = args.activation("activation");
    if units == 1 && activation.softmax {
        return Err(Problem::argument(
            "activation",
            "`softmax` over one unit always outputs 1; for the probability of one class use `sigmoid`, e.g. `Dense(1, sigmoid)`".to_owned(),
        ));
    }
    let inputs = input.flat("Dense")?;
    let k = krate();
    let (i, o) = (lit(inputs), lit(units));
    let (ty, value) = if activation.linear {
        (
            quote!(#k::layers::Dense<#i, #o>),
            quote!(#k::layers::Dense::new(#k::activations::Linear)),
        )
    } else {
        let (at, av) = (&activation.ty, &activation.value);
        (
            quote!(#k::layers::Dense<#i, #o, #at>),
            quote!(#k::layers::Dense::new(#av)),
        )
    };
    let detail = if activation.linear {
        String::new()
    } else {
        activation.name.clone()
    };
    Ok(Built {
        output: vec![units],
        ty,
        value,
        params: nn_core::layers::dense_params(inputs, units),
        state: Some(0),
        flops: nn_core::layers::dense_flops(inputs, units),
        scratch: 0,
        in_place: false,
        reshape: false,
        activation: (!activation.linear).then_some(activation),
        activation_only: false,
        order: Order::Fresh,
        summary_kind: "Dense",
        base_name: "dense",
        detail,
    })
}
