//! The `model!` macro of the `nn` crate. Documentation lives on the re-export, `nn::model!`.
//!
//! Three stages, kept apart: `syntax` turns tokens into a syntax tree that keeps every
//! span; `lower` checks the model and infers every shape, collecting all errors with the
//! span of the offending layer or argument; `expand` turns the checked model into code and
//! cannot fail.

mod catalog;
mod diag;
mod expand;
mod ir;
mod lower;
mod syntax;

/// Declares a neural network; see `nn::model!` for the grammar and the generated API.
#[proc_macro]
pub fn model(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    let def = syn::parse_macro_input!(input as syntax::ModelDef);
    match lower::lower(&def) {
        Ok(model) => expand::expand(&model),
        Err(errors) => expand::on_error(&def, &errors),
    }
    .into()
}
