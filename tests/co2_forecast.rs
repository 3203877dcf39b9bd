//! The `co2_forecast` example, run as a test: its network beats both baselines on the test
//! period (recomputed here independently of the example's code), its gaps are filled by
//! linear interpolation, and malformed files are errors that name the problem.
#![cfg(feature = "std")]

#[path = "../examples/co2_forecast.rs"]
#[allow(dead_code)]
mod example;

use std::path::{Path, PathBuf};

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/co2")
}

fn args(window: usize) -> example::Args {
    example::Args {
        data: data_dir(),
        epochs: 100,
        window,
        seed: 1,
        batch_size: 32,
        output: Default::default(),
    }
}

/// The weekly values of `co2.csv`, read with `str::split`, gaps filled linearly; and which
/// weeks were measured.
fn reference_series() -> (Vec<f64>, Vec<bool>) {
    let text = std::fs::read_to_string(data_dir().join("co2.csv")).unwrap();
    let raw: Vec<Option<f64>> = text
        .lines()
        .skip(1)
        .map(|line| line.split(',').nth(1).and_then(|v| v.trim().parse().ok()))
        .collect();
    let known: Vec<(usize, f64)> = raw
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.map(|v| (i, v)))
        .collect();
    let values = (0..raw.len())
        .map(|i| match raw[i] {
            Some(v) => v,
            None => {
                let k = known.partition_point(|&(j, _)| j < i);
                let ((a, va), (b, vb)) = (known[k - 1], known[k]);
                va + (vb - va) * (i - a) as f64 / (b - a) as f64
            }
        })
        .collect();
    (values, raw.iter().map(Option::is_some).collect())
}

#[test]
fn the_network_beats_both_baselines_on_the_test_period() {
    let series = example::load(&data_dir()).unwrap();
    let report = example::forecast::<example::Weeks52>(&series, &args(52)).unwrap();

    // The baselines, from the file alone: the last 20% of the weeks, measured targets.
    let (v, measured) = reference_series();
    let n = v.len();
    assert_eq!(n, 2284);
    let test: Vec<usize> = (n - n / 5..n).filter(|&t| measured[t]).collect();
    let rmse = |f: &dyn Fn(usize) -> f64| {
        (test.iter().map(|&t| (f(t) - v[t]).powi(2)).sum::<f64>() / test.len() as f64).sqrt()
    };
    let last = rmse(&|t| v[t - 1]);
    let seasonal = rmse(&|t| v[t - 1] + v[t - 52] - v[t - 53]);
    assert_eq!(report.test_weeks, test.len());
    assert!(
        (report.last_value_rmse - last).abs() < 1e-4,
        "{} vs {last}",
        report.last_value_rmse
    );
    assert!(
        (report.seasonal_rmse - seasonal).abs() < 1e-4,
        "{} vs {seasonal}",
        report.seasonal_rmse
    );
    // Measured (seeds 1-5, windows 26, 52, 104): 0.38-0.44 ppmv, against 0.513 and 0.665.
    assert!(
        report.test_rmse < last && report.test_rmse < seasonal,
        "test RMSE {:.4} ppmv, baselines {last:.4} (last value) and {seasonal:.4} (seasonal)",
        report.test_rmse
    );
}

/// A scratch directory with a `co2.csv` of `text`.
struct Csv(PathBuf);

impl Csv {
    fn new(tag: &str, text: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("nn-co2-{}-{tag}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("co2.csv"), text).unwrap();
        Self(dir)
    }

    fn error(&self) -> String {
        match example::load(&self.0) {
            Ok(_) => panic!("{} loaded", self.0.display()),
            Err(e) => e.to_string(),
        }
    }
}

impl Drop for Csv {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn gaps_are_filled_linearly_and_the_last_one_with_the_last_value() {
    let csv = Csv::new(
        "gaps",
        "date,co2\n20000101,1\n20000108,\n20000115,\n20000122,4\n20000129,\n",
    );
    let series = example::load(&csv.0).unwrap();
    assert_eq!(series.ppmv, [1.0, 2.0, 3.0, 4.0, 4.0]);
    assert_eq!(series.measured, [true, false, false, true, false]);
    assert_eq!(series.dates[1], "2000-01-08");
    // 2000-01-01 is day 10,957 after 1970-01-01.
    assert_eq!(series.days[0], 10_957);
}

#[test]
fn malformed_files_are_errors_that_name_the_problem() {
    let missing = example::load(Path::new("/nonexistent/co2"))
        .map(|_| ())
        .unwrap_err();
    assert!(missing.to_string().contains("cannot read"), "{missing}");
    let e = Csv::new("header", "day,ppm\n20000101,1\n").error();
    assert!(e.contains("expected the columns `date,co2`"), "{e}");
    let e = Csv::new("gap", "date,co2\n20000101,1\n20000115,2\n").error();
    assert!(e.contains("14 days after the previous row"), "{e}");
    let e = Csv::new("date", "date,co2\n2000-01-01,1\n").error();
    assert!(e.contains("is not YYYYMMDD"), "{e}");
    let e = Csv::new("month", "date,co2\n20001301,1\n").error();
    assert!(e.contains("`20001301` is not YYYYMMDD"), "{e}");
    let e = Csv::new("value", "date,co2\n20000101,-3\n").error();
    assert!(e.contains("co2 `-3` is not a concentration"), "{e}");
    let e = Csv::new("empty", "date,co2\n20000101,\n").error();
    assert!(e.contains("no measurement"), "{e}");
}
