//! The layer contract: what every layer provides, so that the `model!` macro emits one
//! uniform call per layer and the training machinery is written once.
//!
//! A layer is a small `Copy` value (its configuration: an activation, a dropout rate, batch
//! normalisation's epsilon) whose sizes are in its type's const generics. Its parameters
//! and non-trainable state live in ranges of the model's flat buffers and are passed in as
//! slices. [`Layer`] gives:
//!
//! | item | what |
//! |---|---|
//! | [`INPUT`](Layer::INPUT), [`OUTPUT`](Layer::OUTPUT) | values per sample in and out |
//! | [`PARAMS`](Layer::PARAMS), [`STATE`](Layer::STATE) | trainable parameters, non-trainable state (running statistics) |
//! | [`FLOPS`](Layer::FLOPS) | floating-point operations of one sample's inference |
//! | [`SCRATCH`](Layer::SCRATCH), [`IN_PLACE`](Layer::IN_PLACE), [`RESHAPE`](Layer::RESHAPE) | what single-sample inference needs besides its input and output |
//! | [`CACHE`](Layer::CACHE), [`batch_scratch`](Layer::batch_scratch) | what a batched training pass keeps for the backward pass, and shares between layers |
//! | [`TENSORS`](Layer::TENSORS) | the tensors of weight files: PyTorch's names, shapes and layouts |
//! | [`IDS`](Layer::IDS) | whether the input is token ids (an embedding's), and how many |
//! | [`init`](Layer::init) | Keras' initialisation, seeded |
//! | [`check_input`](Layer::check_input) | rejects inputs the layer cannot take (an id out of range) |
//! | [`infer`](Layer::infer) | one sample, no allocation, no `std` |
//! | [`forward`](Layer::forward), [`backward`](Layer::backward) | a batch, in a [`Pass`] (training or inference); the backward pass computes the parameter gradients and the input gradient, each only when asked |
//!
//! [`LayerRef`] and [`LayerMut`] pair a layer with its slices of a model's buffers: the
//! generated model hands them out per layer (`model.hidden()`), and the layer types add
//! statically shaped views of their parameters to them (a dense layer's `weight()` is a
//! `nalgebra` matrix view).

use super::{InputOrder, Tensor};
use crate::error::Result;
use crate::rng::Rng;

/// How a forward pass runs: the mode is a value, passed down to every layer.
#[derive(Debug)]
pub enum Pass<'a> {
    /// Training: dropout draws its masks from the generator; batch normalisation normalises
    /// with the batch's statistics and updates its running ones.
    Train(&'a mut Rng),
    /// Inference: dropout is the identity; batch normalisation uses its running statistics.
    Eval,
}

impl Pass<'_> {
    /// Whether this is a training pass.
    #[must_use]
    pub const fn is_training(&self) -> bool {
        matches!(self, Self::Train(_))
    }

    /// The random number generator of a training pass.
    pub fn rng(&mut self) -> Option<&mut Rng> {
        match self {
            Self::Train(rng) => Some(rng),
            Self::Eval => None,
        }
    }
}

impl<'a> From<Option<&'a mut Rng>> for Pass<'a> {
    /// A training pass with a generator, an inference pass without.
    fn from(rng: Option<&'a mut Rng>) -> Self {
        rng.map_or(Self::Eval, Self::Train)
    }
}

/// Where single-sample inference finds a layer's input and puts its output: `f32` values,
/// or int8 ones in a quantized model ([`quant`](crate::quant)).
#[derive(Debug)]
pub enum Io<'a, T = f32> {
    /// The input, and room for the output elsewhere.
    Separate {
        /// [`Layer::INPUT`] values.
        x: &'a [T],
        /// [`Layer::OUTPUT`] values to write.
        y: &'a mut [T],
    },
    /// The input, to be overwritten by the output: given only to layers that declare
    /// [`Layer::IN_PLACE`].
    InPlace(&'a mut [T]),
}

impl<'a, T: Copy> Io<'a, T> {
    /// The input and the output of a layer that works from one to the other.
    ///
    /// # Panics
    /// If given in place (only [`Layer::IN_PLACE`] layers get that).
    #[must_use]
    #[inline]
    pub fn split(self) -> (&'a [T], &'a mut [T]) {
        match self {
            Self::Separate { x, y } => (x, y),
            Self::InPlace(_) => panic!("this layer does not work in place"),
        }
    }

    /// The output, holding a copy of the input (`len` values): what an in-place layer
    /// transforms.
    #[inline]
    pub fn into_output(self, len: usize) -> &'a mut [T] {
        match self {
            Self::Separate { x, y } => {
                y[..len].copy_from_slice(&x[..len]);
                &mut y[..len]
            }
            Self::InPlace(v) => &mut v[..len],
        }
    }
}

/// Everything a layer's batched forward pass reads and writes; slices hold `batch` samples.
#[derive(Debug)]
pub struct Forward<'a> {
    /// The layer's parameters ([`Layer::PARAMS`] values).
    pub params: &'a [f32],
    /// The layer's non-trainable state ([`Layer::STATE`] values): read in inference; in
    /// training, updated in place (a copy, which the model takes back after the step).
    pub state: &'a mut [f32],
    /// The input.
    pub x: &'a [f32],
    /// The output, to write.
    pub y: &'a mut [f32],
    /// What the backward pass needs besides `x` and `y` ([`Layer::CACHE`] per sample).
    pub cache: &'a mut [f32],
    /// Scratch shared by all layers, at least [`Layer::batch_scratch`]`(batch)` values;
    /// its contents are not kept.
    pub scratch: &'a mut [f32],
    /// The number of samples.
    pub batch: usize,
}

/// Everything a layer's batched backward pass reads and writes, after a [`Forward`] on
/// the same input.
#[derive(Debug)]
pub struct Backward<'a> {
    /// The layer's parameters.
    pub params: &'a [f32],
    /// The layer's state as the forward pass used it.
    pub state: &'a [f32],
    /// The forward pass's input.
    pub x: &'a [f32],
    /// The forward pass's output.
    pub y: &'a [f32],
    /// What the forward pass cached.
    pub cache: &'a [f32],
    /// The gradient of the loss with respect to `y`; the layer may overwrite it.
    pub dy: &'a mut [f32],
    /// Receives the gradient with respect to `x` (overwritten), when asked.
    pub dx: Option<&'a mut [f32]>,
    /// Receives the gradient with respect to the parameters (overwritten), when asked: a
    /// frozen layer is not asked and skips that work.
    pub grads: Option<&'a mut [f32]>,
    /// Scratch shared by all layers, as for [`Forward::scratch`].
    pub scratch: &'a mut [f32],
    /// The number of samples.
    pub batch: usize,
    /// Whether the forward pass was a training pass.
    pub training: bool,
}

/// The product of `factors` as an exact count, or `None` if it overflows `u128`: how the
/// layers (in their constants) and the `model!` macro (in its checks) compute sizes, with
/// the same functions.
#[must_use]
pub const fn product(factors: &[usize]) -> Option<u128> {
    let (mut n, mut i) = (1u128, 0);
    while i < factors.len() {
        n = match n.checked_mul(factors[i] as u128) {
            Some(v) => v,
            None => return None,
        };
        i += 1;
    }
    Some(n)
}

/// `a + b`, exactly, or `None`.
#[must_use]
pub const fn sum(a: Option<u128>, b: Option<u128>) -> Option<u128> {
    match (a, b) {
        (Some(a), Some(b)) => a.checked_add(b),
        _ => None,
    }
}

/// A count as a `usize`, for a layer's constants: a compile error where it does not fit
/// (the `model!` macro reports such sizes first, on the offending layer).
///
/// # Panics
/// If `n` is `None` or above `usize::MAX`.
#[must_use]
pub const fn to_usize(n: Option<u128>) -> usize {
    match n {
        Some(v) if v <= usize::MAX as u128 => v as usize,
        _ => panic!("a layer's size does not fit a usize on this target"),
    }
}

/// A count as a `u64` (floating-point operations).
///
/// # Panics
/// If `n` is `None` or above `u64::MAX`.
#[must_use]
pub const fn to_u64(n: Option<u128>) -> u64 {
    match n {
        Some(v) if v <= u64::MAX as u128 => v as u64,
        _ => panic!("a layer's operation count does not fit a u64"),
    }
}

/// `batch * per_sample`: how many values a batch of `layer` holds, never wrapping (the
/// slices a layer hands its loops and the kernels have the batch's sizes).
///
/// # Panics
/// If the product overflows `usize`, naming `layer`.
#[track_caller]
#[must_use]
pub fn batch_values(layer: &str, batch: usize, per_sample: usize) -> usize {
    crate::kernels::size(layer, "batch * values per sample", batch, per_sample)
}

/// The layer contract (see the [module documentation](self)).
pub trait Layer: Copy + Send + Sync + 'static {
    /// Keras' name of the layer type, e.g. `"Dense"`.
    const KIND: &'static str;
    /// Values per input sample.
    const INPUT: usize;
    /// Values per output sample.
    const OUTPUT: usize;
    /// Trainable parameters.
    const PARAMS: usize = 0;
    /// Values of non-trainable state.
    const STATE: usize = 0;
    /// Floating-point operations of one sample's inference: multiply-adds, each counted
    /// twice (pooling's comparisons and averages are not counted, as common FLOP counters
    /// do); a `u64`, since a model that fits a 32-bit target can still count more than 2^32.
    const FLOPS: u64 = 0;
    /// Values single-sample inference needs besides its input and output.
    const SCRATCH: usize = 0;
    /// Whether single-sample inference can write its output over its input ([`Io::InPlace`]).
    const IN_PLACE: bool = false;
    /// Whether the layer only reinterprets its input (`Flatten`): its output *is* its input,
    /// and it is never called.
    const RESHAPE: bool = false;
    /// Values per sample that a batched forward pass keeps for the backward pass, besides
    /// the input and the output.
    const CACHE: usize = 0;
    /// The layer's tensors in weight files, in buffer order.
    const TENSORS: &'static [Tensor] = &[];
    /// `Some(n)` when the layer's input values are token ids in `0..n` (an embedding's
    /// `input_dim`) rather than measurements: gradient checks and tests draw such inputs
    /// from the ids, and [`check_input`](Self::check_input) rejects anything else.
    const IDS: Option<usize> = None;

    /// Scratch the batched passes need for `batch` samples, shared by all layers.
    #[must_use]
    fn batch_scratch(batch: usize) -> usize {
        let _ = batch;
        0
    }

    /// Keras' initialisation of the parameters and state, reproducible from `rng`.
    fn init(&self, params: &mut [f32], state: &mut [f32], rng: &mut Rng) {
        let _ = (params, state, rng);
    }

    /// Checks that `x` (one or more samples) is an input the layer can take.
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) naming the first bad value.
    fn check_input(&self, x: &[f32]) -> Result<()> {
        let _ = x;
        Ok(())
    }

    /// Inference for one sample. Allocation-free; `scratch` holds [`Self::SCRATCH`] values.
    fn infer(&self, params: &[f32], state: &[f32], io: Io<'_>, scratch: &mut [f32]);

    /// Forward pass of a batch.
    fn forward(&self, f: Forward<'_>, pass: &mut Pass<'_>);

    /// Backward pass of a batch.
    fn backward(&self, b: Backward<'_>);

    /// Backward pass of a batch that also takes an optimizer step on the layer's
    /// parameters (a layer with parameters, in a training step that updates as it goes:
    /// see [`ParamUpdate`](crate::kernels::ParamUpdate)). `b.params` is empty and
    /// `b.grads` is `None`: the parameters, room for their gradient and the update are in
    /// `u`. The input gradient `b.dx`, when asked, is that of the parameters before the
    /// update. The default runs [`backward`](Self::backward) with the gradient into
    /// `u.grads`, adds `u.prev` and applies the update; a layer may do better (the dense
    /// layer updates its weights tile by tile as their gradient is computed, never storing
    /// it).
    #[cfg(feature = "alloc")]
    fn backward_update(&self, b: Backward<'_>, u: LayerUpdate<'_>) {
        let LayerUpdate {
            params,
            grads,
            prev,
            mut update,
        } = u;
        let Backward {
            state,
            x,
            y,
            cache,
            dy,
            dx,
            scratch,
            batch,
            training,
            ..
        } = b;
        self.backward(Backward {
            params: &*params,
            state,
            x,
            y,
            cache,
            dy,
            dx,
            grads: Some(&mut *grads),
            scratch,
            batch,
            training,
        });
        if let Some(prev) = prev {
            for (g, p) in grads.iter_mut().zip(prev) {
                *g += *p;
            }
        }
        update.apply(params, grads);
    }
}

/// A layer's parameters and the optimizer step on them, for [`Layer::backward_update`].
#[cfg(feature = "alloc")]
#[derive(Debug)]
pub struct LayerUpdate<'a> {
    /// The layer's parameters ([`Layer::PARAMS`] values), updated in place.
    pub params: &'a mut [f32],
    /// Room for the layer's parameter gradient (as many values); its content afterwards is
    /// unspecified.
    pub grads: &'a mut [f32],
    /// The gradient accumulated by earlier backward passes, added to this pass's before
    /// the update (`None`: this pass's alone).
    pub prev: Option<&'a [f32]>,
    /// The optimizer's step over these parameters.
    pub update: crate::kernels::ParamUpdate<'a>,
}

/// The layer at position `I` of a model generated by `model!`: its type, named once (with
/// the layer's description in the documentation of the implementation), its value, its name
/// and where its parameters and state are. The model's accessors (`model.hidden()`) return
/// a [`LayerRef`] of it.
pub trait LayerAt<const I: usize> {
    /// The layer's type, e.g. `Dense<20, 64, Relu>`.
    type Layer: Layer;
    /// The layer (its configuration: activation, rate, epsilon...).
    const LAYER: Self::Layer;
    /// Its name: the user's label or `<kind>_<n>`, the prefix of its tensors' names.
    const NAME: &'static str;
    /// First index of its parameters in the model's flat buffer.
    const PARAMS_AT: usize;
    /// First index of its state in the model's state buffer.
    const STATE_AT: usize = 0;
    /// How PyTorch orders the values it reads, relative to `nn`.
    const INPUT_ORDER: InputOrder = InputOrder::Rows;
}

/// One layer of a model, as weight files, summaries and checks see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayerInfo {
    /// The layer's name: the user's label or `<kind>_<n>` (the prefix of its tensor names).
    pub name: &'static str,
    /// Keras' name of the layer type.
    pub kind: &'static str,
    /// First index of its parameters in the model's flat buffer.
    pub params: usize,
    /// Number of its parameters.
    pub params_len: usize,
    /// First index of its state in the model's state buffer.
    pub state: usize,
    /// Number of its state values.
    pub state_len: usize,
    /// Its tensors in weight files ([`Layer::TENSORS`]).
    pub tensors: &'static [Tensor],
    /// How PyTorch orders the values it reads, relative to `nn` (channel-first after
    /// `Flatten` of an image).
    pub input_order: InputOrder,
    /// What single-sample inference needs of it.
    pub step: Step,
    /// `Some(n)` when it takes token ids in `0..n` ([`Layer::IDS`]).
    pub ids: Option<usize>,
}

impl LayerInfo {
    /// A layer of type `L` named `name`, whose parameters start at `params` and state at
    /// `state` in the model's buffers (for a model written by hand).
    #[must_use]
    pub const fn of<L: Layer>(
        name: &'static str,
        params: usize,
        state: usize,
        input_order: InputOrder,
    ) -> Self {
        Self {
            name,
            kind: L::KIND,
            params,
            params_len: L::PARAMS,
            state,
            state_len: L::STATE,
            tensors: L::TENSORS,
            input_order,
            step: Step::of::<L>(),
            ids: L::IDS,
        }
    }

    /// The layer `I` of the generated model `M`.
    #[must_use]
    pub const fn at<M: LayerAt<I>, const I: usize>() -> Self {
        Self::of::<M::Layer>(M::NAME, M::PARAMS_AT, M::STATE_AT, M::INPUT_ORDER)
    }
}

/// What single-sample inference needs of one layer: its sizes and how it uses the scratch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    /// Values in.
    pub input: usize,
    /// Values out.
    pub output: usize,
    /// Scratch of its own ([`Layer::SCRATCH`]).
    pub scratch: usize,
    /// Whether it works in place ([`Layer::IN_PLACE`]).
    pub in_place: bool,
    /// Whether it only reinterprets its input ([`Layer::RESHAPE`]).
    pub reshape: bool,
}

impl Step {
    /// The step of layer type `L`.
    #[must_use]
    pub const fn of<L: Layer>() -> Self {
        Self {
            input: L::INPUT,
            output: L::OUTPUT,
            scratch: L::SCRATCH,
            in_place: L::IN_PLACE,
            reshape: L::RESHAPE,
        }
    }

    /// Scratch values the step needs: its own scratch, its output, and its input unless it
    /// is the caller's (`from_input`) or the layer works in place. A reshape needs nothing.
    #[must_use]
    pub const fn need(&self, from_input: bool) -> usize {
        if self.reshape {
            0
        } else if self.in_place || from_input {
            self.output + self.scratch
        } else {
            self.input + self.output + self.scratch
        }
    }
}

/// A layer with its slices of a model's parameters and state: what the generated model's
/// per-layer accessors (`model.hidden()`) return. Layer types add views of their tensors
/// (e.g. [`Dense`](crate::layers::Dense)'s `weight()` and `bias()`).
#[derive(Clone, Copy, Debug)]
pub struct LayerRef<'a, L> {
    /// The layer.
    pub layer: L,
    /// Its parameters.
    pub params: &'a [f32],
    /// Its state.
    pub state: &'a [f32],
}

impl<'a, L: Layer> LayerRef<'a, L> {
    /// The layer `I` of the model `M`, with its slices of the model's `params` and `state`.
    ///
    /// # Panics
    /// If a buffer is shorter than the layer's range.
    #[must_use]
    pub fn at<M: LayerAt<I, Layer = L>, const I: usize>(
        params: &'a [f32],
        state: &'a [f32],
    ) -> Self {
        Self {
            layer: M::LAYER,
            params: &params[M::PARAMS_AT..M::PARAMS_AT + L::PARAMS],
            state: &state[M::STATE_AT..M::STATE_AT + L::STATE],
        }
    }

    /// Pairs `layer` with its slices.
    ///
    /// # Panics
    /// If a slice does not hold the layer's [`PARAMS`](Layer::PARAMS) or
    /// [`STATE`](Layer::STATE) values.
    #[must_use]
    pub fn new(layer: L, params: &'a [f32], state: &'a [f32]) -> Self {
        assert!(
            params.len() == L::PARAMS && state.len() == L::STATE,
            "{}: {} parameters and {} state values given, {} and {} expected",
            L::KIND,
            params.len(),
            state.len(),
            L::PARAMS,
            L::STATE
        );
        Self {
            layer,
            params,
            state,
        }
    }

    /// Inference for one sample (see [`Layer::infer`]).
    pub fn infer(&self, io: Io<'_>, scratch: &mut [f32]) {
        self.layer.infer(self.params, self.state, io, scratch);
    }

    /// Checks an input (see [`Layer::check_input`]).
    ///
    /// # Errors
    /// As [`Layer::check_input`].
    pub fn check_input(&self, x: &[f32]) -> Result<()> {
        self.layer.check_input(x)
    }
}

/// A layer with its slices of a model's parameters and state, mutably.
#[derive(Debug)]
pub struct LayerMut<'a, L> {
    /// The layer.
    pub layer: L,
    /// Its parameters.
    pub params: &'a mut [f32],
    /// Its state.
    pub state: &'a mut [f32],
}

impl<'a, L: Layer> LayerMut<'a, L> {
    /// The layer `I` of the model `M`, with its slices of the model's `params` and `state`.
    ///
    /// # Panics
    /// If a buffer is shorter than the layer's range.
    #[must_use]
    pub fn at<M: LayerAt<I, Layer = L>, const I: usize>(
        params: &'a mut [f32],
        state: &'a mut [f32],
    ) -> Self {
        Self {
            layer: M::LAYER,
            params: &mut params[M::PARAMS_AT..M::PARAMS_AT + L::PARAMS],
            state: &mut state[M::STATE_AT..M::STATE_AT + L::STATE],
        }
    }

    /// Pairs `layer` with its slices.
    ///
    /// # Panics
    /// As [`LayerRef::new`].
    #[must_use]
    pub fn new(layer: L, params: &'a mut [f32], state: &'a mut [f32]) -> Self {
        assert!(
            params.len() == L::PARAMS && state.len() == L::STATE,
            "{}: {} parameters and {} state values given, {} and {} expected",
            L::KIND,
            params.len(),
            state.len(),
            L::PARAMS,
            L::STATE
        );
        Self {
            layer,
            params,
            state,
        }
    }

    /// Re-initialises the layer (see [`Layer::init`]).
    pub fn init(&mut self, rng: &mut Rng) {
        self.layer.init(self.params, self.state, rng);
    }
}
