//! The examples' shared error report and output-path check (`examples/support/out.rs`).

#[path = "../examples/support/out.rs"]
#[macro_use]
mod out;

use out::{check_writable, Failure};

/// An error with a cause of its own, as a library's wrapper error is.
#[derive(Debug)]
struct Wrapped(std::io::Error);

impl std::fmt::Display for Wrapped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("reading the weights failed")
    }
}

impl std::error::Error for Wrapped {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

#[test]
fn failure_prints_the_sentence_and_each_cause_once() {
    // nn's I/O error already names its cause: printed once, not in the debug form.
    let error = nn::data::Mnist::load("/no/such/dir").unwrap_err();
    let printed = format!("{:?}", Failure::from(error));
    assert!(printed.starts_with("/no/such/dir/"), "{printed}");
    assert!(printed.contains("MNIST file not found"), "{printed}");
    assert_eq!(
        printed.matches("MNIST file not found").count(),
        1,
        "{printed}"
    );
    assert!(!printed.contains("Io {"), "{printed}");

    // A cause the message does not include is appended.
    let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
    let printed = format!("{:?}", Failure::from(Wrapped(io)));
    assert_eq!(printed, "reading the weights failed: no such file");

    // Plain messages, as `Err("...".into())` gives, print without quotes.
    assert_eq!(
        format!("{:?}", Failure::from("--epochs must be at least 1")),
        "--epochs must be at least 1"
    );
}

#[test]
fn check_writable_leaves_files_as_they_were() {
    let dir = std::env::temp_dir().join(format!("nn_check_writable_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    // An existing file keeps its bytes (no truncation before the work is done).
    let existing = dir.join("kept.idx");
    std::fs::write(&existing, b"earlier run").unwrap();
    check_writable(&[("--samples", Some(&existing))]).unwrap();
    assert_eq!(std::fs::read(&existing).unwrap(), b"earlier run");

    // A new file is not left behind.
    let new = dir.join("new.png");
    check_writable(&[("--grid", Some(&new))]).unwrap();
    assert!(!new.exists());

    // A missing directory or a directory fails, naming the flag and the path.
    let missing = dir.join("no_such_dir").join("x.idx");
    let e = check_writable(&[("--samples", Some(&missing))]).unwrap_err();
    assert!(
        e.starts_with("cannot write --samples ") && e.contains("no_such_dir"),
        "{e}"
    );
    let e = check_writable(&[("--grid", Some(&dir))]).unwrap_err();
    assert!(e.starts_with("cannot write --grid "), "{e}");

    // Several flags: those not given are skipped, the first that fails is named, and the
    // files checked before it are left as they were.
    let e = check_writable(&[
        ("--save", Some(&existing)),
        ("--saliency", None),
        ("--grid", Some(&missing)),
    ])
    .unwrap_err();
    assert!(e.starts_with("cannot write --grid "), "{e}");
    assert_eq!(std::fs::read(&existing).unwrap(), b"earlier run");
    check_writable(&[("--save", None), ("--grid", Some(&new))]).unwrap();
    assert!(!new.exists());

    std::fs::remove_dir_all(&dir).unwrap();
}
