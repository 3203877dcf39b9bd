//! `LSTM(units, return_sequences = false)`: a long short-term memory layer on a sequence
//! `[steps, features]`, Keras' activations (`tanh`, gates `sigmoid`), returning the last
//! step's state or every step's (`nn::layers::Lstm`).

use super::recurrent::{self, Sizes};
use super::{Built, Input, Problem, Spec};
use crate::args::{optional, required, Args, ValueKind};
use crate::runtime::krate;
use nn_core::layers::{lstm_flops, lstm_params, lstm_scratch};
use quote::quote;

pub const SPEC: Spec = Spec {
    name: "LSTM",
    params: &[
        required("units", ValueKind::Size),
        optional("return_sequences", ValueKind::Bool),
    ],
    example: "LSTM(128)",
    build,
};

fn build(args: &Args<'_>, input: &Input<'_>) -> Result<Built, Problem> {
    let k = krate();
    recurrent::build(
        "LSTM",
        "lstm",
        &quote!(#k::layers::Lstm),
        quote!(#k::layers::Lstm::new()),
        None,
        args,
        input,
        |t, f, h| Sizes {
            params: lstm_params(f, h),
            flops: lstm_flops(t, f, h),
            scratch: lstm_scratch(h),
        },
    )
}
