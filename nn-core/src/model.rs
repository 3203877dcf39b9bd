//! [`Model`]: what every `model!` network implements, so that training, evaluation, weight
//! files and gradient checks are written once, here, for all of them.

use crate::activations::ActivationKind;
use crate::error::{check_finite, Error, Result, TargetProblem};
use crate::gradcheck::{self, GradCheck};
use crate::loss::Loss;
use crate::optim::Optimizer;
use crate::rng::Rng;
use crate::train::Trainer;
#[cfg(feature = "std")]
use std::path::Path;

/// One named parameter tensor inside a model's flat parameter buffer.
///
/// Names and shapes are PyTorch's (`<layer>.weight` of a dense layer is `[out, in]`, of a
/// convolution `[out_channels, in_channels, kernel_height, kernel_width]`), so weight files
/// interoperate; `layout` says how memory orders the axes (Keras' layouts: a dense kernel
/// `[in, out]`, a convolution kernel `[height, width, in, out]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TensorInfo {
    /// e.g. `"hidden.weight"`.
    pub name: &'static str,
    /// First index in the flat parameter buffer.
    pub offset: usize,
    /// Number of values.
    pub len: usize,
    /// Shape in PyTorch's layout.
    pub shape: &'static [usize],
    /// How memory orders the tensor's axes.
    pub layout: TensorLayout,
}

/// The order of a tensor's axes in memory, relative to its PyTorch `shape`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TensorLayout {
    /// As `shape` (biases).
    Same,
    /// A 2-D tensor stored transposed: a dense kernel, `[in, out]` in memory.
    Transposed,
    /// A 4-D convolution kernel, `[out, in, height, width]` in files and
    /// `[height, width, in, out]` in memory.
    Hwio,
    /// The file tensor seen with the shape `view` (the same values, row-major), stored in
    /// memory with the axes of `view` in the order `axes`.
    ///
    /// This is the layout of a tensor indexed by a flattened image: PyTorch flattens a
    /// `[channels, height, width]` map channel-first, `nn` flattens its `[height, width,
    /// channels]` map channels last. A dense weight after `Flatten` of a 5×5×64 map is
    /// `[out, 1600]` in the file, seen as `view = [out, 64, 5, 5]` and stored as
    /// `[5][5][64][out]` (`axes = [2, 3, 1, 0]`); a batch-normalisation vector after the
    /// same `Flatten` is seen as `[64, 5, 5]` and stored `[5][5][64]` (`axes = [1, 2, 0]`).
    Permuted {
        /// The file tensor's shape with the flattened axis split as PyTorch orders it.
        view: &'static [usize],
        /// Memory axis `k` is axis `axes[k]` of `view`.
        axes: &'static [usize],
    },
}

/// The most axes a [`TensorLayout`] can permute.
pub const MAX_RANK: usize = 8;

impl TensorLayout {
    /// Memory axis `k` is axis `memory_axes()[k]` of the tensor's (viewed) shape; `None`
    /// for [`Self::Same`].
    #[must_use]
    pub const fn memory_axes(self) -> Option<&'static [usize]> {
        match self {
            Self::Same => None,
            Self::Transposed => Some(&[1, 0]),
            Self::Hwio => Some(&[2, 3, 1, 0]),
            Self::Permuted { axes, .. } => Some(axes),
        }
    }

    /// The shape whose axes [`memory_axes`](Self::memory_axes) permutes: `view` for
    /// [`Self::Permuted`], else `shape` itself.
    #[must_use]
    pub fn viewed(self, shape: &[usize]) -> &[usize] {
        match self {
            Self::Permuted { view, .. } => view,
            _ => shape,
        }
    }

    /// Whether the layout fits a tensor of `shape`: the view holds as many values, and the
    /// axes are a permutation of the view's (at most [`MAX_RANK`]).
    #[must_use]
    pub fn fits(self, shape: &[usize]) -> bool {
        let view = self.viewed(shape);
        let count = |s: &[usize]| s.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
        let Some(axes) = self.memory_axes() else {
            return true;
        };
        let mut seen = [false; MAX_RANK];
        count(view).is_some()
            && count(view) == count(shape)
            && axes.len() == view.len()
            && view.len() <= MAX_RANK
            && axes
                .iter()
                .all(|&a| a < view.len() && !core::mem::replace(&mut seen[a], true))
    }

    /// Calls `f(file_index, memory_index)` for every element of a tensor of `shape` (file
    /// indices row-major in PyTorch's layout).
    ///
    /// # Panics
    /// If the layout does not [`fit`](Self::fits) `shape`.
    pub fn for_each_index(self, shape: &[usize], mut f: impl FnMut(usize, usize)) {
        assert!(
            self.fits(shape),
            "layout {self:?} does not fit shape {shape:?}"
        );
        let count: usize = shape.iter().product();
        let view = self.viewed(shape);
        let Some(axes) = self.memory_axes() else {
            (0..count).for_each(|i| f(i, i));
            return;
        };
        // Memory stride of each axis of the view.
        let mut stride = [0usize; MAX_RANK];
        let mut s = 1;
        for &axis in axes.iter().rev() {
            stride[axis] = s;
            s *= view[axis];
        }
        let mut index = [0usize; MAX_RANK];
        for file in 0..count {
            f(file, (0..view.len()).map(|a| index[a] * stride[a]).sum());
            for a in (0..view.len()).rev() {
                index[a] += 1;
                if index[a] < view[a] {
                    break;
                }
                index[a] = 0;
            }
        }
    }
}

/// A network generated by `model!`: static shapes, one flat parameter buffer, and batched
/// forward and backward passes over a reusable workspace.
///
/// The batched passes stop at the **logits**: the output activation
/// ([`OUTPUT_ACTIVATION`](Self::OUTPUT_ACTIVATION)) is applied by the caller, which lets
/// losses fuse it (softmax with cross-entropy, sigmoid with binary cross-entropy) for
/// numerically stable gradients.
pub trait Model: Sized + Send + Sync {
    /// The model's type name.
    const NAME: &'static str;
    /// Declared input shape.
    const INPUT_SHAPE: &'static [usize];
    /// Values per input sample.
    const INPUT: usize;
    /// Values per output sample.
    const OUTPUT: usize;
    /// Number of trainable parameters.
    const PARAMS: usize;
    /// The activation between the logits and the output.
    const OUTPUT_ACTIVATION: ActivationKind;
    /// The parameter tensors, in buffer order.
    const TENSORS: &'static [TensorInfo];
    /// Tensors of non-trainable state (batch normalisation's running statistics), in the
    /// order of [`state`](Self::state); empty for most models.
    const STATE_TENSORS: &'static [TensorInfo] = &[];
    /// Buffers of a training pass (see [`workspace`](Self::workspace)).
    type Workspace: Send;

    /// A freshly initialised model, reproducible from `seed`.
    fn init(seed: u64) -> Self;
    /// Empty buffers; they grow to the largest batch seen and are then reused.
    fn workspace() -> Self::Workspace;
    /// All parameters, flat.
    fn params(&self) -> &[f32];
    /// All parameters, flat and mutable.
    fn params_mut(&mut self) -> &mut [f32];

    /// Non-trainable state (running statistics), flat; empty for most models.
    fn state(&self) -> &[f32] {
        &[]
    }

    /// Non-trainable state, mutably.
    fn state_mut(&mut self) -> &mut [f32] {
        &mut []
    }

    /// After a training step: takes the state the training-mode forward pass left in `ws`
    /// (batch normalisation's updated running statistics). Nothing for most models.
    fn update_state(&mut self, ws: &Self::Workspace) {
        let _ = ws;
    }

    /// Forward pass of `batch` samples (`x` holds `batch * INPUT` values). Returns the
    /// logits, `batch * OUTPUT` values stored in `ws`. With `dropout` (training mode),
    /// dropout layers draw masks from it; without, they are the identity.
    fn forward_batch<'w>(
        &self,
        ws: &'w mut Self::Workspace,
        x: &[f32],
        batch: usize,
        dropout: Option<&mut Rng>,
    ) -> &'w [f32];

    /// Backward pass after [`forward_batch`](Self::forward_batch) on the same `x`: from the
    /// gradient with respect to the logits (overwritten: used as scratch), writes the
    /// gradient of every parameter into `grads` (`PARAMS` values, overwritten).
    fn backward_batch(
        &self,
        ws: &mut Self::Workspace,
        x: &[f32],
        d_logits: &mut [f32],
        grads: &mut [f32],
        batch: usize,
    );

    /// Keras' `compile`: pairs the model with an optimizer and a loss for training.
    fn compile<O: Optimizer>(self, optimizer: O, loss: Loss) -> Trainer<Self, O> {
        Trainer::new(self, optimizer, loss)
    }

    /// Checks the generated backward pass against central finite differences on a few
    /// random samples: the one-line gradient check for `cargo test`.
    ///
    /// ```ignore
    /// assert!(MyNet::new(0).check_gradients(1).passed());
    /// ```
    fn check_gradients(&self, seed: u64) -> GradCheck {
        gradcheck::check_model(self, seed)
    }

    /// Writes the parameters to the safetensors file `path`, with PyTorch's tensor names and
    /// shapes, atomically (see [`weights::save`](crate::weights::save)).
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be written, [`Error::NonFinite`] for a NaN or
    /// infinite parameter.
    #[cfg(feature = "std")]
    fn save_weights(&self, path: impl AsRef<Path>) -> Result<()> {
        crate::weights::save(self, path)
    }

    /// Reads the parameters from the safetensors file `path`, e.g. saved by PyTorch
    /// (see [`weights::load`](crate::weights::load)). On error the model is unchanged.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read; [`Error::Format`] for a corrupt file, a
    /// missing, extra or wrongly shaped tensor, an unsupported dtype or a non-finite value.
    #[cfg(feature = "std")]
    fn load_weights(&mut self, path: impl AsRef<Path>) -> Result<()> {
        crate::weights::load(self, path)
    }
}

/// Checks a flat parameter vector for a model with `expected` parameters.
///
/// # Errors
/// [`Error::InvalidArgument`] for a wrong length, [`Error::NonFinite`] for NaN or infinity.
pub fn check_params(values: &[f32], expected: usize) -> Result<()> {
    if values.len() != expected {
        return Err(Error::InvalidArgument {
            name: "params",
            reason: "the number of values differs from the model's PARAMS",
        });
    }
    check_finite("params", values)
}

/// Validates training or evaluation data for model `M` and loss `loss`; returns the number
/// of samples.
///
/// # Errors
/// Empty data, lengths that are not whole samples, different sample counts, non-finite
/// values, targets laid out for the other categorical loss (class ids for categorical
/// cross-entropy, one-hot rows for the sparse one) or outside the loss' domain
/// ([`Error::InvalidTargets`], see [`Loss::check_targets`]), or class labels out of range
/// for sparse categorical cross-entropy ([`Error::InvalidLabel`]).
pub fn check_data<M: Model>(x: &[f32], y: &[f32], loss: Loss) -> Result<usize> {
    let n = crate::error::rows("x", x, M::INPUT)?;
    let width = loss.target_width(M::OUTPUT);
    if n.checked_mul(width) != Some(y.len()) {
        if let Some(found) = loss.confusable_target_width(M::OUTPUT) {
            if n.checked_mul(found) == Some(y.len()) {
                return Err(Error::InvalidTargets {
                    loss,
                    problem: TargetProblem::Layout {
                        expected: width,
                        found,
                    },
                });
            }
        }
    }
    let m = crate::error::rows("y", y, width)?;
    if n != m {
        return Err(Error::SampleCountMismatch { x: n, y: m });
    }
    check_finite("x", x)?;
    check_finite("y", y)?;
    loss.check_targets(y, M::OUTPUT)?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::TensorLayout;
    use std::vec::Vec;

    /// The memory index of every file index.
    fn mapping(layout: TensorLayout, shape: &[usize]) -> Vec<usize> {
        let mut out = std::vec![usize::MAX; shape.iter().product()];
        layout.for_each_index(shape, |file, mem| out[file] = mem);
        out
    }

    #[test]
    fn layouts_map_file_indices_to_memory() {
        // [out 2, in 3] stored [in][out].
        assert_eq!(
            mapping(TensorLayout::Transposed, &[2, 3]),
            [0, 2, 4, 1, 3, 5]
        );
        assert_eq!(mapping(TensorLayout::Same, &[2, 3]), [0, 1, 2, 3, 4, 5]);
        // A [2 channels, 1 × 3 positions] vector stored channels last: (c, w) at w * 2 + c.
        let per_feature = TensorLayout::Permuted {
            view: &[2, 1, 3],
            axes: &[1, 2, 0],
        };
        assert_eq!(mapping(per_feature, &[6]), [0, 2, 4, 1, 3, 5]);
    }

    #[test]
    fn layouts_that_do_not_fit_their_shape_are_recognised() {
        let view_too_small = TensorLayout::Permuted {
            view: &[2, 2],
            axes: &[1, 0],
        };
        assert!(!view_too_small.fits(&[5]));
        let repeated_axis = TensorLayout::Permuted {
            view: &[2, 3],
            axes: &[0, 0],
        };
        assert!(!repeated_axis.fits(&[6]));
        let axis_out_of_range = TensorLayout::Permuted {
            view: &[2, 3],
            axes: &[2, 0],
        };
        assert!(!axis_out_of_range.fits(&[6]));
        let overflowing = TensorLayout::Permuted {
            view: &[usize::MAX, 2],
            axes: &[1, 0],
        };
        assert!(!overflowing.fits(&[6]));
        assert!(!TensorLayout::Hwio.fits(&[4, 4]));
        assert!(TensorLayout::Hwio.fits(&[4, 1, 3, 3]));
    }
}
