//! Pictures: a history's panels and a confusion matrix, as PNG (size from the header) and
//! SVG (its text and lines), and the errors for what cannot be drawn; an example with a
//! loop of its own (`regression`) plots the history it records.
#![cfg(feature = "plots")]

#[path = "../examples/regression.rs"]
#[allow(dead_code)]
mod regression;

use std::path::PathBuf;

use clap::Parser;

use nn::metrics::ConfusionMatrix;
use nn::prelude::*;

nn::model! {
    struct Net { input: 4, hidden: Dense(8, relu), out: Dense(3, softmax) }
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temp(tag: &str) -> TempDir {
    TempDir(std::env::temp_dir().join(format!("nn-plots-{}-{tag}", std::process::id())))
}

/// Width and height from a PNG's IHDR chunk, after checking the signature.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(&bytes[12..16], b"IHDR");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&bytes[16..20]), be(&bytes[20..24]))
}

fn history() -> History {
    let (x, y) = Classification::new(90, 4)
        .classes(3)
        .clusters_per_class(1)
        .seed(1)
        .generate()
        .unwrap();
    Net::new(0)
        .compile(Adam::new(1e-2), Loss::SparseCategoricalCrossentropy)
        .metrics(&[Metric::Accuracy, Metric::TopKAccuracy(2)])
        .fit(
            &x,
            &y,
            Fit::new()
                .epochs(6)
                .validation_split(0.2)
                .verbose(Verbose::Silent),
        )
        .unwrap()
}

#[test]
fn a_history_draws_one_panel_per_value_with_training_and_validation() {
    let dir = temp("history");
    let h = history();
    h.plot(dir.0.join("sub/history.png")).unwrap();
    let png = std::fs::read(dir.0.join("sub/history.png")).unwrap();
    // loss, accuracy, top_k_accuracy: three panels, two per row.
    assert_eq!(png_size(&png), (960, 640));
    h.plot(dir.0.join("history.svg")).unwrap();
    let svg = std::fs::read_to_string(dir.0.join("history.svg")).unwrap();
    assert!(svg.starts_with("<svg"), "{}", &svg[..40]);
    for text in [
        "loss",
        "accuracy",
        "top_k_accuracy",
        "training",
        "validation",
        "epoch",
    ] {
        assert!(
            svg.contains(&format!(">{text}<")) || svg.contains(text),
            "{text}"
        );
    }
    // One line per curve (6 epochs each) plus the legend's samples.
    assert!(svg.matches("<polyline").count() >= 6, "{svg}");
    let e = h.plot(dir.0.join("history.jpg")).unwrap_err().to_string();
    assert!(e.contains(".png") && e.contains(".svg"), "{e}");
    assert!(History::default().plot(dir.0.join("empty.png")).is_err());
}

#[test]
fn a_confusion_matrix_draws_its_counts_and_class_names() {
    let dir = temp("confusion");
    let cm = ConfusionMatrix::new(&[0, 0, 1, 2, 2, 2, 1], &[0, 1, 1, 2, 2, 0, 1], 3).unwrap();
    let names: Vec<String> = ["cat", "dog", "eel"].map(String::from).to_vec();
    cm.plot(&names, dir.0.join("confusion.png")).unwrap();
    let png = std::fs::read(dir.0.join("confusion.png")).unwrap();
    assert_eq!(png_size(&png), (3 * 64 + 170, 3 * 64 + 120));
    cm.plot(&names, dir.0.join("confusion.svg")).unwrap();
    let svg = std::fs::read_to_string(dir.0.join("confusion.svg")).unwrap();
    for text in ["cat", "dog", "eel", "predicted", "true", "confusion matrix"] {
        assert!(svg.contains(text), "{text}");
    }
    // Nine cells, each a filled rectangle and a count.
    assert!(svg.matches("<rect").count() >= 9);
    for count in ["1", "2"] {
        assert!(
            svg.contains(&format!(">{count}<")) || svg.contains(&format!(">\n{count}")),
            "{count}"
        );
    }
}

#[test]
fn the_regression_example_plots_the_losses_of_its_own_loop() {
    let dir = temp("regression");
    let plots = dir.0.to_str().unwrap();
    let args = regression::Args::parse_from(["regression", "--steps", "40", "--plots", plots]);
    let report = regression::run(&args).unwrap();
    let loss = report.history.get("loss").unwrap();
    assert_eq!((loss.len(), report.history.epochs()), (40, 40));
    assert_eq!(report.history.names(), ["loss"]);
    // The first step sees the initial weights, the last one is the loop's last loss.
    let first = (loss[0] - report.initial_loss).abs();
    assert!(
        first <= 1e-6 * report.initial_loss,
        "{} {}",
        loss[0],
        report.initial_loss
    );
    assert_eq!(loss[39], report.last_step_loss);
    assert!(loss[39] < loss[0], "{loss:?}");
    // One panel: the loss.
    let png = std::fs::read(dir.0.join("history.png")).unwrap();
    assert_eq!(png_size(&png), (480, 320));
}
