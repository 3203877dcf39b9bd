//! Weight files interoperate with PyTorch: `tests/data/mnist_mlp.safetensors` was saved by
//! PyTorch from `nn.Sequential(Flatten, Linear(784, 128), ReLU, Linear(128, 10))` (tensor
//! names renamed to `hidden.*` and `output.*`), and `tests/data/mnist_mlp_expected.json`
//! holds three inputs and PyTorch's logits for them. Also a round trip through a file with a
//! `model!` network.
#![cfg(feature = "std")]

use std::path::{Path, PathBuf};

use nn::prelude::*;

nn::model! {
    /// The MLP of the PyTorch fixture.
    #[derive(Clone, Debug)]
    pub struct MnistMlp {
        input: [28, 28],
        Flatten,
        hidden: Dense(128, relu),
        output: Dense(10),
    }
}

/// f32 inference against PyTorch's f32 logits.
const RTOL: f32 = 1e-5;
const ATOL: f32 = 1e-5;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// A tensor of the expected-values JSON: (shape, row-major values).
fn tensor(json: &serde_json::Value, name: &str) -> (Vec<usize>, Vec<f32>) {
    let t = &json["tensors"][name];
    let shape = t["shape"]
        .as_array()
        .unwrap_or_else(|| panic!("`{name}` has a shape"))
        .iter()
        .map(|d| usize::try_from(d.as_u64().unwrap()).unwrap())
        .collect();
    #[allow(clippy::cast_possible_truncation)]
    let values = t["data"]
        .as_array()
        .unwrap_or_else(|| panic!("`{name}` has data"))
        .iter()
        .map(|v| v.as_f64().unwrap() as f32)
        .collect();
    (shape, values)
}

#[test]
fn tensor_names_and_shapes_match_the_pytorch_file() {
    let bytes = std::fs::read(data("mnist_mlp.safetensors")).unwrap();
    let st = safetensors_names_and_shapes(&bytes);
    let expected: Vec<(String, Vec<usize>)> = MnistMlp::TENSORS
        .iter()
        .map(|t| (t.name.to_owned(), t.shape.to_vec()))
        .collect();
    assert_eq!(st, expected);
}

/// Names and shapes of a safetensors file, in `MnistMlp::TENSORS` order, read from the
/// header with `serde_json` (independently of `nn::weights`).
fn safetensors_names_and_shapes(bytes: &[u8]) -> Vec<(String, Vec<usize>)> {
    let n = usize::try_from(u64::from_le_bytes(bytes[..8].try_into().unwrap())).unwrap();
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    MnistMlp::TENSORS
        .iter()
        .map(|t| {
            let info = &header[t.name];
            assert_eq!(info["dtype"], "F32", "{}", t.name);
            let shape = info["shape"]
                .as_array()
                .unwrap_or_else(|| panic!("no tensor `{}` in the file", t.name))
                .iter()
                .map(|d| usize::try_from(d.as_u64().unwrap()).unwrap())
                .collect();
            (t.name.to_owned(), shape)
        })
        .collect()
}

#[test]
fn pytorch_weights_give_pytorch_logits() {
    let mut model = MnistMlp::new(0);
    nn::weights::load(&mut model, data("mnist_mlp.safetensors")).unwrap();

    let text = std::fs::read_to_string(data("mnist_mlp_expected.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let (x_shape, x) = tensor(&json, "x");
    let (logits_shape, logits) = tensor(&json, "logits");
    assert_eq!(x_shape[1..], [MnistMlp::INPUT]);
    assert_eq!(logits_shape[1..], [MnistMlp::OUTPUT]);
    assert_eq!(x_shape[0], logits_shape[0]);
    assert!(x_shape[0] >= 3);

    let rows = x.chunks_exact(MnistMlp::INPUT);
    for (s, (input, expected)) in rows.zip(logits.chunks_exact(MnistMlp::OUTPUT)).enumerate() {
        let got = model.forward(&nn::Vector::<784>::from_column_slice(input));
        for (k, (&g, &e)) in got.iter().zip(expected).enumerate() {
            assert!(
                (g - e).abs() <= ATOL + RTOL * e.abs(),
                "sample {s}, logit {k}: got {g}, PyTorch {e}"
            );
        }
    }

    // The batched pass gives the same logits.
    let mut ws = MnistMlp::workspace();
    let batch = model.forward_batch(&mut ws, &x, x_shape[0], None);
    for (k, (&g, &e)) in batch.iter().zip(&logits).enumerate() {
        assert!(
            (g - e).abs() <= ATOL + RTOL * e.abs(),
            "batched logit {k}: got {g}, PyTorch {e}"
        );
    }
}

#[test]
fn saved_file_reloads_identically_and_has_pytorch_shapes() {
    let dir = std::env::temp_dir().join(format!("nn-weights-pytorch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("mlp.safetensors");

    let model = MnistMlp::new(1);
    model.save_weights(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(
        safetensors_names_and_shapes(&bytes),
        [
            ("hidden.weight".to_owned(), vec![128, 784]),
            ("hidden.bias".to_owned(), vec![128]),
            ("output.weight".to_owned(), vec![10, 128]),
            ("output.bias".to_owned(), vec![10]),
        ]
    );

    let mut restored = MnistMlp::new(2);
    assert_ne!(restored.params(), model.params());
    restored.load_weights(&path).unwrap();
    assert_eq!(restored.params(), model.params());
    let x = nn::Vector::<784>::from_fn(|i, _| (i % 17) as f32 / 17.0);
    assert_eq!(model.forward(&x), restored.forward(&x));

    // Loading into a model of another shape fails, names the problem, changes nothing.
    nn::model! {
        struct Wider { input: [28, 28], Flatten, hidden: Dense(256, relu), output: Dense(10) }
    }
    let mut wider = Wider::new(3);
    let before = wider.params().to_vec();
    let message = wider.load_weights(&path).unwrap_err().to_string();
    assert!(
        message.contains("`hidden.weight` has shape [128, 784] but the model expects [256, 784]"),
        "{message}"
    );
    assert!(message.contains("mlp.safetensors"), "{message}");
    assert_eq!(wider.params(), before);

    std::fs::remove_dir_all(&dir).unwrap();
}
