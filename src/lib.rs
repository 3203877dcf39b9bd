//! Neural networks declared with [`model!`], shape-checked at compile time.
#![no_std]

pub use nn_core::*;
pub use nn_macros::model;
