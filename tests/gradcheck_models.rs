//! Gradient checks of generated models: the built-in `check_gradients` on several layer
//! combinations, an independent finite-difference check of the full training gradient
//! (loss included), and proof that the checker can fail.

#[path = "../examples/support/models.rs"]
mod models;
use models::Classifier;
use nn::activations::{ActivationFn, ActivationKind};
use nn::gradcheck::{self, CheckGradients, GradCheck};
use nn::loss::{Loss, LossFn};
use nn::model::Model;
use nn::rng::Rng;
use nn::tape::Tape;
use nn::Vector;

nn::model! {
    /// (b) Three dense layers with smooth activations.
    pub struct Smooth {
        input: 6,
        a: Dense(10, tanh),
        b: Dense(7, sigmoid),
        c: Dense(3, tanh),
    }
}

nn::model! {
    /// (c) Leaky ReLU (activation and layer), dropout in the middle, a standalone softmax.
    pub struct Leaky {
        input: 8,
        a: Dense(12, leaky_relu(0.2)),
        Dropout(0.3),
        b: Dense(6),
        LeakyReLU(0.1),
        c: Dense(4),
        Softmax,
    }
}

nn::model! {
    /// (d) An image input, flattened, with a standalone tanh layer.
    pub struct Image {
        input: [4, 5],
        Flatten,
        a: Dense(8),
        Tanh,
        out: Dense(3, softmax),
    }
}

nn::model! {
    /// (e) A dense layer with its own activation followed by a softmax layer.
    pub struct ReluSoftmax {
        input: 7,
        a: Dense(10, relu),
        Softmax,
    }
}

nn::model! {
    /// Every layer kind at once.
    pub struct Everything {
        input: [2, 3],
        Flatten,
        a: Dense(9, relu),
        Dropout(0.25),
        b: Dense(8),
        ReLU,
        c: Dense(8),
        LeakyReLU,
        d: Dense(6),
        Activation(sigmoid),
        e: Dense(5),
        Sigmoid,
        f: Dense(5, linear),
        Tanh,
        g: Dense(4),
        Softmax,
    }
}

nn::model! {
    /// (f) Token ids: an embedding, convolutions (valid and same), pools, a softmax output.
    pub struct Tokens {
        input: 12,
        embedding: Embedding(20, 6),
        conv: Conv1D(8, 3, tanh),
        MaxPool1D(2),
        conv2: Conv1D(4, 2, padding = same),
        GlobalAvgPool1D,
        out: Dense(3, softmax),
    }
}

nn::model! {
    /// (g) A sequence input: a strided convolution, average pooling, a dense layer per step,
    /// `Flatten` of the sequence (channel-first in PyTorch), one output.
    pub struct Series {
        input: [16, 2],
        conv: Conv1D(6, 4, strides = 2, activation = tanh),
        AvgPool1D(2),
        step: Dense(5, sigmoid),
        Flatten,
        out: Dense(1),
    }
}

nn::model! {
    /// (h) Dense layers per step with dropout and batch normalisation over steps, global
    /// max pooling.
    pub struct PerStep {
        input: [10, 3],
        a: Dense(4, tanh),
        Dropout(0.2),
        BatchNorm,
        b: Dense(4, leaky_relu),
        GlobalMaxPool1D,
        out: Dense(2),
    }
}

nn::model! {
    /// (i) A sequence out: a convolution, then a dense layer per step whose sigmoid the loss
    /// applies (the batched passes run it as logits).
    pub struct SequenceOut {
        input: [8, 3],
        conv: Conv1D(4, 3, relu, padding = same),
        out: Dense(2, sigmoid),
    }
}

nn::model! {
    /// (j) A sequence read by an LSTM, its last step classified (the row reader,
    /// small).
    pub struct RowReader {
        input: [6, 5],
        lstm: LSTM(7),
        output: Dense(3, softmax),
    }
}

nn::model! {
    /// (k) Recurrent layers stacked, each giving every step to the next.
    pub struct Stacked {
        input: [5, 4],
        a: LSTM(6, return_sequences = true),
        b: GRU(5, return_sequences = true),
        c: SimpleRNN(4),
        out: Dense(2),
    }
}

nn::model! {
    /// (l) Every step of a GRU, flattened (fresh values: the same order in PyTorch), then a
    /// dense layer.
    pub struct GruSteps {
        input: [4, 3],
        gru: GRU(5, return_sequences = true),
        Flatten,
        out: Dense(3, sigmoid),
    }
}

nn::model! {
    /// (m) A sigmoid recurrence and an LSTM on top of it.
    pub struct SigmoidRnn {
        input: [5, 3],
        rnn: SimpleRNN(6, sigmoid, return_sequences = true),
        lstm: LSTM(4),
        out: Dense(2, tanh),
    }
}

nn::model! {
    /// (j) The activations added for custom loops: two that need their input (GELU, SiLU),
    /// the others from their output; as arguments and as a layer.
    pub struct Newer {
        input: 6,
        a: Dense(9, gelu),
        b: Dense(8, elu(0.7)),
        c: Dense(8, selu),
        d: Dense(7, silu),
        e: Dense(7, softplus),
        Activation(hard_sigmoid),
        out: Dense(3, gelu),
    }
}

// Twenty model seeds per model: the checker must be reliable, not lucky.
const SEEDS: [u64; 20] = [
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
];

fn assert_passes<M: Model>(model: &M, seed: u64) -> GradCheck {
    let report = model.check_gradients(seed);
    assert!(
        report.passed(),
        "{} (model seed, check seed {seed}): {report}",
        M::NAME
    );
    report
}

fn check_model_seeds<M: Model>() {
    for &s in &SEEDS {
        let model = M::init(s);
        let report = assert_passes(&model, s + 100);
        assert!(report.checked > 0, "{}: {report}", M::NAME);
    }
}

#[test]
fn newer_activation_gradients() {
    check_model_seeds::<Newer>();
}

#[test]
fn classifier_gradients() {
    check_model_seeds::<Classifier>();
}

#[test]
fn smooth_gradients() {
    check_model_seeds::<Smooth>();
}

#[test]
fn leaky_dropout_softmax_gradients() {
    check_model_seeds::<Leaky>();
}

#[test]
fn image_flatten_tanh_gradients() {
    check_model_seeds::<Image>();
}

#[test]
fn dense_relu_then_softmax_gradients() {
    check_model_seeds::<ReluSoftmax>();
}

#[test]
fn every_layer_kind_gradients() {
    check_model_seeds::<Everything>();
}

#[test]
fn sequence_model_gradients() {
    check_model_seeds::<Tokens>();
    check_model_seeds::<Series>();
    check_model_seeds::<PerStep>();
    check_model_seeds::<SequenceOut>();
}

#[test]
fn lstm_row_reader_gradients() {
    check_model_seeds::<RowReader>();
}

#[test]
fn stacked_recurrent_gradients() {
    check_model_seeds::<Stacked>();
}

#[test]
fn gru_every_step_flattened_gradients() {
    check_model_seeds::<GruSteps>();
}

#[test]
fn sigmoid_rnn_into_lstm_gradients() {
    check_model_seeds::<SigmoidRnn>();
}

#[test]
fn nonzero_biases_do_not_break_the_check() {
    // Fresh models have zero biases; give them random ones.
    fn run<M: Model>() {
        for &s in &SEEDS {
            let mut model = M::init(s);
            let mut rng = Rng::new(s ^ 0xb1a5);
            for t in M::tensors().iter().filter(|t| t.name.contains(".bias")) {
                for b in &mut model.params_mut()[t.offset..t.offset + t.len()] {
                    *b = rng.uniform(-0.5, 0.5);
                }
            }
            assert_passes(&model, s);
        }
    }
    run::<Classifier>();
    run::<Smooth>();
    run::<Leaky>();
    run::<Image>();
    run::<ReluSoftmax>();
    run::<Everything>();
    run::<Tokens>();
    run::<Series>();
    run::<PerStep>();
    run::<SequenceOut>();
    run::<RowReader>();
    run::<Stacked>();
    run::<GruSteps>();
    run::<SigmoidRnn>();
}

/// The tail split: which activation the runtime applies after the logits.
#[test]
fn output_activations_are_split_off_as_expected() {
    fn output<M: Model>() -> Option<ActivationKind> {
        M::OUTPUT_ACTIVATION.builtin()
    }
    assert_eq!(output::<Classifier>(), Some(ActivationKind::Sigmoid));
    assert_eq!(output::<Smooth>(), Some(ActivationKind::Tanh));
    assert_eq!(output::<Leaky>(), Some(ActivationKind::Softmax));
    assert_eq!(output::<Image>(), Some(ActivationKind::Softmax));
    assert_eq!(output::<ReluSoftmax>(), Some(ActivationKind::Softmax));
    assert_eq!(output::<Everything>(), Some(ActivationKind::Softmax));
    assert_eq!(output::<Tokens>(), Some(ActivationKind::Softmax));
    assert_eq!(output::<SequenceOut>(), Some(ActivationKind::Sigmoid));
    assert_eq!(output::<Series>(), Some(ActivationKind::Linear));
    assert_eq!(<Image as Model>::INPUT, 20);
    assert_eq!(Image::INPUT_SHAPE, [4, 5]);
    assert_eq!(<Image as Model>::PARAMS, 20 * 8 + 8 + 8 * 3 + 3);
}

/// The tensors tile the parameter buffer, in order, with PyTorch shapes.
#[test]
fn tensors_tile_the_parameter_buffer() {
    fn run<M: Model>() {
        let mut next = 0;
        for t in M::tensors().iter().filter(|t| !t.is_state()) {
            assert_eq!(t.offset, next, "{}: {t:?}", M::NAME);
            next += t.len();
        }
        assert_eq!(next, M::PARAMS, "{}", M::NAME);
    }
    run::<Classifier>();
    run::<Smooth>();
    run::<Leaky>();
    run::<Image>();
    run::<ReluSoftmax>();
    run::<Everything>();
    run::<Tokens>();
    run::<Series>();
    run::<PerStep>();
    run::<SequenceOut>();
    run::<RowReader>();
    run::<Stacked>();
    run::<GruSteps>();
    run::<SigmoidRnn>();
    let first = &Classifier::tensors()[0];
    assert_eq!(
        (
            first.name.as_str(),
            first.offset,
            first.len(),
            first.shape()
        ),
        ("hidden1.weight", 0, 1280, &[64, 20][..])
    );
    assert_eq!(first.tensor.layout, nn::layers::TensorLayout::Transposed);
}

/// `forward_batch` + output activation agrees with the single-sample `forward`.
fn batch_matches_single<const IN: usize, const OUT: usize, M: Model>(
    model: &M,
    forward: impl Fn(&M, &Vector<IN>) -> Vector<OUT>,
) {
    assert_eq!(M::INPUT, IN);
    assert_eq!(M::OUTPUT, OUT);
    let batch = 5;
    let mut rng = Rng::new(9);
    let ids = M::LAYERS[0].ids;
    let x: Vec<f32> = (0..batch * IN)
        .map(|_| match ids {
            Some(n) => rng.below(n) as f32,
            None => rng.uniform(-2.0, 2.0),
        })
        .collect();
    let mut ws = nn::tape::Tape::new();
    let mut out = model
        .forward_batch(&mut ws, &x, batch, nn::layers::Pass::Eval)
        .to_vec();
    ActivationFn::forward(&M::OUTPUT_ACTIVATION, &mut out, OUT);
    for s in 0..batch {
        let one = forward(model, &Vector::<IN>::from_column_slice(&x[s * IN..][..IN]));
        for o in 0..OUT {
            let (a, b) = (one[o], out[s * OUT + o]);
            assert!(
                (a - b).abs() <= 1e-5 * (1.0 + a.abs()),
                "{} sample {s} output {o}: single {a}, batch {b}",
                M::NAME
            );
        }
    }
}

#[test]
fn batched_and_single_sample_forward_agree() {
    batch_matches_single(&Classifier::new(1), Classifier::forward);
    batch_matches_single(&Smooth::new(1), Smooth::forward);
    batch_matches_single(&Leaky::new(1), Leaky::forward);
    batch_matches_single(&Image::new(1), Image::forward);
    batch_matches_single(&ReluSoftmax::new(1), ReluSoftmax::forward);
    batch_matches_single(&Everything::new(1), Everything::forward);
    batch_matches_single(&Tokens::new(1), Tokens::forward);
    batch_matches_single(&Series::new(1), Series::forward);
    batch_matches_single(&PerStep::new(1), PerStep::forward);
    batch_matches_single(&SequenceOut::new(1), SequenceOut::forward);
    batch_matches_single(&RowReader::new(1), RowReader::forward);
    batch_matches_single(&Stacked::new(1), Stacked::forward);
    batch_matches_single(&GruSteps::new(1), GruSteps::forward);
    batch_matches_single(&SigmoidRnn::new(1), SigmoidRnn::forward);
}

// ---- Independent check of the full training gradient (loss included) ----

/// Mean binary cross-entropy of the classifier on `x`/`y`, accumulated in f64 sample by
/// sample from `Loss::value` on each sample's logit.
fn bce_objective(model: &Classifier, ws: &mut Tape, x: &[f32], y: &[f32]) -> f64 {
    let n = y.len();
    let logits = model.forward_batch(ws, x, n, nn::layers::Pass::Eval);
    let mut total = 0.0f64;
    for (s, (&z, &t)) in logits.iter().zip(y).enumerate() {
        let mut p = [z];
        ActivationKind::Sigmoid.forward(&mut p, 1);
        let l = Loss::BinaryCrossentropy.value(&ActivationKind::Sigmoid, &[z], &p, &[t], 1);
        assert!(l.is_finite(), "sample {s}");
        total += f64::from(l);
    }
    total / n as f64
}

/// Independent reference for the per-sample loss: the same formula in f64.
fn bce_reference(z: f64, t: f64) -> f64 {
    z.max(0.0) - z * t + (-z.abs()).exp().ln_1p()
}

#[test]
fn classifier_training_gradient_matches_central_differences_of_the_loss() {
    for &seed in &[3u64, 8, 21] {
        let mut model = Classifier::new(seed);
        let mut rng = Rng::new(seed * 7 + 1);
        // Non-zero biases so that every bias matters.
        for t in Classifier::tensors()
            .iter()
            .filter(|t| t.name.contains(".bias"))
        {
            for b in &mut model.params_mut()[t.offset..t.offset + t.len()] {
                *b = rng.uniform(-0.3, 0.3);
            }
        }
        let n = 8;
        let x: Vec<f32> = (0..n * 20).map(|_| rng.uniform(-1.5, 1.5)).collect();
        let y: Vec<f32> = (0..n).map(|i| (i % 2) as f32).collect();

        // Analytic: forward, loss gradient w.r.t. logits, backward.
        let mut ws = nn::tape::Tape::new();
        let logits = model
            .forward_batch(&mut ws, &x, n, nn::layers::Pass::Eval)
            .to_vec();
        let mut outputs = logits.clone();
        ActivationFn::forward(&Classifier::OUTPUT_ACTIVATION, &mut outputs, 1);
        let mut d = vec![0.0; n];
        let loss = Loss::BinaryCrossentropy.forward_backward(
            &Classifier::OUTPUT_ACTIVATION,
            &logits,
            &outputs,
            &y,
            1,
            &mut d,
        );
        // The loss itself against an f64 reference.
        let reference = logits
            .iter()
            .zip(&y)
            .map(|(&z, &t)| bce_reference(f64::from(z), f64::from(t)))
            .sum::<f64>()
            / n as f64;
        assert!(
            (f64::from(loss) - reference).abs() < 1e-5,
            "loss {loss} vs reference {reference}"
        );
        let mut grads = vec![f32::NAN; Classifier::PARAMS];
        model.backward_batch(&mut ws, &x, &mut d, Some(&mut grads), None);
        assert!(grads.iter().all(|g| g.is_finite()));

        // A handful of parameters in every tensor: first, last and a middle one of each.
        let mut indices = Vec::new();
        for t in Classifier::tensors() {
            indices.extend([t.offset, t.offset + t.len() / 2 + 1, t.offset + t.len() - 1]);
        }
        indices.retain(|&i| i < Classifier::PARAMS);
        indices.dedup();

        let h = 1e-2f32;
        let mut probe = model.clone();
        let (mut checked, mut skipped) = (0, 0);
        for &i in &indices {
            let original = model.params()[i];
            let mut eval = |v: f32| {
                probe.params_mut()[i] = v;
                let f = bce_objective(&probe, &mut ws, &x, &y);
                probe.params_mut()[i] = original;
                f
            };
            let (plus, center, minus) = (eval(original + h), eval(original), eval(original - h));
            let up = f64::from(original + h) - f64::from(original);
            let down = f64::from(original) - f64::from(original - h);
            let (fwd, bwd) = ((plus - center) / up, (center - minus) / down);
            if (fwd - bwd).abs() > 0.05 * (fwd.abs() + bwd.abs()) + 1e-3 {
                // A ReLU kink inside the step.
                skipped += 1;
                continue;
            }
            let numeric = (plus - minus) / (up + down);
            let analytic = f64::from(grads[i]);
            checked += 1;
            assert!(
                (analytic - numeric).abs() <= 2e-4 + 1e-2 * numeric.abs(),
                "seed {seed}, parameter {i}: analytic {analytic:.6e}, numeric {numeric:.6e}"
            );
        }
        assert!(
            checked >= indices.len() * 3 / 4,
            "too many kinks: {checked} checked, {skipped} skipped"
        );
    }
}

// ---- Input gradients: every layer kind but the embedding (its input is token ids) ----

/// The input-gradient check on five model seeds; `min` values compared at least.
fn check_input_seeds<M: Model>(min: usize) {
    for &s in &SEEDS[..5] {
        let report = M::init(s).check_input_gradients(s + 200);
        assert!(
            report.passed() && report.checked >= min,
            "{} input gradient (model seed {s}): {report}",
            M::NAME
        );
    }
}

#[test]
fn input_gradients_of_whole_models() {
    // Two modes times three samples times the input width (half of that where ReLU kinks
    // may be skipped).
    check_input_seeds::<Classifier>(2 * 3 * 20 / 2);
    check_input_seeds::<Smooth>(2 * 3 * 6);
    check_input_seeds::<Leaky>(2 * 3 * 8);
    check_input_seeds::<Image>(2 * 3 * 20);
    check_input_seeds::<ReluSoftmax>(2 * 3 * 7 / 2);
    check_input_seeds::<Everything>(2 * 3 * 6 / 2);
    check_input_seeds::<Series>(2 * 3 * 32);
    check_input_seeds::<PerStep>(2 * 3 * 30 / 2);
    check_input_seeds::<SequenceOut>(2 * 3 * 24 / 2);
    check_input_seeds::<Newer>(2 * 3 * 6 / 2);
}

#[test]
fn token_ids_have_no_input_gradient_to_check() {
    let report = Tokens::new(1).check_input_gradients(1);
    assert_eq!(report.checked, 0, "{report}");
    assert!(!report.passed(), "{report}");
}

#[test]
fn check_input_gradients_catches_a_broken_input_gradient() {
    for &s in &SEEDS[..5] {
        let clean = Smooth::new(s).check_input_gradients(s);
        assert!(clean.passed(), "{clean}");
        let broken = BrokenInput::<Smooth>::init(s).check_input_gradients(s);
        assert!(!broken.passed(), "seed {s}: {broken}");
        assert_eq!(broken.worst.0 % BROKEN_STRIDE, 0, "{broken}");
    }
}

// ---- The checker can fail ----

#[test]
fn checker_rejects_a_wrong_analytic_gradient() {
    let point = [0.3f32, -1.2, 0.8, 2.0];
    let objective = |p: &[f32]| p.iter().map(|&v| f64::from(v).powi(3)).sum::<f64>();
    let right: Vec<f32> = point.iter().map(|&v| 3.0 * v * v).collect();
    let ok = gradcheck::check(&point, &right, 0..4, 1e-3, 1e-3, 1e-12, objective);
    assert!(ok.passed(), "{ok}");

    // One entry off by 5%.
    let mut wrong = right.clone();
    wrong[2] *= 1.05;
    let bad = gradcheck::check(&point, &wrong, 0..4, 1e-3, 1e-3, 1e-12, objective);
    assert!(!bad.passed(), "{bad}");
    assert_eq!(bad.worst.0, 2, "{bad}");
    assert!(bad.to_string().contains("FAILED"), "{bad}");

    // A sign error.
    let negated: Vec<f32> = right.iter().map(|g| -g).collect();
    let bad = gradcheck::check(&point, &negated, 0..4, 1e-3, 1e-3, 1e-12, objective);
    assert!(!bad.passed(), "{bad}");

    // Nothing compared is not a pass.
    let empty = gradcheck::check(&point, &right, 0..0, 1e-3, 1e-3, 1e-12, objective);
    assert!(!empty.passed(), "{empty}");
}

/// A model whose backward pass is subtly wrong: the check must catch it. Every
/// `BROKEN_STRIDE`-th value of the parameter gradient (or, with `INPUT`, of the input
/// gradient) is scaled by `BROKEN_FACTOR`.
struct Broken<M: Model, const INPUT: bool = false> {
    inner: M,
}

/// [`Broken`] in its input gradient, for the input check (which freezes the parameters).
type BrokenInput<M> = Broken<M, true>;

impl<M: Model, const INPUT: bool> Model for Broken<M, INPUT> {
    const NAME: &'static str = if INPUT { "BrokenInput" } else { "Broken" };
    const INPUT_SHAPE: &'static [usize] = M::INPUT_SHAPE;
    const INPUT: usize = M::INPUT;
    const OUTPUT: usize = M::OUTPUT;
    const PARAMS: usize = M::PARAMS;
    const LAYERS: &'static [nn::layers::LayerInfo] = M::LAYERS;
    type OutputActivation = M::OutputActivation;
    const OUTPUT_ACTIVATION: M::OutputActivation = M::OUTPUT_ACTIVATION;

    fn init(seed: u64) -> Self {
        Self {
            inner: M::init(seed),
        }
    }
    fn params(&self) -> &[f32] {
        self.inner.params()
    }
    fn params_mut(&mut self) -> &mut [f32] {
        self.inner.params_mut()
    }
    fn forward_batch<'t>(
        &self,
        tape: &'t mut Tape,
        x: &[f32],
        batch: usize,
        pass: nn::layers::Pass<'_>,
    ) -> &'t [f32] {
        self.inner.forward_batch(tape, x, batch, pass)
    }
    fn backward_batch(
        &self,
        tape: &mut Tape,
        x: &[f32],
        d_logits: &mut [f32],
        grads: Option<&mut [f32]>,
        dx: Option<&mut [f32]>,
    ) {
        let (mut grads, mut dx) = (grads, dx);
        self.inner
            .backward_batch(tape, x, d_logits, grads.as_deref_mut(), dx.as_deref_mut());
        let corrupted = if INPUT {
            assert!(grads.is_none(), "the input check freezes the parameters");
            dx.expect("the input check asks for the input gradient")
        } else {
            grads.expect("the check asks for parameter gradients")
        };
        for g in corrupted.iter_mut().step_by(BROKEN_STRIDE) {
            *g *= BROKEN_FACTOR;
        }
    }
}

const BROKEN_STRIDE: usize = 5;
const BROKEN_FACTOR: f32 = 1.1;

#[test]
fn check_gradients_catches_a_broken_backward_pass() {
    for &s in &SEEDS {
        let inner = Smooth::new(s);
        let clean = inner.check_gradients(s);
        let model = Broken::<Smooth> { inner };
        let broken = model.check_gradients(s);
        assert!(!broken.passed(), "seed {s}: {broken}");
        assert_eq!(broken.worst.0 % BROKEN_STRIDE, 0, "{broken}");
        // The failure is the corruption, not the checker's own noise.
        assert!(
            broken.max_error > 10.0 * clean.max_error,
            "seed {s}: broken {broken}; clean {clean}"
        );
    }
}

// ---- Independent reference: the same networks in f64, written out by hand ----

#[derive(Clone, Copy, Debug)]
enum A {
    Linear,
    Relu,
    Leaky(f64),
    Sigmoid,
    Tanh,
}

#[derive(Clone, Copy, Debug)]
enum R {
    Dense(usize, usize, A),
    Act(A),
    /// Dropout: identity, or the training mask when one is given.
    Dropout,
}

fn act64(a: A, v: &mut [f64]) {
    for x in v {
        *x = match a {
            A::Linear => *x,
            A::Relu => x.max(0.0),
            A::Leaky(s) => {
                if *x < 0.0 {
                    s * *x
                } else {
                    *x
                }
            }
            A::Sigmoid => 1.0 / (1.0 + (-*x).exp()),
            A::Tanh => x.tanh(),
        };
    }
}

/// Logits (before the output activation) of the layers `spec`, in f64.
fn logits64(spec: &[R], p: &[f64], x: &[f64], batch: usize, mask: Option<&[f32]>) -> Vec<f64> {
    let mut cur = x.to_vec();
    let mut off = 0;
    for &layer in spec {
        match layer {
            R::Dense(i, o, a) => {
                assert_eq!(cur.len(), batch * i, "{layer:?}");
                let mut next = vec![0.0; batch * o];
                for s in 0..batch {
                    for k in 0..o {
                        let mut acc = p[off + i * o + k];
                        for j in 0..i {
                            acc += cur[s * i + j] * p[off + j * o + k];
                        }
                        next[s * o + k] = acc;
                    }
                }
                act64(a, &mut next);
                off += i * o + o;
                cur = next;
            }
            R::Act(a) => act64(a, &mut cur),
            R::Dropout => {
                if let Some(m) = mask {
                    for (v, &m) in cur.iter_mut().zip(m) {
                        *v *= f64::from(m);
                    }
                }
            }
        }
    }
    assert_eq!(off, p.len(), "spec does not cover the parameters");
    cur
}

fn spec_classifier() -> Vec<R> {
    vec![
        R::Dense(20, 64, A::Relu),
        R::Dense(64, 64, A::Relu),
        R::Dense(64, 1, A::Linear),
    ]
}
fn spec_smooth() -> Vec<R> {
    vec![
        R::Dense(6, 10, A::Tanh),
        R::Dense(10, 7, A::Sigmoid),
        R::Dense(7, 3, A::Linear),
    ]
}
fn spec_leaky() -> Vec<R> {
    vec![
        R::Dense(8, 12, A::Leaky(0.2)),
        R::Dropout,
        R::Dense(12, 6, A::Linear),
        R::Act(A::Leaky(0.1)),
        R::Dense(6, 4, A::Linear),
    ]
}
fn spec_image() -> Vec<R> {
    vec![
        R::Dense(20, 8, A::Linear),
        R::Act(A::Tanh),
        R::Dense(8, 3, A::Linear),
    ]
}
fn spec_relu_softmax() -> Vec<R> {
    vec![R::Dense(7, 10, A::Relu)]
}
fn spec_everything() -> Vec<R> {
    vec![
        R::Dense(6, 9, A::Relu),
        R::Dropout,
        R::Dense(9, 8, A::Linear),
        R::Act(A::Relu),
        R::Dense(8, 8, A::Linear),
        R::Act(A::Leaky(0.3)),
        R::Dense(8, 6, A::Linear),
        R::Act(A::Sigmoid),
        R::Dense(6, 5, A::Linear),
        R::Act(A::Sigmoid),
        R::Dense(5, 5, A::Linear),
        R::Act(A::Tanh),
        R::Dense(5, 4, A::Linear),
    ]
}

/// Reads a dropout mask out of a workspace.
type MaskOf = fn(&Tape) -> Vec<f32>;

/// Compares a model's logits and `backward_batch` with the f64 reference: forward values,
/// and every parameter gradient of `sum(r * logits)` against f64 central differences
/// (step 1e-6: no truncation error to speak of, and kinks are practically never hit).
/// With `mask_of`, dropout is active and the reference applies the mask the model drew.
fn against_reference<M: Model>(spec: &[R], seed: u64, mask_of: Option<MaskOf>) {
    let mut model = M::init(seed);
    let mut rng = Rng::new(seed + 1000);
    for t in M::tensors().iter().filter(|t| t.name.contains(".bias")) {
        for b in &mut model.params_mut()[t.offset..t.offset + t.len()] {
            *b = rng.uniform(-0.5, 0.5);
        }
    }
    let batch = 3;
    let x: Vec<f32> = (0..batch * M::INPUT)
        .map(|_| rng.uniform(-1.0, 1.0))
        .collect();
    let r: Vec<f32> = (0..batch * M::OUTPUT)
        .map(|_| rng.uniform(-1.5, 1.5))
        .collect();
    let mut ws = nn::tape::Tape::new();
    let dropout_rng = &mut Rng::new(seed + 77);
    let logits = model
        .forward_batch(
            &mut ws,
            &x,
            batch,
            mask_of.is_some().then_some(dropout_rng).into(),
        )
        .to_vec();
    let mask = mask_of.map(|f| f(&ws));
    if let Some(m) = &mask {
        assert!(m.contains(&0.0), "{}: the mask dropped nothing", M::NAME);
    }
    let mut d = r.clone();
    let mut grads = vec![f32::NAN; M::PARAMS];
    model.backward_batch(&mut ws, &x, &mut d, Some(&mut grads), None);

    let x64: Vec<f64> = x.iter().map(|&v| v.into()).collect();
    let mut p64: Vec<f64> = model.params().iter().map(|&v| v.into()).collect();
    let want = logits64(spec, &p64, &x64, batch, mask.as_deref());
    for (k, (&got, &want)) in logits.iter().zip(&want).enumerate() {
        assert!(
            (f64::from(got) - want).abs() <= 1e-5 * (1.0 + want.abs()),
            "{} seed {seed}: logit {k}: got {got}, reference {want}",
            M::NAME
        );
    }
    let objective = |p: &[f64]| -> f64 {
        logits64(spec, p, &x64, batch, mask.as_deref())
            .iter()
            .zip(&r)
            .map(|(l, r)| l * f64::from(*r))
            .sum()
    };
    let h = 1e-6;
    for i in 0..M::PARAMS {
        let original = p64[i];
        p64[i] = original + h;
        let plus = objective(&p64);
        p64[i] = original - h;
        let minus = objective(&p64);
        p64[i] = original;
        let numeric = (plus - minus) / (2.0 * h);
        let analytic = f64::from(grads[i]);
        assert!(
            (analytic - numeric).abs() <= 1e-5 + 1e-3 * numeric.abs(),
            "{} seed {seed}: parameter {i}: analytic {analytic:.6e}, reference {numeric:.6e}",
            M::NAME
        );
    }
}

#[test]
fn backward_passes_match_an_f64_reference() {
    for &s in &SEEDS {
        against_reference::<Classifier>(&spec_classifier(), s, None);
        against_reference::<Smooth>(&spec_smooth(), s, None);
        against_reference::<Leaky>(&spec_leaky(), s, None);
        against_reference::<Image>(&spec_image(), s, None);
        against_reference::<ReluSoftmax>(&spec_relu_softmax(), s, None);
        against_reference::<Everything>(&spec_everything(), s, None);
    }
}

#[test]
fn backward_passes_follow_an_active_dropout_mask() {
    for &s in &SEEDS {
        against_reference::<Leaky>(&spec_leaky(), s, Some(|tape| tape.cache(1).to_vec()));
        against_reference::<Everything>(&spec_everything(), s, Some(|tape| tape.cache(2).to_vec()));
    }
}
