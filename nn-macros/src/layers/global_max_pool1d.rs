//! `GlobalMaxPool1D`: the largest value of each feature of a sequence over its steps
//! (`nn::layers::GlobalMaxPool1D`).

use super::{Built, Input, Problem, Spec};
use crate::args::Args;
use crate::runtime::krate;
use quote::quote;

pub const SPEC: Spec = Spec {
    name: "GlobalMaxPool1D",
    params: &[],
    example: "GlobalMaxPool1D",
    build,
};

fn build(_args: &Args<'_>, input: &Input<'_>) -> Result<Built, Problem> {
    let k = krate();
    super::global_avg_pool1d::global_layer(
        "GlobalMaxPool1D",
        "globalmaxpool1d",
        &quote!(#k::layers::GlobalMaxPool1D),
        input,
    )
}
