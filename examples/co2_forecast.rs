//! Forecasting the weekly CO2 concentration at Mauna Loa one week ahead from a window of past
//! weeks, with a 1-D convolutional network (`data/co2`, 1958-2001).
//!
//! The recipe, as a time-series tutorial would write it:
//! - weeks without a measurement (59 of 2,284) are filled by linear interpolation between
//!   their neighbours, so that every window is complete; only measured weeks are targets;
//! - the series has a trend, so the network sees and predicts weekly *changes*: each step
//!   of a window holds the change into that week and the week's place in the year (sine and
//!   cosine), and the forecast is the last value plus the predicted change;
//! - the split is by time: the last 20% of the weeks are the test period, never seen in
//!   training; the changes are scaled with the mean and deviation of the training period
//!   only, and early stopping watches the last 10% of the training period;
//! - the test error is the RMSE in ppmv over the measured test weeks, next to two baselines
//!   on the same weeks: the last value, and the last value plus the change of the same week
//!   a year (52 weeks) earlier.
//!
//! ```text
//! cargo run --release --example co2_forecast -- [--data DIR] [--epochs N] [--window 26|52|104]
//!     [--seed N] [--batch-size N] [--verbose 0|1|2] [--plots DIR]
//! ```
//! Last line, e.g. `test_rmse=0.4082 baseline_last_value_rmse=0.5133
//! baseline_seasonal_rmse=0.6651 test_weeks=456 beats_baselines=true` (under a second).
//! `tests/co2_forecast.rs` runs the same code and checks that the network beats both
//! baselines, with the baselines recomputed independently.

#[path = "support/out.rs"]
#[macro_use]
mod out;

use std::error::Error;
use std::path::{Path, PathBuf};

use clap::Parser;
use nn::prelude::*;

#[path = "support/cli.rs"]
mod cli;

/// The network for a window of `$weeks` past weeks of 3 values each: two convolutions over
/// the weeks ('same' padding: one output per week), then a dense layer on all of them.
macro_rules! forecaster {
    ($name:ident, $weeks:literal) => {
        nn::model! {
            /// Past weeks (change, sine and cosine of the week of the year) in, the next
            /// week's change out.
            pub struct $name {
                input: [$weeks, 3],
                conv1: Conv1D(16, 5, relu, padding = same),
                conv2: Conv1D(16, 5, relu, padding = same),
                Flatten,
                hidden: Dense(32, relu),
                change: Dense(1),
            }
        }
    };
}

forecaster!(Weeks26, 26);
forecaster!(Weeks52, 52);
forecaster!(Weeks104, 104);

/// Values per step of a window: the change into the week, and the sine and cosine of its
/// place in the year.
const FEATURES: usize = 3;
/// Weeks in a year, for the seasonal baseline.
const YEAR: usize = 52;

/// Weekly Mauna Loa CO2: a one-week-ahead forecast with a 1-D convolutional network.
#[derive(Parser, Debug)]
#[command(name = "co2_forecast")]
pub struct Args {
    /// Directory holding `co2.csv` (columns `date` YYYYMMDD, `co2` in ppmv; weekly).
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/data/co2"))]
    pub data: PathBuf,
    /// Most training epochs (early stopping may end sooner).
    #[arg(long, default_value_t = 100)]
    pub epochs: usize,
    /// Past weeks the network sees: 26, 52 or 104 (one network per size, declared at
    /// compile time).
    #[arg(long, default_value_t = 52, value_parser = window)]
    pub window: usize,
    /// Seed of the initialisation and the shuffling.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Samples per training step.
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// `--verbose` and `--plots`.
    #[command(flatten)]
    pub output: cli::Output,
}

fn window(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(w @ (26 | 52 | 104)) => Ok(w),
        _ => Err(format!(
            "`{text}` is not a window this example declares; use 26, 52 or 104"
        )),
    }
}

/// The weekly series, gaps filled.
pub struct Series {
    /// `YYYY-MM-DD` of each week.
    pub dates: Vec<String>,
    /// Days since 1970-01-01 of each week.
    pub days: Vec<i64>,
    /// CO2 in ppmv, interpolated where there was no measurement.
    pub ppmv: Vec<f32>,
    /// Whether the week was measured.
    pub measured: Vec<bool>,
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Reads `dir/co2.csv`: weekly rows in order, an empty `co2` for a week without a
/// measurement, which is then interpolated linearly between the nearest measured weeks.
pub fn load(dir: &Path) -> Result<Series, Box<dyn Error>> {
    let path = dir.join("co2.csv");
    let mut reader = csv::Reader::from_path(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let headers = reader.headers()?.clone();
    if headers.iter().collect::<Vec<_>>() != ["date", "co2"] {
        return Err(format!(
            "{}: expected the columns `date,co2`, found `{}`",
            path.display(),
            headers.iter().collect::<Vec<_>>().join(",")
        )
        .into());
    }
    let (mut dates, mut days, mut values) = (Vec::new(), Vec::new(), Vec::new());
    for (i, record) in reader.records().enumerate() {
        let record = record?;
        let row = i + 2; // 1-based, after the header
        let date = &record[0];
        let number = |range: std::ops::Range<usize>| {
            date.get(range)
                .and_then(|s| s.parse::<i64>().ok())
                .ok_or_else(|| format!("{}:{row}: date `{date}` is not YYYYMMDD", path.display()))
        };
        if date.len() != 8 {
            return Err(format!("{}:{row}: date `{date}` is not YYYYMMDD", path.display()).into());
        }
        let (y, m, d) = (number(0..4)?, number(4..6)?, number(6..8)?);
        if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
            return Err(format!("{}:{row}: date `{date}` is not YYYYMMDD", path.display()).into());
        }
        let day = days_from_civil(y, m, d);
        if let Some(&previous) = days.last() {
            if day - previous != 7 {
                return Err(format!(
                    "{}:{row}: {date} is {} days after the previous row; the series must be weekly",
                    path.display(),
                    day - previous
                )
                .into());
            }
        }
        let value = match record[1].trim() {
            "" => None,
            text => match text.parse::<f32>() {
                Ok(v) if v.is_finite() && v > 0.0 => Some(v),
                _ => {
                    return Err(format!(
                        "{}:{row}: co2 `{text}` is not a concentration in ppmv",
                        path.display()
                    )
                    .into())
                }
            },
        };
        dates.push(format!("{y:04}-{m:02}-{d:02}"));
        days.push(day);
        values.push(value);
    }
    let measured: Vec<usize> = (0..values.len()).filter(|&i| values[i].is_some()).collect();
    let (Some(&first), Some(&last)) = (measured.first(), measured.last()) else {
        return Err(format!("{}: no measurement", path.display()).into());
    };
    // Linear interpolation between measured neighbours; before the first and after the
    // last measurement, the nearest one.
    let ppmv = (0..values.len())
        .map(|i| {
            values[i].unwrap_or_else(|| {
                let before = measured.iter().rev().find(|&&j| j < i).copied();
                let after = measured.iter().find(|&&j| j > i).copied();
                match (before, after) {
                    (Some(a), Some(b)) => {
                        let (va, vb) = (values[a].unwrap_or(0.0), values[b].unwrap_or(0.0));
                        va + (vb - va) * (i - a) as f32 / (b - a) as f32
                    }
                    _ => values[if i < first { first } else { last }].unwrap_or(0.0),
                }
            })
        })
        .collect();
    Ok(Series {
        dates,
        days,
        ppmv,
        measured: values.iter().map(Option::is_some).collect(),
    })
}

/// Windows and targets for the weeks `targets`: each window holds, for the `window` weeks
/// before the target, the scaled change into the week and the sine and cosine of its place
/// in the year; the target is the scaled change into the target week.
fn samples(
    series: &Series,
    changes: &[f32],
    targets: &[usize],
    window: usize,
) -> (Vec<f32>, Vec<f32>) {
    let mut x = Vec::with_capacity(targets.len() * window * FEATURES);
    for &t in targets {
        let weeks = t - window..t;
        for (&change, &day) in changes[weeks.clone()].iter().zip(&series.days[weeks]) {
            let phase = std::f64::consts::TAU * day as f64 / 365.2425;
            x.extend([change, phase.sin() as f32, phase.cos() as f32]);
        }
    }
    let y = targets.iter().map(|&t| changes[t]).collect();
    (x, y)
}

/// Root mean square of `errors`.
fn rmse(errors: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = errors.fold((0.0, 0usize), |(s, n), e| (s + e * e, n + 1));
    (sum / n as f64).sqrt()
}

/// What a forecast run measured.
pub struct Report {
    /// Training target weeks (the last 10% of them for validation).
    pub train_weeks: usize,
    /// The first week of the test period.
    pub test_from: usize,
    /// Measured test weeks, on which every RMSE is computed.
    pub test_weeks: usize,
    /// Epochs run before early stopping.
    pub epochs: usize,
    /// The best validation loss (MSE of scaled changes).
    pub best_val_loss: f32,
    /// RMSE of the network's forecasts, in ppmv.
    pub test_rmse: f64,
    /// RMSE of the last value as the forecast.
    pub last_value_rmse: f64,
    /// RMSE of the last value plus the change of the same week a year earlier.
    pub seasonal_rmse: f64,
}

/// Trains the network `M` on the training period of `series` and forecasts the test period.
pub fn forecast<M: Model>(series: &Series, args: &Args) -> Result<Report, Box<dyn Error>> {
    let window = M::INPUT_SHAPE[0];
    let n = series.ppmv.len();
    // The change into each week (none for the first).
    let mut changes: Vec<f32> = std::iter::once(0.0)
        .chain(series.ppmv.windows(2).map(|w| w[1] - w[0]))
        .collect();
    // The last 20% of the weeks are the test period.
    let split = n - n / 5;
    // Targets: measured weeks with a full window (and a year of history for the baseline).
    let first = (window + 1).max(YEAR + 1);
    if split <= first {
        return Err(format!("{n} weeks are too few for a window of {window}").into());
    }
    let train: Vec<usize> = (first..split).filter(|&t| series.measured[t]).collect();
    let test: Vec<usize> = (split..n).filter(|&t| series.measured[t]).collect();
    // Scaled with the training period's changes only.
    let scaler = StandardScaler::fit(&changes[1..split], 1)?;
    scaler.transform(&mut changes)?;
    let (mean, scale) = (scaler.mean()[0], scaler.scale()[0]);
    let (x_train, y_train) = samples(series, &changes, &train, window);
    let (x_test, _) = samples(series, &changes, &test, window);

    let mut trainer = M::init(args.seed).compile(Adam::new(1e-3), Loss::MeanSquaredError);
    let history = trainer.fit(
        &x_train,
        &y_train,
        Fit::new()
            .epochs(args.epochs)
            .batch_size(args.batch_size)
            .seed(args.seed)
            .validation_split(0.1)
            // Silent unless asked for.
            .verbose(if args.output.verbose.is_some() {
                args.output.verbose(false)
            } else {
                Verbose::Silent
            })
            .callback(
                EarlyStopping::new("val_loss")
                    .patience(10)
                    .restore_best_weights(true),
            ),
    )?;
    args.output.history(&history)?;
    let best_val_loss = history
        .get("val_loss")
        .unwrap_or_default()
        .iter()
        .copied()
        .fold(f32::INFINITY, f32::min);

    // Forecasts: the last value plus the predicted change, in ppmv.
    let predicted = trainer.predict(&x_test)?;
    let ppmv = &series.ppmv;
    let errors = |forecast: &dyn Fn(usize, usize) -> f64| {
        rmse(
            test.iter()
                .enumerate()
                .map(|(i, &t)| forecast(i, t) - f64::from(ppmv[t])),
        )
    };
    Ok(Report {
        train_weeks: train.len(),
        test_from: split,
        test_weeks: test.len(),
        epochs: history.epochs(),
        best_val_loss,
        test_rmse: errors(&|i, t| f64::from(ppmv[t - 1]) + f64::from(predicted[i] * scale + mean)),
        last_value_rmse: errors(&|_, t| f64::from(ppmv[t - 1])),
        seasonal_rmse: errors(&|_, t| {
            f64::from(ppmv[t - 1]) + f64::from(ppmv[t - YEAR] - ppmv[t - YEAR - 1])
        }),
    })
}

fn run<M: Model>(args: &Args, summary: &str) -> Result<(), Box<dyn Error>> {
    let series = load(&args.data)?;
    let n = series.ppmv.len();
    let gaps = series.measured.iter().filter(|m| !**m).count();
    outln!(
        "data: {n} weeks from {} to {}, {gaps} without a measurement (interpolated)",
        series.dates[0],
        series.dates[n - 1]
    );
    outln!("{summary}");
    let r = forecast::<M>(&series, args)?;
    outln!(
        "train: {} target weeks up to {} (the last 10% for validation); test: {} measured weeks from {}",
        r.train_weeks,
        series.dates[r.test_from - 1],
        r.test_weeks,
        series.dates[r.test_from]
    );
    outln!(
        "trained {} epochs; best validation loss {:.4} (scaled changes)",
        r.epochs,
        r.best_val_loss
    );
    outln!(
        "test_rmse={:.4} baseline_last_value_rmse={:.4} baseline_seasonal_rmse={:.4} test_weeks={} beats_baselines={}",
        r.test_rmse,
        r.last_value_rmse,
        r.seasonal_rmse,
        r.test_weeks,
        r.test_rmse < r.last_value_rmse && r.test_rmse < r.seasonal_rmse
    );
    Ok(())
}

fn main() -> Result<(), out::Failure> {
    let args = Args::parse();
    match args.window {
        26 => run::<Weeks26>(&args, Weeks26::SUMMARY)?,
        104 => run::<Weeks104>(&args, Weeks104::SUMMARY)?,
        _ => run::<Weeks52>(&args, Weeks52::SUMMARY)?,
    }
    Ok(())
}
