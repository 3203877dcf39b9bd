//! Beyond `fit`: your own training loop, PyTorch style, with gradients with respect to a
//! model's input and models that feed each other (GANs, adversarial examples, saliency maps,
//! custom losses).
//!
//! | PyTorch | nn |
//! |---|---|
//! | `opt.zero_grad()` | [`grads.zero()`](Gradients::zero) |
//! | `out = model(x)` (training mode) | [`ws.forward(&model, &x, Pass::Train(&mut rng))`](Workspace::forward) |
//! | `loss = loss_fn(out, y)` | [`ws.loss(&loss_fn, &y)`](Workspace::loss): the value, and the gradient kept in `ws` |
//! | `loss.backward()` | [`ws.backward(&model, &mut grads)`](Workspace::backward) |
//! | `x.grad` (with `x.requires_grad_()`) | [`ws.backward_input(&model, Some(&mut grads))`](Workspace::backward_input) returns it |
//! | a frozen model (`requires_grad_(False)` on its parameters) | [`ws.backward_input(&model, None)`](Workspace::backward_input): no parameter-gradient work at all |
//! | `out.backward(grad)` | [`ws.set_output_gradient(&grad)`](Workspace::set_output_gradient), then a backward |
//! | `opt.step()` | [`opt.apply(&mut model, &grads)`](Apply::apply) |
//! | `loss.backward(); opt.step()` | [`ws.backward_step(&mut model, &grads, &mut opt)`](Workspace::backward_step): the same update, fused into the backward pass |
//!
//! A [`Workspace`] holds the buffers of one model's passes (its [`Tape`], a copy of the
//! batch, the outputs and their gradient); [`Gradients`] holds a model's parameter
//! gradients, typed by the model so that one model's gradients cannot be applied to another.
//! Both grow to the largest batch seen and are then reused: after the first step, a step
//! allocates nothing. Each model keeps its own optimizer (Adam's moments are sized to its
//! parameters on the first step).
//!
//! ```
//! use nn_core::layers::Pass;
//! use nn_core::loss::Loss;
//! use nn_core::optim::Adam;
//! use nn_core::rng::Rng;
//! use nn_core::train::{Apply, Gradients, Workspace};
//! # use nn_core::{model::{LayerInfo, Model}, layers::{Dense, LayerRef}, tape::Tape};
//! # use nn_core::{activations::Linear, layers::{InputOrder, Layer}};
//! # // A hand-written one-layer model; users get this from `model!`.
//! # struct Line(Vec<f32>);
//! # impl Line { fn dense(&self) -> LayerRef<'_, Dense<1, 1>> { LayerRef::new(Dense::new(Linear), &self.0, &[]) } }
//! # impl Model for Line {
//! #     const NAME: &'static str = "Line"; const INPUT_SHAPE: &'static [usize] = &[1];
//! #     const INPUT: usize = 1; const OUTPUT: usize = 1; const PARAMS: usize = 2;
//! #     const LAYERS: &'static [LayerInfo] = &[LayerInfo::of::<Dense<1, 1>>("dense", 0, 0, InputOrder::Rows)];
//! #     type OutputActivation = Linear;
//! #     const OUTPUT_ACTIVATION: Linear = Linear;
//! #     fn init(_: u64) -> Self { Line(vec![0.0; 2]) }
//! #     fn params(&self) -> &[f32] { &self.0 }
//! #     fn params_mut(&mut self) -> &mut [f32] { &mut self.0 }
//! #     fn forward_batch<'t>(&self, tape: &'t mut Tape, x: &[f32], b: usize, pass: Pass<'_>) -> &'t [f32] {
//! #         let mut run = tape.forward(x, b, &[], pass); run.layer(self.dense()); run.finish() }
//! #     fn backward_batch(&self, tape: &mut Tape, x: &[f32], d: &mut [f32], g: Option<&mut [f32]>, dx: Option<&mut [f32]>) {
//! #         tape.backward(x, d, g, dx).layer(self.dense()) }
//! # }
//! // y = 2x + 1
//! let x: Vec<f32> = (0..64).map(|i| i as f32 / 64.0).collect();
//! let y: Vec<f32> = x.iter().map(|x| 2.0 * x + 1.0).collect();
//! let mut model = Line::init(0);
//! let (mut ws, mut grads) = (Workspace::new(), Gradients::new());
//! let (mut opt, mut rng) = (Adam::new(0.1), Rng::new(0));
//! let mut loss = f32::NAN;
//! for _ in 0..500 {
//!     grads.zero();
//!     ws.forward(&model, &x, Pass::Train(&mut rng))?;
//!     loss = ws.loss(&Loss::MeanSquaredError, &y)?;
//!     ws.backward(&model, &mut grads);
//!     opt.apply(&mut model, &grads);
//! }
//! assert!(loss < 1e-3);
//!
//! // The gradient of the loss with respect to the input: d/dx (2x + 1 - y)^2 / n.
//! ws.forward(&model, &[0.5], Pass::Eval)?;
//! ws.loss(&Loss::MeanSquaredError, &[3.0])?;
//! let dx = ws.backward_input(&model, None);
//! let w = model.params()[0];
//! assert!((dx[0] - 2.0 * (w * 0.5 + model.params()[1] - 3.0) * w).abs() < 1e-5);
//! # Ok::<(), nn_core::Error>(())
//! ```
//!
//! # Models that feed each other
//!
//! The output of one model is the input of the next ([`Workspace::outputs`]); going back,
//! the second model's input gradient becomes the first one's output gradient
//! ([`Workspace::set_output_gradient`]), which the first model's output activation carries
//! to its logits. [`check_chain`] checks the shapes at compile time:
//!
//! ```ignore
//! const _: () = nn::train::check_chain::<Generator, Discriminator>();
//! // The generator's step, the discriminator frozen:
//! g_ws.forward(&g, &z, Pass::Train(&mut rng))?;
//! d_ws.forward(&d, g_ws.outputs(), Pass::Train(&mut rng))?;
//! d_ws.loss(&Loss::BinaryCrossentropy, &ones)?;
//! let dx = d_ws.backward_input(&d, None); // no work on the discriminator's parameters
//! g_ws.set_output_gradient(dx)?;
//! g_ws.backward(&g, &mut g_grads);
//! g_opt.apply(&mut g, &g_grads);
//! ```

use alloc::vec::Vec;
use core::marker::PhantomData;

use crate::activations::ActivationFn;
use crate::error::{check_finite, Error, Result};
use crate::layers::Pass;
use crate::loss::{backward_through, LossFn};
use crate::model::Model;
use crate::optim::Optimizer;
use crate::tape::Tape;

/// The parameter gradients of a model of type `M` (`M::PARAMS` values), accumulated by
/// backward passes as PyTorch's `.grad` is: [`zero`](Self::zero) them before a step.
pub struct Gradients<M: Model> {
    values: Vec<f32>,
    /// Whether every value is zero: the next backward pass writes instead of adding.
    zeroed: bool,
    model: PhantomData<fn() -> M>,
}

impl<M: Model> Gradients<M> {
    /// Zero gradients for every parameter of `M`.
    #[must_use]
    pub fn new() -> Self {
        Self {
            values: alloc::vec![0.0; M::PARAMS],
            zeroed: true,
            model: PhantomData,
        }
    }

    /// Sets every gradient to zero (PyTorch's `zero_grad`). Free when nothing was added
    /// since the last call: the next backward pass then writes its gradients directly.
    pub fn zero(&mut self) {
        if !self.zeroed {
            self.values.fill(0.0);
            self.zeroed = true;
        }
    }

    /// The gradients, in the layout of [`Model::params`].
    #[must_use]
    pub fn as_slice(&self) -> &[f32] {
        &self.values
    }

    /// The gradients, mutably (to clip or scale them by hand).
    pub fn as_mut_slice(&mut self) -> &mut [f32] {
        self.zeroed = false;
        &mut self.values
    }

    /// The Euclidean norm of all gradients together.
    #[must_use]
    pub fn norm(&self) -> f32 {
        let sum: f64 = self
            .values
            .iter()
            .map(|g| f64::from(*g) * f64::from(*g))
            .sum();
        #[allow(clippy::cast_possible_truncation)]
        let norm = libm::sqrt(sum) as f32;
        norm
    }
}

impl<M: Model> Default for Gradients<M> {
    fn default() -> Self {
        Self::new()
    }
}

impl<M: Model> Clone for Gradients<M> {
    fn clone(&self) -> Self {
        Self {
            values: self.values.clone(),
            zeroed: self.zeroed,
            model: PhantomData,
        }
    }
}

impl<M: Model> core::fmt::Debug for Gradients<M> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Gradients")
            .field("model", &M::NAME)
            .field("len", &self.values.len())
            .field("norm", &self.norm())
            .finish()
    }
}

/// Where a [`Workspace`] stands between the calls of a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// No forward pass yet.
    Empty,
    /// After a forward pass: a loss or an output gradient may follow.
    Forward,
    /// The gradient with respect to the logits is ready for one backward pass.
    Gradient,
}

/// The reusable buffers of one model's passes in a training loop of your own (see the
/// [module docs](self)): a forward pass, a loss or a gradient from elsewhere, a backward pass
/// that fills parameter gradients and, when asked, returns the input gradient.
pub struct Workspace<M: Model> {
    tape: Tape,
    /// A copy of the batch of the last forward pass (the backward pass reads it).
    x: Vec<f32>,
    logits: Vec<f32>,
    outputs: Vec<f32>,
    /// The gradient with respect to the logits (consumed by the backward pass).
    d_logits: Vec<f32>,
    /// The gradient with respect to the input of the last backward pass that asked for it.
    dx: Vec<f32>,
    /// Parameter gradients of one pass, before they are added to [`Gradients`] that already
    /// hold some.
    partial: Vec<f32>,
    batch: usize,
    stage: Stage,
    model: PhantomData<fn() -> M>,
}

impl<M: Model> Default for Workspace<M> {
    fn default() -> Self {
        Self::new()
    }
}

impl<M: Model> core::fmt::Debug for Workspace<M> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Workspace")
            .field("model", &M::NAME)
            .field("batch", &self.batch)
            .field("stage", &self.stage)
            .finish_non_exhaustive()
    }
}

impl<M: Model> Workspace<M> {
    /// An empty workspace; its buffers grow on first use.
    #[must_use]
    pub fn new() -> Self {
        Self {
            tape: Tape::new(),
            x: Vec::new(),
            logits: Vec::new(),
            outputs: Vec::new(),
            d_logits: Vec::new(),
            dx: Vec::new(),
            partial: Vec::new(),
            batch: 0,
            stage: Stage::Empty,
            model: PhantomData,
        }
    }

    /// Forward pass of the batch `x` (whole samples of `M::INPUT` values) through `model` in
    /// the mode `pass` (`Pass::Train(&mut rng)`: dropout active, batch normalisation on the
    /// batch's statistics; `Pass::Eval`: inference). Returns the outputs, after the output
    /// activation (`M::OUTPUT` values per sample); the logits stay available
    /// ([`logits`](Self::logits)).
    ///
    /// # Errors
    /// An empty batch, a length that is not whole samples, a NaN or infinite value, or an
    /// input the model cannot take ([`Model::check_input`]). After a NaN or infinite value
    /// or an input the model cannot take, there is no pass to go backward from: run a
    /// forward pass again before [`loss`](Self::loss) or a backward pass.
    pub fn forward(&mut self, model: &M, x: &[f32], pass: Pass<'_>) -> Result<&[f32]> {
        let batch = crate::error::rows("x", x, M::INPUT)?;
        // The input copied and checked in one pass; a bad one leaves no pass to go
        // backward from (the copy replaced the last pass's input). The buffer only grows:
        // batches of two sizes in turn (a GAN's discriminator) are not zero-filled each time.
        if self.x.len() < x.len() {
            self.x.resize(x.len(), 0.0);
        }
        if let Some(index) = crate::kernels::copy_finite(x, &mut self.x[..x.len()]) {
            self.stage = Stage::Empty;
            return Err(Error::NonFinite { what: "x", index });
        }
        if let Err(e) = model.check_input(x) {
            self.stage = Stage::Empty;
            return Err(e);
        }
        let logits = model.forward_batch(&mut self.tape, &self.x[..x.len()], batch, pass);
        finish_outputs::<M>(logits, &mut self.logits, &mut self.outputs);
        self.batch = batch;
        self.stage = Stage::Forward;
        Ok(&self.outputs)
    }

    /// The number of samples of the last forward pass.
    #[must_use]
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// The input of the last forward pass.
    #[must_use]
    pub fn input(&self) -> &[f32] {
        &self.x[..self.batch * M::INPUT]
    }

    /// The logits of the last forward pass (before the output activation).
    #[must_use]
    pub fn logits(&self) -> &[f32] {
        &self.logits
    }

    /// The outputs of the last forward pass (after the output activation).
    #[must_use]
    pub fn outputs(&self) -> &[f32] {
        &self.outputs
    }

    /// The mean loss of the last forward pass's outputs against `targets`, with any loss
    /// (a built-in [`Loss`](crate::loss::Loss) or your own [`LossFn`]); keeps its gradient
    /// with respect to the logits for the next backward pass. The value is returned even
    /// when it is not finite (check it, as `fit` does, if the training may diverge).
    ///
    /// # Errors
    /// Targets that are not [`target_width`](LossFn::target_width) values per sample of the
    /// batch, not finite, or outside the loss's domain ([`LossFn::check_targets`]).
    ///
    /// # Panics
    /// If no forward pass ran.
    pub fn loss<L: LossFn>(&mut self, loss: &L, targets: &[f32]) -> Result<f32> {
        assert!(
            self.stage != Stage::Empty,
            "Workspace::loss: run `forward` first"
        );
        let width = loss.target_width(M::OUTPUT);
        let samples = crate::error::rows("y", targets, width)?;
        if samples != self.batch {
            return Err(Error::SampleCountMismatch {
                x: self.batch,
                y: samples,
            });
        }
        check_finite("y", targets)?;
        loss.check_targets(targets, M::OUTPUT)?;
        self.d_logits.clear();
        self.d_logits.resize(self.logits.len(), 0.0);
        let value = loss.forward_backward(
            &M::OUTPUT_ACTIVATION,
            &self.logits,
            &self.outputs,
            targets,
            M::OUTPUT,
            &mut self.d_logits,
        );
        self.stage = Stage::Gradient;
        Ok(value)
    }

    /// Sets the gradient with respect to the outputs of the last forward pass to
    /// `d_outputs` (PyTorch's `out.backward(grad)`): the input gradient of a model this one
    /// feeds, say. The output activation carries it to the logits.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when `d_outputs` is not as long as the outputs.
    ///
    /// # Panics
    /// If no forward pass ran.
    pub fn set_output_gradient(&mut self, d_outputs: &[f32]) -> Result<()> {
        assert!(
            self.stage != Stage::Empty,
            "Workspace::set_output_gradient: run `forward` first"
        );
        if d_outputs.len() != self.outputs.len() {
            return Err(Error::InvalidArgument {
                name: "d_outputs",
                reason: "the output gradient must have one value per output of the last \
                         forward pass (batch * OUTPUT)",
            });
        }
        let activation = M::OUTPUT_ACTIVATION;
        let (logits, outputs, width) = (&self.logits[..], &self.outputs[..], M::OUTPUT);
        self.d_logits.resize(d_outputs.len(), 0.0);
        if activation.elementwise() {
            // As in `finish_outputs`: the copy and the activation's derivative in parts.
            let work = width.saturating_mul(crate::kernels::ELEMENTWISE_WORK);
            crate::kernels::par_rows(&mut self.d_logits, width, work, &|first, part| {
                let at = first * width..first * width + part.len();
                crate::kernels::copy(&d_outputs[at.clone()], part);
                let x = if <M::OutputActivation as ActivationFn>::USES_INPUT {
                    &logits[at.clone()]
                } else {
                    &[]
                };
                let (y, n) = (&outputs[at], part.len());
                crate::kernels::vectorized(|| activation.backward(x, y, part, n));
            });
        } else {
            crate::kernels::copy(d_outputs, &mut self.d_logits);
            backward_through(&activation, logits, outputs, &mut self.d_logits, width);
        }
        self.stage = Stage::Gradient;
        Ok(())
    }

    /// Backward pass: adds the gradient of every parameter to `grads` (PyTorch's
    /// `loss.backward()`, which accumulates; [`Gradients::zero`] first for a fresh step).
    ///
    /// # Panics
    /// If no [`loss`](Self::loss) or [`set_output_gradient`](Self::set_output_gradient)
    /// came since the last forward or backward pass (the gradient is used up by a backward
    /// pass, as PyTorch frees its graph).
    pub fn backward(&mut self, model: &M, grads: &mut Gradients<M>) {
        self.run_backward(model, Some(grads), false);
    }

    /// Backward pass that also returns the gradient with respect to the input of the last
    /// forward pass (`batch * M::INPUT` values). With `grads`, adds the parameter gradients
    /// to them as [`backward`](Self::backward) does; with `None` the model is frozen: the
    /// gradient flows through it, and no layer computes its parameter gradients.
    ///
    /// # Panics
    /// As [`backward`](Self::backward).
    pub fn backward_input(&mut self, model: &M, grads: Option<&mut Gradients<M>>) -> &[f32] {
        self.run_backward(model, grads, true);
        &self.dx[..self.batch * M::INPUT]
    }

    /// The input gradient of the last [`backward_input`](Self::backward_input).
    #[must_use]
    pub fn input_gradient(&self) -> &[f32] {
        &self.dx[..(self.batch * M::INPUT).min(self.dx.len())]
    }

    /// [`backward`](Self::backward) and [`opt.apply`](Apply::apply) in one pass: the
    /// gradient of this pass plus `grads` (what earlier passes accumulated since
    /// [`Gradients::zero`]; zero gradients for none) is applied by `opt` as PyTorch's
    /// `loss.backward(); opt.step()` would, with the same parameters as those two calls.
    /// With an optimizer that updates element by element (Adam, AdamW and RMSprop without
    /// `clip_norm`: [`Optimizer::begin_update`]), each layer's parameters are updated as
    /// soon as its gradient is complete, a dense layer's weights tile by tile while their
    /// gradient is in registers: the gradient is never written out and read back, and the
    /// optimizer's pass costs less. `grads` is read, not changed (this pass's gradient is
    /// not kept: call [`backward`](Self::backward) and [`Apply::apply`] to see it).
    pub fn backward_step<O: Optimizer + ?Sized>(
        &mut self,
        model: &mut M,
        grads: &Gradients<M>,
        opt: &mut O,
    ) {
        assert!(
            self.stage == Stage::Gradient,
            "Workspace::backward_step: no gradient to propagate; call `loss` or \
             `set_output_gradient` after `forward` (once per backward pass)"
        );
        self.stage = Stage::Forward;
        self.partial.resize(M::PARAMS, 0.0);
        let x = &self.x[..self.batch * M::INPUT];
        let prev = (!grads.zeroed).then_some(&grads.values[..]);
        match opt.begin_update(M::PARAMS) {
            Some(update) => model.backward_update(
                &mut self.tape,
                x,
                &mut self.d_logits,
                None,
                &mut self.partial,
                prev,
                update,
            ),
            None => {
                let partial = &mut self.partial[..];
                model.backward_batch(
                    &mut self.tape,
                    x,
                    &mut self.d_logits,
                    Some(&mut *partial),
                    None,
                );
                if let Some(prev) = prev {
                    for (g, p) in partial.iter_mut().zip(prev) {
                        *g += *p;
                    }
                }
                opt.step(model.params_mut(), partial);
            }
        }
    }

    fn run_backward(&mut self, model: &M, grads: Option<&mut Gradients<M>>, input: bool) {
        assert!(
            self.stage == Stage::Gradient,
            "Workspace::backward: no gradient to propagate; call `loss` or \
             `set_output_gradient` after `forward` (once per backward pass)"
        );
        self.stage = Stage::Forward;
        let dx = if input {
            self.dx.resize(self.batch * M::INPUT, 0.0);
            Some(&mut self.dx[..self.batch * M::INPUT])
        } else {
            None
        };
        let x = &self.x[..self.batch * M::INPUT];
        match grads {
            None => model.backward_batch(&mut self.tape, x, &mut self.d_logits, None, dx),
            Some(g) if g.zeroed => {
                model.backward_batch(
                    &mut self.tape,
                    x,
                    &mut self.d_logits,
                    Some(&mut g.values),
                    dx,
                );
                g.zeroed = false;
            }
            Some(g) => {
                self.partial.resize(M::PARAMS, 0.0);
                model.backward_batch(
                    &mut self.tape,
                    x,
                    &mut self.d_logits,
                    Some(&mut self.partial),
                    dx,
                );
                for (g, p) in g.values.iter_mut().zip(&self.partial) {
                    *g += p;
                }
            }
        }
    }

    /// Gives `model` the state its last training-mode forward pass computed (batch
    /// normalisation's running statistics), as `fit` does after each step; nothing for
    /// models without such state, or after an inference pass.
    pub fn update_state(&self, model: &mut M) {
        model.update_state(&self.tape);
    }
}

/// `optimizer.apply(&mut model, &grads)`: one optimizer step on a whole model (PyTorch's
/// `opt.step()`), for every [`Optimizer`].
///
/// Implemented for every optimizer; `use nn::prelude::*` brings it into scope.
pub trait Apply: Optimizer {
    /// Updates `model`'s parameters from `grads` ([`Optimizer::step`] on its flat buffers).
    /// The settings are assumed valid: call [`Optimizer::validate`] once before the loop
    /// to turn a bad setting into an error.
    fn apply<M: Model>(&mut self, model: &mut M, grads: &Gradients<M>) {
        self.step(model.params_mut(), grads.as_slice());
    }
}

impl<O: Optimizer + ?Sized> Apply for O {}

/// Checks at compile time that model `A`'s output can feed model `B`'s input
/// (`A::OUTPUT == B::INPUT`): write `const _: () = check_chain::<A, B>();` beside the two
/// models, and a mismatch is a compile error at that line:
///
/// ```ignore
/// nn::model! { pub struct Generator { input: 4, out: Dense(6, tanh) } }
/// nn::model! { pub struct Discriminator { input: 5, out: Dense(1) } }
/// const _: () = nn::train::check_chain::<Generator, Discriminator>();
/// // error[E0080]: evaluation panicked: check_chain::<A, B>(): the first model's OUTPUT is
/// //               not the second model's INPUT, so the first cannot feed the second; ...
/// ```
///
/// # Panics
/// At compile time (in a `const`), when the sizes differ.
pub const fn check_chain<A: Model, B: Model>() {
    assert!(
        A::OUTPUT == B::INPUT,
        "check_chain::<A, B>(): the first model's OUTPUT is not the second model's INPUT, so \
         the first cannot feed the second; compare their `OUTPUT` and `INPUT` constants"
    );
}

/// Copies a forward pass's `logits` into `kept` and `outputs` (both resized to them) and
/// applies the model's output activation to `outputs`: an element-wise one in parts on
/// the pool's threads, each part copied and finished in cache (a generator's tanh over a
/// batch of images is a pass worth splitting), softmax on the whole rows.
fn finish_outputs<M: Model>(logits: &[f32], kept: &mut Vec<f32>, outputs: &mut Vec<f32>) {
    let activation = M::OUTPUT_ACTIVATION;
    kept.resize(logits.len(), 0.0);
    outputs.resize(logits.len(), 0.0);
    if activation.elementwise() {
        // An activation costs a few copies of its values (tanh, sigmoid): worth splitting
        // from tens of thousands of values on.
        let work = M::OUTPUT.saturating_mul(crate::kernels::ELEMENTWISE_WORK);
        let width = M::OUTPUT;
        crate::kernels::par_rows2(outputs, width, kept, width, work, &|first, out, keep| {
            let from = &logits[first * width..first * width + out.len()];
            crate::kernels::copy(from, keep);
            crate::kernels::copy(from, out);
            crate::kernels::vectorized(|| activation.forward(out, out.len()));
        });
    } else {
        crate::kernels::copy(logits, kept);
        crate::kernels::copy(logits, outputs);
        activation.forward(outputs, M::OUTPUT);
    }
}
