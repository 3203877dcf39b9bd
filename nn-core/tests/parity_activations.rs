//! Parity of the activations with PyTorch's float64 reference values
//! (`tests/fixtures/pytorch/activation_*`). ELU and GELU fixtures exist but are not
//! implemented by the crate, so they are not checked.
mod common;

use common::{assert_close, Fixture};
use nn_core::activations::{ActivationFn, ActivationKind};

/// f32 against f64 references: a few f32 ulps of relative error, plus an absolute floor for
/// values that should be 0.
const RTOL: f64 = 1e-5;
const ATOL: f64 = 1e-6;

/// `y = forward(x)` and `dx = backward(y, dy)` against the fixture `activation_<name>`.
fn check(name: &str, activation: ActivationKind) {
    let fx = Fixture::load(&format!("activation_{name}"));
    let doc = &fx.doc;
    let width = *fx.shape("x").last().expect("x has a shape");
    let mut y = fx.f32("x");
    activation.forward(&mut y, width);
    assert_close(&format!("{name}: y ({doc})"), &y, fx.f64("y"), RTOL, ATOL);
    let mut dx = fx.f32("dy");
    activation.backward(&[], &y, &mut dx, width);
    assert_close(
        &format!("{name}: dx ({doc})"),
        &dx,
        fx.f64("dx"),
        RTOL,
        ATOL,
    );
}

#[test]
fn relu() {
    check("relu", ActivationKind::Relu);
}

#[test]
fn leaky_relu() {
    check("leaky_relu_0.2", ActivationKind::LeakyRelu(0.2));
}

#[test]
fn sigmoid() {
    check("sigmoid", ActivationKind::Sigmoid);
}

#[test]
fn tanh() {
    check("tanh", ActivationKind::Tanh);
}

#[test]
fn softmax() {
    check("softmax", ActivationKind::Softmax);
}
