//! The f32 build: the MLP, the row-reading LSTM and the sequence model.

use super::models::{MnistMlp, RowReader};
use super::{Stdout, DIGITS, LABELS};
use core::fmt::Write;
use nn::bake::Scaler;

/// The trained parameters, decoded at compile time: nothing is parsed at run time.
static WEIGHTS: [f32; MnistMlp::PARAMS] =
    nn::bake::f32_array(include_bytes!("../data/mnist_mlp.bin"));
/// The model, in read-only memory.
static MODEL: MnistMlp = MnistMlp::from_static(&WEIGHTS);

// The memory this program needs, known at compile time.
const _: () = assert!(MnistMlp::PARAM_BYTES + MnistMlp::SCRATCH_BYTES <= 512 * 1024);

nn::model! {
    /// The sequence layers in the bare tier: token ids, [6, 2], [6, 2], [3, 2], [3, 2] (a dense
    /// layer per step), [1, 2], [2], 1.
    pub struct Sequence {
        input: 6,
        Embedding(5, 2),
        Conv1D(2, 3, padding = same),
        MaxPool1D(2),
        Dense(2),
        AvgPool1D(2),
        GlobalAvgPool1D,
        Dense(1),
    }
}

/// Every weight and bias 1/4: the output is exact in `f32` and follows by hand.
static SEQUENCE_WEIGHTS: [f32; Sequence::PARAMS] = [0.25; Sequence::PARAMS];
static SEQUENCE: Sequence = Sequence::from_static(&SEQUENCE_WEIGHTS);

/// The sequence model on valid ids, then on a value that is not an id.
fn sequence(out: &mut Stdout) {
    let ids = nn::Vector::<6>::from([0.0, 1.0, 2.0, 3.0, 4.0, 0.0]);
    // Vectors of 1/4; the convolution: 1/4 + 6/16 inside, 1/4 + 4/16 at the ends; pooled
    // 5/8; dense: 1/4 + 2 * 5/32 = 9/16; averaged and pooled 9/16; out: 1/4 + 2 * 9/64.
    let y = SEQUENCE.forward(&ids)[0];
    let _ = writeln!(
        out,
        "sequence: output {y} (by hand {})",
        0.25 + 2.0 * 9.0 / 64.0
    );
    let bad = nn::Vector::<6>::from([0.0, 1.0, 7.0, 3.0, 4.0, 0.0]);
    if let Err(e) = SEQUENCE.try_forward(&bad) {
        let _ = writeln!(out, "sequence: {e}");
    }
}

/// Trained by `cargo run --release --example mnist_lstm -- --epochs 1 --save-raw
/// data/mnist_lstm.bin`: the recurrent state lives in the scratch, so a sequence model runs
/// here as the MLP does.
static LSTM_WEIGHTS: [f32; RowReader::PARAMS] =
    nn::bake::f32_array(include_bytes!("../data/mnist_lstm.bin"));
static LSTM_MODEL: RowReader = RowReader::from_static(&LSTM_WEIGHTS);
const _: () = assert!(RowReader::PARAM_BYTES + RowReader::SCRATCH_BYTES <= 512 * 1024);

/// The quickstart's scalers, decoded at compile time (a bad file is a compile error).
static STANDARD: Scaler<20> = Scaler::from_le_bytes(include_bytes!("../data/standard_scaler.bin"));
static MIN_MAX: Scaler<20> = Scaler::from_le_bytes(include_bytes!("../data/minmax_scaler.bin"));
/// Three rows of the quickstart's test split, unscaled.
static SCALER_ROWS: [f32; 3 * 20] = nn::bake::f32_array(include_bytes!("../data/scaler_rows.bin"));

/// Each scaler on each row: one line of scaled values per row.
fn scalers(out: &mut Stdout) {
    for (name, scaler) in [("standard", &STANDARD), ("min-max", &MIN_MAX)] {
        for (i, row) in SCALER_ROWS.chunks_exact(20).enumerate() {
            let mut x = [0.0f32; 20];
            x.copy_from_slice(row);
            scaler.transform(&mut x);
            let _ = write!(out, "{name} scaler, row {i}:");
            for v in x {
                let _ = write!(out, " {v}");
            }
            let _ = writeln!(out);
        }
    }
}

/// The f32 models' run: one line per digit, the LSTM's score, the sequence model, the scalers.
pub fn run() -> i32 {
    let mut out = Stdout;
    let mut pixels = [0.0f32; MnistMlp::INPUT];
    let mut scratch = [0.0f32; MnistMlp::SCRATCH];
    let mut correct = 0;
    for (i, (digit, &label)) in DIGITS
        .chunks_exact(MnistMlp::INPUT)
        .zip(LABELS.iter())
        .enumerate()
    {
        for (p, &b) in pixels.iter_mut().zip(digit) {
            *p = f32::from(b) / 255.0;
        }
        let probabilities = MODEL.forward_into(&pixels, &mut scratch);
        let predicted = argmax(probabilities);
        if predicted == usize::from(label) {
            correct += 1;
        }
        let _ = writeln!(out, "digit {i:>2}: predicted {predicted}, label {label}");
    }
    // The same digits read row by row by the LSTM: one line with its score.
    let mut lstm_scratch = [0.0f32; RowReader::SCRATCH];
    let mut lstm_correct = 0;
    for (digit, &label) in DIGITS.chunks_exact(RowReader::INPUT).zip(LABELS.iter()) {
        for (p, &b) in pixels.iter_mut().zip(digit) {
            *p = f32::from(b) / 255.0;
        }
        let probabilities = LSTM_MODEL.forward_into(&pixels, &mut lstm_scratch);
        if argmax(probabilities) == usize::from(label) {
            lstm_correct += 1;
        }
    }
    let _ = writeln!(out, "row-reading LSTM: correct={lstm_correct}/100");
    sequence(&mut out);
    scalers(&mut out);
    let _ = writeln!(out, "correct={correct}/100");
    0
}

/// Index of the largest value (the first one on ties).
fn argmax(values: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if v > values[best] {
            best = i;
        }
    }
    best
}
