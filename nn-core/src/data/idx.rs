//! Reader of the IDX file format of MNIST (and of data sets shipped in its format, such as
//! Fashion-MNIST, EMNIST or KMNIST).
//!
//! An IDX file is a big-endian header followed by the array's elements, row-major:
//!
//! | bytes | content |
//! | --- | --- |
//! | 0, 1 | zero |
//! | 2 | element type (`0x08`: unsigned byte, the only one supported here) |
//! | 3 | number of dimensions `d` |
//! | 4 .. 4 + 4d | each dimension's size, a big-endian `u32` |
//! | then | the elements: exactly the product of the dimensions, one byte each |
//!
//! Files may be gzip-compressed (as MNIST is distributed); that is detected from the gzip
//! magic bytes `1f 8b`, not from the file name.
//!
//! Reading is bounded by what the file can hold: the dimensions are checked against the
//! file's size right after the header (exactly for a plain file; for a gzip file against
//! the most its compressed bytes can inflate to, 1032 per byte), so a header claiming more
//! data than the file holds is rejected without reading or inflating the rest, and the
//! reader never holds more than the declared size plus one byte.
//!
//! [`Mnist`](super::Mnist) reads MNIST's four files with it.

use std::format;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::string::{String, ToString};
use std::vec::Vec;

use flate2::bufread::MultiGzDecoder;

use crate::error::{Error, Result};
use crate::io::read::read_up_to;

/// Deflate's largest expansion: at most 1032 bytes out per compressed byte in.
const MAX_INFLATE_RATIO: u64 = 1032;

/// At most this many trailing bytes are counted for an error message; more are reported
/// as "more than".
const TRAILING_COUNT_LIMIT: u64 = 1 << 20;

/// An array of bytes read from an IDX file: its dimensions and its elements, row-major.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdxArray {
    /// Size of each dimension, outermost first (for MNIST images: count, rows, columns).
    pub dims: Vec<usize>,
    /// The elements, row-major; `data.len()` is the product of `dims`.
    pub data: Vec<u8>,
}

/// Reads an IDX file of unsigned bytes, plain or gzip-compressed, as a stream: the header
/// is checked against the file's size before the data is read (see the [module
/// docs](self)).
///
/// # Errors
/// [`Error::Io`] with `path` when the file cannot be opened; [`Error::Format`], with the
/// path as its source name, for a read error and everything [`parse_idx`] rejects.
pub fn read_idx(path: impl AsRef<Path>) -> Result<IdxArray> {
    let path = path.as_ref();
    let io_error = |error| Error::Io {
        path: path.to_path_buf(),
        error,
    };
    let file = File::open(path).map_err(io_error)?;
    // The size bounds the data only for regular files (not pipes or devices).
    let size = file
        .metadata()
        .ok()
        .filter(std::fs::Metadata::is_file)
        .map(|m| m.len());
    let mut file = BufReader::new(file);
    let mut magic = Vec::with_capacity(2);
    read_up_to(&mut file, &mut magic, 2).map_err(io_error)?;
    parse_source(
        magic.as_slice().chain(file),
        size,
        &path.display().to_string(),
    )
}

/// Parses the bytes of an IDX file of unsigned bytes, plain or gzip-compressed;
/// `source_name` names them in errors.
///
/// ```
/// use nn_core::data::idx::parse_idx;
/// // A 2x3 array of bytes.
/// let bytes = [0, 0, 0x08, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6];
/// let a = parse_idx(&bytes, "example")?;
/// assert_eq!(a.dims, [2, 3]);
/// assert_eq!(a.data, [1, 2, 3, 4, 5, 6]);
///
/// let err = parse_idx(&bytes[..17], "example").unwrap_err();
/// assert!(err.to_string().starts_with("example: truncated"));
/// # Ok::<(), nn_core::Error>(())
/// ```
///
/// # Errors
/// [`Error::Format`] naming `source_name` for: a corrupt gzip stream, a header cut short,
/// a magic number whose first two bytes are not zero, an element type other than unsigned
/// byte, zero dimensions or a dimension of size zero, dimensions whose product overflows,
/// dimensions that declare more data than a gzip stream of this size can inflate to, and a
/// body shorter (truncated) or longer (trailing garbage) than the dimensions say.
pub fn parse_idx(bytes: &[u8], source_name: &str) -> Result<IdxArray> {
    parse_source(bytes, Some(bytes.len() as u64), source_name)
}

/// Parses an IDX stream of `size` bytes (when known), gzip-compressed or plain as its first
/// two bytes say.
fn parse_source(
    mut source: impl BufRead,
    size: Option<u64>,
    source_name: &str,
) -> Result<IdxArray> {
    let peek = source
        .fill_buf()
        .map_err(|e| stream_error(false, source_name, &e))?;
    if peek.starts_with(&[0x1f, 0x8b]) {
        let mut reader = Reader {
            inner: MultiGzDecoder::new(source),
            gzip: true,
        };
        let bound = size.map(|s| Bound {
            bytes: s.saturating_mul(MAX_INFLATE_RATIO),
            compressed: Some(s),
        });
        parse_reader(&mut reader, source_name, bound)
    } else {
        let mut reader = Reader {
            inner: source,
            gzip: false,
        };
        let bound = size.map(|bytes| Bound {
            bytes,
            compressed: None,
        });
        parse_reader(&mut reader, source_name, bound)
    }
}

/// How many bytes an IDX stream can hold: exactly `bytes` for a plain source, at most
/// `bytes` for one inflated from `compressed` bytes.
#[derive(Clone, Copy)]
struct Bound {
    bytes: u64,
    compressed: Option<u64>,
}

/// A byte source whose read errors can only come from gzip decompression.
struct Reader<R> {
    inner: R,
    gzip: bool,
}

impl<R: Read> Reader<R> {
    /// Reads until `buf` is full or the input ends; returns the number of bytes read.
    fn fill(&mut self, buf: &mut [u8], source_name: &str) -> Result<usize> {
        let mut got = 0;
        while got < buf.len() {
            match self.inner.read(&mut buf[got..]) {
                Ok(0) => break,
                Ok(k) => got += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.error(source_name, &e)),
            }
        }
        Ok(got)
    }

    fn error(&self, source_name: &str, e: &io::Error) -> Error {
        stream_error(self.gzip, source_name, e)
    }
}

/// A read error of a gzip or plain stream.
fn stream_error(gzip: bool, source_name: &str, e: &io::Error) -> Error {
    let reason = if gzip {
        format!("corrupt gzip stream: {e}")
    } else {
        format!("read error: {e}")
    };
    format_error(source_name, reason)
}

pub(super) fn format_error(source_name: &str, reason: String) -> Error {
    Error::Format {
        source_name: source_name.to_string(),
        reason,
    }
}

pub(super) fn dims_text(dims: &[usize]) -> String {
    let parts: Vec<String> = dims.iter().map(ToString::to_string).collect();
    parts.join("x")
}

fn type_name(code: u8) -> &'static str {
    match code {
        0x08 => "unsigned byte",
        0x09 => "signed byte",
        0x0B => "i16",
        0x0C => "i32",
        0x0D => "f32",
        0x0E => "f64",
        _ => "unknown",
    }
}

/// Parses an IDX stream that holds at most `bound` bytes (when known): the dimensions are
/// checked against it right after the header, before any data is read.
fn parse_reader<R: Read>(
    reader: &mut Reader<R>,
    source_name: &str,
    bound: Option<Bound>,
) -> Result<IdxArray> {
    let err = |reason: String| Err(format_error(source_name, reason));

    let mut magic = [0u8; 4];
    let got = reader.fill(&mut magic, source_name)?;
    if got < 4 {
        return err(format!(
            "truncated IDX header: the data ends after {got} bytes, before the end of the 4-byte magic number"
        ));
    }
    if magic[0] != 0 || magic[1] != 0 {
        return err(format!(
            "not an IDX file: wrong magic number 0x{:08x} (its first two bytes must be zero)",
            u32::from_be_bytes(magic)
        ));
    }
    if magic[2] != 0x08 {
        return err(format!(
            "unsupported IDX element type 0x{:02x} ({}) in magic number 0x{:08x}; only 0x08 (unsigned byte) is supported",
            magic[2],
            type_name(magic[2]),
            u32::from_be_bytes(magic)
        ));
    }
    let ndims = usize::from(magic[3]);
    if ndims == 0 {
        return err("wrong IDX dimensions: the header declares 0 dimensions".to_string());
    }

    let mut raw = [0u8; 4 * 255];
    let raw = &mut raw[..4 * ndims];
    let got = reader.fill(raw, source_name)?;
    if got < raw.len() {
        return err(format!(
            "truncated IDX header: {ndims} dimension sizes need {} bytes after the magic number, but only {got} follow",
            raw.len()
        ));
    }
    let mut dims = Vec::with_capacity(ndims);
    for chunk in raw.chunks_exact(4) {
        let d = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        let Ok(d) = usize::try_from(d) else {
            return err(format!(
                "IDX dimension {d} does not fit this platform's address space"
            ));
        };
        dims.push(d);
    }
    if let Some(i) = dims.iter().position(|&d| d == 0) {
        return err(format!(
            "wrong IDX dimensions {}: dimension {} of {ndims} is zero",
            dims_text(&dims),
            i + 1
        ));
    }
    let Some(expected) = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)) else {
        return err(format!(
            "wrong IDX dimensions {}: their product overflows this platform's address space",
            dims_text(&dims)
        ));
    };

    let declared = u64::try_from(expected).unwrap_or(u64::MAX);
    if let Some(bound) = bound {
        let header = 4 + 4 * ndims as u64;
        let available = bound.bytes.saturating_sub(header);
        match bound.compressed {
            None if available < declared => {
                return err(format!(
                    "truncated IDX data: dimensions {} need {expected} bytes after the header, but only {available} follow",
                    dims_text(&dims)
                ));
            }
            None if available > declared => {
                return err(format!(
                    "trailing garbage: {} bytes after the {expected} bytes of data that dimensions {} declare",
                    available - declared,
                    dims_text(&dims)
                ));
            }
            Some(compressed) if available < declared => {
                return err(format!(
                    "truncated or corrupt IDX header: dimensions {} declare {expected} bytes of data, \
                     but a gzip stream of {compressed} bytes inflates to at most {} bytes \
                     ({MAX_INFLATE_RATIO} per compressed byte)",
                    dims_text(&dims),
                    bound.bytes
                ));
            }
            _ => {}
        }
    }

    // Read at most one byte more than the dimensions say, to detect trailing data; the
    // buffer grows with the data read, so dimensions that the data does not back are never
    // allocated.
    let mut data = Vec::new();
    if let Err(e) = read_up_to(&mut reader.inner, &mut data, declared.saturating_add(1)) {
        return Err(reader.error(source_name, &e));
    }
    if data.len() < expected {
        return err(format!(
            "truncated IDX data: dimensions {} need {expected} bytes after the header, but only {} follow",
            dims_text(&dims),
            data.len()
        ));
    }
    if data.len() > expected {
        // Counted up to a limit: a gzip stream may inflate to far more than it declares.
        let mut rest = (&mut reader.inner).take(TRAILING_COUNT_LIMIT);
        let extra = match io::copy(&mut rest, &mut io::sink()) {
            Ok(more) if more == TRAILING_COUNT_LIMIT => format!("more than {more}"),
            Ok(more) => format!("{}", more + 1),
            Err(e) => return Err(reader.error(source_name, &e)),
        };
        return err(format!(
            "trailing garbage: {extra} bytes after the {expected} bytes of data that dimensions {} declare",
            dims_text(&dims)
        ));
    }
    Ok(IdxArray { dims, data })
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{write::GzEncoder, Compression};
    use std::io::Write;
    use std::vec;

    fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut b = vec![0, 0, 0x08, u8::try_from(dims.len()).unwrap()];
        for d in dims {
            b.extend_from_slice(&d.to_be_bytes());
        }
        b.extend_from_slice(data);
        b
    }

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    fn reason(bytes: &[u8]) -> String {
        parse_idx(bytes, "src").unwrap_err().to_string()
    }

    #[test]
    fn plain_and_gzip_parse_the_same() {
        let plain = idx(&[2, 2, 3], &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        let a = parse_idx(&plain, "p").unwrap();
        assert_eq!(a.dims, [2, 2, 3]);
        assert_eq!(a.data, (1..=12).collect::<Vec<u8>>());
        assert_eq!(parse_idx(&gz(&plain), "g").unwrap(), a);
        // Concatenated gzip members are one stream.
        let mut two = gz(&plain[..7]);
        two.extend(gz(&plain[7..]));
        assert_eq!(parse_idx(&two, "g2").unwrap(), a);
    }

    #[test]
    fn header_errors() {
        assert!(reason(&[]).contains("truncated IDX header"));
        assert!(reason(&[0, 0, 8]).contains("truncated IDX header"));
        assert!(reason(&[0, 0, 8, 2, 0, 0, 0, 1, 0, 0]).contains("truncated IDX header"));
        assert!(reason(&[0, 1, 8, 1, 0, 0, 0, 1, 0]).contains("wrong magic number 0x00010801"));
        assert!(
            reason(&[0, 0, 0x0D, 1, 0, 0, 0, 1, 0, 0, 0, 0]).contains("element type 0x0d (f32)")
        );
        assert!(reason(&[0, 0, 8, 0]).contains("0 dimensions"));
        assert!(reason(&idx(&[3, 0], &[])).contains("dimension 2 of 2 is zero"));
        assert!(reason(&idx(&[u32::MAX; 4], &[])).contains("overflows"));
    }

    #[test]
    fn body_errors() {
        let e = reason(&idx(&[2, 3], &[1, 2, 3, 4, 5]));
        assert!(
            e.contains("truncated IDX data") && e.contains("need 6 bytes") && e.contains("only 5"),
            "{e}"
        );
        let e = reason(&idx(&[2, 3], &[0; 9]));
        assert!(e.contains("trailing garbage: 3 bytes"), "{e}");
        let e = reason(&gz(&idx(&[2, 3], &[0; 9])));
        assert!(e.contains("trailing garbage: 3 bytes"), "{e}");
        // Huge declared dimensions with a tiny body: an error, not a huge allocation.
        let e = reason(&idx(&[u32::MAX, u32::MAX], &[1, 2, 3]));
        assert!(e.contains("truncated IDX data"), "{e}");
    }

    #[test]
    fn gzip_errors() {
        let good = gz(&idx(&[4], &[1, 2, 3, 4]));
        let e = reason(&good[..good.len() - 6]);
        assert!(e.starts_with("src: corrupt gzip stream"), "{e}");
        let mut bad = good.clone();
        let mid = bad.len() / 2;
        for b in &mut bad[10..mid + 2] {
            *b ^= 0x5a;
        }
        assert!(reason(&bad).contains("corrupt gzip stream"));
        let mut garbage = good;
        garbage.extend_from_slice(b"garbage!");
        assert!(reason(&garbage).contains("corrupt gzip stream"));
        assert!(reason(&[0x1f, 0x8b]).contains("corrupt gzip stream"));
    }
}
