//! The classic fully connected GAN on MNIST, written as PyTorch's recipe
//! (`../shared/bench/w7_gan.py`), with the explicit training loop: two models, each with its
//! own Adam, the discriminator's input gradient flowing into the generator's backward pass.
//!
//! Generator 100 -> 256 -> 512 -> 784 (leaky ReLU 0.2, tanh out), discriminator 784 -> 512
//! -> 256 -> 1 (leaky ReLU 0.2, a logit out), PyTorch's default initialisation, Adam 2e-4
//! with beta1 0.5, batch 64, binary cross-entropy on logits, the non-saturating generator
//! loss, pixels in [-1, 1]. Per step: one discriminator update and one generator update
//! through the frozen discriminator (which then does no parameter-gradient work). PyTorch's
//! `bce(D(real), ones) + bce(D(fake), zeros)` runs as one pass over a batch of 128 holding
//! both halves, with twice the mean loss (`nn::loss::Scaled`): the same
//! gradient for each sample as two passes of 64 with their gradients accumulated (the
//! weight gradient sums the 128 samples in one order rather than two halves), one
//! product per layer instead of two.
//!
//! ```text
//! cargo run --release --example gan_mnist -- --epochs 20 --samples gan.idx --grid gan.png
//! ```
//! Prints one line per epoch (`epoch 1: 9.81 s d_loss 1.234 g_loss 0.987`) and a summary
//! line with the mean epoch time, the instruction set of the kernels and the threads.

#[path = "support/out.rs"]
#[macro_use]
mod out;
#[path = "support/cli.rs"]
mod cli;

use clap::Parser;
use nn::data::{gather_rows, Mnist};
use nn::loss::Scaled;
use nn::prelude::*;
use nn::train::check_chain;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

nn::model! {
    /// Noise in, a 28x28 digit out (pixels in [-1, 1]).
    pub struct Generator {
        input: 100,
        fc1: Dense(256, leaky_relu(0.2)),
        fc2: Dense(512, leaky_relu(0.2)),
        out: Dense(784, tanh),
    }
}

nn::model! {
    /// A digit in, the logit of "real" out.
    pub struct Discriminator {
        input: 784,
        fc1: Dense(512, leaky_relu(0.2)),
        fc2: Dense(256, leaky_relu(0.2)),
        out: Dense(1),
    }
}

// The generator's output is the discriminator's input: checked at compile time.
const _: () = check_chain::<Generator, Discriminator>();

/// The classic fully connected GAN on MNIST.
#[derive(Parser, Debug)]
#[command(name = "gan_mnist")]
struct Args {
    /// Directory holding MNIST's four IDX files (gzipped or not).
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist"))]
    data: PathBuf,
    /// Training epochs (937 steps of 64 images each).
    #[arg(long, default_value_t = 1, value_parser = cli::at_least_one)]
    epochs: usize,
    /// Seed of the initialisation, the shuffling and the noise.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Threads of the matrix products (results are identical for any count); default: the
    /// cores.
    #[arg(long, default_value_t = cli::default_threads(), value_parser = cli::at_least_one)]
    threads: usize,
    /// Writes 1000 generated digits to this file (or `--sample-count`): IDX, unsigned bytes,
    /// 1000 x 28 x 28.
    #[arg(long)]
    samples: Option<PathBuf>,
    /// How many digits `--samples` writes (up to 100,000: 300 MB of pixels in f32). The
    /// noise is drawn in order, so the first 1000 of a larger count are the default's.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    sample_count: u32,
    /// Writes a 10 x 10 grid of generated digits to this PNG file.
    #[arg(long)]
    grid: Option<PathBuf>,
}

const BATCH: usize = 64;
const NOISE: usize = 100;
const PIXELS: usize = 784;

/// PyTorch's default initialisation of `nn.Linear`: weights and biases uniform in
/// `±1 / sqrt(fan_in)`.
fn init_like_pytorch<M: Model>(model: &mut M, rng: &mut Rng) {
    for t in M::tensors() {
        let fan_in = t.shape()[t.shape().len() - 1];
        let fan_in = if t.name.ends_with(".bias") {
            // The weight before it in the same layer: [out, in].
            M::tensors()
                .iter()
                .find(|w| w.name == t.name.replace(".bias", ".weight"))
                .map_or(1, |w| w.shape()[1])
        } else {
            fan_in
        };
        let bound = 1.0 / (fan_in as f32).sqrt();
        for p in &mut model.params_mut()[t.offset..t.offset + t.len()] {
            *p = rng.uniform(-bound, bound);
        }
    }
}

fn main() -> Result<(), out::Failure> {
    let args = Args::parse();
    // Before the training: a wrong path fails now, not after the epochs it was to keep.
    out::check_writable(&[
        ("--samples", args.samples.as_deref()),
        ("--grid", args.grid.as_deref()),
    ])?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads)
        .build()?;
    Ok(pool.install(|| run(&args).map_err(|e| e.to_string()))?)
}

fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let mnist = Mnist::load(&args.data)?;
    // Pixels scaled to [-1, 1], the generator's tanh range.
    let x: Vec<f32> = mnist.train_x().iter().map(|p| p * 2.0 - 1.0).collect();
    let n = x.len() / PIXELS;
    drop(mnist);

    let mut rng = Rng::new(args.seed);
    let (mut g, mut d) = (Generator::new(0), Discriminator::new(0));
    init_like_pytorch(&mut g, &mut rng);
    init_like_pytorch(&mut d, &mut rng);
    let mut g_opt = Adam::new(2e-4).beta1(0.5).beta2(0.999).epsilon(1e-8);
    let mut d_opt = Adam::new(2e-4).beta1(0.5).beta2(0.999).epsilon(1e-8);
    g_opt.validate()?;
    d_opt.validate()?;
    let bce = nn::loss::BinaryCrossentropyWithLogits;

    // The buffers of every step, reused.
    let (mut g_ws, mut d_ws) = (Workspace::new(), Workspace::new());
    // No gradients from earlier passes: each backward_step applies its own pass's.
    let (no_g_grads, no_d_grads) = (Gradients::<Generator>::new(), Gradients::new());
    let ones = [1.0f32; BATCH];
    // The discriminator's batch: real digits, then fake ones; its targets and loss.
    let mut both = vec![0.0f32; 2 * BATCH * PIXELS];
    let real_then_fake: Vec<f32> = (0..2 * BATCH)
        .map(|i| f32::from(u8::from(i < BATCH)))
        .collect();
    let twice_bce = Scaled::new(2.0, bce);
    let mut z = vec![0.0f32; BATCH * NOISE];
    let mut order: Vec<usize> = (0..n).collect();

    let mut epoch_seconds = Vec::new();
    for epoch in 0..args.epochs {
        rng.shuffle(&mut order);
        let start = Instant::now();
        let (mut d_loss, mut g_loss) = (f32::NAN, f32::NAN);
        for chunk in order.chunks_exact(BATCH) {
            // Real digits in the first half of the discriminator's batch: x[perm[i:i + B]].
            gather_rows(&x, PIXELS, chunk, &mut both[..BATCH * PIXELS]);
            rng.fill_normal(&mut z);
            // fake = G(z), the second half.
            g_ws.forward(&g, &z, Pass::Train(&mut rng))?;
            // (`kernels::copy`: `copy_from_slice` in pieces that avoid a slow path of memmove.)
            nn::kernels::copy(g_ws.outputs(), &mut both[BATCH * PIXELS..]);

            // The discriminator's step: bce(D(real), 1) + bce(D(fake.detach()), 0), which is
            // twice the mean loss over both halves, in one pass; backward, then d_opt.step(),
            // fused (the update of each weight tile applied as its gradient is computed).
            d_ws.forward(&d, &both, Pass::Train(&mut rng))?;
            d_loss = d_ws.loss(&twice_bce, &real_then_fake)?;
            d_ws.backward_step(&mut d, &no_d_grads, &mut d_opt);

            // The generator's step: bce(D(fake), 1) through the updated, frozen discriminator.
            d_ws.forward(&d, g_ws.outputs(), Pass::Train(&mut rng))?;
            g_loss = d_ws.loss(&bce, &ones)?;
            let d_fake = d_ws.backward_input(&d, None);
            g_ws.set_output_gradient(d_fake)?;
            g_ws.backward_step(&mut g, &no_g_grads, &mut g_opt);
        }
        let seconds = start.elapsed().as_secs_f64();
        epoch_seconds.push(seconds);
        outln!(
            "epoch {}: {seconds:.2} s d_loss {d_loss:.3} g_loss {g_loss:.3}",
            epoch + 1
        );
        if !(d_loss.is_finite() && g_loss.is_finite()) {
            return Err(format!("the losses diverged in epoch {}", epoch + 1).into());
        }
    }

    if args.samples.is_some() || args.grid.is_some() {
        // The grid shows the first 100 digits (those of the samples when both are asked).
        let wanted = args.sample_count as usize;
        let count = wanted.max(if args.grid.is_some() { 100 } else { 0 });
        let samples = generate(&g, &mut rng, count)?;
        if let Some(path) = &args.samples {
            write_idx(path, &samples[..wanted * PIXELS])?;
            errln!("wrote {wanted} generated digits to {}", path.display());
        }
        if let Some(path) = &args.grid {
            write_grid(path, &samples[..100 * PIXELS])?;
            errln!(
                "wrote a 10x10 grid of generated digits to {}",
                path.display()
            );
        }
    }
    let mut sorted = epoch_seconds.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN);
    outln!(
        "epochs={} median_epoch_seconds={median:.3} train_seconds={:.2} isa={:?} threads={}",
        args.epochs,
        epoch_seconds.iter().sum::<f64>(),
        nn::kernels::level(),
        args.threads
    );
    Ok(())
}

/// `count` digits from the generator in inference mode, as bytes: `(x + 1) * 127.5`,
/// clamped to [0, 255] and truncated, as the PyTorch script converts them.
fn generate(g: &Generator, rng: &mut Rng, count: usize) -> nn::Result<Vec<u8>> {
    let mut z = vec![0.0; count * NOISE];
    rng.fill_normal(&mut z);
    let mut ws = Workspace::new();
    let images = ws.forward(g, &z, Pass::Eval)?;
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Ok(images
        .iter()
        .map(|v| ((v + 1.0) * 127.5).clamp(0.0, 255.0) as u8)
        .collect())
}

/// An IDX file of unsigned bytes: magic 0x803, then the count, 28 and 28 (big-endian),
/// then the pixels.
fn write_idx(path: &PathBuf, pixels: &[u8]) -> std::io::Result<()> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    let count = u32::try_from(pixels.len() / PIXELS).expect("fewer than 2^32 images");
    for v in [0x803u32, count, 28, 28] {
        f.write_all(&v.to_be_bytes())?;
    }
    f.write_all(pixels)?;
    f.flush()
}

/// The first 100 digits as a 10 x 10 grid, 280 x 280 grey pixels.
fn write_grid(path: &PathBuf, pixels: &[u8]) -> Result<(), Box<dyn std::error::Error>> {
    const SIDE: usize = 280;
    let mut grid = vec![0u8; SIDE * SIDE];
    for (k, digit) in pixels.chunks_exact(PIXELS).take(100).enumerate() {
        let (top, left) = ((k / 10) * 28, (k % 10) * 28);
        for (r, row) in digit.chunks_exact(28).enumerate() {
            let at = (top + r) * SIDE + left;
            grid[at..at + 28].copy_from_slice(row);
        }
    }
    let file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut encoder = png::Encoder::new(file, 280, 280);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.write_header()?.write_image_data(&grid)?;
    Ok(())
}
