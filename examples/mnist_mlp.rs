//! MNIST with a dense network, Keras' recipe: pixels scaled to [0, 1], `Flatten` 28x28 ->
//! `Dense(128, relu)` -> `Dense(10, softmax)`, Adam (lr 1e-3), sparse categorical
//! cross-entropy, 5 epochs of batches of 32.
//!
//! ```text
//! cargo run --release --example mnist_mlp -- [--data DIR] [--epochs N] [--batch-size N]
//!     [--seed N] [--threads N] [--save PATH] [--save-raw PATH] [--quiet]
//!     [--verbose 0|1|2] [--plots DIR]
//! ```
//! `--threads` defaults to the number of cores; results are identical for any thread count.
//! `--save` writes safetensors (PyTorch's names and layout); `--save-raw` writes the raw
//! little-endian parameters that `nn::bake::f32_array` turns into a `static` model.
//! `--data` is any directory holding the four IDX files in MNIST's naming (plain or `.gz`),
//! so MNIST-format data sets (Fashion-MNIST, KMNIST) work too. The last line is a summary,
//! e.g. `test_accuracy=0.9769 train_seconds=2.7 samples_per_second=110000 ...`.

#[path = "support/out.rs"]
#[macro_use]
mod out;

#[path = "support/models.rs"]
mod models;
use models::MnistMlp;
#[path = "support/mnist.rs"]
mod support;

use nn::prelude::*;

fn main() -> Result<(), out::Failure> {
    let args = support::Args::parse("mnist_mlp", 5, 4)?;
    support::run(
        MnistMlp::new(args.seed),
        MnistMlp::SUMMARY,
        &args,
        Loss::SparseCategoricalCrossentropy,
    )
}
