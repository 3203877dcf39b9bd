//! Training-step latency of the MNIST MLP (`examples/mnist_mlp.rs`) and of the row-reading
//! LSTM (`examples/mnist_lstm.rs`): one `train_on_batch` (forward, sparse categorical
//! cross-entropy, backward, Adam update) on a fixed batch of 32 real MNIST images, on 1 and
//! on 2 threads; and the element-wise activations' passes over a layer's batch of outputs
//! (the GAN's 128 x 512), on one thread; the transposes of a dense layer's input gradient at
//! the GAN's shapes, on one thread.
//!
//! `cargo bench --bench training` (needs `data/mnist`); `cargo bench --bench training --
//! activation` for the activations alone, `-- transpose` for the transposes.

#[path = "../examples/support/models.rs"]
mod models;
use criterion::{criterion_group, criterion_main, Criterion};
use models::{MnistMlp, RowReader};
use nn::data::Mnist;
use nn::prelude::*;
use std::hint::black_box;

const BATCH: usize = 32;

/// The first `BATCH` training images (pixels in `[0, 1]`) and labels of MNIST.
fn batch() -> (Vec<f32>, Vec<f32>) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist");
    let m = Mnist::load(dir).unwrap_or_else(|e| panic!("cannot load MNIST from {dir}: {e}"));
    let mut x = m.train_x();
    let mut y = m.train_y();
    x.truncate(BATCH * MnistMlp::INPUT);
    y.truncate(BATCH);
    (x, y)
}

fn step<M: Model>(c: &mut Criterion, name: &str, model: M, threads: usize) {
    let (x, y) = batch();
    let mut trainer = model
        .compile(Adam::new(1e-3), Loss::SparseCategoricalCrossentropy)
        .threads(threads);
    // Grow the buffers and the optimizer state outside the measurement.
    trainer.train_on_batch(&x, &y).expect("warm-up step");
    c.bench_function(&format!("{name}_train_step_b{BATCH}_t{threads}"), |b| {
        b.iter(|| black_box(trainer.train_on_batch(black_box(&x), black_box(&y))))
    });
}

fn one_thread(c: &mut Criterion) {
    step(c, "mnist_mlp", MnistMlp::new(0), 1);
}

fn two_threads(c: &mut Criterion) {
    step(c, "mnist_mlp", MnistMlp::new(0), 2);
}

fn lstm(c: &mut Criterion) {
    step(c, "mnist_lstm", RowReader::new(0), 1);
    step(c, "mnist_lstm", RowReader::new(0), 2);
}

/// Forward and backward passes of the activations the examples use and of those that
/// Keras and PyTorch users add (GELU, ELU, SELU, SiLU, softplus, hard sigmoid), over
/// 128 x 512 values of both signs, at the kernels' level (as a dense layer runs them). Each
/// iteration first restores the values it changes ([`nn::kernels::copy`], about 7 µs of it
/// on the AVX2 EPYC).
fn activations(c: &mut Criterion) {
    use nn::activations::{
        ActivationFn, Elu, Gelu, HardSigmoid, LeakyRelu, Relu, Selu, Sigmoid, Silu, Softplus, Tanh,
    };
    const ROWS: usize = 128;
    const WIDTH: usize = 512;
    fn passes<A: ActivationFn>(c: &mut Criterion, a: A) {
        let x: Vec<f32> = (0..ROWS * WIDTH)
            .map(|i| ((i * 7919) % 13) as f32 / 3.0 - 2.0)
            .collect();
        let mut y = x.clone();
        a.forward(&mut y, WIDTH);
        let grad: Vec<f32> = (0..ROWS * WIDTH).map(|i| (i % 11) as f32 * 0.1).collect();
        let mut values = x.clone();
        c.bench_function(
            &format!("activation_{}_forward_{ROWS}x{WIDTH}", a.name()),
            |b| {
                b.iter(|| {
                    nn::kernels::copy(&x, &mut values);
                    nn::kernels::vectorized(|| a.forward(black_box(&mut values), WIDTH));
                })
            },
        );
        c.bench_function(
            &format!("activation_{}_backward_{ROWS}x{WIDTH}", a.name()),
            |b| {
                b.iter(|| {
                    nn::kernels::copy(&grad, &mut values);
                    a.backward(&x, black_box(&y), black_box(&mut values), WIDTH);
                })
            },
        );
    }
    passes(c, LeakyRelu(0.2));
    passes(c, Relu);
    passes(c, Tanh);
    passes(c, Sigmoid);
    passes(c, HardSigmoid);
    passes(c, Gelu);
    passes(c, Elu::default());
    passes(c, Selu);
    passes(c, Silu);
    passes(c, Softplus);
}

/// The transposes around the input gradient of the GAN's widest layer at batch 64
/// (`dXᵀ = W dZᵀ`, 784 inputs, 512 outputs): the output gradient (64 x 512) and the result
/// (784 x 64), on one thread (the step splits larger ones between threads).
fn transposes(c: &mut Criterion) {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a pool of one thread");
    for (rows, cols) in [(64, 512), (784, 64)] {
        let m: Vec<f32> = (0..rows * cols).map(|i| (i % 97) as f32).collect();
        let mut t = vec![0.0; rows * cols];
        c.bench_function(&format!("transpose_{rows}x{cols}"), |b| {
            pool.install(|| b.iter(|| nn::kernels::transpose(black_box(&m), rows, cols, &mut t)))
        });
    }
}

criterion_group!(
    benches,
    one_thread,
    two_threads,
    lstm,
    activations,
    transposes
);
criterion_main!(benches);
