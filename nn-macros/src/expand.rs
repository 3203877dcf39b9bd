//! Stage 3: checked model to Rust code. Infallible: everything that can be wrong was
//! rejected in [`crate::lower`].
//!
//! Naming in the generated code: `x{j}` is the activation after `j` layers (`x0` is the
//! input), `d{j}` the gradient with respect to it; workspace fields reuse those names.
//! Every formula is a call into the runtime (`::nn::layers`, `::nn::activations`); this file
//! only orders the calls and moves slices between them.

use crate::ir::{Act, BatchNormConfig, Kind, Layer, Model};
use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote, quote_spanned};

/// The runtime's path as seen from the user's crate.
fn krate() -> TokenStream {
    quote!(::nn)
}

fn lit(v: usize) -> Literal {
    Literal::usize_unsuffixed(v)
}

/// The activation under `prefix`: the runtime's activation types (`::nn::activations::Relu`)
/// and the variants of `ActivationKind` have the same names.
fn activation_in(act: Act, prefix: &TokenStream) -> TokenStream {
    match act {
        Act::Linear => quote!(#prefix::Linear),
        Act::Relu => quote!(#prefix::Relu),
        Act::LeakyRelu(a) => {
            let a = Literal::f32_suffixed(a);
            quote!(#prefix::LeakyRelu(#a))
        }
        Act::Sigmoid => quote!(#prefix::Sigmoid),
        Act::Tanh => quote!(#prefix::Tanh),
        Act::Softmax => quote!(#prefix::Softmax),
    }
}

/// The activation as a runtime value, e.g. `::nn::activations::Relu`.
fn activation(act: Act) -> TokenStream {
    let k = krate();
    activation_in(act, &quote!(#k::activations))
}

/// The activation as an `ActivationKind`, e.g. `::nn::activations::ActivationKind::Relu`.
fn activation_kind(act: Act) -> TokenStream {
    let k = krate();
    activation_in(act, &quote!(#k::activations::ActivationKind))
}

/// How the batched passes see the layers: which buffer holds each activation, where the
/// logits are, and which final activation the runtime applies itself (so that it can fuse
/// it with the loss).
struct Plan {
    /// `buffer[j]`: the buffer holding `x{j}` (0 is the input); `Flatten` shares its input's.
    buffer: Vec<usize>,
    /// Index `j` of the logits: the activation before the output activation.
    logits: usize,
    /// The output activation the runtime applies after `forward_batch`.
    tail: Act,
    /// Whether the last layer applies the output activation itself (e.g. `Dense(10, softmax)`).
    tail_in_layer: bool,
    /// Index of the first layer with parameters: no gradient flows below it.
    first_trainable: usize,
}

impl Plan {
    fn new(model: &Model) -> Self {
        let mut buffer = vec![0];
        for (i, layer) in model.layers.iter().enumerate() {
            let b = if layer.kind == Kind::Flatten {
                buffer[i]
            } else {
                i + 1
            };
            buffer.push(b);
        }
        let n = model.layers.len();
        let last = model.layers[n - 1].kind;
        let (logits, tail, tail_in_layer) = match (last, last.own_activation()) {
            (Kind::Activation(act), _) => (n - 1, act, false),
            (_, Some(act)) => (n, act, true),
            _ => (n, Act::Linear, false),
        };
        let first_trainable = model
            .layers
            .iter()
            .position(|l| l.kind.params() > 0)
            .unwrap_or(0);
        Self {
            buffer,
            logits,
            tail,
            tail_in_layer,
            first_trainable,
        }
    }

    /// Layers run by the batched passes (all but a trailing activation layer).
    fn batched_layers<'m>(&self, model: &'m Model) -> &'m [Layer] {
        &model.layers[..self.logits]
    }

    /// The activation that the layer producing `x{j}` applies to its own output in the
    /// batched passes: none when it is the output activation, which the runtime applies.
    fn own_activation(&self, model: &Model, j: usize) -> Option<Act> {
        let is_tail = self.tail_in_layer && j == model.layers.len();
        model.layers[j - 1]
            .kind
            .own_activation()
            .filter(|_| !is_tail)
    }

    /// `Some(d{i})` when a gradient flows into `x{i}`, else `None`: the `dx` argument of a
    /// layer's backward pass.
    fn d_option(&self, i: usize, grad_in: bool) -> TokenStream {
        if grad_in {
            let d = self.d_mut(i);
            quote!(::core::option::Option::Some(#d))
        } else {
            quote!(::core::option::Option::None)
        }
    }

    /// Whether activation `x{j}` needs a gradient buffer.
    fn needs_grad(&self, j: usize) -> bool {
        j > self.first_trainable
            && self.buffer[j] != self.buffer[self.logits]
            && self.buffer[j] != 0
    }

    fn x(&self, j: usize) -> TokenStream {
        match self.buffer[j] {
            0 => quote!(x0),
            b => {
                let f = format_ident!("x{}", b);
                quote!(ws.#f.rows(batch))
            }
        }
    }

    fn x_mut(&self, j: usize) -> TokenStream {
        let f = format_ident!("x{}", self.buffer[j]);
        quote!(ws.#f.rows_mut(batch))
    }

    fn d(&self, j: usize) -> TokenStream {
        if self.buffer[j] == self.buffer[self.logits] {
            return quote!(&*d_logits);
        }
        let f = format_ident!("d{}", self.buffer[j]);
        quote!(ws.#f.rows(batch))
    }

    fn d_mut(&self, j: usize) -> TokenStream {
        if self.buffer[j] == self.buffer[self.logits] {
            return quote!(&mut *d_logits);
        }
        let f = format_ident!("d{}", self.buffer[j]);
        quote!(ws.#f.rows_mut(batch))
    }
}

/// The parameter range of a layer, e.g. `0..1344`.
fn range(layer: &Layer) -> TokenStream {
    let end = layer.offset.saturating_add(layer.kind.params());
    let (a, b) = (lit(layer.offset), lit(end));
    quote!(#a..#b)
}

fn dense_type(inputs: usize, units: usize, span: proc_macro2::Span) -> TokenStream {
    let k = krate();
    let (i, o) = (lit(inputs), lit(units));
    quote_spanned!(span=> #k::layers::Dense::<#i, #o>)
}

/// The runtime type of a layer that writes new values, with its shape as const generics,
/// e.g. `::nn::layers::Dense::<20, 64>`; `None` for layers that work in place.
fn runtime_type(layer: &Layer) -> Option<TokenStream> {
    let k = krate();
    let span = layer.kind_ident.span();
    let sizes = |v: &[usize]| v.iter().map(|&x| lit(x)).collect::<Vec<_>>();
    Some(match layer.kind {
        Kind::Dense { inputs, units, .. } => dense_type(inputs, units, span),
        Kind::Conv2D(c) => {
            let a = sizes(&[
                c.h, c.w, c.cin, c.cout, c.kh, c.kw, c.sh, c.sw, c.pt, c.pl, c.oh, c.ow,
            ]);
            quote_spanned!(span=> #k::layers::Conv2D::<#(#a),*>)
        }
        Kind::MaxPool2D(p) => {
            let a = sizes(&[p.h, p.w, p.c, p.ph, p.pw, p.sh, p.sw, p.oh, p.ow]);
            quote_spanned!(span=> #k::layers::MaxPool2D::<#(#a),*>)
        }
        Kind::AvgPool2D(p) => {
            let a = sizes(&[p.h, p.w, p.c, p.ph, p.pw, p.sh, p.sw, p.oh, p.ow]);
            quote_spanned!(span=> #k::layers::AvgPool2D::<#(#a),*>)
        }
        Kind::GlobalAvgPool2D { h, w, c } => {
            let a = sizes(&[h, w, c]);
            quote_spanned!(span=> #k::layers::GlobalAvgPool2D::<#(#a),*>)
        }
        Kind::BatchNorm { c, .. } => {
            let c = lit(c);
            quote_spanned!(span=> #k::layers::BatchNorm::<#c>)
        }
        Kind::Activation(_) | Kind::Dropout(_) | Kind::Flatten => return None,
    })
}

/// A batch-normalisation layer as a runtime value with its hyperparameters:
/// `::nn::layers::BatchNorm::<8>::KERAS` or `::PYTORCH` for those defaults, else
/// `BatchNorm::<8>::new(epsilon, momentum, unbiased_variance)` in a `const` block (the
/// runtime's checks then run at compile time; [`crate::lower`] made them pass).
fn batchnorm(layer: &Layer) -> TokenStream {
    let Kind::BatchNorm { config, .. } = layer.kind else {
        return TokenStream::new();
    };
    let t = runtime_type(layer).unwrap_or_default();
    let span = layer.kind_ident.span();
    if config == BatchNormConfig::KERAS {
        quote_spanned!(span=> #t::KERAS)
    } else if config == BatchNormConfig::PYTORCH {
        quote_spanned!(span=> #t::PYTORCH)
    } else {
        let (e, m) = (
            Literal::f32_suffixed(config.epsilon),
            Literal::f32_suffixed(config.momentum),
        );
        let u = config.unbiased_variance;
        quote_spanned!(span=> const { #t::new(#e, #m, #u) })
    }
}

/// The convolution layers, which share one im2col scratch buffer in the workspace.
fn convolutions(model: &Model) -> Vec<TokenStream> {
    model
        .layers
        .iter()
        .filter(|l| matches!(l.kind, Kind::Conv2D(_)))
        .filter_map(runtime_type)
        .collect()
}

/// Internal local variables of the generated functions, renamed `__<name>` (serde's
/// convention): a binding named like a constant in scope (`const p: u8` next to the model)
/// would otherwise be read as a constant pattern. Span hygiene cannot prevent that.
const LOCALS: &[&str] = &[
    "p", "ws", "batch", "dropout", "d_logits", "grads", "rng", "storage", "x", "y", "st",
];

/// Renames the generated code's internal locals (see [`LOCALS`]); items, fields, paths and
/// the public parameters (`x0`, `seed`, `values`) keep their names.
fn hygienic(tokens: TokenStream) -> TokenStream {
    use proc_macro2::{Group, TokenTree};
    // The last two punctuation characters seen (`::` before a path segment, `.` before a
    // field), reset by any other token.
    let mut last: [char; 2] = [' ', ' '];
    // Whether the previous token was `pub` (then a parenthesised group is a visibility).
    let mut after_pub = false;
    let mut out = TokenStream::new();
    for tt in tokens {
        let after_path_or_dot = last == [':', ':'] || last[1] == '.';
        let renamed = match tt {
            // `::nn::rng` (a path segment) and `.ws` (a field) are not locals.
            TokenTree::Ident(id)
                if !after_path_or_dot && LOCALS.contains(&id.to_string().as_str()) =>
            {
                TokenTree::Ident(proc_macro2::Ident::new(&format!("__{id}"), id.span()))
            }
            // Attributes (`#[cfg_attr(p, ..)]`) and visibilities (`pub(in p)`) hold the
            // user's tokens, never generated locals: left as written.
            TokenTree::Group(g)
                if (g.delimiter() == proc_macro2::Delimiter::Bracket && last[1] == '#')
                    || (g.delimiter() == proc_macro2::Delimiter::Parenthesis && after_pub) =>
            {
                TokenTree::Group(g)
            }
            TokenTree::Group(g) => {
                let mut group = Group::new(g.delimiter(), hygienic(g.stream()));
                group.set_span(g.span());
                TokenTree::Group(group)
            }
            other => other,
        };
        after_pub = matches!(&renamed, TokenTree::Ident(id) if id == "pub");
        last = match &renamed {
            TokenTree::Punct(p) => [last[1], p.as_char()],
            _ => [' ', ' '],
        };
        out.extend([renamed]);
    }
    out
}

/// Generates everything for a checked model.
pub fn expand(model: &Model) -> TokenStream {
    for_targets(model, hygienic(expand_items(model)))
}

/// The model's items, or, on targets whose `usize` cannot hold the model's sizes (see
/// [`crate::limits`]), the error and the fallback items of [`on_error`] instead:
///
/// ```text
/// #[cfg(not(any(target_pointer_width = "32", target_pointer_width = "16")))] pub struct Net { .. }
/// ...
/// #[cfg(target_pointer_width = "32")] ::core::compile_error! { "the output of `Flatten` has .." }
/// #[cfg(any(target_pointer_width = "32", target_pointer_width = "16"))] pub struct Net;
/// ```
///
/// On such a target the model's code would not compile anyway (its sizes are `usize`
/// literals too large for it); this way the one error is the readable one.
fn for_targets(model: &Model, items: TokenStream) -> TokenStream {
    if model.narrow_targets.is_empty() {
        return items;
    }
    let widths = model.narrow_targets.iter().map(|t| t.bits.to_string());
    let narrow = quote!(any(#(target_pointer_width = #widths),*));
    let mut out = with_cfg(&quote!(not(#narrow)), items);
    for target in &model.narrow_targets {
        let width = target.bits.to_string();
        let error = target.error.to_compile_error();
        out.extend(with_cfg(&quote!(target_pointer_width = #width), error));
    }
    out.extend(with_cfg(
        &narrow,
        fallback(&model.attrs, &model.vis, &model.name),
    ));
    out
}

/// `items` with `#[cfg(#predicate)]` on each.
fn with_cfg(predicate: &TokenStream, items: TokenStream) -> TokenStream {
    match syn::parse2::<syn::File>(items.clone()) {
        Ok(file) => file
            .items
            .iter()
            .map(|item| quote!(#[cfg(#predicate)] #item))
            .collect(),
        // Not reached: the items are this module's own.
        Err(_) => items,
    }
}

fn expand_items(model: &Model) -> TokenStream {
    let k = krate();
    let plan = Plan::new(model);
    let name = &model.name;
    let vis = &model.vis;
    let attrs = &model.attrs;
    let docs = struct_docs(model);
    let workspace = format_ident!("{}Workspace", name);

    let input = lit(model.input_len());
    let output = lit(model.output_len());
    let params = lit(model.params());
    let rank = lit(model.input_shape.len());
    let dims = model.input_shape.iter().map(|&d| lit(d));
    let flops = Literal::u64_unsuffixed(model.flops());
    let param_bytes = lit(model.params().saturating_mul(4));
    let summary = summary(model);
    let name_str = name.to_string();

    let (forward, scratch) = forward_into(model);
    let scratch_bytes = lit(scratch.saturating_mul(4));
    let scratch = lit(scratch);
    let init = model
        .layers
        .iter()
        .filter(|l| l.kind.params() > 0)
        .filter_map(|l| {
            let (t, r) = (runtime_type(l)?, range(l));
            Some(quote!(#t::init(&mut p[#r], &mut rng);))
        });
    let tensors = tensors(model);
    let tail_kind = activation_kind(plan.tail);
    let ws_fields = workspace_fields(model, &plan);
    let ws_inits = workspace_inits(model, &plan);
    let ws_reserve = workspace_reserve(model, &plan);
    let forward_batch = forward_batch(model, &plan);
    let backward_batch = backward_batch(model, &plan);
    let ws_doc =
        format!("Buffers of a training pass of [`{name}`], grown to the largest batch seen.");
    let StateItems {
        field: state_field,
        binding: state_let,
        value: state_value,
        init: state_init,
        trait_items: state_trait_items,
        from_static,
        prologue: state_prologue,
    } = state_items(model, &workspace);
    let state_len = lit(model.state());

    quote! {
        #(#attrs)*
        #docs
        #vis struct #name {
            params: #k::Params,
            #state_field
        }

        impl #name {
            /// The input shape as declared (`[features]`, or `[height, width, channels]` for
            /// images, stored row-major with channels last).
            pub const INPUT_SHAPE: [usize; #rank] = [#(#dims),*];
            /// Values per input sample.
            pub const INPUT: usize = #input;
            /// Values per output sample.
            pub const OUTPUT: usize = #output;
            /// Number of trainable parameters.
            pub const PARAMS: usize = #params;
            /// Bytes of parameters (`f32`).
            pub const PARAM_BYTES: usize = #param_bytes;
            /// Values of scratch one inference needs: the largest input plus output of a
            /// layer, as intermediate values are reused between layers (see
            /// [`forward_into`](Self::forward_into)).
            pub const SCRATCH: usize = #scratch;
            /// Bytes of scratch one inference needs (`f32`).
            pub const SCRATCH_BYTES: usize = #scratch_bytes;
            /// Floating-point operations of one sample's inference (a multiply-add counts 2);
            /// a `u64`, since a model that fits a 32-bit target may still take more than
            /// 2³² of them.
            pub const FLOPS: u64 = #flops;
            /// Values of non-trainable state (batch normalisation's running statistics).
            pub const STATE: usize = #state_len;
            /// Keras-style summary: layers, output shapes, parameter counts.
            pub const SUMMARY: &'static str = #summary;

            #from_static

            /// All parameters as one flat slice, layer after layer (see
            /// [`TENSORS`](#k::model::Model::TENSORS) for the layout).
            #[must_use]
            pub fn params(&self) -> &[f32] {
                self.params.as_slice()
            }

            /// Inference for one sample, with the intermediate values on the stack
            /// ([`SCRATCH_BYTES`](Self::SCRATCH_BYTES) of them). Allocation-free; available
            /// without `std`.
            #[must_use]
            pub fn forward(&self, x0: &#k::Vector<#input>) -> #k::Vector<#output> {
                let mut scratch = [0.0f32; #scratch];
                #k::Vector::from_column_slice(self.forward_into(&x0.data.0[0], &mut scratch))
            }

            /// Inference for one sample in a caller-provided scratch buffer of exactly
            /// [`SCRATCH`](Self::SCRATCH) values (e.g. a `static mut` on a device without
            /// an allocator). Returns the [`OUTPUT`](Self::OUTPUT) output values, which live
            /// in `scratch`.
            pub fn forward_into<'s>(&self, x0: &[f32; #input], scratch: &'s mut [f32; #scratch]) -> &'s [f32] {
                let p = self.params.as_slice();
                #state_let
                #forward
            }
        }

        #k::__with_alloc! {
            impl #name {
                /// A new model with Keras' default initialisation (Glorot-uniform weights,
                /// zero biases), reproducible from `seed`. The parameters are allocated
                /// directly on the heap, never on the stack.
                #[must_use]
                pub fn new(seed: u64) -> Self {
                    let mut storage = #k::Params::zeros(#params);
                    let p = storage.as_mut_slice();
                    let mut rng = #k::rng::Rng::new(seed);
                    #(#init)*
                    Self { params: storage, #state_value }
                }

                /// A model from a flat parameter vector (layout as [`params`](Self::params)).
                ///
                /// # Errors
                /// If the length is not [`PARAMS`](Self::PARAMS) or a value is not finite.
                pub fn from_params(values: #k::__private::Vec<f32>) -> #k::Result<Self> {
                    #k::model::check_params(&values, #params)?;
                    ::core::result::Result::Ok(Self { params: #k::Params::from_vec(values), #state_value })
                }

                /// All parameters, mutably.
                pub fn params_mut(&mut self) -> &mut [f32] {
                    self.params.as_mut_slice()
                }
            }

            #state_init

            // The workspace type is declared in an anonymous `const` block, so that nothing
            // but the model's own name enters the user's namespace (a user type named
            // `NameWorkspace` cannot clash); users name it `<Name as Model>::Workspace`.
            const _: () = {
                #[doc = #ws_doc]
                #[derive(Clone, Debug)]
                pub struct #workspace {
                    #ws_fields
                }

                impl #k::model::Model for #name {
                    const NAME: &'static str = #name_str;
                    const INPUT_SHAPE: &'static [usize] = &Self::INPUT_SHAPE;
                    const INPUT: usize = #input;
                    const OUTPUT: usize = #output;
                    const PARAMS: usize = #params;
                    const OUTPUT_ACTIVATION: #k::activations::ActivationKind = #tail_kind;
                    const TENSORS: &'static [#k::model::TensorInfo] = &[#tensors];
                    #[doc = #ws_doc]
                    type Workspace = #workspace;

                    fn init(seed: u64) -> Self {
                        Self::new(seed)
                    }

                    fn workspace() -> #workspace {
                        #workspace { #ws_inits }
                    }

                    fn params(&self) -> &[f32] {
                        self.params.as_slice()
                    }

                    fn params_mut(&mut self) -> &mut [f32] {
                        self.params.as_mut_slice()
                    }

                    #state_trait_items

                    fn forward_batch<'w>(
                        &self,
                        ws: &'w mut #workspace,
                        x0: &[f32],
                        batch: usize,
                        mut dropout: ::core::option::Option<&mut #k::rng::Rng>,
                    ) -> &'w [f32] {
                        ::core::assert!(
                            batch.checked_mul(#input) == ::core::option::Option::Some(x0.len()),
                            "input is not `batch` rows of INPUT values",
                        );
                        #ws_reserve
                        #state_prologue
                        let p = self.params.as_slice();
                        #state_let
                        #forward_batch
                    }

                    fn backward_batch(
                        &self,
                        ws: &mut #workspace,
                        x0: &[f32],
                        d_logits: &mut [f32],
                        grads: &mut [f32],
                        batch: usize,
                    ) {
                        let p = self.params.as_slice();
                        #state_let
                        let _ = x0;
                        #backward_batch
                    }
                }
            };
        }
    }
}

/// The straight-line body of `forward_into`, and the scratch size it needs: every layer that
/// produces new values reads one end of the scratch and writes the other (see
/// `nn_core::scratch`); activations work in place.
fn forward_into(model: &Model) -> (TokenStream, usize) {
    let k = krate();
    let mut out = TokenStream::new();
    // Where the current activation is: `None` while it is still the caller's input.
    let mut at_start: Option<bool> = None;
    let mut size = 0;
    let mut len = model.input_len();
    for layer in &model.layers {
        let span = layer.kind_ident.span();
        let width = lit(layer.out_len());
        let act = match layer.kind {
            kind if kind.produces() => {
                let t = runtime_type(layer).unwrap_or_default();
                let inputs = crate::ir::product(&layer.input).unwrap_or(usize::MAX);
                let outputs = layer.out_len();
                let u = lit(outputs);
                let call = |x: TokenStream, y: TokenStream| match kind {
                    Kind::Dense { .. } => {
                        let r = range(layer);
                        quote_spanned!(span=> #t::forward_into(&p[#r], #x, #y);)
                    }
                    Kind::Conv2D(_) => {
                        let r = range(layer);
                        quote_spanned!(span=> #t::forward(&p[#r], #x, #y);)
                    }
                    Kind::BatchNorm { c, state, .. } => {
                        let (bn, r, sr) = (batchnorm(layer), range(layer), state_range(state, c));
                        quote_spanned!(span=> #bn.forward(&p[#r], &st[#sr], #x, #y);)
                    }
                    _ => quote_spanned!(span=> #t::forward(#x, #y);),
                };
                out.extend(match at_start {
                    None => {
                        size = size.max(outputs);
                        call(quote!(x0), quote!(&mut scratch[..#u]))
                    }
                    Some(input_at_start) => {
                        size = size.max(inputs.saturating_add(outputs));
                        let i = lit(inputs);
                        let body = call(quote!(x), quote!(y));
                        quote_spanned!(span=> {
                            let (x, y) = #k::scratch::ping_pong(scratch, #input_at_start, #i, #u);
                            #body
                        })
                    }
                });
                at_start = Some(!at_start.unwrap_or(false));
                len = outputs;
                kind.own_activation()
            }
            Kind::Activation(act) => {
                if at_start.is_none() {
                    // In place needs a copy of the caller's input first.
                    size = size.max(len);
                    let n = lit(len);
                    out.extend(quote_spanned!(span=> scratch[..#n].copy_from_slice(x0);));
                    at_start = Some(true);
                }
                Some(act)
            }
            _ => None,
        };
        if let (Some(act), Some(at)) = (act, at_start) {
            let a = activation(act);
            let n = lit(len);
            out.extend(quote_spanned!(span=>
                #k::activations::Activation::forward(&#a, #k::scratch::region_mut(scratch, #at, #n), #width);
            ));
        }
    }
    let at = at_start.unwrap_or(true);
    let n = lit(len);
    out.extend(quote!(#k::scratch::region(scratch, #at, #n)));
    (out, size)
}

fn workspace_fields(model: &Model, plan: &Plan) -> TokenStream {
    let k = krate();
    let mut out = TokenStream::new();
    for (field, _, doc) in workspace_buffers(model, plan) {
        out.extend(quote!(#[doc = #doc] pub #field: #k::buffer::Buffer,));
    }
    if !convolutions(model).is_empty() {
        out.extend(quote!(#[doc = "im2col scratch shared by the convolutions."] pub conv: #k::buffer::Buffer,));
    }
    if model.state() > 0 {
        out.extend(quote! {
            #[doc = "Running statistics as a training-mode pass updated them."]
            pub state: #k::buffer::Buffer,
            #[doc = "Whether the last forward pass ran in training mode (batch statistics)."]
            pub training: bool,
        });
    }
    out
}

/// `(field, width, doc)` of every per-layer workspace buffer.
fn workspace_buffers(model: &Model, plan: &Plan) -> Vec<(proc_macro2::Ident, usize, String)> {
    let mut out = Vec::new();
    for (i, layer) in plan.batched_layers(model).iter().enumerate() {
        let j = i + 1;
        if plan.buffer[j] != j {
            continue;
        }
        let (name, width) = (&layer.name, layer.out_len());
        out.push((
            format_ident!("x{}", j),
            width,
            format!("`x{j}`: output of `{name}` ({width} values per sample)."),
        ));
        if plan.needs_grad(j) {
            out.push((
                format_ident!("d{}", j),
                width,
                format!("`d{j}`: gradient with respect to `x{j}`."),
            ));
        }
        if let Kind::Dropout(_) = layer.kind {
            out.push((
                format_ident!("mask{}", j),
                width,
                format!("Dropout mask of `{name}`."),
            ));
        }
    }
    out
}

fn workspace_inits(model: &Model, plan: &Plan) -> TokenStream {
    let k = krate();
    let fields = workspace_buffers(model, plan).into_iter().map(|(f, w, _)| {
        let w = lit(w);
        quote!(#f: #k::buffer::Buffer::new(#w),)
    });
    let conv = (!convolutions(model).is_empty()).then(|| quote!(conv: #k::buffer::Buffer::new(1),));
    let state =
        (model.state() > 0).then(|| quote!(state: #k::buffer::Buffer::new(1), training: false,));
    quote!(#(#fields)* #conv #state)
}

fn workspace_reserve(model: &Model, plan: &Plan) -> TokenStream {
    let fields = workspace_buffers(model, plan)
        .into_iter()
        .map(|(f, _, _)| quote!(ws.#f.reserve(batch);));
    // The convolutions share one scratch, as large as the largest needs.
    let conv = convolutions(model);
    let conv =
        (!conv.is_empty()).then(|| quote!(ws.conv.reserve(0 #(.max(#conv::scratch_len(batch)))*);));
    let n = lit(model.state());
    let state = (model.state() > 0).then(|| quote!(ws.state.reserve(#n);));
    quote!(#(#fields)* #conv #state)
}

fn forward_batch(model: &Model, plan: &Plan) -> TokenStream {
    let k = krate();
    let mut out = TokenStream::new();
    for (i, layer) in plan.batched_layers(model).iter().enumerate() {
        let j = i + 1;
        let span = layer.kind_ident.span();
        let width = lit(layer.out_len());
        let (x_in, x_out) = (plan.x(i), plan.x_mut(j));
        out.extend(match layer.kind {
            kind if kind.produces() => {
                let t = runtime_type(layer).unwrap_or_default();
                let r = range(layer);
                let mut s = match kind {
                    Kind::Dense { .. } => quote_spanned!(span=> #t::forward_batch(&p[#r], #x_in, #x_out, batch);),
                    Kind::Conv2D(_) => quote_spanned!(span=>
                        #t::forward_batch(&p[#r], #x_in, #x_out, batch, ws.conv.rows_mut(#t::scratch_len(batch)));
                    ),
                    Kind::BatchNorm { c, rows, state, .. } => {
                        let (sr, rows, total) = (state_range(state, c), lit(rows), lit(model.state()));
                        let (x_in2, x_out2) = (plan.x(i), plan.x_mut(j));
                        let bn = batchnorm(layer);
                        quote_spanned!(span=>
                            if ws.training {
                                #bn.forward_train(&p[#r], &mut ws.state.rows_mut(#total)[#sr], #x_in, #x_out, batch * #rows);
                            } else {
                                #bn.forward_batch(&p[#r], &st[#sr], #x_in2, #x_out2, batch * #rows);
                            }
                        )
                    }
                    _ => quote_spanned!(span=> #t::forward_batch(#x_in, #x_out, batch);),
                };
                if let Some(act) = plan.own_activation(model, j) {
                    let a = activation(act);
                    let x_out = plan.x_mut(j);
                    s.extend(quote_spanned!(span=> #k::activations::Activation::forward(&#a, #x_out, #width);));
                }
                s
            }
            Kind::Activation(act) => {
                let a = activation(act);
                let x_out2 = plan.x_mut(j);
                quote_spanned!(span=>
                    #x_out.copy_from_slice(#x_in);
                    #k::activations::Activation::forward(&#a, #x_out2, #width);
                )
            }
            Kind::Dropout(rate) => {
                let m = format_ident!("mask{}", j);
                let rate = Literal::f32_suffixed(rate);
                quote_spanned!(span=>
                    match &mut dropout {
                        ::core::option::Option::Some(rng) => #k::layers::Dropout::new(#rate).forward_train(#x_in, #x_out, ws.#m.rows_mut(batch), rng),
                        ::core::option::Option::None => #k::layers::Dropout::forward_eval(#x_in, #x_out, ws.#m.rows_mut(batch)),
                    }
                )
            }
            _ => TokenStream::new(),
        });
    }
    let logits = plan.x(plan.logits);
    out.extend(quote!(#logits));
    out
}

fn backward_batch(model: &Model, plan: &Plan) -> TokenStream {
    let k = krate();
    let mut out = TokenStream::new();
    let layers = plan.batched_layers(model);
    for (i, layer) in layers.iter().enumerate().rev() {
        if i < plan.first_trainable {
            break;
        }
        let j = i + 1;
        let span = layer.kind_ident.span();
        let width = lit(layer.out_len());
        let grad_in = i > plan.first_trainable;
        match layer.kind {
            kind @ (Kind::Dense { .. } | Kind::Conv2D(_)) => {
                if let Some(act) = plan.own_activation(model, j) {
                    let a = activation(act);
                    let (x, d) = (plan.x(j), plan.d_mut(j));
                    out.extend(quote_spanned!(span=> #k::activations::Activation::backward(&#a, #x, #d, #width);));
                }
                let t = runtime_type(layer).unwrap_or_default();
                let r = range(layer);
                let (x_in, dy) = (plan.x(i), plan.d(j));
                let dx = plan.d_option(i, grad_in);
                out.extend(match kind {
                    Kind::Conv2D(_) => quote_spanned!(span=>
                        #t::backward_batch(&p[#r], #x_in, #dy, #dx, &mut grads[#r], batch, ws.conv.rows_mut(#t::scratch_len(batch)));
                    ),
                    _ => quote_spanned!(span=> #t::backward_batch(&p[#r], #x_in, #dy, #dx, &mut grads[#r], batch);),
                });
            }
            Kind::BatchNorm { c, rows, state, .. } => {
                let bn = batchnorm(layer);
                let (r, sr, rows) = (range(layer), state_range(state, c), lit(rows));
                let (x_in, dy) = (plan.x(i), plan.d(j));
                let dx = plan.d_option(i, grad_in);
                // The pass that matches the forward pass: batch statistics in training mode,
                // running statistics in inference mode.
                out.extend(quote_spanned!(span=>
                    if ws.training {
                        #bn.backward_batch(&p[#r], #x_in, #dy, #dx, &mut grads[#r], batch * #rows);
                    } else {
                        #bn.backward_eval(&p[#r], &st[#sr], #x_in, #dy, #dx, &mut grads[#r], batch * #rows);
                    }
                ));
            }
            kind if kind.produces() && grad_in => {
                let t = runtime_type(layer).unwrap_or_default();
                let (x_in, y, dy, dx) = (plan.x(i), plan.x(j), plan.d(j), plan.d_mut(i));
                out.extend(quote_spanned!(span=> #t::backward_batch(#x_in, #y, #dy, #dx, batch);));
            }
            Kind::Activation(act) if grad_in => {
                let a = activation(act);
                let (dx, dy, y, dx2) = (plan.d_mut(i), plan.d(j), plan.x(j), plan.d_mut(i));
                out.extend(quote_spanned!(span=>
                    #dx.copy_from_slice(#dy);
                    #k::activations::Activation::backward(&#a, #y, #dx2, #width);
                ));
            }
            Kind::Dropout(_) if grad_in => {
                let m = format_ident!("mask{}", j);
                let (dy, dx) = (plan.d(j), plan.d_mut(i));
                out.extend(quote_spanned!(span=> #k::layers::Dropout::backward(ws.#m.rows(batch), #dy, #dx);));
            }
            _ => {}
        }
    }
    out
}

/// `TensorInfo` entries: PyTorch names and shapes (`<layer>.weight` is `[out, in]` for a
/// dense layer, `[out, in, height, width]` for a convolution).
fn tensors(model: &Model) -> TokenStream {
    let k = krate();
    let flattened = flattened_images(model);
    let mut out = TokenStream::new();
    for (layer, image) in model.layers.iter().zip(&flattened) {
        let (weights, shape, layout) = match layer.kind {
            Kind::Dense { inputs, units, .. } => (
                inputs * units,
                vec![units, inputs],
                match image {
                    Some(image) => permuted(&[units], image),
                    None => quote!(#k::model::TensorLayout::Transposed),
                },
            ),
            Kind::Conv2D(c) => (
                c.kh * c.kw * c.cin * c.cout,
                vec![c.cout, c.cin, c.kh, c.kw],
                quote!(#k::model::TensorLayout::Hwio),
            ),
            // gamma then beta, as PyTorch's `weight` and `bias`.
            Kind::BatchNorm { c, .. } => (c, vec![c], vector_layout(image.as_deref())),
            _ => continue,
        };
        let bias_layout = match layer.kind {
            Kind::BatchNorm { .. } => layout.clone(),
            _ => quote!(#k::model::TensorLayout::Same),
        };
        let (w, b) = (
            format!("{}.weight", layer.name),
            format!("{}.bias", layer.name),
        );
        let (o, wl, bo, u) = (
            lit(layer.offset),
            lit(weights),
            lit(layer.offset + weights),
            lit(shape[0]),
        );
        let dims = shape.iter().map(|&d| lit(d));
        out.extend(quote! {
            #k::model::TensorInfo { name: #w, offset: #o, len: #wl, shape: &[#(#dims),*], layout: #layout },
            #k::model::TensorInfo { name: #b, offset: #bo, len: #u, shape: &[#u], layout: #bias_layout },
        });
    }
    out
}

/// For each layer, the image shape (`[height, width, channels]`) that its input was
/// flattened from, when its input is a `Flatten` of an image with several channels and
/// positions (passed on through layers that keep the order of values: dropout, activations,
/// batch normalisation). PyTorch orders such a vector channel-first, `nn` channels last, so
/// the tensors indexed by it are [`permuted`] in weight files.
fn flattened_images(model: &Model) -> Vec<Option<Vec<usize>>> {
    let mut current: Option<Vec<usize>> = None;
    let mut out = Vec::with_capacity(model.layers.len());
    for layer in &model.layers {
        out.push(current.clone());
        current = match layer.kind {
            Kind::Flatten if layer.input.len() == 3 => {
                let (positions, channels) = (layer.input[0] * layer.input[1], layer.input[2]);
                (positions > 1 && channels > 1).then(|| layer.input.clone())
            }
            Kind::Flatten | Kind::Dropout(_) | Kind::Activation(_) | Kind::BatchNorm { .. } => {
                current
            }
            _ => None,
        };
    }
    out
}

/// The layout of a tensor of shape `[lead.., features]` whose last axis indexes a flattened
/// `image` (`[height, width, channels]`): PyTorch's view `[lead.., channels, height, width]`,
/// stored `[height][width][channels][lead..]` (a dense weight: `lead` is `[out]`, stored
/// transposed as every dense kernel).
fn permuted(lead: &[usize], image: &[usize]) -> TokenStream {
    let k = krate();
    let (spatial, channels) = image.split_at(image.len() - 1);
    let view: Vec<usize> = lead
        .iter()
        .chain(channels)
        .chain(spatial)
        .copied()
        .collect();
    // Memory: the spatial axes, then channels, then the leading axes reversed.
    let n = lead.len();
    let axes: Vec<usize> = (n + 1..view.len()).chain([n]).chain((0..n).rev()).collect();
    let (view, axes) = (view.iter().map(|&d| lit(d)), axes.iter().map(|&a| lit(a)));
    quote!(#k::model::TensorLayout::Permuted { view: &[#(#view),*], axes: &[#(#axes),*] })
}

/// The layout of a per-feature vector (batch normalisation's): permuted after a `Flatten` of
/// an image, else as stored.
fn vector_layout(image: Option<&[usize]>) -> TokenStream {
    let k = krate();
    match image {
        Some(image) => permuted(&[], image),
        None => quote!(#k::model::TensorLayout::Same),
    }
}

fn shape_text(shape: &[usize]) -> String {
    let dims = shape
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    format!("(None, {dims})")
}

fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Keras' `model.summary()`, as text.
fn summary(model: &Model) -> String {
    let rows: Vec<(String, String, String)> = model
        .layers
        .iter()
        .map(|l| {
            (
                format!("{} ({})", l.name, l.kind.type_name()),
                shape_text(&l.output),
                // As Keras: batch norm's running statistics count, as non-trainable.
                thousands(match l.kind {
                    Kind::BatchNorm { c, .. } => c.saturating_mul(4),
                    kind => kind.params(),
                }),
            )
        })
        .collect();
    // Keras' column widths, widened for long layer names.
    let w = rows
        .iter()
        .map(|r| r.0.chars().count() + 2)
        .max()
        .unwrap_or(0)
        .max(29);
    let total = w + 36;
    let (rule, double) = ("_".repeat(total), "=".repeat(total));
    let mut s = format!(
        "Model: \"{}\"\n{rule}\n {:<w$}{:<25}{:>9}\n{double}\n",
        model.name, "Layer (type)", "Output Shape", "Param #"
    );
    for (name, shape, params) in &rows {
        s += &format!(" {name:<w$}{shape:<25}{params:>9}\n");
    }
    let (p, state) = (model.params(), model.state());
    #[allow(clippy::cast_precision_loss)]
    let kb = (p as f64 + state as f64) * 4.0 / 1024.0;
    s += &format!(
        "{double}\nTotal params: {} ({kb:.2} KB)\nTrainable params: {}\nNon-trainable params: {}\n{rule}",
        thousands(p.saturating_add(state)),
        thousands(p),
        thousands(state)
    );
    s
}

/// Doc lines appended after the user's: a layer table.
fn struct_docs(model: &Model) -> TokenStream {
    let mut lines = vec![
        String::new(),
        "Generated by `nn::model!`; every shape was checked at compile time.".to_owned(),
        String::new(),
        "| # | layer | type | input | output | params |".to_owned(),
        "|---|---|---|---|---|---|".to_owned(),
    ];
    for (i, l) in model.layers.iter().enumerate() {
        let act = match l.kind {
            kind if kind.own_activation().is_some() => {
                let activation = kind.own_activation().unwrap_or(Act::Linear);
                format!(", {}", activation.name())
            }
            _ => String::new(),
        };
        let fmt = |s: &[usize]| {
            s.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("×")
        };
        lines.push(format!(
            "| {i} | `{}` | {}{act} | {} | {} | {} |",
            l.name,
            l.kind.type_name(),
            fmt(&l.input),
            fmt(&l.output),
            l.kind.params()
        ));
    }
    lines.push(String::new());
    lines.push(format!("Total: {} parameters.", model.params()));
    quote!(#(#[doc = #lines])*)
}

/// On errors: the errors, plus an empty struct of the same name so that the user is not also
/// told the type does not exist.
pub fn on_error(def: &crate::syntax::ModelDef, errors: &syn::Error) -> TokenStream {
    let errors = errors.to_compile_error();
    let stub = fallback(&def.attrs, &def.vis, &def.name);
    quote!(#errors #stub)
}

/// A bare struct of the model's name with its constants and constructors, for a build that
/// fails anyway: it keeps uses of the model's API and derives from adding unrelated errors
/// ("no function named `new`") after the real one.
fn fallback(attrs: &[syn::Attribute], vis: &syn::Visibility, name: &syn::Ident) -> TokenStream {
    let k = krate();
    quote! {
        #(#attrs)*
        #vis struct #name;
        #[allow(dead_code, unused_variables, clippy::all)]
        impl #name {
            #vis const INPUT: usize = 0;
            #vis const OUTPUT: usize = 0;
            #vis const PARAMS: usize = 0;
            #vis const PARAM_BYTES: usize = 0;
            #vis const FLOPS: u64 = 0;
            #vis const STATE: usize = 0;
            #vis const SCRATCH: usize = 0;
            #vis const SCRATCH_BYTES: usize = 0;
            #vis const SUMMARY: &'static str = "";
            #vis fn new(seed: u64) -> Self { Self }
            #vis fn params(&self) -> &[f32] { &[] }
            #vis fn params_mut(&mut self) -> &mut [f32] { &mut [] }
            #vis fn from_params(values: #k::__private::Vec<f32>) -> #k::Result<Self> { ::core::result::Result::Ok(Self) }
        }
    }
}

/// The range of a batch-norm layer's running statistics in the state buffer.
fn state_range(start: usize, channels: usize) -> TokenStream {
    let (a, b) = (
        lit(start),
        lit(start.saturating_add(channels.saturating_mul(2))),
    );
    quote!(#a..#b)
}

/// `STATE_TENSORS` entries: PyTorch's `<layer>.running_mean` and `<layer>.running_var`.
fn state_tensors(model: &Model) -> TokenStream {
    let k = krate();
    let mut out = TokenStream::new();
    for (layer, image) in model.layers.iter().zip(flattened_images(model)) {
        if let Kind::BatchNorm { c, state, .. } = layer.kind {
            let layout = vector_layout(image.as_deref());
            let (mean, var) = (
                format!("{}.running_mean", layer.name),
                format!("{}.running_var", layer.name),
            );
            let (o, ov, n) = (lit(state), lit(state + c), lit(c));
            out.extend(quote! {
                #k::model::TensorInfo { name: #mean, offset: #o, len: #n, shape: &[#n], layout: #layout },
                #k::model::TensorInfo { name: #var, offset: #ov, len: #n, shape: &[#n], layout: #layout },
            });
        }
    }
    out
}

/// The pieces of generated code that concern batch normalisation's running statistics (all
/// empty, and `from_static` taking only the weights, for models without batch norm).
struct StateItems {
    /// The struct field.
    field: TokenStream,
    /// `let st = ...` in the passes that read it.
    binding: TokenStream,
    /// The field's initial value in constructors.
    value: TokenStream,
    /// `initial_state()`.
    init: TokenStream,
    /// `STATE_TENSORS`, `state`, `state_mut`, `update_state` of the `Model` impl.
    trait_items: TokenStream,
    /// The `from_static` constructor.
    from_static: TokenStream,
    /// Start of `forward_batch`: the mode, and a copy of the statistics to update in training.
    prologue: TokenStream,
}

fn state_items(model: &Model, workspace: &proc_macro2::Ident) -> StateItems {
    let k = krate();
    let params = lit(model.params());
    let state = model.state();
    if state == 0 {
        return StateItems {
            field: TokenStream::new(),
            binding: TokenStream::new(),
            value: TokenStream::new(),
            init: TokenStream::new(),
            trait_items: TokenStream::new(),
            from_static: quote! {
                /// A model using parameters from a `static` (e.g. baked into the binary): no
                /// allocation, usable in `const` and `static` initialisers.
                #[must_use]
                pub const fn from_static(weights: &'static [f32; #params]) -> Self {
                    Self { params: #k::Params::from_static(weights) }
                }
            },
            prologue: TokenStream::new(),
        };
    }
    let name = &model.name;
    let n = lit(state);
    let init_state = model.layers.iter().filter_map(|l| match l.kind {
        Kind::BatchNorm { c, state, .. } => {
            let (t, sr) = (runtime_type(l)?, state_range(state, c));
            Some(quote!(#t::init_state(&mut st[#sr]);))
        }
        _ => None,
    });
    let tensors = state_tensors(model);
    StateItems {
        field: quote!(state: #k::Params,),
        binding: quote!(let st = self.state.as_slice();),
        value: quote!(state: Self::initial_state(),),
        init: quote! {
            impl #name {
                /// Keras' initial running statistics: mean 0, variance 1.
                fn initial_state() -> #k::Params {
                    let mut storage = #k::Params::zeros(#n);
                    let st = storage.as_mut_slice();
                    #(#init_state)*
                    storage
                }
            }
        },
        trait_items: quote! {
            const STATE_TENSORS: &'static [#k::model::TensorInfo] = &[#tensors];

            fn state(&self) -> &[f32] {
                self.state.as_slice()
            }

            fn state_mut(&mut self) -> &mut [f32] {
                self.state.as_mut_slice()
            }

            fn update_state(&mut self, ws: &#workspace) {
                if ws.training {
                    self.state.as_mut_slice().copy_from_slice(ws.state.rows(#n));
                }
            }
        },
        from_static: quote! {
            /// A model using parameters and batch-normalisation statistics from `static`s
            /// (e.g. baked into the binary): no allocation, usable in `const` and `static`
            /// initialisers.
            #[must_use]
            pub const fn from_static(weights: &'static [f32; #params], state: &'static [f32; #n]) -> Self {
                Self { params: #k::Params::from_static(weights), state: #k::Params::from_static(state) }
            }
        },
        prologue: quote! {
            // Training mode (batch statistics) when dropout masks are drawn; the running
            // statistics are updated in the workspace and taken by `update_state`.
            ws.training = dropout.is_some();
            if ws.training {
                ws.state.rows_mut(#n).copy_from_slice(self.state.as_slice());
            }
        },
    }
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

    /// A model too large for 32- and 16-bit targets: on those, a `compile_error!` on the
    /// offending tokens and the fallback struct; elsewhere, the model. Every item is gated.
    #[cfg(target_pointer_width = "64")]
    #[test]
    fn narrow_targets_get_their_error_instead_of_the_model() {
        let def: crate::syntax::ModelDef = syn::parse_quote! {
            pub struct Huge { input: [65536, 65536, 1], Flatten, Dense(2) }
        };
        let model = crate::lower::lower(&def).unwrap();
        let bits: Vec<u32> = model.narrow_targets.iter().map(|t| t.bits).collect();
        assert_eq!(bits, [32, 16]);
        let file = syn::parse2::<syn::File>(super::expand(&model)).unwrap();
        let gate = |item: &syn::Item| {
            let attrs = match item {
                syn::Item::Struct(i) => &i.attrs,
                syn::Item::Impl(i) => &i.attrs,
                syn::Item::Macro(i) => &i.attrs,
                syn::Item::Const(i) => &i.attrs,
                other => panic!("unexpected item {}", quote::quote!(#other)),
            };
            let cfg = attrs.first().expect("a cfg on every item");
            assert!(cfg.path().is_ident("cfg"));
            cfg.meta.require_list().unwrap().tokens.to_string()
        };
        let narrow =
            r#"any (target_pointer_width = "32" , target_pointer_width = "16")"#.to_owned();
        let mut errors = Vec::new();
        let mut structs = Vec::new();
        for item in &file.items {
            let gate = gate(item);
            match item {
                syn::Item::Macro(m)
                    if m.mac.path.segments.last().unwrap().ident == "compile_error" =>
                {
                    errors.push((gate, m.mac.tokens.to_string()));
                }
                syn::Item::Struct(s) => structs.push((gate, s.fields.len())),
                _ => {}
            }
        }
        assert_eq!(
            errors,
            [
                (
                    r#"target_pointer_width = "32""#.to_owned(),
                    r#""the input has 4294967296 values (17179869184 bytes), more than a 32-bit target can address""#.to_owned()
                ),
                (
                    r#"target_pointer_width = "16""#.to_owned(),
                    r#""the input has 4294967296 values (17179869184 bytes), more than a 16-bit target can address""#.to_owned()
                ),
            ]
        );
        // The model (one field, its parameters) where it fits; the unit fallback elsewhere.
        assert_eq!(structs, [(format!("not ({narrow})"), 1), (narrow, 0)]);
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
