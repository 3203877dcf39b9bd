//! Reading untrusted files in bounded memory: a header's declared size is a promise the data
//! may not keep, so buffers grow with the bytes actually read, never past what was declared.

use std::io::{self, Read};
use std::vec::Vec;

/// First growth step of [`read_up_to`]'s buffer.
const FIRST_CHUNK: usize = 64 * 1024;

/// Appends at most `limit` bytes from `reader` to `buf`, stopping early at the end of the
/// input; returns how many bytes it appended.
///
/// The buffer grows as data arrives, doubling from 64 KiB (or from its free capacity) and
/// never beyond `limit`, so a size that a header declares but the data does not back is
/// never allocated, and nothing past `limit` is read.
pub(crate) fn read_up_to(
    reader: &mut impl Read,
    buf: &mut Vec<u8>,
    limit: u64,
) -> io::Result<usize> {
    let start = buf.len();
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let mut filled = start;
    let result = loop {
        let want = limit - (filled - start);
        if want == 0 {
            break Ok(());
        }
        if filled == buf.len() {
            let free = buf.capacity() - buf.len();
            let grow = free.max(FIRST_CHUNK).max(filled - start).min(want);
            buf.reserve_exact(grow);
            buf.resize(filled + grow, 0);
        }
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break Ok(()),
            Ok(k) => filled += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => break Err(e),
        }
    };
    buf.truncate(filled);
    result.map(|()| filled - start)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Yields `len` bytes, at most `step` per read, counting how many it gave.
    struct Source {
        len: usize,
        step: usize,
        given: usize,
    }

    impl Read for Source {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let k = buf.len().min(self.step).min(self.len - self.given);
            buf[..k].fill(7);
            self.given += k;
            Ok(k)
        }
    }

    #[test]
    fn reads_up_to_the_limit_and_no_further() {
        let mut src = Source {
            len: 1_000_000,
            step: 10_000,
            given: 0,
        };
        let mut buf = std::vec![1, 2];
        assert_eq!(read_up_to(&mut src, &mut buf, 300_001).unwrap(), 300_001);
        assert_eq!(buf.len(), 300_003);
        assert_eq!(&buf[..3], [1, 2, 7]);
        assert_eq!(src.given, 300_001);
        assert!(buf.capacity() <= 300_003 + 1024, "{}", buf.capacity());
    }

    #[test]
    fn a_short_input_allocates_for_what_it_holds_not_for_the_limit() {
        let mut src = Source {
            len: 100,
            step: 7,
            given: 0,
        };
        let mut buf = Vec::new();
        assert_eq!(read_up_to(&mut src, &mut buf, u64::MAX).unwrap(), 100);
        assert_eq!(buf, [7; 100]);
        assert!(buf.capacity() <= FIRST_CHUNK, "{}", buf.capacity());
    }
}
