//! Adversarial examples and saliency maps on MNIST, from input gradients.
//!
//! Trains (or loads) the MNIST multi-layer perceptron (`Flatten` -> `Dense(128, relu)` ->
//! `Dense(10, softmax)`, Adam 1e-3, batches of 32) with the explicit training loop, then
//! attacks the test set with the fast gradient sign method (FGSM: `x + epsilon *
//! sign(d loss / d x)`, clipped to the pixel range [0, 1]) at epsilon 0.05, 0.1 and 0.2, and
//! prints the clean and attacked test accuracy. With `--adversarial-training`, every training
//! batch is followed by its FGSM version (epsilon `--train-epsilon`, crafted against the
//! current weights), as in Goodfellow et al.'s adversarial training; the attacked accuracy
//! improves. `--saliency FILE.png` writes eight test digits above their saliency maps (the
//! magnitude of the gradient of the loss with respect to each pixel).
//!
//! ```text
//! cargo run --release --example adversarial_mnist -- --saliency saliency.png
//! cargo run --release --example adversarial_mnist -- --adversarial-training
//! ```
//! Last line, e.g. `clean=0.9770 fgsm_0.05=0.5012 fgsm_0.1=0.0930 fgsm_0.2=0.0031 ...`.

#[path = "support/out.rs"]
#[macro_use]
mod out;

#[path = "support/models.rs"]
mod models;
use models::MnistMlp;

use clap::Parser;
use nn::data::Mnist;
use nn::loss::Loss;
use nn::prelude::*;
use std::path::PathBuf;
use std::time::Instant;

/// FGSM attacks on the MNIST perceptron, adversarial training, saliency maps.
#[derive(Parser, Debug)]
#[command(name = "adversarial_mnist")]
struct Args {
    /// Directory holding MNIST's four IDX files (gzipped or not).
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist"))]
    data: PathBuf,
    /// Training epochs (ignored with `--load`).
    #[arg(long, default_value_t = 5)]
    epochs: usize,
    /// Seed of the initialisation and the shuffling.
    #[arg(long, default_value_t = 4)]
    seed: u64,
    /// Mixes FGSM examples into training: each batch, then its attacked version.
    #[arg(long)]
    adversarial_training: bool,
    /// Epsilon of the FGSM examples of adversarial training.
    #[arg(long, default_value_t = 0.1)]
    train_epsilon: f32,
    /// Loads the perceptron's weights (safetensors, as `mnist_mlp --save` writes) instead of
    /// training.
    #[arg(long)]
    load: Option<PathBuf>,
    /// Saves the trained weights (safetensors).
    #[arg(long)]
    save: Option<PathBuf>,
    /// Writes eight test digits and their saliency maps to this PNG file.
    #[arg(long)]
    saliency: Option<PathBuf>,
}

const PIXELS: usize = 784;
const BATCH: usize = 32;
const EPSILONS: [f32; 3] = [0.05, 0.1, 0.2];

fn main() -> Result<(), out::Failure> {
    let args = Args::parse();
    if !(args.train_epsilon.is_finite() && args.train_epsilon > 0.0) {
        return Err("--train-epsilon must be a positive number".into());
    }
    // Before the training: a wrong path fails now, not after the epochs it was to keep.
    out::check_writable(&[
        ("--save", args.save.as_deref()),
        ("--saliency", args.saliency.as_deref()),
    ])?;
    let mnist = Mnist::load(&args.data)?;
    let (x_train, y_train) = (mnist.train_x(), mnist.train_y());
    let (x_test, y_test) = (mnist.test_x(), mnist.test_y());
    drop(mnist);

    let start = Instant::now();
    let model = match &args.load {
        Some(path) => {
            let mut model = MnistMlp::new(0);
            model.load_weights(path)?;
            model
        }
        None => train(&args, &x_train, &y_train)?,
    };
    let train_seconds = start.elapsed().as_secs_f64();
    if let Some(path) = &args.save {
        model.save_weights(path)?;
        errln!("saved weights to {}", path.display());
    }

    let mut ws = Workspace::new();
    let mut line = format!(
        "clean={:.4}",
        accuracy(&model, &mut ws, &x_test, &y_test, 0.0)?
    );
    for eps in EPSILONS {
        let attacked = accuracy(&model, &mut ws, &x_test, &y_test, eps)?;
        outln!("FGSM epsilon {eps}: test accuracy {attacked:.4}");
        line += &format!(" fgsm_{eps}={attacked:.4}");
    }
    if let Some(path) = &args.saliency {
        write_saliency(&model, &mut ws, &x_test[..8 * PIXELS], &y_test[..8], path)?;
        errln!(
            "wrote eight digits and their saliency maps to {}",
            path.display()
        );
    }
    outln!(
        "{line} adversarial_training={} train_seconds={train_seconds:.1}",
        args.adversarial_training
    );
    Ok(())
}

/// The perceptron trained with the explicit loop: forward, loss, backward, step; with
/// adversarial training, a second step on the batch's FGSM version.
fn train(args: &Args, x: &[f32], y: &[f32]) -> nn::Result<MnistMlp> {
    let mut model = MnistMlp::new(args.seed);
    let mut opt = Adam::new(1e-3);
    opt.validate()?;
    let loss = Loss::SparseCategoricalCrossentropy;
    let (mut ws, mut grads) = (Workspace::new(), Gradients::new());
    let mut rng = Rng::new(args.seed);
    let n = y.len();
    let mut order: Vec<usize> = (0..n).collect();
    let (mut xb, mut yb) = (vec![0.0; BATCH * PIXELS], vec![0.0; BATCH]);
    let mut adversarial = vec![0.0; BATCH * PIXELS];
    for epoch in 0..args.epochs {
        rng.shuffle(&mut order);
        let (mut total, mut steps) = (0.0f64, 0usize);
        for chunk in order.chunks(BATCH) {
            let b = chunk.len();
            for (k, &i) in chunk.iter().enumerate() {
                xb[k * PIXELS..(k + 1) * PIXELS].copy_from_slice(&x[i * PIXELS..(i + 1) * PIXELS]);
                yb[k] = y[i];
            }
            let (xb, yb) = (&xb[..b * PIXELS], &yb[..b]);
            grads.zero();
            ws.forward(&model, xb, Pass::Train(&mut rng))?;
            total += f64::from(ws.loss(&loss, yb)?);
            steps += 1;
            if args.adversarial_training {
                // The input gradient of the same backward pass crafts the attack.
                let dx = ws.backward_input(&model, Some(&mut grads));
                fgsm(xb, dx, args.train_epsilon, &mut adversarial[..b * PIXELS]);
                ws.forward(&model, &adversarial[..b * PIXELS], Pass::Train(&mut rng))?;
                total += f64::from(ws.loss(&loss, yb)?);
                steps += 1;
                ws.backward(&model, &mut grads);
            } else {
                ws.backward(&model, &mut grads);
            }
            opt.apply(&mut model, &grads);
        }
        errln!(
            "epoch {}: mean loss {:.4}",
            epoch + 1,
            total / steps.max(1) as f64
        );
    }
    Ok(model)
}

/// `x + epsilon * sign(dx)`, clipped to [0, 1].
fn fgsm(x: &[f32], dx: &[f32], epsilon: f32, out: &mut [f32]) {
    for ((o, &x), &g) in out.iter_mut().zip(x).zip(dx) {
        let step = if g > 0.0 {
            epsilon
        } else if g < 0.0 {
            -epsilon
        } else {
            0.0
        };
        *o = (x + step).clamp(0.0, 1.0);
    }
}

/// Test accuracy on `x`, attacked with FGSM at `epsilon` (none at 0).
fn accuracy(
    model: &MnistMlp,
    ws: &mut Workspace<MnistMlp>,
    x: &[f32],
    y: &[f32],
    epsilon: f32,
) -> nn::Result<f32> {
    let loss = Loss::SparseCategoricalCrossentropy;
    let mut attacked = vec![0.0; 256 * PIXELS];
    let mut correct = 0usize;
    for (xb, yb) in x.chunks(256 * PIXELS).zip(y.chunks(256)) {
        let input = if epsilon > 0.0 {
            ws.forward(model, xb, Pass::Eval)?;
            ws.loss(&loss, yb)?;
            let dx = ws.backward_input(model, None);
            let adv = &mut attacked[..xb.len()];
            fgsm(xb, dx, epsilon, adv);
            &*adv
        } else {
            xb
        };
        let outputs = ws.forward(model, input, Pass::Eval)?;
        for (row, &label) in outputs.chunks_exact(10).zip(yb) {
            let best = (0..10).max_by(|&a, &b| row[a].total_cmp(&row[b]));
            #[allow(clippy::cast_precision_loss)]
            if best.map(|c| c as f32) == Some(label) {
                correct += 1;
            }
        }
    }
    #[allow(clippy::cast_precision_loss)]
    Ok(correct as f32 / y.len() as f32)
}

/// Eight digits (top row) and the magnitude of the loss's gradient with respect to each of
/// their pixels (bottom row, each map scaled to its maximum), 2 pixels between images.
fn write_saliency(
    model: &MnistMlp,
    ws: &mut Workspace<MnistMlp>,
    x: &[f32],
    y: &[f32],
    path: &PathBuf,
) -> Result<(), Box<dyn std::error::Error>> {
    const GAP: usize = 2;
    let (count, side) = (y.len(), 28);
    let (width, height) = (count * (side + GAP) - GAP, 2 * side + GAP);
    ws.forward(model, x, Pass::Eval)?;
    ws.loss(&Loss::SparseCategoricalCrossentropy, y)?;
    let dx = ws.backward_input(model, None);
    let mut image = vec![0u8; width * height];
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    for k in 0..count {
        let digit = &x[k * PIXELS..(k + 1) * PIXELS];
        let grad = &dx[k * PIXELS..(k + 1) * PIXELS];
        let max = grad
            .iter()
            .fold(0.0f32, |m, g| m.max(g.abs()))
            .max(f32::MIN_POSITIVE);
        for r in 0..side {
            for c in 0..side {
                let left = k * (side + GAP) + c;
                image[r * width + left] = (digit[r * side + c] * 255.0) as u8;
                image[(side + GAP + r) * width + left] =
                    (grad[r * side + c].abs() / max * 255.0) as u8;
            }
        }
    }
    let file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut encoder = png::Encoder::new(file, u32::try_from(width)?, u32::try_from(height)?);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.write_header()?.write_image_data(&image)?;
    Ok(())
}
