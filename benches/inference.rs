//! Single-sample inference latency (W1: the 20-64-64-1 classifier of the quickstart).
//!
//! `cargo bench --bench inference`; compare with `../shared/bench/w1_infer.py`.

use criterion::{criterion_group, criterion_main, Criterion};
use nn::Vector;
use std::hint::black_box;

nn::model! {
    /// W1: the quickstart's classifier.
    pub struct Classifier {
        input: 20,
        hidden1: Dense(64, relu),
        hidden2: Dense(64, relu),
        output: Dense(1, sigmoid),
    }
}

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

criterion_group!(benches, w1);
criterion_main!(benches);
