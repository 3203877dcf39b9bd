//! Runtime of [`nn`](https://docs.rs/nn): layer kernels, activations, losses, optimizers,
//! the training loop, data helpers and weight files.
//!
//! Users normally depend on the `nn` facade and write networks with its `model!` macro; the
//! code the macro generates calls into this crate. The crate is `#![no_std]` at its base:
//! inference needs neither `std` nor an allocator. The `alloc` feature adds heap-owned
//! models, optimizers and the training loop; `std` (on by default) adds file I/O, progress
//! output and runtime CPU-feature dispatch.
//!
//! Layout of data: a batch is a flat row-major `&[f32]`, one sample after the other.
//! Parameters of a whole model live in one flat `f32` buffer; each layer owns a fixed range.
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

pub mod activations;
pub mod error;
pub mod io;
pub mod kernels;
pub mod layers;
pub mod math;
pub mod params;
pub mod rng;
pub mod scratch;

#[cfg(feature = "alloc")]
pub mod buffer;
#[cfg(feature = "alloc")]
pub mod data;
#[cfg(feature = "alloc")]
pub mod gradcheck;
#[cfg(feature = "alloc")]
pub mod loss;
#[cfg(feature = "alloc")]
pub mod metrics;
#[cfg(feature = "alloc")]
pub mod model;
#[cfg(feature = "alloc")]
pub mod optim;
#[cfg(feature = "alloc")]
pub mod tape;
#[cfg(feature = "alloc")]
pub mod train;

pub use error::{Error, Result};
// The short paths `nn_core::bake` and `nn_core::weights`, which programs used before `io/`.
#[doc(no_inline)]
pub use io::bake;
#[cfg(feature = "std")]
#[doc(no_inline)]
pub use io::weights;
pub use nalgebra;
pub use params::Params;

/// A column vector of `N` `f32` values (nalgebra's fixed-size `SVector`): the input and
/// output type of single-sample inference.
pub type Vector<const N: usize> = nalgebra::SVector<f32, N>;

/// Emits its input only when `nn-core` is built with the `alloc` feature (generated code
/// names it `__private::with_alloc`).
#[cfg(feature = "alloc")]
#[doc(hidden)]
#[macro_export]
macro_rules! __with_alloc {
    ($($item:item)*) => { $($item)* };
}

/// Emits nothing: `nn-core` is built without the `alloc` feature (generated code names it
/// `__private::with_alloc`).
#[cfg(not(feature = "alloc"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __with_alloc {
    ($($item:item)*) => {};
}

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;
