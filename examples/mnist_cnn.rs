//! MNIST with a convolutional network, Keras' recipe: pixels scaled to [0, 1], input
//! 28x28x1 (height, width, channels; channels last), three `Conv2D` 3x3 + `MaxPool2D(2)`
//! stages ('valid' padding: 26x26x32, 13x13x32, 11x11x64, 5x5x64, 3x3x64, 1x1x64), then
//! `Dense(64, relu)` and `Dense(10, softmax)`; Adam (lr 1e-3), categorical cross-entropy on
//! one-hot labels, 10 epochs of batches of 32.
//!
//! ```text
//! cargo run --release --example mnist_cnn -- [--data DIR] [--epochs N] [--batch-size N]
//!     [--seed N] [--threads N] [--save PATH] [--save-raw PATH] [--quiet]
//!     [--verbose 0|1|2] [--plots DIR]
//! ```
//! The flags and the summary line are those of `mnist_mlp`.

#[path = "support/out.rs"]
#[macro_use]
mod out;

#[path = "support/models.rs"]
mod models;
use models::MnistCnn;
#[path = "support/mnist.rs"]
mod support;

use nn::prelude::*;

fn main() -> Result<(), out::Failure> {
    let args = support::Args::parse("mnist_cnn", 10, 1)?;
    support::run(
        MnistCnn::new(args.seed),
        MnistCnn::SUMMARY,
        &args,
        Loss::CategoricalCrossentropy,
    )
}
