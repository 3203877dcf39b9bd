//! The README's main job: a binary classifier on a synthetic tabular data set, Keras' recipe.
//!
//! `make_classification`-style data (1000 samples, 20 features, 2 classes, seed 42), an
//! 80/20 train/test split, standard scaling, a 20-64-64-1 network, Adam (lr 1e-3), binary
//! cross-entropy, 100 epochs of batches of 32 with 20% held out for validation.
//!
//! ```text
//! cargo run --release --example quickstart [-- --epochs N --seed N --quiet --verbose 0|1|2
//!     --plots DIR]
//! ```
//! The last line is a `key=value` summary, e.g.
//! `test_accuracy=0.8450 test_loss=0.4... train_seconds=0.05123 train_cpu_seconds=0.05087
//! epochs=100` (the training thread's CPU time, on Linux).

#[path = "support/out.rs"]
#[macro_use]
mod out;

#[path = "support/models.rs"]
mod models;
use clap::Parser;
use models::Classifier;
use nn::prelude::*;
use std::time::Instant;

#[path = "support/cli.rs"]
mod cli;

/// The README's binary classifier on synthetic tabular data, Keras' recipe.
#[derive(Parser, Debug)]
#[command(name = "quickstart")]
struct Args {
    /// Training epochs.
    #[arg(long, default_value_t = 100)]
    epochs: usize,
    /// Seed of the initialisation and the shuffling.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// No progress output and no model summary (same as `--verbose 0`).
    #[arg(long)]
    quiet: bool,
    #[command(flatten)]
    output: cli::Output,
}

fn main() -> Result<(), out::Failure> {
    let args = Args::parse();
    let (x, y) = Classification::new(1000, 20)
        .classes(2)
        .seed(42)
        .generate()?;
    let mut split = train_test_split(&x, &y, 20, 1, 0.2, 42)?;
    let scaler = StandardScaler::fit_transform(&mut split.x_train, 20)?;
    scaler.transform(&mut split.x_test)?;

    if !args.quiet {
        outln!("{}", Classifier::SUMMARY);
    }
    let mut model = Classifier::new(args.seed)
        .compile(Adam::new(1e-3), Loss::BinaryCrossentropy)
        .metrics(&[Metric::Accuracy]);
    let verbose = args.output.verbose(args.quiet);
    let start = Instant::now();
    let cpu_start = thread_cpu_seconds();
    let history = model.fit(
        &split.x_train,
        &split.y_train,
        Fit::new()
            .epochs(args.epochs)
            .batch_size(32)
            .validation_split(0.2)
            .seed(args.seed)
            .verbose(verbose),
    )?;
    let train_seconds = start.elapsed().as_secs_f64();
    let train_cpu = match (cpu_start, thread_cpu_seconds()) {
        (Some(a), Some(b)) => format!(" train_cpu_seconds={:.5}", b - a),
        _ => String::new(),
    };
    let test = model.evaluate(&split.x_test, &split.y_test)?;
    args.output.history(&history)?;
    let truth: Vec<usize> = split.y_test.iter().map(|&t| t as usize).collect();
    let predicted = model.predict_classes(&split.x_test)?;
    args.output
        .confusion(&truth, &predicted, &["0".into(), "1".into()])?;
    outln!(
        "test_accuracy={:.4} test_loss={:.4} val_accuracy={:.4} train_seconds={train_seconds:.5}{train_cpu} epochs={}",
        test.get("accuracy").unwrap_or(f32::NAN),
        test.loss,
        history.last("val_accuracy").unwrap_or(f32::NAN),
        history.epochs()
    );
    Ok(())
}

/// The calling thread's CPU time (user and system), on Linux: `fit` trains on this thread,
/// so this is its cost without the waits of a loaded machine.
fn thread_cpu_seconds() -> Option<f64> {
    // The kernel brings a running thread's figure up to date when it next schedules: a
    // yield does that now (the figure is otherwise up to a timer tick, 4 ms, behind).
    std::thread::yield_now();
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos: u64 = stat.split_whitespace().next()?.parse().ok()?;
    Some(nanos as f64 * 1e-9)
}
