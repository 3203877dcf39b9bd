//! End-to-end training: learning (XOR, teacher-student), `fit`'s history and validation
//! split, determinism, data validation errors, divergence, early stopping, `predict` and
//! `evaluate`. Small problems: each test takes well under a second in release builds.

use nn::error::TargetProblem;
use nn::loss::Loss;
use nn::metrics::Metric;
use nn::optim::{Adam, AdamW, Optimizer, RmsProp, Sgd};
use nn::rng::Rng;
use nn::train::{Callback, Compile, Context, Control, EarlyStopping, Fit, History, Logs};
use nn::{Error, Vector};

nn::model! {
    pub struct Xor {
        input: 2,
        hidden: Dense(8, tanh),
        output: Dense(1, sigmoid),
    }
}

nn::model! {
    pub struct Binary {
        input: 5,
        hidden: Dense(16, relu),
        output: Dense(1, sigmoid),
    }
}

nn::model! {
    pub struct ThreeClass {
        input: 4,
        hidden: Dense(16, tanh),
        Dropout(0.1),
        output: Dense(3, softmax),
    }
}

nn::model! {
    pub struct Regressor {
        input: 4,
        hidden: Dense(8, tanh),
        output: Dense(2),
    }
}

nn::model! {
    /// One linear unit: its output, and so its loss, scales with its weights.
    pub struct Linear {
        input: 2,
        output: Dense(1),
    }
}

nn::model! {
    /// Many parameters for a few samples: overfits quickly.
    pub struct Overfit {
        input: 5,
        hidden1: Dense(64, relu),
        hidden2: Dense(64, relu),
        output: Dense(1, sigmoid),
    }
}

fn quiet() -> Fit<'static> {
    Fit::new().verbose(nn::train::Verbose::Silent)
}

fn uniform(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect()
}

/// `n` samples of 5 features; label 1 when a fixed linear function is positive.
fn binary_data(n: usize, seed: u64) -> (Vec<f32>, Vec<f32>) {
    let x = uniform(n * 5, seed);
    let y = x
        .chunks(5)
        .map(|r| f32::from(u8::from(r[0] - 0.5 * r[1] + 0.3 * r[4] > 0.0)))
        .collect();
    (x, y)
}

/// `n` samples of 4 features, 3 classes (argmax of three linear functions), as labels.
fn three_class_data(n: usize, seed: u64) -> (Vec<f32>, Vec<f32>) {
    let x = uniform(n * 4, seed);
    let y = x
        .chunks(4)
        .map(|r| {
            let s = [r[0] + r[1], r[2] - r[0], r[3] - r[1]];
            let mut best = 0;
            for i in 1..3 {
                if s[i] > s[best] {
                    best = i;
                }
            }
            best as f32
        })
        .collect();
    (x, y)
}

fn binary_accuracy(p: &[f32], y: &[f32]) -> f32 {
    let ok = p
        .iter()
        .zip(y)
        .filter(|(p, y)| (**p > 0.5) == (**y > 0.5))
        .count();
    ok as f32 / y.len() as f32
}

// ---- Learning ----

#[test]
fn xor_is_learned() {
    let x = [0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0];
    let y = [0.0, 1.0, 1.0, 0.0];
    for seed in [1, 2, 3] {
        let mut t = Xor::new(seed)
            .compile(Adam::new(0.05), Loss::BinaryCrossentropy)
            .metrics(&[Metric::Accuracy]);
        let h = t
            .fit(&x, &y, quiet().epochs(300).batch_size(4).seed(seed))
            .unwrap();
        let p = t.predict(&x).unwrap();
        assert_eq!(
            binary_accuracy(&p, &y),
            1.0,
            "seed {seed}: predictions {p:?}"
        );
        assert_eq!(h.last("accuracy"), Some(1.0), "seed {seed}");
        assert!(h.last("loss").unwrap() < 0.1, "seed {seed}: {h:?}");
        // The single-sample path agrees with predict.
        let model = t.model();
        for s in 0..4 {
            let one = model.forward(&Vector::<2>::from_column_slice(&x[2 * s..2 * s + 2]));
            assert!((one[0] - p[s]).abs() < 1e-5);
        }
    }
}

#[test]
fn teacher_student_regression_recovers_the_teacher() {
    let teacher = Regressor::new(99);
    let n = 512;
    let x: Vec<f32> = uniform(n * 4, 5).iter().map(|v| 2.0 * v).collect();
    let y: Vec<f32> = x
        .chunks(4)
        .flat_map(|r| {
            let o = teacher.forward(&Vector::<4>::from_column_slice(r));
            [o[0], o[1]]
        })
        .collect();
    let variance = {
        let mean = y.iter().sum::<f32>() / y.len() as f32;
        y.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / y.len() as f32
    };
    let mut t = Regressor::new(1).compile(Adam::new(1e-2), Loss::MeanSquaredError);
    let before = t.evaluate(&x, &y).unwrap().loss;
    t.fit(&x, &y, quiet().epochs(300).batch_size(32)).unwrap();
    let after = t.evaluate(&x, &y).unwrap().loss;
    assert!(
        after < 1e-3 * variance.max(1e-3) && after < before / 100.0,
        "MSE before {before}, after {after}, target variance {variance}"
    );
    // And on fresh inputs from the same range.
    let x2: Vec<f32> = uniform(64 * 4, 6).iter().map(|v| 2.0 * v).collect();
    let p = t.predict(&x2).unwrap();
    for (s, r) in x2.chunks(4).enumerate() {
        let o = teacher.forward(&Vector::<4>::from_column_slice(r));
        for k in 0..2 {
            assert!(
                (o[k] - p[s * 2 + k]).abs() < 0.1,
                "sample {s}: teacher {o:?}, student {:?}",
                &p[s * 2..s * 2 + 2]
            );
        }
    }
}

// ---- History, validation split ----

#[test]
fn history_has_one_value_per_epoch_for_every_key() {
    let (x, y) = binary_data(100, 1);
    let mut t = Binary::new(0)
        .compile(Adam::new(1e-2), Loss::BinaryCrossentropy)
        .metrics(&[Metric::Accuracy]);
    let h = t
        .fit(
            &x,
            &y,
            quiet().epochs(4).batch_size(16).validation_split(0.2),
        )
        .unwrap();
    assert_eq!(
        h.names(),
        ["loss", "accuracy", "val_loss", "val_accuracy", "lr"].map(String::from)
    );
    assert_eq!(h.epochs(), 4);
    for name in h.names() {
        let v = h.get(name).unwrap();
        assert_eq!(v.len(), 4, "{name}");
        assert!(v.iter().all(|v| v.is_finite()), "{name}: {v:?}");
    }
    for name in ["accuracy", "val_accuracy"] {
        assert!(h.get(name).unwrap().iter().all(|a| (0.0..=1.0).contains(a)));
    }
    assert!(h.get("val_binary_accuracy").is_none());
    assert_eq!(h.stopped_epoch, None);
    // Training helps.
    let loss = h.get("loss").unwrap();
    assert!(loss[3] < loss[0], "{loss:?}");

    // Without validation or metrics: only the loss.
    let mut t = Binary::new(0).compile(Adam::new(1e-2), Loss::BinaryCrossentropy);
    let h = t.fit(&x, &y, quiet().epochs(2)).unwrap();
    // `lr` is always logged: the learning rate of the epoch's last step.
    assert_eq!(h.names(), ["loss".to_string(), "lr".to_string()]);
    assert_eq!(h.get("lr").unwrap(), [1e-2, 1e-2]);
    assert!(h.get("val_loss").is_none());
}

/// `validation_split(0.2)` of 100 samples trains on the first 80 and validates on the last
/// 20: the same as passing them explicitly.
#[test]
fn validation_split_holds_out_the_last_samples() {
    let (x, y) = binary_data(100, 2);
    let fit = || quiet().epochs(3).batch_size(16).seed(4);
    let mut a = Binary::new(3)
        .compile(Adam::new(1e-2), Loss::BinaryCrossentropy)
        .metrics(&[Metric::Accuracy]);
    let ha = a.fit(&x, &y, fit().validation_split(0.2)).unwrap();

    let mut b = Binary::new(3)
        .compile(Adam::new(1e-2), Loss::BinaryCrossentropy)
        .metrics(&[Metric::Accuracy]);
    let hb = b
        .fit(
            &x[..80 * 5],
            &y[..80],
            fit().validation_data(&x[80 * 5..], &y[80..]),
        )
        .unwrap();
    assert_eq!(ha, hb);
    assert_eq!(a.model().params(), b.model().params());

    // Training on all 100 differs.
    let mut c = Binary::new(3)
        .compile(Adam::new(1e-2), Loss::BinaryCrossentropy)
        .metrics(&[Metric::Accuracy]);
    let hc = c
        .fit(&x, &y, fit().validation_data(&x[80 * 5..], &y[80..]))
        .unwrap();
    assert_ne!(ha.get("loss"), hc.get("loss"));

    // Keras' rounding: 10 samples, split 0.3 -> 7 for training.
    let mut d = Binary::new(3).compile(Adam::new(1e-2), Loss::BinaryCrossentropy);
    let hd = d
        .fit(&x[..50], &y[..10], fit().validation_split(0.3))
        .unwrap();
    let mut e = Binary::new(3).compile(Adam::new(1e-2), Loss::BinaryCrossentropy);
    let he = e
        .fit(
            &x[..35],
            &y[..7],
            fit().validation_data(&x[35..50], &y[7..10]),
        )
        .unwrap();
    assert_eq!(hd, he);
}

// ---- Determinism ----

fn run(model_seed: u64, fit_seed: u64) -> (History, Vec<f32>) {
    let (x, y) = three_class_data(120, 3);
    let mut t = ThreeClass::new(model_seed)
        .compile(Adam::new(1e-2), Loss::SparseCategoricalCrossentropy)
        .metrics(&[Metric::Accuracy]);
    let h = t
        .fit(
            &x,
            &y,
            quiet()
                .epochs(5)
                .batch_size(16)
                .validation_split(0.25)
                .seed(fit_seed),
        )
        .unwrap();
    (h, t.model().params().to_vec())
}

#[test]
fn same_seeds_give_identical_results() {
    let (h1, p1) = run(1, 7);
    let (h2, p2) = run(1, 7);
    assert_eq!(h1, h2);
    assert_eq!(p1, p2);
}

#[test]
fn different_seeds_give_different_results() {
    let (h1, p1) = run(1, 7);
    // Different shuffling and dropout masks.
    let (h2, p2) = run(1, 8);
    assert_ne!(h1.get("loss"), h2.get("loss"));
    assert_ne!(p1, p2);
    // Different initialisation.
    let (h3, p3) = run(2, 7);
    assert_ne!(h1.get("loss"), h3.get("loss"));
    assert_ne!(p1, p3);
}

#[test]
fn without_shuffling_the_fit_seed_only_changes_dropout() {
    let (x, y) = binary_data(64, 4);
    let fit = |seed| quiet().epochs(3).batch_size(8).shuffle(false).seed(seed);
    let mut a = Binary::new(1).compile(Sgd::new(0.1), Loss::BinaryCrossentropy);
    let mut b = Binary::new(1).compile(Sgd::new(0.1), Loss::BinaryCrossentropy);
    // Binary has no dropout: the seed changes nothing.
    assert_eq!(
        a.fit(&x, &y, fit(1)).unwrap(),
        b.fit(&x, &y, fit(2)).unwrap()
    );
    assert_eq!(a.model().params(), b.model().params());
}

// ---- Errors ----

fn binary_trainer() -> nn::train::Trainer<Binary, Adam> {
    Binary::new(0).compile(Adam::new(1e-2), Loss::BinaryCrossentropy)
}

#[test]
fn empty_data_is_rejected() {
    let mut t = binary_trainer();
    assert!(matches!(
        t.fit(&[], &[], quiet()),
        Err(Error::EmptyData { what: "x" })
    ));
    assert!(matches!(
        t.fit(&[0.0; 5], &[], quiet()),
        Err(Error::EmptyData { what: "y" })
    ));
    assert!(matches!(t.evaluate(&[], &[]), Err(Error::EmptyData { .. })));
    assert!(matches!(t.predict(&[]), Err(Error::EmptyData { .. })));
    assert!(matches!(
        t.train_on_batch(&[], &[]),
        Err(Error::EmptyData { .. })
    ));
}

#[test]
fn partial_samples_are_rejected() {
    let mut t = binary_trainer();
    let r = t.fit(&[0.0; 7], &[0.0], quiet());
    assert!(
        matches!(
            r,
            Err(Error::FeatureCount {
                what: "x",
                expected: 5,
                len: 7
            })
        ),
        "{r:?}"
    );
    assert!(matches!(
        t.predict(&[0.0; 9]),
        Err(Error::FeatureCount {
            expected: 5,
            len: 9,
            ..
        })
    ));
    // Targets of a 3-output model with categorical cross-entropy are rows of 3.
    let mut c = ThreeClass::new(0).compile(Adam::new(1e-2), Loss::CategoricalCrossentropy);
    let r = c.fit(&[0.0; 8], &[1.0, 0.0, 0.0, 0.0], quiet());
    assert!(
        matches!(
            r,
            Err(Error::FeatureCount {
                what: "y",
                expected: 3,
                len: 4
            })
        ),
        "{r:?}"
    );
}

#[test]
fn mismatched_sample_counts_are_rejected() {
    let mut t = binary_trainer();
    let r = t.fit(&[0.0; 20], &[0.0; 3], quiet());
    assert!(
        matches!(r, Err(Error::SampleCountMismatch { x: 4, y: 3 })),
        "{r:?}"
    );
    let r = t.evaluate(&[0.0; 10], &[0.0; 3]);
    assert!(matches!(r, Err(Error::SampleCountMismatch { x: 2, y: 3 })));
    // Validation data is checked too.
    let (x, y) = binary_data(10, 1);
    let r = t.fit(&x, &y, quiet().validation_data(&x[..10], &y[..3]));
    assert!(
        matches!(r, Err(Error::SampleCountMismatch { x: 2, y: 3 })),
        "{r:?}"
    );
}

#[test]
fn non_finite_values_are_rejected() {
    let mut t = binary_trainer();
    let (mut x, mut y) = binary_data(4, 1);
    x[7] = f32::NAN;
    let r = t.fit(&x, &y, quiet());
    assert!(
        matches!(
            r,
            Err(Error::NonFinite {
                what: "x",
                index: 7
            })
        ),
        "{r:?}"
    );
    x[7] = 0.0;
    y[2] = f32::NAN;
    let r = t.fit(&x, &y, quiet());
    assert!(
        matches!(
            r,
            Err(Error::NonFinite {
                what: "y",
                index: 2
            })
        ),
        "{r:?}"
    );
    y[2] = 0.0;
    x[0] = f32::INFINITY;
    assert!(matches!(
        t.predict(&x),
        Err(Error::NonFinite {
            what: "x",
            index: 0
        })
    ));
    // Nothing was trained.
    assert_eq!(t.model().params(), Binary::new(0).params());
}

#[test]
fn out_of_range_labels_are_rejected() {
    let mut t = ThreeClass::new(0).compile(Adam::new(1e-2), Loss::SparseCategoricalCrossentropy);
    let x = [0.0; 12];
    for (bad, index) in [(3.0, 2), (-1.0, 0), (0.5, 1)] {
        let mut y = [0.0, 1.0, 2.0];
        y[index] = bad;
        let r = t.fit(&x, &y, quiet());
        match r {
            Err(Error::InvalidLabel {
                index: i,
                label,
                classes: 3,
            }) => {
                assert_eq!(i, index);
                assert_eq!(label, bad);
            }
            other => panic!("label {bad}: {other:?}"),
        }
        assert!(matches!(
            t.evaluate(&x, &y),
            Err(Error::InvalidLabel { .. })
        ));
        assert!(matches!(
            t.train_on_batch(&x, &y),
            Err(Error::InvalidLabel { .. })
        ));
    }
    assert!(t.fit(&x, &[0.0, 1.0, 2.0], quiet()).is_ok());
}

#[test]
fn bad_arguments_are_rejected() {
    let mut t = binary_trainer();
    let (x, y) = binary_data(10, 1);
    let r = t.fit(&x, &y, quiet().batch_size(0));
    assert!(
        matches!(
            r,
            Err(Error::InvalidArgument {
                name: "batch_size",
                ..
            })
        ),
        "{r:?}"
    );
    for split in [1.0, 1.5, -0.1, f32::NAN, 0.99] {
        let r = t.fit(&x, &y, quiet().validation_split(split));
        assert!(
            matches!(
                r,
                Err(Error::InvalidArgument {
                    name: "validation_split",
                    ..
                })
            ),
            "split {split}: {r:?}"
        );
    }
    // A batch larger than the data is fine (one batch per epoch).
    assert!(t.fit(&x, &y, quiet().batch_size(1000)).is_ok());
}

#[test]
fn early_stopping_on_a_value_that_is_not_logged_is_an_error() {
    let mut t = binary_trainer();
    let (x, y) = binary_data(20, 1);
    let r = t.fit(
        &x,
        &y,
        quiet()
            .epochs(5)
            .callback(EarlyStopping::new("val_loss").patience(2)),
    );
    assert!(
        matches!(
            r.as_ref().map_err(Error::cause),
            Err(Error::InvalidArgument {
                name: "EarlyStopping monitor",
                ..
            })
        ),
        "{r:?}"
    );
    let r = t.fit(
        &x,
        &y,
        quiet().epochs(5).callback(EarlyStopping::new("accuracy")),
    );
    assert!(r.is_err(), "accuracy is not logged without metrics: {r:?}");
}

#[test]
fn a_diverging_loss_stops_training_with_finite_weights() {
    let x: Vec<f32> = uniform(64 * 4, 9).iter().map(|v| 10.0 * v).collect();
    let y: Vec<f32> = (0..64 * 2).map(|i| 1e4 * (i % 3) as f32).collect();
    let mut t = Regressor::new(0).compile(Sgd::new(1e6), Loss::MeanSquaredError);
    let r = t.fit(&x, &y, quiet().epochs(50).batch_size(8));
    match r.as_ref().map_err(Error::cause) {
        Err(&Error::LossDiverged { epoch, batch }) => {
            assert!(epoch < 50 && batch < 8, "epoch {epoch}, batch {batch}");
        }
        other => panic!("expected LossDiverged, got {other:?}"),
    }
    let bad: Vec<(usize, f32)> = t
        .model()
        .params()
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, p)| !p.is_finite())
        .collect();
    assert!(
        bad.is_empty(),
        "{} of {} parameters are not finite after LossDiverged, e.g. {:?}",
        bad.len(),
        Regressor::PARAMS,
        &bad[..bad.len().min(4)]
    );
    // The model still predicts finite values.
    assert!(t.predict(&x).unwrap().iter().all(|v| v.is_finite()));

    // train_on_batch reports divergence too, without applying the step.
    let mut t = Regressor::new(0).compile(Sgd::new(1e6), Loss::MeanSquaredError);
    let mut last = Ok(0.0);
    for _ in 0..50 {
        last = t.train_on_batch(&x, &y);
        if last.is_err() {
            break;
        }
    }
    assert!(matches!(last, Err(Error::LossDiverged { .. })), "{last:?}");
    assert!(
        t.model().params().iter().all(|p| p.is_finite()),
        "train_on_batch left non-finite parameters"
    );
}

// ---- Early stopping ----

/// 24 training samples with random labels, validation on other random labels: the
/// validation loss soon only gets worse.
fn overfitting_data() -> (Vec<f32>, Vec<f32>, Vec<f32>, Vec<f32>) {
    let x = uniform(24 * 5, 21);
    let mut rng = Rng::new(22);
    let y = (0..24)
        .map(|_| f32::from(u8::from(rng.next_f32() < 0.5)))
        .collect();
    let vx = uniform(40 * 5, 23);
    let vy = (0..40)
        .map(|_| f32::from(u8::from(rng.next_f32() < 0.5)))
        .collect();
    (x, y, vx, vy)
}

fn argmin(v: &[f32]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x < v[best] {
            best = i;
        }
    }
    best
}

#[test]
fn early_stopping_stops_before_the_epoch_limit() {
    let (x, y, vx, vy) = overfitting_data();
    let mut t = Overfit::new(1).compile(Adam::new(1e-2), Loss::BinaryCrossentropy);
    let h = t
        .fit(
            &x,
            &y,
            quiet()
                .epochs(300)
                .batch_size(8)
                .validation_data(&vx, &vy)
                .callback(EarlyStopping::new("val_loss").patience(2)),
        )
        .unwrap();
    let stopped = h.stopped_epoch.expect("training should stop early");
    assert!(stopped < 299, "{stopped}");
    assert_eq!(h.epochs(), stopped + 1);
    let val = h.get("val_loss").unwrap();
    // Stopped because nothing improved on the best for a while.
    let best = argmin(val);
    assert!(best < stopped, "best {best}, stopped {stopped}: {val:?}");
    // Training loss kept falling meanwhile (it is overfitting, not diverging).
    let loss = h.get("loss").unwrap();
    assert!(loss[stopped] < loss[0], "{loss:?}");
}

/// Keras stops after `patience` epochs without improvement (`wait >= patience`).
#[test]
fn early_stopping_patience_counts_epochs_without_improvement_as_keras() {
    let (x, y, vx, vy) = overfitting_data();
    for patience in [1, 2, 3, 5] {
        let mut t = Overfit::new(1).compile(Adam::new(1e-2), Loss::BinaryCrossentropy);
        let h = t
            .fit(
                &x,
                &y,
                quiet()
                    .epochs(300)
                    .batch_size(8)
                    .validation_data(&vx, &vy)
                    .callback(EarlyStopping::new("val_loss").patience(patience)),
            )
            .unwrap();
        let stopped = h.stopped_epoch.expect("stops early");
        let val = h.get("val_loss").unwrap();
        // The best value before the stop; nothing after it is better.
        let best = argmin(val);
        assert_eq!(
            stopped - best,
            patience,
            "patience {patience}: best epoch {best}, stopped at epoch {stopped}; val_loss {val:?}"
        );
    }
}

#[test]
fn restore_best_weights_puts_back_the_best_epoch() {
    let (x, y, vx, vy) = overfitting_data();
    let mut t = Overfit::new(1).compile(Adam::new(1e-2), Loss::BinaryCrossentropy);
    let h = t
        .fit(
            &x,
            &y,
            quiet()
                .epochs(300)
                .batch_size(8)
                .validation_data(&vx, &vy)
                .callback(
                    EarlyStopping::new("val_loss")
                        .patience(3)
                        .restore_best_weights(true),
                ),
        )
        .unwrap();
    assert!(h.stopped_epoch.is_some());
    let val = h.get("val_loss").unwrap();
    let best = val[argmin(val)];
    let last = *val.last().unwrap();
    assert!(last > best, "the last epoch must be worse for this test");
    let now = t.evaluate(&vx, &vy).unwrap().loss;
    assert!(
        (now - best).abs() <= 1e-5,
        "after restoring: val loss {now}, best logged {best}, last logged {last}"
    );

    // Without restoring, the final weights are the last epoch's.
    let mut t = Overfit::new(1).compile(Adam::new(1e-2), Loss::BinaryCrossentropy);
    let h = t
        .fit(
            &x,
            &y,
            quiet()
                .epochs(300)
                .batch_size(8)
                .validation_data(&vx, &vy)
                .callback(EarlyStopping::new("val_loss").patience(3)),
        )
        .unwrap();
    let last = h.last("val_loss").unwrap();
    let now = t.evaluate(&vx, &vy).unwrap().loss;
    assert!((now - last).abs() <= 1e-5, "{now} vs {last}");
}

// ---- predict and evaluate ----

#[test]
fn predict_applies_the_output_activation() {
    let (x, _) = binary_data(37, 5);
    let mut t = binary_trainer();
    let p = t.predict(&x).unwrap();
    assert_eq!(p.len(), 37);
    assert!(p.iter().all(|&v| v > 0.0 && v < 1.0), "{p:?}");
    for (s, r) in x.chunks(5).enumerate() {
        let one = t.model().forward(&Vector::<5>::from_column_slice(r));
        assert!((one[0] - p[s]).abs() < 1e-6);
    }

    // More samples than predict's internal batch of 256, with softmax outputs.
    let (x, _) = three_class_data(300, 6);
    let mut t = ThreeClass::new(2).compile(Adam::new(1e-2), Loss::SparseCategoricalCrossentropy);
    let p = t.predict(&x).unwrap();
    assert_eq!(p.len(), 300 * 3);
    for (s, row) in p.chunks(3).enumerate() {
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5, "row {s}");
        assert!(row.iter().all(|&v| v > 0.0 && v < 1.0));
        let one = t
            .model()
            .forward(&Vector::<4>::from_column_slice(&x[s * 4..s * 4 + 4]));
        for k in 0..3 {
            assert!((one[k] - row[k]).abs() < 1e-6, "sample {s}");
        }
    }
}

#[test]
fn evaluate_matches_a_manual_computation() {
    // Binary cross-entropy and accuracy.
    let (x, y) = binary_data(300, 7);
    let mut t = Binary::new(4)
        .compile(Adam::new(1e-2), Loss::BinaryCrossentropy)
        .metrics(&[Metric::Accuracy]);
    t.fit(&x[..200 * 5], &y[..200], quiet().epochs(3)).unwrap();
    let e = t.evaluate(&x, &y).unwrap();
    let p = t.predict(&x).unwrap();
    let loss = p
        .iter()
        .zip(&y)
        .map(|(&p, &t)| {
            let p = f64::from(p);
            -(f64::from(t) * p.ln() + (1.0 - f64::from(t)) * (1.0 - p).ln())
        })
        .sum::<f64>()
        / 300.0;
    assert!(
        (f64::from(e.loss) - loss).abs() < 1e-5 * (1.0 + loss),
        "{} vs {loss}",
        e.loss
    );
    let acc = binary_accuracy(&p, &y);
    assert_eq!(e.get("accuracy"), Some(acc));
    assert_eq!(e.get("loss"), Some(e.loss));
    assert_eq!(e.metrics.len(), 1);

    // Sparse categorical cross-entropy and accuracy, over more than one internal batch.
    let (x, y) = three_class_data(300, 8);
    let mut t = ThreeClass::new(4)
        .compile(Adam::new(1e-2), Loss::SparseCategoricalCrossentropy)
        .metrics(&[Metric::Accuracy]);
    t.fit(&x, &y, quiet().epochs(2)).unwrap();
    let e = t.evaluate(&x, &y).unwrap();
    let p = t.predict(&x).unwrap();
    let mut loss = 0.0f64;
    let mut correct = 0;
    for (row, &label) in p.chunks(3).zip(&y) {
        loss -= f64::from(row[label as usize]).ln();
        let mut best = 0;
        for k in 1..3 {
            if row[k] > row[best] {
                best = k;
            }
        }
        correct += usize::from(best == label as usize);
    }
    loss /= 300.0;
    assert!(
        (f64::from(e.loss) - loss).abs() < 1e-5 * (1.0 + loss),
        "{} vs {loss}",
        e.loss
    );
    assert_eq!(e.get("accuracy"), Some(correct as f32 / 300.0));

    // Mean squared error.
    let mut t = Regressor::new(3).compile(Adam::new(1e-2), Loss::MeanSquaredError);
    let x = uniform(50 * 4, 9);
    let y = uniform(50 * 2, 10);
    let e = t.evaluate(&x, &y).unwrap();
    let p = t.predict(&x).unwrap();
    let mse = p
        .iter()
        .zip(&y)
        .map(|(p, t)| (f64::from(*p) - f64::from(*t)).powi(2))
        .sum::<f64>()
        / 100.0;
    assert!((f64::from(e.loss) - mse).abs() < 1e-6 * (1.0 + mse));
    assert!(e.metrics.is_empty());
}

#[test]
fn train_on_batch_returns_the_batch_loss_before_the_step() {
    let (x, y) = binary_data(16, 11);
    let mut t = binary_trainer();
    let before = t.evaluate(&x, &y).unwrap().loss;
    let l = t.train_on_batch(&x, &y).unwrap();
    assert!((l - before).abs() < 1e-6, "{l} vs {before}");
    let after = t.evaluate(&x, &y).unwrap().loss;
    assert!(after < before);
}

// ---- Targets that do not fit the loss ----

#[test]
fn binary_crossentropy_rejects_targets_outside_0_1() {
    let (x, y) = binary_data(6, 12);
    for bad in [2.0, -1.0, 1.5] {
        let mut y = y.clone();
        y[3] = bad;
        let mut t = binary_trainer();
        let r = t.fit(&x, &y, quiet());
        match &r {
            Err(Error::InvalidTargets {
                loss: "binary_crossentropy",
                problem:
                    TargetProblem::OutOfRange {
                        index: 3, value, ..
                    },
            }) => assert_eq!(*value, bad),
            other => panic!("target {bad}: {other:?}"),
        }
        let message = r.unwrap_err().to_string();
        for part in ["`binary_crossentropy`", "[0, 1]", "index 3", "0 and 1"] {
            assert!(message.contains(part), "{part:?} not in: {message}");
        }
        assert!(matches!(
            t.evaluate(&x, &y),
            Err(Error::InvalidTargets { .. })
        ));
        assert!(matches!(
            t.train_on_batch(&x, &y),
            Err(Error::InvalidTargets { .. })
        ));
        assert_eq!(
            t.model().params(),
            Binary::new(0).params(),
            "trained on garbage"
        );
    }
    // Soft labels in [0, 1] are fine, as in Keras.
    let soft: Vec<f32> = (0..6).map(|i| i as f32 / 5.0).collect();
    assert!(binary_trainer().fit(&x, &soft, quiet()).is_ok());
}

#[test]
fn categorical_crossentropy_rejects_targets_that_are_not_distributions() {
    let x = uniform(3 * 4, 13);
    let mut t = ThreeClass::new(0).compile(Adam::new(1e-2), Loss::CategoricalCrossentropy);
    // The row (-3, 2, 7): a negative target.
    let y = [1.0, 0.0, 0.0, -3.0, 2.0, 7.0, 0.0, 0.0, 1.0];
    let r = t.fit(&x, &y, quiet());
    assert!(
        matches!(
            r,
            Err(Error::InvalidTargets {
                loss: "categorical_crossentropy",
                problem: TargetProblem::OutOfRange {
                    index: 3,
                    value: -3.0,
                    ..
                },
            })
        ),
        "{r:?}"
    );
    let message = r.unwrap_err().to_string();
    assert!(
        message.contains("`categorical_crossentropy`")
            && message.contains("index 3")
            && message.contains("one_hot"),
        "{message}"
    );
    // Non-negative, but not summing to 1: class counts, or an all-zero row.
    for (row, sum) in [([0.0, 2.0, 7.0], 9.0), ([0.0, 0.0, 0.0], 0.0)] {
        let mut y = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];
        y[6..].copy_from_slice(&row);
        let r = t.evaluate(&x, &y);
        match &r {
            Err(Error::InvalidTargets {
                problem: TargetProblem::NotADistribution { sample: 2, sum: s },
                ..
            }) => assert_eq!(*s, sum),
            other => panic!("{row:?}: {other:?}"),
        }
        let message = r.unwrap_err().to_string();
        assert!(
            message.contains("sample 2") && message.contains("sum to"),
            "{message}"
        );
    }
    assert_eq!(t.model().params(), ThreeClass::new(0).params());
    // Soft and label-smoothed targets are fine.
    let soft = [
        0.2,
        0.5,
        0.3,
        0.9,
        0.05,
        0.05,
        1.0 / 3.0,
        1.0 / 3.0,
        1.0 / 3.0,
    ];
    assert!(t.fit(&x, &soft, quiet()).is_ok());
}

#[test]
fn class_ids_given_to_categorical_crossentropy_are_named_as_such() {
    // The case: 142 samples, 3 classes, 142 class ids.
    let (x, y) = three_class_data(142, 14);
    let mut t = ThreeClass::new(0).compile(Adam::new(1e-2), Loss::CategoricalCrossentropy);
    let r = t.fit(&x, &y, quiet());
    assert!(
        matches!(
            r,
            Err(Error::InvalidTargets {
                loss: "categorical_crossentropy",
                problem: TargetProblem::Layout {
                    expected: 3,
                    found: 1
                },
            })
        ),
        "{r:?}"
    );
    let message = r.unwrap_err().to_string();
    for part in [
        "`categorical_crossentropy`",
        "3 values per sample",
        "1 value per sample",
        "class ids",
        "Loss::SparseCategoricalCrossentropy",
        "one_hot(&y, 3)",
    ] {
        assert!(message.contains(part), "{part:?} not in: {message}");
    }
    // The fix the message names works.
    let onehot = nn::data::one_hot(&y, 3).unwrap();
    assert!(t.fit(&x, &onehot, quiet()).is_ok());
    // 141 class ids for 141 samples would divide into 47 rows of 3: still named.
    let r = t.evaluate(&x[..141 * 4], &y[..141]);
    assert!(
        matches!(
            r,
            Err(Error::InvalidTargets {
                problem: TargetProblem::Layout { .. },
                ..
            })
        ),
        "{r:?}"
    );
}

#[test]
fn one_hot_rows_given_to_sparse_categorical_crossentropy_are_named_as_such() {
    let (x, y) = three_class_data(40, 15);
    let onehot = nn::data::one_hot(&y, 3).unwrap();
    let mut t = ThreeClass::new(0).compile(Adam::new(1e-2), Loss::SparseCategoricalCrossentropy);
    for r in [
        t.fit(&x, &onehot, quiet()).map(|_| ()),
        t.evaluate(&x, &onehot).map(|_| ()),
        t.train_on_batch(&x, &onehot).map(|_| ()),
    ] {
        assert!(
            matches!(
                r,
                Err(Error::InvalidTargets {
                    loss: "sparse_categorical_crossentropy",
                    problem: TargetProblem::Layout {
                        expected: 1,
                        found: 3
                    },
                })
            ),
            "{r:?}"
        );
        let message = r.unwrap_err().to_string();
        for part in [
            "`sparse_categorical_crossentropy`",
            "one class id per sample",
            "3 values per sample",
            "Loss::CategoricalCrossentropy",
            "argmax_rows",
        ] {
            assert!(message.contains(part), "{part:?} not in: {message}");
        }
    }
    assert_eq!(t.model().params(), ThreeClass::new(0).params());
}

#[test]
fn a_metric_that_does_not_fit_the_loss_is_an_error_naming_both() {
    let (x, y) = three_class_data(20, 16);
    let onehot = nn::data::one_hot(&y, 3).unwrap();
    // Categorical accuracy compares argmaxes of one-hot rows: not with sparse labels.
    let mut t = ThreeClass::new(0)
        .compile(Adam::new(1e-2), Loss::SparseCategoricalCrossentropy)
        .metrics(&[Metric::CategoricalAccuracy]);
    for r in [
        t.fit(&x, &y, quiet()).map(|_| ()),
        t.evaluate(&x, &y).map(|_| ()),
        t.train_on_batch(&x, &y).map(|_| ()),
    ] {
        assert!(
            matches!(
                r,
                Err(Error::MetricMismatch {
                    metric: "categorical_accuracy",
                    loss: "sparse_categorical_crossentropy",
                    outputs: 3,
                    ..
                })
            ),
            "{r:?}"
        );
        let message = r.unwrap_err().to_string();
        for part in [
            "`categorical_accuracy`",
            "`sparse_categorical_crossentropy`",
            "Metric::SparseCategoricalAccuracy",
        ] {
            assert!(message.contains(part), "{part:?} not in: {message}");
        }
    }
    assert_eq!(t.model().params(), ThreeClass::new(0).params());
    // The other mismatches: sparse accuracy on one-hot rows, an argmax of one output,
    // binary accuracy on sparse labels.
    let r = ThreeClass::new(0)
        .compile(Adam::new(1e-2), Loss::CategoricalCrossentropy)
        .metrics(&[Metric::SparseCategoricalAccuracy])
        .fit(&x, &onehot, quiet());
    assert!(matches!(r, Err(Error::MetricMismatch { .. })), "{r:?}");
    let (bx, by) = binary_data(20, 17);
    let r = Binary::new(0)
        .compile(Adam::new(1e-2), Loss::BinaryCrossentropy)
        .metrics(&[Metric::CategoricalAccuracy])
        .fit(&bx, &by, quiet());
    assert!(matches!(r, Err(Error::MetricMismatch { .. })), "{r:?}");
    let r = ThreeClass::new(0)
        .compile(Adam::new(1e-2), Loss::SparseCategoricalCrossentropy)
        .metrics(&[Metric::BinaryAccuracy])
        .fit(&x, &y, quiet());
    assert!(matches!(r, Err(Error::MetricMismatch { .. })), "{r:?}");
    // `Accuracy` always fits, and so do the matching explicit ones.
    for (loss, metric, targets) in [
        (Loss::SparseCategoricalCrossentropy, Metric::Accuracy, &y),
        (
            Loss::SparseCategoricalCrossentropy,
            Metric::SparseCategoricalAccuracy,
            &y,
        ),
        (Loss::CategoricalCrossentropy, Metric::Accuracy, &onehot),
        (
            Loss::CategoricalCrossentropy,
            Metric::BinaryAccuracy,
            &onehot,
        ),
    ] {
        let r = ThreeClass::new(0)
            .compile(Adam::new(1e-2), loss)
            .metrics(&[metric])
            .fit(&x, targets, quiet());
        assert!(r.is_ok(), "{loss:?} {metric:?}: {r:?}");
    }
}

// ---- Settings: recorded by the builders, checked when training starts ----

#[test]
fn an_infinite_learning_rate_is_rejected_like_a_negative_one() {
    let (x, y) = binary_data(32, 18);
    for lr in [f32::INFINITY, f32::NAN, -1e-3, f32::NEG_INFINITY] {
        let mut t = Binary::new(0).compile(Sgd::new(lr), Loss::BinaryCrossentropy);
        let r = t.fit(&x, &y, quiet().epochs(3));
        match &r {
            Err(Error::InvalidSetting {
                owner: "Sgd",
                name: "learning_rate",
                value,
                ..
            }) => assert!(
                value.to_bits() == f64::from(lr).to_bits() || (value.is_nan() && lr.is_nan()),
                "{value} for {lr}"
            ),
            other => panic!("learning rate {lr}: {other:?}"),
        }
        let message = r.unwrap_err().to_string();
        assert!(
            message.contains("learning_rate") && message.contains("finite and >= 0"),
            "{message}"
        );
        assert!(t.train_on_batch(&x, &y).is_err());
        assert!(
            t.model().params().iter().all(|p| p.is_finite()),
            "learning rate {lr} left non-finite weights"
        );
        assert_eq!(t.model().params(), Binary::new(0).params());
    }
    // A schedule may set an invalid rate later: the next call reports it.
    let mut t = Binary::new(0).compile(Adam::new(1e-3), Loss::BinaryCrossentropy);
    t.fit(&x, &y, quiet()).unwrap();
    t.optimizer_mut().set_learning_rate(f32::INFINITY);
    assert!(matches!(
        t.train_on_batch(&x, &y),
        Err(Error::InvalidSetting {
            name: "learning_rate",
            ..
        })
    ));
    // 0 is a valid rate (a schedule may pause training): the weights stay as they are.
    let mut t = Binary::new(0).compile(Sgd::new(0.0), Loss::BinaryCrossentropy);
    t.fit(&x, &y, quiet()).unwrap();
    assert_eq!(t.model().params(), Binary::new(0).params());
}

/// Fits `Binary` with `optimizer` on a few samples; the error's `(owner, name)`.
fn setting_error<O: Optimizer>(optimizer: O) -> Option<(&'static str, &'static str)> {
    let (x, y) = binary_data(8, 19);
    match Binary::new(0)
        .compile(optimizer, Loss::BinaryCrossentropy)
        .fit(&x, &y, quiet())
    {
        Err(Error::InvalidSetting { owner, name, .. }) => Some((owner, name)),
        Err(other) => panic!("{other:?}"),
        Ok(_) => None,
    }
}

#[test]
fn settings_out_of_range_are_errors_not_panics() {
    // Each of these panicked in its builder before.
    assert_eq!(
        setting_error(Adam::new(-1e-3)),
        Some(("Adam", "learning_rate"))
    );
    assert_eq!(
        setting_error(Adam::new(1e-3).beta1(1.0)),
        Some(("Adam", "beta1"))
    );
    assert_eq!(
        setting_error(Adam::new(1e-3).beta2(-0.1)),
        Some(("Adam", "beta2"))
    );
    assert_eq!(
        setting_error(Adam::new(1e-3).epsilon(0.0)),
        Some(("Adam", "epsilon"))
    );
    assert_eq!(
        setting_error(AdamW::new(1e-3).weight_decay(-0.1)),
        Some(("AdamW", "weight_decay"))
    );
    assert_eq!(
        setting_error(Sgd::new(0.1).momentum(1.0)),
        Some(("Sgd", "momentum"))
    );
    assert_eq!(
        setting_error(Sgd::new(0.1).clip_norm(0.0)),
        Some(("Sgd", "clip_norm"))
    );
    assert_eq!(
        setting_error(Sgd::new(0.1).clip_value(-1.0)),
        Some(("Sgd", "clip_value"))
    );
    assert_eq!(
        setting_error(Sgd::new(0.1).weight_decay(f32::NAN)),
        Some(("Sgd", "weight_decay"))
    );
    assert_eq!(
        setting_error(RmsProp::new(1e-3).rho(1.5)),
        Some(("RmsProp", "rho"))
    );
    assert_eq!(
        setting_error(RmsProp::new(1e-3).momentum(-0.5)),
        Some(("RmsProp", "momentum"))
    );
    // Valid edge values.
    assert_eq!(setting_error(Adam::new(1e-3).beta1(0.0)), None);
    assert_eq!(setting_error(Sgd::new(0.1).clip_value(f32::INFINITY)), None);

    // Zero threads: an error naming the setting, not a panic in the builder.
    let (x, y) = binary_data(8, 20);
    let mut t = binary_trainer().threads(0);
    let r = t.fit(&x, &y, quiet());
    assert!(
        matches!(
            r,
            Err(Error::InvalidSetting {
                owner: "Trainer",
                name: "threads",
                ..
            })
        ),
        "{r:?}"
    );
    assert!(t.evaluate(&x, &y).is_err() && t.train_on_batch(&x, &y).is_err());
    let mut t = binary_trainer().threads(2);
    assert!(t.fit(&x, &y, quiet()).is_ok());
}

#[test]
fn any_number_of_metrics_is_allowed() {
    // Nine metrics (eight was the limit, and a ninth panicked); duplicates are reported
    // once, each under the name asked for (`Accuracy` is `BinaryAccuracy` here, logged as
    // `accuracy` and `binary_accuracy`, with equal values).
    let (x, y) = binary_data(40, 21);
    let mut metrics = vec![Metric::Accuracy; 5];
    metrics.extend([Metric::BinaryAccuracy; 4]);
    let mut t = binary_trainer().metrics(&metrics);
    let h = t.fit(&x, &y, quiet().epochs(2)).unwrap();
    assert_eq!(h.names(), ["loss", "accuracy", "binary_accuracy", "lr"]);
    assert_eq!(h.get("accuracy").unwrap().len(), 2);
    assert_eq!(h.get("accuracy"), h.get("binary_accuracy"));
    assert_eq!(t.evaluate(&x, &y).unwrap().metrics.len(), 2);

    // Every built-in metric at once (a one-output binary classifier reads them all but
    // top-k, which needs two outputs and is refused by name).
    let all: Vec<Metric> = Metric::ALL
        .into_iter()
        .filter(|m| !matches!(m, Metric::TopKAccuracy(_)))
        .collect();
    let mut t = binary_trainer().metrics(&all);
    let h = t.fit(&x, &y, quiet().epochs(2)).unwrap();
    assert_eq!(h.names().len(), 1 + all.len() + 1);
    for m in &all {
        let v = h.get(m.name()).unwrap();
        assert!(v.iter().all(|v| v.is_finite()), "{m:?}: {v:?}");
    }
    let r = binary_trainer().metrics(&Metric::ALL).fit(&x, &y, quiet());
    assert!(
        matches!(
            r,
            Err(Error::MetricMismatch {
                metric: "top_k_accuracy",
                ..
            })
        ),
        "{r:?}"
    );
}

// ---- Nothing is lost on error ----

/// Fails at the end of epoch `at` (zero-based).
struct FailAt {
    at: usize,
}

impl Callback for FailAt {
    fn on_epoch_end(
        &mut self,
        epoch: usize,
        _: &mut Logs,
        _: &mut Context<'_>,
    ) -> nn::Result<Control> {
        if epoch == self.at {
            Err(Error::InvalidArgument {
                name: "FailAt",
                reason: "fails on purpose",
            })
        } else {
            Ok(Control::Continue)
        }
    }
}

#[test]
fn a_callback_error_keeps_the_history_of_the_completed_epochs() {
    let (x, y) = binary_data(40, 22);
    let mut t = binary_trainer().metrics(&[Metric::Accuracy]);
    let r = t.fit(&x, &y, quiet().epochs(10).callback(FailAt { at: 3 }));
    let Err(Error::TrainingStopped { error, history }) = &r else {
        panic!("expected TrainingStopped, got {r:?}");
    };
    assert!(matches!(
        **error,
        Error::InvalidArgument { name: "FailAt", .. }
    ));
    // Epochs 0 to 3 ran to their end (the callback failed after epoch 3's logs).
    assert_eq!(history.epochs(), 4);
    assert_eq!(history.get("accuracy").unwrap().len(), 4);
    assert!(history.get("loss").unwrap().iter().all(|l| l.is_finite()));
    let e = r.unwrap_err();
    assert!(matches!(e.cause(), Error::InvalidArgument { .. }));
    assert_eq!(e.history().map(History::epochs), Some(4));
    let message = e.to_string();
    assert!(
        message.contains("4 completed epoch") && message.contains("fails on purpose"),
        "{message}"
    );
}

#[test]
fn divergence_keeps_the_history_of_the_completed_epochs() {
    // Plain SGD above the stable rate on a linear unit: the loss grows by a constant
    // factor per step and overflows after a few epochs.
    let x: Vec<f32> = uniform(64 * 2, 23);
    let y: Vec<f32> = x.chunks(2).map(|r| r[0] - 2.0 * r[1]).collect();
    let mut t = Linear::new(1).compile(Sgd::new(6.0), Loss::MeanSquaredError);
    let r = t.fit(&x, &y, quiet().epochs(100).batch_size(8).shuffle(false));
    let Err(Error::TrainingStopped { error, history }) = &r else {
        panic!("expected TrainingStopped, got {r:?}");
    };
    let Error::LossDiverged { epoch, .. } = **error else {
        panic!("expected LossDiverged, got {error:?}");
    };
    assert!(
        epoch >= 2,
        "diverged too early to test the history: epoch {epoch}"
    );
    assert_eq!(history.epochs(), epoch, "one entry per completed epoch");
    let losses = history.get("loss").unwrap();
    assert!(losses.iter().all(|l| l.is_finite()), "{losses:?}");
    assert!(losses.windows(2).all(|w| w[1] > w[0]), "{losses:?}");
    // The message is true: the weights are those of the last finite step.
    assert!(t.model().params().iter().all(|p| p.is_finite()));
}

#[test]
fn an_update_that_overflows_the_weights_is_not_reported_as_finite() {
    // The largest finite learning rate times a gradient above 1 overflows the weights in
    // one step, whose own loss was finite; the next loss is not, and the error must not
    // claim "the last finite weights".
    let x: Vec<f32> = uniform(16 * 2, 24).iter().map(|v| 4.0 * v).collect();
    let y = vec![10.0; 16];
    let mut t = Linear::new(1).compile(Sgd::new(f32::MAX), Loss::MeanSquaredError);
    assert!(t.train_on_batch(&x, &y).unwrap().is_finite());
    assert!(t.model().params().iter().any(|p| !p.is_finite()));
    let r = t.train_on_batch(&x, &y);
    assert!(matches!(r, Err(Error::WeightsDiverged { .. })), "{r:?}");
    let message = r.unwrap_err().to_string();
    assert!(
        message.contains("cannot be used") && !message.contains("last finite weights"),
        "{message}"
    );

    let mut t = Linear::new(1).compile(Sgd::new(f32::MAX), Loss::MeanSquaredError);
    let r = t.fit(&x, &y, quiet().batch_size(8).shuffle(false));
    assert!(
        matches!(
            r.as_ref().map_err(Error::cause),
            Err(Error::WeightsDiverged { epoch: 0, batch: 1 })
        ),
        "{r:?}"
    );
}

#[test]
fn evaluate_reports_a_non_finite_loss_instead_of_returning_nan() {
    // Weights of 1e19: an output of 1e19 * x, whose square overflows f32 when |x| >= 2.
    let mut model = Linear::new(0);
    model.params_mut().copy_from_slice(&[1e19, 0.0, 0.0]);
    let mut t = model.compile(Sgd::new(0.1), Loss::MeanSquaredError);
    let mut x = vec![0.5; 600 * 2];
    x[300 * 2] = 4.0; // sample 300, in the second internal batch of 256
    let y = vec![0.0; 600];
    let r = t.evaluate(&x, &y);
    assert!(
        matches!(
            r,
            Err(Error::NonFiniteLoss {
                what: "x",
                sample: 300
            })
        ),
        "{r:?}"
    );
    let message = r.unwrap_err().to_string();
    assert!(message.contains("sample 300"), "{message}");
    // Without sample 300 the loss is finite.
    assert!(t.evaluate(&x[..600], &y[..300]).unwrap().loss.is_finite());

    // The same for validation data inside `fit`: training stops with the history.
    let mut model = Linear::new(0);
    model.params_mut().copy_from_slice(&[1e19, 0.0, 0.0]);
    let mut t = model.compile(Sgd::new(0.0), Loss::MeanSquaredError);
    let r = t.fit(
        &x[..600],
        &y[..300],
        quiet().validation_data(&x[300 * 2..302 * 2], &y[..2]),
    );
    assert!(
        matches!(
            r.as_ref().map_err(Error::cause),
            Err(Error::NonFiniteLoss {
                what: "validation data",
                sample: 0
            })
        ),
        "{r:?}"
    );

    // NaN weights are found too.
    let mut model = Linear::new(0);
    model.params_mut()[1] = f32::NAN;
    let mut t = model.compile(Sgd::new(0.1), Loss::MeanSquaredError);
    assert!(matches!(
        t.evaluate(&x[..20], &y[..10]),
        Err(Error::NonFiniteLoss { sample: 0, .. })
    ));
}
