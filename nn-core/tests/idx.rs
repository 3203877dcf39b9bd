//! `Mnist::load` and `read_idx` on files: one test per kind of error, a synthetic data set
//! in every supported file naming, and the real MNIST in `data/mnist`.
#![cfg(feature = "std")]

use std::path::Path;

use nn_core::data::idx::read_idx;
use nn_core::data::Mnist;
use nn_core::Error;

mod common;
use common::{gz, idx, TempDir};

fn images(count: u32, rows: u32, cols: u32) -> Vec<u8> {
    let data: Vec<u8> = (0..count * rows * cols)
        .map(|i| (i * 7 % 256) as u8)
        .collect();
    idx(&[count, rows, cols], &data)
}

fn labels(count: u32) -> Vec<u8> {
    let data: Vec<u8> = (0..count).map(|i| (i % 10) as u8).collect();
    idx(&[count], &data)
}

/// A complete, valid small data set: 5 training and 3 test images of 4x3 pixels.
fn valid_set(tag: &str) -> TempDir {
    let dir = TempDir::new(tag);
    dir.write("train-images-idx3-ubyte", &images(5, 4, 3));
    dir.write("train-labels-idx1-ubyte", &labels(5));
    dir.write("t10k-images-idx3-ubyte", &images(3, 4, 3));
    dir.write("t10k-labels-idx1-ubyte", &labels(3));
    dir
}

/// `Mnist::load`'s error message for `dir`, checking it is a `Format` error naming `file`.
fn format_error(dir: &TempDir, file: &str) -> String {
    let err = Mnist::load(&dir.0).unwrap_err();
    match &err {
        Error::Format { source_name, .. } => {
            assert!(
                Path::new(source_name).ends_with(file),
                "error names {source_name}, not {file}"
            );
        }
        other => panic!("expected a format error, got {other:?}"),
    }
    err.to_string()
}

#[test]
fn loads_a_small_set_in_every_naming() {
    let dir = TempDir::new("valid");
    // Plain, gzipped, dotted and dotted gzipped.
    dir.write("train-images-idx3-ubyte", &images(5, 4, 3));
    dir.write("train-labels-idx1-ubyte.gz", &gz(&labels(5)));
    dir.write("t10k-images.idx3-ubyte", &images(3, 4, 3));
    dir.write("t10k-labels.idx1-ubyte.gz", &gz(&labels(3)));
    let m = Mnist::load(&dir.0).unwrap();
    assert_eq!(
        (m.train_len(), m.test_len(), m.rows, m.cols, m.pixels()),
        (5, 3, 4, 3, 12)
    );
    assert_eq!(m.train_images.len(), 60);
    assert_eq!(m.test_images.len(), 36);
    assert_eq!(m.train_y(), [0.0, 1.0, 2.0, 3.0, 4.0]);
    assert_eq!(m.test_y(), [0.0, 1.0, 2.0]);
    let x = m.train_x();
    assert_eq!(x.len(), 60);
    assert_eq!(x[1], 7.0 / 255.0);
    assert!(x.iter().all(|v| (0.0..=1.0).contains(v)));
    assert_eq!(m.test_x().len(), 36);

    // The plain file is preferred when both exist; content is detected, not named: a
    // gzipped file under a plain name also loads.
    dir.write("train-labels-idx1-ubyte", &gz(&labels(5)));
    assert_eq!(Mnist::load(&dir.0).unwrap(), m);
}

#[test]
fn labels_above_nine_are_accepted() {
    let dir = valid_set("labels255");
    dir.write("train-labels-idx1-ubyte", &idx(&[5], &[0, 9, 10, 200, 255]));
    let m = Mnist::load(&dir.0).unwrap();
    assert_eq!(m.train_y(), [0.0, 9.0, 10.0, 200.0, 255.0]);
}

#[test]
fn missing_file_is_an_io_error_naming_the_names_tried() {
    let dir = TempDir::new("missing");
    let err = Mnist::load(&dir.0).unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(&err, Error::Io { error, .. } if error.kind() == std::io::ErrorKind::NotFound)
    );
    for name in [
        "train-images-idx3-ubyte",
        "train-images-idx3-ubyte.gz",
        "train-images.idx3-ubyte",
        "train-images.idx3-ubyte.gz",
    ] {
        assert!(text.contains(name), "{text}");
    }

    let dir = valid_set("missing-one");
    std::fs::remove_file(dir.0.join("t10k-labels-idx1-ubyte")).unwrap();
    let text = Mnist::load(&dir.0).unwrap_err().to_string();
    assert!(
        text.contains("not found") && text.contains("t10k-labels-idx1-ubyte.gz"),
        "{text}"
    );

    let err = read_idx(dir.0.join("nothing-here")).unwrap_err();
    assert!(matches!(&err, Error::Io { path, .. } if path.ends_with("nothing-here")));
}

#[test]
fn wrong_magic_number() {
    let dir = valid_set("magic");
    let mut bytes = images(5, 4, 3);
    bytes[0] = 8;
    dir.write("train-images-idx3-ubyte", &bytes);
    let text = format_error(&dir, "train-images-idx3-ubyte");
    assert!(text.contains("wrong magic number"), "{text}");
}

#[test]
fn unsupported_element_type() {
    let dir = valid_set("type");
    let mut bytes = labels(5);
    bytes[2] = 0x0C;
    dir.write("train-labels-idx1-ubyte", &bytes);
    let text = format_error(&dir, "train-labels-idx1-ubyte");
    assert!(text.contains("unsupported IDX element type 0x0c"), "{text}");
}

#[test]
fn images_must_be_three_dimensional() {
    let dir = valid_set("img-dims");
    dir.write("t10k-images-idx3-ubyte", &idx(&[3, 12], &[0; 36]));
    let text = format_error(&dir, "t10k-images-idx3-ubyte");
    assert!(
        text.contains("wrong dimensions for an image file: expected 3") && text.contains("3x12"),
        "{text}"
    );
}

#[test]
fn labels_must_be_one_dimensional() {
    let dir = valid_set("lab-dims");
    dir.write("train-labels-idx1-ubyte", &idx(&[5, 1], &[0; 5]));
    let text = format_error(&dir, "train-labels-idx1-ubyte");
    assert!(
        text.contains("wrong dimensions for a label file: expected 1"),
        "{text}"
    );
}

#[test]
fn zero_dimension() {
    let dir = valid_set("zero-dim");
    dir.write("train-images-idx3-ubyte", &idx(&[5, 0, 3], &[]));
    let text = format_error(&dir, "train-images-idx3-ubyte");
    assert!(text.contains("dimension 2 of 3 is zero"), "{text}");
}

#[test]
fn overflowing_dimensions() {
    let dir = valid_set("overflow");
    dir.write(
        "train-images-idx3-ubyte",
        &idx(&[u32::MAX, u32::MAX, u32::MAX], &[1, 2, 3]),
    );
    let text = format_error(&dir, "train-images-idx3-ubyte");
    assert!(text.contains("overflow"), "{text}");
}

#[test]
fn truncated_header() {
    let dir = valid_set("short-header");
    dir.write("t10k-images-idx3-ubyte", &images(3, 4, 3)[..9]);
    let text = format_error(&dir, "t10k-images-idx3-ubyte");
    assert!(text.contains("truncated IDX header"), "{text}");
    dir.write("t10k-images-idx3-ubyte", &[]);
    let text = format_error(&dir, "t10k-images-idx3-ubyte");
    assert!(text.contains("truncated IDX header"), "{text}");
}

#[test]
fn truncated_body() {
    let dir = valid_set("short-body");
    let bytes = images(5, 4, 3);
    dir.write("train-images-idx3-ubyte.gz", &gz(&bytes[..bytes.len() - 1]));
    std::fs::remove_file(dir.0.join("train-images-idx3-ubyte")).unwrap();
    let text = format_error(&dir, "train-images-idx3-ubyte.gz");
    assert!(
        text.contains("truncated IDX data")
            && text.contains("need 60 bytes")
            && text.contains("only 59"),
        "{text}"
    );
}

#[test]
fn trailing_garbage() {
    let dir = valid_set("trailing");
    let mut bytes = labels(3);
    bytes.extend_from_slice(b"\n\n");
    dir.write("t10k-labels-idx1-ubyte", &bytes);
    let text = format_error(&dir, "t10k-labels-idx1-ubyte");
    assert!(text.contains("trailing garbage: 2 bytes"), "{text}");
}

#[test]
fn corrupt_gzip_stream() {
    let dir = valid_set("gzip");
    std::fs::remove_file(dir.0.join("train-labels-idx1-ubyte")).unwrap();
    let good = gz(&labels(5));
    // Cut short.
    dir.write("train-labels-idx1-ubyte.gz", &good[..good.len() - 5]);
    let text = format_error(&dir, "train-labels-idx1-ubyte.gz");
    assert!(text.contains("corrupt gzip stream"), "{text}");
    // Damaged checksum.
    let mut bad = good.clone();
    let n = bad.len();
    bad[n - 6] ^= 0xff;
    dir.write("train-labels-idx1-ubyte.gz", &bad);
    let text = format_error(&dir, "train-labels-idx1-ubyte.gz");
    assert!(text.contains("corrupt gzip stream"), "{text}");
}

#[test]
fn image_and_label_counts_differ() {
    let dir = valid_set("counts");
    dir.write("t10k-labels-idx1-ubyte", &labels(4));
    let text = format_error(&dir, "t10k-labels-idx1-ubyte");
    assert!(
        text.contains("holds 4 labels") && text.contains("t10k-images-idx3-ubyte holds 3 images"),
        "{text}"
    );
}

#[test]
fn train_and_test_image_sizes_differ() {
    let dir = valid_set("sizes");
    dir.write("t10k-images-idx3-ubyte", &images(3, 3, 4));
    let text = format_error(&dir, "t10k-images-idx3-ubyte");
    assert!(
        text.contains("test images are 3x4") && text.contains("are 4x3"),
        "{text}"
    );
}

#[test]
fn real_mnist() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/mnist");
    let m = Mnist::load(dir).unwrap();
    assert_eq!((m.train_len(), m.test_len()), (60_000, 10_000));
    assert_eq!((m.rows, m.cols), (28, 28));
    assert_eq!(m.train_images.len(), 60_000 * 784);
    assert_eq!(m.test_images.len(), 10_000 * 784);
    assert_eq!(m.train_labels[0], 5);
    let histogram = |labels: &[u8]| {
        let mut h = [0usize; 10];
        for &l in labels {
            h[usize::from(l)] += 1;
        }
        h
    };
    assert_eq!(
        histogram(&m.train_labels),
        [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    );
    assert_eq!(
        histogram(&m.test_labels),
        [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    );
    let x = m.test_x();
    assert_eq!(x.len(), 10_000 * 784);
    assert!(x.iter().all(|v| (0.0..=1.0).contains(v)));
    assert_eq!(x.iter().copied().fold(0.0f32, f32::max), 1.0);
}
