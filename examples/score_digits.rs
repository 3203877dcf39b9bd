//! Scores generated digits with a classifier trained on real MNIST: how many it labels with
//! confidence >= 0.9, and how those spread over the ten classes (a GAN that draws only a few
//! digits, or none clearly, shows here). Judges `gan_mnist --samples` and the PyTorch
//! script's `--samples` with the same classifier: the MNIST perceptron or, a stronger judge,
//! the MNIST convolutional network.
//!
//! ```text
//! cargo run --release --example mnist_cnn -- --epochs 8 --save cnn.safetensors
//! cargo run --release --example adversarial_mnist -- --save mlp.safetensors
//! cargo run --release --example score_digits -- --classifier cnn.safetensors gan.idx torch.idx
//! ```
//! `--classifier-kind auto` (the default) recognises the file's model (perceptron or
//! convolutional network) by loading it; `mlp` or `cnn` insists on one. One line per file:
//! ```text
//! file=gan.idx classifier=cnn samples=1000 confident=0.812 min_class_share=0.061 rarest=0
//!     classes=[...] labelled=[...] confident_rate=[...]
//! ```
//! `classes`: the share of each class among the confident samples (the criterion);
//! `labelled`: the share of each class among all samples, by the classifier's most probable
//! class whatever its confidence (how often the generator draws each digit);
//! `confident_rate`: for each class, the share of the samples labelled with it that are
//! confident (how clearly the generator draws it; `-` for a class no sample got).

#[path = "support/out.rs"]
#[macro_use]
mod out;

#[path = "support/models.rs"]
mod models;
use models::{MnistCnn, MnistMlp};

use clap::{Parser, ValueEnum};
use nn::data::idx::read_idx;
use nn::prelude::*;
use std::path::{Path, PathBuf};

/// Scores IDX files of 28x28 digits with an MNIST classifier.
#[derive(Parser, Debug)]
#[command(name = "score_digits")]
pub struct Args {
    /// The classifier's weights: the MNIST perceptron (`mnist_mlp --save`,
    /// `adversarial_mnist --save`) or convolutional network (`mnist_cnn --save`).
    #[arg(long)]
    pub classifier: PathBuf,
    /// Which model the weights are for; `auto` recognises it from the file.
    #[arg(long, value_enum, default_value_t = Kind::Auto)]
    pub classifier_kind: Kind,
    /// Confidence that counts as recognised (0 < c <= 1).
    #[arg(long, default_value_t = 0.9)]
    pub confidence: f32,
    /// IDX files of unsigned bytes, N x 28 x 28.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// The classifier's model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    /// Whichever of the two the weights file holds.
    Auto,
    /// The MNIST perceptron, 784-128-10.
    Mlp,
    /// The MNIST convolutional network.
    Cnn,
}

/// A trained MNIST classifier.
pub enum Classifier {
    /// The perceptron.
    Mlp(Box<MnistMlp>),
    /// The convolutional network.
    Cnn(Box<MnistCnn>),
}

impl Classifier {
    /// Loads the weights at `path` into the model `kind` names; `Kind::Auto` tries the
    /// perceptron, then the convolutional network.
    ///
    /// # Errors
    /// The file cannot be read, or its tensors fit no model asked for (each model's reason).
    pub fn load(path: &Path, kind: Kind) -> Result<Self, String> {
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let name = path.display().to_string();
        let mlp = || -> nn::Result<Self> {
            let mut model = Box::new(MnistMlp::new(0));
            nn::weights::load_bytes(&mut *model, &bytes, &name)?;
            Ok(Self::Mlp(model))
        };
        let cnn = || -> nn::Result<Self> {
            let mut model = Box::new(MnistCnn::new(0));
            nn::weights::load_bytes(&mut *model, &bytes, &name)?;
            Ok(Self::Cnn(model))
        };
        match kind {
            Kind::Mlp => mlp().map_err(|e| format!("{e} (--classifier-kind mlp)")),
            Kind::Cnn => cnn().map_err(|e| format!("{e} (--classifier-kind cnn)")),
            Kind::Auto => mlp().or_else(|as_mlp| {
                cnn().map_err(|as_cnn| {
                    format!(
                        "{name} holds neither the MNIST perceptron's nor the convolutional \
                         network's weights. As a perceptron: {as_mlp}. As a convolutional \
                         network: {as_cnn}"
                    )
                })
            }),
        }
    }

    /// `mlp` or `cnn`.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::Mlp(_) => "mlp",
            Self::Cnn(_) => "cnn",
        }
    }

    /// The ten class probabilities of each image of `x` (pixels in [0, 1], 784 per image).
    ///
    /// # Errors
    /// The model's errors for a bad input.
    pub fn probabilities(&self, x: &[f32]) -> nn::Result<Vec<f32>> {
        match self {
            Self::Mlp(model) => Ok(Workspace::new().forward(&**model, x, Pass::Eval)?.to_vec()),
            Self::Cnn(model) => Ok(Workspace::new().forward(&**model, x, Pass::Eval)?.to_vec()),
        }
    }
}

/// How a classifier labels a set of samples.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Score {
    /// Samples scored.
    pub samples: usize,
    /// Samples whose most probable class is each class, whatever the confidence.
    pub labelled: [usize; 10],
    /// Samples whose most probable class is each class with at least the confidence asked.
    pub confident: [usize; 10],
}

impl Score {
    /// Counts `probabilities` (ten per sample) against `confidence`: a sample is confident
    /// when its largest probability is at least `confidence`.
    ///
    /// # Errors
    /// The length is not a multiple of ten, or a probability is not finite (names the sample).
    pub fn new(probabilities: &[f32], confidence: f32) -> Result<Self, String> {
        if !probabilities.len().is_multiple_of(10) {
            return Err(format!(
                "{} probabilities are not ten per sample",
                probabilities.len()
            ));
        }
        let mut score = Self {
            samples: probabilities.len() / 10,
            labelled: [0; 10],
            confident: [0; 10],
        };
        for (i, row) in probabilities.chunks_exact(10).enumerate() {
            if let Some(p) = row.iter().find(|p| !p.is_finite()) {
                return Err(format!("sample {i}: the classifier gave probability {p}"));
            }
            // The first of equal maxima, as PyTorch's argmax.
            let (best, p) =
                row.iter()
                    .enumerate()
                    .fold((0, row[0]), |b, (c, &p)| if p > b.1 { (c, p) } else { b });
            score.labelled[best] += 1;
            if p >= confidence {
                score.confident[best] += 1;
            }
        }
        Ok(score)
    }

    /// Confident samples over all samples (0 without samples).
    #[must_use]
    pub fn confident_share(&self) -> f64 {
        ratio(self.confident.iter().sum(), self.samples)
    }

    /// Each class's share of the confident samples (zeros without confident samples).
    #[must_use]
    pub fn class_shares(&self) -> [f64; 10] {
        let total = self.confident.iter().sum();
        self.confident.map(|c| ratio(c, total))
    }

    /// Each class's share of all samples by most probable class.
    #[must_use]
    pub fn labelled_shares(&self) -> [f64; 10] {
        self.labelled.map(|c| ratio(c, self.samples))
    }

    /// The rarest class among the confident samples (the first of equals) and its share.
    #[must_use]
    pub fn rarest(&self) -> (usize, f64) {
        let shares = self.class_shares();
        (0..10).fold((0, shares[0]), |r, c| {
            if shares[c] < r.1 {
                (c, shares[c])
            } else {
                r
            }
        })
    }

    /// For each class, the confident samples over the samples labelled with it (`None`
    /// for a class no sample got).
    #[must_use]
    pub fn confident_rates(&self) -> [Option<f64>; 10] {
        core::array::from_fn(|c| {
            (self.labelled[c] > 0).then(|| ratio(self.confident[c], self.labelled[c]))
        })
    }

    /// The example's line for `file`, scored by `classifier` (`mlp` or `cnn`).
    #[must_use]
    pub fn line(&self, file: &str, classifier: &str) -> String {
        let list = |v: &[f64]| {
            v.iter()
                .map(|s| format!("{s:.3}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let rates = self
            .confident_rates()
            .iter()
            .map(|r| r.map_or_else(|| "-".to_owned(), |r| format!("{r:.3}")))
            .collect::<Vec<_>>()
            .join(", ");
        let (rarest, min) = self.rarest();
        format!(
            "file={file} classifier={classifier} samples={} confident={:.3} \
             min_class_share={min:.3} rarest={rarest} classes=[{}] labelled=[{}] \
             confident_rate=[{rates}]",
            self.samples,
            self.confident_share(),
            list(&self.class_shares()),
            list(&self.labelled_shares()),
        )
    }
}

#[allow(clippy::cast_precision_loss)]
fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// Reads the IDX file at `path` (N x 28 x 28 bytes) and scores it with `classifier`.
///
/// # Errors
/// The file cannot be read, is not N x 28 x 28, or the classifier fails.
pub fn score_file(classifier: &Classifier, path: &Path, confidence: f32) -> Result<Score, String> {
    let idx = read_idx(path).map_err(|e| e.to_string())?;
    if idx.dims.len() != 3 || idx.dims[1..] != [28, 28] {
        return Err(format!(
            "{}: expected N x 28 x 28 digits, found dimensions {:?}",
            path.display(),
            idx.dims
        ));
    }
    let x: Vec<f32> = idx.data.iter().map(|&p| f32::from(p) / 255.0).collect();
    let probabilities = classifier.probabilities(&x).map_err(|e| e.to_string())?;
    Score::new(&probabilities, confidence).map_err(|e| format!("{}: {e}", path.display()))
}

fn main() -> Result<(), out::Failure> {
    let args = Args::parse();
    if !(args.confidence > 0.0 && args.confidence <= 1.0) {
        return Err(format!("--confidence {} is not in (0, 1]", args.confidence).into());
    }
    let classifier = Classifier::load(&args.classifier, args.classifier_kind)?;
    for path in &args.files {
        let score = score_file(&classifier, path, args.confidence)?;
        outln!(
            "{}",
            score.line(&path.display().to_string(), classifier.name())
        );
    }
    Ok(())
}
