//! Where generated code finds the runtime: every path it emits starts here.

use proc_macro2::{Literal, TokenStream};
use quote::quote;

/// The runtime's path as seen from the user's crate.
pub fn krate() -> TokenStream {
    quote!(::nn)
}

/// A `usize` literal without suffix.
pub fn lit(v: usize) -> Literal {
    Literal::usize_unsuffixed(v)
}
