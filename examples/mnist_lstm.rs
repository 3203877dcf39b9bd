//! MNIST read row by row by a recurrent layer, Keras' classic recipe: each 28x28 digit is a
//! sequence of 28 steps of 28 pixels (the same 784 values, row-major, that the other MNIST
//! examples read), pixels scaled to [0, 1]; `LSTM(128)` (or `GRU(128)`, `SimpleRNN(128)`)
//! reads it and its last step goes to `Dense(10, softmax)`; Adam (lr 1e-3), sparse
//! categorical cross-entropy, batches of 32.
//!
//! ```text
//! cargo run --release --example mnist_lstm -- [--cell lstm|gru|rnn] [--epochs N] [--data DIR]
//!     [--batch-size N] [--seed N] [--threads N] [--save PATH] [--save-raw PATH] [--quiet]
//!     [--verbose 0|1|2] [--plots DIR]
//! ```
//! `--data` is any directory holding the four IDX files in MNIST's naming (plain or `.gz`).
//! `--save` writes safetensors with PyTorch's names (`lstm.weight_ih_l0`, ...), which
//! `torch.nn.LSTM(28, 128, batch_first=True)` and `torch.nn.Linear(128, 10)` load. The last
//! line is the summary of `mnist_mlp`, e.g. `test_accuracy=0.9700 ... seconds_per_epoch=..`.

#[path = "support/out.rs"]
#[macro_use]
mod out;

#[path = "support/models.rs"]
mod models;
use models::{RowReader, RowReaderGru, RowReaderRnn};
// The shared driver and flags (its `Args::parse` goes unused: this example flattens `Args`
// into a command of its own, with `--cell`).
#[allow(dead_code)]
#[path = "support/mnist.rs"]
mod support;

use clap::{CommandFactory, FromArgMatches, Parser, ValueEnum};
use nn::prelude::*;

/// The recurrent layer that reads the rows.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum Cell {
    Lstm,
    Gru,
    Rnn,
}

/// MNIST read row by row by a recurrent layer.
#[derive(Debug, Parser)]
#[command(name = "mnist_lstm")]
struct Cli {
    /// The recurrent layer.
    #[arg(long, value_enum, default_value_t = Cell::Lstm)]
    cell: Cell,
    /// The flags every MNIST example shares.
    #[command(flatten)]
    common: support::Args,
}

fn main() -> Result<(), out::Failure> {
    // Two epochs by default: the issue's recipe reports accuracy after one and after two.
    let command = Cli::command().mut_arg("epochs", |a| a.default_value("2"));
    let cli = Cli::from_arg_matches(&command.get_matches())?;
    let args = cli.common;
    let loss = Loss::SparseCategoricalCrossentropy;
    match cli.cell {
        Cell::Lstm => support::run(RowReader::new(args.seed), RowReader::SUMMARY, &args, loss),
        Cell::Gru => support::run(
            RowReaderGru::new(args.seed),
            RowReaderGru::SUMMARY,
            &args,
            loss,
        ),
        Cell::Rnn => support::run(
            RowReaderRnn::new(args.seed),
            RowReaderRnn::SUMMARY,
            &args,
            loss,
        ),
    }
}
