//! The `model!` macro of the `nn` crate. Documentation lives on the re-export, `nn::model!`.
//!
//! Three stages, kept apart: `syntax` turns tokens into a syntax tree that keeps every
//! span; `lower` checks the model and infers every shape, collecting all errors with the
//! span of the offending layer or argument; `expand` turns the checked model into code and
//! cannot fail.

mod activation;
mod args;
mod diag;
mod expand;
mod ir;
mod layers;
mod limits;
mod lower;
mod runtime;
mod syntax;

/// Declares a neural network: a struct whose shapes were checked at compile time, with
/// allocation-free inference and batched training passes.
///
/// ```text
/// nn::model! {
///     /// Docs and attributes pass through.
///     #[derive(Clone, Debug)]
///     pub struct Name {
///         input: 20,                        // or [steps, features] or [height, width, channels]
///         label: Layer(arguments),          // a named layer (the name prefixes its tensors)
///         Layer,                            // an unnamed one: `dense_0`, `conv2d_1`, ...
///     }
/// }
/// ```
///
/// | layer | arguments (positional, or `name = value`) |
/// |---|---|
/// | `Dense` | `units`, `activation` (on a sequence: the same weights at each step) |
/// | `Conv2D` | `filters`, `kernel_size` (`3`, `3x3`, `(3, 2)`), `activation`, `strides`, `padding` (`valid`, `same`) |
/// | `MaxPool2D`, `AvgPool2D` | `pool_size` (default 2), `strides` (default: the pool size) |
/// | `Embedding` | `input_dim` (ids), `output_dim`; the first layer, on `input: steps` |
/// | `Conv1D` | `filters`, `kernel_size`, `activation`, `strides` (default 1), `padding` (`valid`, `same`) |
/// | `MaxPool1D`, `AvgPool1D` | `pool_size` (default 2), `strides` (default: the pool size) |
/// | `GlobalAvgPool1D`, `GlobalMaxPool1D` | none |
/// | `BatchNorm` | `momentum` (default 0.99), `epsilon` (default 1e-3), `unbiased_variance` (default `false`) |
/// | `GlobalAvgPool2D`, `GlobalMaxPool2D`, `Flatten`, `ReLU`, `Sigmoid`, `Tanh`, `Softmax` | none |
/// | `LeakyReLU` | `negative_slope` (default 0.3) |
/// | `Activation` | `activation` |
/// | `Dropout` | `rate` in `[0, 1)` |
///
/// A 2-D input `[steps, features]` is a sequence, stored step after step; images are
/// `[height, width, channels]`, channels last.
///
/// Activations: `linear`, `relu`, `leaky_relu` or `leaky_relu(slope)` (default 0.2),
/// `sigmoid`, `tanh`, `softmax` (over more than one value; for one, `sigmoid`), `gelu`,
/// `elu` or `elu(alpha)` (default 1), `selu`, `silu` (or `swish`), `softplus`,
/// `hard_sigmoid`; or the path of a type of yours implementing
/// `nn::activations::ActivationFn` (`Dense(64, my_crate::Mish)`).
///
/// `BatchNorm` normalises the last axis and takes Keras' arguments with Keras' meaning and
/// defaults: its running statistics move as `running = momentum · running + (1 − momentum)
/// · batch`, and `epsilon` is added to the variance. PyTorch's `momentum` is one minus
/// Keras', and PyTorch updates the running variance with the unbiased batch variance, so
/// `BatchNorm(epsilon = 1e-5, momentum = 0.9, unbiased_variance = true)` behaves as PyTorch's
/// `nn.BatchNorm1d`/`nn.BatchNorm2d` with their defaults (both normalise a batch with its
/// biased variance).
///
/// Generated, for `pub struct Name`:
/// - constants `INPUT_SHAPE`, `INPUT`, `OUTPUT`, `PARAMS`, `PARAM_BYTES`, `SCRATCH`,
///   `SCRATCH_BYTES`, `FLOPS` (a `u64`), `STATE` and `SUMMARY` (Keras' `model.summary()` as
///   text);
/// - `new(seed)`, `from_params(vec)`, `from_static(&WEIGHTS)` (a `const fn`; it also takes
///   the batch-norm statistics when the model has `BatchNorm`), `params()`, `params_mut()`;
/// - `forward(&Vector<INPUT>) -> Vector<OUTPUT>` and `forward_into(&[f32; INPUT], &mut
///   [f32; SCRATCH])`, allocation-free and available without `std`;
/// - `impl nn::model::Model` (with `alloc`): batched `forward_batch` / `backward_batch` over a
///   workspace, `<Name as Model>::Workspace` (from `Name::workspace()`), and, through the
///   extension traits every model gets (in `nn::prelude`), `compile`, `check_gradients`,
///   `save_weights`, `load_weights`.
///
/// Nothing else is added to the caller's namespace: the workspace type is declared inside an
/// anonymous `const` block, so any other name (even `NameWorkspace`) is free.
///
/// Every mistake is a compile error on the offending token (an unknown layer or argument, a
/// bad value, a duplicate name, a shape a layer cannot take, a kernel larger than its input,
/// a size too large to address, a number that does not fit an `f32`), and independent
/// mistakes are all reported at once. Models are plain braced structs: generics, tuple
/// structs and attributes on layers (`#[cfg(..)]`: declare one model per configuration
/// instead) are errors. Sizes are checked against the host; a model too large for a
/// narrower target (e.g. 32-bit) compiles there to that error alone. See the `nn` crate's
/// documentation for a runnable example.
#[proc_macro]
pub fn model(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    let def = syn::parse_macro_input!(input as syntax::ModelDef);
    match lower::lower(&def) {
        Ok(model) => expand::expand(&model),
        Err(errors) => expand::on_error(&def, &errors),
    }
    .into()
}
