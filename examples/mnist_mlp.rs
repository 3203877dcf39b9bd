//! MNIST with a dense network, Keras' recipe: pixels scaled to [0, 1], `Flatten` 28x28 ->
//! `Dense(128, relu)` -> `Dense(10, softmax)`, Adam (lr 1e-3), sparse categorical
//! cross-entropy, 5 epochs of batches of 32.
//!
//! ```text
//! cargo run --release --example mnist_mlp -- [--data DIR] [--epochs N] [--batch-size N]
//!     [--seed N] [--threads N] [--save PATH] [--save-raw PATH] [--quiet]
//! ```
//! `--threads` defaults to the number of cores; results are identical for any thread count.
//! `--save` writes safetensors (PyTorch's names and layout); `--save-raw` writes the raw
//! little-endian parameters that `nn::bake::f32_array` turns into a `static` model.
//! `--data` is any directory holding the four IDX files in MNIST's naming (plain or `.gz`),
//! so MNIST-format data sets (Fashion-MNIST, KMNIST) work too. The last line is a summary,
//! e.g. `test_accuracy=0.9770 train_seconds=2.5 samples_per_second=120000 ...`.

use nn::idx::Mnist;
use nn::prelude::*;
use std::time::Instant;

nn::model! {
    /// Keras' MNIST multi-layer perceptron.
    pub struct MnistMlp {
        input: [28, 28],
        Flatten,
        hidden: Dense(128, relu),
        output: Dense(10, softmax),
    }
}

struct Args {
    data: String,
    epochs: usize,
    batch_size: usize,
    seed: u64,
    threads: usize,
    save: Option<String>,
    save_raw: Option<String>,
    quiet: bool,
}

const USAGE: &str = "usage: mnist_mlp [--data DIR] [--epochs N] [--batch-size N] [--seed N] [--threads N] [--save PATH] [--save-raw PATH] [--quiet]";

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        data: concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist").into(),
        epochs: 5,
        batch_size: 32,
        seed: 4,
        threads: std::thread::available_parallelism().map_or(1, usize::from),
        save: None,
        save_raw: None,
        quiet: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .ok_or_else(|| format!("`{flag}` needs a value\n{USAGE}"))
        };
        let number = |v: String, name: &str| v.parse::<u64>().map_err(|e| format!("{name}: {e}"));
        match flag.as_str() {
            "--data" => a.data = value()?,
            "--epochs" => a.epochs = number(value()?, "--epochs")? as usize,
            "--batch-size" => a.batch_size = number(value()?, "--batch-size")? as usize,
            "--seed" => a.seed = number(value()?, "--seed")?,
            "--threads" => a.threads = number(value()?, "--threads")? as usize,
            "--save" => a.save = Some(value()?),
            "--save-raw" => a.save_raw = Some(value()?),
            "--quiet" => a.quiet = true,
            "--help" | "-h" => return Err(USAGE.into()),
            other => return Err(format!("unknown flag `{other}`\n{USAGE}")),
        }
    }
    Ok(a)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    let t = Instant::now();
    let mnist = Mnist::load(&args.data)?;
    let (x_train, y_train) = (mnist.train_x(), mnist.train_y());
    let (x_test, y_test) = (mnist.test_x(), mnist.test_y());
    drop(mnist);
    let load_seconds = t.elapsed().as_secs_f64();
    if !args.quiet {
        println!("{}", MnistMlp::SUMMARY);
    }

    let mut model = MnistMlp::new(args.seed)
        .compile(Adam::new(1e-3), Loss::SparseCategoricalCrossentropy)
        .metrics(&[Metric::Accuracy])
        .threads(args.threads);
    let verbose = if args.quiet {
        Verbose::Silent
    } else {
        Verbose::Auto
    };
    let start = Instant::now();
    let history = model.fit(
        &x_train,
        &y_train,
        Fit::new()
            .epochs(args.epochs)
            .batch_size(args.batch_size)
            .seed(args.seed)
            .verbose(verbose),
    )?;
    let train_seconds = start.elapsed().as_secs_f64();
    let test = model.evaluate(&x_test, &y_test)?;
    if let Some(path) = &args.save {
        model.model().save_weights(path)?;
        eprintln!("saved weights to {path}");
    }
    if let Some(path) = &args.save_raw {
        nn::weights::save_raw(model.model(), path)?;
        eprintln!("saved raw weights (for nn::bake) to {path}");
    }
    let samples = (y_train.len() * history.epochs()) as f64;
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
