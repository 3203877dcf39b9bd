//! Data helpers: feature scaling, train/test splits, a synthetic classification data set,
//! one-hot encoding, and (with `std`) the IDX files of MNIST.
//!
//! A data set is a flat row-major `&[f32]` of `samples * features` values, one sample after
//! the other; targets are a flat `&[f32]` too (class indices as `f32`, or rows of regression
//! targets).
//!
//! ```
//! use nn_core::data::{train_test_split, Classification, StandardScaler};
//! let (x, y) = Classification::new(200, 5).seed(1).generate()?;
//! let mut split = train_test_split(&x, &y, 5, 1, 0.25, 7)?;
//! assert_eq!(split.x_test.len(), 50 * 5);
//! let scaler = StandardScaler::fit_transform(&mut split.x_train, 5)?;
//! scaler.transform(&mut split.x_test)?;
//! # Ok::<(), nn_core::Error>(())
//! ```

mod dataset;
mod labels;
mod minmax;
mod rows;
mod scaling;
mod split;
mod synthetic;

#[cfg(feature = "std")]
mod csv;
#[cfg(feature = "std")]
pub mod idx;
#[cfg(feature = "std")]
pub mod mnist;

#[cfg(feature = "std")]
pub use self::csv::{Column, CsvReader, CsvTable};
pub use dataset::Dataset;
pub use labels::{argmax_rows, one_hot};
pub use minmax::MinMaxScaler;
#[cfg(feature = "std")]
pub use minmax::ScalerFile;
#[cfg(feature = "std")]
pub use mnist::Mnist;
pub use rows::gather_rows;
pub use scaling::StandardScaler;
pub use split::{train_test_split, Split};
pub use synthetic::Classification;
