//! Model files: weights in the safetensors format, interchangeable with PyTorch
//! ([`weights`], with `std`), optimizer state to resume training ([`optimizer`], with `std`),
//! and weights baked into the binary at compile time ([`bake`], no allocation, no file
//! system).
//!
//! Files are untrusted input: reading is bounded by what a header declares and the file can
//! back, and writing is atomic.

pub mod bake;
#[cfg(feature = "std")]
pub mod optimizer;
#[cfg(feature = "std")]
pub(crate) mod read;
#[cfg(feature = "std")]
mod safetensors_format;
#[cfg(feature = "std")]
pub mod weights;
#[cfg(feature = "std")]
pub(crate) mod write;
