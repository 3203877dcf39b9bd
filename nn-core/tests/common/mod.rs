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

// ---- Files ----

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    /// A new empty directory, unique to this process, `tag` and call.
    pub fn new(tag: &str) -> Self {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("nn-core-test-{}-{tag}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    /// Writes `bytes` to the file `name` in the directory.
    pub fn write(&self, name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// Writes `bytes` followed by `zeros` zero bytes that take no disk space (a sparse
    /// file) to the file `name`.
    pub fn write_sparse(&self, name: &str, bytes: &[u8], zeros: u64) -> std::path::PathBuf {
        use std::io::Write;
        let path = self.0.join(name);
        let mut file = std::fs::File::create(&path).unwrap();
        file.write_all(bytes).unwrap();
        file.set_len(bytes.len() as u64 + zeros).unwrap();
        path
    }

    /// The names in the directory, sorted.
    pub fn entries(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An IDX file of unsigned bytes: the header for `dims`, then `data`.
pub fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut b = vec![0, 0, 0x08, u8::try_from(dims.len()).unwrap()];
    for d in dims {
        b.extend_from_slice(&d.to_be_bytes());
    }
    b.extend_from_slice(data);
    b
}

/// `bytes`, gzip-compressed (one member).
#[cfg(feature = "std")]
pub fn gz(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// A layer's batched forward pass outside a model, in inference mode: `y` receives
/// `batch` outputs (cache and shared scratch allocated here).
pub fn forward_batch<L: nn_core::layers::Layer>(
    layer: L,
    params: &[f32],
    x: &[f32],
    y: &mut [f32],
    batch: usize,
) {
    let mut cache = vec![0.0; batch * L::CACHE];
    let mut scratch = vec![0.0; L::batch_scratch(batch)];
    let f = nn_core::layers::Forward {
        params,
        state: &mut [],
        x,
        y,
        cache: &mut cache,
        scratch: &mut scratch,
        batch,
    };
    layer.forward(f, &mut nn_core::layers::Pass::Eval);
}

/// A layer's batched backward pass outside a model, after an inference-mode forward pass on
/// `x` (run here): parameter gradients into `grads` (overwritten), the input gradient into
/// `dx` when given.
pub fn backward_batch<L: nn_core::layers::Layer>(
    layer: L,
    params: &[f32],
    x: &[f32],
    dy: &[f32],
    dx: Option<&mut [f32]>,
    grads: &mut [f32],
    batch: usize,
) {
    let mut y = vec![0.0; batch * L::OUTPUT];
    let mut cache = vec![0.0; batch * L::CACHE];
    let mut scratch = vec![0.0; L::batch_scratch(batch)];
    layer.forward(
        nn_core::layers::Forward {
            params,
            state: &mut [],
            x,
            y: &mut y,
            cache: &mut cache,
            scratch: &mut scratch,
            batch,
        },
        &mut nn_core::layers::Pass::Eval,
    );
    let mut dy = dy[..batch * L::OUTPUT].to_vec();
    layer.backward(nn_core::layers::Backward {
        params,
        state: &[],
        x,
        y: &y,
        cache: &cache,
        dy: &mut dy,
        dx,
        grads: Some(grads),
        scratch: &mut scratch,
        batch,
        training: false,
    });
}

/// A layer's single-sample inference: `y` receives the output.
pub fn infer<L: nn_core::layers::Layer>(layer: L, params: &[f32], x: &[f32], y: &mut [f32]) {
    let mut scratch = vec![0.0; L::SCRATCH];
    layer.infer(
        params,
        &[],
        nn_core::layers::Io::Separate { x, y },
        &mut scratch,
    );
}
