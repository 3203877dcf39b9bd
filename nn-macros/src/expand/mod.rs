//! Stage 3: checked model to Rust code. Infallible: everything that can be wrong was
//! rejected in [`crate::lower`]. The [`plan`](plan::Plan) computes every number first;
//! the other files only print it, each a part of the generated items.
//!
//! What a model expands to, in order: its struct ([`model::definition`]), one
//! `impl LayerAt<i>` per layer naming the layer's type once ([`model::layers`]), an inherent
//! `impl` with the constants, an accessor per layer and allocation-free inference
//! ([`inference`]), the compile-time check of the constants against the layer types, and,
//! with `alloc`, construction, mutable accessors and `impl Model` ([`training`]). Every
//! formula is a call into the runtime.

mod docs;
mod inference;
mod int8;
mod model;
mod names;
mod plan;
mod targets;
mod training;

use crate::ir::Model;
use proc_macro2::TokenStream;
use quote::quote;

/// Generates everything for a checked model.
pub fn expand(ir: &Model) -> TokenStream {
    let plan = plan::Plan::new(ir);
    let name = &ir.name;
    let definition = model::definition(ir);
    let layers = model::layers(ir, &plan);
    let constants = model::constants(ir, &plan);
    let accessors = model::accessors(ir);
    let inference = inference::items(ir, &plan);
    let check = model::check(ir);
    let training = training::items(ir, &plan);
    let int8 = int8::items(ir, &plan);
    let items = quote! {
        #definition

        #layers

        impl #name {
            #constants

            #accessors

            #inference
        }

        #check

        #training

        #int8
    };
    targets::for_targets(ir, items)
}

/// On errors: the errors, plus a bare struct of the same name so that the user is not also
/// told the type does not exist.
pub fn on_error(def: &crate::syntax::ModelDef, errors: &syn::Error) -> TokenStream {
    let errors = errors.to_compile_error();
    let stub = targets::fallback(&def.attrs, &def.vis, &def.name);
    quote!(#errors #stub)
}

#[cfg(test)]
mod tests {
    /// Image sizes are const generics of runtime types, never unrolled loops: the expansion
    /// of a 280×280 model has exactly as many tokens as that of a 28×28 one.
    #[test]
    fn generated_code_does_not_grow_with_the_image() {
        fn tokens(def: crate::syntax::ModelDef) -> usize {
            fn count(ts: proc_macro2::TokenStream) -> usize {
                ts.into_iter()
                    .map(|tt| match tt {
                        proc_macro2::TokenTree::Group(g) => 1 + count(g.stream()),
                        _ => 1,
                    })
                    .sum()
            }
            count(super::expand(&crate::lower::lower(&def).unwrap()))
        }
        let small: crate::syntax::ModelDef = syn::parse_quote! {
            struct Net { input: [28, 28, 1], Conv2D(32, 3x3, relu), MaxPool2D(2), Conv2D(64, 3x3, relu), MaxPool2D(2), Flatten, Dense(10, softmax) }
        };
        let large: crate::syntax::ModelDef = syn::parse_quote! {
            struct Net { input: [280, 280, 1], Conv2D(32, 3x3, relu), MaxPool2D(2), Conv2D(64, 3x3, relu), MaxPool2D(2), Flatten, Dense(10, softmax) }
        };
        assert_eq!(tokens(small), tokens(large));
    }

    /// The committed expansions of two reference models, `tests/expand/<name>.expanded.rs`
    /// (formatted with `prettyplease`), are what the macro generates today, so that every
    /// change to generated code shows in review. `NN_BLESS=1 cargo test -p nn-macros`
    /// rewrites them after an intended change.
    #[test]
    fn reference_expansions_are_unchanged() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
        for (source, model) in [
            ("examples/support/models.rs", "Classifier"),
            ("examples/support/models.rs", "MnistCnn"),
        ] {
            let text = std::fs::read_to_string(format!("{root}/{source}")).expect("source");
            let file = syn::parse_file(&text).expect("the source parses");
            let def = file
                .items
                .iter()
                .filter_map(|item| match item {
                    syn::Item::Macro(m)
                        if m.mac
                            .path
                            .segments
                            .last()
                            .is_some_and(|s| s.ident == "model") =>
                    {
                        syn::parse2::<crate::syntax::ModelDef>(m.mac.tokens.clone()).ok()
                    }
                    _ => None,
                })
                .find(|d| d.name == model)
                .unwrap_or_else(|| panic!("`{model}` in {source}"));
            let tokens = super::expand(&crate::lower::lower(&def).expect("the model is valid"));
            let pretty = pretty(tokens);
            let header = format!(
                "// What `nn::model!` generates for `{model}` (declared in `{source}`), formatted.\n\
                 // Checked by `nn-macros`' tests; `NN_BLESS=1 cargo test -p nn-macros` rewrites it.\n\n"
            );
            let expanded = header + &pretty;
            let snake = model.chars().fold(String::new(), |mut s, c| {
                if c.is_uppercase() && !s.is_empty() {
                    s.push('_');
                }
                s.push(c.to_ascii_lowercase());
                s
            });
            let path = format!("{root}/tests/expand/{snake}.expanded.rs");
            if std::env::var_os("NN_BLESS").is_some() {
                std::fs::create_dir_all(format!("{root}/tests/expand")).expect("directory");
                std::fs::write(&path, &expanded).expect("written");
                continue;
            }
            let committed = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                committed == expanded,
                "the expansion of `{model}` changed; review it with `NN_BLESS=1 cargo test -p nn-macros` and `git diff {path}`"
            );
        }
    }

    /// `tokens` formatted by `prettyplease`, the items inside `::nn::__private::with_alloc! { .. }`
    /// as well (a macro's tokens are otherwise printed as they come).
    fn pretty(tokens: proc_macro2::TokenStream) -> String {
        let file: syn::File = syn::parse2(tokens).expect("valid Rust");
        let mut out = String::new();
        let mut plain = Vec::new();
        let flush = |plain: &mut Vec<syn::Item>, out: &mut String| {
            if !plain.is_empty() {
                *out += &prettyplease::unparse(&syn::File {
                    shebang: None,
                    attrs: Vec::new(),
                    items: std::mem::take(plain),
                });
            }
        };
        for item in file.items {
            match item {
                syn::Item::Macro(m)
                    if m.mac
                        .path
                        .segments
                        .last()
                        .is_some_and(|s| s.ident == "with_alloc") =>
                {
                    flush(&mut plain, &mut out);
                    let inner: syn::File = syn::parse2(m.mac.tokens.clone()).expect("items");
                    let path = quote::ToTokens::to_token_stream(&m.mac.path)
                        .to_string()
                        .replace(' ', "");
                    out += &format!("{path}! {{\n");
                    for line in prettyplease::unparse(&inner).lines() {
                        if line.is_empty() {
                            out += "\n";
                        } else {
                            out += &format!("    {line}\n");
                        }
                    }
                    out += "}\n";
                }
                other => plain.push(other),
            }
        }
        flush(&mut plain, &mut out);
        out
    }

    #[test]
    fn expansion_is_valid_rust() {
        let def: crate::syntax::ModelDef = syn::parse_quote! {
            /// Docs.
            pub struct Net { input: [2, 3], Flatten, a: Dense(4, relu), Dropout(0.5), Tanh, Dense(2), Softmax }
        };
        let model = crate::lower::lower(&def).unwrap();
        let tokens = super::expand(&model);
        syn::parse2::<syn::File>(tokens).expect("expansion parses as a Rust file");
    }
}
