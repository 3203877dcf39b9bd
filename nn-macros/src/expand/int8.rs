//! The quantized model: for a model whose layers all have an int8 variant, `<Name>Int8`, a
//! statically shaped type over one byte buffer (one block per layer, see `nn::quant`),
//! with its footprints as constants, a `const fn` constructor from baked bytes and
//! allocation-free inference; and, with `alloc`, `Name::quantize` (post-training
//! quantization from a representative set). The math is in `nn::quant`: this only names the
//! layers in order.

use super::names::{self, local};
use super::plan::Plan;
use crate::ir::Model;
use crate::runtime::{krate, lit};
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};

/// Whether `model` gets an int8 type.
pub fn covered(model: &Model) -> bool {
    model.layers.iter().all(|l| l.built.int8)
}

/// The int8 type's name.
pub fn type_name(model: &Model) -> syn::Ident {
    format_ident!("{}Int8", model.name)
}

pub fn items(model: &Model, plan: &Plan) -> TokenStream {
    if !covered(model) {
        return TokenStream::new();
    }
    let k = krate();
    let (vis, name) = (&model.vis, &model.name);
    let int8 = type_name(model);
    let count = lit(model.layers.len());
    let (input, output, scratch) = (
        lit(model.input_len()),
        lit(model.output_len()),
        lit(plan.scratch),
    );
    let last = lit(model.layers.len() - 1);
    let types = (0..model.layers.len()).map(|i| {
        let i = lit(i);
        quote!(<#name as #k::layers::LayerAt<#i>>::Layer)
    });
    let values: Vec<TokenStream> = (0..model.layers.len())
        .map(|i| {
            let i = lit(i);
            quote!(<#name as #k::layers::LayerAt<#i>>::LAYER)
        })
        .collect();
    let last_value = values.last().expect("a model has layers").clone();
    let stack = local("stack");
    let steps = model.layers.iter().enumerate().map(|(i, l)| {
        let (value, index) = (&values[i], lit(i));
        quote_spanned!(l.kind.span()=> #stack.run_i8(#value, self.block(#index));)
    });
    let checks = model.layers.iter().enumerate().map(|(i, l)| {
        let (value, index, layer_name) = (&values[i], lit(i), &l.name);
        let bytes = local("bytes");
        quote! {
            #k::quant::Quantize::check_block(&#value, &#bytes[Self::AT[#index]..][..Self::BLOCKS[#index]])
                .map_err(|reason| (#layer_name, reason))?;
        }
    });
    let quantizer = local("quantizer");
    let calibrate = model.layers.iter().map(|l| {
        let accessor = names::accessor(&l.name, "", l.kind.span());
        let layer_name = &l.name;
        quote!(#quantizer.layer(#layer_name, self.#accessor())?;)
    });
    let doc = format!(
        " [`{name}`] quantized to int8 (post-training, TensorFlow Lite's scheme; see [`nn::quant`](::nn::quant)): made by [`{name}::quantize`], saved and loaded with [`Quantized`](::nn::quant::Quantized), or baked with [`from_static`](Self::from_static). Inference is integer arithmetic in a byte buffer of [`SCRATCH_BYTES`](Self::SCRATCH_BYTES)."
    );
    let quantize_doc = format!(
        " Post-training quantization to int8 ([`{int8}`]): the model runs over `samples` (a few hundred representative inputs, [`INPUT`](Self::INPUT) values each), and every tensor's scale and zero point come from the range it takes."
    );
    let (x, q, y, out, buffer, bytes) = (
        local("x"),
        local("q"),
        local("y"),
        local("out"),
        local("scratch"),
        local("bytes"),
    );
    quote! {
        #[doc = #doc]
        #[derive(::core::clone::Clone, ::core::fmt::Debug)]
        #vis struct #int8 {
            bytes: #k::quant::Bytes,
        }

        impl #int8 {
            /// Values per input sample.
            pub const INPUT: usize = #input;
            /// Values per output sample.
            pub const OUTPUT: usize = #output;
            /// Bytes of each layer's block, in order (see [`nn::quant`](::nn::quant)).
            pub const BLOCKS: [usize; #count] = [#(<#types as #k::quant::Quantize>::QBYTES),*];
            /// Where each layer's block starts.
            const AT: [usize; #count] = #k::quant::starts(Self::BLOCKS);
            /// Bytes of parameters: int8 weights, int32 biases, and every scale, zero point,
            /// multiplier and shift.
            pub const PARAM_BYTES: usize = #k::quant::total(Self::BLOCKS);
            /// Values (int8) of scratch one inference needs (see
            /// [`forward_into`](Self::forward_into)).
            pub const SCRATCH: usize = #scratch;
            /// Bytes of scratch one inference needs.
            pub const SCRATCH_BYTES: usize = #scratch;

            /// The model on baked bytes (e.g. `include_bytes!` of a file of its
            /// [`bytes`](Self::bytes)): no allocation, usable in `const` and `static`
            /// initialisers.
            ///
            /// # Panics
            /// If `bytes` does not hold [`PARAM_BYTES`](Self::PARAM_BYTES) (a compile error
            /// in a `static`).
            #[must_use]
            pub const fn from_static(bytes: &'static [u8]) -> Self {
                Self { bytes: #k::quant::baked(bytes, Self::PARAM_BYTES) }
            }

            /// The parameters: every layer's block, in order.
            #[must_use]
            pub fn bytes(&self) -> &[u8] {
                self.bytes.as_slice()
            }

            /// The block of layer `i`.
            fn block(&self, i: usize) -> &[u8] {
                &self.bytes.as_slice()[Self::AT[i]..][..Self::BLOCKS[i]]
            }

            /// The input's scale and zero point.
            #[must_use]
            pub fn input_params(&self) -> #k::quant::QParams {
                #k::quant::Header::read(self.block(0)).input
            }

            /// The output's scale and zero point.
            #[must_use]
            pub fn output_params(&self) -> #k::quant::QParams {
                #k::quant::Header::read(self.block(#last)).output
            }

            /// Inference for one int8 sample in a caller-provided scratch buffer of
            /// [`SCRATCH`](Self::SCRATCH) values: integer arithmetic only. Returns the
            /// [`OUTPUT`](Self::OUTPUT) int8 outputs (before a last activation other than
            /// ReLU, e.g. the logits under a softmax), which live in `scratch`.
            pub fn forward_into<'s>(&self, input: &[i8; #input], scratch: &'s mut [i8; #scratch]) -> &'s [i8] {
                let mut #stack = #k::scratch::Stack::new(input, scratch);
                #(#steps)*
                #stack.output()
            }

            /// Inference for one f32 sample: quantized with [`input_params`](Self::input_params),
            /// run in int8 on the stack, dequantized, and the last layer's activation (a
            /// softmax) applied in f32. Allocation-free; available without `std`.
            #[must_use]
            pub fn forward(&self, input: &#k::Vector<#input>) -> #k::Vector<#output> {
                let mut #x = [0i8; #input];
                #k::quant::quantize_into(self.input_params(), input.as_slice(), &mut #x);
                let mut #buffer = [0i8; #scratch];
                let #q = self.forward_into(&#x, &mut #buffer);
                let mut #out = #k::Vector::<#output>::zeros();
                #k::quant::dequantize_into(self.output_params(), #q, #out.as_mut_slice());
                #k::quant::Quantize::finish(&#last_value, #out.as_mut_slice());
                #out
            }
        }

        impl #k::quant::Quantized for #int8 {
            const PARAM_BYTES: usize = Self::PARAM_BYTES;

            fn bytes(&self) -> &[u8] {
                self.bytes.as_slice()
            }

            fn from_bytes_unchecked(bytes: #k::quant::Bytes) -> Self {
                Self { bytes }
            }

            fn check_blocks(#bytes: &[u8]) -> ::core::result::Result<(), (&'static str, &'static str)> {
                #(#checks)*
                ::core::result::Result::Ok(())
            }
        }

        #k::__private::with_alloc! {
            impl #name {
                #[doc = #quantize_doc]
                ///
                /// # Errors
                /// [`Error::EmptyData`](::nn::Error::EmptyData), [`Error::FeatureCount`](::nn::Error::FeatureCount)
                /// or [`Error::NonFinite`](::nn::Error::NonFinite) for bad samples;
                /// [`Error::Format`](::nn::Error::Format) naming a layer that cannot be quantized (an
                /// activation other than `linear` or `relu` before the last layer, a batch
                /// normalisation that follows no `Dense` or `Conv2D` without activation).
                pub fn quantize(&self, samples: &[f32]) -> #k::Result<#int8> {
                    let mut #quantizer = #k::quant::Quantizer::new(samples, Self::INPUT, #count)?;
                    #(#calibrate)*
                    let #y = #quantizer.finish()?;
                    ::core::result::Result::Ok(#int8 { bytes: #k::quant::Bytes::Owned(#y) })
                }
            }
        }
    }
}
