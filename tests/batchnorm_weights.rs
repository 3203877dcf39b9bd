//! Weight files of a network with batch normalisation: its running statistics are state
//! saved beside the parameters, and a running variance below zero is a load error.
#![cfg(feature = "std")]

use std::path::PathBuf;

use nn::prelude::*;

nn::model! {
    /// Batch normalisation on features.
    pub struct Normed {
        input: 4,
        hidden: Dense(3),
        bn: BatchNorm,
        out: Dense(2, softmax),
    }
}

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("nn-bn-weights-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `bytes` of a safetensors file with element `index` of the `F32` tensor `name` set to
/// `value`; the data is located through the header's `data_offsets`.
fn with_value(mut bytes: Vec<u8>, name: &str, index: usize, value: f32) -> Vec<u8> {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    assert_eq!(header[name]["dtype"], "F32");
    let start = header[name]["data_offsets"][0].as_u64().unwrap() as usize;
    let at = 8 + n + start + 4 * index;
    bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
    bytes
}

#[test]
fn a_negative_running_variance_in_a_weight_file_is_a_load_error() {
    let dir = TempDir::new("negative-var");
    let good = dir.0.join("good.safetensors");
    Normed::new(1).save_weights(&good).unwrap();
    let bytes = std::fs::read(&good).unwrap();

    let bad = dir.0.join("bad.safetensors");
    std::fs::write(&bad, with_value(bytes.clone(), "bn.running_var", 1, -0.5)).unwrap();
    let mut model = Normed::new(2);
    let (params, state) = (model.params().to_vec(), model.state().to_vec());
    let err = model.load_weights(&bad).unwrap_err();
    assert!(matches!(err, Error::Format { .. }), "{err:?}");
    let message = err.to_string();
    for part in [
        "bad.safetensors",
        "`bn.running_var`",
        "-0.5",
        "[1]",
        "negative",
    ] {
        assert!(message.contains(part), "{part:?} not in: {message}");
    }
    assert_eq!(
        model.params(),
        params,
        "parameters changed by a failed load"
    );
    assert_eq!(model.state(), state, "state changed by a failed load");

    // A variance of exactly zero is valid (batch norm adds epsilon before the root), and a
    // negative running *mean* is an ordinary value.
    let zero = dir.0.join("zero.safetensors");
    let edited = with_value(bytes, "bn.running_var", 1, 0.0);
    std::fs::write(&zero, with_value(edited, "bn.running_mean", 0, -3.0)).unwrap();
    model.load_weights(&zero).unwrap();
    let var = Normed::tensors()
        .into_iter()
        .find(|t| t.name == "bn.running_var")
        .unwrap();
    assert_eq!(model.state()[var.offset + 1], 0.0);
}
