//! Stage 2: syntax tree to checked model. Resolves layer kinds and arguments, infers every
//! shape, names unnamed layers, and collects every independent error (each on its own
//! tokens). Shape inference stops at the first break so one mistake is reported once.

use crate::catalog::{self, LayerSpec, Value, ValueKind};
use crate::diag::Diagnostics;
use crate::ir::{Act, BatchNormConfig, Conv, Kind, Layer, Model, Pool};
use crate::limits::{self, Limits};
use crate::syntax::{Arg, Entry, InputDecl, LayerDecl, ModelDef, NotBraced};
use syn::ext::IdentExt;
use syn::Attribute;

/// Checks `def` and builds the model, or returns every error found.
pub fn lower(def: &ModelDef) -> Result<Model, syn::Error> {
    let mut diag = Diagnostics::default();
    if !check_declaration(def, &mut diag) {
        return diag.finish(Model {
            attrs: Vec::new(),
            vis: def.vis.clone(),
            name: def.name.clone(),
            input_shape: Vec::new(),
            layers: Vec::new(),
            narrow_targets: Vec::new(),
        });
    }
    check_entry_attributes(def, &mut diag);
    let mut limits = Limits::default();
    let input_shape = input_shape(def, &mut limits, &mut diag);

    let mut layers = Vec::new();
    let mut shape = input_shape.clone();
    let mut shape_ok = shape.is_some();
    let mut prev_name = String::from("input");
    let mut sizes = Sizes::default();
    for decl in def.entries.iter().filter_map(|e| match e {
        Entry::Layer(l) => Some(l),
        Entry::Input(_) => None,
    }) {
        let Some(kind) = resolve(decl, &mut diag) else {
            // Its output shape is unknown: later layers cannot be checked against it.
            shape_ok = false;
            continue;
        };
        // Shape inference: once broken, later layers are not checked against it.
        let Some(input) = shape.clone().filter(|_| shape_ok) else {
            continue;
        };
        let kind = match kind {
            Kind::BatchNorm {
                c, rows, config, ..
            } => Kind::BatchNorm {
                c,
                rows,
                state: sizes.state,
                config,
            },
            other => other,
        };
        // The layer as error messages name it: its label, else its kind.
        let this_name = decl
            .label
            .as_ref()
            .map_or_else(|| decl.kind.to_string(), |l| l.unraw().to_string());
        match output_shape(kind, &input) {
            Ok((kind, output)) => {
                check_softmax_width(decl, kind, &input, &prev_name, &mut diag);
                let Some(offset) = sizes.add(
                    decl,
                    &this_name,
                    kind,
                    &input,
                    &output,
                    &mut limits,
                    &mut diag,
                ) else {
                    // Too large to lay out: later sizes would only repeat the error.
                    shape_ok = false;
                    continue;
                };
                let name = decl
                    .label
                    .as_ref()
                    .map_or_else(String::new, |l| l.unraw().to_string());
                layers.push(Layer {
                    name,
                    kind,
                    input,
                    output: output.clone(),
                    offset,
                    kind_ident: decl.kind.clone(),
                });
                prev_name = this_name;
                shape = Some(output);
            }
            Err(reason) => {
                diag.push(syn::Error::new_spanned(
                    decl,
                    reason.replace("{prev}", &prev_name),
                ));
                shape_ok = false;
            }
        }
    }

    check_model(def, &layers, shape_ok, &mut diag);
    name_layers(&mut layers);
    let input_shape = input_shape.unwrap_or_default();
    diag.finish(Model {
        attrs: def.attrs.clone(),
        vis: def.vis.clone(),
        name: def.name.clone(),
        input_shape,
        layers,
        narrow_targets: limits.finish(),
    })
}

/// The running totals of the layers lowered so far, each checked (see [`crate::limits`]).
#[derive(Default)]
struct Sizes {
    /// Parameters so far: the next layer's offset.
    params: usize,
    /// Running-statistics values so far (no more than `params`).
    state: usize,
    /// Floating-point operations so far.
    flops: u128,
    /// Whether an earlier layer already put values in the inference scratch.
    scratch_in_use: bool,
}

impl Sizes {
    /// Checks the sizes of one more layer (`kind`, taking `input` to `output`) and adds
    /// them; returns its parameters' offset, or `None` (with errors, blaming `decl`) when a
    /// size does not fit the host.
    // The layer, its two shapes and the two collectors of what is wrong: no natural group.
    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        decl: &LayerDecl,
        name: &str,
        kind: Kind,
        input: &[usize],
        output: &[usize],
        limits: &mut Limits,
        diag: &mut Diagnostics,
    ) -> Option<usize> {
        let out = limits::product(output);
        let params = kind.checked_params().map(|p| p as u128);
        let fits = limits.check(
            diag,
            decl,
            &format!("the output of `{name}` has"),
            "values",
            out,
        ) && limits.check(diag, decl, &format!("`{name}` has"), "parameters", params)
            && limits.check(
                diag,
                decl,
                &format!("with `{name}`, the model has"),
                "parameters",
                params.and_then(|p| p.checked_add(self.params as u128)),
            );
        if !fits {
            return None;
        }
        // Inference scratch (see `expand::forward_into`): a layer that writes new values
        // after another holds its input and output at once. (The first reads the caller's
        // input, and a leading activation copies it: their outputs were checked above.)
        if self.scratch_in_use && kind.produces() {
            let both = out.and_then(|o| o.checked_add(limits::product(input)?));
            let what = format!("inference through `{name}` holds its input and output at once,");
            if !limits.check(diag, decl, &what, "values", both) {
                return None;
            }
        }
        let flops = kind.flops().and_then(|f| self.flops.checked_add(f));
        if !Limits::check_flops(diag, decl, name, flops) {
            return None;
        }
        // Checked above, in `u128`, against a limit below `usize::MAX`; saturating only to
        // say so.
        let offset = self.params;
        self.params = self.params.saturating_add(kind.params());
        if let Kind::BatchNorm { c, .. } = kind {
            self.state = self.state.saturating_add(c.saturating_mul(2));
        }
        self.flops = flops.unwrap_or(0);
        self.scratch_in_use |= kind.produces() || matches!(kind, Kind::Activation(_));
        Some(offset)
    }
}

/// `struct Net<T>`, `struct Net(..)` and `struct Net;`: a model is a plain braced struct.
/// Returns whether there is a body to check.
fn check_declaration(def: &ModelDef, diag: &mut Diagnostics) -> bool {
    // `struct Net<T> { .. }`, `struct Net where ..`: shapes and types are fixed.
    let generics = &def.generics;
    let message =
        "generic models are not supported: a model's types and shapes are fixed when `model!` runs";
    if !generics.params.is_empty() || generics.lt_token.is_some() {
        diag.push(syn::Error::new_spanned(generics, message));
    } else if let Some(clause) = &generics.where_clause {
        diag.push(syn::Error::new_spanned(clause, message));
    }
    let example = "e.g. `struct Net { input: 4, Dense(1) }`";
    match def.not_braced {
        Some(NotBraced::Tuple) => diag.error(
            def.brace_span,
            format!("a model's entries go in braces, {example}; tuple structs are not supported"),
        ),
        Some(NotBraced::Unit) => diag.error(
            def.brace_span,
            format!("a model needs its input and layers in braces, {example}"),
        ),
        None => return true,
    }
    false
}

/// `#[cfg(feature = "big")] Dense(64)`: attributes on entries are rejected, each on its
/// own tokens.
fn check_entry_attributes(def: &ModelDef, diag: &mut Diagnostics) {
    for (attrs, what) in def.entries.iter().map(|e| match e {
        Entry::Input(i) => (&i.attrs, "`input`"),
        Entry::Layer(l) => (&l.attrs, "a layer"),
    }) {
        for attr in attrs {
            diag.push(syn::Error::new_spanned(attr, attribute_message(attr, what)));
        }
    }
}

fn attribute_message(attr: &Attribute, what: &str) -> String {
    let path = attr.path();
    if path.is_ident("cfg") || path.is_ident("cfg_attr") {
        format!("`#[{}]` on {what} is not supported: a model's shapes are fixed when `model!` runs; declare one model per configuration, each under its own `#[cfg(..)]`", quote::ToTokens::to_token_stream(path))
    } else if path.is_ident("doc") {
        format!("doc comments on {what} are not supported; write a `//` comment, or document the model's struct")
    } else {
        let text = quote::ToTokens::to_token_stream(path)
            .to_string()
            .replace(' ', "");
        format!("attributes on {what} are not supported, found `#[{text}]`; attributes go on the model's struct")
    }
}

/// `Dense(1, softmax)`, and `Softmax` or `Activation(softmax)` after one value: a softmax
/// over one value is always 1. Reported without breaking shape inference.
fn check_softmax_width(
    decl: &LayerDecl,
    kind: Kind,
    input: &[usize],
    prev: &str,
    diag: &mut Diagnostics,
) {
    let blame_arg = |diag: &mut Diagnostics, message: String| {
        let spec = catalog::layer(&decl.kind.to_string());
        match spec.and_then(|s| arg_expr(s, decl, "activation")) {
            Some(expr) => diag.push(syn::Error::new_spanned(expr, message)),
            None => diag.push(syn::Error::new_spanned(decl, message)),
        }
    };
    match kind {
        Kind::Dense {
            units: 1,
            activation: Act::Softmax,
            ..
        } => blame_arg(diag, "`softmax` over one unit always outputs 1; for the probability of one class use `sigmoid`, e.g. `Dense(1, sigmoid)`".to_owned()),
        Kind::Activation(Act::Softmax) if input == [1] => {
            let message = format!("a softmax over the single value of `{prev}` always outputs 1; for the probability of one class use a sigmoid, e.g. `Dense(1, sigmoid)`");
            if decl.kind == "Activation" {
                blame_arg(diag, message);
            } else {
                diag.push(syn::Error::new_spanned(&decl.kind, message));
            }
        }
        _ => {}
    }
}

/// The expression given for `spec`'s argument `name` in `decl` (named, or at its position).
fn arg_expr<'d>(spec: &LayerSpec, decl: &'d LayerDecl, name: &str) -> Option<&'d syn::Expr> {
    let index = spec.params.iter().position(|p| p.name == name)?;
    let mut positional = 0;
    for arg in &decl.args {
        match arg {
            Arg::Named { name: n, value } if n == name => return Some(value),
            Arg::Positional(expr) => {
                if positional == index {
                    return Some(expr);
                }
                positional += 1;
            }
            Arg::Named { .. } => {}
        }
    }
    None
}

/// The declared input shape; errors if it is missing, misplaced, repeated, has a zero or is
/// too large to address.
fn input_shape(def: &ModelDef, limits: &mut Limits, diag: &mut Diagnostics) -> Option<Vec<usize>> {
    let inputs: Vec<&InputDecl> = def
        .entries
        .iter()
        .filter_map(|e| match e {
            Entry::Input(i) => Some(i),
            Entry::Layer(_) => None,
        })
        .collect();
    let Some(first) = inputs.first() else {
        diag.error(
            def.brace_span,
            "a model starts with its input shape, e.g. `input: 20` or `input: [28, 28, 1]`",
        );
        return None;
    };
    for extra in &inputs[1..] {
        diag.push(syn::Error::new_spanned(
            extra,
            "the input shape is declared twice",
        ));
    }
    for input in &inputs {
        let Some(label) = &input.label else {
            diag.push(syn::Error::new_spanned(
                input,
                "a shape must be declared as `input: <shape>`, as the first entry",
            ));
            continue;
        };
        if label != "input" {
            diag.push(syn::Error::new_spanned(
                label,
                format!("`{label}` is not a layer; only the first entry, `input`, takes a shape"),
            ));
        }
    }
    if !matches!(def.entries.first(), Some(Entry::Input(_))) {
        diag.push(syn::Error::new_spanned(
            first,
            "`input` must be the first entry of the model",
        ));
    }
    if first.dims.is_empty() {
        diag.push(syn::Error::new_spanned(
            first,
            "the input shape needs at least one dimension",
        ));
        return None;
    }
    if first.dims.len() > 3 {
        diag.push(syn::Error::new_spanned(first, "input shapes have 1 to 3 dimensions: `[features]`, `[height, width]` or `[height, width, channels]`"));
        return None;
    }
    let mut dims = Vec::new();
    for d in &first.dims {
        match d.base10_parse::<usize>() {
            Ok(0) => diag.push(syn::Error::new_spanned(
                d,
                "input dimensions must be at least 1, found 0",
            )),
            Ok(v) => dims.push(v),
            Err(_) => diag.push(syn::Error::new_spanned(
                d,
                format!(
                    "input dimension `{}` is too large for a `usize`",
                    d.base10_digits()
                ),
            )),
        }
    }
    if dims.len() != first.dims.len() {
        return None;
    }
    let values = limits::product(&dims);
    limits
        .check(diag, *first, "the input has", "values", values)
        .then_some(dims)
}

/// Resolves a layer declaration's kind and arguments, recording every problem.
fn resolve(decl: &LayerDecl, diag: &mut Diagnostics) -> Option<Kind> {
    let kind_name = decl.kind.to_string();
    let Some(spec) = catalog::layer(&kind_name) else {
        diag.push(syn::Error::new_spanned(
            &decl.kind,
            catalog::unknown_layer_message(&kind_name),
        ));
        return None;
    };
    let values = bind_args(spec, decl, diag)?;
    let size = |i: usize| match values[i] {
        Some(Value::Size(s)) => s,
        _ => 0,
    };
    let float = |i: usize, default: f32| match values[i] {
        Some(Value::Float(f)) => f,
        _ => default,
    };
    let act = |i: usize| match values[i] {
        Some(Value::Activation(a)) => a,
        _ => Act::Linear,
    };
    let pair = |i: usize, default: (usize, usize)| match values[i] {
        Some(Value::Pair(h, w)) => (h, w),
        _ => default,
    };
    let same = |i: usize| matches!(values[i], Some(Value::Same(true)));
    let pool = || {
        let (ph, pw) = pair(0, (2, 2));
        // Keras: the strides default to the pool size.
        let (sh, sw) = pair(1, (ph, pw));
        Pool {
            h: 0,
            w: 0,
            c: 0,
            ph,
            pw,
            sh,
            sw,
            oh: 0,
            ow: 0,
        }
    };
    Some(match spec.name {
        "Conv2D" => {
            let ((kh, kw), (sh, sw)) = (pair(1, (1, 1)), pair(3, (1, 1)));
            Kind::Conv2D(Conv {
                h: 0,
                w: 0,
                cin: 0,
                cout: size(0),
                kh,
                kw,
                sh,
                sw,
                pt: 0,
                pl: 0,
                oh: 0,
                ow: 0,
                activation: act(2),
                same: same(4),
            })
        }
        "MaxPool2D" => Kind::MaxPool2D(pool()),
        "AvgPool2D" => Kind::AvgPool2D(pool()),
        "GlobalAvgPool2D" => Kind::GlobalAvgPool2D { h: 0, w: 0, c: 0 },
        "BatchNorm" => Kind::BatchNorm {
            c: 0,
            rows: 0,
            state: 0,
            config: BatchNormConfig {
                momentum: float(0, catalog::DEFAULT_BN_MOMENTUM),
                epsilon: float(1, catalog::DEFAULT_BN_EPSILON),
                unbiased_variance: matches!(values[2], Some(Value::Bool(true))),
            },
        },
        "Dense" => Kind::Dense {
            inputs: 0,
            units: size(0),
            activation: act(1),
        },
        "Dropout" => Kind::Dropout(float(0, 0.0)),
        "Flatten" => Kind::Flatten,
        "Activation" => Kind::Activation(act(0)),
        "ReLU" => Kind::Activation(Act::Relu),
        "LeakyReLU" => Kind::Activation(Act::LeakyRelu(float(0, catalog::DEFAULT_SLOPE))),
        "Sigmoid" => Kind::Activation(Act::Sigmoid),
        "Tanh" => Kind::Activation(Act::Tanh),
        "Softmax" => Kind::Activation(Act::Softmax),
        other => unreachable!("catalog entry `{other}` has no lowering"),
    })
}

/// Matches positional and named arguments to the spec's parameters and reads each value.
/// Returns `None` when any argument is wrong (all of them are reported).
fn bind_args(
    spec: &LayerSpec,
    decl: &LayerDecl,
    diag: &mut Diagnostics,
) -> Option<Vec<Option<Value>>> {
    let layer = spec.name;
    let mut exprs: Vec<Option<&syn::Expr>> = vec![None; spec.params.len()];
    let mut ok = true;
    if spec.params.is_empty() && decl.paren.is_some() {
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
                if positional >= spec.params.len() {
                    let n = spec.params.len();
                    let s = if n == 1 { "" } else { "s" };
                    diag.push(syn::Error::new_spanned(
                        arg,
                        format!(
                            "`{layer}` takes at most {n} argument{s}, e.g. `{}`",
                            spec.example
                        ),
                    ));
                    ok = false;
                } else if exprs[positional].is_some() {
                    let name = spec.params[positional].name;
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
                match spec.params.iter().position(|p| p.name == key) {
                    Some(i) if exprs[i].is_some() => {
                        diag.push(syn::Error::new_spanned(
                            arg,
                            format!("argument `{key}` of `{layer}` is given twice"),
                        ));
                        ok = false;
                    }
                    Some(i) => exprs[i] = Some(value),
                    None => {
                        let names = spec
                            .params
                            .iter()
                            .map(|p| format!("`{}`", p.name))
                            .collect::<Vec<_>>();
                        let hint =
                            match crate::diag::nearest(&key, spec.params.iter().map(|p| p.name)) {
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
    let mut values = vec![None; spec.params.len()];
    for (i, param) in spec.params.iter().enumerate() {
        match exprs[i] {
            Some(expr) => match catalog::read_value(layer, param.name, param.kind, expr, diag) {
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
                    format!("`{layer}` needs {what}, e.g. `{}`", spec.example),
                ));
                ok = false;
            }
            None => {}
        }
    }
    ok.then_some(values)
}

/// The output shape of `kind` on `input`, or why it cannot take that input (with `{prev}`
/// standing for the producing layer's name).
fn output_shape(kind: Kind, input: &[usize]) -> Result<(Kind, Vec<usize>), String> {
    // The input's size was checked when it was produced; this saturates rather than wrap.
    let product = |dims: &[usize]| crate::ir::product(dims).unwrap_or(usize::MAX);
    let shape = |s: &[usize]| {
        s.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("×")
    };
    let image = |name: &str| -> Result<(usize, usize, usize), String> {
        match *input {
            [h, w, c] => Ok((h, w, c)),
            _ => Err(format!(
                "`{name}` needs an image input [height, width, channels], but `{{prev}}` produces {}{}",
                shape(input),
                if input.len() == 2 { format!("; declare `input: [{}, {}, 1]`", input[0], input[1]) } else { String::new() }
            )),
        }
    };
    let window = |name: &str,
                  what: &str,
                  (h, w): (usize, usize),
                  (kh, kw): (usize, usize)|
     -> Result<(), String> {
        if kh > h || kw > w {
            Err(format!(
                "`{name}` {what} {kh}×{kw} is larger than its {h}×{w} input from `{{prev}}`"
            ))
        } else {
            Ok(())
        }
    };
    match kind {
        Kind::Conv2D(Conv { activation: Act::Softmax, .. }) => Err(
            "`softmax` on a convolution's output (an image) is not supported; add `Flatten` before a `Dense(.., softmax)`".to_owned(),
        ),
        Kind::Conv2D(c) => {
            let (h, w, cin) = image("Conv2D")?;
            let (oh, ow, pt, pl) = if c.same {
                let out = |n: usize, k: usize, s: usize| {
                    let o = n.div_ceil(s);
                    // (o - 1)·s < n, and n fits (the input's size was checked).
                    let span = (o - 1).saturating_mul(s).saturating_add(k);
                    (o, span.saturating_sub(n) / 2)
                };
                let ((oh, pt), (ow, pl)) = (out(h, c.kh, c.sh), out(w, c.kw, c.sw));
                (oh, ow, pt, pl)
            } else {
                window("Conv2D", "kernel", (h, w), (c.kh, c.kw))?;
                ((h - c.kh) / c.sh + 1, (w - c.kw) / c.sw + 1, 0, 0)
            };
            Ok((
                Kind::Conv2D(Conv {
                    h,
                    w,
                    cin,
                    oh,
                    ow,
                    pt,
                    pl,
                    ..c
                }),
                vec![oh, ow, c.cout],
            ))
        }
        Kind::MaxPool2D(p) | Kind::AvgPool2D(p) => {
            let name = kind.type_name();
            let (h, w, ch) = image(name)?;
            window(name, "pool", (h, w), (p.ph, p.pw))?;
            let p = Pool {
                h,
                w,
                c: ch,
                oh: (h - p.ph) / p.sh + 1,
                ow: (w - p.pw) / p.sw + 1,
                ..p
            };
            let out = vec![p.oh, p.ow, ch];
            Ok((
                if matches!(kind, Kind::MaxPool2D(_)) {
                    Kind::MaxPool2D(p)
                } else {
                    Kind::AvgPool2D(p)
                },
                out,
            ))
        }
        Kind::GlobalAvgPool2D { .. } => {
            let (h, w, c) = image("GlobalAvgPool2D")?;
            Ok((Kind::GlobalAvgPool2D { h, w, c }, vec![c]))
        }
        // Normalises the last axis (features, or an image's channels); the state offset is
        // set by the caller.
        Kind::BatchNorm { state, config, .. } => {
            let c = input[input.len() - 1];
            Ok((
                Kind::BatchNorm {
                    c,
                    rows: product(input) / c,
                    state,
                    config,
                },
                input.to_vec(),
            ))
        }
        Kind::Activation(Act::Softmax) if input.len() > 1 => Err(format!(
            "`Softmax` needs a flat input, but `{{prev}}` produces {}; add `Flatten` before it",
            shape(input)
        )),
        Kind::Dense {
            units, activation, ..
        } => {
            if input.len() != 1 {
                return Err(format!(
                    "`Dense` needs a flat input, but `{{prev}}` produces {}; add `Flatten` before it",
                    shape(input)
                ));
            }
            Ok((
                Kind::Dense {
                    inputs: input[0],
                    units,
                    activation,
                },
                vec![units],
            ))
        }
        Kind::Flatten => Ok((kind, vec![product(input)])),
        Kind::Activation(_) | Kind::Dropout(_) => Ok((kind, input.to_vec())),
    }
}

/// Checks that concern the whole model (each with the bad input it rejects).
fn check_model(def: &ModelDef, layers: &[Layer], shapes_ok: bool, diag: &mut Diagnostics) {
    let has_layers = def.entries.iter().any(|e| matches!(e, Entry::Layer(_)));
    let has_input = def.entries.iter().any(|e| matches!(e, Entry::Input(_)));
    // `struct Net { input: 4 }`: nothing to compute (`struct Net {}` gets the input error only).
    if !has_layers && has_input {
        diag.error(
            def.brace_span,
            "a model needs at least one layer after `input`, e.g. `Dense(1)`",
        );
        return;
    }
    // `struct Net { input: 4, ReLU }`: nothing to train.
    if diag.is_empty() && shapes_ok && layers.iter().all(|l| l.kind.params() == 0) {
        diag.error(
            def.brace_span,
            "a model needs at least one layer with parameters, e.g. `Dense(1)`",
        );
    }
    // Duplicate labels: `a: Dense(4), a: Dense(2)`; `input` is reserved.
    let mut seen: Vec<&syn::Ident> = Vec::new();
    for decl in def.entries.iter().filter_map(|e| match e {
        Entry::Layer(l) => l.label.as_ref(),
        Entry::Input(_) => None,
    }) {
        if decl == "input" {
            diag.push(syn::Error::new_spanned(
                decl,
                "`input` is reserved for the input shape; choose another layer name",
            ));
        } else if seen.contains(&decl) {
            diag.push(syn::Error::new_spanned(
                decl,
                format!("duplicate layer name `{decl}`; layer names become tensor names and must be unique"),
            ));
        } else {
            seen.push(decl);
        }
    }
}

/// Gives every unnamed layer a stable name `<kind>_<n>` (per kind, counting from 0, skipping
/// names the user took).
fn name_layers(layers: &mut [Layer]) {
    let mut used: Vec<String> = layers
        .iter()
        .filter(|l| !l.name.is_empty())
        .map(|l| l.name.clone())
        .collect();
    for layer in layers.iter_mut().filter(|l| l.name.is_empty()) {
        let base = snake(layer.kind.type_name());
        let mut n = 0;
        while used.contains(&format!("{base}_{n}")) {
            n += 1;
        }
        layer.name = format!("{base}_{n}");
        used.push(layer.name.clone());
    }
}

/// `LeakyReLU` -> `leaky_relu`, `Dense` -> `dense`.
fn snake(name: &str) -> String {
    match name {
        "ReLU" => "relu".into(),
        "LeakyReLU" => "leaky_relu".into(),
        other => other.to_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::lower;
    use crate::syntax::ModelDef;

    fn shapes(def: ModelDef) -> Vec<(String, Vec<usize>, Vec<usize>, usize)> {
        let m = lower(&def).unwrap_or_else(|e| panic!("{e}"));
        m.layers
            .into_iter()
            .map(|l| (l.name, l.input, l.output, l.offset))
            .collect()
    }

    #[test]
    fn shapes_offsets_and_generated_names() {
        let def: ModelDef = syn::parse_quote! {
            struct Net { input: [4, 5], Flatten, hidden: Dense(8, relu), Dropout(0.5), Dense(3), Softmax }
        };
        let v = |s: &[usize]| s.to_vec();
        assert_eq!(
            shapes(def),
            vec![
                ("flatten_0".into(), v(&[4, 5]), v(&[20]), 0),
                ("hidden".into(), v(&[20]), v(&[8]), 0),
                ("dropout_0".into(), v(&[8]), v(&[8]), 168),
                ("dense_0".into(), v(&[8]), v(&[3]), 168),
                ("softmax_0".into(), v(&[3]), v(&[3]), 195),
            ]
        );
    }

    #[test]
    fn independent_errors_are_all_reported_and_shapes_break_once() {
        let def: ModelDef = syn::parse_quote! {
            struct Net { input: [4, 4], Dense(3), Dense(0), Dens(2), Dense(2, rleu) }
        };
        let err = lower(&def).err().expect("errors");
        let all: Vec<String> = err.into_iter().map(|e| e.to_string()).collect();
        assert_eq!(all.len(), 4, "{all:#?}");
        assert!(all[0].contains("needs a flat input"));
        assert!(all[1].contains("at least 1, found `0`"));
        assert!(all[2].contains("did you mean `Dense`"));
        assert!(all[3].contains("did you mean `relu`"));
    }
}
