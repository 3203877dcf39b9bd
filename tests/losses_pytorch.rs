//! The losses added for custom loops (mean absolute error, Huber, KL divergence, hinge,
//! binary cross-entropy on logits) against PyTorch's values and autograd gradients
//! (`tests/data/gen_losses.py`), and their gradients against finite differences through the
//! output activation; invalid targets and settings are errors.

use nn::activations::{ActivationFn, Linear, Softmax, Tanh};
use nn::gradcheck;
use nn::loss::{
    BinaryCrossentropyWithLogits, Hinge, Huber, KlDivergence, LossFn, MeanAbsoluteError,
};
use nn::Error;

const WIDTH: usize = 3;

fn case(name: &str) -> (String, Vec<f32>, Vec<f32>, f64, Vec<f64>) {
    let path = format!(
        "{}/tests/data/losses_pytorch.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let c = &json["cases"][name];
    let floats = |key: &str| -> Vec<f64> {
        c[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect()
    };
    #[allow(clippy::cast_possible_truncation)]
    let f32s = |v: Vec<f64>| v.into_iter().map(|v| v as f32).collect::<Vec<f32>>();
    (
        c["activation"].as_str().unwrap().to_owned(),
        f32s(floats("z")),
        f32s(floats("t")),
        c["loss"].as_f64().unwrap(),
        floats("dz"),
    )
}

/// The loss and its gradient with respect to the logits `z`, through `activation`.
fn run<L: LossFn, A: ActivationFn>(
    loss: &L,
    activation: A,
    z: &[f32],
    t: &[f32],
) -> (f32, Vec<f32>) {
    let mut y = z.to_vec();
    activation.forward(&mut y, WIDTH);
    let mut d = vec![0.0; z.len()];
    let value = loss.forward_backward(&activation, z, &y, t, WIDTH, &mut d);
    let alone = loss.value(&activation, z, &y, t, WIDTH);
    assert_eq!(value, alone, "{}: value without the gradient", loss.name());
    (value, d)
}

fn check<L: LossFn, A: ActivationFn>(loss: L, activation: A, name: &str) {
    let (act, z, t, expected, dz) = case(name);
    assert_eq!(act, activation.name(), "{name}");
    loss.check_targets(&t, WIDTH).unwrap();
    let (value, d) = run(&loss, activation, &z, &t);
    assert!(
        (f64::from(value) - expected).abs() <= 1e-5 * expected.abs(),
        "{name}: loss {value} vs PyTorch {expected}"
    );
    for (i, (&a, &b)) in d.iter().zip(&dz).enumerate() {
        assert!(
            (f64::from(a) - b).abs() <= 1e-5 * b.abs() + 1e-6,
            "{name}: dz[{i}] {a} vs PyTorch {b}"
        );
    }
    let report = gradcheck::check(&z, &d, 0..z.len(), 1e-2, 1e-3, 1e-6, |z| {
        f64::from(run(&loss, activation, z, &t).0)
    });
    assert!(report.passed(), "{name}: {report}");
}

#[test]
fn mean_absolute_error_matches_pytorch() {
    check(MeanAbsoluteError, Tanh, "mae");
}

#[test]
fn huber_matches_pytorch() {
    check(Huber { delta: 0.7 }, Linear, "huber");
}

#[test]
fn kl_divergence_matches_pytorch() {
    check(KlDivergence, Softmax, "kl");
}

#[test]
fn hinge_matches_pytorch() {
    check(Hinge, Tanh, "hinge");
}

#[test]
fn binary_crossentropy_with_logits_matches_pytorch() {
    check(BinaryCrossentropyWithLogits, Linear, "bce_logits");
}

#[test]
fn kl_divergence_through_another_activation_matches_finite_differences() {
    // Sigmoid outputs, normalised targets: the unfused path through the activation.
    let z = [0.3f32, -1.2, 0.8, 1.5, -0.4, 0.1];
    let t = [0.2f32, 0.5, 0.3, 0.6, 0.1, 0.3];
    let act = nn::activations::Sigmoid;
    let (_, d) = run(&KlDivergence, act, &z, &t);
    let report = gradcheck::check(&z, &d, 0..z.len(), 1e-2, 1e-3, 1e-6, |z| {
        f64::from(run(&KlDivergence, act, z, &t).0)
    });
    assert!(report.passed(), "{report}");
}

#[test]
fn targets_and_settings_outside_the_domain_are_errors() {
    let e = Hinge.check_targets(&[1.0, 0.5], 2).unwrap_err();
    assert!(e.to_string().contains("-1 or 1"), "{e}");
    let e = BinaryCrossentropyWithLogits
        .check_targets(&[1.0, 2.0], 2)
        .unwrap_err();
    assert!(matches!(e, Error::InvalidTargets { .. }), "{e}");
    let e = KlDivergence.check_targets(&[-0.1, 1.1], 2).unwrap_err();
    assert!(e.to_string().contains(">= 0"), "{e}");
    let e = Huber { delta: 0.0 }.check_targets(&[1.0], 1).unwrap_err();
    assert!(
        matches!(e, Error::InvalidSetting { name: "delta", .. }),
        "{e}"
    );
}
