//! The `score_digits` example, run as a test: its counts on crafted probabilities (closed
//! form), its scores of a crafted IDX file against the probabilities PyTorch computes for the
//! same images with the same perceptron and convolutional network
//! (`tests/data/gen_score_digits.py`), recognition of the weights file's model, and errors.
#![cfg(feature = "std")]

#[path = "../examples/score_digits.rs"]
#[allow(dead_code)]
mod example;

use example::{Classifier, Kind, Score};
use std::path::{Path, PathBuf};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// Ten probabilities: `rest` spread evenly, then the pairs of `peaks` set.
fn row(peaks: &[(usize, f32)]) -> [f32; 10] {
    let mut r = [0.01; 10];
    for &(c, p) in peaks {
        r[c] = p;
    }
    r
}

#[test]
fn counts_confident_and_labelled_samples() {
    let rows = [
        row(&[(3, 0.95)]),
        row(&[(0, 0.9)]),             // exactly the threshold: confident
        row(&[(0, 0.5)]),             // labelled 0, not confident
        row(&[(2, 0.45), (7, 0.45)]), // a tie: the first class, not confident
        row(&[(3, 0.99)]),
    ];
    let probabilities: Vec<f32> = rows.iter().flatten().copied().collect();
    let score = Score::new(&probabilities, 0.9).unwrap();
    assert_eq!(score.samples, 5);
    assert_eq!(score.labelled, [2, 0, 1, 2, 0, 0, 0, 0, 0, 0]);
    assert_eq!(score.confident, [1, 0, 0, 2, 0, 0, 0, 0, 0, 0]);
    assert!((score.confident_share() - 0.6).abs() < 1e-12);
    let shares = score.class_shares();
    assert!((shares[0] - 1.0 / 3.0).abs() < 1e-12 && (shares[3] - 2.0 / 3.0).abs() < 1e-12);
    assert_eq!(score.rarest(), (1, 0.0));
    let rates = score.confident_rates();
    assert_eq!(
        (rates[0], rates[1], rates[2], rates[3]),
        (Some(0.5), None, Some(0.0), Some(1.0))
    );
    assert_eq!(
        score.line("g.idx", "cnn"),
        "file=g.idx classifier=cnn samples=5 confident=0.600 min_class_share=0.000 rarest=1 \
         classes=[0.333, 0.000, 0.000, 0.667, 0.000, 0.000, 0.000, 0.000, 0.000, 0.000] \
         labelled=[0.400, 0.000, 0.200, 0.400, 0.000, 0.000, 0.000, 0.000, 0.000, 0.000] \
         confident_rate=[0.500, -, 0.000, 1.000, -, -, -, -, -, -]"
    );
    // Every class present: the rarest is the smallest share, not the first.
    let mut all: Vec<f32> = Vec::new();
    for c in 0..10 {
        for _ in 0..(if c == 6 { 1 } else { 2 }) {
            all.extend(row(&[(c, 0.97)]));
        }
    }
    let score = Score::new(&all, 0.9).unwrap();
    assert_eq!(score.rarest().0, 6);
    assert!((score.rarest().1 - 1.0 / 19.0).abs() < 1e-12);
}

#[test]
fn bad_probabilities_are_errors() {
    let err = Score::new(&[0.1; 15], 0.9).unwrap_err();
    assert!(err.contains("15 probabilities"), "{err}");
    let mut p = [0.1f32; 20];
    p[13] = f32::NAN;
    let err = Score::new(&p, 0.9).unwrap_err();
    assert!(err.contains("sample 1") && err.contains("NaN"), "{err}");
}

fn expected(model: &str) -> (Vec<Vec<f32>>, f32) {
    let text = std::fs::read_to_string(data("score_digits_expected.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let rows = json[model]["probs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() as f32)
                .collect()
        })
        .collect();
    (rows, json[model]["confidence"].as_f64().unwrap() as f32)
}

#[test]
fn scores_a_crafted_file_as_pytorch_does() {
    for (weights, kind, name) in [
        ("mnist_mlp.safetensors", Kind::Mlp, "mlp"),
        ("mnist_cnn.safetensors", Kind::Cnn, "cnn"),
    ] {
        // Recognised from the file, and accepted when named.
        for asked in [Kind::Auto, kind] {
            let classifier = Classifier::load(&data(weights), asked).unwrap();
            assert_eq!(classifier.name(), name);
        }
        let classifier = Classifier::load(&data(weights), Kind::Auto).unwrap();
        let (rows, confidence) = expected(name);
        // PyTorch's counts, computed here from its probabilities.
        let (mut labelled, mut confident) = ([0usize; 10], [0usize; 10]);
        for r in &rows {
            let (best, p) = r
                .iter()
                .enumerate()
                .fold((0, r[0]), |b, (c, &p)| if p > b.1 { (c, p) } else { b });
            labelled[best] += 1;
            if p >= confidence {
                confident[best] += 1;
            }
        }
        let score =
            example::score_file(&classifier, &data("score_digits.idx"), confidence).unwrap();
        assert_eq!(score.samples, 40, "{name}");
        assert_eq!(score.labelled, labelled, "{name}");
        assert_eq!(score.confident, confident, "{name}");
        // A threshold that lets some samples through and stops others.
        let n: usize = confident.iter().sum();
        assert!(n > 0 && n < 40, "{name}: {n}");
        assert!(labelled.iter().filter(|&&c| c > 0).count() >= 2, "{name}");
    }
}

#[test]
fn wrong_weights_and_files_are_errors() {
    let err = Classifier::load(&data("mnist_mlp.safetensors"), Kind::Cnn)
        .err()
        .unwrap();
    assert!(err.contains("--classifier-kind cnn"), "{err}");
    let err = Classifier::load(&data("row_reader_lstm.safetensors"), Kind::Auto)
        .err()
        .unwrap();
    assert!(
        err.contains("neither") && err.contains("As a perceptron") && err.contains("As a conv"),
        "{err}"
    );
    let err = Classifier::load(&data("no_such_file.safetensors"), Kind::Auto)
        .err()
        .unwrap();
    assert!(err.contains("no_such_file"), "{err}");

    let classifier = Classifier::load(&data("mnist_mlp.safetensors"), Kind::Mlp).unwrap();
    let dir = std::env::temp_dir().join(format!("nn-score-digits-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (dims, what) in [
        (&[2u32, 27, 28][..], "[2, 27, 28]"),
        (&[2, 28, 28, 1][..], "[2, 28, 28, 1]"),
    ] {
        let path = dir.join("bad.idx");
        let mut bytes = vec![0, 0, 8, u8::try_from(dims.len()).unwrap()];
        for &d in dims {
            bytes.extend(d.to_be_bytes());
        }
        bytes.resize(bytes.len() + dims.iter().product::<u32>() as usize, 7);
        std::fs::write(&path, bytes).unwrap();
        let err = example::score_file(&classifier, &path, 0.9).unwrap_err();
        assert!(err.contains("N x 28 x 28") && err.contains(what), "{err}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
