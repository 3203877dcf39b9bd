//! Training with Keras semantics: [`Trainer::fit`], [`Trainer::evaluate`],
//! [`Trainer::predict`], callbacks ([`EarlyStopping`]) and a [`History`].
//!
//! A [`Trainer`] is what Keras calls a compiled model: the network, an optimizer, a loss and
//! metrics, plus the reusable buffers of a training step. After the first step of a given
//! batch size, a step allocates nothing.
//!
//! Beyond `fit` (GANs, adversarial examples, saliency maps, several models or losses in one
//! step), write the loop yourself, PyTorch style: [`Workspace`] (a model's forward and
//! backward passes, a loss, input gradients), [`Gradients`] and [`Apply`]
//! (`optimizer.apply(&mut model, &grads)`); see the [`workspace`] module.
//!
//! ```
//! use nn_core::{loss::Loss, metrics::Metric, optim::Sgd, train::{Fit, Trainer, Verbose}};
//! # use nn_core::{model::{LayerInfo, Model}, layers::{Dense, LayerRef, Pass}, tape::Tape};
//! # use nn_core::{activations::Linear, layers::{InputOrder, Layer}, rng::Rng};
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
//! let mut trainer = Trainer::new(Line::init(0), Sgd::new(0.5), Loss::MeanSquaredError);
//! let history = trainer.fit(&x, &y, Fit::new().epochs(200).batch_size(16).verbose(Verbose::Silent))?;
//! assert!(history.last("loss").unwrap() < 1e-4);
//! # Ok::<(), nn_core::Error>(())
//! ```

mod batch;
pub mod callbacks;
mod check;
mod dataset;
mod evaluate;
mod fit;
pub(crate) mod history;
mod progress;
mod trainer;
pub mod workspace;

pub use callbacks::{
    Callback, Context, Control, EarlyStopping, LearningRateScheduler, Logs, Mode,
    ReduceLROnPlateau, StepSchedule, TerminateOnNaN,
};
#[cfg(feature = "std")]
pub use callbacks::{CsvLogger, ModelCheckpoint};
pub use check::check_data;
pub use dataset::classes_of;
pub use evaluate::Evaluation;
pub use fit::Fit;
pub use history::History;
pub use progress::Verbose;
pub use trainer::{predict_with, Trainer};
pub use workspace::{check_chain, Apply, Gradients, Workspace};

use crate::loss::LossFn;
use crate::model::Model;
use crate::optim::Optimizer;

/// Keras' `compile` as a method of every [`Model`]: `model.compile(optimizer, loss)`.
///
/// Implemented for every model; `use nn::prelude::*` brings it into scope.
pub trait Compile: Model {
    /// Pairs the model with an optimizer and a loss (a built-in [`Loss`](crate::loss::Loss)
    /// or your own [`LossFn`]) for training: the same as [`Trainer::new`].
    fn compile<O: Optimizer, L: LossFn>(self, optimizer: O, loss: L) -> Trainer<Self, O, L> {
        Trainer::new(self, optimizer, loss)
    }
}

impl<M: Model> Compile for M {}
