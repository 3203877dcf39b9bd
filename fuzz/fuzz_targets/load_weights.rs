//! Arbitrary bytes into the safetensors loader: it must return an error or load finite
//! weights, never panic, and leave the model untouched on error.
//!
//! `cargo +nightly fuzz run load_weights fuzz/corpus/load_weights` (from the repository root).
#![no_main]

use libfuzzer_sys::fuzz_target;
use nn::model::Model;

nn::model! {
    /// A small model with two dense layers (four tensors).
    pub struct Small {
        input: 4,
        hidden: Dense(3, relu),
        output: Dense(2),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut model = Small::new(0);
    let before = model.params().to_vec();
    match nn::weights::load_bytes(&mut model, data, "fuzz input") {
        Ok(()) => assert!(model.params().iter().all(|v| v.is_finite())),
        Err(e) => {
            assert_eq!(model.params(), &before[..], "a failed load changed the model");
            assert!(!e.to_string().is_empty());
        }
    }
});
