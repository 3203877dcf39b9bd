//! The explicit training loop (`Workspace`, `Gradients`, `Apply`): the same steps as the
//! trainer's, PyTorch's accumulating gradients, input gradients, two models composed (a
//! GAN step checked end to end against finite differences), a frozen model that does no
//! parameter-gradient work, and clear errors for misuse.

use nn::gradcheck;
use nn::loss::Scaled;
use nn::prelude::*;
use nn::tape::Tape;
use std::sync::atomic::{AtomicUsize, Ordering};

nn::model! {
    /// A small generator: noise in, a "sample" in [-1, 1] out.
    pub struct Gen {
        input: 3,
        hidden: Dense(7, leaky_relu(0.2)),
        out: Dense(5, tanh),
    }
}

nn::model! {
    /// A small discriminator: a sample in, a logit out (sigmoid for the loss).
    pub struct Disc {
        input: 5,
        hidden: Dense(6, tanh),
        out: Dense(1, sigmoid),
    }
}

nn::model! {
    /// A regression network as in `examples/regression.rs`.
    pub struct Reg {
        input: 4,
        fc1: Dense(8, relu),
        fc2: Dense(2),
    }
}

const _: () = nn::train::check_chain::<Gen, Disc>();

fn data(seed: u64, n: usize) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    (0..n).map(|_| rng.normal()).collect()
}

#[test]
fn explicit_loop_takes_the_trainers_steps_exactly() {
    let (x, y) = (data(1, 16 * 4), data(2, 16 * 2));
    let mut trainer = Reg::new(3).compile(Adam::new(0.01), Loss::MeanSquaredError);
    let mut model = Reg::new(3);
    let mut opt = Adam::new(0.01);
    let (mut ws, mut grads) = (Workspace::new(), Gradients::new());
    let mut rng = Rng::new(0);
    for _ in 0..25 {
        let expected = trainer.train_on_batch(&x, &y).unwrap();
        grads.zero();
        ws.forward(&model, &x, Pass::Train(&mut rng)).unwrap();
        let loss = ws.loss(&Loss::MeanSquaredError, &y).unwrap();
        ws.backward(&model, &mut grads);
        opt.apply(&mut model, &grads);
        assert_eq!(loss, expected);
    }
    assert_eq!(model.params(), trainer.model().params());
}

#[test]
fn gradients_accumulate_until_zeroed_like_pytorch() {
    let model = Reg::new(5);
    let (a, b) = (data(3, 6 * 4), data(4, 5 * 4));
    let (ya, yb) = (data(5, 6 * 2), data(6, 5 * 2));
    let mut ws = Workspace::new();
    let grads_of = |ws: &mut Workspace<Reg>, x: &[f32], y: &[f32]| {
        let mut g = Gradients::new();
        ws.forward(&model, x, Pass::Eval).unwrap();
        ws.loss(&Loss::MeanSquaredError, y).unwrap();
        ws.backward(&model, &mut g);
        g
    };
    let (ga, gb) = (grads_of(&mut ws, &a, &ya), grads_of(&mut ws, &b, &yb));
    let mut sum = Gradients::<Reg>::new();
    for (x, y) in [(&a, &ya), (&b, &yb)] {
        ws.forward(&model, x, Pass::Eval).unwrap();
        ws.loss(&Loss::MeanSquaredError, y).unwrap();
        ws.backward(&model, &mut sum);
    }
    assert!(ga.norm() > 0.0 && gb.norm() > 0.0);
    for ((s, a), b) in sum.as_slice().iter().zip(ga.as_slice()).zip(gb.as_slice()) {
        assert!(
            (s - (a + b)).abs() <= 1e-6 * (1.0 + s.abs()),
            "{s} vs {a} + {b}"
        );
    }
    sum.zero();
    assert!(sum.as_slice().iter().all(|&g| g == 0.0));
}

/// Sum of BCE(D(G(z)), 1) computed in f64 from the outputs, the objective of the
/// generator's step.
fn generator_objective(g: &Gen, d: &Disc, z: &[f32]) -> f64 {
    let mut tape = Tape::new();
    let fake: Vec<f32> = {
        let mut v = g
            .forward_batch(&mut tape, z, z.len() / 3, Pass::Eval)
            .to_vec();
        for v in &mut v {
            *v = v.tanh();
        }
        v
    };
    let logits = d.forward_batch(&mut tape, &fake, fake.len() / 5, Pass::Eval);
    // BCE against 1 from the logit: ln(1 + e^-z), mean over the batch.
    let n = logits.len() as f64;
    logits
        .iter()
        .map(|&l| (1.0 + (-f64::from(l)).exp()).ln())
        .sum::<f64>()
        / n
}

#[test]
fn composed_gan_step_matches_finite_differences_end_to_end() {
    let (mut g, d) = (Gen::new(11), Disc::new(12));
    // Non-zero biases, so that every parameter matters.
    let mut rng = Rng::new(13);
    for p in g.params_mut() {
        *p += rng.uniform(-0.3, 0.3);
    }
    let z = data(14, 4 * 3);
    let ones = [1.0; 4];
    let (mut g_ws, mut d_ws) = (Workspace::<Gen>::new(), Workspace::<Disc>::new());
    let mut g_grads = Gradients::new();
    g_ws.forward(&g, &z, Pass::Eval).unwrap();
    d_ws.forward(&d, g_ws.outputs(), Pass::Eval).unwrap();
    let loss = d_ws.loss(&Loss::BinaryCrossentropy, &ones).unwrap();
    let dx = d_ws.backward_input(&d, None);
    g_ws.set_output_gradient(dx).unwrap();
    g_ws.backward(&g, &mut g_grads);

    assert!((f64::from(loss) - generator_objective(&g, &d, &z)).abs() < 1e-5);
    let params = g.params().to_vec();
    let report = gradcheck::check(
        &params,
        g_grads.as_slice(),
        0..Gen::PARAMS,
        1e-2,
        1e-3,
        1e-6,
        |p| {
            let mut probe = Gen::new(0);
            probe.params_mut().copy_from_slice(p);
            generator_objective(&probe, &d, &z)
        },
    );
    assert!(
        report.passed(),
        "generator through the discriminator: {report}"
    );

    // The discriminator's step: real and fake batches, gradients accumulated.
    let real = data(15, 4 * 5);
    let fake = g_ws.outputs().to_vec();
    let mut d_grads = Gradients::<Disc>::new();
    for (x, t) in [(&real, [1.0; 4]), (&fake, [0.0; 4])] {
        d_ws.forward(&d, x, Pass::Eval).unwrap();
        d_ws.loss(&Loss::BinaryCrossentropy, &t).unwrap();
        d_ws.backward(&d, &mut d_grads);
    }
    let d_objective = |p: &[f32]| {
        let mut probe = Disc::new(0);
        probe.params_mut().copy_from_slice(p);
        let mut tape = Tape::new();
        let mut total = 0.0;
        for (x, t) in [(&real, 1.0), (&fake, 0.0)] {
            let logits = probe.forward_batch(&mut tape, x, 4, Pass::Eval);
            total += logits
                .iter()
                .map(|&l| {
                    let p = 1.0 / (1.0 + (-f64::from(l)).exp());
                    -(t * p.ln() + (1.0 - t) * (1.0 - p).ln())
                })
                .sum::<f64>()
                / 4.0;
        }
        total
    };
    let d_params = d.params().to_vec();
    let report = gradcheck::check(
        &d_params,
        d_grads.as_slice(),
        0..Disc::PARAMS,
        1e-2,
        1e-3,
        1e-6,
        &d_objective,
    );
    assert!(report.passed(), "discriminator, real + fake: {report}");

    // The same step as `examples/gan_mnist.rs` runs it: both halves in one batch, twice
    // the mean loss. Each sample's gradient is the same (a power of two), so the sums
    // differ from the accumulated ones only in the order of their additions.
    let both: Vec<f32> = real.iter().chain(&fake).copied().collect();
    let targets = [1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0];
    let mut one_pass = Gradients::<Disc>::new();
    d_ws.forward(&d, &both, Pass::Eval).unwrap();
    let twice = d_ws
        .loss(&Scaled::new(2.0, Loss::BinaryCrossentropy), &targets)
        .unwrap();
    d_ws.backward(&d, &mut one_pass);
    assert!((f64::from(twice) - d_objective(&d_params)).abs() < 1e-5);
    for (i, (a, b)) in one_pass
        .as_slice()
        .iter()
        .zip(d_grads.as_slice())
        .enumerate()
    {
        assert!(
            (a - b).abs() <= 1e-6 * (1.0 + b.abs()),
            "parameter {i}: {a} vs {b}"
        );
    }
    let report = gradcheck::check(
        &d_params,
        one_pass.as_slice(),
        0..Disc::PARAMS,
        1e-2,
        1e-3,
        1e-6,
        &d_objective,
    );
    assert!(
        report.passed(),
        "discriminator, both halves in one batch: {report}"
    );
}

/// A model that counts the backward passes asked for parameter gradients.
struct Spy {
    inner: Disc,
}

static PARAM_GRADIENT_PASSES: AtomicUsize = AtomicUsize::new(0);

impl Model for Spy {
    const NAME: &'static str = "Spy";
    const INPUT_SHAPE: &'static [usize] = <Disc as Model>::INPUT_SHAPE;
    const INPUT: usize = Disc::INPUT;
    const OUTPUT: usize = Disc::OUTPUT;
    const PARAMS: usize = Disc::PARAMS;
    const LAYERS: &'static [nn::layers::LayerInfo] = <Disc as Model>::LAYERS;
    type OutputActivation = <Disc as Model>::OutputActivation;
    const OUTPUT_ACTIVATION: Self::OutputActivation = <Disc as Model>::OUTPUT_ACTIVATION;
    fn init(seed: u64) -> Self {
        Self {
            inner: Disc::new(seed),
        }
    }
    fn params(&self) -> &[f32] {
        self.inner.params()
    }
    fn params_mut(&mut self) -> &mut [f32] {
        self.inner.params_mut()
    }
    fn forward_batch<'t>(&self, t: &'t mut Tape, x: &[f32], b: usize, p: Pass<'_>) -> &'t [f32] {
        self.inner.forward_batch(t, x, b, p)
    }
    fn backward_batch(
        &self,
        t: &mut Tape,
        x: &[f32],
        d: &mut [f32],
        grads: Option<&mut [f32]>,
        dx: Option<&mut [f32]>,
    ) {
        if grads.is_some() {
            PARAM_GRADIENT_PASSES.fetch_add(1, Ordering::SeqCst);
        }
        self.inner.backward_batch(t, x, d, grads, dx);
    }
}

#[test]
fn a_frozen_model_passes_gradients_without_parameter_work() {
    let d = Spy::init(3);
    let x = data(20, 3 * 5);
    let mut ws = Workspace::<Spy>::new();
    ws.forward(&d, &x, Pass::Eval).unwrap();
    ws.loss(&Loss::BinaryCrossentropy, &[1.0, 0.0, 1.0])
        .unwrap();
    let frozen = ws.backward_input(&d, None).to_vec();
    assert_eq!(PARAM_GRADIENT_PASSES.load(Ordering::SeqCst), 0);
    // The same input gradient as a pass that also computes the parameter gradients.
    let mut grads = Gradients::new();
    ws.loss(&Loss::BinaryCrossentropy, &[1.0, 0.0, 1.0])
        .unwrap();
    let trained = ws.backward_input(&d, Some(&mut grads)).to_vec();
    assert_eq!(PARAM_GRADIENT_PASSES.load(Ordering::SeqCst), 1);
    assert_eq!(frozen, trained);
    assert!(frozen.iter().any(|&v| v != 0.0) && grads.norm() > 0.0);
}

#[test]
fn misuse_is_an_error_that_says_so() {
    let model = Reg::new(1);
    let mut ws = Workspace::new();
    let e = ws.forward(&model, &[1.0; 6], Pass::Eval).unwrap_err();
    assert!(e.to_string().contains('4'), "{e}");
    let e = ws.forward(&model, &[f32::NAN; 4], Pass::Eval).unwrap_err();
    assert!(matches!(e, Error::NonFinite { .. }), "{e}");
    ws.forward(&model, &[0.5; 8], Pass::Eval).unwrap();
    let e = ws.loss(&Loss::MeanSquaredError, &[0.0; 2]).unwrap_err();
    assert!(
        matches!(e, Error::SampleCountMismatch { x: 2, y: 1 }),
        "{e}"
    );
    let e = ws.loss(&Loss::MeanSquaredError, &[0.0; 3]).unwrap_err();
    assert!(matches!(e, Error::FeatureCount { .. }), "{e}");
    let e = ws.set_output_gradient(&[1.0; 3]).unwrap_err();
    assert!(e.to_string().contains("d_outputs"), "{e}");
}

#[test]
#[should_panic(expected = "no gradient to propagate")]
fn a_second_backward_without_a_new_loss_panics_clearly() {
    let model = Reg::new(1);
    let (mut ws, mut grads) = (Workspace::new(), Gradients::new());
    ws.forward(&model, &[0.5; 4], Pass::Eval).unwrap();
    ws.loss(&Loss::MeanSquaredError, &[0.0; 2]).unwrap();
    ws.backward(&model, &mut grads);
    ws.backward(&model, &mut grads);
}

/// A user's activation: Mish, `x tanh(softplus(x))`, whose derivative needs the input.
#[derive(Clone, Copy, Debug)]
pub struct Mish;

impl nn::activations::ActivationFn for Mish {
    const USES_INPUT: bool = true;
    fn name(&self) -> &'static str {
        "mish"
    }
    fn forward(&self, values: &mut [f32], _width: usize) {
        for v in values {
            *v *= v.exp().ln_1p().tanh();
        }
    }
    fn backward(&self, x: &[f32], _y: &[f32], grad: &mut [f32], _width: usize) {
        for (g, &x) in grad.iter_mut().zip(x) {
            let t = x.exp().ln_1p().tanh();
            let sigmoid = 1.0 / (1.0 + (-x).exp());
            *g *= t + x * (1.0 - t * t) * sigmoid;
        }
    }
}

/// A user's loss: log-cosh, `mean ln(cosh(y - t))`.
#[derive(Clone, Copy, Debug)]
pub struct LogCosh;

impl LossFn for LogCosh {
    fn name(&self) -> &'static str {
        "log_cosh"
    }
    fn targets(&self) -> nn::loss::Targets {
        nn::loss::Targets::Values
    }
    fn forward_backward<A: nn::activations::ActivationFn>(
        &self,
        activation: &A,
        logits: &[f32],
        outputs: &[f32],
        targets: &[f32],
        width: usize,
        d_logits: &mut [f32],
    ) -> f32 {
        let n = outputs.len() as f32;
        for ((d, &y), &t) in d_logits.iter_mut().zip(outputs).zip(targets) {
            *d = (y - t).tanh() / n;
        }
        nn::loss::backward_through(activation, logits, outputs, d_logits, width);
        outputs
            .iter()
            .zip(targets)
            .map(|(y, t)| (y - t).cosh().ln())
            .sum::<f32>()
            / n
    }
}

nn::model! {
    /// A regression network with a user's activation.
    pub struct MishNet {
        input: 4,
        hidden: Dense(16, Mish),
        out: Dense(2),
    }
}

#[test]
fn a_users_activation_and_loss_in_the_explicit_loop() {
    let model = MishNet::new(4);
    assert!(model.check_gradients(1).passed());
    assert!(model.check_input_gradients(2).passed());
    // Teacher targets: a fixed smooth function of the inputs.
    let x = data(30, 64 * 4);
    let y: Vec<f32> = x
        .chunks(4)
        .flat_map(|r| [(r[0] - r[1]).sin(), r[2] * r[3] * 0.5])
        .collect();
    let mut model = model;
    let (mut ws, mut grads) = (Workspace::new(), Gradients::new());
    let mut opt = Adam::new(0.01);
    let mut rng = Rng::new(1);
    let mut losses = Vec::new();
    for _ in 0..300 {
        grads.zero();
        ws.forward(&model, &x, Pass::Train(&mut rng)).unwrap();
        losses.push(ws.loss(&LogCosh, &y).unwrap());
        ws.backward(&model, &mut grads);
        opt.apply(&mut model, &grads);
    }
    // Measured: 0.33 at the start, 0.0034 after 300 steps.
    let (first, last) = (losses[0], *losses.last().unwrap());
    assert!(last < 0.2 * first, "log-cosh {first} -> {last}");
}

nn::model! {
    /// Wide enough for the products to be split between threads (as the GAN's are).
    pub struct Wide {
        input: 300,
        fc1: Dense(200, leaky_relu(0.2)),
        fc2: Dense(70, tanh),
        out: Dense(1),
    }
}

/// Three steps of `backward_step` against `backward` then `apply`, on `threads` threads,
/// each step two passes (the second's gradient added to the first's, as the GAN's
/// discriminator step does) with `opt`: the parameters after each step.
fn fused_and_separate<O: Optimizer + Clone>(opt: O, threads: usize) -> (Vec<f32>, Vec<f32>) {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        let (x, y) = (data(5, 64 * 300), vec![1.0f32; 64]);
        let bce = nn::loss::BinaryCrossentropyWithLogits;
        let (mut fused, mut separate) = (Wide::new(1), Wide::new(1));
        let (mut opt_fused, mut opt_separate) = (opt.clone(), opt);
        let (mut ws, mut grads, mut grads_separate) =
            (Workspace::new(), Gradients::new(), Gradients::new());
        let (mut after_fused, mut after_separate) = (Vec::new(), Vec::new());
        for _ in 0..3 {
            grads.zero();
            ws.forward(&fused, &x, Pass::Eval).unwrap();
            ws.loss(&bce, &y).unwrap();
            ws.backward(&fused, &mut grads);
            ws.forward(&fused, &x[64 * 100..][..32 * 300], Pass::Eval)
                .unwrap();
            ws.loss(&bce, &y[..32]).unwrap();
            ws.backward_step(&mut fused, &grads, &mut opt_fused);
            after_fused.extend_from_slice(fused.params());

            grads_separate.zero();
            ws.forward(&separate, &x, Pass::Eval).unwrap();
            ws.loss(&bce, &y).unwrap();
            ws.backward(&separate, &mut grads_separate);
            ws.forward(&separate, &x[64 * 100..][..32 * 300], Pass::Eval)
                .unwrap();
            ws.loss(&bce, &y[..32]).unwrap();
            ws.backward(&separate, &mut grads_separate);
            opt_separate.apply(&mut separate, &grads_separate);
            after_separate.extend_from_slice(separate.params());
        }
        (after_fused, after_separate)
    })
}

#[test]
fn backward_step_updates_as_backward_then_apply_bit_for_bit() {
    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|p| p.to_bits()).collect()
    }
    fn check<O: Optimizer + Clone>(name: &str, opt: O) {
        let (fused, separate) = fused_and_separate(opt.clone(), 1);
        assert!(bits(&fused) == bits(&separate), "{name}: fused differs");
        let (fused2, _) = fused_and_separate(opt, 2);
        assert!(
            bits(&fused2) == bits(&fused),
            "{name}: two threads differ from one"
        );
        assert_ne!(
            &fused[..Wide::PARAMS],
            Wide::new(1).params(),
            "{name}: no update"
        );
    }
    check("Adam", Adam::new(1e-3).beta1(0.5));
    check("AdamW", AdamW::new(1e-3).weight_decay(0.1));
    check("Adam, clipped", Adam::new(1e-3).clip_value(1e-3));
    // Clipping by global norm needs the whole gradient: the separate passes, through the
    // same call.
    check("Adam, clip_norm", Adam::new(1e-3).clip_norm(0.01));
    check("RMSprop", RmsProp::new(1e-3));
    check("RMSprop with momentum", RmsProp::new(1e-3).momentum(0.9));
    check("SGD", Sgd::new(0.1).momentum(0.9));
}

/// A batch large enough for the workspace to finish its outputs in parts on two threads:
/// the outputs are the output activation of the logits, bit for bit, part boundaries too,
/// and the logits are those of one sample at a time.
#[test]
fn outputs_finished_in_parts_on_threads_are_the_activation_of_the_logits() {
    let model = Gen::new(4);
    let batch = 4001;
    let x = data(11, batch * 3);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let mut ws = Workspace::new();
    pool.install(|| ws.forward(&model, &x, Pass::Eval).unwrap());
    let mut want = ws.logits().to_vec();
    nn::activations::ActivationFn::forward(&<Gen as Model>::OUTPUT_ACTIVATION, &mut want, 5);
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(ws.outputs()), bits(&want));
    for s in [0, 2000, 2001, 4000] {
        let one = model.forward(&nn::Vector::<3>::from_column_slice(&x[s * 3..s * 3 + 3]));
        for (o, (&got, &exp)) in ws.outputs()[s * 5..s * 5 + 5]
            .iter()
            .zip(one.iter())
            .enumerate()
        {
            assert!(
                (got - exp).abs() <= 1e-6,
                "sample {s} output {o}: {got} vs {exp}"
            );
        }
    }
    let d_out = data(12, batch * 5);
    let dx_split = pool.install(|| {
        ws.set_output_gradient(&d_out).unwrap();
        ws.backward_input(&model, None).to_vec()
    });
    let mut serial = Workspace::new();
    serial.forward(&model, &x, Pass::Eval).unwrap();
    serial.set_output_gradient(&d_out).unwrap();
    let dx_serial = serial.backward_input(&model, None);
    assert_eq!(bits(&dx_split), bits(dx_serial));
    assert!(dx_split.iter().any(|&v| v != 0.0));
}

/// A forward pass refused for a NaN input names it and leaves no pass to compute a loss
/// or go backward from: the last pass's input was replaced, so its gradients would be
/// garbage.
#[test]
#[should_panic(expected = "run `forward` first")]
fn a_refused_input_leaves_no_pass_behind() {
    let model = Reg::new(1);
    let mut ws = Workspace::new();
    ws.forward(&model, &[0.5; 8], Pass::Eval).unwrap();
    let mut bad = [0.5; 8];
    bad[6] = f32::INFINITY;
    let e = ws.forward(&model, &bad, Pass::Eval).unwrap_err();
    assert!(matches!(e, Error::NonFinite { index: 6, .. }), "{e}");
    let _ = ws.loss(&Loss::MeanSquaredError, &[0.0; 4]);
}

/// One workspace for batches of two sizes in turn (a GAN's discriminator: real and fake
/// digits, then fake ones alone): each pass's gradients are those of a fresh workspace.
#[test]
fn batches_of_two_sizes_in_turn_give_a_fresh_workspaces_gradients() {
    let model = Reg::new(2);
    let (big, small) = (
        (data(21, 12 * 4), data(22, 12 * 2)),
        (data(23, 5 * 4), data(24, 5 * 2)),
    );
    let grads_of = |ws: &mut Workspace<Reg>, (x, y): &(Vec<f32>, Vec<f32>)| {
        let mut g = Gradients::new();
        ws.forward(&model, x, Pass::Eval).unwrap();
        ws.loss(&Loss::MeanSquaredError, y).unwrap();
        let dx = ws.backward_input(&model, Some(&mut g)).to_vec();
        (g, dx)
    };
    let mut shared = Workspace::new();
    for batch in [&big, &small, &big, &small] {
        let (g, dx) = grads_of(&mut shared, batch);
        let (fresh_g, fresh_dx) = grads_of(&mut Workspace::new(), batch);
        assert_eq!(g.as_slice(), fresh_g.as_slice());
        assert_eq!(dx, fresh_dx);
        assert_eq!(shared.input(), &batch.0[..]);
    }
}
