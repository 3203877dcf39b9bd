//! Allocation counting: inference allocates nothing, and neither do training steps once
//! their buffers have grown.
//!
//! A counting global allocator counts only on threads that switched counting on (a
//! thread-local flag), so the test harness' other threads do not interfere.
// A global allocator needs `unsafe`: the implementation only forwards to `System`.
#![allow(unsafe_code)]

#[path = "../examples/support/models.rs"]
mod models;
use models::{Classifier, MnistCnn, MnistMlp};
use nn::loss::{Loss, LossFn};
use nn::metrics::Metric;
use nn::model::Model;
use nn::optim::{Adam, Optimizer, RmsProp, Sgd};
use nn::rng::Rng;
use nn::train::{Compile, Fit, Trainer, Verbose};
use nn::Vector;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    static ENABLED: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

fn note() {
    // `try_with`: the thread-locals may be gone while a thread shuts down.
    let on = ENABLED.try_with(Cell::get).unwrap_or(false);
    if on {
        let _ = COUNT.try_with(|c| c.set(c.get() + 1));
    }
}

// SAFETY: forwards every call to the system allocator unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Runs `f` and returns its result with the number of allocations it made on this thread.
fn allocations<R>(f: impl FnOnce() -> R) -> (R, usize) {
    COUNT.with(|c| c.set(0));
    ENABLED.with(|e| e.set(true));
    let r = f();
    ENABLED.with(|e| e.set(false));
    (r, COUNT.with(Cell::get))
}

nn::model! {
    /// Every layer kind.
    pub struct Everything {
        input: [3, 4],
        Flatten,
        a: Dense(16, relu),
        Dropout(0.25),
        b: Dense(12),
        ReLU,
        c: Dense(12, leaky_relu),
        LeakyReLU(0.1),
        d: Dense(10),
        Activation(tanh),
        e: Dense(8, sigmoid),
        Sigmoid,
        f: Dense(8, tanh),
        Tanh,
        g: Dense(4),
        Softmax,
    }
}

fn data(n: usize, width: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    (0..n * width).map(|_| rng.uniform(-1.0, 1.0)).collect()
}

/// `n` inputs for `M`: token ids for a model that starts with an embedding, else [`data`].
fn inputs<M: Model>(n: usize, seed: u64) -> Vec<f32> {
    match M::LAYERS[0].ids {
        Some(ids) => {
            let mut rng = Rng::new(seed);
            (0..n * M::INPUT).map(|_| rng.below(ids) as f32).collect()
        }
        None => data(n, M::INPUT, seed),
    }
}

nn::model! {
    /// The sequence layers: token ids in, a class out.
    pub struct Tokens {
        input: 24,
        Embedding(40, 8),
        Conv1D(16, 3, relu),
        MaxPool1D(2),
        Conv1D(8, 3, padding = same),
        AvgPool1D(2),
        Dense(8, relu),
        GlobalAvgPool1D,
        Dense(3, softmax),
    }
}

nn::model! {
    /// A sequence input: a dense layer per step, a strided convolution, `Flatten`.
    pub struct Series {
        input: [32, 2],
        Dense(8, tanh),
        Conv1D(8, 4, strides = 2),
        GlobalMaxPool1D,
        Dense(4, relu),
        Dense(1),
    }
}

#[test]
fn the_counter_counts() {
    let (v, n) = allocations(|| vec![1u8; 100]);
    assert_eq!(v.len(), 100);
    assert_eq!(n, 1);
    let (_, n) = allocations(|| ());
    assert_eq!(n, 0);
}

#[test]
fn single_sample_forward_allocates_nothing() {
    let model = Everything::new(3);
    let x = Vector::<12>::from_column_slice(&data(1, 12, 1));
    let (y, n) = allocations(|| model.forward(&x));
    assert_eq!(n, 0, "Everything::forward allocated {n} times");
    assert!((y.sum() - 1.0).abs() < 1e-5);

    let model = Classifier::new(3);
    let x = Vector::<20>::from_column_slice(&data(1, 20, 2));
    let (y, n) = allocations(|| {
        let mut acc = 0.0;
        for _ in 0..10 {
            acc += model.forward(&x)[0];
        }
        acc
    });
    assert_eq!(n, 0, "Classifier::forward allocated {n} times");
    assert!(y > 0.0);
}

#[test]
fn single_sample_forward_of_sequence_models_allocates_nothing() {
    let model = Tokens::new(3);
    let ids = Vector::<24>::from_column_slice(&inputs::<Tokens>(1, 4));
    let (y, n) = allocations(|| model.forward(&ids));
    assert_eq!(n, 0, "Tokens::forward allocated {n} times");
    assert!((y.sum() - 1.0).abs() < 1e-5);
    let (r, n) = allocations(|| model.try_forward(&ids));
    assert_eq!(n, 0, "Tokens::try_forward allocated {n} times");
    assert_eq!(r.unwrap(), y);

    let model = Series::new(3);
    let x = Vector::<64>::from_column_slice(&data(1, 64, 5));
    let (_, n) = allocations(|| model.forward(&x));
    assert_eq!(n, 0, "Series::forward allocated {n} times");
}

#[test]
fn forward_from_static_parameters_allocates_nothing() {
    static PARAMS: [f32; Everything::PARAMS] = [0.01; Everything::PARAMS];
    let (model, n) = allocations(|| Everything::from_static(&PARAMS));
    assert_eq!(n, 0, "from_static allocated");
    let x = Vector::<12>::from_column_slice(&data(1, 12, 1));
    let (_, n) = allocations(|| model.forward(&x));
    assert_eq!(n, 0);
}

/// Forward (inference and training mode) and backward passes on a workspace warmed at
/// batch `big`, at `big` and smaller batches; returns the allocations of each batch size.
fn warm_batched_passes<M: Model>(big: usize) -> Vec<(usize, usize)> {
    let model = M::init(5);
    let mut ws = nn::tape::Tape::new();
    let x = inputs::<M>(big, 7);
    let mut d = vec![0.5; big * M::OUTPUT];
    let mut grads = vec![0.0; M::PARAMS];
    // Warm-up at the largest batch.
    let _ = model.forward_batch(&mut ws, &x, big, nn::layers::Pass::Train(&mut Rng::new(1)));
    model.backward_batch(&mut ws, &x, &mut d, Some(&mut grads), None);

    let mut rng = Rng::new(2);
    let mut out = Vec::new();
    for batch in [big, 5, 1, big] {
        let xb = &x[..batch * M::INPUT];
        let ((), n) = allocations(|| {
            let _ = model.forward_batch(&mut ws, xb, batch, nn::layers::Pass::Eval);
            let _ = model.forward_batch(&mut ws, xb, batch, nn::layers::Pass::Train(&mut rng));
            model.backward_batch(
                &mut ws,
                xb,
                &mut d[..batch * M::OUTPUT],
                Some(&mut grads),
                None,
            );
        });
        out.push((batch, n));
    }
    out
}

#[test]
fn batched_passes_on_a_warm_workspace_allocate_nothing() {
    for (batch, n) in warm_batched_passes::<Everything>(64) {
        assert_eq!(n, 0, "Everything batch {batch}: {n} allocations");
    }
    // Products below `kernels::LARGE_PRODUCT` (16 * 64 * 64 < 48^3) run our own loops.
    for (batch, n) in warm_batched_passes::<Classifier>(16) {
        assert_eq!(n, 0, "Classifier batch {batch}: {n} allocations");
    }
}

/// Batches of 32 or more make the 64x64 layer's products exceed `kernels::LARGE_PRODUCT`,
/// which sends them to `matrixmultiply`.
#[test]
fn batched_passes_with_large_products_allocate_nothing() {
    const { assert!(32 * 64 * 64 >= nn::kernels::LARGE_PRODUCT) };
    let counts = warm_batched_passes::<Classifier>(32);
    assert!(
        counts.iter().all(|&(_, n)| n == 0),
        "Classifier, (batch, allocations) of forward + forward(train) + backward on a warm \
         workspace: {counts:?}"
    );
}

/// Warms `trainer` with one step on the largest batch, then counts the allocations of
/// further steps, including smaller batches.
fn steps_after_warm_up<M: Model, O: Optimizer>(
    trainer: &mut Trainer<M, O>,
    loss: Loss,
    big: usize,
) -> usize {
    let x = inputs::<M>(big, 11);
    let width = loss.target_width(M::OUTPUT);
    let y: Vec<f32> = match loss {
        Loss::SparseCategoricalCrossentropy => (0..big).map(|i| (i % M::OUTPUT) as f32).collect(),
        Loss::CategoricalCrossentropy => (0..big * width)
            .map(|i| f32::from(u8::from(i % width == (i / width) % width)))
            .collect(),
        _ => (0..big * width).map(|i| (i % 2) as f32).collect(),
    };
    trainer.train_on_batch(&x, &y).expect("warm-up step");
    let mut total = 0;
    for batch in [big, 8, 1, big, big / 2 + 1] {
        let (r, n) =
            allocations(|| trainer.train_on_batch(&x[..batch * M::INPUT], &y[..batch * width]));
        let loss = r.expect("step");
        assert!(loss.is_finite());
        total += n;
    }
    total
}

#[test]
fn train_on_batch_allocates_nothing_after_warm_up() {
    let mut t = Everything::new(1).compile(
        Sgd::new(0.01).momentum(0.9).clip_norm(1.0),
        Loss::SparseCategoricalCrossentropy,
    );
    let n = steps_after_warm_up(&mut t, Loss::SparseCategoricalCrossentropy, 32);
    assert_eq!(n, 0, "Everything + SGD + sparse CE: {n} allocations");

    let mut t = Everything::new(1).compile(RmsProp::new(1e-3), Loss::CategoricalCrossentropy);
    let n = steps_after_warm_up(&mut t, Loss::CategoricalCrossentropy, 32);
    assert_eq!(n, 0, "Everything + RMSprop + CE: {n} allocations");

    let mut t = Everything::new(1).compile(Adam::new(1e-3), Loss::MeanSquaredError);
    let n = steps_after_warm_up(&mut t, Loss::MeanSquaredError, 32);
    assert_eq!(n, 0, "Everything + Adam + MSE: {n} allocations");

    let mut t = Classifier::new(1).compile(Adam::new(1e-3), Loss::BinaryCrossentropy);
    let n = steps_after_warm_up(&mut t, Loss::BinaryCrossentropy, 16);
    assert_eq!(
        n, 0,
        "Classifier + Adam + BCE, batches <= 16: {n} allocations"
    );
}

/// Sequence models (the im2col scratch of their convolutions included) at Keras' default
/// batch size.
#[test]
fn sequence_models_train_on_batch_allocates_nothing_after_warm_up() {
    for (batch, n) in warm_batched_passes::<Tokens>(32) {
        assert_eq!(n, 0, "Tokens batch {batch}: {n} allocations");
    }
    let mut t = Tokens::new(1)
        .compile(Adam::new(1e-3), Loss::SparseCategoricalCrossentropy)
        .metrics(&[Metric::Accuracy]);
    let n = steps_after_warm_up(&mut t, Loss::SparseCategoricalCrossentropy, 32);
    assert_eq!(n, 0, "Tokens + Adam + sparse CE: {n} allocations");
    let mut t = Series::new(1).compile(Adam::new(1e-3), Loss::MeanSquaredError);
    let n = steps_after_warm_up(&mut t, Loss::MeanSquaredError, 32);
    assert_eq!(n, 0, "Series + Adam + MSE: {n} allocations");
}

/// The README's classifier at Keras' default batch size, 32.
#[test]
fn train_on_batch_at_the_default_batch_size_allocates_nothing_after_warm_up() {
    let mut t = Classifier::new(1).compile(Adam::new(1e-3), Loss::BinaryCrossentropy);
    let n = steps_after_warm_up(&mut t, Loss::BinaryCrossentropy, 32);
    assert_eq!(
        n, 0,
        "Classifier + Adam + BCE, batches of 32, 8, 1, 32, 17: {n} allocations"
    );
}

/// With metrics configured (`compile(...).metrics(&[Metric::Accuracy])`, the README's
/// recipe); small batches, so that only the training loop is tested.
#[test]
fn train_on_batch_with_metrics_allocates_nothing_after_warm_up() {
    let mut t = Everything::new(1)
        .compile(Adam::new(1e-3), Loss::SparseCategoricalCrossentropy)
        .metrics(&[Metric::Accuracy]);
    let n = steps_after_warm_up(&mut t, Loss::SparseCategoricalCrossentropy, 16);
    assert_eq!(
        n, 0,
        "Everything + Adam + sparse CE + accuracy: {n} allocations in 5 train_on_batch steps"
    );
}

/// `fit`'s allocations do not grow with the number of batches: per-batch work is
/// allocation-free once the buffers have grown (per-epoch logging may allocate).
#[test]
fn fit_allocations_do_not_depend_on_the_number_of_batches() {
    let mut t = Classifier::new(1)
        .compile(Adam::new(1e-3), Loss::BinaryCrossentropy)
        .metrics(&[Metric::Accuracy]);
    let big = 640;
    let x = data(big, 20, 3);
    let y: Vec<f32> = (0..big).map(|i| (i % 2) as f32).collect();
    let fit = || Fit::new().epochs(2).batch_size(8).verbose(Verbose::Silent);
    t.fit(&x, &y, fit()).expect("warm-up fit");
    let (h, many) = allocations(|| t.fit(&x, &y, fit()).expect("fit"));
    assert_eq!(h.epochs(), 2);
    let (_, few) = allocations(|| t.fit(&x[..64 * 20], &y[..64], fit()).expect("fit"));
    assert_eq!(
        many, few,
        "fit on 80 batches per epoch allocated {many} times, on 8 batches {few} times"
    );
}

/// The MNIST MLP at batch 32: the hidden layer's products (`32 x 784 x 128`, forward and
/// weight gradient) are far above `kernels::LARGE_PRODUCT` (and the size at which a pool
/// would split them, `kernels::PARALLEL_PRODUCT`), so the register-blocked kernel runs, on
/// the calling thread (no pool: the trainer's default of one thread).
#[test]
fn mnist_mlp_train_on_batch_allocates_nothing_after_warm_up() {
    const { assert!(32 * 784 * 128 >= nn::kernels::PARALLEL_PRODUCT) };
    const { assert!(nn::kernels::PARALLEL_PRODUCT >= nn::kernels::LARGE_PRODUCT) };
    let mut t = MnistMlp::new(1)
        .compile(Adam::new(1e-3), Loss::SparseCategoricalCrossentropy)
        .metrics(&[Metric::Accuracy]);
    let n = steps_after_warm_up(&mut t, Loss::SparseCategoricalCrossentropy, 32);
    assert_eq!(
        n, 0,
        "MnistMlp + Adam + sparse CE + accuracy, batches of 32, 8, 1, 32, 17: {n} allocations"
    );
}

/// The convolutions' im2col scratch is part of the workspace: after the first step, a CNN
/// training step allocates nothing either, whatever the batch size up to the largest seen.
#[test]
fn mnist_cnn_train_on_batch_allocates_nothing_after_warm_up() {
    let mut t = MnistCnn::new(1)
        .compile(Adam::new(1e-3), Loss::CategoricalCrossentropy)
        .metrics(&[Metric::Accuracy]);
    let n = steps_after_warm_up(&mut t, Loss::CategoricalCrossentropy, 32);
    assert_eq!(
        n, 0,
        "MnistCnn + Adam + categorical CE, batches of 32, 8, 1, 32, 17: {n} allocations"
    );
}

nn::model! {
    /// MNIST read row by row (as `examples/mnist_lstm.rs`): 28 steps of 28 pixels, the
    /// LSTM's last step classified.
    pub struct RowReader {
        input: [28, 28],
        lstm: LSTM(128),
        output: Dense(10, softmax),
    }
}

nn::model! {
    /// Every recurrent layer kind, stacked.
    pub struct Recurrent {
        input: [6, 4],
        a: SimpleRNN(8, return_sequences = true),
        b: GRU(8, return_sequences = true),
        c: LSTM(6),
        d: Dense(3),
        Softmax,
    }
}

/// The recurrent state and gates live in the scratch: one inference allocates nothing.
#[test]
fn recurrent_single_sample_forward_allocates_nothing() {
    let model = RowReader::new(3);
    let x = Vector::<784>::from_column_slice(&data(1, 784, 4));
    let (y, n) = allocations(|| model.forward(&x));
    assert_eq!(n, 0, "RowReader::forward allocated {n} times");
    assert!((y.sum() - 1.0).abs() < 1e-5);

    let model = Recurrent::new(3);
    let x = Vector::<24>::from_column_slice(&data(1, 24, 5));
    let (y, n) = allocations(|| model.forward(&x));
    assert_eq!(n, 0, "Recurrent::forward allocated {n} times");
    assert!((y.sum() - 1.0).abs() < 1e-5);
}

/// Recurrent layers keep their gates and states in the tape's caches, and their
/// backpropagation through time in its scratch: after the first step nothing is allocated,
/// at the batch size and smaller ones.
#[test]
fn recurrent_train_on_batch_allocates_nothing_after_warm_up() {
    let mut t = RowReader::new(1)
        .compile(Adam::new(1e-3), Loss::SparseCategoricalCrossentropy)
        .metrics(&[Metric::Accuracy]);
    let n = steps_after_warm_up(&mut t, Loss::SparseCategoricalCrossentropy, 32);
    assert_eq!(
        n, 0,
        "RowReader + Adam + sparse CE + accuracy, batches of 32, 8, 1, 32, 17: {n} allocations"
    );

    let mut t = Recurrent::new(1).compile(Adam::new(1e-3), Loss::CategoricalCrossentropy);
    let n = steps_after_warm_up(&mut t, Loss::CategoricalCrossentropy, 40);
    assert_eq!(n, 0, "Recurrent + Adam + CE: {n} allocations");

    for (batch, n) in warm_batched_passes::<Recurrent>(40) {
        assert_eq!(n, 0, "Recurrent batch {batch}: {n} allocations");
    }
}

nn::model! {
    /// The generator of a small GAN.
    pub struct Gen {
        input: 8,
        hidden: Dense(16, leaky_relu(0.2)),
        out: Dense(12, tanh),
    }
}

nn::model! {
    /// Its discriminator, with dropout (training-mode passes draw masks).
    pub struct Disc {
        input: 12,
        hidden: Dense(16, leaky_relu(0.2)),
        Dropout(0.3),
        out: Dense(1),
    }
}

/// One GAN step written with the explicit loop: the discriminator on real and fake
/// samples (gradients accumulated), then the generator through the frozen discriminator.
fn gan_step(
    (g, d): (&mut Gen, &mut Disc),
    (g_ws, d_ws): (
        &mut nn::train::Workspace<Gen>,
        &mut nn::train::Workspace<Disc>,
    ),
    (g_grads, d_grads): (
        &mut nn::train::Gradients<Gen>,
        &mut nn::train::Gradients<Disc>,
    ),
    (g_opt, d_opt): (&mut Adam, &mut Adam),
    (z, real, ones, zeros): (&[f32], &[f32], &[f32], &[f32]),
    rng: &mut Rng,
) -> (f32, f32) {
    use nn::layers::Pass;
    use nn::train::Apply;
    let bce = Loss::BinaryCrossentropy;
    g_ws.forward(g, z, Pass::Train(rng)).unwrap();
    d_grads.zero();
    d_ws.forward(d, real, Pass::Train(rng)).unwrap();
    let mut d_loss = d_ws.loss(&bce, ones).unwrap();
    d_ws.backward(d, d_grads);
    d_ws.forward(d, g_ws.outputs(), Pass::Train(rng)).unwrap();
    d_loss += d_ws.loss(&bce, zeros).unwrap();
    d_ws.backward(d, d_grads);
    d_opt.apply(d, d_grads);
    g_grads.zero();
    d_ws.forward(d, g_ws.outputs(), Pass::Train(rng)).unwrap();
    let g_loss = d_ws.loss(&bce, ones).unwrap();
    let dx = d_ws.backward_input(d, None);
    g_ws.set_output_gradient(dx).unwrap();
    g_ws.backward(g, g_grads);
    g_opt.apply(g, g_grads);
    (d_loss, g_loss)
}

#[test]
fn explicit_loop_steps_allocate_nothing_after_the_first() {
    use nn::train::{Gradients, Workspace};
    let (mut g, mut d) = (Gen::new(1), Disc::new(2));
    let (mut g_ws, mut d_ws) = (Workspace::new(), Workspace::new());
    let (mut g_grads, mut d_grads) = (Gradients::new(), Gradients::new());
    let (mut g_opt, mut d_opt) = (Adam::new(2e-4).beta1(0.5), Adam::new(2e-4).beta1(0.5));
    let mut rng = Rng::new(3);
    let batch = 16;
    let z: Vec<f32> = (0..batch * 8).map(|_| rng.normal()).collect();
    let real: Vec<f32> = (0..batch * 12).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let (ones, zeros) = (vec![1.0; batch], vec![0.0; batch]);
    let mut step = |rng: &mut Rng| {
        gan_step(
            (&mut g, &mut d),
            (&mut g_ws, &mut d_ws),
            (&mut g_grads, &mut d_grads),
            (&mut g_opt, &mut d_opt),
            (&z, &real, &ones, &zeros),
            rng,
        )
    };
    let (_, first) = allocations(|| step(&mut rng));
    assert!(first > 0, "the first step sizes the buffers");
    let (losses, n) = allocations(|| (0..20).map(|_| step(&mut rng)).last());
    assert_eq!(n, 0, "20 warm GAN steps allocated {n} times");
    let (d_loss, g_loss) = losses.unwrap();
    assert!(d_loss.is_finite() && g_loss.is_finite());
}
