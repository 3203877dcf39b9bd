//! Bounded work on hostile files: the IDX and safetensors readers hold at most the size a
//! file declares plus a small bound, and a header that claims more than the file can hold
//! is rejected right after it is read, without reading or inflating the rest.
//!
//! A counting global allocator measures the peak of live heap bytes on the test's own
//! thread (a thread-local flag, so the harness' other threads do not interfere).
#![cfg(feature = "std")]
// A global allocator needs `unsafe`: the implementation only forwards to `System`.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use nn_core::activations::Linear;
use nn_core::data::idx::{parse_idx, read_idx};
use nn_core::data::Mnist;
use nn_core::layers::{Dense, InputOrder, LayerRef, Pass};
use nn_core::model::{LayerInfo, Model};
use nn_core::tape::Tape;
use nn_core::Error;

mod common;
use common::{gz, idx, TempDir};

// ---- Peak heap use of a closure ----

struct Counting;

thread_local! {
    static ENABLED: Cell<bool> = const { Cell::new(false) };
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn note(delta: isize) {
    // `try_with`: the thread-locals may be gone while a thread shuts down.
    if ENABLED.try_with(Cell::get).unwrap_or(false) {
        let _ = LIVE.try_with(|live| {
            live.set(live.get() + delta);
            let _ = PEAK.try_with(|peak| peak.set(peak.get().max(live.get())));
        });
    }
}

fn size(n: usize) -> isize {
    isize::try_from(n).unwrap_or(isize::MAX)
}

// SAFETY: forwards every call to the system allocator unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(size(layout.size()));
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(size(layout.size()));
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(size(new_size) - size(layout.size()));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note(-size(layout.size()));
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Runs `f`; returns its result and the peak of the bytes it held on the heap at once.
fn peak_heap<R>(f: impl FnOnce() -> R) -> (R, usize) {
    LIVE.with(|c| c.set(0));
    PEAK.with(|c| c.set(0));
    ENABLED.with(|e| e.set(true));
    let r = f();
    ENABLED.with(|e| e.set(false));
    (r, usize::try_from(PEAK.with(Cell::get)).unwrap_or(0))
}

const KIB: usize = 1 << 10;
const MIB: usize = 1 << 20;

// ---- IDX ----

/// The hostile file: about 521 KB of gzip whose IDX header claims 2^31 images of
/// 28x28 (1.7 TB) and whose body inflates to 512 MiB of zeros (512 gzip members of 1 MiB
/// each: concatenated members are one stream). It ends with a member that is not gzip at
/// all, so a reader that inflated the body to its end would report a corrupt stream.
fn gzip_bomb() -> Vec<u8> {
    let mut bomb = gz(&idx(&[1 << 31, 28, 28], &[]));
    let zeros = gz(&vec![0; MIB]);
    for _ in 0..512 {
        bomb.extend_from_slice(&zeros);
    }
    bomb.extend_from_slice(&[0x1f, 0x8b, 0xff, 0xff, 0xff, 0xff]);
    bomb
}

#[test]
fn a_gzip_bomb_is_rejected_after_its_header() {
    let bomb = gzip_bomb();
    assert!(
        (500_000..560_000).contains(&bomb.len()),
        "{} bytes",
        bomb.len()
    );
    let declared = (1u64 << 31) * 28 * 28;
    let check = |text: &str| {
        assert!(
            text.contains("2147483648x28x28")
                && text.contains(&format!("declare {declared} bytes"))
                && text.contains(&format!("a gzip stream of {} bytes", bomb.len())),
            "{text}"
        );
        // The corrupt member at the end was never reached.
        assert!(!text.contains("corrupt gzip stream"), "{text}");
    };
    check(&parse_idx(&bomb, "bomb").unwrap_err().to_string());

    let dir = TempDir::new("bomb");
    let path = dir.write("train-images-idx3-ubyte.gz", &bomb);
    let (result, peak) = peak_heap(|| read_idx(&path));
    let err = result.unwrap_err();
    assert!(matches!(&err, Error::Format { source_name, .. } if source_name.ends_with(".gz")));
    check(&err.to_string());
    assert!(
        peak < 256 * KIB,
        "rejecting the bomb held {peak} bytes at once"
    );
    // Through `Mnist::load`, naming the file.
    dir.write("train-labels-idx1-ubyte", &idx(&[2], &[0, 1]));
    dir.write("t10k-images-idx3-ubyte", &idx(&[1, 28, 28], &[0; 784]));
    dir.write("t10k-labels-idx1-ubyte", &idx(&[1], &[0]));
    let text = Mnist::load(&dir.0).unwrap_err().to_string();
    assert!(text.contains("train-images-idx3-ubyte.gz"), "{text}");
    check(&text);
}

#[test]
fn an_idx_file_is_read_into_its_declared_size_plus_a_bound() {
    let data: Vec<u8> = (0..4 * MIB).map(|i| (i % 251) as u8).collect();
    let plain = idx(&[4, 1024, 1024], &data);
    let dir = TempDir::new("declared");
    for path in [
        dir.write("plain-idx3-ubyte", &plain),
        dir.write("gzip-idx3-ubyte.gz", &gz(&plain)),
    ] {
        let (result, peak) = peak_heap(|| read_idx(&path).map(|a| a.data.len()));
        assert_eq!(result.unwrap(), 4 * MIB);
        assert!(
            peak <= 4 * MIB + 256 * KIB,
            "{}: {peak} bytes held at once for {} of data",
            path.display(),
            4 * MIB
        );
    }
}

#[test]
fn trailing_data_after_an_idx_body_is_not_read() {
    // A valid file of 10 labels, then 256 MiB of zeros.
    let dir = TempDir::new("idx-trailing");
    let zeros = 256 << 20;
    let path = dir.write_sparse("t10k-labels-idx1-ubyte", &idx(&[10], &[1; 10]), zeros);
    let (result, peak) = peak_heap(|| read_idx(&path));
    let text = result.unwrap_err().to_string();
    assert!(
        text.contains(&format!("trailing garbage: {zeros} bytes")),
        "{text}"
    );
    assert!(peak < 256 * KIB, "{peak} bytes held at once");
}

// ---- Safetensors ----

/// A model of one dense layer 1 → 2 (four values, 16 bytes), enough for `weights::load`.
struct Bias(Vec<f32>);

impl Bias {
    fn dense(&self) -> LayerRef<'_, Dense<1, 2>> {
        LayerRef::new(Dense::new(Linear), &self.0, &[])
    }
}

impl Model for Bias {
    const NAME: &'static str = "Bias";
    const INPUT_SHAPE: &'static [usize] = &[1];
    const INPUT: usize = 1;
    const OUTPUT: usize = 2;
    const PARAMS: usize = 4;
    const LAYERS: &'static [LayerInfo] = &[LayerInfo::of::<Dense<1, 2>>(
        "dense",
        0,
        0,
        InputOrder::Rows,
    )];
    type OutputActivation = Linear;
    const OUTPUT_ACTIVATION: Linear = Linear;

    fn init(_seed: u64) -> Self {
        Self(vec![0.5; 4])
    }
    fn params(&self) -> &[f32] {
        &self.0
    }
    fn params_mut(&mut self) -> &mut [f32] {
        &mut self.0
    }
    fn forward_batch<'t>(
        &self,
        tape: &'t mut Tape,
        x: &[f32],
        b: usize,
        pass: Pass<'_>,
    ) -> &'t [f32] {
        let mut run = tape.forward(x, b, &[], pass);
        run.layer(self.dense());
        run.finish()
    }
    fn backward_batch(
        &self,
        tape: &mut Tape,
        x: &[f32],
        d: &mut [f32],
        grads: Option<&mut [f32]>,
        dx: Option<&mut [f32]>,
    ) {
        tape.backward(x, d, grads, dx).layer(self.dense());
    }
}

#[test]
fn trailing_data_after_a_weights_file_is_not_read() {
    let dir = TempDir::new("weights-trailing");
    let bytes = nn_core::weights::to_bytes(&Bias::init(0)).unwrap();
    let good = dir.write("good.safetensors", &bytes);
    let mut model = Bias(vec![0.0; 4]);
    nn_core::weights::load(&mut model, &good).unwrap();
    assert_eq!(model.0, [0.5; 4]);

    let bad = dir.write_sparse("bad.safetensors", &bytes, 256 << 20);
    let mut model = Bias(vec![0.0; 4]);
    let (result, peak) = peak_heap(|| nn_core::weights::load(&mut model, &bad));
    let err = result.unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, Error::Format { .. })
            && text.contains("bad.safetensors")
            && text.contains("data follows the 16 bytes of tensor data"),
        "{text}"
    );
    assert!(peak < 256 * KIB, "{peak} bytes held at once");
    assert_eq!(model.0, [0.0; 4], "a failed load changed the model");
}
