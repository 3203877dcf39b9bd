//! A layer's arguments: what each accepts, how positional and named arguments are matched
//! to them, and how values are read, each error on the offending argument.

use crate::activation::{self, Activation};
use crate::diag::{nearest, Diagnostics};
use crate::syntax::{Arg, LayerDecl};
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
    /// An activation: a name such as `relu` or `leaky_relu(0.2)`, or a type of the user's.
    Activation,
    /// A height and width, each at least 1: `3` (square), `3x2`, `(3, 2)` or `[3, 2]`.
    Pair,
    /// `valid` or `same`.
    Padding,
}

/// One argument of a layer, in positional order.
pub struct Param {
    pub name: &'static str,
    pub kind: ValueKind,
    pub required: bool,
}

/// An argument that must be given.
pub const fn required(name: &'static str, kind: ValueKind) -> Param {
    Param {
        name,
        kind,
        required: true,
    }
}

/// An argument with a default.
pub const fn optional(name: &'static str, kind: ValueKind) -> Param {
    Param {
        name,
        kind,
        required: false,
    }
}

/// A value read from an argument.
#[derive(Clone)]
pub enum Value {
    Size(usize),
    Float(f32),
    Activation(Activation),
    Pair(usize, usize),
    /// `true` for `same`.
    Same(bool),
    Bool(bool),
}

/// The arguments of one layer declaration, read and checked: what the layer's file builds
/// from.
pub struct Args<'d> {
    params: &'static [Param],
    values: Vec<Option<Value>>,
    exprs: Vec<Option<&'d Expr>>,
}

impl<'d> Args<'d> {
    fn value(&self, name: &str) -> Option<&Value> {
        let i = self.params.iter().position(|p| p.name == name)?;
        self.values[i].as_ref()
    }

    /// The argument `name` as written, to blame in an error.
    pub fn expr(&self, name: &str) -> Option<&'d Expr> {
        let i = self.params.iter().position(|p| p.name == name)?;
        self.exprs[i]
    }

    /// A size argument (required ones are always there).
    pub fn size(&self, name: &str) -> Option<usize> {
        match self.value(name) {
            Some(Value::Size(s)) => Some(*s),
            _ => None,
        }
    }

    /// A number argument, or `default`.
    pub fn float(&self, name: &str, default: f32) -> f32 {
        match self.value(name) {
            Some(Value::Float(f)) => *f,
            _ => default,
        }
    }

    /// A `true`/`false` argument, or `false`.
    pub fn flag(&self, name: &str) -> bool {
        matches!(self.value(name), Some(Value::Bool(true)))
    }

    /// An activation argument, or `linear`.
    pub fn activation(&self, name: &str) -> Activation {
        match self.value(name) {
            Some(Value::Activation(a)) => a.clone(),
            _ => Activation::linear(),
        }
    }

    /// A height-and-width argument, or `default`.
    pub fn pair(&self, name: &str, default: (usize, usize)) -> (usize, usize) {
        match self.value(name) {
            Some(Value::Pair(h, w)) => (*h, *w),
            _ => default,
        }
    }

    /// Whether `padding` is `same`.
    pub fn same(&self, name: &str) -> bool {
        matches!(self.value(name), Some(Value::Same(true)))
    }
}

/// Matches the positional and named arguments of `decl` to `params` (of layer `layer`,
/// whose correct use is `example`) and reads each value. Returns `None` when any argument is
/// wrong (all of them are reported).
pub fn bind<'d>(
    layer: &str,
    params: &'static [Param],
    example: &str,
    decl: &'d LayerDecl,
    diag: &mut Diagnostics,
) -> Option<Args<'d>> {
    let mut exprs: Vec<Option<&Expr>> = vec![None; params.len()];
    let mut ok = true;
    if params.is_empty() && decl.paren.is_some() {
        diag.push(syn::Error::new_spanned(
            decl,
            format!("`{layer}` takes no arguments; write `{layer}`"),
        ));
        return None;
    }
    let mut positional = 0;
    for arg in &decl.args {
        match arg {
            Arg::Positional(expr) => {
                if positional >= params.len() {
                    let n = params.len();
                    let s = if n == 1 { "" } else { "s" };
                    diag.push(syn::Error::new_spanned(
                        arg,
                        format!("`{layer}` takes at most {n} argument{s}, e.g. `{example}`"),
                    ));
                    ok = false;
                } else if exprs[positional].is_some() {
                    let name = params[positional].name;
                    diag.push(syn::Error::new_spanned(
                        arg,
                        format!("argument `{name}` of `{layer}` is given twice (positional arguments come before named ones)"),
                    ));
                    ok = false;
                } else {
                    exprs[positional] = Some(expr);
                }
                positional += 1;
            }
            Arg::Named { name, value } => {
                let key = name.to_string();
                match params.iter().position(|p| p.name == key) {
                    Some(i) if exprs[i].is_some() => {
                        diag.push(syn::Error::new_spanned(
                            arg,
                            format!("argument `{key}` of `{layer}` is given twice"),
                        ));
                        ok = false;
                    }
                    Some(i) => exprs[i] = Some(value),
                    None => {
                        let names = params
                            .iter()
                            .map(|p| format!("`{}`", p.name))
                            .collect::<Vec<_>>();
                        let hint = match nearest(&key, params.iter().map(|p| p.name)) {
                            Some(s) => format!("did you mean `{s}`?"),
                            None if names.is_empty() => "it takes none".to_owned(),
                            None => format!("expected {}", names.join(" or ")),
                        };
                        diag.push(syn::Error::new_spanned(
                            name,
                            format!("`{layer}` has no argument `{key}`; {hint}"),
                        ));
                        ok = false;
                    }
                }
            }
        }
    }
    let mut values = vec![None; params.len()];
    for (i, param) in params.iter().enumerate() {
        match exprs[i] {
            Some(expr) => match read_value(layer, param.name, param.kind, expr, diag) {
                Some(v) => values[i] = Some(v),
                None => ok = false,
            },
            None if param.required => {
                let what = match param.kind {
                    ValueKind::Activation => "an activation".to_owned(),
                    _ => format!("its `{}`", param.name),
                };
                diag.push(syn::Error::new_spanned(
                    decl,
                    format!("`{layer}` needs {what}, e.g. `{example}`"),
                ));
                ok = false;
            }
            None => {}
        }
    }
    ok.then_some(Args {
        params,
        values,
        exprs,
    })
}

/// A literal number, possibly negated: `(value, is_integer)`. Integers too large for `u64`
/// read as infinity.
pub fn number(expr: &Expr) -> Option<(f64, bool)> {
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
pub fn word(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Path(p) if p.qself.is_none() => p.path.get_ident().map(ToString::to_string),
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Some(s.value()),
        _ => None,
    }
}

/// `expr` as the user wrote it, e.g. `4.0` or `-3`.
pub fn text(expr: &Expr) -> String {
    quote::ToTokens::to_token_stream(expr)
        .to_string()
        .replace(' ', "")
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
    let text = text(expr);
    match kind {
        // `3x3` reads as the integer 3 with the suffix `x3`: a pair where one number goes.
        ValueKind::Size if is_pair_literal(expr) => bad(
            diag,
            format!("`{arg}` of `{layer}` is one whole number, found `{text}`"),
        ),
        ValueKind::Size => match number(expr) {
            Some((v, true)) if v > 1e9 => bad(
                diag,
                format!("`{arg}` of `{layer}` is too large, found `{text}`"),
            ),
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
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
        #[allow(clippy::cast_possible_truncation)]
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
        #[allow(clippy::cast_possible_truncation)]
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
        ValueKind::Activation => activation::read(expr, diag).map(Value::Activation),
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

/// Whether `expr` is written like a pair of sizes, `3x3`.
fn is_pair_literal(expr: &Expr) -> bool {
    matches!(expr, Expr::Lit(ExprLit { lit: Lit::Int(i), .. }) if i.suffix().starts_with('x'))
}

/// Reads `3`, `3x2`, `(3, 2)` or `[3, 2]` as (height, width), each at least 1.
fn read_pair(layer: &str, arg: &str, expr: &Expr, diag: &mut Diagnostics) -> Option<Value> {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
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
    if let Some((h, w)) = pair {
        return Some(Value::Pair(h, w));
    }
    let text = text(expr);
    diag.push(syn::Error::new_spanned(expr, format!("`{arg}` of `{layer}` must be whole numbers of at least 1, e.g. `3`, `3x3` or `(3, 2)`, found `{text}`")));
    None
}
