//! Scores generated digits with a classifier trained on real MNIST: how many it labels with
//! confidence >= 0.9, and how those spread over the ten classes (a GAN that draws only a few
//! digits, or none clearly, shows here). Judges `gan_mnist --samples` and the PyTorch
//! script's `--samples` with the same classifier.
//!
//! ```text
//! cargo run --release --example adversarial_mnist -- --save mlp.safetensors
//! cargo run --release --example score_digits -- --classifier mlp.safetensors gan.idx torch.idx
//! ```
//! One line per file: `file=gan.idx samples=1000 confident=0.812 min_class_share=0.061
//! classes=[...]` (the share of each class among the confident samples).

#[path = "support/models.rs"]
mod models;
use models::MnistMlp;

use clap::Parser;
use nn::data::idx::read_idx;
use nn::prelude::*;
use std::path::PathBuf;

/// Scores IDX files of 28x28 digits with an MNIST classifier.
#[derive(Parser, Debug)]
#[command(name = "score_digits")]
struct Args {
    /// The classifier's weights: the MNIST perceptron (`mnist_mlp --save`,
    /// `adversarial_mnist --save`).
    #[arg(long)]
    classifier: PathBuf,
    /// Confidence that counts as recognised.
    #[arg(long, default_value_t = 0.9)]
    confidence: f32,
    /// IDX files of unsigned bytes, N x 28 x 28.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let mut model = MnistMlp::new(0);
    model.load_weights(&args.classifier)?;
    for path in &args.files {
        let idx = read_idx(path)?;
        if idx.dims.len() != 3 || idx.dims[1..] != [28, 28] {
            return Err(format!(
                "{}: expected N x 28 x 28 digits, found dimensions {:?}",
                path.display(),
                idx.dims
            )
            .into());
        }
        let x: Vec<f32> = idx.data.iter().map(|&p| f32::from(p) / 255.0).collect();
        let mut ws = Workspace::new();
        let probabilities = ws.forward(&model, &x, Pass::Eval)?;
        let mut classes = [0usize; 10];
        for row in probabilities.chunks_exact(10) {
            let (best, p) = row
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .expect("ten classes");
            if *p >= args.confidence {
                classes[best] += 1;
            }
        }
        let confident: usize = classes.iter().sum();
        #[allow(clippy::cast_precision_loss)]
        let shares: Vec<f64> = classes
            .iter()
            .map(|&c| c as f64 / confident.max(1) as f64)
            .collect();
        let min = shares.iter().copied().fold(f64::INFINITY, f64::min);
        #[allow(clippy::cast_precision_loss)]
        let share = confident as f64 / idx.dims[0] as f64;
        println!(
            "file={} samples={} confident={share:.3} min_class_share={min:.3} classes=[{}]",
            path.display(),
            idx.dims[0],
            shares
                .iter()
                .map(|s| format!("{s:.3}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(())
}
