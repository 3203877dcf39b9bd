//! Parity of the losses with PyTorch's float64 reference values (`tests/fixtures/pytorch/loss_*`).
mod common;

use common::{assert_close, Fixture};
use nn_core::activations::{ActivationFn, ActivationKind};
use nn_core::loss::{self, Loss, LossFn};

/// Losses are f32 against f64 references: a few f32 ulps of relative error.
const RTOL: f64 = 1e-5;
const ATOL: f64 = 1e-6;

/// Checks a mean loss and its gradient, naming the fixture and its doc string on failure.
fn check(
    fx: &Fixture,
    what: &str,
    loss: f32,
    expected_loss: &str,
    grad: &[f32],
    expected_grad: &str,
) {
    let doc = &fx.doc;
    assert_close(
        &format!("{what}: loss ({doc})"),
        &[loss],
        fx.f64(expected_loss),
        RTOL,
        ATOL,
    );
    assert_close(
        &format!("{what}: gradient ({doc})"),
        grad,
        fx.f64(expected_grad),
        RTOL,
        ATOL,
    );
}

#[test]
fn mean_squared_error() {
    let fx = Fixture::load("loss_mse");
    let (pred, target) = (fx.f32("pred"), fx.f32("target"));
    let width = fx.shape("pred")[1];
    let mut d = vec![f32::NAN; pred.len()];
    let l = loss::mse(&pred, &target, &mut d);
    check(&fx, "mse", l, "loss", &d, "dpred");

    let mut d = vec![f32::NAN; pred.len()];
    let l = Loss::MeanSquaredError.forward_backward(
        &ActivationKind::Linear,
        &pred,
        &pred,
        &target,
        width,
        &mut d,
    );
    check(
        &fx,
        "Loss::MeanSquaredError, linear",
        l,
        "loss",
        &d,
        "dpred",
    );
    assert_eq!(
        l,
        Loss::MeanSquaredError.value(&ActivationKind::Linear, &pred, &pred, &target, width)
    );
}

#[test]
fn binary_crossentropy_from_logits() {
    let fx = Fixture::load("loss_binary_crossentropy_logits");
    let (z, t) = (fx.f32("z"), fx.f32("t"));
    let width = fx.shape("z")[1];
    let mut d = vec![f32::NAN; z.len()];
    let l = loss::binary_crossentropy_from_logits(&z, &t, &mut d);
    check(&fx, "binary_crossentropy_from_logits", l, "loss", &d, "dz");

    let mut p = z.clone();
    ActivationKind::Sigmoid.forward(&mut p, width);
    let mut d = vec![f32::NAN; z.len()];
    let l = Loss::BinaryCrossentropy.forward_backward(
        &ActivationKind::Sigmoid,
        &z,
        &p,
        &t,
        width,
        &mut d,
    );
    check(
        &fx,
        "Loss::BinaryCrossentropy, sigmoid",
        l,
        "loss",
        &d,
        "dz",
    );
    assert_eq!(
        l,
        Loss::BinaryCrossentropy.value(&ActivationKind::Sigmoid, &z, &p, &t, width)
    );
}

#[test]
fn categorical_crossentropy_on_probabilities() {
    let fx = Fixture::load("loss_categorical_crossentropy_probs");
    let (probs, onehot) = (fx.f32("probs"), fx.f32("onehot"));
    let width = fx.shape("probs")[1];
    let mut d = vec![f32::NAN; probs.len()];
    let l = loss::categorical_crossentropy(&probs, &onehot, width, &mut d);
    check(&fx, "categorical_crossentropy", l, "loss", &d, "dprobs");

    // Through the loss with a linear output, the probabilities are the logits.
    let mut d = vec![f32::NAN; probs.len()];
    let l = Loss::CategoricalCrossentropy.forward_backward(
        &ActivationKind::Linear,
        &probs,
        &probs,
        &onehot,
        width,
        &mut d,
    );
    check(
        &fx,
        "Loss::CategoricalCrossentropy, linear",
        l,
        "loss",
        &d,
        "dprobs",
    );

    // The same rows as class indices.
    let labels: Vec<f32> = onehot
        .chunks_exact(width)
        .map(|r| r.iter().position(|&v| v == 1.0).unwrap() as f32)
        .collect();
    let mut d = vec![f32::NAN; probs.len()];
    let l = loss::sparse_categorical_crossentropy(&probs, &labels, width, &mut d);
    check(
        &fx,
        "sparse_categorical_crossentropy",
        l,
        "loss",
        &d,
        "dprobs",
    );
}

#[test]
fn softmax_cross_entropy() {
    let fx = Fixture::load("loss_softmax_cross_entropy");
    let (logits, labels, onehot) = (fx.f32("logits"), fx.f32("labels"), fx.f32("onehot"));
    let width = fx.shape("logits")[1];

    let mut d = vec![f32::NAN; logits.len()];
    let l = loss::sparse_softmax_cross_entropy(&logits, &labels, width, &mut d);
    check(
        &fx,
        "sparse_softmax_cross_entropy",
        l,
        "loss",
        &d,
        "dlogits",
    );

    let mut d = vec![f32::NAN; logits.len()];
    let l = loss::softmax_cross_entropy(&logits, &onehot, width, &mut d);
    check(&fx, "softmax_cross_entropy", l, "loss", &d, "dlogits");

    let mut probs = logits.clone();
    ActivationKind::Softmax.forward(&mut probs, width);
    for (loss, targets) in [
        (Loss::SparseCategoricalCrossentropy, &labels),
        (Loss::CategoricalCrossentropy, &onehot),
    ] {
        let mut d = vec![f32::NAN; logits.len()];
        let l = loss.forward_backward(
            &ActivationKind::Softmax,
            &logits,
            &probs,
            targets,
            width,
            &mut d,
        );
        check(&fx, &format!("{loss:?}, softmax"), l, "loss", &d, "dlogits");
        assert_eq!(
            l,
            loss.value(&ActivationKind::Softmax, &logits, &probs, targets, width)
        );
    }
}
