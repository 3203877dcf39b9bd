//! Loads the PyTorch reference values in `tests/fixtures/pytorch/` (see its README).
#![allow(dead_code)]

use std::collections::BTreeMap;

/// One fixture file: named tensors, data flattened row-major, as f64.
pub struct Fixture {
    pub doc: String,
    pub tensors: BTreeMap<String, (Vec<usize>, Vec<f64>)>,
}

impl Fixture {
    /// Loads `tests/fixtures/pytorch/<name>.json`.
    pub fn load(name: &str) -> Self {
        let path = format!(
            "{}/tests/fixtures/pytorch/{name}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let v: serde_json::Value = serde_json::from_str(&text).expect("fixture is JSON");
        let doc = v["doc"].as_str().unwrap_or_default().to_owned();
        let tensors = v["tensors"]
            .as_object()
            .expect("tensors object")
            .iter()
            .map(|(k, t)| {
                let shape = t["shape"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| d.as_u64().unwrap() as usize)
                    .collect();
                let data = t["data"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| d.as_f64().unwrap())
                    .collect();
                (k.clone(), (shape, data))
            })
            .collect();
        Self { doc, tensors }
    }

    /// Shape of a tensor.
    pub fn shape(&self, name: &str) -> &[usize] {
        &self
            .tensors
            .get(name)
            .unwrap_or_else(|| panic!("no tensor `{name}`"))
            .0
    }

    /// A tensor's values as f32.
    pub fn f32(&self, name: &str) -> Vec<f32> {
        self.tensors
            .get(name)
            .unwrap_or_else(|| panic!("no tensor `{name}`"))
            .1
            .iter()
            .map(|&v| v as f32)
            .collect()
    }

    /// A tensor's values as f64.
    pub fn f64(&self, name: &str) -> &[f64] {
        &self
            .tensors
            .get(name)
            .unwrap_or_else(|| panic!("no tensor `{name}`"))
            .1
    }
}

/// Asserts `|a - e| <= atol + rtol * |e|` elementwise, naming the first failing index.
pub fn assert_close(what: &str, actual: &[f32], expected: &[f64], rtol: f64, atol: f64) {
    assert_eq!(actual.len(), expected.len(), "{what}: length");
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        let a = f64::from(a);
        assert!(
            a.is_finite() && (a - e).abs() <= atol + rtol * e.abs(),
            "{what}[{i}]: got {a}, expected {e}"
        );
    }
}
