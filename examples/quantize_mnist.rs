//! The MNIST MLP and CNN of `mnist_mlp` and `mnist_cnn`, quantized to int8 after training
//! (`Model::quantize` on a few hundred training digits, TensorFlow Lite's scheme, see
//! `nn::quant`), against their f32 models: accuracy on the full test set, parameter and
//! scratch bytes, and single-sample latency.
//!
//! ```text
//! cargo run --release --example quantize_mnist -- [--data DIR] [--mlp PATH] [--cnn PATH]
//!     [--calibration N] [--rounds N] [--save-raw PATH] [--save PATH] [--save-f32 PATH]
//! ```
//! `--mlp` and `--cnn` take trained weights: safetensors (`mnist_mlp --save PATH`) or raw
//! little-endian f32 (`--save-raw`, a `.bin`). The MLP defaults to the weights baked into
//! `examples/freestanding`; the CNN is skipped without `--cnn`. `--save-raw` writes the int8
//! MLP's bytes (what `examples/freestanding`'s int8 build bakes), `--save` its file (with a
//! checksum, read back by `MnistMlpInt8::load`), `--save-f32` the f32 MLP as safetensors (for
//! `scripts/quantize_onnx.py`, which quantizes the same models with onnxruntime).
//!
//! Latency: the median over `--rounds` rounds of the mean time per digit over the first 1,000
//! test digits, one thread, `forward` of each model (the int8 one quantizes the input and
//! dequantizes the output), and the int8 model's integer-only `forward_into`.

#[path = "support/out.rs"]
#[macro_use]
mod out;

#[path = "support/models.rs"]
mod models;
use models::{MnistCnn, MnistCnnInt8, MnistMlp, MnistMlpInt8};

use clap::Parser;
use nn::data::Mnist;
use nn::prelude::*;
use nn::quant::Quantized;
use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

#[derive(Parser, Debug)]
#[command(name = "quantize_mnist")]
struct Args {
    /// Directory holding the four IDX files in MNIST's naming (plain or `.gz`).
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist"))]
    data: String,
    /// Trained MLP weights (safetensors, or raw f32 `.bin`).
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/freestanding/data/mnist_mlp.bin"))]
    mlp: String,
    /// Trained CNN weights (safetensors, or raw f32 `.bin`); without it the CNN is skipped.
    #[arg(long)]
    cnn: Option<String>,
    /// Training digits the quantization calibrates on (the first ones).
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    calibration: u64,
    /// Timing rounds (the median is reported).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    rounds: u64,
    /// Write the int8 MLP's raw bytes here (for `from_static`, `examples/freestanding`).
    #[arg(long)]
    save_raw: Option<String>,
    /// Write the int8 MLP's file here (for `MnistMlpInt8::load`).
    #[arg(long)]
    save: Option<String>,
    /// Write the f32 MLP's weights here (safetensors, for `scripts/quantize_onnx.py`).
    #[arg(long)]
    save_f32: Option<String>,
}

/// Weights from safetensors, or from a raw `.bin` of little-endian f32 values.
fn load<M: Model>(model: &mut M, path: &str) -> Result<(), Box<dyn std::error::Error>> {
    if path.ends_with(".bin") {
        let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
        if bytes.len() != M::PARAMS * 4 {
            return Err(format!(
                "{path}: {} bytes where this model's raw weights are {}",
                bytes.len(),
                M::PARAMS * 4
            )
            .into());
        }
        let values: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        model.params_mut().copy_from_slice(&values);
        Ok(())
    } else {
        Ok(model.load_weights(path)?)
    }
}

fn argmax(v: &[f32]) -> usize {
    (0..v.len()).fold(0, |best, i| if v[i] > v[best] { i } else { best })
}

fn argmax_i8(v: &[i8]) -> usize {
    (0..v.len()).fold(0, |best, i| if v[i] > v[best] { i } else { best })
}

/// Correct predictions of `predict` over the test set.
fn accuracy(x: &[f32], y: &[f32], width: usize, predict: impl Fn(&[f32]) -> usize) -> f64 {
    let right = x
        .chunks_exact(width)
        .zip(y)
        .filter(|(x, &y)| predict(x) == y as usize)
        .count();
    right as f64 / y.len() as f64
}

/// Every digit of `x` quantized with `q`.
fn quantized(q: nn::quant::QParams, x: &[f32]) -> Vec<[i8; 784]> {
    x.chunks_exact(784)
        .map(|x| {
            let mut out = [0i8; 784];
            nn::quant::quantize_into(q, x, &mut out);
            out
        })
        .collect()
}

/// Median over `rounds` of the mean nanoseconds per call of `f` over `samples`.
fn latency(rounds: u64, samples: &[f32], width: usize, mut f: impl FnMut(&[f32]) -> usize) -> f64 {
    let mut times: Vec<f64> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            let mut sink = 0;
            for x in samples.chunks_exact(width) {
                sink += f(black_box(x));
            }
            black_box(sink);
            start.elapsed().as_nanos() as f64 / (samples.len() / width) as f64
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// Test digits the latencies are timed on (the first ones).
const TIMED: usize = 1000;

/// Parameter and scratch bytes of a model and of its int8 version.
struct Footprint {
    f32_bytes: usize,
    int8_bytes: usize,
    f32_scratch: usize,
    int8_scratch: usize,
}

/// The three ways of classifying a test digit with one model: its f32 `forward` (on the
/// digit's pixels), its int8 model's `forward` (the same), and the int8 model's integer-only
/// `forward_into` (on the `i`-th timed digit, quantized beforehand).
struct Runs<F, Q, I> {
    f32: F,
    int8: Q,
    integer_only: I,
}

impl<F, Q, I> Runs<F, Q, I>
where
    F: Fn(&[f32]) -> usize,
    Q: Fn(&[f32]) -> usize,
    I: FnMut(usize) -> usize,
{
    /// Accuracy over the test set and latency over the first [`TIMED`] digits.
    fn report(
        mut self,
        name: &'static str,
        footprint: Footprint,
        x: &[f32],
        y: &[f32],
        rounds: u64,
    ) -> Report {
        let timed = &x[..TIMED * 784];
        let index: Vec<f32> = (0..TIMED).map(|i| i as f32).collect();
        Report {
            name,
            f32_accuracy: accuracy(x, y, 784, &self.f32),
            int8_accuracy: accuracy(x, y, 784, &self.int8),
            footprint,
            f32_ns: latency(rounds, timed, 784, &self.f32),
            int8_ns: latency(rounds, timed, 784, &self.int8),
            int8_integer_ns: latency(rounds, &index, 1, |i| (self.integer_only)(i[0] as usize)),
        }
    }
}

/// One model's line pair: accuracy, bytes, latency.
struct Report {
    name: &'static str,
    f32_accuracy: f64,
    int8_accuracy: f64,
    footprint: Footprint,
    f32_ns: f64,
    int8_ns: f64,
    int8_integer_ns: f64,
}
impl Report {
    fn print(&self) {
        outln!(
            "{}: f32_accuracy={:.4} int8_accuracy={:.4} (difference {:+.2} points) \
             param_bytes f32={} int8={} (ratio {:.3}) scratch_bytes f32={} int8={} \
             latency_ns f32={:.0} int8={:.0} int8_integer_only={:.0} (int8/f32 {:.2})",
            self.name,
            self.f32_accuracy,
            self.int8_accuracy,
            100.0 * (self.int8_accuracy - self.f32_accuracy),
            self.footprint.f32_bytes,
            self.footprint.int8_bytes,
            self.footprint.int8_bytes as f64 / self.footprint.f32_bytes as f64,
            self.footprint.f32_scratch,
            self.footprint.int8_scratch,
            self.f32_ns,
            self.int8_ns,
            self.int8_integer_ns,
            self.int8_ns / self.f32_ns,
        );
    }
}

fn main() -> Result<(), out::Failure> {
    let args = Args::parse();
    out::check_writable(&[
        ("--save-raw", args.save_raw.as_deref().map(Path::new)),
        ("--save", args.save.as_deref().map(Path::new)),
        ("--save-f32", args.save_f32.as_deref().map(Path::new)),
    ])?;
    let mnist = Mnist::load(&args.data)?;
    let (train_x, test_x, test_y) = (mnist.train_x(), mnist.test_x(), mnist.test_y());
    let calibration = &train_x[..args.calibration as usize * 784];

    let mut mlp = MnistMlp::new(0);
    load(&mut mlp, &args.mlp)?;
    let mlp8 = mlp.quantize(calibration)?;
    let mut scratch = [0i8; MnistMlpInt8::SCRATCH];
    // The pixels quantized outside the timing of the integer-only path: what a sensor
    // giving int8 values hands over.
    let inputs = quantized(mlp8.input_params(), &test_x[..TIMED * 784]);
    let vector = |x: &[f32]| nn::Vector::<784>::from_column_slice(x);
    let footprint = Footprint {
        f32_bytes: MnistMlp::PARAM_BYTES,
        int8_bytes: MnistMlpInt8::PARAM_BYTES,
        f32_scratch: MnistMlp::SCRATCH_BYTES,
        int8_scratch: MnistMlpInt8::SCRATCH_BYTES,
    };
    let runs = Runs {
        f32: |x: &[f32]| argmax(mlp.forward(&vector(x)).as_slice()),
        int8: |x: &[f32]| argmax(mlp8.forward(&vector(x)).as_slice()),
        integer_only: |i: usize| argmax_i8(mlp8.forward_into(&inputs[i], &mut scratch)),
    };
    runs.report("mlp", footprint, &test_x, &test_y, args.rounds)
        .print();
    if let Some(path) = &args.save_raw {
        std::fs::write(path, mlp8.bytes())?;
        errln!(
            "wrote the int8 MLP's raw bytes ({}) to {path}",
            mlp8.bytes().len()
        );
    }
    if let Some(path) = &args.save {
        mlp8.save(path)?;
        errln!("wrote the int8 MLP's file to {path}");
    }
    if let Some(path) = &args.save_f32 {
        mlp.save_weights(path)?;
        errln!("wrote the f32 MLP's weights to {path}");
    }

    let Some(cnn_path) = &args.cnn else {
        errln!("no --cnn weights: the CNN is skipped (train them with `mnist_cnn --save PATH`)");
        return Ok(());
    };
    let mut cnn = MnistCnn::new(0);
    load(&mut cnn, cnn_path)?;
    let cnn8 = cnn.quantize(calibration)?;
    let mut scratch = [0i8; MnistCnnInt8::SCRATCH];
    let inputs = quantized(cnn8.input_params(), &test_x[..TIMED * 784]);
    let footprint = Footprint {
        f32_bytes: MnistCnn::PARAM_BYTES,
        int8_bytes: MnistCnnInt8::PARAM_BYTES,
        f32_scratch: MnistCnn::SCRATCH_BYTES,
        int8_scratch: MnistCnnInt8::SCRATCH_BYTES,
    };
    let runs = Runs {
        f32: |x: &[f32]| argmax(cnn.forward(&vector(x)).as_slice()),
        int8: |x: &[f32]| argmax(cnn8.forward(&vector(x)).as_slice()),
        integer_only: |i: usize| argmax_i8(cnn8.forward_into(&inputs[i], &mut scratch)),
    };
    runs.report("cnn", footprint, &test_x, &test_y, args.rounds)
        .print();
    Ok(())
}
