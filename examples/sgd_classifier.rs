//! Ten-class classification with plain SGD and categorical cross-entropy on one-hot labels.
//!
//! A seeded synthetic problem (2000 samples, 100 features of which 20 informative, 10
//! classes, class separation 2), a 100 -> 64 (ReLU) -> 10 (softmax) network, SGD with learning rate 0.1, 5
//! epochs of batches of 32.
//!
//! ```text
//! cargo run --release --example sgd_classifier [-- --epochs N --verbose 0|1|2 --plots DIR]
//! ```
//! Last line, e.g. `test_accuracy=0.81 train_accuracy=0.90 train_seconds=0.05 epochs=5`.

#[path = "support/out.rs"]
#[macro_use]
mod out;

use clap::Parser;
use nn::prelude::*;
use std::time::Instant;

#[path = "support/cli.rs"]
mod cli;

/// Ten-class classification with plain SGD and categorical cross-entropy.
#[derive(Parser, Debug)]
#[command(name = "sgd_classifier")]
struct Args {
    /// Training epochs.
    #[arg(long, default_value_t = 5)]
    epochs: usize,
    #[command(flatten)]
    output: cli::Output,
}

nn::model! {
    /// A one-hidden-layer softmax classifier.
    pub struct SgdClassifier {
        input: 100,
        hidden: Dense(64, relu),
        output: Dense(10, softmax),
    }
}

fn main() -> Result<(), out::Failure> {
    let args = Args::parse();
    let (x, labels) = Classification::new(2000, 100)
        .informative(20)
        .redundant(10)
        .classes(10)
        .clusters_per_class(1)
        .class_sep(2.0)
        .seed(7)
        .generate()?;
    let y = one_hot(&labels, 10)?;
    let mut split = train_test_split(&x, &y, 100, 10, 0.2, 7)?;
    let scaler = StandardScaler::fit_transform(&mut split.x_train, 100)?;
    scaler.transform(&mut split.x_test)?;

    let mut model = SgdClassifier::new(7)
        .compile(Sgd::new(0.1), Loss::CategoricalCrossentropy)
        .metrics(&[Metric::Accuracy]);
    let start = Instant::now();
    let history = model.fit(
        &split.x_train,
        &split.y_train,
        Fit::new()
            .epochs(args.epochs)
            .batch_size(32)
            .seed(7)
            .verbose(args.output.verbose(false)),
    )?;
    let seconds = start.elapsed().as_secs_f64();
    let test = model.evaluate(&split.x_test, &split.y_test)?;
    args.output.history(&history)?;
    let truth = argmax_rows(&split.y_test, 10)?;
    let predicted = model.predict_classes(&split.x_test)?;
    args.output.confusion(&truth, &predicted, &[])?;
    outln!(
        "test_accuracy={:.4} train_accuracy={:.4} test_loss={:.4} train_seconds={seconds:.4} epochs={}",
        test.get("accuracy").unwrap_or(f32::NAN),
        history.last("accuracy").unwrap_or(f32::NAN),
        test.loss,
        history.epochs()
    );
    Ok(())
}
