//! Activations as `model!` reads them: Keras' names for the built-ins of
//! `nn::activations`, or the path of a type of the user's implementing its `ActivationFn`.

use crate::args::{read_value, word, Value, ValueKind};
use crate::diag::{nearest, Diagnostics};
use proc_macro2::{Literal, TokenStream};
use quote::{quote, ToTokens};
use syn::Expr;

/// The built-in activations: Keras' name and the runtime type's name.
const BUILT_INS: &[(&str, &str)] = &[
    ("linear", "Linear"),
    ("relu", "Relu"),
    ("leaky_relu", "LeakyRelu"),
    ("sigmoid", "Sigmoid"),
    ("tanh", "Tanh"),
    ("softmax", "Softmax"),
    ("gelu", "Gelu"),
    ("elu", "Elu"),
    ("selu", "Selu"),
    ("silu", "Silu"),
    ("swish", "Silu"),
    ("softplus", "Softplus"),
    ("hard_sigmoid", "HardSigmoid"),
];

/// The built-ins with an argument: Keras' name, the argument's name and its default.
const WITH_ARGUMENT: &[(&str, &str, f32)] = &[
    ("leaky_relu", "negative_slope", DEFAULT_LEAKY_SLOPE),
    ("elu", "alpha", 1.0),
];

/// Keras' default negative slope of the `leaky_relu` activation function.
pub const DEFAULT_LEAKY_SLOPE: f32 = 0.2;

/// An activation function, resolved.
#[derive(Clone)]
pub struct Activation {
    /// Keras' name (`relu`, `leaky_relu(0.2)`), or the user's path as written.
    pub name: String,
    /// The runtime type, e.g. `::nn::activations::Relu` or the user's path.
    pub ty: TokenStream,
    /// Its value, e.g. `::nn::activations::LeakyRelu(0.2f32)`.
    pub value: TokenStream,
    /// Whether it is the built-in softmax (a softmax over one value is always 1).
    pub softmax: bool,
    /// Whether it is the identity.
    pub linear: bool,
    /// Whether it is one of `nn`'s (not a type of the user's, whose contract the compiler
    /// checks, so that a layer with one gets no int8 variant to report errors on too).
    pub built_in: bool,
}

impl Activation {
    /// The identity, the default of layers with an optional activation.
    pub fn linear() -> Self {
        built_in("linear", None)
    }

    /// A built-in activation layer's function (`ReLU`, `LeakyReLU(0.3)`, ...).
    pub fn named(name: &str, slope: Option<f32>) -> Self {
        built_in(name, slope)
    }
}

fn built_in(name: &str, slope: Option<f32>) -> Activation {
    let ty_name = BUILT_INS
        .iter()
        .find(|(n, _)| *n == name)
        .map_or("Linear", |(_, t)| *t);
    let ty = syn::Ident::new(ty_name, proc_macro2::Span::call_site());
    let k = crate::runtime::krate();
    let ty = quote!(#k::activations::#ty);
    let (value, name) = match slope {
        Some(a) => {
            let a = Literal::f32_suffixed(a);
            (
                quote!(#ty(#a)),
                format!("{name}({})", a.to_string().trim_end_matches("f32")),
            )
        }
        None => (ty.clone(), name.to_owned()),
    };
    Activation {
        softmax: name == "softmax",
        linear: name == "linear",
        built_in: true,
        name,
        ty,
        value,
    }
}

/// Reads an activation: a built-in name (`relu`, `"relu"`, `leaky_relu(0.2)`), or a path to
/// a unit struct of the user's that implements `nn::activations::ActivationFn`
/// (`my_crate::Swish`, or `Swish` in scope).
pub fn read(expr: &Expr, diag: &mut Diagnostics) -> Option<Activation> {
    // `leaky_relu(0.2)`, `elu(0.5)`: the built-ins with an argument.
    if let Expr::Call(call) = expr {
        let name = word(&call.func);
        let with = WITH_ARGUMENT
            .iter()
            .find(|(n, _, _)| name.as_deref() == Some(*n));
        if let Some(&(name, argument, _)) = with {
            if call.args.len() != 1 {
                diag.push(syn::Error::new_spanned(
                    expr,
                    format!(
                        "`{name}` takes one argument, its {}, e.g. `{name}(0.2)`",
                        argument.replace('_', " ")
                    ),
                ));
                return None;
            }
            return match read_value(name, argument, ValueKind::Positive, &call.args[0], diag)? {
                Value::Float(a) => Some(built_in(name, Some(a))),
                _ => None,
            };
        }
        if let Some(name) = name {
            diag.push(syn::Error::new_spanned(
                &call.func,
                format!(
                    "`{name}` takes no arguments; only `leaky_relu(slope)` and `elu(alpha)` do"
                ),
            ));
            return None;
        }
    }
    // A type of the user's: a path (`my_crate::Swish`) or a capitalised name (`Swish`).
    if let Expr::Path(p) = expr {
        let capitalised = p
            .path
            .segments
            .last()
            .is_some_and(|s| s.ident.to_string().starts_with(char::is_uppercase));
        if p.qself.is_none() && (p.path.segments.len() > 1 || capitalised) {
            let path = p.path.to_token_stream();
            return Some(Activation {
                name: path.to_string().replace(' ', ""),
                ty: path.clone(),
                value: path,
                softmax: false,
                built_in: false,
                linear: false,
            });
        }
    }
    let Some(name) = word(expr) else {
        diag.push(syn::Error::new_spanned(
            expr,
            "expected an activation name such as `relu`, `sigmoid` or `softmax`",
        ));
        return None;
    };
    if BUILT_INS.iter().any(|(n, _)| *n == name) {
        let argument = WITH_ARGUMENT
            .iter()
            .find(|(n, _, _)| *n == name)
            .map(|&(_, _, default)| default);
        return Some(built_in(&name, argument));
    }
    let names = BUILT_INS.iter().map(|(n, _)| *n);
    let msg = match nearest(&name, names.clone()) {
        Some(s) => format!("unknown activation `{name}`; did you mean `{s}`?"),
        None => format!(
            "unknown activation `{name}`; expected one of {}",
            names
                .map(|a| format!("`{a}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    diag.push(syn::Error::new_spanned(expr, msg));
    None
}
