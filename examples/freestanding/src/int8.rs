//! The int8 build (`--features int8`): the same MLP quantized to int8 (`quantize_mnist
//! --save-raw data/mnist_mlp_int8.bin`), baked in as bytes, classifying the same digits with
//! integer arithmetic only.

use super::models::MnistMlpInt8;
use super::{Stdout, DIGITS, LABELS};
use core::fmt::Write;

/// The quantized model: its bytes (int8 weights, int32 biases, scales, zero points,
/// multipliers, shifts), checked for length at compile time and used where they are.
static MODEL: MnistMlpInt8 =
    MnistMlpInt8::from_static(include_bytes!("../data/mnist_mlp_int8.bin"));

// The memory this program needs, known at compile time: about a quarter of the f32 build's.
const _: () = assert!(MnistMlpInt8::PARAM_BYTES + MnistMlpInt8::SCRATCH_BYTES <= 128 * 1024);

pub fn run() -> i32 {
    let mut out = Stdout;
    let mut pixels = [0i8; MnistMlpInt8::INPUT];
    let mut scratch = [0i8; MnistMlpInt8::SCRATCH];
    let input = MODEL.input_params();
    // Calibrated on pixels spanning [0, 1] (scale 1/255, zero point -128), a pixel byte `b`
    // is `b - 128` in int8: no floating point at all.
    let integer_input = input == nn::quant::QParams::from_range(0.0, 1.0);
    let mut correct = 0;
    for (i, (digit, &label)) in DIGITS
        .chunks_exact(MnistMlpInt8::INPUT)
        .zip(LABELS.iter())
        .enumerate()
    {
        for (p, &b) in pixels.iter_mut().zip(digit) {
            *p = if integer_input {
                b.wrapping_sub(128).cast_signed()
            } else {
                input.quantize(f32::from(b) / 255.0)
            };
        }
        let logits = MODEL.forward_into(&pixels, &mut scratch);
        let predicted = argmax(logits);
        if predicted == usize::from(label) {
            correct += 1;
        }
        let _ = writeln!(out, "digit {i:>2}: predicted {predicted}, label {label}");
    }
    let _ = writeln!(out, "correct={correct}/100");
    0
}

/// Index of the largest logit (the first one on ties): the class of the softmax.
fn argmax(values: &[i8]) -> usize {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if v > values[best] {
            best = i;
        }
    }
    best
}
