//! Targets whose `usize` cannot hold the model's sizes (see [`crate::limits`]): there, the
//! one readable error replaces the model's code, which would not compile anyway.

use crate::ir::Model;
use crate::runtime::krate;
use proc_macro2::TokenStream;
use quote::quote;

/// The model's items, or, on targets whose `usize` cannot hold the model's sizes, the error
/// and the fallback items of [`fallback`] instead:
///
/// ```text
/// #[cfg(not(any(target_pointer_width = "32", target_pointer_width = "16")))] pub struct Net { .. }
/// ...
/// #[cfg(target_pointer_width = "32")] ::core::compile_error! { "the output of `Flatten` has .." }
/// #[cfg(any(target_pointer_width = "32", target_pointer_width = "16"))] pub struct Net;
/// ```
pub fn for_targets(model: &Model, items: TokenStream) -> TokenStream {
    if model.narrow_targets.is_empty() {
        return items;
    }
    let widths = model.narrow_targets.iter().map(|t| t.bits.to_string());
    let narrow = quote!(any(#(target_pointer_width = #widths),*));
    let mut out = with_cfg(&quote!(not(#narrow)), items);
    for target in &model.narrow_targets {
        let width = target.bits.to_string();
        let error = target.error.to_compile_error();
        out.extend(with_cfg(&quote!(target_pointer_width = #width), error));
    }
    out.extend(with_cfg(
        &narrow,
        fallback(&model.attrs, &model.vis, &model.name),
    ));
    out
}

/// `items` with `#[cfg(#predicate)]` on each.
fn with_cfg(predicate: &TokenStream, items: TokenStream) -> TokenStream {
    match syn::parse2::<syn::File>(items.clone()) {
        Ok(file) => file
            .items
            .iter()
            .map(|item| quote!(#[cfg(#predicate)] #item))
            .collect(),
        // Not reached: the items are this module's own.
        Err(_) => items,
    }
}

/// A bare struct of the model's name with its constants and constructors, for a build that
/// fails anyway: it keeps uses of the model's API and derives from adding unrelated errors
/// ("no function named `new`") after the real one.
pub fn fallback(attrs: &[syn::Attribute], vis: &syn::Visibility, name: &syn::Ident) -> TokenStream {
    let k = krate();
    quote! {
        #(#attrs)*
        #vis struct #name;
        #[allow(dead_code, unused_variables, clippy::all)]
        impl #name {
            #vis const INPUT: usize = 0;
            #vis const OUTPUT: usize = 0;
            #vis const PARAMS: usize = 0;
            #vis const PARAM_BYTES: usize = 0;
            #vis const FLOPS: u64 = 0;
            #vis const STATE: usize = 0;
            #vis const SCRATCH: usize = 0;
            #vis const SCRATCH_BYTES: usize = 0;
            #vis const SUMMARY: &'static str = "";
            #vis fn new(seed: u64) -> Self { Self }
            #vis fn params(&self) -> &[f32] { &[] }
            #vis fn params_mut(&mut self) -> &mut [f32] { &mut [] }
            #vis fn from_params(values: #k::__private::Vec<f32>) -> #k::Result<Self> { ::core::result::Result::Ok(Self) }
        }
    }
}
