//! The activations added for custom loops against PyTorch: values and gradients of GELU and
//! ELU on the shared fixtures (`../shared/fixtures/pytorch`, copied to `tests/data`), and of
//! SELU, SiLU, softplus, hard sigmoid and ELU(0.5) on fixtures written by
//! `tests/data/gen_activations.py` (PyTorch, float64) on the same inputs, including the
//! extremes (±30, ±10000) and points close to 0.

use nn::activations::{ActivationFn, Elu, Gelu, HardSigmoid, Selu, Silu, Softplus};

fn tensor(json: &serde_json::Value, name: &str) -> Vec<f64> {
    json["tensors"][name]["data"]
        .as_array()
        .unwrap_or_else(|| panic!("`{name}` has data"))
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

fn check<A: ActivationFn>(act: A, file: &str) {
    let path = format!("{}/tests/data/{file}", env!("CARGO_MANIFEST_DIR"));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let (x, y, dy, dx) = (
        tensor(&json, "x"),
        tensor(&json, "y"),
        tensor(&json, "dy"),
        tensor(&json, "dx"),
    );
    #[allow(clippy::cast_possible_truncation)]
    let to32 = |v: &[f64]| v.iter().map(|&v| v as f32).collect::<Vec<f32>>();
    let x32 = to32(&x);
    let mut out = x32.clone();
    act.forward(&mut out, 10);
    let mut grad = to32(&dy);
    let input: &[f32] = if A::USES_INPUT { &x32 } else { &[] };
    act.backward(input, &out, &mut grad, 10);
    let close = |a: f32, b: f64| (f64::from(a) - b).abs() <= 2e-6 * b.abs() + 1e-6;
    for i in 0..x.len() {
        assert!(
            close(out[i], y[i]),
            "{file}: y at x = {}: {} vs PyTorch {}",
            x[i],
            out[i],
            y[i]
        );
        assert!(
            close(grad[i], dx[i]),
            "{file}: dx at x = {}: {} vs PyTorch {}",
            x[i],
            grad[i],
            dx[i]
        );
    }
}

#[test]
fn gelu_matches_pytorch() {
    check(Gelu, "activation_gelu.json");
}

#[test]
fn elu_matches_pytorch() {
    check(Elu::default(), "activation_elu.json");
    check(Elu(0.5), "activation_elu_0.5.json");
}

#[test]
fn selu_silu_softplus_hard_sigmoid_match_pytorch() {
    check(Selu, "activation_selu.json");
    check(Silu, "activation_silu.json");
    check(Softplus, "activation_softplus.json");
    check(HardSigmoid, "activation_hardsigmoid.json");
}
