//! Weight files interoperate with PyTorch: `tests/data/mnist_mlp.safetensors` was saved by
//! PyTorch from `nn.Sequential(Flatten, Linear(784, 128), ReLU, Linear(128, 10))` (tensor
//! names renamed to `hidden.*` and `output.*`), and `tests/data/mnist_mlp_expected.json`
//! holds three inputs and PyTorch's logits and softmax probabilities for them; the model is
//! the examples' `MnistMlp`, whose batched passes stop at the logits and whose `forward`
//! applies the softmax. Also a round trip through a file with a
//! `model!` network.
#![cfg(feature = "std")]

#[path = "../examples/support/models.rs"]
mod models;
use models::MnistMlp;
use std::path::{Path, PathBuf};

use nn::prelude::*;

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
    let expected: Vec<(String, Vec<usize>)> = MnistMlp::tensors()
        .iter()
        .map(|t| (t.name.clone(), t.shape().to_vec()))
        .collect();
    assert_eq!(st, expected);
}

/// Names and shapes of a safetensors file, in `MnistMlp::tensors()` order, read from the
/// header with `serde_json` (independently of `nn::weights`).
fn safetensors_names_and_shapes(bytes: &[u8]) -> Vec<(String, Vec<usize>)> {
    let n = usize::try_from(u64::from_le_bytes(bytes[..8].try_into().unwrap())).unwrap();
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    MnistMlp::tensors()
        .iter()
        .map(|t| {
            let info = &header[t.name.as_str()];
            assert_eq!(info["dtype"], "F32", "{}", t.name);
            let shape = info["shape"]
                .as_array()
                .unwrap_or_else(|| panic!("no tensor `{}` in the file", t.name))
                .iter()
                .map(|d| usize::try_from(d.as_u64().unwrap()).unwrap())
                .collect();
            (t.name.clone(), shape)
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
    let (_, probs) = tensor(&json, "probs");
    assert_eq!(x_shape[1..], [MnistMlp::INPUT]);
    assert_eq!(logits_shape[1..], [MnistMlp::OUTPUT]);
    assert_eq!(x_shape[0], logits_shape[0]);
    assert!(x_shape[0] >= 3);

    let rows = x.chunks_exact(MnistMlp::INPUT);
    for (s, (input, expected)) in rows.zip(probs.chunks_exact(MnistMlp::OUTPUT)).enumerate() {
        let got = model.forward(&nn::Vector::<784>::from_column_slice(input));
        for (k, (&g, &e)) in got.iter().zip(expected).enumerate() {
            assert!(
                (g - e).abs() <= ATOL + RTOL * e.abs(),
                "sample {s}, probability {k}: got {g}, PyTorch {e}"
            );
        }
    }

    // The batched pass gives the same logits.
    let mut tape = nn::tape::Tape::new();
    let batch = model.forward_batch(&mut tape, &x, x_shape[0], nn::layers::Pass::Eval);
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

// Convolutional models saved by PyTorch. PyTorch flattens a feature map channel-first (CHW),
// `nn` channels last (HWC), so the input axis of a dense weight after `Flatten` is permuted
// on the way in and out; `x` in the fixtures holds each image channels-last.

nn::model! {
    /// `flatten_chw`: a 3×2×3 map flattened into `Linear(18, 4)`.
    pub struct FlattenChw {
        input: [5, 4, 2],
        conv: Conv2D(3, 3x3),
        Flatten,
        fc: Dense(4),
    }
}

nn::model! {
    /// `cnn_flatten_5x5`: a 5×5×64 map flattened into `Linear(1600, 64)`.
    pub struct CnnFlatten5x5 {
        input: [28, 28, 1],
        conv1: Conv2D(32, 3x3, relu),
        MaxPool2D(2),
        conv2: Conv2D(64, 3x3, relu),
        MaxPool2D(2),
        Flatten,
        hidden: Dense(64, relu),
        output: Dense(10),
    }
}

nn::model! {
    /// `mnist_cnn`: Keras' MNIST CNN with logits out (its last map is 1×1×64).
    pub struct MnistCnnLogits {
        input: [28, 28, 1],
        conv1: Conv2D(32, 3x3, relu),
        MaxPool2D(2),
        conv2: Conv2D(64, 3x3, relu),
        MaxPool2D(2),
        conv3: Conv2D(64, 3x3, relu),
        MaxPool2D(2),
        Flatten,
        hidden: Dense(64, relu),
        output: Dense(10),
    }
}

/// Loads `<name>.safetensors` into `M` and checks its batched logits against PyTorch's in
/// `<name>_expected.json`; returns the model.
fn pytorch_cnn_gives_pytorch_logits<M: Model>(name: &str) -> M {
    let mut model = M::init(0);
    model
        .load_weights(data(&format!("{name}.safetensors")))
        .unwrap();
    let text = std::fs::read_to_string(data(&format!("{name}_expected.json"))).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let (x_shape, x) = tensor(&json, "x");
    let (logits_shape, logits) = tensor(&json, "logits");
    assert_eq!(x_shape[1..], [M::INPUT]);
    assert_eq!(logits_shape[1..], [M::OUTPUT]);
    let mut tape = nn::tape::Tape::new();
    let got = model.forward_batch(&mut tape, &x, x_shape[0], nn::layers::Pass::Eval);
    for (k, (&g, &e)) in got.iter().zip(&logits).enumerate() {
        assert!(
            (g - e).abs() <= ATOL + RTOL * e.abs(),
            "{name}: sample {}, logit {}: got {g}, PyTorch {e}",
            k / M::OUTPUT,
            k % M::OUTPUT
        );
    }
    model
}

/// Every tensor of a safetensors file (F32 only), read straight from its bytes with
/// `serde_json` for the header, independently of `nn::weights`.
fn safetensors_tensors(bytes: &[u8]) -> std::collections::BTreeMap<String, (Vec<usize>, Vec<f32>)> {
    let n = usize::try_from(u64::from_le_bytes(bytes[..8].try_into().unwrap())).unwrap();
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let data = &bytes[8 + n..];
    header
        .as_object()
        .unwrap()
        .iter()
        .filter(|(name, _)| *name != "__metadata__")
        .map(|(name, info)| {
            assert_eq!(info["dtype"], "F32", "{name}");
            let dims = |v: &serde_json::Value| -> Vec<usize> {
                v.as_array()
                    .unwrap()
                    .iter()
                    .map(|d| usize::try_from(d.as_u64().unwrap()).unwrap())
                    .collect()
            };
            let (shape, range) = (dims(&info["shape"]), dims(&info["data_offsets"]));
            let values = data[range[0]..range[1]]
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                .collect();
            (name.clone(), (shape, values))
        })
        .collect()
}

/// Saving the model loaded from PyTorch's file writes PyTorch's tensors back, bit for bit.
fn round_trip_is_exact<M: Model>(model: &M, name: &str) {
    let original = std::fs::read(data(&format!("{name}.safetensors"))).unwrap();
    let dir = std::env::temp_dir().join(format!("nn-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("saved.safetensors");
    model.save_weights(&path).unwrap();
    let saved = std::fs::read(&path).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let (ours, theirs) = (safetensors_tensors(&saved), safetensors_tensors(&original));
    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        theirs.keys().collect::<Vec<_>>()
    );
    for (tensor, (shape, values)) in &theirs {
        assert_eq!(&ours[tensor].0, shape, "{name}: shape of `{tensor}`");
        let same = ours[tensor]
            .1
            .iter()
            .zip(values)
            .all(|(a, b)| a.to_bits() == b.to_bits());
        assert!(
            same,
            "{name}: values of `{tensor}` changed in the round trip"
        );
    }
}

#[test]
fn pytorch_cnn_with_a_flatten_of_a_3x2x3_map_gives_pytorch_logits() {
    let model = pytorch_cnn_gives_pytorch_logits::<FlattenChw>("flatten_chw");
    round_trip_is_exact(&model, "flatten_chw");
}

#[test]
fn pytorch_cnn_with_a_flatten_of_a_5x5x64_map_gives_pytorch_logits() {
    let model = pytorch_cnn_gives_pytorch_logits::<CnnFlatten5x5>("cnn_flatten_5x5");
    round_trip_is_exact(&model, "cnn_flatten_5x5");
}

#[test]
fn pytorch_mnist_cnn_gives_pytorch_logits() {
    let model = pytorch_cnn_gives_pytorch_logits::<MnistCnnLogits>("mnist_cnn");
    round_trip_is_exact(&model, "mnist_cnn");
}

/// The dense weight after `Flatten` of an image is described to weight files as PyTorch's
/// `[out, channels * height * width]`, whose columns are channel-first, while memory holds
/// `[height][width][channels][out]`.
#[test]
fn dense_after_flatten_of_an_image_has_a_channel_first_file_layout() {
    use nn::layers::InputOrder;
    let tensors = FlattenChw::tensors();
    let fc = tensors.iter().find(|t| t.name == "fc.weight").unwrap();
    assert_eq!(fc.shape(), [4, 18]);
    assert_eq!(fc.input_order, InputOrder::ChannelsLast { channels: 3 });
    // File element (o, c, h, w) sits at memory ((h * 2 + w) * 3 + c) * 4 + o.
    let mut seen = [false; 72];
    fc.for_each_index(|file, mem| {
        let (o, c, h, w) = (file / 18, file / 6 % 3, file / 2 % 3, file % 2);
        assert_eq!(mem, ((h * 2 + w) * 3 + c) * 4 + o);
        seen[mem] = true;
    });
    assert!(seen.iter().all(|&s| s));
    // An MLP on a one-channel image keeps PyTorch's order.
    assert!(MnistMlp::tensors()
        .iter()
        .all(|t| t.input_order == InputOrder::Rows));

    // Batch normalisation after the `Flatten` (as `BatchNorm1d` in PyTorch) indexes the same
    // channel-first vector, and so does the dense layer after it; not the next dense layer.
    nn::model! {
        struct Normed { input: [3, 2, 4], Flatten, Dropout(0.1), norm: BatchNorm, fc: Dense(5), out: Dense(2) }
    }
    let orders: Vec<(String, InputOrder)> = Normed::tensors()
        .into_iter()
        .map(|t| (t.name, t.input_order))
        .collect();
    let last = InputOrder::ChannelsLast { channels: 4 };
    assert_eq!(
        orders,
        [
            ("norm.weight".to_owned(), last),
            ("norm.bias".to_owned(), last),
            ("norm.running_mean".to_owned(), last),
            ("norm.running_var".to_owned(), last),
            ("fc.weight".to_owned(), last),
            ("fc.bias".to_owned(), last),
            ("out.weight".to_owned(), InputOrder::Rows),
            ("out.bias".to_owned(), InputOrder::Rows),
        ]
    );
    // The running mean of channel c at position p is file index c * 6 + p.
    let mean = Normed::tensors()
        .into_iter()
        .find(|t| t.name == "norm.running_mean")
        .unwrap();
    let mut memory = [0; 24];
    mean.for_each_index(|file, mem| memory[file] = mem);
    assert_eq!(memory[..7], [0, 4, 8, 12, 16, 20, 1]);
}

// Sequence models saved by PyTorch (`tests/data/gen_sequence_models.py`). PyTorch's `Conv1d`
// takes and gives `[C, L]` maps, so its `Flatten` of a convolution's or pooling layer's
// output is channel-first and the dense weight after it is permuted in files, as for images;
// a sequence that PyTorch holds `[L, C]` as `nn` does (an embedding's output, a linear
// layer's per step, the input) flattens in the same order and is not.

nn::model! {
    /// `seq_tokens`: embedding, convolution, pooling, `Flatten` of a `[7, 5]` map.
    pub struct SeqTokens {
        input: 16,
        embedding: Embedding(30, 6),
        conv: Conv1D(5, 3, relu),
        MaxPool1D(2),
        Flatten,
        fc: Dense(4),
    }
}

nn::model! {
    /// `seq_series`: a dense layer per step, 'same' and strided convolutions, pools.
    pub struct SeqSeries {
        input: [12, 3],
        step: Dense(8, tanh),
        conv: Conv1D(6, 5, relu, padding = same),
        AvgPool1D(2),
        conv2: Conv1D(4, 3, strides = 2),
        GlobalMaxPool1D,
        out: Dense(2),
    }
}

nn::model! {
    /// `seq_flat`: `Flatten` of a dense layer's per-step output.
    pub struct SeqFlat {
        input: [8, 3],
        step: Dense(4, tanh),
        Flatten,
        out: Dense(2),
    }
}

#[test]
fn pytorch_sequence_models_give_pytorch_logits() {
    let tokens = pytorch_cnn_gives_pytorch_logits::<SeqTokens>("seq_tokens");
    round_trip_is_exact(&tokens, "seq_tokens");
    let series = pytorch_cnn_gives_pytorch_logits::<SeqSeries>("seq_series");
    round_trip_is_exact(&series, "seq_series");
    let flat = pytorch_cnn_gives_pytorch_logits::<SeqFlat>("seq_flat");
    round_trip_is_exact(&flat, "seq_flat");

    // Single-sample inference gives the same logits.
    let text = std::fs::read_to_string(data("seq_tokens_expected.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let (_, x) = tensor(&json, "x");
    let (_, logits) = tensor(&json, "logits");
    for (ids, expected) in x.chunks_exact(16).zip(logits.chunks_exact(4)) {
        let got = tokens
            .try_forward(&nn::Vector::<16>::from_column_slice(ids))
            .unwrap();
        for (&g, &e) in got.iter().zip(expected) {
            assert!((g - e).abs() <= ATOL + RTOL * e.abs(), "{g} vs {e}");
        }
    }
}

/// Which sequence weights are permuted in files: the dense weight after `Flatten` of a
/// convolution's output, not after `Flatten` of a per-step dense layer's; a 1-D
/// convolution's weight is PyTorch's `[out, in, k]`, an embedding's `[ids, dim]`.
#[test]
fn sequence_weights_have_pytorch_shapes_and_orders() {
    use nn::layers::InputOrder;
    let shapes = |tensors: Vec<nn::model::TensorInfo>| -> Vec<(String, Vec<usize>, InputOrder)> {
        tensors
            .into_iter()
            .map(|t| (t.name.clone(), t.shape().to_vec(), t.input_order))
            .collect()
    };
    let rows = InputOrder::Rows;
    assert_eq!(
        shapes(SeqTokens::tensors()),
        [
            ("embedding.weight".to_owned(), vec![30, 6], rows),
            ("conv.weight".to_owned(), vec![5, 6, 3], rows),
            ("conv.bias".to_owned(), vec![5], rows),
            (
                "fc.weight".to_owned(),
                vec![4, 35],
                InputOrder::ChannelsLast { channels: 5 }
            ),
            (
                "fc.bias".to_owned(),
                vec![4],
                InputOrder::ChannelsLast { channels: 5 }
            ),
        ]
    );
    assert!(SeqFlat::tensors().iter().all(|t| t.input_order == rows));
    // PyTorch's fc.weight[o, c * 7 + l] is memory ((l * 5 + c) * 4 + o).
    let fc = SeqTokens::tensors()
        .into_iter()
        .find(|t| t.name == "fc.weight")
        .unwrap();
    fc.for_each_index(|file, mem| {
        let (o, c, l) = (file / 35, file % 35 / 7, file % 7);
        assert_eq!(mem, (l * 5 + c) * 4 + o);
    });
}
