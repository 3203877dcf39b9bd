//! Names in generated code. Every local variable and internal parameter comes from
//! [`local`], so it cannot be captured by an item of the user's module (a `let p = ..` next
//! to a user's `const p` would be a pattern match against the constant; span hygiene does
//! not prevent that). The parameters of the public methods keep documented names (`input`,
//! `scratch`, `seed`, `values`, `weights`, `state`), like those of any library function;
//! they are the only names generated code binds without this prefix.

use proc_macro2::{Ident, Span};

/// The generated code's own binding `name`, as `__name`.
pub fn local(name: &str) -> Ident {
    Ident::new(&format!("__{name}"), Span::mixed_site())
}

/// The accessor of a layer named `name` (`r#type` for a keyword), or with `suffix`.
pub fn accessor(name: &str, suffix: &str, span: Span) -> Ident {
    let full = format!("{name}{suffix}");
    if syn::parse_str::<Ident>(&full).is_ok() {
        Ident::new(&full, span)
    } else {
        Ident::new_raw(&full, span)
    }
}
