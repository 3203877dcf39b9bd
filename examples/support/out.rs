//! The examples' output: [`outln!`] and [`errln!`] are `println!` and `eprintln!` that keep
//! the program running when the reader has gone (`gan_mnist --epochs 20 --samples gan.idx
//! | head -3`), where those panic and the training, with the files it was asked to write,
//! is lost.
// Each includer uses only some of them.
#![allow(unused_macros)]

/// Writes a line to `$stream` (`stdout` or `stderr`), dropping it when the stream is a
/// closed pipe (the run goes on, unprinted) and panicking on any other error, as
/// `println!` does.
macro_rules! line_to {
    ($stream:ident, $($arg:tt)*) => {{
        use std::io::Write as _;
        let written = writeln!(std::io::$stream().lock(), $($arg)*);
        if let Err(e) = written {
            if e.kind() != std::io::ErrorKind::BrokenPipe {
                panic!("failed printing to {}: {e}", stringify!($stream));
            }
        }
    }};
}

/// `println!` that survives a closed pipe (see [`line_to!`]).
macro_rules! outln {
    ($($arg:tt)*) => { line_to!(stdout, $($arg)*) };
}

/// `eprintln!` that survives a closed pipe (see [`line_to!`]).
macro_rules! errln {
    ($($arg:tt)*) => { line_to!(stderr, $($arg)*) };
}
