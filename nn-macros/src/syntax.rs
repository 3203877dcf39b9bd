//! Stage 1: tokens to a syntax tree. Only malformed syntax is rejected here; names and
//! values are checked in [`crate::lower`], where all such errors are reported together.
//!
//! Grammar:
//!
//! ```text
//! model      := attribute* visibility "struct" IDENT "{" entry ("," entry)* ","? "}"
//! entry      := "input" ":" shape
//!             | (IDENT ":")? IDENT ("(" arg ("," arg)* ","? ")")?
//! shape      := INT | "[" INT ("," INT)* ","? "]"
//! arg        := IDENT "=" EXPR | EXPR
//! ```
//!
//! Also parsed, only to be rejected in [`crate::lower`] with an error on their tokens (so
//! that the rest of the model is still checked): generics and a `where` clause after the
//! name, a tuple or unit body (`struct Net(..);`, `struct Net;`) instead of the braces, and
//! attributes (`#[cfg(..)]`, `///`) on an entry.
//!
//! For example:
//!
//! ```text
//! /// Binary classifier.
//! pub struct Classifier {
//!     input: 20,
//!     hidden: Dense(64, relu),
//!     Dropout(0.2),
//!     output: Dense(1, activation = sigmoid),
//! }
//! ```

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, TokenStreamExt};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{
    bracketed, parenthesized, token, Attribute, Expr, Generics, Ident, LitInt, Token, Visibility,
};

/// The whole `model! { ... }` input.
pub struct ModelDef {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub name: Ident,
    /// `<T>` and a `where` clause, when written (rejected: models are not generic).
    pub generics: Generics,
    /// The span of the braces; of the parentheses or `;` of a tuple or unit struct.
    pub brace_span: Span,
    /// `Some` for `struct Net(..);` or `struct Net;` (rejected: a model's body is braced).
    pub not_braced: Option<NotBraced>,
    pub entries: Vec<Entry>,
}

/// A body that is not in braces.
pub enum NotBraced {
    /// `struct Net(f32);`
    Tuple,
    /// `struct Net;`
    Unit,
}

/// One comma-separated entry of the body.
pub enum Entry {
    /// `input: 20` or `input: [28, 28, 1]`.
    Input(InputDecl),
    /// A layer, e.g. `hidden: Dense(64, relu)`.
    Layer(LayerDecl),
}

/// The input declaration.
pub struct InputDecl {
    /// Attributes written before the entry (rejected).
    pub attrs: Vec<Attribute>,
    /// `input`; a shape without a label is parsed so that the error can span all of it.
    pub label: Option<Ident>,
    pub bracket: Option<token::Bracket>,
    pub dims: Punctuated<LitInt, Token![,]>,
}

/// One layer, e.g. `hidden: Dense(64, relu)`.
pub struct LayerDecl {
    /// Attributes written before the entry, e.g. `#[cfg(..)]` (rejected).
    pub attrs: Vec<Attribute>,
    /// `hidden`, when given.
    pub label: Option<Ident>,
    /// `Dense`: blamed for "unknown layer".
    pub kind: Ident,
    /// The parentheses, when there are arguments.
    pub paren: Option<token::Paren>,
    /// The arguments, each blamed for its own bad value.
    pub args: Punctuated<Arg, Token![,]>,
}

/// One argument of a layer.
pub enum Arg {
    /// `64`, `relu`, `leaky_relu(0.2)`.
    Positional(Expr),
    /// `activation = relu`.
    Named { name: Ident, value: Expr },
}

impl ToTokens for Arg {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        match self {
            Self::Positional(e) => e.to_tokens(tokens),
            Self::Named { name, value } => {
                name.to_tokens(tokens);
                tokens.append(proc_macro2::Punct::new('=', proc_macro2::Spacing::Alone));
                value.to_tokens(tokens);
            }
        }
    }
}

/// Re-emitting a declaration lets errors span all of it (`Error::new_spanned`).
impl ToTokens for LayerDecl {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        if let Some(label) = &self.label {
            label.to_tokens(tokens);
            tokens.append(proc_macro2::Punct::new(':', proc_macro2::Spacing::Alone));
        }
        self.kind.to_tokens(tokens);
        if let Some(paren) = &self.paren {
            paren.surround(tokens, |t| self.args.to_tokens(t));
        }
    }
}

impl ToTokens for InputDecl {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        if let Some(label) = &self.label {
            label.to_tokens(tokens);
            tokens.append(proc_macro2::Punct::new(':', proc_macro2::Spacing::Alone));
        }
        match &self.bracket {
            Some(b) => b.surround(tokens, |t| self.dims.to_tokens(t)),
            None => self.dims.to_tokens(tokens),
        }
    }
}

impl Parse for ModelDef {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        input.parse::<Token![struct]>()?;
        let name: Ident = input.parse()?;
        let mut generics: Generics = input.parse()?;
        generics.where_clause = input.parse()?;
        // `struct Net(..);` and `struct Net;`: parsed so that the error can blame the body and
        // the model still gets its fallback type.
        if input.peek(token::Paren) || input.peek(Token![;]) {
            let (span, kind) = if input.peek(token::Paren) {
                let content;
                let paren = parenthesized!(content in input);
                content.parse::<TokenStream>()?;
                (paren.span.join(), NotBraced::Tuple)
            } else {
                (input.span(), NotBraced::Unit)
            };
            input.parse::<Option<Token![;]>>()?;
            if !input.is_empty() {
                return Err(input.error("unexpected tokens after the model's declaration"));
            }
            return Ok(Self {
                attrs,
                vis,
                name,
                generics,
                brace_span: span,
                not_braced: Some(kind),
                entries: Vec::new(),
            });
        }
        let body;
        let brace = syn::braced!(body in input);
        let entries = Punctuated::<Entry, Token![,]>::parse_terminated(&body)?;
        if !input.is_empty() {
            return Err(input.error("unexpected tokens after the model's closing brace"));
        }
        Ok(Self {
            attrs,
            vis,
            name,
            generics,
            brace_span: brace.span.join(),
            not_braced: None,
            entries: entries.into_iter().collect(),
        })
    }
}

impl Parse for Entry {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let label = if input.peek(Ident) && input.peek2(Token![:]) && !input.peek2(Token![::]) {
            let label: Ident = input.parse()?;
            input.parse::<Token![:]>()?;
            Some(label)
        } else {
            None
        };
        if input.peek(syn::LitFloat) {
            return Err(input.error(
                "input dimensions are whole numbers, e.g. `input: 20` or `input: [28, 28, 1]`",
            ));
        }
        let lookahead = input.lookahead1();
        if lookahead.peek(LitInt) || lookahead.peek(token::Bracket) {
            let (bracket, dims) = if input.peek(token::Bracket) {
                let content;
                let bracket = bracketed!(content in input);
                (
                    Some(bracket),
                    Punctuated::<LitInt, Token![,]>::parse_terminated(&content)?,
                )
            } else {
                let mut dims = Punctuated::new();
                dims.push(input.parse::<LitInt>()?);
                (None, dims)
            };
            return Ok(Self::Input(InputDecl {
                attrs,
                label,
                bracket,
                dims,
            }));
        }
        if !lookahead.peek(Ident) {
            return Err(lookahead.error());
        }
        let kind: Ident = input.parse()?;
        let (paren, args) = if input.peek(token::Paren) {
            let content;
            let paren = parenthesized!(content in input);
            (
                Some(paren),
                Punctuated::<Arg, Token![,]>::parse_terminated(&content)?,
            )
        } else {
            (None, Punctuated::new())
        };
        Ok(Self::Layer(LayerDecl {
            attrs,
            label,
            kind,
            paren,
            args,
        }))
    }
}

impl Parse for Arg {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if input.peek(Ident) && input.peek2(Token![=]) && !input.peek2(Token![==]) {
            let name: Ident = input.parse()?;
            input.parse::<Token![=]>()?;
            let value: Expr = input.parse()?;
            Ok(Self::Named { name, value })
        } else {
            Ok(Self::Positional(input.parse()?))
        }
    }
}
