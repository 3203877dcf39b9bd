//! [`Params`]: the flat `f32` buffer that holds every parameter of a model.
//!
//! A generated model stores all its weights and biases in one `Params`, each layer owning
//! a fixed range of it (the offsets are compile-time constants in the generated code). The
//! buffer is either borrowed from a `static` (baked weights: no allocator, no parsing) or,
//! with the `alloc` feature, owned on the heap (trainable).
//!
//! ```
//! use nn_core::Params;
//! static WEIGHTS: [f32; 3] = [0.5, -1.0, 2.0];
//! let p = Params::from_static(&WEIGHTS);
//! assert_eq!(p.as_slice(), &[0.5, -1.0, 2.0]);
//! ```

#[cfg(feature = "alloc")]
use alloc::{boxed::Box, vec::Vec};

/// A model's parameters as one flat buffer, owned (with `alloc`) or borrowed from a `static`.
///
/// An owned buffer starts on a 64-byte boundary (a cache line, one AVX-512 register), so
/// that the rows of a layer whose weights start there (the first layer's, and any layer at
/// an offset that is a multiple of 16 values) are read whole lines at a time: on the Xeon
/// of README's measurements (AVX-512), reading the 401 KB of a 784 x 128 layer from L2
/// took 2.9 us aligned and 5.1 us 16 bytes off, the alignment the allocator gives large
/// buffers.
#[derive(Clone)]
pub struct Params {
    repr: Repr,
}

#[derive(Clone)]
enum Repr {
    Static(&'static [f32]),
    #[cfg(feature = "alloc")]
    Owned(Aligned),
}

/// Values on the heap whose first one sits on a [`LINE`]-byte boundary: a buffer
/// [`PAD`](Aligned::PAD) values longer than needed, used from the first aligned value on.
/// Also the optimizers' buffers (moments, mean squares), which the updates stream through
/// with the parameters: a 16-lane access 16 bytes off a line touches two lines (measured
/// on the Xeon of README's figures: Adam's update of 101,770 parameters 15% slower with
/// its moments 16 bytes off).
#[cfg(feature = "alloc")]
pub(crate) struct Aligned {
    buffer: Box<[f32]>,
    start: usize,
    len: usize,
}

/// Bytes of the boundary an owned [`Params`] buffer starts on.
#[cfg(feature = "alloc")]
const LINE: usize = 64;

#[cfg(feature = "alloc")]
impl Aligned {
    /// Spare values at most skipped at the start of the buffer.
    const PAD: usize = LINE / size_of::<f32>() - 1;

    /// `len` zeros (allocated zeroed on the heap, never on the stack).
    pub(crate) fn zeros(len: usize) -> Self {
        let padded = len
            .checked_add(Self::PAD)
            .expect("Params: the parameter count overflows usize");
        let buffer = alloc::vec![0.0; padded].into_boxed_slice();
        // `align_offset` may decline (`usize::MAX`) or exceed PAD only where the alignment
        // cannot be reached: then start at 0, which costs speed, never correctness.
        let start = buffer.as_ptr().align_offset(LINE);
        let start = if start <= Self::PAD { start } else { 0 };
        Self { buffer, start, len }
    }

    /// A copy of `values`.
    pub(crate) fn copy(values: &[f32]) -> Self {
        let mut aligned = Self::zeros(values.len());
        aligned.as_mut_slice().copy_from_slice(values);
        aligned
    }

    pub(crate) fn as_slice(&self) -> &[f32] {
        &self.buffer[self.start..self.start + self.len]
    }

    pub(crate) fn as_mut_slice(&mut self) -> &mut [f32] {
        &mut self.buffer[self.start..self.start + self.len]
    }
}

#[cfg(feature = "alloc")]
impl Default for Aligned {
    /// No values.
    fn default() -> Self {
        Self::zeros(0)
    }
}

#[cfg(feature = "alloc")]
impl core::ops::Deref for Aligned {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        self.as_slice()
    }
}

#[cfg(feature = "alloc")]
impl core::ops::DerefMut for Aligned {
    fn deref_mut(&mut self) -> &mut [f32] {
        self.as_mut_slice()
    }
}

#[cfg(feature = "alloc")]
impl core::fmt::Debug for Aligned {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

#[cfg(feature = "alloc")]
impl Clone for Aligned {
    /// A copy aligned in its own buffer (a copy of the buffer could start elsewhere
    /// relative to a line).
    fn clone(&self) -> Self {
        Self::copy(self.as_slice())
    }
}

impl Params {
    /// Parameters borrowed from a `static` (no copy, no allocation). Usable in `const` and
    /// `static` initialisers.
    #[must_use]
    pub const fn from_static(values: &'static [f32]) -> Self {
        Self {
            repr: Repr::Static(values),
        }
    }

    /// Parameters owned on the heap (copied into a buffer that starts on a cache line).
    #[cfg(feature = "alloc")]
    #[must_use]
    pub fn from_vec(values: Vec<f32>) -> Self {
        Self {
            repr: Repr::Owned(Aligned::copy(&values)),
        }
    }

    /// `len` zeros on the heap, allocated directly there (never on the stack, whatever `len`).
    #[cfg(feature = "alloc")]
    #[must_use]
    pub fn zeros(len: usize) -> Self {
        Self {
            repr: Repr::Owned(Aligned::zeros(len)),
        }
    }

    /// Number of parameters.
    #[must_use]
    pub fn len(&self) -> usize {
        self.as_slice().len()
    }

    /// Whether there are no parameters.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values.
    #[inline]
    #[must_use]
    pub fn as_slice(&self) -> &[f32] {
        match &self.repr {
            Repr::Static(s) => s,
            #[cfg(feature = "alloc")]
            Repr::Owned(b) => b.as_slice(),
        }
    }

    /// The values, mutably. Borrowed static parameters are first copied to the heap
    /// (copy on write), so a baked model can still be fine-tuned.
    #[cfg(feature = "alloc")]
    pub fn as_mut_slice(&mut self) -> &mut [f32] {
        if let Repr::Static(s) = self.repr {
            self.repr = Repr::Owned(Aligned::copy(s));
        }
        match &mut self.repr {
            Repr::Owned(b) => b.as_mut_slice(),
            Repr::Static(_) => unreachable!("converted to owned above"),
        }
    }
}

impl core::fmt::Debug for Params {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let kind = match self.repr {
            Repr::Static(_) => "static",
            #[cfg(feature = "alloc")]
            Repr::Owned(_) => "owned",
        };
        write!(f, "Params({} {kind} values)", self.len())
    }
}

impl PartialEq for Params {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

#[cfg(all(test, feature = "alloc"))]
mod tests {
    use super::Params;
    use std::format;

    #[test]
    fn static_params_copy_on_write() {
        static W: [f32; 2] = [1.0, 2.0];
        let mut p = Params::from_static(&W);
        p.as_mut_slice()[0] = 5.0;
        assert_eq!(p.as_slice(), &[5.0, 2.0]);
        assert_eq!(W, [1.0, 2.0]);
        assert_eq!(format!("{p:?}"), "Params(2 owned values)");
    }

    #[test]
    fn owned_params_start_on_a_cache_line() {
        for len in [0, 1, 17, 100_480] {
            let values: std::vec::Vec<f32> = (0..len).map(|i| i as f32).collect();
            let zeros = Params::zeros(len);
            let owned = Params::from_vec(values.clone());
            let cloned = owned.clone();
            let mut written = Params::from_static(std::vec![0.5; len].leak());
            written.as_mut_slice();
            for p in [&zeros, &owned, &cloned, &written] {
                assert_eq!(p.len(), len);
                assert_eq!(p.as_slice().as_ptr() as usize % super::LINE, 0, "{p:?}");
            }
            assert_eq!(owned.as_slice(), &values[..]);
            assert_eq!(cloned, owned);
            assert!(zeros.as_slice().iter().all(|&v| v == 0.0));
            assert!(written.as_slice().iter().all(|&v| v == 0.5));
        }
    }
}
