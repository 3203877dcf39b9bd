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
#[derive(Clone)]
pub struct Params {
    repr: Repr,
}

#[derive(Clone)]
enum Repr {
    Static(&'static [f32]),
    #[cfg(feature = "alloc")]
    Owned(Box<[f32]>),
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

    /// Parameters owned on the heap.
    #[cfg(feature = "alloc")]
    #[must_use]
    pub fn from_vec(values: Vec<f32>) -> Self {
        Self {
            repr: Repr::Owned(values.into_boxed_slice()),
        }
    }

    /// `len` zeros on the heap, allocated directly there (never on the stack, whatever `len`).
    #[cfg(feature = "alloc")]
    #[must_use]
    pub fn zeros(len: usize) -> Self {
        Self::from_vec(alloc::vec![0.0; len])
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
            Repr::Owned(b) => b,
        }
    }

    /// The values, mutably. Borrowed static parameters are first copied to the heap
    /// (copy on write), so a baked model can still be fine-tuned.
    #[cfg(feature = "alloc")]
    pub fn as_mut_slice(&mut self) -> &mut [f32] {
        if let Repr::Static(s) = self.repr {
            self.repr = Repr::Owned(s.into());
        }
        match &mut self.repr {
            Repr::Owned(b) => b,
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
}
