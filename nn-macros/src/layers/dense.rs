//! `Dense(units, activation?)`: a fully connected layer (`nn::layers::Dense`) on a flat
//! input, or on each step of a sequence with the same weights (Keras 3;
//! `nn::layers::TimeDistributed` of the dense layer), `[steps, features]` to
//! `[steps, units]`.

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
    let (steps, inputs) = match *input.shape {
        [n] => (None, n),
        [steps, features] => (Some(steps), features),
        _ => {
            return Err(Problem::layer(format!(
                "`Dense` needs a flat input or a sequence, but `{}` produces {}; add `Flatten` before it",
                input.prev,
                input.described()
            )))
        }
    };
    if steps.is_some() && activation.softmax {
        return Err(Problem::argument(
            "activation",
            "`softmax` at each step of a sequence is not supported; reduce the sequence first (e.g. `GlobalAvgPool1D` or `Flatten`), then `Dense(.., softmax)`".to_owned(),
        ));
    }
    let built_in = activation.built_in;
    let k = krate();
    let (i, o) = (lit(inputs), lit(units));
    let (dense_ty, dense_value) = if activation.linear {
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
    let (ty, value, output) = match steps {
        None => (dense_ty, dense_value, vec![units]),
        Some(steps) => {
            let t = lit(steps);
            (
                quote!(#k::layers::TimeDistributed<#dense_ty, #t>),
                quote!(#k::layers::TimeDistributed::new(#dense_value)),
                vec![steps, units],
            )
        }
    };
    let mut detail = if activation.linear {
        String::new()
    } else {
        activation.name.clone()
    };
    if let Some(steps) = steps {
        let each = format!("at each of {steps} steps");
        detail = if detail.is_empty() {
            each
        } else {
            format!("{detail}, {each}")
        };
    }
    let flops = nn_core::layers::dense_flops(inputs, units)
        .and_then(|f| f.checked_mul(steps.unwrap_or(1) as u128));
    Ok(Built {
        output,
        ty,
        value,
        params: nn_core::layers::dense_params(inputs, units),
        state: Some(0),
        flops,
        scratch: 0,
        in_place: false,
        reshape: false,
        activation: (!activation.linear).then_some(activation),
        activation_only: false,
        int8: steps.is_none() && built_in,
        order: Order::Fresh,
        summary_kind: "Dense",
        base_name: "dense",
        detail,
    })
}
