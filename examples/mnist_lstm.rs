//! MNIST read row by row by a recurrent layer, Keras' classic recipe: each 28x28 digit is a
//! sequence of 28 steps of 28 pixels (the same 784 values, row-major, that the other MNIST
//! examples read), pixels scaled to [0, 1]; `LSTM(128)` (or `GRU(128)`, `SimpleRNN(128)`)
//! reads it and its last step goes to `Dense(10, softmax)`; Adam (lr 1e-3), sparse
//! categorical cross-entropy, batches of 32.
//!
//! ```text
//! cargo run --release --example mnist_lstm -- [--cell lstm|gru|rnn] [--epochs N] [--data DIR]
//!     [--batch-size N] [--seed N] [--threads N] [--save PATH] [--save-raw PATH] [--quiet]
//! ```
//! `--data` is any directory holding the four IDX files in MNIST's naming (plain or `.gz`).
//! `--save` writes safetensors with PyTorch's names (`lstm.weight_ih_l0`, ...), which
//! `torch.nn.LSTM(28, 128, batch_first=True)` and `torch.nn.Linear(128, 10)` load. The last
//! line is the summary of `mnist_mlp`, e.g. `test_accuracy=0.9700 ... seconds_per_epoch=..`.

#[path = "support/models.rs"]
mod models;
use models::{RowReader, RowReaderGru, RowReaderRnn};
// The shared driver; its hand-written flag parser is unused here (clap parses the flags).
#[allow(dead_code)]
#[path = "support/mnist.rs"]
mod support;

use clap::{Parser, ValueEnum};
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
    /// Epochs of training.
    #[arg(long, default_value_t = 2)]
    epochs: usize,
    /// A directory with MNIST's four IDX files (plain or gzip).
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist"))]
    data: String,
    /// Samples per batch.
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    /// Seed of the initialisation and the shuffling.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Threads (default: the number of cores); results are identical for any number.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    threads: Option<u64>,
    /// Writes the trained weights as safetensors (PyTorch's names and layouts).
    #[arg(long)]
    save: Option<String>,
    /// Writes the raw parameters for `nn::bake`.
    #[arg(long)]
    save_raw: Option<String>,
    /// Only the summary line.
    #[arg(long)]
    quiet: bool,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cli = Cli::parse();
    let threads = cli.threads.map_or_else(
        || std::thread::available_parallelism().map_or(1, usize::from),
        |t| usize::try_from(t).unwrap_or(usize::MAX),
    );
    let args = support::Args {
        data: cli.data,
        epochs: cli.epochs,
        batch_size: cli.batch_size,
        seed: cli.seed,
        threads,
        save: cli.save,
        save_raw: cli.save_raw,
        quiet: cli.quiet,
    };
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
