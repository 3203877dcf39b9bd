//! An activation of the user's own works in `model!` like a built-in: as a layer's
//! activation and as a layer, in inference, in the batched passes and in the gradient check.

use nn::activations::ActivationFn;
use nn::prelude::*;

/// SiLU (swish): `x · sigmoid(x)`, whose derivative needs the input.
#[derive(Clone, Copy, Debug)]
pub struct Swish;

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

impl ActivationFn for Swish {
    const USES_INPUT: bool = true;

    fn name(&self) -> &'static str {
        "swish"
    }

    fn forward(&self, values: &mut [f32], _width: usize) {
        for v in values {
            *v *= sigmoid(*v);
        }
    }

    fn backward(&self, x: &[f32], _y: &[f32], grad: &mut [f32], _width: usize) {
        for (g, &x) in grad.iter_mut().zip(x) {
            let s = sigmoid(x);
            *g *= s * (1.0 + x * (1.0 - s));
        }
    }
}

nn::model! {
    /// Swish as a dense layer's activation and as a layer of its own.
    pub struct Swishy {
        input: 3,
        a: Dense(4, Swish),
        Activation(Swish),
        b: Dense(2),
    }
}

#[test]
fn a_user_activation_runs_in_inference_as_written() {
    let model = Swishy::new(3);
    let x = [0.5f32, -1.0, 2.0];
    let (w, bias) = (model.a().weight(), model.a().bias());
    let z = w * Vector::<3>::from(x) + bias;
    // Swish twice, then the linear layer.
    let h = z.map(|v| {
        let once = v * sigmoid(v);
        once * sigmoid(once)
    });
    let want = model.b().weight() * h + model.b().bias();
    let got = model.forward(&Vector::from(x));
    for k in 0..2 {
        assert!((got[k] - want[k]).abs() < 1e-5, "{got} vs {want}");
    }
    assert!(Swishy::SUMMARY.contains("activation_0 (Activation)"));
}

#[test]
fn a_user_activation_passes_the_gradient_check() {
    for seed in 0..5 {
        let r = Swishy::new(seed).check_gradients(10 + seed);
        assert!(r.passed(), "seed {seed}: {r}");
    }
}

#[test]
fn a_user_activation_trains() {
    // y = x0 - x1, learnt by the model.
    let mut rng = nn::rng::Rng::new(1);
    let x: Vec<f32> = (0..512 * 3).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let y: Vec<f32> = x.chunks(3).flat_map(|s| [s[0] - s[1], s[2]]).collect();
    let mut trainer = Swishy::new(2).compile(Adam::new(1e-2), Loss::MeanSquaredError);
    let history = trainer
        .fit(
            &x,
            &y,
            Fit::new()
                .epochs(40)
                .batch_size(32)
                .verbose(Verbose::Silent),
        )
        .unwrap();
    let (first, last) = (
        history.get("loss").unwrap()[0],
        history.last("loss").unwrap(),
    );
    assert!(last < 0.05 * first, "loss {first} -> {last}");
}
