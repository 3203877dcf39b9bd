//! `Dropout(rate)`: inverted dropout, active only in training (`nn::layers::Dropout`).

use super::{Built, Input, Problem, Spec};
use crate::args::{required, Args, ValueKind};
use crate::runtime::{krate, lit};
use proc_macro2::Literal;
use quote::quote;

pub const SPEC: Spec = Spec {
    name: "Dropout",
    params: &[required("rate", ValueKind::Rate)],
    example: "Dropout(0.5)",
    build,
};

fn build(args: &Args<'_>, input: &Input<'_>) -> Result<Built, Problem> {
    let rate = args.float("rate", 0.0);
    let k = krate();
    let (n, r) = (lit(input.len()), Literal::f32_suffixed(rate));
    let mut built = Built::elementwise(
        input,
        quote!(#k::layers::Dropout<#n>),
        quote!(#k::layers::Dropout::new(#r)),
    );
    built.summary_kind = "Dropout";
    built.base_name = "dropout";
    built.detail = format!("rate {rate}");
    built.int8 = true;
    Ok(built)
}
