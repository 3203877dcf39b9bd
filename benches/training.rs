//! Training-step latency of the MNIST MLP (`examples/mnist_mlp.rs`): one `train_on_batch`
//! (forward, sparse categorical cross-entropy, backward, Adam update) on a fixed batch of 32
//! real MNIST images, on 1 and on 2 threads.
//!
//! `cargo bench --bench training` (needs `data/mnist`).

#[path = "../examples/support/models.rs"]
mod models;
use criterion::{criterion_group, criterion_main, Criterion};
use models::MnistMlp;
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

fn step(c: &mut Criterion, threads: usize) {
    let (x, y) = batch();
    let mut trainer = MnistMlp::new(0)
        .compile(Adam::new(1e-3), Loss::SparseCategoricalCrossentropy)
        .threads(threads);
    // Grow the buffers and the optimizer state outside the measurement.
    trainer.train_on_batch(&x, &y).expect("warm-up step");
    c.bench_function(&format!("mnist_mlp_train_step_b{BATCH}_t{threads}"), |b| {
        b.iter(|| black_box(trainer.train_on_batch(black_box(&x), black_box(&y))))
    });
}

fn one_thread(c: &mut Criterion) {
    step(c, 1);
}

fn two_threads(c: &mut Criterion) {
    step(c, 2);
}

criterion_group!(benches, one_thread, two_threads);
criterion_main!(benches);
