//! int8 models (`nn::quant`, the `<Name>Int8` types `model!` generates).
//!
//! The exactness test recomputes a small quantized model from the published scheme alone:
//! TensorFlow Lite's quantization formulas (symmetric per-channel int8 weights, int32
//! biases at `s_in · s_w`, `M = s_in · s_w / s_out` as a Q31 multiplier and a shift) and
//! gemmlowp's two roundings, written here as exact rational arithmetic in `i128` (each
//! `round(a / 2^n)` half away from zero by comparing remainders), direct convolution and
//! pooling loops, and the documented byte layout read by hand. None of it calls
//! `nn::quant`: only the activation scales (the calibration's output, checked separately
//! against the ranges) are taken from the model.

#[path = "../examples/support/models.rs"]
mod models;
use models::{MnistCnn, MnistCnnInt8, MnistMlp, MnistMlpInt8};
use nn::data::Mnist;
use nn::prelude::*;
use nn::quant::Quantized;
use std::sync::OnceLock;

nn::model! {
    /// Every covered kind: a 'same' convolution with stride 2 (zero padding), a 'valid'
    /// one, both poolings, flatten, dense with ReLU, and a softmax output.
    pub struct Small {
        input: [9, 9, 2],
        a: Conv2D(4, 3x3, relu, strides = 2, padding = same),
        MaxPool2D(2, strides = 1),
        b: Conv2D(3, 2x2),
        AvgPool2D(2, strides = 1),
        Flatten,
        c: Dense(5, relu),
        d: Dense(3, softmax),
    }
}

nn::model! {
    /// Batch normalisation to fold, a ReLU layer, dropout.
    pub struct Normed {
        input: 6,
        a: Dense(8),
        bn: BatchNorm,
        ReLU,
        Dropout(0.5),
        b: Dense(2),
    }
}

nn::model! {
    /// A hidden `tanh`: not covered inside a model.
    pub struct Hidden {
        input: 4,
        a: Dense(3, tanh),
        b: Dense(2),
    }
}

fn samples(n: usize, width: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    (0..n * width).map(|_| rng.uniform(-1.0, 1.5)).collect()
}

// ---- the reference, from the published formulas ----

/// `round(num / den)`, half away from zero, exactly (`den > 0`).
fn div_round(num: i128, den: i128) -> i128 {
    let (q, r) = (num / den, num % den);
    if 2 * r.abs() >= den {
        q + num.signum()
    } else {
        q
    }
}

/// `floor(num / den + 1/2)`: nearest, ties upwards (`den > 0`).
fn div_round_up(num: i128, den: i128) -> i128 {
    (2 * num + den).div_euclid(2 * den)
}

/// `x · M` as TFLite computes it: gemmlowp's doubling high multiply `x · 2^left · m / 2^31`
/// to the nearest integer with ties upwards (its nudge is `2^30` for a non-negative
/// product and `1 − 2^30` for a negative one, then C's truncating division), then the
/// division by `2^right` to the nearest with ties away from zero.
fn requantize(x: i32, m: i32, shift: i32) -> i32 {
    let (left, right) = (shift.max(0), (-shift).max(0));
    let high = div_round_up(i128::from(x) * (1 << left) * i128::from(m), 1 << 31);
    i32::try_from(div_round(high, 1 << right)).unwrap()
}

/// `(m, shift)` with `M = m · 2^(shift − 31)`, `m` in `[2^30, 2^31)`: halve or double
/// until the fraction is in `[0.5, 1)` (exact in binary floating point), then round.
fn multiplier(real: f64) -> (i32, i32) {
    let (mut f, mut shift) = (real, 0);
    while f >= 1.0 {
        f /= 2.0;
        shift += 1;
    }
    while f < 0.5 {
        f *= 2.0;
        shift -= 1;
    }
    let mut m = (f * 2f64.powi(31)).round() as i64;
    if m == 1 << 31 {
        m /= 2;
        shift += 1;
    }
    (m as i32, shift)
}

fn le_i32(b: &[u8], at: usize) -> i32 {
    i32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}
fn le_f32(b: &[u8], at: usize) -> f32 {
    f32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

/// One layer of weights `[k][channels]` (the f32 layout) quantized by the reference.
struct RefAffine {
    k: usize,
    channels: usize,
    w: Vec<i32>, // [channel][k]
    bias: Vec<i32>,
    m: Vec<i32>,
    shift: Vec<i32>,
    zx: i32,
    zy: i32,
    lo: i32,
}

/// The reference quantization of an affine layer from its f32 parameters and the block's
/// header (input and output scales and zero points, read by the documented layout); checks
/// every byte of the block against it.
fn reference_affine(
    params: &[f32],
    k: usize,
    channels: usize,
    relu: bool,
    block: &[u8],
) -> RefAffine {
    let (sx, zx, sy, zy) = (
        le_f32(block, 0),
        le_i32(block, 4),
        le_f32(block, 8),
        le_i32(block, 12),
    );
    let mut r = RefAffine {
        k,
        channels,
        w: vec![],
        bias: vec![],
        m: vec![],
        shift: vec![],
        zx,
        zy,
        lo: if relu { zy } else { -128 },
    };
    let mut scales = vec![];
    for c in 0..channels {
        let max = (0..k)
            .map(|i| params[i * channels + c].abs())
            .fold(0.0f32, f32::max);
        let s = max / 127.0;
        scales.push(s);
        for i in 0..k {
            let q = (f64::from(params[i * channels + c]) / f64::from(s)).round() as i32;
            r.w.push(q.clamp(-127, 127));
        }
        let acc_scale = f64::from(sx) * f64::from(s);
        r.bias
            .push((f64::from(params[k * channels + c]) / acc_scale).round() as i32);
        let (m, e) = multiplier(acc_scale / f64::from(sy));
        r.m.push(m);
        r.shift.push(e);
    }
    // The block, by the documented layout.
    assert_eq!(le_i32(block, 16), r.lo, "lower bound");
    assert_eq!(le_i32(block, 20), 127, "upper bound");
    let w0 = 24;
    let bias0 = w0 + k * channels;
    for c in 0..channels {
        for i in 0..k {
            assert_eq!(
                i32::from(block[w0 + i * channels + c] as i8),
                r.w[c * k + i],
                "weight {c} {i}"
            );
        }
        assert_eq!(le_i32(block, bias0 + 4 * c), r.bias[c], "bias {c}");
        assert_eq!(
            le_f32(block, bias0 + 4 * channels + 4 * c),
            scales[c],
            "weight scale {c}"
        );
        assert_eq!(
            le_i32(block, bias0 + 8 * channels + 4 * c),
            r.m[c],
            "multiplier {c}"
        );
        assert_eq!(
            le_i32(block, bias0 + 12 * channels + 4 * c),
            r.shift[c],
            "shift {c}"
        );
    }
    r
}

impl RefAffine {
    /// Channel `c` of the accumulator `acc` (bias excluded) to int8.
    fn out(&self, c: usize, acc: i32) -> i8 {
        (self.zy + requantize(acc + self.bias[c], self.m[c], self.shift[c])).clamp(self.lo, 127)
            as i8
    }

    fn dense(&self, x: &[i8]) -> Vec<i8> {
        (0..self.channels)
            .map(|c| {
                let acc: i32 = (0..self.k)
                    .map(|i| (i32::from(x[i]) - self.zx) * self.w[c * self.k + i])
                    .sum();
                self.out(c, acc)
            })
            .collect()
    }

    /// A direct convolution, HWC, with zero padding `(pt, pl)` skipped (the real 0).
    #[allow(clippy::too_many_arguments)]
    fn conv(
        &self,
        x: &[i8],
        (h, w, cin): (usize, usize, usize),
        (kh, kw): (usize, usize),
        (sh, sw): (usize, usize),
        (pt, pl): (isize, isize),
        (oh, ow): (usize, usize),
    ) -> Vec<i8> {
        let mut y = vec![];
        for r in 0..oh {
            for q in 0..ow {
                for c in 0..self.channels {
                    let mut acc = 0;
                    for a in 0..kh {
                        for b in 0..kw {
                            let (ir, iq) = ((r * sh + a) as isize - pt, (q * sw + b) as isize - pl);
                            if ir < 0 || iq < 0 || ir >= h as isize || iq >= w as isize {
                                continue;
                            }
                            for ci in 0..cin {
                                let xv = i32::from(x[(ir as usize * w + iq as usize) * cin + ci])
                                    - self.zx;
                                acc += xv * self.w[c * self.k + (a * kw + b) * cin + ci];
                            }
                        }
                    }
                    y.push(self.out(c, acc));
                }
            }
        }
        y
    }
}

/// 2x2 windows at stride 1 of an `h × w × ch` image: the maximum, or TFLite's rounded mean.
fn pool(x: &[i8], (h, w, ch): (usize, usize, usize), max: bool) -> Vec<i8> {
    let mut y = vec![];
    for r in 0..h - 1 {
        for q in 0..w - 1 {
            for c in 0..ch {
                let v = [(0, 0), (0, 1), (1, 0), (1, 1)]
                    .map(|(a, b)| i32::from(x[((r + a) * w + q + b) * ch + c]));
                y.push(if max {
                    *v.iter().max().unwrap() as i8
                } else {
                    div_round(i128::from(v.iter().sum::<i32>()), 4) as i8
                });
            }
        }
    }
    y
}

/// The fixed-point requantization against the exact rational reference, on random
/// accumulators and multipliers and on every tie of the two roundings (half away from zero,
/// both signs).
#[test]
fn requantization_matches_the_exact_reference_including_ties() {
    let mut rng = Rng::new(11);
    let check = |x: i32, m: i32, e: i32| {
        assert_eq!(
            nn::quant::multiply_by_quantized_multiplier(x, m, e),
            requantize(x, m, e),
            "{x} {m} {e}"
        );
    };
    for _ in 0..200_000 {
        let m = (1 << 30) + (rng.uniform(0.0, 1.0) * (1u32 << 30) as f32) as i32;
        let e = (rng.uniform(-20.0, 2.0)) as i32;
        let x = (rng.uniform(-1.0, 1.0) * 2e6) as i32;
        check(x, m, e);
    }
    // Ties: with m = 2^30 (M = 1/2 · 2^e) the product is exactly x / 2^(1 - e).
    for x in -4096..=4096 {
        for e in [-8, -3, -1, 0] {
            check(x, 1 << 30, e);
        }
    }
}

#[test]
fn small_model_matches_a_plain_integer_reference_bit_for_bit() {
    let mut model = Small::new(7);
    // Non-zero biases, so that they count.
    let mut rng = Rng::new(3);
    for v in model.c_mut().bias_mut().iter_mut() {
        *v = rng.uniform(-0.3, 0.3);
    }
    for v in model.a_mut().bias_mut().iter_mut() {
        *v = rng.uniform(-0.3, 0.3);
    }
    let calibration = samples(200, Small::INPUT, 1);
    let int8 = model.quantize(&calibration).unwrap();
    assert_eq!(int8.bytes().len(), SmallInt8::PARAM_BYTES);
    let at = |i: usize| &int8.bytes()[SmallInt8::BLOCKS[..i].iter().sum::<usize>()..];

    // Layer geometry: a: 9x9x2 -> 5x5x4 ('same', stride 2: 4 rows to pad, 1 before);
    // max pool -> 4x4x4; b: 3x3x3; avg pool -> 2x2x3; 12; 5; 3.
    let a = reference_affine(model.a().params, 18, 4, true, at(0));
    let b = reference_affine(model.b().params, 16, 3, false, at(2));
    let c = reference_affine(model.c().params, 12, 5, true, at(5));
    let d = reference_affine(model.d().params, 5, 3, false, at(6));
    // Same-scale layers: their headers carry the scale of what they receive.
    for (i, from) in [(1, 0), (3, 2), (4, 2)] {
        assert_eq!(
            at(i)[..16],
            at(i)[..8].repeat(2)[..],
            "layer {i} keeps its scale"
        );
        assert_eq!(
            at(i)[..8],
            at(from)[8..16],
            "layer {i} gets layer {from}'s output"
        );
    }
    let (sx, zx) = (le_f32(at(0), 0), le_i32(at(0), 4));

    let test = samples(100, Small::INPUT, 2);
    let mut scratch = [0i8; SmallInt8::SCRATCH];
    for x in test.chunks_exact(Small::INPUT) {
        let q: Vec<i8> = x
            .iter()
            .map(|&v| {
                (i32::from(zx as i8) + (f64::from(v) / f64::from(sx)).round() as i32)
                    .clamp(-128, 127) as i8
            })
            .collect();
        let h = a.conv(&q, (9, 9, 2), (3, 3), (2, 2), (1, 1), (5, 5));
        let h = pool(&h, (5, 5, 4), true);
        let h = b.conv(&h, (4, 4, 4), (2, 2), (1, 1), (0, 0), (3, 3));
        let h = pool(&h, (3, 3, 3), false);
        let h = c.dense(&h);
        let want = d.dense(&h);
        let got = int8.forward_into(q.as_slice().try_into().unwrap(), &mut scratch);
        assert_eq!(got, &want[..]);
    }
}

#[test]
fn calibration_takes_each_tensors_range_including_zero() {
    let model = Small::new(2);
    let x = samples(50, Small::INPUT, 5);
    let int8 = model.quantize(&x).unwrap();
    let (min, max) = x
        .iter()
        .fold((0.0f32, 0.0f32), |(a, b), &v| (a.min(v), b.max(v)));
    let q = int8.input_params();
    assert!((q.scale - (max - min) / 255.0).abs() < 1e-7, "{q:?}");
    assert_eq!(q.zero_point, (-128.0 - min / q.scale).round() as i32);
    // The first convolution's output: ReLU, so from 0; its maximum over the samples.
    let mut top = 0.0f32;
    for s in x.chunks_exact(Small::INPUT) {
        let mut y = vec![0.0; 100];
        model
            .a()
            .infer(nn::layers::Io::Separate { x: s, y: &mut y }, &mut []);
        top = y.iter().fold(top, |m, &v| m.max(v));
    }
    let out = nn::quant::Header::read(&int8.bytes()[..16]).output;
    assert_eq!(out.zero_point, -128);
    assert!(
        (out.scale - top / 255.0).abs() <= 1e-6 * top,
        "{out:?} vs {top}"
    );
}

#[test]
fn batch_norm_is_folded_and_relu_clamps() {
    let mut model = Normed::new(3);
    let mut rng = Rng::new(8);
    for v in model.bn_mut().params.iter_mut() {
        *v = rng.uniform(0.5, 1.5);
    }
    // Running means and variances far from 0 and 1.
    for (i, v) in model.bn_mut().state.iter_mut().enumerate() {
        *v = if i < 8 {
            rng.uniform(-2.0, 2.0)
        } else {
            rng.uniform(0.2, 3.0)
        };
    }
    let x = samples(300, 6, 4);
    let int8 = model.quantize(&x).unwrap();
    // The batch norm's block is a header only; it is the identity in int8.
    assert_eq!(NormedInt8::BLOCKS[1], 16);
    let scale = int8.output_params().scale;
    let mut worst = 0.0f32;
    for s in x.chunks_exact(6).take(100) {
        let v = nn::Vector::<6>::from_column_slice(s);
        let (f, q) = (model.forward(&v), int8.forward(&v));
        worst = worst.max((f - q).abs().max());
    }
    // A few output steps: the quantization of 6 inputs, 8 weights per channel and two
    // requantizations. Not folding (or folding wrongly) is off by whole units.
    assert!(worst < 4.0 * scale, "worst {worst}, step {scale}");
}

#[test]
fn activations_not_covered_inside_a_model_are_named() {
    let e = Hidden::new(1)
        .quantize(&samples(10, 4, 1))
        .unwrap_err()
        .to_string();
    assert!(e.contains("layer `a`") && e.contains("tanh"), "{e}");
    let e = Hidden::new(1).quantize(&[]).unwrap_err().to_string();
    assert!(e.contains("empty"), "{e}");
    let e = Hidden::new(1).quantize(&[1.0; 5]).unwrap_err().to_string();
    assert!(e.contains('4') && e.contains('5'), "{e}");
    let e = Hidden::new(1)
        .quantize(&[f32::NAN; 4])
        .unwrap_err()
        .to_string();
    assert!(
        e.to_lowercase().contains("nan") || e.contains("finite"),
        "{e}"
    );
}

// ---- files ----

#[test]
fn saved_models_load_exactly_and_bad_files_are_named() {
    let model = Small::new(4);
    let int8 = model.quantize(&samples(40, Small::INPUT, 3)).unwrap();
    let dir = std::env::temp_dir().join(format!("nn-int8-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("small.int8");
    int8.save(&path).unwrap();
    let back = SmallInt8::load(&path).unwrap();
    assert_eq!(back.bytes(), int8.bytes());
    assert_eq!(back.input_params(), int8.input_params());
    let x = nn::Vector::<{ Small::INPUT }>::from_column_slice(&samples(1, Small::INPUT, 9));
    assert_eq!(back.forward(&x), int8.forward(&x));

    let file = std::fs::read(&path).unwrap();
    let error = |bytes: &[u8]| {
        SmallInt8::from_file_bytes(bytes, "f")
            .unwrap_err()
            .to_string()
    };
    assert!(error(&file[..file.len() - 1]).contains("truncated"));
    assert!(error(&file[..5]).contains("not an int8 model file"));
    let mut corrupt = file.clone();
    corrupt[100] ^= 0x10;
    assert!(error(&corrupt).contains("corrupt"));
    let other = Normed::new(1)
        .quantize(&samples(5, 6, 1))
        .unwrap()
        .to_file_bytes();
    assert!(error(&other).contains("another model"), "{}", error(&other));
    // A consistent file (checksum recomputed) with a zero point out of range in layer `b`.
    let mut bytes = int8.bytes().to_vec();
    let b = SmallInt8::BLOCKS[..2].iter().sum::<usize>();
    bytes[b + 12..b + 16].copy_from_slice(&300i32.to_le_bytes());
    let bad = nn::quant::file::encode(&bytes);
    let e = error(&bad);
    assert!(e.contains("layer `b`") && e.contains("zero point"), "{e}");
    // A missing file names its path.
    let e = SmallInt8::load(dir.join("missing.int8"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing.int8"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn footprints_are_the_real_sizes_and_a_quarter_of_f32() {
    // Weights, one byte each, plus per channel: bias, weight scale, multiplier, shift (16
    // bytes), per affine layer 24 bytes of header and bounds, 16 for every other layer.
    assert_eq!(
        MnistMlpInt8::PARAM_BYTES,
        16 + (24 + 784 * 128 + 16 * 128) + (24 + 128 * 10 + 16 * 10)
    );
    const { assert!(MnistMlpInt8::PARAM_BYTES * 100 <= MnistMlp::PARAM_BYTES * 27) };
    const { assert!(MnistCnnInt8::PARAM_BYTES * 100 <= MnistCnn::PARAM_BYTES * 27) };
    // Scratch: the same layer pairs as f32, one byte per value.
    assert_eq!(MnistMlpInt8::SCRATCH_BYTES, MnistMlp::SCRATCH);
    assert_eq!(MnistCnnInt8::SCRATCH_BYTES, MnistCnn::SCRATCH);
}

// ---- MNIST ----

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist");

struct Data {
    train_x: Vec<f32>,
    test_x: Vec<f32>,
    test_y: Vec<f32>,
}

fn mnist() -> &'static Data {
    static DATA_SET: OnceLock<Data> = OnceLock::new();
    DATA_SET.get_or_init(|| {
        let m = Mnist::load(DATA).unwrap_or_else(|e| panic!("cannot load MNIST from {DATA}: {e}"));
        Data {
            train_x: m.train_x(),
            test_x: m.test_x(),
            test_y: m.test_y(),
        }
    })
}

fn argmax(v: &[f32]) -> usize {
    (0..v.len()).fold(0, |best, i| if v[i] > v[best] { i } else { best })
}

/// On the first `n` MNIST test digits: how many the f32 classifier gets right, how many the
/// int8 one gets right, and on how many they agree.
fn right_and_agreeing(
    n: usize,
    f32_class: impl Fn(&nn::Vector<784>) -> usize,
    int8_class: impl Fn(&nn::Vector<784>) -> usize,
) -> (usize, usize, usize) {
    let d = mnist();
    let (mut f32_right, mut int8_right, mut agree) = (0, 0, 0);
    for (x, &y) in d.test_x.chunks_exact(784).zip(&d.test_y).take(n) {
        let v = nn::Vector::<784>::from_column_slice(x);
        let (a, b) = (f32_class(&v), int8_class(&v));
        f32_right += usize::from(a == y as usize);
        int8_right += usize::from(b == y as usize);
        agree += usize::from(a == b);
    }
    (f32_right, int8_right, agree)
}

/// The trained MLP of `examples/freestanding` (baked weights), quantized on 300 training
/// digits, on the first 1,000 test digits: int8 agrees with f32 on nearly every digit and
/// loses at most half a point of accuracy. Wrong scales or rounding collapse it (a wrong
/// zero point alone drops it to chance).
#[test]
fn int8_mlp_keeps_the_f32_accuracy_on_mnist() {
    static WEIGHTS: [f32; MnistMlp::PARAMS] = nn::bake::f32_array(include_bytes!(
        "../examples/freestanding/data/mnist_mlp.bin"
    ));
    let model = MnistMlp::from_static(&WEIGHTS);
    let d = mnist();
    let int8 = model.quantize(&d.train_x[..300 * 784]).unwrap();
    let n = 1000;
    let (f32_right, int8_right, agree) = right_and_agreeing(
        n,
        |v| argmax(model.forward(v).as_slice()),
        |v| argmax(int8.forward(v).as_slice()),
    );
    assert!(f32_right > 950, "the f32 model: {f32_right}/{n}");
    assert!(
        int8_right + 5 >= f32_right,
        "int8 {int8_right}/{n}, f32 {f32_right}/{n}"
    );
    assert!(agree >= 990, "int8 and f32 agree on {agree}/{n}");
}

// ---- the freestanding int8 build ----

/// The int8 MLP baked into `examples/freestanding`'s int8 build (`quantize_mnist --save-raw
/// examples/freestanding/data/mnist_mlp_int8.bin`).
static BAKED_INT8: MnistMlpInt8 = MnistMlpInt8::from_static(include_bytes!(
    "../examples/freestanding/data/mnist_mlp_int8.bin"
));
static BAKED_F32: [f32; MnistMlp::PARAMS] = nn::bake::f32_array(include_bytes!(
    "../examples/freestanding/data/mnist_mlp.bin"
));

/// The freestanding int8 program's output (`cargo run --release --features int8` in
/// `examples/freestanding`, which CI compares with the same file), computed by the std
/// build through the f32 interface: pixels quantized, int8 inference, the logits dequantized
/// and the softmax in f32.
#[test]
fn std_int8_build_gives_the_freestanding_int8_programs_output() {
    let digits: &[u8] = include_bytes!("../examples/freestanding/data/digits.bin");
    let labels: &[u8] = include_bytes!("../examples/freestanding/data/labels.bin");
    let mut out = String::new();
    let mut correct = 0;
    for (i, (digit, &label)) in digits.chunks_exact(784).zip(labels).enumerate() {
        let x = nn::Vector::<784>::from_iterator(digit.iter().map(|&b| f32::from(b) / 255.0));
        let predicted = argmax(BAKED_INT8.forward(&x).as_slice());
        correct += usize::from(predicted == usize::from(label));
        out += &format!("digit {i:>2}: predicted {predicted}, label {label}\n");
    }
    out += &format!("correct={correct}/100\n");
    assert_eq!(
        out,
        include_str!("../examples/freestanding/expected_int8.txt")
    );
}

/// The baked int8 bytes are the quantization of the baked f32 model on the first 300
/// training digits (what `quantize_mnist` does), bit for bit.
#[test]
fn the_baked_int8_model_is_the_baked_f32_model_quantized() {
    let model = MnistMlp::from_static(&BAKED_F32);
    let int8 = model.quantize(&mnist().train_x[..300 * 784]).unwrap();
    assert!(int8.bytes() == BAKED_INT8.bytes());
}

/// The CNN of `mnist_cnn` (`--epochs 10 --threads 1`, seed 1; 0.9868 on the full test set),
/// quantized on 300 training digits, on the first 500 test digits: the same guard as the
/// MLP's. A wrong scale, rounding or padding rule in the convolutions breaks it.
#[test]
fn int8_cnn_keeps_the_f32_accuracy_on_mnist() {
    static WEIGHTS: [f32; MnistCnn::PARAMS] =
        nn::bake::f32_array(include_bytes!("data/mnist_cnn_trained.bin"));
    let model = MnistCnn::from_static(&WEIGHTS);
    let d = mnist();
    let int8 = model.quantize(&d.train_x[..300 * 784]).unwrap();
    let n = 500;
    let (f32_right, int8_right, agree) = right_and_agreeing(
        n,
        |v| argmax(model.forward(v).as_slice()),
        |v| argmax(int8.forward(v).as_slice()),
    );
    assert!(f32_right > 480, "the f32 model: {f32_right}/{n}");
    assert!(
        int8_right + 3 >= f32_right,
        "int8 {int8_right}/{n}, f32 {f32_right}/{n}"
    );
    assert!(agree >= 494, "int8 and f32 agree on {agree}/{n}");
}
