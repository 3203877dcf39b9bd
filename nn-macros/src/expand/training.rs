//! What needs an allocator: construction, mutable access, and `nn::model::Model`, whose
//! batched passes hand the layers to the runtime's tape in order (and back in reverse).

use super::model::accessors_mut;
use super::names::{self, local};
use super::plan::Plan;
use crate::ir::Model;
use crate::runtime::{krate, lit};
use proc_macro2::TokenStream;
use quote::quote;

pub fn items(model: &Model, plan: &Plan) -> TokenStream {
    let k = krate();
    let name = &model.name;
    let name_str = name.to_string();
    let (params, state) = (lit(model.params()), lit(model.state()));
    let (input, output) = (lit(model.input_len()), lit(model.output_len()));
    let accessors_mut = accessors_mut(model);
    let (model_var, rng) = (local("model"), local("rng"));
    let init = model
        .layers
        .iter()
        .filter(|l| l.params() + l.state() > 0)
        .map(|l| {
            let accessor = names::accessor(&l.name, "_mut", l.kind.span());
            quote!(#model_var.#accessor().init(&mut #rng);)
        });
    let (prev, update, layers) = (local("prev"), local("update"), local("layers"));
    let (tape, x, batch, pass, run, d, grads, dx) = (
        local("tape"),
        local("input"),
        local("batch"),
        local("pass"),
        local("run"),
        local("d_output"),
        local("grads"),
        local("d_input"),
    );
    // The layers of the batched passes: the last one's own activation, if any, is left to
    // the loss (`.logits()`), and a trailing activation layer is the loss's.
    let calls: Vec<TokenStream> = model.layers[..plan.batched]
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let accessor = names::accessor(&l.name, "", l.kind.span());
            if plan.logits && i + 1 == plan.batched {
                quote!(self.#accessor().logits())
            } else {
                quote!(self.#accessor())
            }
        })
        .collect();
    let forward = calls.iter().map(|c| quote!(#run.layer(#c);));
    let backward = calls.iter().rev().map(|c| quote!(#run.layer(#c);));
    // The layers' values (their configuration), taken before the parameters are borrowed
    // mutably for the update.
    let update_layers: Vec<TokenStream> = calls.iter().rev().map(|c| quote!(#c.layer)).collect();
    let layer_index = (0..update_layers.len()).map(syn::Index::from);
    let last = model.layers.last().expect("a model has layers");
    let (act_ty, act_value) = match &last.built.activation {
        Some(a) => (a.ty.clone(), a.value.clone()),
        None => (
            quote!(#k::activations::Linear),
            quote!(#k::activations::Linear),
        ),
    };
    let first = names::accessor(&model.layers[0].name, "", model.layers[0].kind.span());
    quote! {
        #k::__private::with_alloc! {
            impl #name {
                /// A new model with Keras' default initialisation (Glorot-uniform weights,
                /// zero biases), reproducible from `seed`. The parameters are allocated
                /// directly on the heap, never on the stack.
                #[must_use]
                pub fn new(seed: u64) -> Self {
                    let mut #model_var = Self { params: #k::Params::zeros(#params), state: #k::Params::zeros(#state) };
                    let mut #rng = #k::rng::Rng::new(seed);
                    #(#init)*
                    #model_var
                }

                /// A model from a flat parameter vector (layout as [`params`](Self::params)),
                /// with initial state (running statistics: mean 0, variance 1).
                ///
                /// # Errors
                /// If the length is not [`PARAMS`](Self::PARAMS) or a value is not finite.
                pub fn from_params(values: #k::__private::Vec<f32>) -> #k::Result<Self> {
                    #k::__private::check_params(&values, #params)?;
                    let mut #model_var = Self::new(0);
                    #model_var.params = #k::Params::from_vec(values);
                    ::core::result::Result::Ok(#model_var)
                }

                /// All parameters, mutably.
                pub fn params_mut(&mut self) -> &mut [f32] {
                    self.params.as_mut_slice()
                }

                #accessors_mut
            }

            impl #k::model::Model for #name {
                const NAME: &'static str = #name_str;
                const INPUT_SHAPE: &'static [usize] = &Self::INPUT_SHAPE;
                const INPUT: usize = #input;
                const OUTPUT: usize = #output;
                const PARAMS: usize = #params;
                const STATE: usize = #state;
                const LAYERS: &'static [#k::layers::LayerInfo] = &Self::LAYERS;
                type OutputActivation = #act_ty;
                const OUTPUT_ACTIVATION: Self::OutputActivation = #act_value;

                fn init(seed: u64) -> Self {
                    Self::new(seed)
                }

                fn params(&self) -> &[f32] {
                    self.params.as_slice()
                }

                fn params_mut(&mut self) -> &mut [f32] {
                    self.params.as_mut_slice()
                }

                fn state(&self) -> &[f32] {
                    self.state.as_slice()
                }

                fn state_mut(&mut self) -> &mut [f32] {
                    self.state.as_mut_slice()
                }

                fn check_input(&self, #x: &[f32]) -> #k::Result<()> {
                    self.#first().check_input(#x)
                }

                fn forward_batch<'t>(
                    &self,
                    #tape: &'t mut #k::tape::Tape,
                    #x: &[f32],
                    #batch: usize,
                    #pass: #k::layers::Pass<'_>,
                ) -> &'t [f32] {
                    let mut #run = #tape.forward(#x, #batch, self.state.as_slice(), #pass);
                    #(#forward)*
                    #run.finish()
                }

                fn backward_batch(
                    &self,
                    #tape: &mut #k::tape::Tape,
                    #x: &[f32],
                    #d: &mut [f32],
                    #grads: ::core::option::Option<&mut [f32]>,
                    #dx: ::core::option::Option<&mut [f32]>,
                ) {
                    let mut #run = #tape.backward(#x, #d, #grads, #dx);
                    #(#backward)*
                }

                fn backward_update(
                    &mut self,
                    #tape: &mut #k::tape::Tape,
                    #x: &[f32],
                    #d: &mut [f32],
                    #dx: ::core::option::Option<&mut [f32]>,
                    #grads: &mut [f32],
                    #prev: ::core::option::Option<&[f32]>,
                    #update: #k::kernels::ParamUpdate<'_>,
                ) {
                    let #layers = (#(#update_layers,)*);
                    let mut #run = #tape.backward_update(#x, #d, #dx, self.params.as_mut_slice(), #grads, #prev, #update);
                    #(#run.layer(#layers.#layer_index);)*
                }
            }
        }
    }
}
