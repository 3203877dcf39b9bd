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
//! With `--features int8` (`cargo run --release --features int8`), the program is the same
//! MLP quantized to int8 instead (`data/mnist_mlp_int8.bin`, written by
//! `cargo run --release --example quantize_mnist -- --save-raw
//! examples/freestanding/data/mnist_mlp_int8.bin`): a quarter of the weights, integer
//! arithmetic only, the same 100 digits, one line each and `correct=N/100`, as
//! `expected_int8.txt` and the std build (`tests/int8.rs`) have it.
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

#[cfg(not(feature = "int8"))]
mod float;
#[cfg(feature = "int8")]
mod int8;

/// The first 100 test digits (28x28 bytes each) and their labels.
static DIGITS: &[u8; 100 * 784] = include_bytes!("../data/digits.bin");
static LABELS: &[u8; 100] = include_bytes!("../data/labels.bin");

/// The f32 models, or with the `int8` feature the int8 MLP.
fn run() -> i32 {
    #[cfg(not(feature = "int8"))]
    return float::run();
    #[cfg(feature = "int8")]
    return int8::run();
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
