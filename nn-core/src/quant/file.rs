//! The file of a quantized model: its bytes (every scale, zero point, multiplier and shift
//! included) with a header and a checksum, so that a truncated, corrupt or foreign file is
//! an error that says so, never a model that computes garbage.
//!
//! | bytes | what |
//! |---|---|
//! | 8 | `NNINT8` and the format version, 1 (`u16`, little-endian) |
//! | 8 | the length of the model's bytes, little-endian |
//! | that length | the model's bytes (see [`quant`](super)) |
//! | 8 | their FNV-1a 64-bit hash, little-endian |
//!
//! The raw bytes alone (a generated int8 model's `bytes()`) are what a baked `static` holds.

use crate::error::{Error, Result};
use alloc::{format, string::String, string::ToString, vec::Vec};

const MAGIC: [u8; 8] = *b"NNINT8\x01\x00";

/// FNV-1a, 64 bits.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The file holding a quantized model's bytes.
#[must_use]
pub fn encode(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 24);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
    out.extend_from_slice(bytes);
    out.extend_from_slice(&fnv1a(bytes).to_le_bytes());
    out
}

/// The model's bytes from a file written by [`encode`], for a model of `expected` bytes;
/// `source_name` names the file in errors.
///
/// # Errors
/// [`Error::Format`] for a file too short to be one, one that is not an int8 model file, one
/// quantized from a model of another size, a truncated or over-long file, and a checksum that
/// does not match (a corrupt file).
pub fn decode<'a>(file: &'a [u8], source_name: &str, expected: usize) -> Result<&'a [u8]> {
    let error = |reason: String| Error::Format {
        source_name: source_name.to_string(),
        reason,
    };
    if file.len() < 24 || file[..6] != MAGIC[..6] {
        if file.len() >= 6 && file[..6] == MAGIC[..6] {
            return Err(error(format!(
                "{} bytes: too short for an int8 model file (24 bytes of header and checksum at least); it is truncated",
                file.len()
            )));
        }
        return Err(error(String::from(
            "not an int8 model file (it does not start with `NNINT8`): f32 weights are read with `load_weights`, int8 models written by `save`",
        )));
    }
    if file[6..8] != MAGIC[6..8] {
        return Err(error(format!(
            "int8 model file format version {} where this build reads version 1",
            u16::from_le_bytes([file[6], file[7]])
        )));
    }
    let declared = u64::from_le_bytes(file[8..16].try_into().expect("8 bytes"));
    if declared != expected as u64 {
        return Err(error(format!(
            "holds {declared} bytes of int8 parameters where this model's int8 form has {expected} (PARAM_BYTES): it was quantized from another model"
        )));
    }
    if (file.len() - 24) as u64 != declared {
        return Err(error(format!(
            "{} bytes where the header declares {} (24 + {declared}): the file is truncated or has data appended",
            file.len(),
            24 + declared
        )));
    }
    let (bytes, sum) = file[16..].split_at(expected);
    let sum = u64::from_le_bytes(sum.try_into().expect("8 bytes"));
    if sum != fnv1a(bytes) {
        return Err(error(String::from(
            "checksum mismatch: the file is corrupt (re-run the quantization and save again)",
        )));
    }
    Ok(bytes)
}

/// Writes [`encode`]`(bytes)` to `path`, atomically.
///
/// # Errors
/// [`Error::Io`] when the file cannot be written.
#[cfg(feature = "std")]
pub fn save(bytes: &[u8], path: impl AsRef<std::path::Path>) -> Result<()> {
    crate::io::write::write_atomic(path.as_ref(), &encode(bytes))
}

/// Reads the file at `path` (at most `expected + 24` bytes are read).
///
/// # Errors
/// [`Error::Io`] when it cannot be read.
#[cfg(feature = "std")]
pub fn read(path: impl AsRef<std::path::Path>, expected: usize) -> Result<Vec<u8>> {
    let path = path.as_ref();
    let io_error = |error| Error::Io {
        path: path.to_path_buf(),
        error,
    };
    let mut file = std::fs::File::open(path).map_err(io_error)?;
    let mut bytes = Vec::new();
    // One byte more than a valid file, so that appended data is seen.
    crate::io::read::read_up_to(&mut file, &mut bytes, expected as u64 + 25).map_err(io_error)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_names_every_kind_of_bad_file() {
        let bytes: Vec<u8> = (0..100u8).collect();
        let file = encode(&bytes);
        assert_eq!(decode(&file, "f", 100).unwrap(), &bytes[..]);
        let msg = |f: &[u8], n: usize| decode(f, "f", n).unwrap_err().to_string();
        assert!(
            msg(&file[..50], 100).contains("truncated"),
            "{}",
            msg(&file[..50], 100)
        );
        assert!(msg(&file[..10], 100).contains("truncated"));
        assert!(msg(b"PK\x03\x04 something else entirely", 100).contains("not an int8 model file"));
        assert!(msg(&file, 99).contains("another model"));
        let mut corrupt = file.clone();
        corrupt[40] ^= 1;
        assert!(msg(&corrupt, 100).contains("corrupt"));
        let mut longer = file.clone();
        longer.push(0);
        assert!(msg(&longer, 100).contains("appended"));
        let mut version = file;
        version[6] = 2;
        assert!(msg(&version, 100).contains("version 2"));
    }
}
