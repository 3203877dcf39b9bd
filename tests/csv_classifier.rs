//! The `csv_classifier` example, run as a test: on the penguins it reaches the test
//! accuracy with the default seed; another CSV (gzip, integer labels, a text column, gaps)
//! works without code changes; and a `Dataset` is checked against the model's input.
#![cfg(feature = "std")]

#[path = "../examples/csv_classifier.rs"]
#[allow(dead_code)]
mod example;

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Parser;
use nn::prelude::*;

fn args(csv: &Path, label: &str) -> example::Args {
    // The defaults, as on the command line.
    let mut a = example::Args::parse_from(["csv_classifier", "--csv", "x", "--label", "y"]);
    a.csv = csv.to_path_buf();
    a.label = label.to_string();
    a.output.verbose = Some(0);
    a
}

#[test]
fn penguins_reach_97_percent_with_the_default_seed() {
    let csv = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/penguins/penguins.csv");
    let s = example::run(&args(&csv, "species")).unwrap();
    assert!(s.test_accuracy >= 0.97, "{}", s.test_accuracy);
    // 344 rows, 11 with a missing value (the data's README); island (3) and sex (2) one-hot
    // plus 5 numbers.
    assert_eq!((s.rows, s.dropped, s.features), (333, 11, 10));
    assert_eq!(s.classes, ["Adelie", "Chinstrap", "Gentoo"]);
    // The stratified test split: ceil(0.2 * 333) = 67 samples; the classes' supports are
    // within one of their shares (146 Adelie, 68 Chinstrap, 119 Gentoo).
    assert_eq!(s.test_samples, 67);
    for (c, total) in [146.0, 68.0, 119.0].into_iter().enumerate() {
        let support = s.confusion.support(c) as f64;
        assert!(
            (support - total * 67.0 / 333.0).abs() < 1.0,
            "{c}: {support}"
        );
    }
    let diagonal: usize = (0..3).map(|c| s.confusion.count(c, c)).sum();
    assert!((diagonal as f32 / 67.0 - s.test_accuracy).abs() < 1e-6);
    assert!(s.epochs < 300, "early stopping ends sooner: {}", s.epochs);
}

/// A temporary file removed on drop.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn another_csv_works_without_code_changes() {
    // Four classes in 6 numeric features, a text column that says nothing, integer labels
    // in the first column, some gaps; gzip-compressed, with a `.csv` name.
    let (x, y) = Classification::new(400, 6)
        .classes(4)
        .clusters_per_class(1)
        .seed(11)
        .generate()
        .unwrap();
    let mut text = String::from("kind,f1,f2,colour,f3,f4,f5,f6\n");
    for (i, (row, label)) in x.chunks(6).zip(&y).enumerate() {
        let colour = ["red", "green", "blue"][i % 3];
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(j, v)| {
                if i % 37 == 5 && j == 2 {
                    "NA".into()
                } else {
                    v.to_string()
                }
            })
            .collect();
        text += &format!(
            "{label},{},{},{colour},{}\n",
            cells[0],
            cells[1],
            cells[2..].join(",")
        );
    }
    let file = TempFile(std::env::temp_dir().join(format!("nn-csv-{}.csv", std::process::id())));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(text.as_bytes()).unwrap();
    std::fs::write(&file.0, gz.finish().unwrap()).unwrap();

    let s = example::run(&args(&file.0, "kind")).unwrap();
    let gaps = (0..400).filter(|i| i % 37 == 5).count();
    assert_eq!((s.rows, s.dropped), (400 - gaps, gaps));
    assert_eq!(s.features, 6 + 3);
    assert_eq!(s.classes, ["0", "1", "2", "3"]);
    // Chance is 0.25.
    assert!(s.test_accuracy > 0.6, "{}", s.test_accuracy);
}

nn::model! {
    struct Small { input: 4, out: Dense(2, softmax) }
}

#[test]
fn a_dataset_of_another_shape_is_refused_by_name() {
    let data = Dataset::from_slices(&[0.0; 30], &[0.0; 10], &[3], 1).unwrap();
    let mut t = Small::new(0).compile(Adam::new(1e-2), Loss::SparseCategoricalCrossentropy);
    let e = t.fit_dataset(&data, Fit::new()).unwrap_err().to_string();
    assert!(
        e.contains("[3]") && e.contains("`Small`") && e.contains("[4]"),
        "{e}"
    );
    assert!(t.evaluate_dataset(&data).is_err() && t.predict_dataset(&data).is_err());
    let good = Dataset::from_slices(&[0.5; 40], &[1.0; 10], &[4], 1).unwrap();
    t.fit_dataset(&good, Fit::new().epochs(3).verbose(Verbose::Silent))
        .unwrap();
    assert_eq!(t.predict_dataset(&good).unwrap().len(), 20);
    assert_eq!(t.predict_classes(good.x()).unwrap(), [1; 10]);
}

#[test]
fn a_dataset_from_idx_files_carries_the_image_shape() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist");
    let d = Dataset::from_idx(
        dir.join("t10k-images-idx3-ubyte.gz"),
        dir.join("t10k-labels-idx1-ubyte.gz"),
    )
    .unwrap();
    assert_eq!(d.shape(), [28, 28]);
    assert_eq!(d.len(), 10_000);
    assert_eq!(d.classes(), 10);
    assert!(d.x().iter().all(|&v| (0.0..=1.0).contains(&v)));
    let e = Dataset::from_idx(
        dir.join("t10k-labels-idx1-ubyte.gz"),
        dir.join("t10k-images-idx3-ubyte.gz"),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("labels file"), "{e}");
}

#[test]
fn scalers_saved_to_files_come_back_equal() {
    let mut data = Dataset::from_slices(
        &[1.0, 10.0, 3.0, 14.0, 5.0, 9.0, 7.0, 11.0],
        &[0.0, 1.0, 0.0, 1.0],
        &[2],
        1,
    )
    .unwrap();
    let standard = StandardScaler::fit(data.x(), 2).unwrap();
    let minmax = MinMaxScaler::fit_transform_dataset(&mut data).unwrap();
    assert_eq!(&data.x()[..2], [0.0, 0.2]);
    let dir = std::env::temp_dir().join(format!("nn-scalers-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = TempFile(dir.join("standard.bin"));
    standard.save(&file.0).unwrap();
    assert_eq!(StandardScaler::load(&file.0).unwrap(), standard);
    let file2 = TempFile(dir.join("minmax.bin"));
    minmax.save(&file2.0).unwrap();
    assert_eq!(MinMaxScaler::load(&file2.0).unwrap(), minmax);
    // A file that is not a scaler is refused, naming it.
    std::fs::write(&file2.0, [1, 2, 3]).unwrap();
    let e = MinMaxScaler::load(&file2.0).unwrap_err().to_string();
    assert!(
        e.contains("minmax.bin") && e.contains("MinMaxScaler"),
        "{e}"
    );
    drop((file, file2));
    let _ = std::fs::remove_dir(&dir);
}
