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

/// What an example's `main` returns on failure: any error (`?` converts it), printed as its
/// sentence, `Error: MNIST file not found: ...`, with the causes it does not already
/// include, instead of the debug form (`Error: Io { path: ..., error: Os { code: 2, .. } }`)
/// that a `Box<dyn Error>` returned from `main` prints.
pub struct Failure(Box<dyn std::error::Error>);

impl<E: Into<Box<dyn std::error::Error>>> From<E> for Failure {
    fn from(error: E) -> Self {
        Self(error.into())
    }
}

impl std::fmt::Debug for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut said = self.0.to_string();
        let mut cause = self.0.source();
        while let Some(c) = cause {
            let text = c.to_string();
            if !said.contains(&text) {
                said = format!("{said}: {text}");
            }
            cause = c.source();
        }
        f.write_str(&said)
    }
}

/// Checks, before any work, that each output file given (a flag and its path, `None` for a
/// flag not given) can be written, so that a typo in a path fails at once, naming its flag,
/// rather than after the training whose result it was to hold. Each file is left as it
/// was: an existing one is opened without truncating it, a new one is removed again.
#[allow(dead_code)]
pub fn check_writable(outputs: &[(&str, Option<&std::path::Path>)]) -> Result<(), String> {
    for &(flag, path) in outputs {
        if let Some(path) = path {
            check_one(flag, path)?;
        }
    }
    Ok(())
}

/// [`check_writable`] for one file.
fn check_one(flag: &str, path: &std::path::Path) -> Result<(), String> {
    let existed = path.exists();
    let opened = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path);
    match opened {
        Err(e) => Err(format!("cannot write {flag} {}: {e}", path.display())),
        Ok(_) => {
            if !existed {
                // Best effort: an empty file left behind is harmless.
                let _ = std::fs::remove_file(path);
            }
            Ok(())
        }
    }
}
