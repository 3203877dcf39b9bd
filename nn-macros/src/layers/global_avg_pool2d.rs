//! `GlobalAvgPool2D`: the mean of each channel of an image (`nn::layers::GlobalAvgPool2D`).

use super::{Built, Input, Order, Problem, Spec};
use crate::args::Args;
use crate::runtime::{krate, lit};
use quote::quote;

pub const SPEC: Spec = Spec {
    name: "GlobalAvgPool2D",
    params: &[],
    example: "GlobalAvgPool2D",
    build,
};

fn build(_args: &Args<'_>, input: &Input<'_>) -> Result<Built, Problem> {
    let (h, w, c) = input.image("GlobalAvgPool2D")?;
    let k = krate();
    let dims = [h, w, c].map(lit);
    Ok(Built {
        output: vec![c],
        ty: quote!(#k::layers::GlobalAvgPool2D<#(#dims),*>),
        value: quote!(#k::layers::GlobalAvgPool2D),
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
        summary_kind: "GlobalAvgPool2D",
        base_name: "globalavgpool2d",
        detail: String::new(),
    })
}
