//! MNIST digits classified by a freestanding program: no standard library, no C library, no
//! allocator, and the weights trained by `mnist_mlp` baked into the binary.
//!
//! ```text
//! cd examples/freestanding && cargo run --release
//! ```
//!
//! It classifies the first 100 digits of MNIST's test set, prints one line per digit through
//! raw `write` system calls and ends with `correct=N/100`. The model definition is the very
//! one `examples/mnist_mlp.rs` trains; `data/mnist_mlp.bin` came from
//! `cargo run --release --example mnist_mlp -- --save-raw data/mnist_mlp.bin`. Before that
//! last line, two sequence models run in the same bare tier: an LSTM reading the same digits
//! row by row (`examples/mnist_lstm.rs`, weights `data/mnist_lstm.bin`) gives its score, and a
//! small model with every non-recurrent sequence layer gives its output against the value
//! worked out by hand, and the error a value that is not a token id gives; and two scalers
//! fitted by the alloc tier (a standard and a min-max one, on the quickstart's training
//! split, saved with `ScalerFile::save`; `tests/baked.rs` checks the files) scale three
//! test rows (`data/scaler_rows.bin`), exactly as the alloc tier does.
//!
//! What makes it freestanding, for x86-64 Linux (see `.cargo/config.toml` for the link flags):
//! - `_start` is ours (a few instructions of assembly that align the stack), so no C runtime;
//! - output and exit are raw system calls;
//! - `memcpy`, `memmove`, `memset`, `memcmp` and `bcmp` are defined here, as a C library would;
//! - panics abort (`panic = "abort"`) after printing a message.
//!
//! On a Cortex-M the same model and `static`s work unchanged; only the entry point (e.g.
//! `cortex-m-rt`'s `#[entry]`), the output (e.g. a UART or semihosting) and the target
//! (`thumbv7em-none-eabihf`) differ. See README's "On a microcontroller".
#![no_std]
#![no_main]
// Unsafe is the point here: system calls and the C memory functions.
#![allow(unsafe_code)]

#[path = "../../support/models.rs"]
mod models;
use core::fmt::Write;
use models::{MnistMlp, RowReader};
use nn::bake::Scaler;

/// The trained parameters, decoded at compile time: nothing is parsed at run time.
static WEIGHTS: [f32; MnistMlp::PARAMS] =
    nn::bake::f32_array(include_bytes!("../data/mnist_mlp.bin"));
/// The model, in read-only memory.
static MODEL: MnistMlp = MnistMlp::from_static(&WEIGHTS);
/// The first 100 test digits (28x28 bytes each) and their labels.
static DIGITS: &[u8; 100 * 784] = include_bytes!("../data/digits.bin");
static LABELS: &[u8; 100] = include_bytes!("../data/labels.bin");

// The memory this program needs, known at compile time.
const _: () = assert!(MnistMlp::PARAM_BYTES + MnistMlp::SCRATCH_BYTES <= 512 * 1024);

nn::model! {
    /// The sequence layers in the bare tier: token ids, [6, 2], [6, 2], [3, 2], [3, 2] (a dense
    /// layer per step), [1, 2], [2], 1.
    pub struct Sequence {
        input: 6,
        Embedding(5, 2),
        Conv1D(2, 3, padding = same),
        MaxPool1D(2),
        Dense(2),
        AvgPool1D(2),
        GlobalAvgPool1D,
        Dense(1),
    }
}

/// Every weight and bias 1/4: the output is exact in `f32` and follows by hand.
static SEQUENCE_WEIGHTS: [f32; Sequence::PARAMS] = [0.25; Sequence::PARAMS];
static SEQUENCE: Sequence = Sequence::from_static(&SEQUENCE_WEIGHTS);

/// The sequence model on valid ids, then on a value that is not an id.
fn sequence(out: &mut Stdout) {
    let ids = nn::Vector::<6>::from([0.0, 1.0, 2.0, 3.0, 4.0, 0.0]);
    // Vectors of 1/4; the convolution: 1/4 + 6/16 inside, 1/4 + 4/16 at the ends; pooled
    // 5/8; dense: 1/4 + 2 * 5/32 = 9/16; averaged and pooled 9/16; out: 1/4 + 2 * 9/64.
    let y = SEQUENCE.forward(&ids)[0];
    let _ = writeln!(
        out,
        "sequence: output {y} (by hand {})",
        0.25 + 2.0 * 9.0 / 64.0
    );
    let bad = nn::Vector::<6>::from([0.0, 1.0, 7.0, 3.0, 4.0, 0.0]);
    if let Err(e) = SEQUENCE.try_forward(&bad) {
        let _ = writeln!(out, "sequence: {e}");
    }
}

/// Trained by `cargo run --release --example mnist_lstm -- --epochs 1 --save-raw
/// data/mnist_lstm.bin`: the recurrent state lives in the scratch, so a sequence model runs
/// here as the MLP does.
static LSTM_WEIGHTS: [f32; RowReader::PARAMS] =
    nn::bake::f32_array(include_bytes!("../data/mnist_lstm.bin"));
static LSTM_MODEL: RowReader = RowReader::from_static(&LSTM_WEIGHTS);
const _: () = assert!(RowReader::PARAM_BYTES + RowReader::SCRATCH_BYTES <= 512 * 1024);

/// The quickstart's scalers, decoded at compile time (a bad file is a compile error).
static STANDARD: Scaler<20> = Scaler::from_le_bytes(include_bytes!("../data/standard_scaler.bin"));
static MIN_MAX: Scaler<20> = Scaler::from_le_bytes(include_bytes!("../data/minmax_scaler.bin"));
/// Three rows of the quickstart's test split, unscaled.
static SCALER_ROWS: [f32; 3 * 20] = nn::bake::f32_array(include_bytes!("../data/scaler_rows.bin"));

/// Each scaler on each row: one line of scaled values per row.
fn scalers(out: &mut Stdout) {
    for (name, scaler) in [("standard", &STANDARD), ("min-max", &MIN_MAX)] {
        for (i, row) in SCALER_ROWS.chunks_exact(20).enumerate() {
            let mut x = [0.0f32; 20];
            x.copy_from_slice(row);
            scaler.transform(&mut x);
            let _ = write!(out, "{name} scaler, row {i}:");
            for v in x {
                let _ = write!(out, " {v}");
            }
            let _ = writeln!(out);
        }
    }
}

fn run() -> i32 {
    let mut out = Stdout;
    let mut pixels = [0.0f32; MnistMlp::INPUT];
    let mut scratch = [0.0f32; MnistMlp::SCRATCH];
    let mut correct = 0;
    for (i, (digit, &label)) in DIGITS
        .chunks_exact(MnistMlp::INPUT)
        .zip(LABELS.iter())
        .enumerate()
    {
        for (p, &b) in pixels.iter_mut().zip(digit) {
            *p = f32::from(b) / 255.0;
        }
        let probabilities = MODEL.forward_into(&pixels, &mut scratch);
        let predicted = argmax(probabilities);
        if predicted == usize::from(label) {
            correct += 1;
        }
        let _ = writeln!(out, "digit {i:>2}: predicted {predicted}, label {label}");
    }
    // The same digits read row by row by the LSTM: one line with its score.
    let mut lstm_scratch = [0.0f32; RowReader::SCRATCH];
    let mut lstm_correct = 0;
    for (digit, &label) in DIGITS.chunks_exact(RowReader::INPUT).zip(LABELS.iter()) {
        for (p, &b) in pixels.iter_mut().zip(digit) {
            *p = f32::from(b) / 255.0;
        }
        let probabilities = LSTM_MODEL.forward_into(&pixels, &mut lstm_scratch);
        if argmax(probabilities) == usize::from(label) {
            lstm_correct += 1;
        }
    }
    let _ = writeln!(out, "row-reading LSTM: correct={lstm_correct}/100");
    sequence(&mut out);
    scalers(&mut out);
    let _ = writeln!(out, "correct={correct}/100");
    0
}

/// Index of the largest value (the first one on ties).
fn argmax(values: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if v > values[best] {
            best = i;
        }
    }
    best
}

/// Standard output through the `write` system call.
struct Stdout;

impl Write for Stdout {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let mut bytes = s.as_bytes();
        while !bytes.is_empty() {
            let n = sys::write(1, bytes);
            if n <= 0 {
                return Err(core::fmt::Error);
            }
            bytes = &bytes[n as usize..];
        }
        Ok(())
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    let _ = writeln!(Stdout, "panic: {info}");
    sys::exit(101)
}

/// Entry point called by `_start` (below) with an aligned stack.
#[no_mangle]
extern "C" fn freestanding_main() -> ! {
    sys::exit(run())
}

// The kernel enters `_start` with the stack 16-byte aligned; a call then leaves it as the
// System V ABI expects at a function's entry.
core::arch::global_asm!(
    ".globl _start",
    "_start:",
    "xor ebp, ebp",
    "and rsp, -16",
    "call freestanding_main",
    "ud2",
);

/// Raw Linux system calls.
mod sys {
    /// `write(fd, buf, len)`; returns the bytes written or a negative error.
    pub fn write(fd: usize, buf: &[u8]) -> isize {
        let ret: isize;
        // SAFETY: `write` reads `buf.len()` bytes from a valid slice; rcx and r11 are
        // clobbered by `syscall`.
        unsafe {
            core::arch::asm!("syscall", inlateout("rax") 1isize => ret, in("rdi") fd, in("rsi") buf.as_ptr(),
                in("rdx") buf.len(), lateout("rcx") _, lateout("r11") _, options(nostack));
        }
        ret
    }

    /// `exit_group(code)`.
    pub fn exit(code: i32) -> ! {
        // SAFETY: `exit_group` does not return.
        unsafe {
            core::arch::asm!("syscall", in("rax") 231, in("rdi") code, options(noreturn, nostack));
        }
    }
}

// The memory functions the compiler emits calls to. Written with volatile accesses so that
// the optimizer cannot turn the loops back into calls to themselves.

/// # Safety
/// As C's `memcpy`.
#[no_mangle]
pub unsafe extern "C" fn memcpy(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    for i in 0..n {
        dest.add(i).write_volatile(src.add(i).read_volatile());
    }
    dest
}

/// # Safety
/// As C's `memmove`.
#[no_mangle]
pub unsafe extern "C" fn memmove(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    if (dest as usize) < (src as usize) {
        for i in 0..n {
            dest.add(i).write_volatile(src.add(i).read_volatile());
        }
    } else {
        for i in (0..n).rev() {
            dest.add(i).write_volatile(src.add(i).read_volatile());
        }
    }
    dest
}

/// # Safety
/// As C's `memset`.
#[no_mangle]
pub unsafe extern "C" fn memset(dest: *mut u8, value: i32, n: usize) -> *mut u8 {
    for i in 0..n {
        dest.add(i).write_volatile(value as u8);
    }
    dest
}

/// # Safety
/// As C's `memcmp`.
#[no_mangle]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    for i in 0..n {
        let (x, y) = (a.add(i).read_volatile(), b.add(i).read_volatile());
        if x != y {
            return i32::from(x) - i32::from(y);
        }
    }
    0
}

/// # Safety
/// As C's `bcmp`.
#[no_mangle]
pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    memcmp(a, b, n)
}
