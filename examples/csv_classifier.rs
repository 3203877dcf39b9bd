//! A classifier for any CSV file with a header row: a standardised MLP, Keras' recipe.
//!
//! ```text
//! cargo run --release --example csv_classifier -- --csv FILE --label COLUMN [--epochs N]
//!     [--hidden 64,32] [--seed N] [--verbose 0|1|2] [--plots DIR]
//! ```
//! e.g. `--csv data/penguins/penguins.csv --label species`.
//!
//! - the label column holds integer class ids or strings (mapped to ids in sorted order);
//! - non-numeric feature columns are one-hot encoded;
//! - rows with a missing value (an empty cell or `NA`) are dropped and counted;
//! - 80/20 stratified split (seeded), features standardised on the training part only;
//! - Adam, sparse categorical cross-entropy, early stopping on the validation loss (the last
//!   20% of the training part) with the best weights restored;
//! - prints the per-class report (precision, recall, F1, support) and the confusion matrix;
//!   the last line is a `key=value` summary starting with `test_accuracy=..`.
//!
//! Shapes are fixed at compile time, so the network takes up to [`MAX_FEATURES`] features
//! and [`MAX_CLASSES`] classes: a file's features are zero-padded to that width (the padding
//! is constant, so it never moves a weight), and the outputs of classes the file does not
//! have are never the target (they learn to stay low). The hidden layers are one of the
//! sizes compiled in (see `--help`).

#[path = "support/out.rs"]
#[macro_use]
mod out;

use std::error::Error;
use std::path::PathBuf;

use clap::Parser;
use nn::metrics::ConfusionMatrix;
use nn::prelude::*;

#[path = "support/cli.rs"]
mod cli;

/// Features the compiled networks take (a file's are zero-padded to this).
pub const MAX_FEATURES: usize = 64;
/// Classes the compiled networks output.
pub const MAX_CLASSES: usize = 16;

macro_rules! mlp {
    ($name:ident, $($layer:ident: $units:literal),+) => {
        nn::model! {
            /// A classifier MLP of the sizes in its name.
            pub struct $name {
                input: 64,
                $($layer: Dense($units, relu),)+
                output: Dense(16, softmax),
            }
        }
    };
}

mlp!(Hidden32, hidden1: 32);
mlp!(Hidden64, hidden1: 64);
mlp!(Hidden64x32, hidden1: 64, hidden2: 32);
mlp!(Hidden128x64, hidden1: 128, hidden2: 64);
mlp!(Hidden128x64x32, hidden1: 128, hidden2: 64, hidden3: 32);

/// The hidden layer sizes compiled in.
const HIDDEN: [&str; 5] = ["32", "64", "64,32", "128,64", "128,64,32"];

/// Trains a standardised MLP on a CSV file with a header row and reports its test accuracy.
#[derive(Parser, Debug, Clone)]
#[command(name = "csv_classifier")]
pub struct Args {
    /// The CSV file (gzip or not), with a header row.
    #[arg(long)]
    pub csv: PathBuf,
    /// The label column's name.
    #[arg(long)]
    pub label: String,
    /// Most training epochs (early stopping usually ends sooner).
    #[arg(long, default_value_t = 300)]
    pub epochs: usize,
    /// Hidden layer sizes: 32, 64, 64,32, 128,64 or 128,64,32.
    #[arg(long, default_value = "64,32", value_parser = hidden)]
    pub hidden: String,
    /// Seed of the split, the initialisation and the shuffling.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Samples per training step.
    #[arg(long, default_value_t = 16)]
    pub batch_size: usize,
    /// Epochs without a better validation loss before stopping.
    #[arg(long, default_value_t = 20)]
    pub patience: usize,
    /// `--verbose` and `--plots`.
    #[command(flatten)]
    pub output: cli::Output,
}

fn hidden(s: &str) -> Result<String, String> {
    let s = s.replace(' ', "");
    if HIDDEN.contains(&s.as_str()) {
        Ok(s)
    } else {
        Err(format!(
            "the compiled sizes are {} (shapes are fixed at compile time: add a size with \
             one line `mlp!(..)` in the example)",
            HIDDEN.join(" | ")
        ))
    }
}

/// What a run found.
#[derive(Debug)]
pub struct Summary {
    /// Accuracy on the 20% test split.
    pub test_accuracy: f32,
    /// Rows kept and dropped for a missing value.
    pub rows: usize,
    /// Rows dropped for a missing value.
    pub dropped: usize,
    /// Features after one-hot encoding.
    pub features: usize,
    /// The classes' names.
    pub classes: Vec<String>,
    /// Test samples.
    pub test_samples: usize,
    /// Epochs trained.
    pub epochs: usize,
    /// Test samples predicted as a class the file does not have (padding outputs).
    pub padding_predictions: usize,
    /// The test confusion matrix (without those).
    pub confusion: ConfusionMatrix,
    /// The training history.
    pub history: History,
}

/// `data` with its samples zero-padded to `MAX_FEATURES` values.
fn pad(data: &Dataset) -> nn::Result<Dataset> {
    let f = data.features();
    let mut x = Vec::with_capacity(data.len() * MAX_FEATURES);
    for row in data.x().chunks_exact(f) {
        x.extend_from_slice(row);
        x.resize(x.len() + MAX_FEATURES - f, 0.0);
    }
    Ok(Dataset::new(x, data.y().to_vec(), &[MAX_FEATURES], 1)?
        .with_class_names(data.class_names().to_vec()))
}

/// Reads, splits, scales, trains and evaluates.
///
/// # Errors
/// A file that cannot be read as asked, more features or classes than compiled in, a
/// training that fails.
pub fn run(args: &Args) -> Result<Summary, Box<dyn Error>> {
    let table = CsvReader::new(&args.csv)
        .label(args.label.as_str())
        .drop_missing(true)
        .encode_text(true)
        .read()?;
    let data = table.dataset;
    if data.features() > MAX_FEATURES || data.classes() > MAX_CLASSES {
        return Err(format!(
            "{} features and {} classes: the compiled networks take at most {MAX_FEATURES} \
             features and {MAX_CLASSES} classes (raise MAX_FEATURES / MAX_CLASSES)",
            data.features(),
            data.classes()
        )
        .into());
    }
    let (mut train, mut test) = data.stratified_split(0.2, args.seed)?;
    let scaler = StandardScaler::fit_transform_dataset(&mut train)?;
    scaler.transform_dataset(&mut test)?;
    let (train, test) = (pad(&train)?, pad(&test)?);
    let mut stop = EarlyStopping::new("val_loss")
        .patience(args.patience)
        .restore_best_weights(true);
    let options = Fit::new()
        .epochs(args.epochs)
        .batch_size(args.batch_size)
        .validation_split(0.2)
        .seed(args.seed)
        .verbose(args.output.verbose(false));
    let (history, predicted, test_accuracy) = match args.hidden.as_str() {
        "32" => train_on::<Hidden32>(&train, &test, args.seed, options.callback(&mut stop))?,
        "64" => train_on::<Hidden64>(&train, &test, args.seed, options.callback(&mut stop))?,
        "128,64" => {
            train_on::<Hidden128x64>(&train, &test, args.seed, options.callback(&mut stop))?
        }
        "128,64,32" => {
            train_on::<Hidden128x64x32>(&train, &test, args.seed, options.callback(&mut stop))?
        }
        _ => train_on::<Hidden64x32>(&train, &test, args.seed, options.callback(&mut stop))?,
    };
    let classes = data.classes();
    // A prediction of a padding class (none seen so far) is wrong, and counted apart: it has
    // no column in the matrix.
    let (pairs, padding): (Vec<_>, Vec<_>) = test
        .labels()
        .into_iter()
        .zip(predicted)
        .partition(|&(_, p)| p < classes);
    let (truth, predicted): (Vec<usize>, Vec<usize>) = pairs.into_iter().unzip();
    let confusion = ConfusionMatrix::new(&truth, &predicted, classes)?;
    args.output.history(&history)?;
    args.output
        .confusion(&truth, &predicted, data.class_names())?;
    Ok(Summary {
        test_accuracy,
        rows: data.len(),
        dropped: table.dropped,
        features: data.features(),
        classes: data.class_names().to_vec(),
        test_samples: test.len(),
        epochs: history.epochs(),
        padding_predictions: padding.len(),
        confusion,
        history,
    })
}

/// Trains model `M` on `train`, returns the history, the test predictions and accuracy.
fn train_on<M: Model>(
    train: &Dataset,
    test: &Dataset,
    seed: u64,
    fit: Fit<'_>,
) -> nn::Result<(History, Vec<usize>, f32)> {
    let mut trainer = M::init(seed)
        .compile(Adam::new(1e-3), Loss::SparseCategoricalCrossentropy)
        .metrics(&[Metric::Accuracy]);
    let history = trainer.fit_dataset(train, fit)?;
    let test_accuracy = trainer
        .evaluate_dataset(test)?
        .get("accuracy")
        .unwrap_or(f32::NAN);
    let predicted = trainer.predict_classes(test.x())?;
    Ok((history, predicted, test_accuracy))
}

fn main() -> Result<(), out::Failure> {
    let args = Args::parse();
    let s = run(&args)?;
    outln!(
        "{}: {} rows kept, {} dropped for a missing value; {} features; classes {:?}",
        args.csv.display(),
        s.rows,
        s.dropped,
        s.features,
        s.classes
    );
    outln!("\n{}", s.confusion.report(&s.classes));
    outln!("confusion matrix (rows: true class, columns: predicted):");
    for t in 0..s.confusion.classes() {
        let row: Vec<String> = (0..s.confusion.classes())
            .map(|p| format!("{:>5}", s.confusion.count(t, p)))
            .collect();
        outln!("{:>12} {}", s.classes[t], row.join(""));
    }
    outln!(
        "test_accuracy={:.4} test_samples={} epochs={} dropped_rows={} features={} \
         padding_predictions={}",
        s.test_accuracy,
        s.test_samples,
        s.epochs,
        s.dropped,
        s.features,
        s.padding_predictions
    );
    Ok(())
}
