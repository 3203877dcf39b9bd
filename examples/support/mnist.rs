//! What `mnist_mlp` and `mnist_cnn` share: flags, data loading, training with Keras-like
//! progress, evaluation, saving, and the summary line.

use nn::data::Mnist;
use nn::prelude::*;
use std::time::Instant;

/// Command-line flags.
pub struct Args {
    pub data: String,
    pub epochs: usize,
    pub batch_size: usize,
    pub seed: u64,
    pub threads: usize,
    pub save: Option<String>,
    pub save_raw: Option<String>,
    pub quiet: bool,
}

impl Args {
    /// Parses the flags of example `name`, with its default epochs and seed.
    pub fn parse(name: &str, epochs: usize, seed: u64) -> Result<Self, String> {
        let usage = format!(
            "usage: {name} [--data DIR] [--epochs N] [--batch-size N] [--seed N] [--threads N] [--save PATH] [--save-raw PATH] [--quiet]"
        );
        let mut a = Self {
            data: concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist").into(),
            epochs,
            batch_size: 32,
            seed,
            threads: std::thread::available_parallelism().map_or(1, usize::from),
            save: None,
            save_raw: None,
            quiet: false,
        };
        let mut it = std::env::args().skip(1);
        while let Some(flag) = it.next() {
            let mut value = || {
                it.next()
                    .ok_or_else(|| format!("`{flag}` needs a value\n{usage}"))
            };
            let number =
                |v: String, name: &str| v.parse::<u64>().map_err(|e| format!("{name}: {e}"));
            match flag.as_str() {
                "--data" => a.data = value()?,
                "--epochs" => a.epochs = number(value()?, "--epochs")? as usize,
                "--batch-size" => a.batch_size = number(value()?, "--batch-size")? as usize,
                "--seed" => a.seed = number(value()?, "--seed")?,
                "--threads" => a.threads = number(value()?, "--threads")? as usize,
                "--save" => a.save = Some(value()?),
                "--save-raw" => a.save_raw = Some(value()?),
                "--quiet" => a.quiet = true,
                "--help" | "-h" => return Err(usage),
                other => return Err(format!("unknown flag `{other}`\n{usage}")),
            }
        }
        if a.threads == 0 {
            return Err("--threads must be at least 1".into());
        }
        Ok(a)
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
) -> Result<(), Box<dyn std::error::Error>> {
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
        println!("{summary}");
    }

    let mut trainer = model
        .compile(Adam::new(1e-3), loss)
        .metrics(&[Metric::Accuracy])
        .threads(args.threads);
    let verbose = if args.quiet {
        Verbose::Silent
    } else {
        Verbose::Auto
    };
    let start = Instant::now();
    let fit = Fit::new()
        .epochs(args.epochs)
        .batch_size(args.batch_size)
        .seed(args.seed)
        .verbose(verbose);
    let history = trainer.fit(&x_train, &y_train, fit)?;
    let train_seconds = start.elapsed().as_secs_f64();
    let test = trainer.evaluate(&x_test, &y_test)?;
    if let Some(path) = &args.save {
        trainer.model().save_weights(path)?;
        eprintln!("saved weights to {path}");
    }
    if let Some(path) = &args.save_raw {
        nn::weights::save_raw(trainer.model(), path)?;
        eprintln!("saved raw weights (for nn::bake) to {path}");
    }
    let samples = (x_train.len() / M::INPUT * history.epochs()) as f64;
    println!(
        "test_accuracy={:.4} train_seconds={train_seconds:.3} samples_per_second={:.0} seconds_per_epoch={:.3} \
         epochs={} threads={} load_seconds={load_seconds:.2} peak_rss_mib={:.0}",
        test.get("accuracy").unwrap_or(f32::NAN),
        samples / train_seconds,
        train_seconds / history.epochs().max(1) as f64,
        history.epochs(),
        args.threads,
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
