//! The model's type: its struct, its layers (one `LayerAt` implementation each, where the
//! layer's type is named once), its constants, its accessors, and the compile-time check of
//! the numbers `model!` computed against the layer types.

use super::docs;
use super::names;
use super::plan::Plan;
use crate::ir::Model;
use crate::runtime::{krate, lit};
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};

/// The struct, with the user's attributes and docs, then the layer table.
pub fn definition(model: &Model) -> TokenStream {
    let k = krate();
    let (vis, name) = (&model.vis, &model.name);
    // The user's docs, then the generated table, then the user's other attributes.
    let (user_docs, attrs): (Vec<_>, Vec<_>) =
        model.attrs.iter().partition(|a| a.path().is_ident("doc"));
    let docs = docs::struct_docs(model);
    quote! {
        #(#user_docs)*
        #docs
        #(#attrs)*
        #vis struct #name {
            params: #k::Params,
            state: #k::Params,
        }
    }
}

/// `impl LayerAt<i> for Name` for every layer: its type, value, name and place.
pub fn layers(model: &Model, plan: &Plan) -> TokenStream {
    let k = krate();
    let name = &model.name;
    let mut out = TokenStream::new();
    for (i, (layer, at)) in model.layers.iter().zip(&plan.layers).enumerate() {
        let span = layer.kind.span();
        let doc = format!(" {}", docs::describe(i, layer));
        let (ty, value) = (&layer.built.ty, &layer.built.value);
        let layer_name = &layer.name;
        let index = lit(i);
        let params_at = lit(at.params_at);
        let state_at = (layer.state() > 0).then(|| {
            let s = lit(at.state_at);
            quote!(const STATE_AT: usize = #s;)
        });
        let order = at.channels_last.map(|c| {
            let c = lit(c);
            quote!(const INPUT_ORDER: #k::layers::InputOrder = #k::layers::InputOrder::ChannelsLast { channels: #c };)
        });
        out.extend(quote_spanned! {span=>
            #[doc = #doc]
            impl #k::layers::LayerAt<#index> for #name {
                type Layer = #ty;
                const LAYER: Self::Layer = #value;
                const NAME: &'static str = #layer_name;
                const PARAMS_AT: usize = #params_at;
                #state_at
                #order
            }
        });
    }
    out
}

/// The layer type of layer `i`: `<Self as LayerAt<i>>::Layer`.
pub fn layer_type(i: usize) -> TokenStream {
    let k = krate();
    let i = lit(i);
    quote!(<Self as #k::layers::LayerAt<#i>>::Layer)
}

/// The accessor of each layer, named after it, with views of its parameters.
pub fn accessors(model: &Model) -> TokenStream {
    let k = krate();
    let mut out = TokenStream::new();
    for (i, layer) in model.layers.iter().enumerate() {
        let accessor = names::accessor(&layer.name, "", layer.kind.span());
        let ty = layer_type(i);
        let index = lit(i);
        let doc = format!(
            " {} Views of its tensors are methods of [`LayerRef`](::nn::layers::LayerRef) (a dense layer's `weight()` and `bias()`, say).",
            docs::describe(i, layer),
        );
        out.extend(quote! {
            #[doc = #doc]
            #[must_use]
            pub fn #accessor(&self) -> #k::layers::LayerRef<'_, #ty> {
                #k::layers::LayerRef::at::<Self, #index>(self.params.as_slice(), self.state.as_slice())
            }
        });
    }
    out
}

/// The mutable accessors (with `alloc`: a model borrowing baked weights copies them first).
pub fn accessors_mut(model: &Model) -> TokenStream {
    let k = krate();
    let mut out = TokenStream::new();
    for (i, layer) in model.layers.iter().enumerate() {
        let accessor = names::accessor(&layer.name, "_mut", layer.kind.span());
        let ty = layer_type(i);
        let index = lit(i);
        let doc = format!(
            " Layer `{}`, mutably (see [`{}`](Self::{})).",
            layer.name,
            layer.name,
            names::accessor(&layer.name, "", layer.kind.span())
        );
        out.extend(quote! {
            #[doc = #doc]
            pub fn #accessor(&mut self) -> #k::layers::LayerMut<'_, #ty> {
                #k::layers::LayerMut::at::<Self, #index>(self.params.as_mut_slice(), self.state.as_mut_slice())
            }
        });
    }
    out
}

/// The model's constants.
pub fn constants(model: &Model, plan: &Plan) -> TokenStream {
    let k = krate();
    let input = lit(model.input_len());
    let output = lit(model.output_len());
    let params = lit(model.params());
    let param_bytes = lit(model.params().saturating_mul(4));
    let state = lit(model.state());
    let scratch = lit(plan.scratch);
    let scratch_bytes = lit(plan.scratch.saturating_mul(4));
    let flops = proc_macro2::Literal::u64_unsuffixed(model.flops());
    let rank = lit(model.input_shape.len());
    let dims = model.input_shape.iter().map(|&d| lit(d));
    let summary = docs::summary(model);
    let count = lit(model.layers.len());
    let infos = (0..model.layers.len()).map(|i| {
        let i = lit(i);
        quote!(#k::layers::LayerInfo::at::<Self, #i>())
    });
    quote! {
        /// The input shape as declared (`[features]`, `[steps, features]` for sequences or
        /// `[height, width, channels]` for images, stored row-major with channels last).
        pub const INPUT_SHAPE: [usize; #rank] = [#(#dims),*];
        /// Values per input sample.
        pub const INPUT: usize = #input;
        /// Values per output sample.
        pub const OUTPUT: usize = #output;
        /// Number of trainable parameters.
        pub const PARAMS: usize = #params;
        /// Bytes of parameters (`f32`).
        pub const PARAM_BYTES: usize = #param_bytes;
        /// Values of non-trainable state (batch normalisation's running statistics).
        pub const STATE: usize = #state;
        /// Values of scratch one inference needs: the largest input plus output of a layer
        /// (see [`forward_into`](Self::forward_into)).
        pub const SCRATCH: usize = #scratch;
        /// Bytes of scratch one inference needs (`f32`).
        pub const SCRATCH_BYTES: usize = #scratch_bytes;
        /// Floating-point operations of one sample's inference (a multiply-add counts 2).
        pub const FLOPS: u64 = #flops;
        /// Keras-style summary: layers, output shapes, parameter counts.
        pub const SUMMARY: &'static str = #summary;
        /// The layers, in order: names, kinds, where their parameters and state are, their
        /// tensors in weight files.
        pub const LAYERS: [#k::layers::LayerInfo; #count] = [#(#infos),*];
    }
}

/// The second check of the sizes: the constants `model!` computed, against the layer types
/// (a compile error if they ever disagree).
pub fn check(model: &Model) -> TokenStream {
    let k = krate();
    let name = &model.name;
    quote! {
        const _: () = #k::__private::check_layers(&#name::LAYERS, #name::INPUT, #name::OUTPUT, #name::PARAMS, #name::STATE, #name::SCRATCH);
    }
}
