//! How a layer's tensors appear in weight files: PyTorch's names, shapes and axis orders,
//! and how each maps onto the layer's memory.
//!
//! Memory keeps Keras' layouts (a dense kernel `[in][out]`, a convolution kernel
//! `[height][width][in][out]` or `[width][in][out]`), files PyTorch's (`[out, in]`,
//! `[out, in, height, width]`, `[out, in, width]`): [`TensorLayout`] says which. One more difference depends on where the layer sits: after
//! `Flatten` of an image, PyTorch orders the flattened values channel-first and `nn`
//! channels last, so the axis of a tensor that indexes the layer's input
//! ([`Tensor::input_axis`]) is reordered too ([`InputOrder`]).
//!
//! ```
//! use nn_core::layers::{InputOrder, Tensor, TensorLayout};
//! // A dense weight [out 2, in 3] is stored [in][out].
//! let w = Tensor { suffix: "weight", shape: &[2, 3], layout: TensorLayout::Transposed,
//!                  offset: 0, state: false, input_axis: Some(1) };
//! let mut memory = [0; 6];
//! w.for_each_index(InputOrder::Rows, |file, mem| memory[file] = mem);
//! assert_eq!(memory, [0, 2, 4, 1, 3, 5]);
//! ```

/// The order of a tensor's axes in memory, relative to its PyTorch `shape`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TensorLayout {
    /// As `shape` (biases, per-channel vectors).
    Same,
    /// A 2-D tensor stored transposed: a dense kernel, `[in, out]` in memory.
    Transposed,
    /// A 4-D convolution kernel, `[out, in, height, width]` in files and
    /// `[height, width, in, out]` in memory.
    Hwio,
    /// A 3-D convolution kernel (a 1-D convolution's), `[out, in, width]` in files and
    /// `[width, in, out]` in memory.
    Wio,
}

impl TensorLayout {
    /// Memory axis `k` is axis `memory_axes()[k]` of the tensor's shape; `None` for
    /// [`Self::Same`].
    #[must_use]
    pub const fn memory_axes(self) -> Option<&'static [usize]> {
        match self {
            Self::Same => None,
            Self::Transposed => Some(&[1, 0]),
            Self::Hwio => Some(&[2, 3, 1, 0]),
            Self::Wio => Some(&[2, 1, 0]),
        }
    }

    /// Whether the layout fits a tensor of `shape` (as many axes as it permutes).
    #[must_use]
    pub fn fits(self, shape: &[usize]) -> bool {
        self.memory_axes()
            .is_none_or(|axes| axes.len() == shape.len())
    }
}

/// How the values a layer reads are ordered in PyTorch relative to `nn`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputOrder {
    /// The same order.
    Rows,
    /// A flattened map of `positions × channels` values, stored channels last here (`p *
    /// channels + c`) and channel-first in PyTorch (`c * positions + p`).
    ChannelsLast {
        /// Channels of the map.
        channels: usize,
    },
}

/// One tensor of a layer in weight files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tensor {
    /// PyTorch's name within the layer, e.g. `"weight"` (the file name is
    /// `<layer>.<suffix>`).
    pub suffix: &'static str,
    /// PyTorch's shape.
    pub shape: &'static [usize],
    /// How memory orders the axes of `shape`.
    pub layout: TensorLayout,
    /// First value within the layer's parameters, or its state when `state`.
    pub offset: usize,
    /// Whether the tensor is non-trainable state (running statistics).
    pub state: bool,
    /// The axis of `shape` that indexes the layer's input values, if any (a dense weight's
    /// axis 1, batch normalisation's vectors' axis 0), reordered by [`InputOrder`].
    pub input_axis: Option<usize>,
}

/// The most axes a tensor can have.
pub const MAX_RANK: usize = 8;

impl Tensor {
    /// Number of values.
    #[must_use]
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether the tensor holds no value.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the description is consistent: a layout that fits the shape, an input axis
    /// that exists and that `order` divides, at most [`MAX_RANK`] axes, no overflow.
    #[must_use]
    pub fn is_consistent(&self, order: InputOrder) -> bool {
        let count = self.shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
        let axis_ok = match (order, self.input_axis) {
            (InputOrder::ChannelsLast { channels }, Some(a)) => {
                a < self.shape.len() && channels > 0 && self.shape[a].is_multiple_of(channels)
            }
            (_, Some(a)) => a < self.shape.len(),
            (_, None) => true,
        };
        count.is_some() && self.shape.len() <= MAX_RANK && self.layout.fits(self.shape) && axis_ok
    }

    /// Calls `f(file_index, memory_index)` for every value (file indices row-major in
    /// PyTorch's shape and order; memory indices from the tensor's start), for a layer whose
    /// input is ordered as `order`.
    ///
    /// # Panics
    /// If the description is not [consistent](Self::is_consistent).
    pub fn for_each_index(&self, order: InputOrder, mut f: impl FnMut(usize, usize)) {
        assert!(
            self.is_consistent(order),
            "inconsistent tensor description {self:?} for {order:?}"
        );
        let shape = self.shape;
        let rank = shape.len();
        // Memory stride of each axis of `shape`.
        let mut stride = [0usize; MAX_RANK];
        match self.layout.memory_axes() {
            Some(axes) => {
                let mut s = 1;
                for &axis in axes.iter().rev() {
                    stride[axis] = s;
                    s *= shape[axis];
                }
            }
            None => {
                let mut s = 1;
                for axis in (0..rank).rev() {
                    stride[axis] = s;
                    s *= shape[axis];
                }
            }
        }
        // PyTorch's position `i` along the input axis is ours `reorder(i)`.
        let reorder = |i: usize| match (order, self.input_axis) {
            (InputOrder::ChannelsLast { channels }, Some(a)) => {
                let positions = shape[a] / channels;
                let (c, p) = (i / positions, i % positions);
                p * channels + c
            }
            _ => i,
        };
        let mut index = [0usize; MAX_RANK];
        for file in 0..self.len() {
            let memory = (0..rank)
                .map(|a| {
                    let i = if Some(a) == self.input_axis {
                        reorder(index[a])
                    } else {
                        index[a]
                    };
                    i * stride[a]
                })
                .sum();
            f(file, memory);
            for a in (0..rank).rev() {
                index[a] += 1;
                if index[a] < shape[a] {
                    break;
                }
                index[a] = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{InputOrder, Tensor, TensorLayout};
    use std::vec::Vec;

    fn tensor(shape: &'static [usize], layout: TensorLayout, input_axis: Option<usize>) -> Tensor {
        Tensor {
            suffix: "t",
            shape,
            layout,
            offset: 0,
            state: false,
            input_axis,
        }
    }

    /// The memory index of every file index.
    fn mapping(t: &Tensor, order: InputOrder) -> Vec<usize> {
        let mut out = std::vec![usize::MAX; t.len()];
        t.for_each_index(order, |file, mem| out[file] = mem);
        out
    }

    #[test]
    fn layouts_map_file_indices_to_memory() {
        // [out 2, in 3] stored [in][out].
        let dense = tensor(&[2, 3], TensorLayout::Transposed, Some(1));
        assert_eq!(mapping(&dense, InputOrder::Rows), [0, 2, 4, 1, 3, 5]);
        let bias = tensor(&[2, 3], TensorLayout::Same, None);
        assert_eq!(mapping(&bias, InputOrder::Rows), [0, 1, 2, 3, 4, 5]);
        // [out 1, in 1, kh 2, kw 2] stored [kh][kw][in][out]: the same order here.
        let conv = tensor(&[1, 1, 2, 2], TensorLayout::Hwio, None);
        assert_eq!(mapping(&conv, InputOrder::Rows), [0, 1, 2, 3]);
        // [out 2, in 3, width 2] stored [width][in][out]: (o, i, w) at (w * 3 + i) * 2 + o.
        let conv1d = tensor(&[2, 3, 2], TensorLayout::Wio, None);
        let expected: Vec<usize> = (0..12)
            .map(|f| {
                let (o, i, w) = (f / 6, f / 2 % 3, f % 2);
                (w * 3 + i) * 2 + o
            })
            .collect();
        assert_eq!(mapping(&conv1d, InputOrder::Rows), expected);
    }

    #[test]
    fn a_flattened_map_is_channel_first_in_files() {
        // A vector over 3 positions × 2 channels: PyTorch's (c, p) is ours p * 2 + c.
        let vector = tensor(&[6], TensorLayout::Same, Some(0));
        let order = InputOrder::ChannelsLast { channels: 2 };
        assert_eq!(mapping(&vector, order), [0, 2, 4, 1, 3, 5]);
        // A dense weight [out 2, in 6] after it, stored [in][out].
        let dense = tensor(&[2, 6], TensorLayout::Transposed, Some(1));
        let m = mapping(&dense, order);
        for o in 0..2 {
            for c in 0..2 {
                for p in 0..3 {
                    assert_eq!(m[o * 6 + c * 3 + p], (p * 2 + c) * 2 + o);
                }
            }
        }
    }

    #[test]
    fn inconsistent_descriptions_are_recognised() {
        let order = InputOrder::ChannelsLast { channels: 4 };
        assert!(!tensor(&[6], TensorLayout::Same, Some(0)).is_consistent(order));
        assert!(!tensor(&[6], TensorLayout::Same, Some(1)).is_consistent(InputOrder::Rows));
        assert!(!tensor(&[4, 4], TensorLayout::Hwio, None).is_consistent(InputOrder::Rows));
        assert!(!tensor(&[4, 4], TensorLayout::Wio, None).is_consistent(InputOrder::Rows));
        assert!(!tensor(&[usize::MAX, 2], TensorLayout::Same, None).is_consistent(InputOrder::Rows));
        assert!(tensor(&[4, 1, 3, 3], TensorLayout::Hwio, None).is_consistent(InputOrder::Rows));
    }
}
