//! The README's main job: a binary classifier on a synthetic tabular data set, Keras' recipe.
//!
//! `make_classification`-style data (1000 samples, 20 features, 2 classes, seed 42), an
//! 80/20 train/test split, standard scaling, a 20-64-64-1 network, Adam (lr 1e-3), binary
//! cross-entropy, 100 epochs of batches of 32 with 20% held out for validation.
//!
//! ```text
//! cargo run --release --example quickstart [-- --epochs N --seed N --quiet]
//! ```
//! The last line is a `key=value` summary, e.g.
//! `test_accuracy=0.8450 test_loss=0.4... train_seconds=0.05 epochs=100`.

#[path = "support/models.rs"]
mod models;
use models::Classifier;
use nn::prelude::*;
use std::time::Instant;

struct Args {
    epochs: usize,
    seed: u64,
    quiet: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        epochs: 100,
        seed: 42,
        quiet: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("`{name}` needs a value"));
        match flag.as_str() {
            "--epochs" => {
                args.epochs = value("--epochs")?
                    .parse()
                    .map_err(|e| format!("--epochs: {e}"))?
            }
            "--seed" => {
                args.seed = value("--seed")?
                    .parse()
                    .map_err(|e| format!("--seed: {e}"))?
            }
            "--quiet" => args.quiet = true,
            "--help" | "-h" => {
                return Err("usage: quickstart [--epochs N] [--seed N] [--quiet]".into())
            }
            other => return Err(format!("unknown flag `{other}` (try --help)")),
        }
    }
    Ok(args)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    let (x, y) = Classification::new(1000, 20)
        .classes(2)
        .seed(42)
        .generate()?;
    let mut split = train_test_split(&x, &y, 20, 1, 0.2, 42)?;
    let scaler = StandardScaler::fit_transform(&mut split.x_train, 20)?;
    scaler.transform(&mut split.x_test)?;

    println!("{}", Classifier::SUMMARY);
    let mut model = Classifier::new(args.seed)
        .compile(Adam::new(1e-3), Loss::BinaryCrossentropy)
        .metrics(&[Metric::Accuracy]);
    let verbose = if args.quiet {
        Verbose::Silent
    } else {
        Verbose::Auto
    };
    let start = Instant::now();
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
    let test = model.evaluate(&split.x_test, &split.y_test)?;
    println!(
        "test_accuracy={:.4} test_loss={:.4} val_accuracy={:.4} train_seconds={train_seconds:.3} epochs={}",
        test.get("accuracy").unwrap_or(f32::NAN),
        test.loss,
        history.last("val_accuracy").unwrap_or(f32::NAN),
        history.epochs()
    );
    Ok(())
}
