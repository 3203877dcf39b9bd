//! The error type of the training, data and I/O APIs.
//!
//! Inference cannot fail (its shapes are checked at compile time), so only the APIs that
//! take user data at run time return [`Result`].

use core::fmt;

#[cfg(feature = "alloc")]
use crate::train::history::History;
#[cfg(feature = "alloc")]
use alloc::{boxed::Box, string::String};

/// Everything that can go wrong with run-time data, files or training.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A data set with no samples was given where samples are needed.
    EmptyData {
        /// What was empty, e.g. `"x"` or `"validation set"`.
        what: &'static str,
    },
    /// A flat buffer's length is not a whole number of rows of the expected width.
    FeatureCount {
        /// Which argument, e.g. `"x"`.
        what: &'static str,
        /// Values per sample the model expects.
        expected: usize,
        /// Length of the buffer that was given.
        len: usize,
    },
    /// Inputs and targets hold different numbers of samples.
    SampleCountMismatch {
        /// Samples in the inputs.
        x: usize,
        /// Samples in the targets.
        y: usize,
    },
    /// A NaN or infinite value in input data.
    NonFinite {
        /// Which argument, e.g. `"x"`.
        what: &'static str,
        /// Flat index of the first bad value.
        index: usize,
    },
    /// A NaN or infinite value in a tensor of a model that is being saved (such a file could
    /// not be loaded).
    #[cfg(feature = "alloc")]
    NonFiniteWeight {
        /// The tensor, e.g. `"hidden.weight"`.
        tensor: String,
        /// Flat index of the first bad value, in PyTorch's layout.
        index: usize,
    },
    /// A class label that is negative, fractional or not below the number of classes.
    InvalidLabel {
        /// Sample index.
        index: usize,
        /// The label found.
        label: f32,
        /// Number of classes the model outputs.
        classes: usize,
    },
    /// Targets that do not fit the loss: laid out for another loss (class ids where one-hot
    /// rows are expected, or the reverse), or a value outside the loss' domain. Sparse labels
    /// out of range are [`InvalidLabel`](Self::InvalidLabel).
    #[cfg(feature = "alloc")]
    InvalidTargets {
        /// The name of the loss the targets were given to, e.g. `"binary_crossentropy"`
        /// ([`LossFn::name`](crate::loss::LossFn::name)).
        loss: &'static str,
        /// What is wrong, with the index of the first bad value.
        problem: TargetProblem,
    },
    /// A metric that cannot be computed on the loss' targets, e.g. categorical accuracy
    /// (argmax of one-hot rows) with sparse labels.
    #[cfg(feature = "alloc")]
    MetricMismatch {
        /// The metric's name, after [`Metric::resolve`](crate::metrics::Metric::resolve)
        /// (the accuracy Keras' generic `accuracy` stands for), e.g.
        /// `"categorical_accuracy"`.
        metric: &'static str,
        /// The name of the trainer's loss.
        loss: &'static str,
        /// The model's number of outputs.
        outputs: usize,
        /// Why the metric cannot read the loss's targets, and what to use instead.
        reason: &'static str,
    },
    /// The training loss became NaN or infinite; training stopped before applying that
    /// batch's update, and the weights (those of the last step) were checked to be finite.
    LossDiverged {
        /// Zero-based epoch.
        epoch: usize,
        /// Zero-based batch within the epoch.
        batch: usize,
    },
    /// The training loss became NaN or infinite because the weights had: an update computed
    /// from a finite loss overflowed `f32` (a huge learning rate times a huge gradient, or a
    /// gradient that overflowed). Training stopped; the weights cannot be used.
    WeightsDiverged {
        /// Zero-based epoch of the batch whose loss revealed it.
        epoch: usize,
        /// Zero-based batch within the epoch.
        batch: usize,
    },
    /// The loss of a sample is NaN or infinite outside training (evaluation or validation):
    /// the outputs overflow `f32`, or the weights are not finite.
    NonFiniteLoss {
        /// Which data: `"x"` for [`Trainer::evaluate`](crate::train::Trainer::evaluate),
        /// `"validation data"` inside `fit`.
        what: &'static str,
        /// Index of the first sample whose loss is not finite.
        sample: usize,
    },
    /// `fit` stopped during training (divergence, a callback's error, a non-finite
    /// validation loss); `history` holds the epochs completed before.
    #[cfg(feature = "alloc")]
    TrainingStopped {
        /// Why training stopped.
        error: Box<Error>,
        /// The logs of the completed epochs (possibly none).
        history: History,
    },
    /// An input value a layer cannot take: an embedding's id that is not a whole number in
    /// range, say.
    InvalidInput {
        /// The layer type, e.g. `"Embedding"`.
        layer: &'static str,
        /// Flat index of the first bad value in the input.
        index: usize,
        /// The value found.
        value: f32,
        /// What the layer takes, e.g. `"a whole number in 0..1000 (a token id)"`.
        expected: &'static str,
        /// The size of the valid range, where there is one (the vocabulary of an embedding).
        limit: usize,
    },
    /// An argument outside its valid range.
    InvalidArgument {
        /// Argument name.
        name: &'static str,
        /// What was wrong.
        reason: &'static str,
    },
    /// A setting (an optimizer's hyper-parameter, a trainer option) outside its valid range.
    /// Builders record settings as given; the trainer checks them when training or
    /// evaluation starts (see [`Optimizer::validate`](crate::optim::Optimizer::validate)).
    InvalidSetting {
        /// What the setting belongs to, e.g. `"Adam"` or `"Trainer"`.
        owner: &'static str,
        /// The setting, e.g. `"learning_rate"`.
        name: &'static str,
        /// The value given.
        value: f64,
        /// The valid range, e.g. `"finite and >= 0"`.
        expected: &'static str,
    },
    /// An optimizer state that does not fit the optimizer it is loaded into (see
    /// [`Optimizer::load_state`](crate::optim::Optimizer::load_state)): a buffer missing,
    /// unexpected or of the wrong length, a non-finite value, or a step count that does not
    /// match the buffers.
    #[cfg(feature = "alloc")]
    InvalidState {
        /// The optimizer (or trainer), e.g. `"Adam"`.
        owner: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A file's content is not what was expected.
    #[cfg(feature = "alloc")]
    Format {
        /// The file or source.
        source_name: String,
        /// What was wrong.
        reason: String,
    },
    /// An I/O error, with the path it concerns.
    #[cfg(feature = "std")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The underlying error.
        error: std::io::Error,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EmptyData { what } => write!(f, "`{what}` is empty: at least one sample is needed"),
            Self::FeatureCount { what, expected, len } => write!(
                f,
                "`{what}` has {len} values, which is not a whole number of samples of {expected} values each"
            ),
            Self::SampleCountMismatch { x, y } => {
                write!(f, "inputs hold {x} samples but targets hold {y}")
            }
            #[cfg(feature = "alloc")]
            Self::NonFiniteWeight { tensor, index } => write!(
                f,
                "`{tensor}` holds a NaN or infinite value at index {index}: the weights have \
                 diverged and cannot be saved"
            ),
            Self::NonFinite { what, index } => {
                write!(f, "`{what}` holds a NaN or infinite value at flat index {index}")
            }
            Self::InvalidLabel { index, label, classes } => write!(
                f,
                "label {label} of sample {index} is not a class index in 0..{classes} \
                 (a whole number from 0 to {}, one class per output)",
                classes.saturating_sub(1)
            ),
            #[cfg(feature = "alloc")]
            Self::InvalidTargets { loss, problem } => problem.describe(loss, f),
            #[cfg(feature = "alloc")]
            Self::MetricMismatch {
                metric,
                loss,
                outputs,
                reason,
            } => write!(
                f,
                "metric `{metric}` cannot be computed for `{loss}` on {outputs} output(s): {reason}"
            ),
            Self::LossDiverged { epoch, batch } => write!(
                f,
                "the loss became NaN or infinite at epoch {} batch {}; training stopped before that \
                 batch's update, with the last finite weights (try a lower learning rate or gradient \
                 clipping)",
                epoch + 1,
                batch + 1
            ),
            Self::WeightsDiverged { epoch, batch } => write!(
                f,
                "the loss became NaN or infinite at epoch {} batch {} because the weights had: the \
                 update before overflowed f32 (learning rate times gradient too large); training \
                 stopped and the weights cannot be used: reload saved weights, then lower the \
                 learning rate or clip gradients",
                epoch + 1,
                batch + 1
            ),
            Self::NonFiniteLoss { what, sample } => write!(
                f,
                "the loss on sample {sample} of `{what}` is NaN or infinite: the model's outputs overflow \
                 f32 or its weights are not finite"
            ),
            #[cfg(feature = "alloc")]
            Self::TrainingStopped { error, history } => write!(
                f,
                "training stopped after {} completed epoch(s) (their history is kept in the error): {error}",
                history.epochs()
            ),
            Self::InvalidInput {
                layer,
                index,
                value,
                expected,
                limit,
            } => write!(
                f,
                "input value {value} at index {index} cannot go into `{layer}`, which takes \
                 {expected} (here below {limit}); check the data or the layer's size"
            ),
            Self::InvalidArgument { name, reason } => write!(f, "invalid `{name}`: {reason}"),
            Self::InvalidSetting {
                owner,
                name,
                value,
                expected,
            } => {
                // Most settings are `f32`: show them as written, not widened (0.001, not
                // 0.0010000000474974513).
                #[allow(clippy::cast_possible_truncation)]
                let narrow = *value as f32;
                if f64::from(narrow) == *value {
                    write!(f, "invalid {owner} setting `{name}` = {narrow}: it must be {expected}")
                } else {
                    write!(f, "invalid {owner} setting `{name}` = {value}: it must be {expected}")
                }
            }
            #[cfg(feature = "alloc")]
            Self::InvalidState { owner, reason } => {
                write!(f, "cannot restore this {owner} state: {reason}")
            }
            #[cfg(feature = "alloc")]
            Self::Format { source_name, reason } => write!(f, "{source_name}: {reason}"),
            #[cfg(feature = "std")]
            Self::Io { path, error } => write!(f, "{}: {error}", path.display()),
        }
    }
}

impl core::error::Error for Error {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            #[cfg(feature = "std")]
            Self::Io { error, .. } => Some(error),
            #[cfg(feature = "alloc")]
            Self::TrainingStopped { error, .. } => Some(&**error),
            _ => None,
        }
    }
}

impl Error {
    /// The error itself, or for [`TrainingStopped`](Self::TrainingStopped) the error that
    /// stopped training: what to match on to learn why `fit` failed.
    ///
    /// ```
    /// use nn_core::Error;
    /// let e = Error::LossDiverged { epoch: 2, batch: 0 };
    /// assert!(matches!(e.cause(), Error::LossDiverged { .. }));
    /// ```
    #[must_use]
    pub fn cause(&self) -> &Error {
        match self {
            #[cfg(feature = "alloc")]
            Self::TrainingStopped { error, .. } => error.cause(),
            _ => self,
        }
    }

    /// The history of the epochs `fit` completed before it stopped with this error, if it
    /// stopped during training ([`TrainingStopped`](Self::TrainingStopped)).
    #[cfg(feature = "alloc")]
    #[must_use]
    pub fn history(&self) -> Option<&History> {
        match self {
            Self::TrainingStopped { history, .. } => Some(history),
            _ => None,
        }
    }
}

/// How targets fail to fit a loss (see [`Error::InvalidTargets`]).
#[cfg(feature = "alloc")]
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum TargetProblem {
    /// `y` holds `found` values per sample where the loss expects `expected`: the layout of
    /// another loss (class ids for one-hot rows, or the reverse; see
    /// [`LossFn::confusable_target_width`](crate::loss::LossFn::confusable_target_width)).
    Layout {
        /// Target values per sample the loss expects.
        expected: usize,
        /// Target values per sample given.
        found: usize,
    },
    /// A value outside the loss's domain: `[0, 1]` for binary cross-entropy, `>= 0` for
    /// categorical cross-entropy.
    OutOfRange {
        /// Flat index in `y` of the first bad value.
        index: usize,
        /// The value.
        value: f32,
        /// What the loss expects, completing "`<loss>` expects ...", e.g. `"targets in [0,
        /// 1] (the probability of class 1)"`.
        expected: &'static str,
        /// The fix, e.g. `"encode the two classes as 0 and 1"`.
        fix: &'static str,
    },
    /// A sample's categorical targets are not a probability distribution: they sum to
    /// `sum`, not 1.
    NotADistribution {
        /// Index of the first such sample.
        sample: usize,
        /// What its targets sum to.
        sum: f32,
    },
}

#[cfg(feature = "alloc")]
impl TargetProblem {
    /// The message of [`Error::InvalidTargets`] for loss `name`: the problem, where, and the
    /// fix.
    fn describe(self, name: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // One-hot rows expected, class ids given (a distribution's confusable layout).
            Self::Layout { expected, found: 1 } if expected > 1 => write!(
                f,
                "`{name}` expects one-hot targets, {expected} values per sample, but `y` has 1 value \
                 per sample: these look like class ids; use `Loss::SparseCategoricalCrossentropy`, \
                 or convert them with `one_hot(&y, {expected})`"
            ),
            // Class ids expected, one-hot rows given.
            Self::Layout { expected: 1, found } if found > 1 => write!(
                f,
                "`{name}` expects one class id per sample, but `y` has {found} values per sample: \
                 these look like one-hot rows; use `Loss::CategoricalCrossentropy`, or convert them \
                 to class ids with `argmax_rows(&y, {found})`"
            ),
            Self::Layout { expected, found } => write!(
                f,
                "`{name}` expects {expected} target values per sample (one per output), but `y` has \
                 {found} per sample"
            ),
            Self::OutOfRange {
                index,
                value,
                expected,
                fix,
            } => write!(
                f,
                "`{name}` expects {expected}, but `y` holds {value} at index {index}: {fix}"
            ),
            Self::NotADistribution { sample, sum } => write!(
                f,
                "`{name}` expects each sample's targets to sum to 1 (one-hot rows, or soft \
                 targets), but those of sample {sample} sum to {sum}: convert class ids with \
                 `one_hot`, or normalise each row"
            ),
        }
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// Checks that every value is finite; the error names `what` and the first bad index.
///
/// # Errors
/// [`Error::NonFinite`] at the first NaN or infinity.
pub fn check_finite(what: &'static str, values: &[f32]) -> Result<()> {
    match crate::kernels::first_non_finite(values) {
        Some(index) => Err(Error::NonFinite { what, index }),
        None => Ok(()),
    }
}

/// Number of samples in a flat row-major buffer of rows of `width` values.
///
/// # Errors
/// [`Error::EmptyData`] for an empty buffer, [`Error::FeatureCount`] when the length is not a
/// multiple of `width`.
pub fn rows(what: &'static str, values: &[f32], width: usize) -> Result<usize> {
    if values.is_empty() {
        return Err(Error::EmptyData { what });
    }
    if width == 0 || !values.len().is_multiple_of(width) {
        return Err(Error::FeatureCount {
            what,
            expected: width,
            len: values.len(),
        });
    }
    Ok(values.len() / width)
}
