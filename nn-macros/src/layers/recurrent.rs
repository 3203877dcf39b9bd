//! What the recurrent layers' files ([`simple_rnn`](super::simple_rnn),
//! [`lstm`](super::lstm), [`gru`](super::gru)) share: the layer they build from a sequence
//! (read with [`Input::sequence`], whose errors name the fix).

use super::{Built, Input, Order, Problem};
use crate::args::Args;
use crate::runtime::lit;
use proc_macro2::TokenStream;
use quote::quote;

/// The sizes of a recurrent layer, from its file's runtime functions.
pub struct Sizes {
    pub params: Option<u128>,
    pub flops: Option<u128>,
    pub scratch: Option<u128>,
}

/// The recurrent layer `kind` (Keras' name, e.g. `LSTM`; the runtime type `runtime`, e.g.
/// `::nn::layers::Lstm`, whose value is `value`) with `units` units on `input`, returning
/// every step when `return_sequences` is given `true`. `activation` is the type of a
/// simple layer's activation, if not the default.
#[allow(clippy::too_many_arguments)]
pub fn build(
    kind: &'static str,
    base_name: &'static str,
    runtime: &TokenStream,
    value: TokenStream,
    activation: Option<(&TokenStream, &str)>,
    args: &Args<'_>,
    input: &Input<'_>,
    sizes: impl Fn(usize, usize, usize) -> Sizes,
) -> Result<Built, Problem> {
    let (steps, features) = input.sequence(kind)?;
    let units = args.size("units").unwrap_or(1);
    let every_step = args.flag("return_sequences");
    let Sizes {
        params,
        flops,
        scratch,
    } = sizes(steps, features, units);
    let dims = [steps, features, units].map(lit);
    let ty = match (activation, every_step) {
        (Some((a, _)), seq) => quote!(#runtime<#(#dims),*, #seq, #a>),
        (None, true) => quote!(#runtime<#(#dims),*, true>),
        (None, false) => quote!(#runtime<#(#dims),*>),
    };
    let mut detail = if every_step {
        "every step's state".to_owned()
    } else {
        "the last step's state".to_owned()
    };
    if let Some((_, name)) = activation {
        detail = format!("{name}, {detail}");
    }
    Ok(Built {
        output: if every_step {
            vec![steps, units]
        } else {
            vec![units]
        },
        ty,
        value,
        params,
        state: Some(0),
        flops,
        // At most 6 × 1e9 (units are at most 1e9): fits the host's usize.
        scratch: scratch
            .and_then(|s| usize::try_from(s).ok())
            .unwrap_or(usize::MAX),
        in_place: false,
        reshape: false,
        // Its activations are inside the recurrence: none is left to the loss.
        activation: None,
        activation_only: false,
        int8: false,
        order: Order::Fresh,
        summary_kind: kind,
        base_name,
        detail,
    })
}
