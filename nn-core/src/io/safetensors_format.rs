//! The safetensors format below the model: the bounded read of a file, `f32` tensors as the
//! format's views, the floating-point dtypes it may hold, and a reader's view of why a file
//! is not valid.

use std::borrow::Cow;
use std::format;
use std::fs::File;
use std::path::Path;
use std::string::{String, ToString};
use std::vec::Vec;

use safetensors::tensor::{Metadata, TensorView};
use safetensors::{Dtype, SafeTensorError, View};

use super::read::read_up_to;
use crate::error::{Error, Result};

/// Length in bytes of the little-endian `u64` that starts a safetensors file.
const HEADER_LEN_BYTES: usize = 8;

/// The largest header the safetensors format allows (its crate's `MAX_HEADER_SIZE`).
const MAX_HEADER_BYTES: u64 = 100_000_000;

/// One tensor to serialise: `f32` values already in PyTorch's layout, as little-endian
/// bytes.
pub(super) struct F32Tensor {
    pub(super) shape: Vec<usize>,
    pub(super) bytes: Vec<u8>,
}

impl View for &F32Tensor {
    fn dtype(&self) -> Dtype {
        Dtype::F32
    }

    fn shape(&self) -> &[usize] {
        &self.shape
    }

    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.bytes)
    }

    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}

/// The bytes of the safetensors file `path`, read no further than its header declares (see
/// [`weights::load`](super::weights::load)). A file whose header cannot be read or parsed
/// is returned as far as it was read, for the caller's `load_bytes` to describe.
pub(super) fn read_file(path: &Path) -> Result<Vec<u8>> {
    let io_error = |error| Error::Io {
        path: path.to_path_buf(),
        error,
    };
    let mut file = File::open(path).map_err(io_error)?;
    let mut bytes = Vec::new();
    read_up_to(&mut file, &mut bytes, HEADER_LEN_BYTES as u64).map_err(io_error)?;
    let Ok(len) = <[u8; HEADER_LEN_BYTES]>::try_from(bytes.as_slice()) else {
        return Ok(bytes);
    };
    let header_len = u64::from_le_bytes(len);
    if header_len > MAX_HEADER_BYTES {
        return Ok(bytes);
    }
    read_up_to(&mut file, &mut bytes, header_len).map_err(io_error)?;
    let Ok(metadata) = serde_json::from_slice::<Metadata>(&bytes[HEADER_LEN_BYTES..]) else {
        return Ok(bytes);
    };
    let declared = metadata.data_len() as u64;
    // One byte more than declared reveals trailing data without reading it.
    let data = read_up_to(&mut file, &mut bytes, declared.saturating_add(1)).map_err(io_error)?;
    if data as u64 > declared {
        return Err(Error::Format {
            source_name: path.display().to_string(),
            reason: format!(
                "not a valid safetensors file: data follows the {declared} bytes of tensor data \
                 that the header declares (trailing bytes, or a corrupt header)"
            ),
        });
    }
    Ok(bytes)
}
/// The values of a floating-point tensor as `f32`; `None` for other dtypes.
pub(super) fn decode(view: &TensorView<'_>) -> Option<Vec<f32>> {
    let data = view.data();
    let values = match view.dtype() {
        Dtype::F32 => data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        #[allow(clippy::cast_possible_truncation)]
        Dtype::F64 => data
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32)
            .collect(),
        Dtype::F16 => data
            .chunks_exact(2)
            .map(|b| f16_to_f32(u16::from_le_bytes([b[0], b[1]])))
            .collect(),
        Dtype::BF16 => data
            .chunks_exact(2)
            .map(|b| f32::from_bits(u32::from(u16::from_le_bytes([b[0], b[1]])) << 16))
            .collect(),
        _ => return None,
    };
    Some(values)
}

/// IEEE 754 binary16 to `f32` (exact: every half-precision value is an `f32`).
fn f16_to_f32(h: u16) -> f32 {
    let negative = h & 0x8000 != 0;
    let exponent = u32::from((h >> 10) & 0x1f);
    let mantissa = u32::from(h & 0x3ff);
    let sign = u32::from(negative) << 31;
    let bits = match exponent {
        // Zero and subnormals: mantissa · 2^-24.
        0 => {
            #[allow(clippy::cast_precision_loss)]
            let magnitude = mantissa as f32 * f32::from_bits(0x3380_0000);
            return if negative { -magnitude } else { magnitude };
        }
        // Infinities and NaN (payload kept).
        0x1f => sign | 0x7f80_0000 | (mantissa << 13),
        // Normal: rebias the exponent from 15 to 127.
        _ => sign | ((exponent + 112) << 23) | (mantissa << 13),
    };
    f32::from_bits(bits)
}

/// A reader's view of why the safetensors crate rejected `bytes`.
pub(super) fn describe(error: &SafeTensorError, bytes: &[u8]) -> String {
    let declared = bytes
        .get(..HEADER_LEN_BYTES)
        .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")));
    let detail = match (error, declared) {
        (SafeTensorError::HeaderTooSmall, _) => format!(
            "the file has {} bytes, fewer than the {HEADER_LEN_BYTES} bytes of the header length \
             (truncated or empty file)",
            bytes.len()
        ),
        (SafeTensorError::HeaderTooLarge, Some(n)) => format!(
            "the header length {n} is larger than allowed (corrupt file, or not a safetensors file)"
        ),
        (SafeTensorError::InvalidHeaderLength, Some(n)) => format!(
            "the header length {n} goes past the end of the file ({} bytes): truncated or corrupt \
             file, or not a safetensors file",
            bytes.len()
        ),
        (SafeTensorError::InvalidHeader(e), _) => format!("the header is not UTF-8 text: {e}"),
        (SafeTensorError::InvalidHeaderDeserialization(e), _) => {
            format!("the header is not valid safetensors JSON: {e}")
        }
        (SafeTensorError::MetadataIncompleteBuffer, _) => format!(
            "the tensor data does not fill the file exactly ({} bytes): truncated file, or \
             trailing bytes",
            bytes.len()
        ),
        (SafeTensorError::InvalidOffset(name), _) => format!(
            "the data offsets of tensor `{name}` are invalid (gaps, overlaps or out of order)"
        ),
        (SafeTensorError::TensorInvalidInfo, _) => {
            "a tensor's byte range does not match its shape and dtype".to_string()
        }
        (e, _) => e.to_string(),
    };
    format!("not a valid safetensors file: {detail}")
}
