//! `weights::{to_bytes, save, load_bytes, load}` on a small hand-written [`Model`]: round
//! trips, the PyTorch layout of the file, dtype conversions, and one test per kind of bad
//! file, each checking the message and that a failed load leaves the model unchanged.
#![cfg(feature = "std")]

use std::path::PathBuf;

use nn_core::activations::Linear;
use nn_core::layers::{Dense, InputOrder, LayerRef, Pass};
use nn_core::model::{LayerInfo, Model};
use nn_core::rng::Rng;
use nn_core::tape::Tape;
use nn_core::weights::{load, load_bytes, save, to_bytes, WeightFiles};
use nn_core::Error;
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

mod common;
use common::TempDir;

/// Two dense layers, 2 → 3 → 2, linear, written by hand as `model!` would: weights stored
/// transposed (`[in, out]` in memory), PyTorch shapes `[out, in]` in files.
#[derive(Clone, Debug, PartialEq)]
struct Tiny {
    p: Vec<f32>,
}

const A_W: usize = 0;
const A_B: usize = 6;
const B_W: usize = 9;
const B_B: usize = 15;

/// The expected tensors, written out independently of the layers' own tables: name, offset,
/// PyTorch shape, whether memory holds the transpose.
const TABLE: [(&str, usize, &[usize], bool); 4] = [
    ("a.weight", A_W, &[3, 2], true),
    ("a.bias", A_B, &[3], false),
    ("b.weight", B_W, &[2, 3], true),
    ("b.bias", B_B, &[2], false),
];

impl Tiny {
    fn a(&self) -> LayerRef<'_, Dense<2, 3>> {
        LayerRef::new(Dense::new(Linear), &self.p[A_W..B_W], &[])
    }

    fn b(&self) -> LayerRef<'_, Dense<3, 2>> {
        LayerRef::new(Dense::new(Linear), &self.p[B_W..], &[])
    }
}

impl Model for Tiny {
    const NAME: &'static str = "Tiny";
    const INPUT_SHAPE: &'static [usize] = &[2];
    const INPUT: usize = 2;
    const OUTPUT: usize = 2;
    const PARAMS: usize = 17;
    const LAYERS: &'static [LayerInfo] = &[
        LayerInfo::of::<Dense<2, 3>>("a", A_W, 0, InputOrder::Rows),
        LayerInfo::of::<Dense<3, 2>>("b", B_W, 0, InputOrder::Rows),
    ];
    type OutputActivation = Linear;
    const OUTPUT_ACTIVATION: Linear = Linear;

    fn init(seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        Self {
            p: (0..Self::PARAMS).map(|_| rng.uniform(-1.0, 1.0)).collect(),
        }
    }

    fn params(&self) -> &[f32] {
        &self.p
    }

    fn params_mut(&mut self) -> &mut [f32] {
        &mut self.p
    }

    fn forward_batch<'t>(
        &self,
        tape: &'t mut Tape,
        x: &[f32],
        batch: usize,
        pass: Pass<'_>,
    ) -> &'t [f32] {
        let mut run = tape.forward(x, batch, &[], pass);
        run.layer(self.a());
        run.layer(self.b());
        run.finish()
    }

    fn backward_batch(
        &self,
        tape: &mut Tape,
        x: &[f32],
        d_logits: &mut [f32],
        grads: Option<&mut [f32]>,
        dx: Option<&mut [f32]>,
    ) {
        let mut run = tape.backward(x, d_logits, grads, dx);
        run.layer(self.b());
        run.layer(self.a());
    }
}

#[test]
fn the_tensor_table_is_the_expected_one() {
    let tensors = Tiny::tensors();
    let got: Vec<(&str, usize, &[usize])> = tensors
        .iter()
        .map(|t| (t.name.as_str(), t.offset, t.shape()))
        .collect();
    let want: Vec<(&str, usize, &[usize])> = TABLE.iter().map(|t| (t.0, t.1, t.2)).collect();
    assert_eq!(got, want);
}

/// A tensor to write: dtype, shape and raw little-endian bytes.
type Tensor = (Dtype, Vec<usize>, Vec<u8>);

fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn f32_tensor(shape: &[usize], values: &[f32]) -> Tensor {
    (Dtype::F32, shape.to_vec(), f32_bytes(values))
}

/// A safetensors file holding `tensors` (name, dtype, shape, raw little-endian bytes).
fn file(tensors: &[(&str, Tensor)]) -> Vec<u8> {
    let views: Vec<(&str, TensorView<'_>)> = tensors
        .iter()
        .map(|(name, (dtype, shape, data))| {
            (*name, TensorView::new(*dtype, shape.clone(), data).unwrap())
        })
        .collect();
    safetensors::serialize(views, None).unwrap()
}

/// The four tensors of `Tiny`, valid, in PyTorch layout: value `k` at row-major position `k`
/// (offset by 100 per tensor so that tensors are told apart).
fn valid_tensors() -> Vec<(&'static str, Tensor)> {
    TABLE
        .iter()
        .enumerate()
        .map(|(t, &(name, _, shape, _))| {
            let len = shape.iter().product();
            let values: Vec<f32> = (0..len).map(|k| (100 * t + k) as f32).collect();
            (name, f32_tensor(shape, &values))
        })
        .collect()
}

fn replace(
    mut tensors: Vec<(&'static str, Tensor)>,
    name: &str,
    tensor: Tensor,
) -> Vec<(&'static str, Tensor)> {
    tensors.iter_mut().find(|(n, _)| *n == name).unwrap().1 = tensor;
    tensors
}

/// Loads `bytes` into a model, expects an [`Error::Format`] naming the source and
/// containing every `needle`, and checks the model is unchanged. Returns the message.
fn rejects(bytes: &[u8], needles: &[&str]) -> String {
    let mut model = Tiny::init(7);
    let before = model.clone();
    let err = load_bytes(&mut model, bytes, "bad.safetensors").unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, Error::Format { .. }), "{err:?}");
    assert!(message.starts_with("bad.safetensors: "), "{message}");
    for needle in needles {
        assert!(message.contains(needle), "`{needle}` not in: {message}");
    }
    assert_eq!(model, before, "a failed load changed the model");
    message
}

#[test]
fn round_trip_through_a_file() {
    let dir = TempDir::new("round-trip");
    let path = dir.0.join("tiny.safetensors");
    let model = Tiny::init(1);
    model.save_weights(&path).unwrap();
    assert_eq!(
        dir.entries(),
        ["tiny.safetensors"],
        "no temporary file left behind"
    );

    let mut restored = Tiny::init(2);
    assert_ne!(restored.params(), model.params());
    restored.load_weights(&path).unwrap();
    assert_eq!(restored.params(), model.params());

    let x = [0.5, -1.25, 2.0, 0.75];
    let (mut w1, mut w2) = (Tape::new(), Tape::new());
    assert_eq!(
        model.forward_batch(&mut w1, &x, 2, Pass::Eval),
        restored.forward_batch(&mut w2, &x, 2, Pass::Eval)
    );
}

#[test]
fn file_has_pytorch_names_shapes_layout_and_metadata() {
    let model = Tiny::init(3);
    let bytes = to_bytes(&model).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let mut names = st.names();
    names.sort_unstable();
    assert_eq!(names, ["a.bias", "a.weight", "b.bias", "b.weight"]);
    let p = model.params();
    for &(name, offset, shape, transposed) in &TABLE {
        let view = st.tensor(name).unwrap();
        assert_eq!(view.dtype(), Dtype::F32);
        assert_eq!(view.shape(), shape);
        let values: Vec<f32> = view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect();
        if transposed {
            let (out, inp) = (shape[0], shape[1]);
            for o in 0..out {
                for i in 0..inp {
                    // PyTorch `[out, in]` from memory `[in, out]`.
                    assert_eq!(values[o * inp + i], p[offset + i * out + o]);
                }
            }
        } else {
            assert_eq!(values, &p[offset..offset + values.len()]);
        }
    }
    let (_, metadata) = SafeTensors::read_metadata(&bytes).unwrap();
    let metadata = metadata.metadata().as_ref().unwrap();
    assert_eq!(metadata["format"], "pt");
    assert_eq!(metadata["model"], "Tiny");
}

#[test]
fn loads_pytorch_layout_into_memory_layout() {
    let mut model = Tiny::init(0);
    load_bytes(&mut model, &file(&valid_tensors()), "t").unwrap();
    // a.weight in PyTorch is [[0, 1], [2, 3], [4, 5]] ([out = 3, in = 2]); memory is
    // [in, out] = [[0, 2, 4], [1, 3, 5]].
    assert_eq!(&model.p[A_W..A_B], &[0.0, 2.0, 4.0, 1.0, 3.0, 5.0]);
    assert_eq!(&model.p[A_B..B_W], &[100.0, 101.0, 102.0]);
    // b.weight [[200, 201, 202], [203, 204, 205]] → memory [[200, 203], [201, 204], [202, 205]].
    assert_eq!(
        &model.p[B_W..B_B],
        &[200.0, 203.0, 201.0, 204.0, 202.0, 205.0]
    );
    assert_eq!(&model.p[B_B..], &[300.0, 301.0]);
}

#[test]
fn save_replaces_an_existing_file() {
    let dir = TempDir::new("replace");
    let path = dir.0.join("w.safetensors");
    std::fs::write(&path, b"old content").unwrap();
    save(&Tiny::init(4), &path).unwrap();
    let mut model = Tiny::init(5);
    load(&mut model, &path).unwrap();
    assert_eq!(model, Tiny::init(4));
    assert_eq!(dir.entries(), ["w.safetensors"]);
}

#[test]
fn save_into_a_missing_directory_is_an_io_error() {
    let dir = TempDir::new("missing-dir");
    let path = dir.0.join("no/such/dir/w.safetensors");
    let err = save(&Tiny::init(4), &path).unwrap_err();
    assert!(
        matches!(&err, Error::Io { path: p, .. } if *p == path),
        "{err:?}"
    );
    assert!(dir.entries().is_empty());
}

#[test]
fn save_to_a_directory_is_a_clear_error_and_writes_nothing() {
    let dir = TempDir::new("is-dir");
    let target = dir.0.join("models");
    std::fs::create_dir(&target).unwrap();
    let model = Tiny::init(4);
    let paths = [
        target.clone(),
        PathBuf::from(format!("{}/", target.display())),
        target.join("."),
        // Not there yet, but a directory by its spelling.
        PathBuf::from(format!("{}/", dir.0.join("new").display())),
    ];
    for path in paths {
        for result in [
            save(&model, &path),
            nn_core::weights::save_raw(&model, &path),
        ] {
            let err = result.unwrap_err();
            let Error::Io { path: p, error } = &err else {
                panic!("{}: {err:?}", path.display());
            };
            assert_eq!(*p, path);
            assert_eq!(error.kind(), std::io::ErrorKind::IsADirectory, "{err}");
            let message = err.to_string();
            assert!(
                message.contains("directory") && message.contains("model.safetensors"),
                "{message}"
            );
            // Nothing written, neither in the directory nor next to it.
            assert_eq!(dir.entries(), ["models"], "{}", path.display());
            assert_eq!(std::fs::read_dir(&target).unwrap().count(), 0);
        }
    }
}

#[test]
fn save_rejects_non_finite_parameters() {
    let mut model = Tiny::init(4);
    model.p[B_W + 1] = f32::NAN; // memory [in 0, out 1] = PyTorch [1, 0] = flat index 3
    let err = to_bytes(&model).unwrap_err();
    assert!(
        matches!(
            err,
            Error::NonFiniteWeight {
                ref tensor,
                index: 3
            } if tensor == "b.weight"
        ),
        "{err:?}"
    );
    let dir = TempDir::new("nan");
    assert!(save(&model, dir.0.join("w.safetensors")).is_err());
    assert!(dir.entries().is_empty(), "nothing written");
}

#[test]
fn load_of_a_missing_file_is_an_io_error() {
    let mut model = Tiny::init(0);
    let err = load(&mut model, "/nonexistent/w.safetensors").unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("/nonexistent/w.safetensors"));
}

#[test]
fn load_errors_name_the_file() {
    let dir = TempDir::new("name");
    let path = dir.0.join("broken.safetensors");
    std::fs::write(&path, b"garbage").unwrap();
    let mut model = Tiny::init(0);
    let message = load(&mut model, &path).unwrap_err().to_string();
    assert!(
        message.starts_with(&path.display().to_string()),
        "{message}"
    );
}

#[test]
fn truncated_files() {
    let bytes = to_bytes(&Tiny::init(1)).unwrap();
    rejects(&[], &["0 bytes", "truncated"]);
    rejects(&bytes[..5], &["5 bytes", "truncated"]);
    // Header length intact, header cut.
    rejects(
        &bytes[..20],
        &["header length", "past the end of the file", "truncated"],
    );
    // Header intact, data cut.
    rejects(
        &bytes[..bytes.len() - 1],
        &["does not fill the file", "truncated"],
    );
    // Trailing garbage.
    let mut longer = bytes.clone();
    longer.extend_from_slice(&[0; 4]);
    rejects(&longer, &["trailing"]);
}

#[test]
fn huge_header_length() {
    let mut bytes = to_bytes(&Tiny::init(1)).unwrap();
    bytes[..8].copy_from_slice(&u64::MAX.to_le_bytes());
    rejects(&bytes, &["header length", "larger than allowed"]);
    bytes[..8].copy_from_slice(&(1u64 << 40).to_le_bytes());
    rejects(&bytes, &["header length"]);
}

#[test]
fn corrupt_header_json() {
    let mut bytes = to_bytes(&Tiny::init(1)).unwrap();
    assert_eq!(bytes[8], b'{');
    bytes[8] = b'#';
    rejects(&bytes, &["not valid safetensors JSON"]);

    let mut bytes = to_bytes(&Tiny::init(1)).unwrap();
    bytes[9] = 0xff;
    rejects(&bytes, &["not UTF-8"]);
}

/// A header written by hand: `data_offsets` beyond the 8 data bytes present.
#[test]
fn offsets_outside_the_file() {
    let header = r#"{"a.weight":{"dtype":"F32","shape":[3,2],"data_offsets":[0,24]}}"#;
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(&[0; 8]);
    rejects(&bytes, &["does not fill the file"]);

    let header = r#"{"a.weight":{"dtype":"F32","shape":[3,2],"data_offsets":[8,32]}}"#;
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(&[0; 32]);
    rejects(&bytes, &["offsets of tensor `a.weight`"]);
}

#[test]
fn missing_tensor() {
    let mut tensors = valid_tensors();
    tensors.retain(|(n, _)| *n != "b.bias");
    let message = rejects(
        &file(&tensors),
        &[
            "missing tensor(s) `b.bias`",
            "`a.weight` [3, 2]",
            "`b.bias` [2]",
        ],
    );
    assert!(!message.contains("unexpected"), "{message}");
}

#[test]
fn unexpected_tensor() {
    let mut tensors = valid_tensors();
    tensors.push(("c.weight", f32_tensor(&[1], &[0.0])));
    let message = rejects(&file(&tensors), &["unexpected tensor(s) `c.weight`"]);
    assert!(!message.contains("missing"), "{message}");
}

#[test]
fn missing_and_unexpected_together() {
    let mut tensors = valid_tensors();
    tensors[0].0 = "a.weights";
    rejects(
        &file(&tensors),
        &[
            "missing tensor(s) `a.weight`",
            "unexpected tensor(s) `a.weights`",
        ],
    );
}

#[test]
fn wrong_shape() {
    // The transposed layout has the same number of values: must still be rejected.
    let tensors = replace(valid_tensors(), "b.weight", f32_tensor(&[3, 2], &[0.0; 6]));
    rejects(
        &file(&tensors),
        &["`b.weight` has shape [3, 2] but the model expects [2, 3] (the transpose"],
    );
    let tensors = replace(valid_tensors(), "b.bias", f32_tensor(&[3], &[0.0; 3]));
    rejects(
        &file(&tensors),
        &["`b.bias` has shape [3] but the model expects [2]"],
    );
    let tensors = replace(valid_tensors(), "b.bias", f32_tensor(&[1, 2], &[0.0; 2]));
    rejects(
        &file(&tensors),
        &["`b.bias` has shape [1, 2] but the model expects [2]"],
    );
}

#[test]
fn wrong_dtype() {
    let ints: Vec<u8> = [1i32, 2].iter().flat_map(|v| v.to_le_bytes()).collect();
    let tensors = replace(valid_tensors(), "b.bias", (Dtype::I32, vec![2], ints));
    rejects(&file(&tensors), &["`b.bias` has dtype I32", "F32"]);
    let tensors = replace(valid_tensors(), "b.bias", (Dtype::U8, vec![2], vec![1, 2]));
    rejects(&file(&tensors), &["`b.bias` has dtype U8"]);
}

#[test]
fn float_dtypes_are_converted() {
    let f64s: Vec<u8> = [0.1f64, -2.5]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    // 1.5 and -0.25 in binary16 and bfloat16.
    let f16s: Vec<u8> = [0x3e00u16, 0xb400]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let bf16s: Vec<u8> = [0x3fc0u16, 0xbe80]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    for (dtype, data, expected) in [
        (Dtype::F64, f64s, [0.1f32, -2.5]),
        (Dtype::F16, f16s, [1.5, -0.25]),
        (Dtype::BF16, bf16s, [1.5, -0.25]),
    ] {
        let tensors = replace(valid_tensors(), "b.bias", (dtype, vec![2], data));
        let mut model = Tiny::init(0);
        load_bytes(&mut model, &file(&tensors), "t").unwrap();
        assert_eq!(&model.p[B_B..], &expected, "{dtype}");
    }
}

#[test]
fn f16_special_values() {
    // max, smallest subnormal, largest subnormal, smallest normal, -0, 1.
    let halves = [0x7bffu16, 0x0001, 0x03ff, 0x0400, 0x8000, 0x3c00];
    let expected = [
        65504.0f32,
        2f32.powi(-24),
        1023.0 * 2f32.powi(-24),
        2f32.powi(-14),
        -0.0,
        1.0,
    ];
    let data: Vec<u8> = halves.iter().flat_map(|v| v.to_le_bytes()).collect();
    let tensors = replace(valid_tensors(), "b.weight", (Dtype::F16, vec![2, 3], data));
    let mut model = Tiny::init(0);
    load_bytes(&mut model, &file(&tensors), "t").unwrap();
    let st = to_bytes(&model).unwrap();
    let view = SafeTensors::deserialize(&st)
        .unwrap()
        .tensor("b.weight")
        .unwrap()
        .data()
        .to_vec();
    let got: Vec<f32> = view
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    assert_eq!(got, expected);
    assert!(got[4].is_sign_negative());

    let data: Vec<u8> = [0x7c00u16, 0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let tensors = replace(valid_tensors(), "b.bias", (Dtype::F16, vec![2], data));
    rejects(
        &file(&tensors),
        &["`b.bias` holds a non-finite value inf at index [0]"],
    );
}

#[test]
fn non_finite_values() {
    let mut values = [0.0f32; 6];
    values[4] = f32::NAN;
    let tensors = replace(valid_tensors(), "b.weight", f32_tensor(&[2, 3], &values));
    rejects(
        &file(&tensors),
        &["`b.weight` holds a non-finite value NaN at index [1, 1]"],
    );

    let tensors = replace(
        valid_tensors(),
        "b.bias",
        f32_tensor(&[2], &[0.0, f32::NEG_INFINITY]),
    );
    rejects(
        &file(&tensors),
        &["`b.bias` holds a non-finite value -inf at index [1]"],
    );

    // Finite in F64, infinite in f32.
    let f64s: Vec<u8> = [1e300f64, 0.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let tensors = replace(valid_tensors(), "b.bias", (Dtype::F64, vec![2], f64s));
    rejects(
        &file(&tensors),
        &["`b.bias`", "index [0]", "out of the range of f32"],
    );
}
