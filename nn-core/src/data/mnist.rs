//! The MNIST database (and data sets in its format: Fashion-MNIST, EMNIST, KMNIST), read
//! from its four IDX files.
//!
//! ```no_run
//! use nn_core::data::Mnist;
//! let mnist = Mnist::load("data/mnist")?;
//! assert_eq!((mnist.train_len(), mnist.test_len()), (60_000, 10_000));
//! let (x, y) = (mnist.train_x(), mnist.train_y()); // 784 values in [0, 1] per image; labels
//! # Ok::<(), nn_core::Error>(())
//! ```

use std::format;
use std::io;
use std::path::{Path, PathBuf};
use std::string::ToString;
use std::vec::Vec;

use super::idx::{dims_text, format_error, read_idx};
use crate::error::{Error, Result};

/// The MNIST database (or a data set in its format): images and labels of the training and
/// test sets, as read from the IDX files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mnist {
    /// Training images, `rows * cols` bytes each, one after the other (pixel values 0..=255).
    pub train_images: Vec<u8>,
    /// Training labels, one per image.
    pub train_labels: Vec<u8>,
    /// Test images, `rows * cols` bytes each.
    pub test_images: Vec<u8>,
    /// Test labels, one per image.
    pub test_labels: Vec<u8>,
    /// Image height in pixels.
    pub rows: usize,
    /// Image width in pixels.
    pub cols: usize,
}

/// MNIST's four file names, in the order train images, train labels, test images, test
/// labels.
const NAMES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

/// The first existing file among `name`, `name.gz` and their dotted variants
/// (`train-images.idx3-ubyte`) in `dir`.
fn find(dir: &Path, name: &str) -> Result<PathBuf> {
    let dotted = name.replacen("-idx", ".idx", 1);
    let candidates = [
        name.to_string(),
        format!("{name}.gz"),
        dotted.clone(),
        format!("{dotted}.gz"),
    ];
    for c in &candidates {
        let path = dir.join(c);
        if path.is_file() {
            return Ok(path);
        }
    }
    let error = io::Error::new(
        io::ErrorKind::NotFound,
        format!(
            "MNIST file not found: tried {} in {}",
            candidates.join(", "),
            dir.display()
        ),
    );
    Err(Error::Io {
        path: dir.join(name),
        error,
    })
}

/// Reads an image file (3-D) and its label file (1-D) and checks they agree. Returns
/// images, labels, rows and columns.
fn load_pair(images: &Path, labels: &Path) -> Result<(Vec<u8>, Vec<u8>, usize, usize)> {
    let name = |p: &Path| p.display().to_string();
    let img = read_idx(images)?;
    let [count, rows, cols] = img.dims[..] else {
        return Err(format_error(
            &name(images),
            format!(
                "wrong dimensions for an image file: expected 3 (count x rows x cols), found {} ({})",
                img.dims.len(),
                dims_text(&img.dims)
            ),
        ));
    };
    let lab = read_idx(labels)?;
    let [n] = lab.dims[..] else {
        return Err(format_error(
            &name(labels),
            format!(
                "wrong dimensions for a label file: expected 1 (count), found {} ({})",
                lab.dims.len(),
                dims_text(&lab.dims)
            ),
        ));
    };
    if n != count {
        return Err(format_error(
            &name(labels),
            format!(
                "holds {n} labels, but {} holds {count} images",
                name(images)
            ),
        ));
    }
    Ok((img.data, lab.data, rows, cols))
}

impl Mnist {
    /// Loads the four files of MNIST's naming from `dir`: `train-images-idx3-ubyte`,
    /// `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte` and `t10k-labels-idx1-ubyte`.
    ///
    /// Each may be plain or gzip-compressed with a `.gz` suffix, and may use the dotted
    /// spelling (`train-images.idx3-ubyte`); the first of `name`, `name.gz`, dotted,
    /// dotted `.gz` that exists is read. Labels may be any byte value, so other data sets in
    /// MNIST's format (Fashion-MNIST, KMNIST, ...) load too.
    ///
    /// ```no_run
    /// use nn_core::data::Mnist;
    /// let m = Mnist::load("data/mnist")?;
    /// assert_eq!((m.rows, m.cols), (28, 28));
    /// # Ok::<(), nn_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Io`] when a file is missing (naming the names tried) or unreadable;
    /// [`Error::Format`] naming the file for anything [`parse_idx`](super::idx::parse_idx) rejects, image files that
    /// are not 3-D or label files that are not 1-D, images and labels of different counts,
    /// and training and test images of different sizes.
    pub fn load(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let mut paths = Vec::with_capacity(4);
        for name in NAMES {
            paths.push(find(dir, name)?);
        }
        let (train_images, train_labels, rows, cols) = load_pair(&paths[0], &paths[1])?;
        let (test_images, test_labels, test_rows, test_cols) = load_pair(&paths[2], &paths[3])?;
        if (test_rows, test_cols) != (rows, cols) {
            return Err(format_error(
                &paths[2].display().to_string(),
                format!(
                    "test images are {test_rows}x{test_cols}, but the training images ({}) are {rows}x{cols}",
                    paths[0].display()
                ),
            ));
        }
        Ok(Self {
            train_images,
            train_labels,
            test_images,
            test_labels,
            rows,
            cols,
        })
    }

    /// Number of training samples.
    #[must_use]
    pub fn train_len(&self) -> usize {
        self.train_labels.len()
    }

    /// Number of test samples.
    #[must_use]
    pub fn test_len(&self) -> usize {
        self.test_labels.len()
    }

    /// Pixels per image: `rows * cols`.
    #[must_use]
    pub fn pixels(&self) -> usize {
        self.rows * self.cols
    }

    /// Training images as `f32` in `[0, 1]` (pixel / 255), flat row-major, `pixels()`
    /// values per image.
    #[must_use]
    pub fn train_x(&self) -> Vec<f32> {
        scale_pixels(&self.train_images)
    }

    /// Test images as `f32` in `[0, 1]` (pixel / 255), flat row-major.
    #[must_use]
    pub fn test_x(&self) -> Vec<f32> {
        scale_pixels(&self.test_images)
    }

    /// Training labels as `f32` class indices.
    #[must_use]
    pub fn train_y(&self) -> Vec<f32> {
        self.train_labels.iter().map(|&l| f32::from(l)).collect()
    }

    /// Test labels as `f32` class indices.
    #[must_use]
    pub fn test_y(&self) -> Vec<f32> {
        self.test_labels.iter().map(|&l| f32::from(l)).collect()
    }
}

fn scale_pixels(pixels: &[u8]) -> Vec<f32> {
    pixels.iter().map(|&p| f32::from(p) / 255.0).collect()
}
