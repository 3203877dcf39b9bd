//! The MNIST MLP's 101,770 parameters (about 400 KB) never pass through the stack: the whole
//! life cycle of a model (construction, inference, compilation, training, evaluation,
//! saving and loading weights) runs on a thread with a 256 KiB stack, smaller than the
//! parameters themselves.
//!
//! CI runs this test in a **debug** build on purpose (`cargo test --test stack`): without
//! optimisations, temporaries that release builds would elide (a `[f32; PARAMS]` built then
//! moved into a `Box`, a struct returned by value) really are placed on the stack, so a debug
//! build is where a stray stack copy of the parameters shows up. A stack overflow aborts the
//! whole process (it cannot be caught as a panic), so a regression fails loudly.

#[path = "../examples/support/models.rs"]
mod models;
use models::{MnistCnn, MnistMlp};
use nn::prelude::*;
use nn::rng::Rng;

/// Smaller than the model's parameters, so a single stack copy of them would overflow.
const STACK: usize = 256 * 1024;

/// Synthetic MNIST-shaped data: `n` images of pixels in `[0, 1)` and labels `0..10`.
fn data(n: usize, seed: u64) -> (Vec<f32>, Vec<f32>) {
    let mut rng = Rng::new(seed);
    let x = (0..n * MnistMlp::INPUT)
        .map(|_| rng.uniform(0.0, 1.0))
        .collect();
    #[allow(clippy::cast_precision_loss)]
    let y = (0..n).map(|i| (i % 10) as f32).collect();
    (x, y)
}

/// The whole life cycle of the model; runs on the small-stack thread.
fn life_cycle() {
    let model = MnistMlp::new(7);
    assert_eq!(model.params().len(), MnistMlp::PARAMS);

    // Single-sample inference.
    let (x, y) = data(256, 1);
    let sample = Vector::<784>::from_column_slice(&x[..MnistMlp::INPUT]);
    let p = model.forward(&sample);
    assert!(
        (p.sum() - 1.0).abs() < 1e-4,
        "softmax output sums to {}",
        p.sum()
    );

    // Training: a few steps on batches of 32, then a short `fit`.
    let mut trainer = model
        .compile(Adam::new(1e-3), Loss::SparseCategoricalCrossentropy)
        .metrics(&[Metric::Accuracy]);
    for step in 0..4 {
        let range = step * 32..(step + 1) * 32;
        let loss = trainer
            .train_on_batch(
                &x[range.start * MnistMlp::INPUT..range.end * MnistMlp::INPUT],
                &y[range],
            )
            .expect("train_on_batch");
        assert!(loss.is_finite());
    }
    let history = trainer
        .fit(
            &x,
            &y,
            Fit::new()
                .epochs(1)
                .batch_size(32)
                .seed(3)
                .verbose(Verbose::Silent),
        )
        .expect("fit");
    assert_eq!(history.epochs(), 1);
    let eval = trainer.evaluate(&x, &y).expect("evaluate");
    assert!(eval.loss.is_finite());
    assert!(eval.get("accuracy").is_some());

    // Weights round trip through a file.
    let path = std::env::temp_dir().join(format!(
        "nn-stack-test-{}-{:?}.safetensors",
        std::process::id(),
        std::thread::current().id()
    ));
    trainer.model().save_weights(&path).expect("save_weights");
    let mut loaded = MnistMlp::new(99);
    assert_ne!(loaded.params(), trainer.model().params());
    let result = loaded.load_weights(&path);
    let _ = std::fs::remove_file(&path);
    result.expect("load_weights");
    assert!(
        loaded.params() == trainer.model().params(),
        "loaded parameters differ from the saved ones"
    );
    let q = loaded.forward(&sample);
    assert_eq!(q, trainer.model().forward(&sample));
}

#[test]
fn mnist_mlp_life_cycle_fits_in_a_256_kib_stack() {
    const { assert!(MnistMlp::PARAM_BYTES > STACK) };
    let handle = std::thread::Builder::new()
        .name("small-stack".into())
        .stack_size(STACK)
        .spawn(life_cycle)
        .expect("spawn the small-stack thread");
    assert!(
        handle.join().is_ok(),
        "the MNIST MLP's life cycle panicked on a {STACK}-byte stack"
    );
}

/// The model itself is a handle to heap-allocated (or `static`) parameters, not the
/// parameters: moving it copies a few words.
#[test]
fn mnist_mlp_struct_is_small() {
    let size = std::mem::size_of::<MnistMlp>();
    assert!(size <= 64, "size_of::<MnistMlp>() = {size} bytes");
}

/// Construction, inference and training of the MNIST CNN on the small stack. Its
/// activations (up to 26x26x32 per sample) live in the heap workspace; single-sample
/// inference takes a heap scratch here, since `forward` would put `SCRATCH_BYTES` (108 KB
/// for this model) on the stack.
fn cnn_life_cycle() {
    let model = MnistCnn::new(3);
    let mut rng = Rng::new(5);
    let x: Vec<f32> = (0..32 * MnistCnn::INPUT)
        .map(|_| rng.uniform(0.0, 1.0))
        .collect();
    let y = nn::data::one_hot(&(0..32).map(|i| (i % 10) as f32).collect::<Vec<_>>(), 10).unwrap();
    let mut scratch = vec![0.0f32; MnistCnn::SCRATCH];
    let input: &[f32; 784] = x[..784].try_into().unwrap();
    let sum: f32 = model
        .forward_into(input, scratch.as_mut_slice().try_into().unwrap())
        .iter()
        .sum();
    assert!((sum - 1.0).abs() < 1e-4);
    let mut trainer = model.compile(Adam::new(1e-3), Loss::CategoricalCrossentropy);
    for _ in 0..2 {
        assert!(trainer.train_on_batch(&x, &y).unwrap().is_finite());
    }
}

#[test]
fn mnist_cnn_life_cycle_fits_in_a_256_kib_stack() {
    let handle = std::thread::Builder::new()
        .name("small-stack-cnn".into())
        .stack_size(STACK)
        .spawn(cnn_life_cycle)
        .expect("spawn the small-stack thread");
    assert!(
        handle.join().is_ok(),
        "the MNIST CNN's life cycle panicked on a {STACK}-byte stack"
    );
}
