//! What `mnist_mlp`, `mnist_cnn` and `mnist_lstm` share: flags, data loading, training with Keras-like
//! progress, evaluation, saving, and the summary line.

use nn::data::Mnist;
use nn::prelude::*;
use std::path::Path;
use std::time::Instant;

#[path = "cli.rs"]
mod cli;

/// Trains a network on MNIST (Keras' recipe) and prints a summary line.
// The defaults of `--epochs` and `--seed` are each example's, set by `Args::parse`.
#[derive(clap::Parser, Debug)]
pub struct Args {
    /// Directory holding the four IDX files in MNIST's naming (plain or `.gz`).
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist"))]
    pub data: String,
    /// Training epochs.
    #[arg(long, default_value_t = 1)]
    pub epochs: usize,
    /// Samples per training step.
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// Seed of the initialisation and the shuffling.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Training threads (results are identical for any count); default: the cores.
    #[arg(long, default_value_t = cli::default_threads(), value_parser = cli::at_least_one)]
    pub threads: usize,
    /// Write the trained weights (safetensors, PyTorch's names and layout) to this path.
    #[arg(long)]
    pub save: Option<String>,
    /// Write the raw little-endian parameters (for `nn::bake::f32_array`) to this path.
    #[arg(long)]
    pub save_raw: Option<String>,
    /// No progress output and no model summary (same as `--verbose 0`).
    #[arg(long)]
    pub quiet: bool,
    /// `--verbose` and `--plots`.
    #[command(flatten)]
    pub output: cli::Output,
}

/// A default value for clap, which keeps it for the whole run.
fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

impl Args {
    /// Parses the flags of example `name`, with its default epochs and seed (`--help`
    /// prints the usage and exits).
    pub fn parse(name: &'static str, epochs: usize, seed: u64) -> Result<Self, String> {
        use clap::{CommandFactory, FromArgMatches};
        let command = <Self as CommandFactory>::command()
            .name(name)
            .mut_arg("epochs", |a| a.default_value(leak(epochs.to_string())))
            .mut_arg("seed", |a| a.default_value(leak(seed.to_string())));
        let matches = command.get_matches();
        Self::from_arg_matches(&matches).map_err(|e| e.to_string())
    }
}

/// Trains `model` on MNIST with Adam (lr 1e-3) and `loss` (sparse labels, or one-hot for
/// categorical cross-entropy), evaluates it on the test set, saves it when asked, and prints
/// the summary line.
pub fn run<M: Model>(
    model: M,
    summary: &str,
    args: &Args,
    loss: Loss,
) -> Result<(), crate::out::Failure> {
    // Before the training: a wrong path fails now, not after the epochs it was to keep.
    crate::out::check_writable(&[
        ("--save", args.save.as_deref().map(Path::new)),
        ("--save-raw", args.save_raw.as_deref().map(Path::new)),
    ])?;
    let t = Instant::now();
    let mnist = Mnist::load(&args.data)?;
    let (x_train, mut y_train) = (mnist.train_x(), mnist.train_y());
    let (x_test, mut y_test) = (mnist.test_x(), mnist.test_y());
    drop(mnist);
    if loss == Loss::CategoricalCrossentropy {
        y_train = one_hot(&y_train, 10)?;
        y_test = one_hot(&y_test, 10)?;
    }
    let load_seconds = t.elapsed().as_secs_f64();
    if !args.quiet {
        outln!("{summary}");
    }

    let mut trainer = model
        .compile(Adam::new(1e-3), loss)
        .metrics(&[Metric::Accuracy])
        .threads(args.threads);
    let verbose = args.output.verbose(args.quiet);
    let start = Instant::now();
    let fit = Fit::new()
        .epochs(args.epochs)
        .batch_size(args.batch_size)
        .seed(args.seed)
        .verbose(verbose);
    let history = trainer.fit(&x_train, &y_train, fit)?;
    let train_seconds = start.elapsed().as_secs_f64();
    let test = trainer.evaluate(&x_test, &y_test)?;
    args.output.history(&history)?;
    if args.output.pictures.plots.is_some() {
        let truth = if loss == Loss::CategoricalCrossentropy {
            argmax_rows(&y_test, 10)?
        } else {
            y_test.iter().map(|&t| t as usize).collect()
        };
        let predicted = trainer.predict_classes(&x_test)?;
        args.output.confusion(&truth, &predicted, &[])?;
    }
    if let Some(path) = &args.save {
        trainer.model().save_weights(path)?;
        errln!("saved weights to {path}");
    }
    if let Some(path) = &args.save_raw {
        nn::weights::save_raw(trainer.model(), path)?;
        errln!("saved raw weights (for nn::bake) to {path}");
    }
    let samples = (x_train.len() / M::INPUT * history.epochs()) as f64;
    outln!(
        "test_accuracy={:.4} train_seconds={train_seconds:.3} samples_per_second={:.0} seconds_per_epoch={:.3} \
         epochs={} threads={} isa={} load_seconds={load_seconds:.2} peak_rss_mib={:.0}",
        test.get("accuracy").unwrap_or(f32::NAN),
        samples / train_seconds,
        train_seconds / history.epochs().max(1) as f64,
        history.epochs(),
        args.threads,
        nn::kernels::level().name(),
        peak_rss_mib()
    );
    Ok(())
}

/// Peak resident memory of this process (Linux), in MiB; NaN elsewhere.
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}
