//! `Conv2D(filters, kernel_size, activation?, strides = .., padding = valid|same)`: a 2-D
//! convolution of an image (`nn::layers::Conv2D`), with Keras' output and padding rules.

use super::{Built, Input, Order, Problem, Spec};
use crate::args::{optional, required, Args, ValueKind};
use crate::runtime::{krate, lit};
use nn_core::layers::{conv2d_flops, conv2d_params, conv_output_len};
use quote::quote;

pub const SPEC: Spec = Spec {
    name: "Conv2D",
    params: &[
        required("filters", ValueKind::Size),
        required("kernel_size", ValueKind::Pair),
        optional("activation", ValueKind::Activation),
        optional("strides", ValueKind::Pair),
        optional("padding", ValueKind::Padding),
    ],
    example: "Conv2D(32, 3x3, relu)",
    build,
};

fn build(args: &Args<'_>, input: &Input<'_>) -> Result<Built, Problem> {
    let activation = args.activation("activation");
    if activation.softmax {
        return Err(Problem::layer("`softmax` on a convolution's output (an image) is not supported; add `Flatten` before a `Dense(.., softmax)`".to_owned()));
    }
    let (h, w, cin) = input.image("Conv2D")?;
    let cout = args.size("filters").unwrap_or(1);
    let (kh, kw) = args.pair("kernel_size", (1, 1));
    let (sh, sw) = args.pair("strides", (1, 1));
    let same = args.same("padding");
    if !same && (kh > h || kw > w) {
        return Err(Problem::layer(format!(
            "`Conv2D` kernel {kh}×{kw} is larger than its {h}×{w} input from `{}`",
            input.prev
        )));
    }
    let (oh, ow) = (
        conv_output_len(h, kh, sh, same),
        conv_output_len(w, kw, sw, same),
    );
    let built_in = activation.built_in;
    let k = krate();
    let dims = [h, w, cin, cout, kh, kw, sh, sw].map(lit);
    let (ty, value) = if activation.linear {
        (
            quote!(#k::layers::Conv2D<#(#dims),*, #same>),
            quote!(#k::layers::Conv2D::new(#k::activations::Linear)),
        )
    } else {
        let (at, av) = (&activation.ty, &activation.value);
        (
            quote!(#k::layers::Conv2D<#(#dims),*, #same, #at>),
            quote!(#k::layers::Conv2D::new(#av)),
        )
    };
    let mut detail = format!(
        "{kh}×{kw} kernel, strides {sh}×{sw}, {} padding",
        if same { "same" } else { "valid" }
    );
    if !activation.linear {
        detail = format!("{}, {detail}", activation.name);
    }
    Ok(Built {
        output: vec![oh, ow, cout],
        ty,
        value,
        params: conv2d_params(kh, kw, cin, cout),
        state: Some(0),
        flops: conv2d_flops(oh, ow, kh, kw, cin, cout),
        scratch: 0,
        in_place: false,
        reshape: false,
        activation: (!activation.linear).then_some(activation),
        activation_only: false,
        int8: built_in,
        order: Order::ChannelsFirst,
        summary_kind: "Conv2D",
        base_name: "conv2d",
        detail,
    })
}
