//! Neural networks declared in Rust with the [`model!`] macro, shape-checked at compile
//! time and compiled into statically shaped code.
//!
//! ```
//! use nn::prelude::*;
//!
//! nn::model! {
//!     /// Binary classifier for tabular data.
//!     #[derive(Clone, Debug)]
//!     pub struct Classifier {
//!         input: 20,
//!         hidden1: Dense(64, relu),
//!         hidden2: Dense(64, relu),
//!         output: Dense(1, sigmoid),
//!     }
//! }
//!
//! assert_eq!(Classifier::PARAMS, 20 * 64 + 64 + 64 * 64 + 64 + 64 + 1);
//! let model = Classifier::new(42);
//! let p = model.forward(&Vector::from([0.5; 20]));
//! assert!(p[0] > 0.0 && p[0] < 1.0);
//! ```
//!
//! See [`model!`] for the grammar and the generated API, and the crate's README for a tour.
#![no_std]

// Generated code names the runtime `::nn`, which must also resolve inside this crate.
extern crate self as nn;

pub use nn_core::*;

#[doc(inline)]
pub use nn_macros::model;

/// The names most programs need: the layer-independent API, losses, metrics, optimizers,
/// training and data helpers, and the extension traits that give every model its
/// `compile`, `check_gradients`, `save_weights` and `load_weights` methods.
pub mod prelude {
    pub use nn_core::activations::ActivationKind;
    pub use nn_core::Vector;
    pub use nn_core::{Error, Result};

    #[cfg(feature = "alloc")]
    pub use nn_core::{
        data::{
            argmax_rows, one_hot, train_test_split, Classification, Dataset, MinMaxScaler, Split,
            StandardScaler,
        },
        gradcheck::CheckGradients,
        layers::Pass,
        loss::{Loss, LossFn},
        metrics::{ConfusionMatrix, Metric},
        model::Model,
        optim::{
            Adam, AdamW, CosineDecay, ExponentialDecay, LearningRateSchedule, Optimizer,
            PiecewiseConstant, RmsProp, Sgd,
        },
        rng::Rng,
        train::{
            Apply, Callback, Compile, Context, Control, EarlyStopping, Evaluation, Fit, Gradients,
            History, LearningRateScheduler, Logs, ReduceLROnPlateau, TerminateOnNaN, Trainer,
            Verbose, Workspace,
        },
    };

    #[cfg(feature = "std")]
    pub use nn_core::data::{CsvReader, ScalerFile};
    #[cfg(feature = "std")]
    pub use nn_core::io::weights::WeightFiles;
    #[cfg(feature = "std")]
    pub use nn_core::train::{CsvLogger, ModelCheckpoint};
}

/// README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
