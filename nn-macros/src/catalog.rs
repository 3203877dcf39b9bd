//! Every layer kind the macro knows, with its arguments, and how argument values are read.
//! One entry per runtime type in `nn_core::layers` / `nn_core::activations`.

use crate::diag::{nearest, Diagnostics};
use crate::ir::Act;
use syn::{Expr, ExprLit, Lit, UnOp};

/// What an argument accepts.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// A whole number of at least 1.
    Size,
    /// A fraction in `[0, 1)`.
    Rate,
    /// A positive number, a normal `f32` (not rounded to 0, a subnormal or infinity).
    Positive,
    /// `true` or `false`.
    Bool,
    /// An activation name, e.g. `relu` or `leaky_relu(0.2)`.
    Activation,
    /// A height and width, each at least 1: `3` (square), `3x2`, `(3, 2)` or `[3, 2]`.
    Pair,
    /// `valid` or `same`.
    Padding,
}

/// One argument of a layer.
pub struct ParamSpec {
    pub name: &'static str,
    pub kind: ValueKind,
    pub required: bool,
}

/// One layer kind.
pub struct LayerSpec {
    pub name: &'static str,
    pub params: &'static [ParamSpec],
    /// An example of a correct use, quoted in "missing argument" errors.
    pub example: &'static str,
}

const fn p(name: &'static str, kind: ValueKind, required: bool) -> ParamSpec {
    ParamSpec {
        name,
        kind,
        required,
    }
}

/// The layer kinds, in the order error messages list them.
pub const LAYERS: &[LayerSpec] = &[
    LayerSpec {
        name: "Dense",
        params: &[
            p("units", ValueKind::Size, true),
            p("activation", ValueKind::Activation, false),
        ],
        example: "Dense(64, relu)",
    },
    LayerSpec {
        name: "Conv2D",
        params: &[
            p("filters", ValueKind::Size, true),
            p("kernel_size", ValueKind::Pair, true),
            p("activation", ValueKind::Activation, false),
            p("strides", ValueKind::Pair, false),
            p("padding", ValueKind::Padding, false),
        ],
        example: "Conv2D(32, 3x3, relu)",
    },
    LayerSpec {
        name: "MaxPool2D",
        params: &[
            p("pool_size", ValueKind::Pair, false),
            p("strides", ValueKind::Pair, false),
        ],
        example: "MaxPool2D(2)",
    },
    LayerSpec {
        name: "AvgPool2D",
        params: &[
            p("pool_size", ValueKind::Pair, false),
            p("strides", ValueKind::Pair, false),
        ],
        example: "AvgPool2D(2)",
    },
    LayerSpec {
        name: "GlobalAvgPool2D",
        params: &[],
        example: "GlobalAvgPool2D",
    },
    LayerSpec {
        name: "BatchNorm",
        // Keras' names and order (without `axis`: always the last).
        params: &[
            p("momentum", ValueKind::Rate, false),
            p("epsilon", ValueKind::Positive, false),
            p("unbiased_variance", ValueKind::Bool, false),
        ],
        example: "BatchNorm(epsilon = 1e-5, momentum = 0.9)",
    },
    LayerSpec {
        name: "Dropout",
        params: &[p("rate", ValueKind::Rate, true)],
        example: "Dropout(0.5)",
    },
    LayerSpec {
        name: "Flatten",
        params: &[],
        example: "Flatten",
    },
    LayerSpec {
        name: "Activation",
        params: &[p("activation", ValueKind::Activation, true)],
        example: "Activation(tanh)",
    },
    LayerSpec {
        name: "ReLU",
        params: &[],
        example: "ReLU",
    },
    LayerSpec {
        name: "LeakyReLU",
        params: &[p("negative_slope", ValueKind::Positive, false)],
        example: "LeakyReLU(0.2)",
    },
    LayerSpec {
        name: "Sigmoid",
        params: &[],
        example: "Sigmoid",
    },
    LayerSpec {
        name: "Tanh",
        params: &[],
        example: "Tanh",
    },
    LayerSpec {
        name: "Softmax",
        params: &[],
        example: "Softmax",
    },
];

/// Activation names accepted in `Dense(.., activation)` and `Activation(..)`.
pub const ACTIVATIONS: &[&str] = &["linear", "relu", "leaky_relu", "sigmoid", "tanh", "softmax"];

/// Keras' default negative slope of the `LeakyReLU` layer.
pub const DEFAULT_SLOPE: f32 = 0.3;

/// Keras' default negative slope of the `leaky_relu` activation function.
pub const DEFAULT_ACTIVATION_SLOPE: f32 = 0.2;

/// Keras' default momentum of batch normalisation's running statistics.
pub const DEFAULT_BN_MOMENTUM: f32 = 0.99;

/// Keras' default epsilon of batch normalisation.
pub const DEFAULT_BN_EPSILON: f32 = 1e-3;

/// Looks a layer kind up by its exact name.
pub fn layer(name: &str) -> Option<&'static LayerSpec> {
    LAYERS.iter().find(|l| l.name == name)
}

/// "did you mean" text for an unknown layer kind.
pub fn unknown_layer_message(name: &str) -> String {
    let known = LAYERS
        .iter()
        .map(|l| format!("`{}`", l.name))
        .collect::<Vec<_>>()
        .join(", ");
    match nearest(name, LAYERS.iter().map(|l| l.name)) {
        Some(s) => format!("unknown layer `{name}`; did you mean `{s}`?"),
        None => format!("unknown layer `{name}`; expected one of {known}"),
    }
}

/// A value read from an argument.
#[derive(Clone, Copy)]
pub enum Value {
    Size(usize),
    Float(f32),
    Activation(Act),
    Pair(usize, usize),
    /// `true` for `same`.
    Same(bool),
    Bool(bool),
}

/// A literal number, possibly negated: `(value, is_integer)`. Integers too large for `u64`
/// read as infinity.
fn number(expr: &Expr) -> Option<(f64, bool)> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Int(i), ..
        }) => Some((
            i.base10_parse::<u64>().map_or(f64::INFINITY, |v| v as f64),
            true,
        )),
        Expr::Lit(ExprLit {
            lit: Lit::Float(f), ..
        }) => f.base10_parse::<f64>().ok().map(|v| (v, false)),
        Expr::Unary(u) if matches!(u.op, UnOp::Neg(_)) => number(&u.expr).map(|(v, i)| (-v, i)),
        Expr::Paren(p) => number(&p.expr),
        Expr::Group(g) => number(&g.expr),
        _ => None,
    }
}

/// The name of a bare identifier expression (`relu`), or of a string literal (`"relu"`).
fn word(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Path(p) if p.qself.is_none() => p.path.get_ident().map(ToString::to_string),
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Some(s.value()),
        _ => None,
    }
}

/// Reads `expr` as a value of `kind` for the argument `arg` of `layer`, or records an error
/// on `expr` and returns `None`.
pub fn read_value(
    layer: &str,
    arg: &str,
    kind: ValueKind,
    expr: &Expr,
    diag: &mut Diagnostics,
) -> Option<Value> {
    let bad = |diag: &mut Diagnostics, msg: String| {
        diag.push(syn::Error::new_spanned(expr, msg));
        None
    };
    // The value as the user wrote it, e.g. `4.0` or `-3`.
    let text = quote::ToTokens::to_token_stream(expr)
        .to_string()
        .replace(' ', "");
    match kind {
        ValueKind::Size => match number(expr) {
            Some((v, true)) if v > 1e9 => bad(
                diag,
                format!("`{arg}` of `{layer}` is too large, found `{text}`"),
            ),
            Some((v, true)) if v >= 1.0 => Some(Value::Size(v as usize)),
            Some((_, true)) => bad(
                diag,
                format!("`{arg}` of `{layer}` must be at least 1, found `{text}`"),
            ),
            Some((_, false)) => bad(
                diag,
                format!("`{arg}` of `{layer}` must be a whole number, found `{text}`"),
            ),
            None => bad(
                diag,
                format!("`{arg}` of `{layer}` must be a whole number, e.g. `{layer}(64)`"),
            ),
        },
        // In [0, 1) as written and as the `f32` the model computes with.
        ValueKind::Rate => match number(expr) {
            Some((v, _)) if (0.0..1.0).contains(&v) && (v as f32) < 1.0 => {
                Some(Value::Float(v as f32))
            }
            Some((v, _)) if (0.0..1.0).contains(&v) => bad(
                diag,
                format!("`{arg}` of `{layer}` must be in [0, 1), found `{text}`, which rounds to 1 as an `f32`"),
            ),
            Some(_) => bad(
                diag,
                format!("`{arg}` of `{layer}` must be in [0, 1), found `{text}`"),
            ),
            None => bad(
                diag,
                format!("`{arg}` of `{layer}` must be a number in [0, 1), e.g. `{layer}(0.5)`"),
            ),
        },
        ValueKind::Positive => match number(expr) {
            Some((v, _)) if v > 0.0 && (v as f32).is_infinite() => bad(
                diag,
                format!("`{arg}` of `{layer}` is too large for an `f32` (at most 3.4e38), found `{text}`"),
            ),
            // Zero or subnormal as an `f32`: a slope or epsilon that vanishes.
            Some((v, _)) if v > 0.0 && (v as f32) < f32::MIN_POSITIVE => bad(
                diag,
                format!("`{arg}` of `{layer}` is too small for an `f32` (at least 1.2e-38), found `{text}`"),
            ),
            Some((v, _)) if v > 0.0 => Some(Value::Float(v as f32)),
            Some(_) => {
                let hint = if arg == "negative_slope" {
                    " (for 0, use `ReLU`)"
                } else {
                    ""
                };
                bad(
                    diag,
                    format!("`{arg}` of `{layer}` must be positive, found `{text}`{hint}"),
                )
            }
            None => bad(
                diag,
                format!("`{arg}` of `{layer}` must be a positive number, e.g. `0.2`"),
            ),
        },
        ValueKind::Bool => match expr {
            Expr::Lit(ExprLit {
                lit: Lit::Bool(b), ..
            }) => Some(Value::Bool(b.value)),
            _ => bad(
                diag,
                format!("`{arg}` of `{layer}` is `true` or `false`, found `{text}`"),
            ),
        },
        ValueKind::Activation => read_activation(expr, diag).map(Value::Activation),
        ValueKind::Pair => read_pair(layer, arg, expr, diag),
        ValueKind::Padding => match word(expr).as_deref() {
            Some("valid") => Some(Value::Same(false)),
            Some("same") => Some(Value::Same(true)),
            _ => bad(
                diag,
                format!("`padding` of `{layer}` is `valid` or `same`, found `{text}`"),
            ),
        },
    }
}

fn read_activation(expr: &Expr, diag: &mut Diagnostics) -> Option<Act> {
    // `leaky_relu(0.2)`: the one activation with an argument.
    if let Expr::Call(call) = expr {
        let name = word(&call.func);
        if name.as_deref() == Some("leaky_relu") {
            if call.args.len() != 1 {
                diag.push(syn::Error::new_spanned(
                    expr,
                    "`leaky_relu` takes one argument, its negative slope, e.g. `leaky_relu(0.2)`",
                ));
                return None;
            }
            return match read_value(
                "leaky_relu",
                "negative_slope",
                ValueKind::Positive,
                &call.args[0],
                diag,
            )? {
                Value::Float(a) => Some(Act::LeakyRelu(a)),
                _ => None,
            };
        }
        if let Some(name) = name {
            diag.push(syn::Error::new_spanned(
                &call.func,
                format!("`{name}` takes no arguments; only `leaky_relu(slope)` does"),
            ));
            return None;
        }
    }
    let Some(name) = word(expr) else {
        diag.push(syn::Error::new_spanned(
            expr,
            "expected an activation name such as `relu`, `sigmoid` or `softmax`",
        ));
        return None;
    };
    Some(match name.as_str() {
        "linear" => Act::Linear,
        "relu" => Act::Relu,
        "leaky_relu" => Act::LeakyRelu(DEFAULT_ACTIVATION_SLOPE),
        "sigmoid" => Act::Sigmoid,
        "tanh" => Act::Tanh,
        "softmax" => Act::Softmax,
        _ => {
            let list = ACTIVATIONS
                .iter()
                .map(|a| format!("`{a}`"))
                .collect::<Vec<_>>()
                .join(", ");
            let msg = match nearest(&name, ACTIVATIONS.iter().copied()) {
                Some(s) => format!("unknown activation `{name}`; did you mean `{s}`?"),
                None => format!("unknown activation `{name}`; expected one of {list}"),
            };
            diag.push(syn::Error::new_spanned(expr, msg));
            return None;
        }
    })
}

/// Reads `3`, `3x2`, `(3, 2)` or `[3, 2]` as (height, width), each at least 1.
fn read_pair(layer: &str, arg: &str, expr: &Expr, diag: &mut Diagnostics) -> Option<Value> {
    let text = quote::ToTokens::to_token_stream(expr)
        .to_string()
        .replace(' ', "");
    let whole = |e: &Expr| match number(e) {
        Some((v, true)) if (1.0..=1e6).contains(&v) => Some(v as usize),
        _ => None,
    };
    let pair = match expr {
        // `3x3` is one integer literal with the suffix `x3`.
        Expr::Lit(ExprLit {
            lit: Lit::Int(i), ..
        }) if !i.suffix().is_empty() => {
            let (h, w) = (
                i.base10_digits().parse::<usize>().ok(),
                i.suffix()
                    .strip_prefix('x')
                    .and_then(|w| w.parse::<usize>().ok()),
            );
            h.zip(w)
                .filter(|&(h, w)| (1..=1_000_000).contains(&h) && (1..=1_000_000).contains(&w))
        }
        Expr::Tuple(t) if t.elems.len() == 2 => whole(&t.elems[0]).zip(whole(&t.elems[1])),
        Expr::Array(a) if a.elems.len() == 2 => whole(&a.elems[0]).zip(whole(&a.elems[1])),
        e => whole(e).map(|v| (v, v)),
    };
    match pair {
        Some((h, w)) => Some(Value::Pair(h, w)),
        None => {
            diag.push(syn::Error::new_spanned(expr, format!("`{arg}` of `{layer}` must be whole numbers of at least 1, e.g. `3`, `3x3` or `(3, 2)`, found `{text}`")));
            None
        }
    }
}
