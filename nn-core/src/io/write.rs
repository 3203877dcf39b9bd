//! Writing files atomically: a crash or a full disk never leaves a half-written file, and an
//! existing file is only ever replaced by a complete one.

use std::format;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{self, Path};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::error::{Error, Result};

/// Writes `bytes` to `path` through a temporary file in the same directory, flushed and
/// then renamed over `path`. A path that names a directory (an existing one, or one ending
/// in a separator, `.` or `..`) is an error before anything is written.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let io_error = |path: &Path, error: io::Error| Error::Io {
        path: path.to_path_buf(),
        error,
    };
    let text = path.to_string_lossy();
    let last = text.rsplit(path::is_separator).next().unwrap_or("");
    let spelled = matches!(last, "" | "." | "..");
    if spelled || path.is_dir() {
        let what = if spelled {
            "names a directory (it ends in a separator, `.` or `..`)"
        } else {
            "is a directory"
        };
        let example = path.join("model.safetensors");
        return Err(io_error(
            path,
            io::Error::new(
                io::ErrorKind::IsADirectory,
                format!(
                    "{what}, not a file: name a file in it, e.g. `{}`",
                    example.display()
                ),
            ),
        ));
    }
    let Some(file_name) = path.file_name() else {
        return Err(io_error(
            path,
            io::Error::new(io::ErrorKind::InvalidInput, "the path does not name a file"),
        ));
    };
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let tmp = dir.join(format!(
        ".{}.{}-{}.tmp",
        file_name.to_string_lossy(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let written = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        });
    if let Err(error) = written {
        let _ = fs::remove_file(&tmp);
        return Err(io_error(path, error));
    }
    if let Err(error) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(io_error(path, error));
    }
    // Make the rename itself durable (best effort; not possible on every platform).
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}
