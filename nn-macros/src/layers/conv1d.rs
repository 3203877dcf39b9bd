//! `Conv1D(filters, kernel_size, activation?, strides = 1, padding = valid|same)`: a 1-D
//! convolution over the steps of a sequence (`nn::layers::Conv1D`), with Keras' output and
//! padding rules.

use super::{Built, Input, Order, Problem, Spec};
use crate::args::{optional, required, Args, ValueKind};
use crate::runtime::{krate, lit};
use nn_core::layers::{conv2d_flops, conv2d_params, conv_output_len};
use quote::quote;

pub const SPEC: Spec = Spec {
    name: "Conv1D",
    params: &[
        required("filters", ValueKind::Size),
        required("kernel_size", ValueKind::Size),
        optional("activation", ValueKind::Activation),
        optional("strides", ValueKind::Size),
        optional("padding", ValueKind::Padding),
    ],
    example: "Conv1D(32, 3, relu)",
    build,
};

fn build(args: &Args<'_>, input: &Input<'_>) -> Result<Built, Problem> {
    let activation = args.activation("activation");
    if activation.softmax {
        return Err(Problem::layer("`softmax` on a convolution's output (a sequence) is not supported; add `Flatten` or `GlobalAvgPool1D` before a `Dense(.., softmax)`".to_owned()));
    }
    let (steps, cin) = input.sequence("Conv1D")?;
    let cout = args.size("filters").unwrap_or(1);
    let k = args.size("kernel_size").unwrap_or(1);
    let s = args.size("strides").unwrap_or(1);
    let same = args.same("padding");
    if !same && k > steps {
        return Err(Problem::layer(format!(
            "`Conv1D` kernel {k} is larger than its {steps} steps from `{}`",
            input.prev
        )));
    }
    let out = conv_output_len(steps, k, s, same);
    let r = krate();
    let dims = [steps, cin, cout, k, s].map(lit);
    let (ty, value) = if activation.linear {
        (
            quote!(#r::layers::Conv1D<#(#dims),*, #same>),
            quote!(#r::layers::Conv1D::new(#r::activations::Linear)),
        )
    } else {
        let (at, av) = (&activation.ty, &activation.value);
        (
            quote!(#r::layers::Conv1D<#(#dims),*, #same, #at>),
            quote!(#r::layers::Conv1D::new(#av)),
        )
    };
    let mut detail = format!(
        "kernel {k}, stride {s}, {} padding",
        if same { "same" } else { "valid" }
    );
    if !activation.linear {
        detail = format!("{}, {detail}", activation.name);
    }
    Ok(Built {
        output: vec![out, cout],
        ty,
        value,
        // The runtime computes a 1-D convolution as a 2-D one of one row: the same counts.
        params: conv2d_params(1, k, cin, cout),
        state: Some(0),
        flops: conv2d_flops(1, out, 1, k, cin, cout),
        scratch: 0,
        in_place: false,
        reshape: false,
        activation: (!activation.linear).then_some(activation),
        activation_only: false,
        int8: false,
        order: Order::ChannelsFirst,
        summary_kind: "Conv1D",
        base_name: "conv1d",
        detail,
    })
}
