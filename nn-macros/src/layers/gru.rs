//! `GRU(units, return_sequences = false)`: a gated recurrent unit on a sequence `[steps,
//! features]`, Keras' default `reset_after=True` (PyTorch's formulation), returning the last
//! step's state or every step's (`nn::layers::Gru`).

use super::recurrent::{self, Sizes};
use super::{Built, Input, Problem, Spec};
use crate::args::{optional, required, Args, ValueKind};
use crate::runtime::krate;
use nn_core::layers::{gru_flops, gru_params, gru_scratch};
use quote::quote;

pub const SPEC: Spec = Spec {
    name: "GRU",
    params: &[
        required("units", ValueKind::Size),
        optional("return_sequences", ValueKind::Bool),
    ],
    example: "GRU(128)",
    build,
};

fn build(args: &Args<'_>, input: &Input<'_>) -> Result<Built, Problem> {
    let k = krate();
    recurrent::build(
        "GRU",
        "gru",
        &quote!(#k::layers::Gru),
        quote!(#k::layers::Gru::new()),
        None,
        args,
        input,
        |t, f, h| Sizes {
            params: gru_params(f, h),
            flops: gru_flops(t, f, h),
            scratch: gru_scratch(h),
        },
    )
}
