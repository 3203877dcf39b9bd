//! Batch normalisation's hyperparameters through `model!`: PyTorch's settings keep PyTorch's
//! running statistics (reference: tests/data/batchnorm_running_pytorch.json, written by
//! tests/data/gen_batchnorm_running.py with `torch.nn.BatchNorm2d` in training mode), and
//! Keras' defaults and other values match the closed-form update.

use nn::model::Model;
use nn::rng::Rng;

nn::model! {
    /// PyTorch's `BatchNorm2d(3)` defaults, on 2×2 images of 3 channels.
    struct TorchBn {
        input: [2, 2, 3],
        bn: BatchNorm(epsilon = 1e-5, momentum = 0.9, unbiased_variance = true),
    }
}

nn::model! {
    /// Keras' defaults: epsilon 1e-3, momentum 0.99, biased variance.
    struct KerasBn {
        input: 3,
        BatchNorm,
    }
}

nn::model! {
    /// Other values, positional (momentum, epsilon), biased variance.
    struct CustomBn {
        input: 3,
        BatchNorm(0.5, 0.25),
    }
}

fn values(json: &serde_json::Value) -> Vec<f64> {
    json.as_array()
        .expect("an array")
        .iter()
        .map(|v| v.as_f64().expect("a number"))
        .collect()
}

/// `|got − want| ≤ 1e-5 · (|want| + 1)`, element by element.
fn assert_close(what: &str, got: &[f32], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let err = (f64::from(g) - w).abs();
        assert!(
            err <= 1e-5 * (w.abs() + 1.0),
            "{what}[{i}]: got {g}, PyTorch {w}"
        );
    }
}

/// As [`assert_close`], but relative only: the running statistics, as the brief asks.
fn assert_relative(what: &str, got: &[f32], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let err = (f64::from(g) - w).abs();
        assert!(err <= 1e-5 * w.abs(), "{what}[{i}]: got {g}, want {w}");
    }
}

#[test]
fn pytorch_settings_keep_pytorchs_running_statistics() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/batchnorm_running_pytorch.json"
    ))
    .unwrap();
    let fx: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(values(&fx["shape_nhwc"]), [2.0, 2.0, 2.0, 3.0]);

    let mut model = TorchBn::new(0);
    // gamma, then beta (the layer's parameter layout).
    let (gamma, beta) = (values(&fx["gamma"]), values(&fx["beta"]));
    for (p, v) in model.params_mut().iter_mut().zip(gamma.iter().chain(&beta)) {
        *p = *v as f32;
    }
    let mut ws = nn::tape::Tape::new();
    let mut rng = Rng::new(0);
    let steps = fx["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 3);
    for (i, step) in steps.iter().enumerate() {
        let x: Vec<f32> = values(&step["x"]).iter().map(|&v| v as f32).collect();
        // Training mode: batch statistics, and the running statistics move.
        let y = model
            .forward_batch(&mut ws, &x, 2, nn::layers::Pass::Train(&mut rng))
            .to_vec();
        assert_close(&format!("step {i}: y"), &y, &values(&step["y"]));
        model.update_state(&ws);
        let (mean, var) = model.state().split_at(3);
        assert_relative(
            &format!("step {i}: running_mean"),
            mean,
            &values(&step["running_mean"]),
        );
        assert_relative(
            &format!("step {i}: running_var"),
            var,
            &values(&step["running_var"]),
        );
    }
}

/// Per-column mean and biased variance of rows of 3, in `f64`.
fn column_stats(x: &[f32]) -> Vec<(f64, f64)> {
    (0..3)
        .map(|c| {
            let col: Vec<f64> = x.iter().skip(c).step_by(3).map(|&v| f64::from(v)).collect();
            let n = col.len() as f64;
            let mean = col.iter().sum::<f64>() / n;
            let var = col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
            (mean, var)
        })
        .collect()
}

/// Two training steps and one inference of `M` (one batch-norm layer over 3 features, gamma
/// 1 and beta 0) against the closed form with `epsilon`, `momentum` and the biased variance.
fn check_closed_form<M: Model>(model: &mut M, epsilon: f64, momentum: f64) {
    let batches: [Vec<f32>; 2] = [
        vec![
            1.0, -2.0, 0.5, 3.0, 0.0, 0.5, 2.0, 4.0, 0.75, -1.0, 1.0, 0.25,
        ],
        vec![0.5, 0.5, 2.0, 1.5, -0.5, 3.0, 2.5, 1.0, -1.0, 0.0, 2.0, 0.0],
    ];
    let mut running = [(0.0, 1.0); 3];
    let mut ws = nn::tape::Tape::new();
    let mut rng = Rng::new(1);
    for (step, x) in batches.iter().enumerate() {
        let y = model
            .forward_batch(&mut ws, x, 4, nn::layers::Pass::Train(&mut rng))
            .to_vec();
        model.update_state(&ws);
        let stats = column_stats(x);
        for (c, &(mean, var)) in stats.iter().enumerate() {
            running[c].0 = momentum * running[c].0 + (1.0 - momentum) * mean;
            running[c].1 = momentum * running[c].1 + (1.0 - momentum) * var;
            for r in 0..4 {
                let want = (f64::from(x[3 * r + c]) - mean) / (var + epsilon).sqrt();
                assert_close(
                    &format!("step {step}: y[{r}, {c}]"),
                    &[y[3 * r + c]],
                    &[want],
                );
            }
        }
        let (mean, var) = model.state().split_at(3);
        let want: Vec<(f64, f64)> = running.to_vec();
        for c in 0..3 {
            assert_relative(&format!("step {step}: mean"), &mean[c..=c], &[want[c].0]);
            assert_relative(&format!("step {step}: var"), &var[c..=c], &[want[c].1]);
        }
    }
    // Inference mode: the running statistics, and the same epsilon.
    let x = [2.0f32, -1.0, 0.5];
    let y = model
        .forward_batch(&mut ws, &x, 1, nn::layers::Pass::Eval)
        .to_vec();
    for c in 0..3 {
        let want = (f64::from(x[c]) - running[c].0) / (running[c].1 + epsilon).sqrt();
        assert_close(&format!("inference y[{c}]"), &[y[c]], &[want]);
    }
}

#[test]
fn keras_defaults_follow_the_closed_form() {
    check_closed_form(&mut KerasBn::new(0), 1e-3, 0.99);
}

#[test]
fn other_epsilon_and_momentum_follow_the_closed_form() {
    check_closed_form(&mut CustomBn::new(0), 0.25, 0.5);
}
