//! The error type of the training, data and I/O APIs.
//!
//! Inference cannot fail (its shapes are checked at compile time), so only the APIs that
//! take user data at run time return [`Result`].

use core::fmt;

#[cfg(feature = "alloc")]
use alloc::string::String;

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
    /// A class label that is negative, fractional or not below the number of classes.
    InvalidLabel {
        /// Sample index.
        index: usize,
        /// The label found.
        label: f32,
        /// Number of classes the model outputs.
        classes: usize,
    },
    /// The training loss became NaN or infinite; training stopped and the weights of the
    /// last finite step were kept.
    LossDiverged {
        /// Zero-based epoch.
        epoch: usize,
        /// Zero-based batch within the epoch.
        batch: usize,
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
            Self::NonFinite { what, index } => {
                write!(f, "`{what}` holds a NaN or infinite value at flat index {index}")
            }
            Self::InvalidLabel { index, label, classes } => write!(
                f,
                "label {label} of sample {index} is not a class index in 0..{classes}"
            ),
            Self::LossDiverged { epoch, batch } => write!(
                f,
                "the loss became NaN or infinite at epoch {} batch {}; training stopped with the last finite weights \
                 (try a lower learning rate or gradient clipping)",
                epoch + 1,
                batch + 1
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
            _ => None,
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
    match values.iter().position(|v| !v.is_finite()) {
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
