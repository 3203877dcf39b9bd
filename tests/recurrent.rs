//! Models with recurrent layers: `SCRATCH` is the real use of single-sample inference (the
//! recurrent state and gates included), inference agrees with the batched pass, and the
//! layers' typed views show PyTorch's tensors.

use nn::model::Model;
use nn::rng::Rng;

nn::model! {
    /// MNIST read row by row (as `examples/mnist_lstm.rs`).
    pub struct RowReader {
        input: [28, 28],
        lstm: LSTM(128),
        output: Dense(10, softmax),
    }
}

nn::model! {
    /// Every recurrent layer kind, each giving every step to the next.
    pub struct Stacked {
        input: [6, 4],
        rnn: SimpleRNN(8, return_sequences = true),
        gru: GRU(8, return_sequences = true),
        lstm: LSTM(6, return_sequences = true),
        Flatten,
        out: Dense(3),
    }
}

/// Runs `forward_into` on a scratch of exactly `SCRATCH` values, all NaN at first: a smaller
/// one would panic (each layer gets its slice of it), and every value is written, so none is
/// spare. Returns the output.
fn run_in_exact_scratch<const IN: usize, const S: usize>(
    forward_into: impl for<'s> Fn(&[f32; IN], &'s mut [f32; S]) -> &'s [f32],
    x: &[f32; IN],
) -> Vec<f32> {
    let mut scratch = [f32::NAN; S];
    let y = forward_into(x, &mut scratch).to_vec();
    let unused = scratch.iter().filter(|v| v.is_nan()).count();
    assert_eq!(
        unused, 0,
        "{unused} of the {S} scratch values were never used"
    );
    y
}

fn input<const N: usize>(seed: u64) -> [f32; N] {
    let mut rng = Rng::new(seed);
    std::array::from_fn(|_| rng.uniform(0.0, 1.0))
}

/// The batched pass's output (after the output activation) for one sample.
fn batched<M: Model>(model: &M, x: &[f32]) -> Vec<f32> {
    let mut tape = nn::tape::Tape::new();
    let mut y = model
        .forward_batch(&mut tape, x, 1, nn::layers::Pass::Eval)
        .to_vec();
    nn::activations::ActivationFn::forward(&M::OUTPUT_ACTIVATION, &mut y, M::OUTPUT);
    y
}

#[test]
fn scratch_is_what_inference_uses() {
    // The LSTM reads the input and writes its 128-value state into the scratch, with its
    // cell state and gates (5 × 128) beside it; the dense layer then holds 128 + 10.
    const { assert!(RowReader::SCRATCH == 128 + 5 * 128) };
    assert_eq!(RowReader::SCRATCH_BYTES, 768 * 4);
    let model = RowReader::new(1);
    let x = input::<784>(2);
    let y = run_in_exact_scratch(|x, s| model.forward_into(x, s), &x);
    let want = batched(&model, &x);
    for (a, b) in y.iter().zip(&want) {
        assert!((a - b).abs() < 1e-5, "{y:?} vs {want:?}");
    }

    // SimpleRNN: 6 × 8 out and its 8-value pre-activation; GRU: 48 in, 48 out and its 6 × 8
    // projections; LSTM: 48 in, 36 out, 5 × 6; dense: 36 + 3.
    const { assert!(Stacked::SCRATCH == 48 + 48 + 48) };
    let model = Stacked::new(3);
    let x = input::<24>(4);
    let y = run_in_exact_scratch(|x, s| model.forward_into(x, s), &x);
    let want = batched(&model, &x);
    for (a, b) in y.iter().zip(&want) {
        assert!((a - b).abs() < 1e-5, "{y:?} vs {want:?}");
    }
}

#[test]
fn views_show_pytorchs_tensors() {
    let model = Stacked::new(5);
    let lstm = model.lstm();
    assert_eq!(lstm.weight_ih().shape(), (24, 8));
    assert_eq!(lstm.weight_hh().shape(), (24, 6));
    assert_eq!(lstm.bias_ih().len(), 24);
    // Keras' unit_forget_bias, in the input bias: the forget gate's rows (i, f, g, o).
    assert!(lstm.bias_ih().iter().skip(6).take(6).all(|&b| b == 1.0));
    assert!(lstm.bias_hh().iter().all(|&b| b == 0.0));
    // weight_ih[g·H + j, i] is the file's value at that position.
    let tensors = Stacked::tensors();
    let t = tensors
        .iter()
        .find(|t| t.name == "gru.weight_ih_l0")
        .unwrap();
    let mut file = vec![0.0; t.len()];
    t.for_each_index(|f, m| file[f] = model.params()[t.offset + m]);
    let view = model.gru().weight_ih();
    for r in 0..24 {
        for c in 0..8 {
            assert_eq!(view[(r, c)], file[r * 8 + c]);
        }
    }
    assert_eq!(model.rnn().weight_hh().shape(), (8, 8));
}
