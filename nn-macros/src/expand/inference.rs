//! Inference without allocation: `forward`, `forward_into`, `try_forward`, and the
//! constructor from baked weights.

use super::names::{self, local};
use super::plan::Plan;
use crate::ir::Model;
use crate::runtime::{krate, lit};
use proc_macro2::TokenStream;
use quote::quote;

pub fn items(model: &Model, plan: &Plan) -> TokenStream {
    let k = krate();
    let input = lit(model.input_len());
    let output = lit(model.output_len());
    let scratch = lit(plan.scratch);
    let stack = local("stack");
    let buffer = local("scratch");
    let steps = model.layers.iter().map(|l| {
        let accessor = names::accessor(&l.name, "", l.kind.span());
        quote!(#stack.run(self.#accessor());)
    });
    let first = names::accessor(&model.layers[0].name, "", model.layers[0].kind.span());
    let from_static = from_static(model);
    quote! {
        #from_static

        /// All parameters as one flat slice, layer after layer (see
        /// [`LAYERS`](Self::LAYERS) for the layout).
        #[must_use]
        pub fn params(&self) -> &[f32] {
            self.params.as_slice()
        }

        /// Inference for one sample, with the intermediate values on the stack
        /// ([`SCRATCH_BYTES`](Self::SCRATCH_BYTES) of them). Allocation-free; available
        /// without `std`.
        #[must_use]
        pub fn forward(&self, input: &#k::Vector<#input>) -> #k::Vector<#output> {
            let mut #buffer = [0.0f32; #scratch];
            #k::Vector::from_column_slice(self.forward_into(&input.data.0[0], &mut #buffer))
        }

        /// Inference for one sample in a caller-provided scratch buffer of exactly
        /// [`SCRATCH`](Self::SCRATCH) values (e.g. a `static` on a device without an
        /// allocator). Returns the [`OUTPUT`](Self::OUTPUT) output values, which live in
        /// `scratch`.
        pub fn forward_into<'s>(&self, input: &[f32; #input], scratch: &'s mut [f32; #scratch]) -> &'s [f32] {
            let mut #stack = #k::scratch::Stack::new(input, scratch);
            #(#steps)*
            #stack.output()
        }

        /// Like [`forward`](Self::forward), after checking that the input is one the model
        /// can take (an embedding's ids in range, say).
        ///
        /// # Errors
        /// [`Error::InvalidInput`](::nn::Error::InvalidInput) naming the first bad value.
        pub fn try_forward(&self, input: &#k::Vector<#input>) -> #k::Result<#k::Vector<#output>> {
            self.#first().check_input(input.as_slice())?;
            ::core::result::Result::Ok(self.forward(input))
        }
    }
}

/// `from_static(&WEIGHTS)`, or `from_static(&WEIGHTS, &STATE)` for a model with state.
fn from_static(model: &Model) -> TokenStream {
    let k = krate();
    let params = lit(model.params());
    if model.state() == 0 {
        return quote! {
            /// A model using parameters from a `static` (e.g. baked into the binary): no
            /// allocation, usable in `const` and `static` initialisers.
            #[must_use]
            pub const fn from_static(weights: &'static [f32; #params]) -> Self {
                Self { params: #k::Params::from_static(weights), state: #k::Params::from_static(&[]) }
            }
        };
    }
    let state = lit(model.state());
    quote! {
        /// A model using parameters and batch-normalisation statistics from `static`s (e.g.
        /// baked into the binary): no allocation, usable in `const` and `static`
        /// initialisers.
        #[must_use]
        pub const fn from_static(weights: &'static [f32; #params], state: &'static [f32; #state]) -> Self {
            Self { params: #k::Params::from_static(weights), state: #k::Params::from_static(state) }
        }
    }
}
