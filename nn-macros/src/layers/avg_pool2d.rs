//! `AvgPool2D(pool_size = 2, strides = pool_size)`: average pooling of an image, `'valid'`,
//! floor mode (`nn::layers::AvgPool2D`); also the pooling windows both kinds share.

use super::{Built, Input, Order, Problem, Spec};
use crate::args::{optional, Args, ValueKind};
use crate::runtime::{krate, lit};
use nn_core::layers::pool_output_len;
use proc_macro2::TokenStream;
use quote::quote;

pub const SPEC: Spec = Spec {
    name: "AvgPool2D",
    params: &[
        optional("pool_size", ValueKind::Pair),
        optional("strides", ValueKind::Pair),
    ],
    example: "AvgPool2D(2)",
    build,
};

fn build(args: &Args<'_>, input: &Input<'_>) -> Result<Built, Problem> {
    let k = krate();
    window_layer(
        "AvgPool2D",
        "avgpool2d",
        &quote!(#k::layers::AvgPool2D),
        args,
        input,
    )
}

/// A pooling layer `name` of runtime type `path<H, W, C, PH, PW, SH, SW>`: the window
/// defaults to 2×2 and the strides to the window (Keras).
pub fn window_layer(
    name: &'static str,
    base_name: &'static str,
    path: &TokenStream,
    args: &Args<'_>,
    input: &Input<'_>,
) -> Result<Built, Problem> {
    let (h, w, c) = input.image(name)?;
    let (ph, pw) = args.pair("pool_size", (2, 2));
    let (sh, sw) = args.pair("strides", (ph, pw));
    if ph > h || pw > w {
        return Err(Problem::layer(format!(
            "`{name}` pool {ph}×{pw} is larger than its {h}×{w} input from `{}`",
            input.prev
        )));
    }
    let (oh, ow) = (pool_output_len(h, ph, sh), pool_output_len(w, pw, sw));
    let dims = [h, w, c, ph, pw, sh, sw].map(lit);
    Ok(Built {
        output: vec![oh, ow, c],
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
        int8: true,
        order: Order::ChannelsFirst,
        summary_kind: name,
        base_name,
        detail: format!("{ph}×{pw} window, strides {sh}×{sw}"),
    })
}
