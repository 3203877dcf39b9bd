//! Weights baked into the binary (`nn::bake`), and the promise of `examples/freestanding`:
//! the std build of the same model, with the same baked weights, classifies the same 100
//! digits exactly as the freestanding binary does, its row-reading LSTM scores the same, and
//! its sequence model gives the same output and error (CI runs that binary and compares its output with the same
//! `expected.txt`), and its baked scalers scale as the alloc tier's scalers they were saved
//! from, bit for bit.

#[path = "../examples/support/models.rs"]
mod models;
use models::{MnistMlp, RowReader};
use nn::bake::Scaler;
use nn::model::Model;
use nn::prelude::*;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// The freestanding program's scalers: fitted on the quickstart's training split and saved
/// by the alloc tier (`ScalerFile::save`; see `scalers_are_the_alloc_tiers_saved_ones`),
/// decoded at compile time.
static STANDARD: Scaler<20> = Scaler::from_le_bytes(include_bytes!(
    "../examples/freestanding/data/standard_scaler.bin"
));
static MIN_MAX: Scaler<20> = Scaler::from_le_bytes(include_bytes!(
    "../examples/freestanding/data/minmax_scaler.bin"
));
/// The first three test rows of the quickstart's split, unscaled.
static SCALER_ROWS: [f32; 3 * 20] = nn::bake::f32_array(include_bytes!(
    "../examples/freestanding/data/scaler_rows.bin"
));

/// Decoded at compile time from the raw file `mnist_lstm --save-raw` wrote.
static LSTM_WEIGHTS: [f32; RowReader::PARAMS] = nn::bake::f32_array(include_bytes!(
    "../examples/freestanding/data/mnist_lstm.bin"
));
static LSTM_BAKED: RowReader = RowReader::from_static(&LSTM_WEIGHTS);

/// Decoded at compile time from the raw file `mnist_mlp --save-raw` wrote.
static WEIGHTS: [f32; MnistMlp::PARAMS] = nn::bake::f32_array(include_bytes!(
    "../examples/freestanding/data/mnist_mlp.bin"
));
static BAKED: MnistMlp = MnistMlp::from_static(&WEIGHTS);
const DIGITS: &[u8] = include_bytes!("../examples/freestanding/data/digits.bin");
const LABELS: &[u8] = include_bytes!("../examples/freestanding/data/labels.bin");

nn::model! {
    /// The sequence model of `examples/freestanding`.
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

static SEQUENCE_WEIGHTS: [f32; Sequence::PARAMS] = [0.25; Sequence::PARAMS];
static SEQUENCE: Sequence = Sequence::from_static(&SEQUENCE_WEIGHTS);

fn argmax(v: &[f32]) -> usize {
    (0..v.len()).fold(0, |best, i| if v[i] > v[best] { i } else { best })
}

/// The freestanding program's output, computed by the std build.
fn transcript(model: &MnistMlp, lstm: &RowReader) -> String {
    let mut out = String::new();
    let mut correct = 0;
    for (i, (digit, &label)) in DIGITS.chunks_exact(784).zip(LABELS).enumerate() {
        let x = nn::Vector::<784>::from_iterator(digit.iter().map(|&b| f32::from(b) / 255.0));
        let predicted = argmax(model.forward(&x).as_slice());
        correct += usize::from(predicted == usize::from(label));
        writeln!(out, "digit {i:>2}: predicted {predicted}, label {label}").unwrap();
    }
    let lstm_correct = DIGITS
        .chunks_exact(784)
        .zip(LABELS)
        .filter(|(digit, &label)| {
            let x = nn::Vector::<784>::from_iterator(digit.iter().map(|&b| f32::from(b) / 255.0));
            argmax(lstm.forward(&x).as_slice()) == usize::from(label)
        })
        .count();
    writeln!(out, "row-reading LSTM: correct={lstm_correct}/100").unwrap();
    let ids = nn::Vector::<6>::from([0.0, 1.0, 2.0, 3.0, 4.0, 0.0]);
    let y = SEQUENCE.forward(&ids)[0];
    writeln!(
        out,
        "sequence: output {y} (by hand {})",
        0.25 + 2.0 * 9.0 / 64.0
    )
    .unwrap();
    let bad = nn::Vector::<6>::from([0.0, 1.0, 7.0, 3.0, 4.0, 0.0]);
    writeln!(out, "sequence: {}", SEQUENCE.try_forward(&bad).unwrap_err()).unwrap();
    // The alloc tier's scalers, loaded from the files the freestanding program bakes.
    let standard = StandardScaler::load(data("standard_scaler.bin")).unwrap();
    let min_max = MinMaxScaler::load(data("minmax_scaler.bin")).unwrap();
    let (mut a, mut b) = (SCALER_ROWS.to_vec(), SCALER_ROWS.to_vec());
    standard.transform(&mut a).unwrap();
    min_max.transform(&mut b).unwrap();
    for (name, rows) in [("standard", a), ("min-max", b)] {
        for (i, row) in rows.chunks_exact(20).enumerate() {
            write!(out, "{name} scaler, row {i}:").unwrap();
            for v in row {
                write!(out, " {v}").unwrap();
            }
            writeln!(out).unwrap();
        }
    }
    writeln!(out, "correct={correct}/100").unwrap();
    out
}

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/freestanding/data")
        .join(name)
}

/// The quickstart's data and split (`examples/quickstart.rs`).
fn quickstart_split() -> Split {
    let (x, y) = Classification::new(1000, 20)
        .classes(2)
        .seed(42)
        .generate()
        .unwrap();
    train_test_split(&x, &y, 20, 1, 0.2, 42).unwrap()
}

/// The scaler files are what the alloc tier saves for scalers fitted on the quickstart's
/// training split (`NN_BAKE_OVERWRITE=1` writes them anew, e.g. after a change to the
/// synthetic data); saved and loaded back they are the same scalers; and the baked ones
/// scale every test row exactly as the alloc tier's do.
#[test]
fn scalers_are_the_alloc_tiers_saved_ones_and_bake_bit_for_bit() {
    let split = quickstart_split();
    let standard = StandardScaler::fit(&split.x_train, 20).unwrap();
    let min_max = MinMaxScaler::fit(&split.x_train, 20).unwrap();
    if std::env::var_os("NN_BAKE_OVERWRITE").is_some() {
        standard.save(data("standard_scaler.bin")).unwrap();
        min_max.save(data("minmax_scaler.bin")).unwrap();
        std::fs::write(
            data("scaler_rows.bin"),
            nn::bake::to_le_bytes(&split.x_test[..60]),
        )
        .unwrap();
    }
    let saved = |name| std::fs::read(data(name)).unwrap();
    assert_eq!(saved("standard_scaler.bin"), standard.to_le_bytes());
    assert_eq!(saved("minmax_scaler.bin"), min_max.to_le_bytes());
    assert_eq!(SCALER_ROWS[..], split.x_test[..60]);
    assert_eq!(
        StandardScaler::load(data("standard_scaler.bin")).unwrap(),
        standard
    );
    assert_eq!(
        MinMaxScaler::load(data("minmax_scaler.bin")).unwrap(),
        min_max
    );
    assert_eq!(STANDARD, Scaler::<20>::try_from(&standard).unwrap());
    assert_eq!(MIN_MAX, Scaler::<20>::try_from(&min_max).unwrap());
    assert_eq!(STANDARD.offset()[..], *standard.mean());
    assert_eq!(MIN_MAX.scale()[..], *min_max.range());

    for (baked, alloc) in [
        (
            &STANDARD,
            Box::new(|x: &mut [f32]| standard.transform(x))
                as Box<dyn Fn(&mut [f32]) -> nn::Result<()>>,
        ),
        (&MIN_MAX, Box::new(|x: &mut [f32]| min_max.transform(x))),
    ] {
        let mut expected = split.x_test.clone();
        alloc(&mut expected).unwrap();
        for (row, want) in split.x_test.chunks_exact(20).zip(expected.chunks_exact(20)) {
            let mut x: [f32; 20] = row.try_into().unwrap();
            baked.transform(&mut x);
            assert_eq!(
                x.map(f32::to_bits)[..],
                want.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
            );
            baked.inverse_transform(&mut x);
            for (a, b) in x.iter().zip(row) {
                assert!((a - b).abs() <= 1e-5 * b.abs().max(1.0), "{a} {b}");
            }
        }
    }
}

#[test]
fn std_build_gives_the_freestanding_programs_output() {
    assert_eq!(
        transcript(&BAKED, &LSTM_BAKED),
        include_str!("../examples/freestanding/expected.txt")
    );
}

#[test]
fn baked_and_heap_models_agree_bit_for_bit() {
    let heap = MnistMlp::from_params(WEIGHTS.to_vec()).unwrap();
    assert_eq!(heap.params(), BAKED.params());
    let x = nn::Vector::<784>::from_iterator(DIGITS[..784].iter().map(|&b| f32::from(b) / 255.0));
    assert_eq!(heap.forward(&x), BAKED.forward(&x));
}

#[test]
fn decoding_rejects_wrong_lengths_and_non_finite_values() {
    // `f32_array` is a `const fn`: in a `static` these are compile errors; called at run
    // time they panic with the same message.
    let short = std::panic::catch_unwind(|| nn::bake::f32_array::<2>(&[0; 7]));
    assert!(short.is_err());
    let nan = std::panic::catch_unwind(|| nn::bake::f32_array::<1>(&f32::NAN.to_le_bytes()));
    assert!(nan.is_err());
    assert_eq!(
        nn::bake::f32_array::<2>(&nn::bake::to_le_bytes(&[1.5, -2.0])),
        [1.5, -2.0]
    );
}

#[test]
fn footprint_constants_are_the_real_sizes() {
    // Parameters: the flat buffer, in bytes.
    assert_eq!(MnistMlp::PARAM_BYTES, std::mem::size_of_val(BAKED.params()));
    assert_eq!(MnistMlp::PARAMS, 784 * 128 + 128 + 128 * 10 + 10);
    // Scratch: the largest input + output of a layer that writes new values; the first
    // Dense reads the caller's input, so the peak is hidden (128) + output (10).
    assert_eq!(MnistMlp::SCRATCH, 128 + 10);
    assert_eq!(MnistMlp::SCRATCH_BYTES, 138 * 4);
    assert_eq!(MnistMlp::FLOPS, 2 * (784 * 128 + 128 * 10));
    // `forward_into` with exactly that scratch gives what `forward` gives.
    let x: [f32; 784] = std::array::from_fn(|i| f32::from(DIGITS[i]) / 255.0);
    let mut scratch = [f32::NAN; MnistMlp::SCRATCH];
    let y = BAKED.forward_into(&x, &mut scratch).to_vec();
    assert_eq!(y.as_slice(), BAKED.forward(&nn::Vector::from(x)).as_slice());
}

nn::model! {
    /// An activation first (needs a copy of the input into the scratch) and two hidden layers.
    pub struct Deeper {
        input: 6,
        Tanh,
        a: Dense(9, relu),
        Dropout(0.5),
        b: Dense(4),
        Softmax,
    }
}

#[test]
fn scratch_covers_in_place_activations_and_every_layer_pair() {
    // Tanh copies the input (6), then a: 6 + 9 = 15, then b: 9 + 4 = 13.
    assert_eq!(Deeper::SCRATCH, 15);
    let model = Deeper::new(3);
    let x = [0.3f32, -0.2, 0.9, -1.0, 0.05, 0.4];
    let mut scratch = [f32::NAN; Deeper::SCRATCH];
    let y = model.forward_into(&x, &mut scratch).to_vec();
    assert!((y.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    // The same as the batched (training) pass in inference mode.
    let mut ws = nn::tape::Tape::new();
    let mut logits = model
        .forward_batch(&mut ws, &x, 1, nn::layers::Pass::Eval)
        .to_vec();
    nn::activations::ActivationFn::forward(&nn::activations::Softmax, &mut logits, 4);
    for (a, b) in y.iter().zip(&logits) {
        assert!((a - b).abs() < 1e-6, "{y:?} vs {logits:?}");
    }
}

/// Memory a firmware can check at compile time.
const _: () = assert!(MnistMlp::PARAM_BYTES + MnistMlp::SCRATCH_BYTES <= 512 * 1024);
