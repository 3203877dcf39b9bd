//! A training stopped and resumed from its checkpoint (the weights file, which holds batch
//! normalisation's running statistics, and the optimizer state file) ends where the
//! uninterrupted training does, bit for bit; without the optimizer state it does not.
#![cfg(feature = "std")]

use std::path::PathBuf;

use nn::io::optimizer;
use nn::prelude::*;

nn::model! {
    /// A small classifier with model state (batch normalisation's running statistics).
    pub struct Net {
        input: 6,
        hidden: Dense(16, relu),
        bn: BatchNorm,
        out: Dense(3, softmax),
    }
}

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("nn-resume-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn data() -> (Vec<f32>, Vec<f32>) {
    Classification::new(240, 6)
        .classes(3)
        .clusters_per_class(1)
        .seed(5)
        .generate()
        .unwrap()
}

/// `epochs` epochs in batches of 32, in the data's order. (`fit` shuffles and draws dropout
/// masks from its seed, starting over at each call, so a resumed `fit` is only exact
/// without shuffling or dropout; `train_on_batch` below takes batches in any order.)
fn epochs(epochs: usize) -> Fit<'static> {
    Fit::new()
        .epochs(epochs)
        .batch_size(32)
        .shuffle(false)
        .verbose(Verbose::Silent)
}

fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|v| v.to_bits()).collect()
}

#[test]
fn adam_training_resumed_from_files_ends_bit_for_bit_where_it_would_have() {
    let (x, y) = data();
    let loss = Loss::SparseCategoricalCrossentropy;

    // Six epochs straight.
    let mut straight = Net::new(1).compile(Adam::new(1e-2), loss);
    let history = straight.fit(&x, &y, epochs(6)).unwrap();

    // Three epochs, a checkpoint, and nothing else kept.
    let dir = TempDir::new("adam");
    let (weights, state) = (
        dir.0.join("net.safetensors"),
        dir.0.join("adam.safetensors"),
    );
    let mut first = Net::new(1).compile(Adam::new(1e-2), loss);
    first.fit(&x, &y, epochs(3)).unwrap();
    first.model().save_weights(&weights).unwrap();
    optimizer::save(&first.optimizer_state(), &state).unwrap();
    assert_eq!(first.optimizer_state().step, 3 * 8, "8 batches per epoch");
    drop(first);

    // Resumed from the files, into a model initialised otherwise and an optimizer with
    // another learning rate: both are restored.
    let mut model = Net::new(99);
    model.load_weights(&weights).unwrap();
    let mut resumed = model.compile(Adam::new(0.5), loss);
    resumed
        .load_optimizer_state(&optimizer::load(&state).unwrap())
        .unwrap();
    assert_eq!(resumed.optimizer().learning_rate(), 1e-2);
    let rest = resumed.fit(&x, &y, epochs(3)).unwrap();

    assert_eq!(
        bits(resumed.model().params()),
        bits(straight.model().params())
    );
    assert_eq!(
        bits(resumed.model().state()),
        bits(straight.model().state())
    );
    assert_eq!(
        bits(rest.get("loss").unwrap()),
        bits(&history.get("loss").unwrap()[3..]),
        "the resumed epochs' losses are the uninterrupted run's last three"
    );

    // The same checkpoint without the optimizer state: Adam starts its moments and bias
    // correction over, and the weights end elsewhere.
    let mut model = Net::new(99);
    model.load_weights(&weights).unwrap();
    let mut restarted = model.compile(Adam::new(1e-2), loss);
    restarted.fit(&x, &y, epochs(3)).unwrap();
    assert_ne!(
        bits(restarted.model().params()),
        bits(straight.model().params())
    );
}

#[test]
fn shuffled_batches_resume_exactly_with_train_on_batch() {
    let (x, y) = data();
    // Batches in a shuffled order of the test's own, 20 steps.
    let mut rng = nn::rng::Rng::new(7);
    let mut order: Vec<usize> = (0..240).collect();
    let batches: Vec<(Vec<f32>, Vec<f32>)> = (0..20)
        .map(|_| {
            rng.shuffle(&mut order);
            let rows = &order[..24];
            let bx = rows.iter().flat_map(|&i| x[i * 6..i * 6 + 6].to_vec());
            let by = rows.iter().map(|&i| y[i]);
            (bx.collect(), by.collect())
        })
        .collect();
    let run = |trainer: &mut Trainer<Net, AdamW>, steps: &[(Vec<f32>, Vec<f32>)]| {
        for (bx, by) in steps {
            trainer.train_on_batch(bx, by).unwrap();
        }
    };
    let loss = Loss::SparseCategoricalCrossentropy;
    let mut straight = Net::new(3).compile(AdamW::new(5e-3).clip_norm(1.0), loss);
    run(&mut straight, &batches);

    let mut first = Net::new(3).compile(AdamW::new(5e-3).clip_norm(1.0), loss);
    run(&mut first, &batches[..11]);
    let bytes = optimizer::to_bytes(&first.optimizer_state()).unwrap();
    let mut model = Net::from_params(first.model().params().to_vec()).unwrap();
    model.state_mut().copy_from_slice(first.model().state());
    let mut resumed = model.compile(AdamW::new(5e-3).clip_norm(1.0), loss);
    resumed
        .load_optimizer_state(&optimizer::load_bytes(&bytes, "in memory").unwrap())
        .unwrap();
    run(&mut resumed, &batches[11..]);
    assert_eq!(
        bits(resumed.model().params()),
        bits(straight.model().params())
    );
}

#[test]
fn a_state_for_another_model_or_optimizer_is_refused() {
    nn::model! {
        struct Other { input: 6, out: Dense(3, softmax) }
    }
    let (x, y) = data();
    let loss = Loss::SparseCategoricalCrossentropy;
    let mut other = Other::new(0).compile(Adam::new(1e-2), loss);
    other.train_on_batch(&x, &y).unwrap();
    let mut net = Net::new(0).compile(Adam::new(1e-2), loss);
    let e = net
        .load_optimizer_state(&other.optimizer_state())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("`exp_avg`") && e.contains("Net") && e.contains(&Net::PARAMS.to_string()),
        "{e}"
    );
    let mut sgd = Net::new(0).compile(Sgd::new(0.1).momentum(0.9), loss);
    let e = sgd
        .load_optimizer_state(&net.optimizer_state())
        .unwrap_err()
        .to_string();
    assert!(e.contains("Sgd") && e.contains("`exp_avg`"), "{e}");
}
