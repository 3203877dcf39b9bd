//! Losses of the user's own, written here against the `LossFn` contract, work wherever the
//! built-in `Loss` does: `compile`, `fit`, `evaluate`, target validation and metrics.

use nn::activations::{ActivationFn, ActivationKind, Linear};
use nn::error::TargetProblem;
use nn::gradcheck;
use nn::loss::{backward_through, LossFn, Targets};
use nn::prelude::*;
use nn::rng::Rng;

/// The Huber loss (PyTorch's `HuberLoss(delta=δ)`, mean over all elements): `r²/2` for a
/// residual `|r| <= δ`, `δ (|r| - δ/2)` beyond; its derivative is `r`, or `δ sign(r)`.
#[derive(Clone, Copy, Debug)]
struct Huber {
    delta: f32,
}

impl LossFn for Huber {
    fn name(&self) -> &'static str {
        "huber"
    }

    fn targets(&self) -> Targets {
        Targets::Values
    }

    fn forward_backward<A: ActivationFn>(
        &self,
        activation: &A,
        logits: &[f32],
        outputs: &[f32],
        targets: &[f32],
        width: usize,
        d_logits: &mut [f32],
    ) -> f32 {
        let n = outputs.len() as f32;
        let mut sum = 0.0f64;
        for ((d, &y), &t) in d_logits.iter_mut().zip(outputs).zip(targets) {
            let r = y - t;
            let (loss, grad) = if r.abs() <= self.delta {
                (0.5 * r * r, r)
            } else {
                (
                    self.delta * (r.abs() - 0.5 * self.delta),
                    self.delta * r.signum(),
                )
            };
            sum += f64::from(loss);
            *d = grad / n;
        }
        backward_through(activation, logits, outputs, d_logits, width);
        (sum / f64::from(n)) as f32
    }
}

/// Huber on counts: the same loss, but targets must be `>= 0`, checked before training.
#[derive(Clone, Copy, Debug)]
struct CountHuber;

impl LossFn for CountHuber {
    fn name(&self) -> &'static str {
        "count_huber"
    }

    fn targets(&self) -> Targets {
        Targets::Values
    }

    fn check_targets(&self, targets: &[f32], _outputs: usize) -> nn::Result<()> {
        match targets.iter().position(|&t| t < 0.0) {
            None => Ok(()),
            Some(index) => Err(Error::InvalidTargets {
                loss: self.name(),
                problem: TargetProblem::OutOfRange {
                    index,
                    value: targets[index],
                    expected: "counts (targets >= 0)",
                    fix: "remove the negative samples",
                },
            }),
        }
    }

    fn forward_backward<A: ActivationFn>(
        &self,
        activation: &A,
        logits: &[f32],
        outputs: &[f32],
        targets: &[f32],
        width: usize,
        d_logits: &mut [f32],
    ) -> f32 {
        Huber { delta: 1.0 }.forward_backward(activation, logits, outputs, targets, width, d_logits)
    }
}

/// Cross-entropy with label smoothing `ε` (targets one-hot rows, smoothed inside), built on
/// the built-in categorical cross-entropy: a loss whose targets are a distribution.
#[derive(Clone, Copy, Debug)]
struct Smoothed(f32);

impl LossFn for Smoothed {
    fn name(&self) -> &'static str {
        "smoothed_crossentropy"
    }

    fn targets(&self) -> Targets {
        Targets::Distribution
    }

    fn forward_backward<A: ActivationFn>(
        &self,
        activation: &A,
        logits: &[f32],
        outputs: &[f32],
        targets: &[f32],
        width: usize,
        d_logits: &mut [f32],
    ) -> f32 {
        let k = width as f32;
        let smoothed: Vec<f32> = targets
            .iter()
            .map(|&t| t * (1.0 - self.0) + self.0 / k)
            .collect();
        let cce = Loss::CategoricalCrossentropy;
        cce.forward_backward(activation, logits, outputs, &smoothed, width, d_logits)
    }
}

nn::model! {
    /// A small regressor.
    struct Regressor {
        input: 2,
        hidden: Dense(16, tanh),
        out: Dense(1),
    }
}

nn::model! {
    /// A small three-class classifier.
    struct ThreeClass {
        input: 4,
        hidden: Dense(8, relu),
        out: Dense(3, softmax),
    }
}

/// The teacher: `0.8 x0 - 0.5 x1 + 0.3 x0 x1`.
fn teacher(x: &[f32]) -> f32 {
    0.8 * x[0] - 0.5 * x[1] + 0.3 * x[0] * x[1]
}

/// `n` samples in `[-1, 1]²` with the teacher's targets; every 20th target is an outlier
/// (+5) when `outliers`.
fn regression_data(n: usize, seed: u64, outliers: bool) -> (Vec<f32>, Vec<f32>) {
    let mut rng = Rng::new(seed);
    let x: Vec<f32> = (0..2 * n).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let y = x
        .chunks(2)
        .enumerate()
        .map(|(i, s)| teacher(s) + if outliers && i % 20 == 0 { 5.0 } else { 0.0 })
        .collect();
    (x, y)
}

fn quiet(epochs: usize) -> Fit<'static> {
    Fit::new()
        .epochs(epochs)
        .batch_size(32)
        .verbose(Verbose::Silent)
}

/// The Huber loss of outputs `y` against targets `t`, in `f64`: an independent reference.
fn huber_reference(y: &[f32], t: &[f32], delta: f64) -> f64 {
    let sum: f64 = y
        .iter()
        .zip(t)
        .map(|(&y, &t)| {
            let r = (f64::from(y) - f64::from(t)).abs();
            if r <= delta {
                0.5 * r * r
            } else {
                delta * (r - 0.5 * delta)
            }
        })
        .sum();
    sum / y.len() as f64
}

#[test]
fn huber_values_are_the_closed_form() {
    // δ = 1: residuals 0.5, 3 and -2 give 0.125, 2.5 and 1.5 (PyTorch's HuberLoss).
    let y = [0.5, 3.0, -2.0];
    let mut d = [0.0; 3];
    let l = Huber { delta: 1.0 }.forward_backward(&Linear, &y, &y, &[0.0; 3], 3, &mut d);
    assert!((l - 4.125 / 3.0).abs() < 1e-6, "{l}");
    assert_eq!(d, [0.5 / 3.0, 1.0 / 3.0, -1.0 / 3.0]);
}

#[test]
fn a_user_loss_gradient_matches_finite_differences_through_any_activation() {
    let width = 3;
    let mut rng = Rng::new(11);
    let loss = Huber { delta: 0.3 };
    for activation in [
        ActivationKind::Linear,
        ActivationKind::Tanh,
        ActivationKind::Sigmoid,
        ActivationKind::Softmax,
        ActivationKind::LeakyRelu(0.2),
    ] {
        for _ in 0..5 {
            let logits: Vec<f32> = (0..4 * width).map(|_| rng.uniform(-2.0, 2.0)).collect();
            let targets: Vec<f32> = (0..4 * width).map(|_| rng.uniform(-1.0, 1.0)).collect();
            let outputs = |z: &[f32]| {
                let mut y = z.to_vec();
                activation.forward(&mut y, width);
                y
            };
            let mut d = vec![0.0; logits.len()];
            loss.forward_backward(
                &activation,
                &logits,
                &outputs(&logits),
                &targets,
                width,
                &mut d,
            );
            // The contract's default `value` agrees with `forward_backward`.
            let value = loss.value(&activation, &logits, &outputs(&logits), &targets, width);
            let mut scratch = vec![0.0; logits.len()];
            let l = loss.forward_backward(
                &activation,
                &logits,
                &outputs(&logits),
                &targets,
                width,
                &mut scratch,
            );
            assert_eq!(value, l);
            // The gradient against central differences of the closed form, in f64.
            let objective = |z: &[f32]| huber_reference(&outputs(z), &targets, 0.3);
            let r = gradcheck::check(&logits, &d, 0..logits.len(), 1e-2, 1e-3, 1e-8, objective);
            assert!(r.passed(), "{activation:?}: {r}");
        }
    }
}

#[test]
fn a_model_learns_with_a_user_loss_in_fit() {
    let (x, y) = regression_data(512, 1, true);
    let (x_test, y_test) = regression_data(256, 2, false);
    let mut trainer = Regressor::new(0).compile(Adam::new(1e-2), Huber { delta: 0.5 });
    let before = trainer.evaluate(&x_test, &y_test).unwrap().loss;
    let history = trainer.fit(&x, &y, quiet(60)).unwrap();
    // The outliers cost at least δ (5 - δ/2) each when the model follows the teacher (their
    // residual is 5), so the training loss cannot go below that share; it gets close to it.
    let outliers = (0..512).filter(|i| i % 20 == 0).count() as f32;
    let floor = outliers / 512.0 * 0.5 * (5.0 - 0.25);
    let losses = history.get("loss").unwrap();
    assert!(
        losses[59] < losses[0] && losses[59] < floor + 0.01,
        "training loss {} -> {} (outliers alone: {floor})",
        losses[0],
        losses[59]
    );
    // On clean data, the fit is close to the teacher despite the outliers it trained on.
    let after = trainer.evaluate(&x_test, &y_test).unwrap().loss;
    let predictions = trainer.predict(&x_test).unwrap();
    let mae = predictions
        .iter()
        .zip(&y_test)
        .map(|(p, t)| (p - t).abs())
        .sum::<f32>()
        / y_test.len() as f32;
    assert!(after < 0.05 * before, "test loss {before} -> {after}");
    assert!(mae < 0.1, "mean absolute error on clean data {mae}");
}

#[test]
fn a_user_loss_is_checked_like_a_built_in() {
    // Its own target check runs before training, and nothing is trained.
    let (x, mut y) = regression_data(64, 3, false);
    y.iter_mut().for_each(|t| *t = t.abs());
    y[5] = -1.0;
    let mut trainer = Regressor::new(0).compile(Adam::new(1e-2), CountHuber);
    let r = trainer.fit(&x, &y, quiet(1));
    assert!(
        matches!(
            r,
            Err(Error::InvalidTargets {
                loss: "count_huber",
                problem: TargetProblem::OutOfRange { index: 5, .. },
            })
        ),
        "{r:?}"
    );
    assert_eq!(
        r.unwrap_err().to_string(),
        "`count_huber` expects counts (targets >= 0), but `y` holds -1 at index 5: remove the \
         negative samples"
    );
    assert_eq!(trainer.model().params(), Regressor::new(0).params());

    // A metric that cannot read its targets names it.
    let r = Regressor::new(0)
        .compile(Adam::new(1e-2), Huber { delta: 1.0 })
        .metrics(&[Metric::SparseCategoricalAccuracy])
        .evaluate(&x, &y);
    assert!(
        matches!(r, Err(Error::MetricMismatch { loss: "huber", .. })),
        "{r:?}"
    );

    // A distribution loss given class ids is told so, as categorical cross-entropy is.
    let (x, ids) = Classification::new(30, 4)
        .classes(3)
        .clusters_per_class(1)
        .seed(4)
        .generate()
        .unwrap();
    let mut trainer = ThreeClass::new(0).compile(Adam::new(1e-2), Smoothed(0.1));
    let message = trainer.fit(&x, &ids, quiet(1)).unwrap_err().to_string();
    assert!(
        message.contains("`smoothed_crossentropy` expects one-hot targets")
            && message.contains("one_hot(&y, 3)"),
        "{message}"
    );
    // With one-hot rows it trains, and `Accuracy` resolves to categorical accuracy.
    let onehot = nn::data::one_hot(&ids, 3).unwrap();
    let mut trainer = trainer.metrics(&[Metric::Accuracy]);
    let history = trainer.fit(&x, &onehot, quiet(3)).unwrap();
    assert_eq!(history.get("accuracy").map(<[f32]>::len), Some(3));
}
