//! Stage 2: syntax tree to checked model. Looks up each layer's kind in the registry
//! ([`crate::layers`]), binds its arguments, lets its file build it from its input shape,
//! checks every size ([`crate::limits`]), names unnamed layers, and collects every
//! independent error (each on its own tokens). Shape inference stops at the first break so
//! one mistake is reported once. Nothing here knows a particular layer kind.

use crate::args;
use crate::diag::Diagnostics;
use crate::ir::{Layer, Model};
use crate::layers::{self, Blame, Input, Problem};
use crate::limits::{self, Limits};
use crate::syntax::{Entry, InputDecl, LayerDecl, ModelDef, NotBraced};
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

    let mut layers: Vec<Layer> = Vec::new();
    let mut shape = input_shape.clone();
    let mut shape_ok = shape.is_some();
    let mut prev_name = String::from("input");
    let mut prev_kind = "";
    let mut sizes = Sizes::default();
    for decl in def.entries.iter().filter_map(|e| match e {
        Entry::Layer(l) => Some(l),
        Entry::Input(_) => None,
    }) {
        let kind_name = decl.kind.to_string();
        let Some(spec) = layers::find(&kind_name) else {
            diag.push(syn::Error::new_spanned(
                &decl.kind,
                layers::unknown_message(&kind_name),
            ));
            // Its output shape is unknown: later layers cannot be checked against it.
            shape_ok = false;
            continue;
        };
        let Some(args) = args::bind(spec.name, spec.params, spec.example, decl, &mut diag) else {
            shape_ok = false;
            continue;
        };
        // Shape inference: once broken, later layers are not checked against it.
        let Some(input) = shape.clone().filter(|_| shape_ok) else {
            continue;
        };
        // The layer as error messages name it: its label, else its kind.
        let this_name = decl
            .label
            .as_ref()
            .map_or_else(|| kind_name.clone(), |l| l.unraw().to_string());
        let built = match (spec.build)(
            &args,
            &Input {
                shape: &input,
                prev: &prev_name,
                prev_kind,
            },
        ) {
            Ok(built) => built,
            Err(Problem { message, blame }) => {
                let error = match blame {
                    Blame::Argument(name) => match args.expr(name) {
                        Some(expr) => syn::Error::new_spanned(expr, message),
                        None => syn::Error::new_spanned(decl, message),
                    },
                    Blame::Kind => syn::Error::new_spanned(&decl.kind, message),
                    Blame::Declaration => syn::Error::new_spanned(decl, message),
                };
                diag.push(error);
                shape_ok = false;
                continue;
            }
        };
        let layer = Layer {
            name: decl
                .label
                .as_ref()
                .map_or_else(String::new, |l| l.unraw().to_string()),
            kind: decl.kind.clone(),
            written: written(decl),
            input,
            built,
        };
        if !sizes.add(decl, &this_name, &layer, &mut limits, &mut diag) {
            // Too large to lay out: later sizes would only repeat the error.
            shape_ok = false;
            continue;
        }
        prev_name = this_name;
        prev_kind = layer.built.summary_kind;
        shape = Some(layer.built.output.clone());
        layers.push(layer);
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

/// The declaration as written, without its label, e.g. `Dense(64, relu)`.
fn written(decl: &LayerDecl) -> String {
    let kind = decl.kind.to_string();
    if decl.paren.is_none() {
        return kind;
    }
    let args: Vec<String> = decl
        .args
        .iter()
        .map(|a| quote::ToTokens::to_token_stream(a).to_string())
        .map(|t| t.replace(" ,", ",").replace("( ", "(").replace(" )", ")"))
        .collect();
    format!("{kind}({})", args.join(", "))
}

/// The running totals of the layers lowered so far, each checked (see [`crate::limits`]).
#[derive(Default)]
struct Sizes {
    /// Parameters so far.
    params: u128,
    /// Floating-point operations so far.
    flops: u128,
    /// Whether an earlier layer already put values in the inference scratch.
    scratch_in_use: bool,
}

impl Sizes {
    /// Checks the sizes of one more layer and adds them; returns `false` (with errors,
    /// blaming `decl`) when a size does not fit the host.
    fn add(
        &mut self,
        decl: &LayerDecl,
        name: &str,
        layer: &Layer,
        limits: &mut Limits,
        diag: &mut Diagnostics,
    ) -> bool {
        let built = &layer.built;
        let out = limits::product(&built.output);
        let fits = limits.check(
            diag,
            decl,
            &format!("the output of `{name}` has"),
            "values",
            out,
        ) && limits.check(
            diag,
            decl,
            &format!("`{name}` has"),
            "parameters",
            built.params,
        ) && limits.check(
            diag,
            decl,
            &format!("with `{name}`, the model has"),
            "parameters",
            built.params.and_then(|p| p.checked_add(self.params)),
        );
        if !fits {
            return false;
        }
        // Inference scratch (see `nn::scratch`): a layer that writes new values after
        // another holds its input and output at once. (The first reads the caller's input,
        // and a leading activation copies it: their outputs were checked above.)
        let produces = !built.in_place && !built.reshape;
        if self.scratch_in_use && produces {
            let both = out.and_then(|o| o.checked_add(limits::product(&layer.input)?));
            let what = format!("inference through `{name}` holds its input and output at once,");
            if !limits.check(diag, decl, &what, "values", both) {
                return false;
            }
        }
        let flops = built.flops.and_then(|f| self.flops.checked_add(f));
        if !Limits::check_flops(diag, decl, name, flops) {
            return false;
        }
        self.params = self.params.saturating_add(built.params.unwrap_or(0));
        self.flops = flops.unwrap_or(0);
        self.scratch_in_use |= !built.reshape;
        true
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
        diag.push(syn::Error::new_spanned(first, "input shapes have 1 to 3 dimensions: `[features]`, `[steps, features]` (a sequence) or `[height, width, channels]` (an image)"));
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
    if diag.is_empty() && shapes_ok && layers.iter().all(|l| l.params() == 0) {
        diag.error(
            def.brace_span,
            "a model needs at least one layer with parameters, e.g. `Dense(1)`",
        );
    }
    // Duplicate labels: `a: Dense(4), a: Dense(2)`; `input` is reserved, and so are the
    // names of the model's methods (a label names its layer's accessor, `model.a()`).
    let mut seen: Vec<&syn::Ident> = Vec::new();
    let labels: Vec<String> = def
        .entries
        .iter()
        .filter_map(|e| match e {
            Entry::Layer(l) => l.label.as_ref().map(|l| l.unraw().to_string()),
            Entry::Input(_) => None,
        })
        .collect();
    for decl in def.entries.iter().filter_map(|e| match e {
        Entry::Layer(l) => l.label.as_ref(),
        Entry::Input(_) => None,
    }) {
        let label = decl.unraw().to_string();
        let mutable_of = label
            .strip_suffix("_mut")
            .filter(|base| labels.iter().any(|l| l == base));
        if decl == "input" {
            diag.push(syn::Error::new_spanned(
                decl,
                "`input` is reserved for the input shape; choose another layer name",
            ));
        } else if let Some(method) = RESERVED
            .iter()
            .find(|m| **m == label || label.strip_suffix("_mut") == Some(**m))
        {
            diag.push(syn::Error::new_spanned(
                decl,
                format!("`{label}` would name the layer's accessor like the model's method `{method}`; choose another layer name"),
            ));
        } else if let Some(base) = mutable_of {
            diag.push(syn::Error::new_spanned(
                decl,
                format!("`{label}` is the name of the mutable accessor of layer `{base}`; choose another layer name"),
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

/// Methods of the generated model and of `nn::model::Model`: a layer's accessor (named as the
/// layer, and `<name>_mut`) must not shadow them.
const RESERVED: &[&str] = &[
    "new",
    "from_params",
    "from_static",
    "params",
    "state",
    "forward",
    "forward_into",
    "try_forward",
    "init",
    "check_input",
    "forward_batch",
    "backward_batch",
    "update_state",
    "tensors",
    "compile",
    "check_gradients",
    "save_weights",
    "load_weights",
];

/// Gives every unnamed layer a stable name `<kind>_<n>` (per kind, counting from 0, skipping
/// names the user took).
fn name_layers(layers: &mut [Layer]) {
    let mut used: Vec<String> = layers
        .iter()
        .filter(|l| !l.name.is_empty())
        .map(|l| l.name.clone())
        .collect();
    for layer in layers.iter_mut().filter(|l| l.name.is_empty()) {
        let base = layer.built.base_name;
        let mut n = 0;
        while used.contains(&format!("{base}_{n}")) {
            n += 1;
        }
        layer.name = format!("{base}_{n}");
        used.push(layer.name.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::lower;
    use crate::syntax::ModelDef;

    fn shapes(def: ModelDef) -> Vec<(String, Vec<usize>, Vec<usize>, usize)> {
        let m = lower(&def).unwrap_or_else(|e| panic!("{e}"));
        let mut offset = 0;
        m.layers
            .into_iter()
            .map(|l| {
                let at = offset;
                offset += l.params();
                (l.name, l.input, l.built.output, at)
            })
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
    fn a_two_dimensional_input_is_a_sequence() {
        let def: ModelDef = syn::parse_quote! {
            struct Net { input: [12, 3], Conv1D(8, 3, strides = 2), step: Dense(5, relu), MaxPool1D, GlobalMaxPool1D, Dense(1) }
        };
        let v = |s: &[usize]| s.to_vec();
        assert_eq!(
            shapes(def),
            vec![
                ("conv1d_0".into(), v(&[12, 3]), v(&[5, 8]), 0),
                // The same 8 × 5 weights at each of the 5 steps.
                ("step".into(), v(&[5, 8]), v(&[5, 5]), 3 * 3 * 8 + 8),
                ("maxpool1d_0".into(), v(&[5, 5]), v(&[2, 5]), 80 + 45),
                ("globalmaxpool1d_0".into(), v(&[2, 5]), v(&[5]), 125),
                ("dense_0".into(), v(&[5]), v(&[1]), 125),
            ]
        );
        let def: ModelDef = syn::parse_quote! {
            struct Net { input: 20, Embedding(1000, 16), Conv1D(4, 5, padding = same), Flatten, Dense(1) }
        };
        let layers = shapes(def);
        assert_eq!(layers[0].2, [20, 16]);
        assert_eq!(layers[1].2, [20, 4]);
        assert_eq!(layers[3].3, 16_000 + 5 * 16 * 4 + 4);
    }

    #[test]
    fn independent_errors_are_all_reported_and_shapes_break_once() {
        let def: ModelDef = syn::parse_quote! {
            struct Net { input: [4, 4, 2], Dense(3), Dense(0), Dens(2), Dense(2, rleu) }
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
