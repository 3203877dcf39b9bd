//! Single-sample inference latency (W1: the 20-64-64-1 classifier of the quickstart; the
//! MNIST MLP of `examples/mnist_mlp.rs`, 784-128-10).
//!
//! `cargo bench --bench inference`; compare with `../shared/bench/w1_infer.py`.

#[path = "../examples/support/models.rs"]
mod models;
use criterion::{criterion_group, criterion_main, Criterion};
use models::{Classifier, MnistMlp};
use nn::Vector;
use std::hint::black_box;

fn inputs<const N: usize>(count: usize) -> Vec<Vector<N>> {
    let mut rng = nn::rng::Rng::new(11);
    (0..count)
        .map(|_| Vector::<N>::from_fn(|_, _| rng.uniform(-1.0, 1.0)))
        .collect()
}

fn w1(c: &mut Criterion) {
    let model = Classifier::new(0);
    let xs = inputs::<20>(1024);
    let mut i = 0;
    c.bench_function("w1_forward_one_sample", |b| {
        b.iter(|| {
            i = (i + 1) % xs.len();
            black_box(model.forward(black_box(&xs[i])))
        });
    });
}

/// The MNIST MLP on real test images when `data/mnist` loads, random pixels in `[0, 1)`
/// otherwise (the cost of a dense forward pass does not depend on the values).
fn mnist_mlp(c: &mut Criterion) {
    let model = MnistMlp::new(0);
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist");
    let xs: Vec<Vector<784>> = match nn::data::Mnist::load(dir) {
        Ok(m) => m
            .test_x()
            .chunks_exact(784)
            .take(1024)
            .map(Vector::<784>::from_column_slice)
            .collect(),
        Err(e) => {
            eprintln!("{e}; benchmarking on random pixels");
            let mut rng = nn::rng::Rng::new(11);
            (0..1024)
                .map(|_| Vector::<784>::from_fn(|_, _| rng.uniform(0.0, 1.0)))
                .collect()
        }
    };
    let mut i = 0;
    c.bench_function("mnist_mlp_forward_one_sample", |b| {
        b.iter(|| {
            i = (i + 1) % xs.len();
            black_box(model.forward(black_box(&xs[i])))
        });
    });
    // The same model on inputs with no zero (real digits are about 81% zero pixels, whose
    // weight rows the kernel skips): every weight is read, the bound of dense inputs.
    let mut rng = nn::rng::Rng::new(12);
    let dense: Vec<Vector<784>> = (0..1024)
        .map(|_| Vector::<784>::from_fn(|_, _| rng.uniform(0.01, 1.0)))
        .collect();
    c.bench_function("mnist_mlp_forward_one_sample_dense_input", |b| {
        b.iter(|| {
            i = (i + 1) % dense.len();
            black_box(model.forward(black_box(&dense[i])))
        });
    });
}

criterion_group!(benches, w1, mnist_mlp);
criterion_main!(benches);
