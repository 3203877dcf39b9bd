//! `Embedding(input_dim, output_dim)`: each token id of the input sequence replaced by a
//! learned vector (`nn::layers::Embedding`). It takes the model's input, one id per step
//! (`input: 20` is a sequence of 20 ids), and gives the sequence `[steps, output_dim]`.

use super::{Built, Input, Order, Problem, Spec};
use crate::args::{required, Args, ValueKind};
use crate::runtime::{krate, lit};
use nn_core::layers::embedding_params;
use quote::quote;

pub const SPEC: Spec = Spec {
    name: "Embedding",
    params: &[
        required("input_dim", ValueKind::Size),
        required("output_dim", ValueKind::Size),
    ],
    example: "Embedding(1000, 16)",
    build,
};

fn build(args: &Args<'_>, input: &Input<'_>) -> Result<Built, Problem> {
    if !input.is_first() {
        return Err(Problem::layer(format!(
            "`Embedding` takes token ids, so it must be the first layer, but it follows `{}`",
            input.prev
        )));
    }
    let [steps] = *input.shape else {
        return Err(Problem::layer(format!(
            "`Embedding` takes one token id per step, a 1-D input such as `input: 20`, but the input is {}",
            input.text()
        )));
    };
    let vocabulary = args.size("input_dim").unwrap_or(1);
    let dim = args.size("output_dim").unwrap_or(1);
    let k = krate();
    let dims = [vocabulary, dim, steps].map(lit);
    Ok(Built {
        output: vec![steps, dim],
        ty: quote!(#k::layers::Embedding<#(#dims),*>),
        value: quote!(#k::layers::Embedding),
        params: embedding_params(vocabulary, dim),
        state: Some(0),
        // Lookups, no arithmetic.
        flops: Some(0),
        scratch: 0,
        in_place: false,
        reshape: false,
        activation: None,
        activation_only: false,
        int8: false,
        order: Order::Fresh,
        summary_kind: "Embedding",
        base_name: "embedding",
        detail: format!("{vocabulary} ids"),
    })
}
