//! [`Buffer`]: a growable batch of rows, the storage of training workspaces.

use alloc::vec::Vec;

/// Rows of a fixed width for a batch whose size is chosen at run time. It grows to the
/// largest batch seen and never shrinks, so a training step allocates nothing after the first.
#[derive(Clone, Debug, Default)]
pub struct Buffer {
    width: usize,
    data: Vec<f32>,
}

impl Buffer {
    /// An empty buffer for rows of `width` values.
    #[must_use]
    pub const fn new(width: usize) -> Self {
        Self {
            width,
            data: Vec::new(),
        }
    }

    /// Makes room for `batch` rows (allocates only when growing).
    pub fn reserve(&mut self, batch: usize) {
        let len = batch * self.width;
        if self.data.len() < len {
            self.data.resize(len, 0.0);
        }
    }

    /// The first `batch` rows.
    ///
    /// # Panics
    /// If fewer than `batch` rows were reserved.
    #[must_use]
    pub fn rows(&self, batch: usize) -> &[f32] {
        &self.data[..batch * self.width]
    }

    /// The first `batch` rows, mutably.
    ///
    /// # Panics
    /// If fewer than `batch` rows were reserved.
    pub fn rows_mut(&mut self, batch: usize) -> &mut [f32] {
        &mut self.data[..batch * self.width]
    }

    /// Values per row.
    #[must_use]
    pub const fn width(&self) -> usize {
        self.width
    }
}
